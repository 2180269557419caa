package sweep

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sgwatch/sgwatch/detect"
)

// revertT0 is the first sweep's time in the revert tests: 30 seconds past
// the minute, so that a due time rounded to the minute shows.
var revertT0 = time.Date(2026, 11, 27, 7, 0, 30, 0, time.UTC)

const scope = "111122223333/eu-west-1"

// fakeReverts plans a revert of each exposure's rule (status, or
// scheduled; NotReverted with why when why is set) and records what it
// reverts. A revert that is done revokes the rule from the fixture's
// lister, as EC2 would.
type fakeReverts struct {
	x      *fixture
	status detect.RevertStatus // the plan's; "" for scheduled
	why    string              // the plan is NotReverted, for this reason
	exempt string              // and for the changes of this ARN too
	result detect.RevertStatus // what Revert returns; "" for RevertDone
	err    error               // and the error it returns
	plans  int
	// creators counts the plans made with the exposure's creator known.
	creators int
	rules    []string // the rule ids reverted, in order
	keys     []string // the keys they were reverted under
}

func (r *fakeReverts) on(window time.Duration) *Reverts {
	return &Reverts{
		Plan: func(f detect.Finding) (*detect.Revert, []detect.Rule) {
			r.plans++
			if f.Sweep != nil && f.Sweep.Created != nil && f.Actor.ARN != "" {
				r.creators++
			}
			if r.why != "" {
				return &detect.Revert{Status: detect.NotReverted, Why: r.why}, nil
			}
			if r.exempt != "" && f.Actor.ARN == r.exempt {
				return &detect.Revert{Status: detect.NotReverted, Why: "made by a principal REVERT_EXEMPT names"}, nil
			}
			st := r.status
			if st == "" {
				st = detect.RevertScheduled
			}
			var ids []string
			for _, rule := range f.Rules {
				ids = append(ids, rule.RuleID)
			}
			return &detect.Revert{Status: st, Rules: ids, At: "2000-01-01T00:00:00Z"}, f.Rules
		},
		Revert: func(_ context.Context, f detect.Finding, rules []detect.Rule, key string) (detect.RevertStatus, error) {
			for _, rule := range rules {
				r.rules = append(r.rules, rule.RuleID)
			}
			r.keys = append(r.keys, key)
			st := r.result
			if st == "" {
				st = detect.RevertDone
			}
			if st == detect.RevertDone {
				r.x.revoke(f.SecurityGroup.ID, rules)
			}
			return st, r.err
		},
		Window: window,
	}
}

// revoke removes rules from group in the fixture's lister.
func (x *fixture) revoke(group string, rules []detect.Rule) {
	x.lister.mu.Lock()
	defer x.lister.mu.Unlock()
	for i, g := range x.lister.groups {
		if g.ID == group {
			x.lister.groups[i].Rules = slices.DeleteFunc(slices.Clone(g.Rules), func(r detect.Rule) bool {
				return slices.ContainsFunc(rules, func(v detect.Rule) bool { return v.RuleID == r.RuleID })
			})
		}
	}
}

// runAt sweeps at time at and returns the one target's stats and what was
// published (findings and keys), clearing the record.
func (x *fixture) runAt(t *testing.T, id string, at time.Time) (Stats, []detect.Finding, []string) {
	t.Helper()
	x.now = at
	stats, err := x.s.Run(context.Background(), id, x.pub.publish)
	if err != nil {
		t.Fatalf("sweep %s: %v", id, err)
	}
	got, keys := x.pub.got, x.pub.keys
	x.pub.got, x.pub.keys = nil, nil
	return stats[0], got, keys
}

// memoryOf is what the fixture's memory holds now.
func (x *fixture) memoryOf(t *testing.T) map[string]entry {
	t.Helper()
	m, err := decode(x.memory.data[scope])
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// TestRevertWindow: an exposure published before revert was on gets, at
// the first sweep with revert on, one notice (its exposure again, with its
// revert scheduled one RevertGrace later, to the next whole minute) and no
// revert; a sweep a minute before the due time reverts nothing; the first
// after it reverts the rule once, under a revert key, and the exposure
// leaves the memory, so that no resolution follows once the rule is gone.
func TestRevertWindow(t *testing.T) {
	x := newFixture(issueGroups()[:1]) // sg-1: world SSH, sgr-…11
	if _, got, _ := x.runAt(t, "s1", revertT0); len(got) != 1 {
		t.Fatalf("revert off: published %d, want the exposure", len(got))
	}
	r := &fakeReverts{x: x}
	x.s.Reverts = r.on(0)

	at := revertT0.Add(time.Hour) // 08:00:30
	due := "2026-11-27T09:01:00Z" // at + 1 h, to the next whole minute
	st, got, keys := x.runAt(t, "s2", at)
	if len(got) != 1 || len(r.rules) != 0 {
		t.Fatalf("first sweep with revert on: published %d, reverted %q; want one notice and no revert", len(got), r.rules)
	}
	k := got[0].Sweep.Key
	n := got[0]
	switch {
	case !strings.Contains(keys[0], "/revert-notice/") || !strings.HasSuffix(keys[0], "/"+k):
		t.Errorf("notice key %q", keys[0])
	case n.Action != detect.Exposure || n.Revert == nil || n.Revert.Status != detect.RevertScheduled || n.Revert.At != due:
		t.Errorf("notice %s with revert %+v, want an exposure scheduled at %s", n.Action, n.Revert, due)
	case !strings.Contains(n.Revert.Approve, "create-tags --region eu-west-1 --resources sgr-00000000000000011 ") ||
		!strings.Contains(n.Revert.Approve, "Value=2026-11-28T09:01:00Z"):
		t.Errorf("approve command %q: want the rule, approved until a day after the due time", n.Revert.Approve)
	case n.Sweep.FirstSeen != rfc(revertT0) || n.Sweep.Published != rfc(revertT0):
		t.Errorf("notice first seen %q, published %q: want the first sweep's %s", n.Sweep.FirstSeen, n.Sweep.Published, rfc(revertT0))
	case st.Reverted != 0:
		t.Errorf("stats say %d reverted", st.Reverted)
	}
	if e := x.memoryOf(t)[k]; e.Due != due || e.Spared != "" {
		t.Errorf("memory keeps due %q, spared %q; want due %s", e.Due, e.Spared, due)
	}

	// A minute before it is due: nothing, and no second notice.
	if _, got, _ := x.runAt(t, "s3", at.Add(59*time.Minute)); len(got) != 0 || len(r.rules) != 0 {
		t.Fatalf("before the due time: published %d, reverted %q", len(got), r.rules)
	}
	// Past it: reverted once.
	st, got, _ = x.runAt(t, "s4", at.Add(61*time.Minute))
	if len(got) != 0 || !slices.Equal(r.rules, []string{"sgr-00000000000000011"}) || st.Reverted != 1 {
		t.Fatalf("past the due time: published %d, reverted %q (stats %d); want sgr-00000000000000011 reverted once", len(got), r.rules, st.Reverted)
	}
	if !strings.HasPrefix(r.keys[0], "sweep/s4/"+scope+"/") || !strings.HasSuffix(r.keys[0], "/revert/"+k) {
		t.Errorf("revert key %q", r.keys[0])
	}
	if _, ok := x.memoryOf(t)[k]; ok {
		t.Errorf("the reverted exposure is still in the memory")
	}
	// The rule is gone: no resolution, and nothing more reverted.
	if _, got, _ := x.runAt(t, "s5", at.Add(2*time.Hour)); len(got) != 0 || len(r.rules) != 1 {
		t.Errorf("after the revert: published %d (%v), reverted %q; want nothing", len(got), actions(got), r.rules)
	}
}

func actions(fs []detect.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Action)+" "+f.Rules[0].RuleID)
	}
	return out
}

// manyOpen is one group with n world-open rules, each its own exposure.
func manyOpen(n int) []Group {
	var rules []detect.Rule
	for i := range n {
		rules = append(rules, listed(fmt.Sprintf("sgr-%017x", i+1), "tcp", int32(8000+i), int32(8000+i), "0.0.0.0/0"))
	}
	return []Group{{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718"}, Rules: rules}}
}

// TestRevertBound: a new exposure is published with its revert scheduled;
// of 12 exposures due in one sweep, MaxReverts are reverted and the 2 left
// stay due in the memory, reverted by the next sweep; none twice.
func TestRevertBound(t *testing.T) {
	const open = MaxReverts + 2
	x := newFixture(manyOpen(open))
	r := &fakeReverts{x: x}
	x.s.Reverts = r.on(0)
	_, got, keys := x.runAt(t, "s1", revertT0)
	if len(got) != open || len(r.rules) != 0 {
		t.Fatalf("first sweep: published %d, reverted %d; want %d new and none reverted", len(got), len(r.rules), open)
	}
	for i, f := range got {
		if f.Revert == nil || f.Revert.Status != detect.RevertScheduled || f.Revert.At != "2026-11-27T08:01:00Z" || !strings.Contains(keys[i], "/exposure/") {
			t.Fatalf("new exposure %s under %q: revert %+v, want scheduled at 08:01", f.Rules[0].RuleID, keys[i], f.Revert)
		}
	}
	st, _, _ := x.runAt(t, "s2", revertT0.Add(2*time.Hour))
	if len(r.rules) != MaxReverts || st.Reverted != MaxReverts {
		t.Fatalf("%d reverted (stats %d) in one sweep, want MaxReverts (%d)", len(r.rules), st.Reverted, MaxReverts)
	}
	left := 0
	for _, e := range x.memoryOf(t) {
		if e.Due != "2026-11-27T08:01:00Z" {
			t.Errorf("%s left with due %q", e.Rule.RuleID, e.Due)
		}
		left++
	}
	if left != open-MaxReverts {
		t.Errorf("%d left in the memory, want %d", left, open-MaxReverts)
	}
	st, got, _ = x.runAt(t, "s3", revertT0.Add(3*time.Hour))
	if st.Reverted != open-MaxReverts || len(got) != 0 {
		t.Errorf("next sweep: %d reverted, %d published; want the %d left reverted", st.Reverted, len(got), open-MaxReverts)
	}
	seen := slices.Clone(r.rules)
	slices.Sort(seen)
	if len(slices.Compact(seen)) != open || len(r.rules) != open {
		t.Errorf("reverted %q: want each of the %d once", r.rules, open)
	}
}

// TestRevertApproval: past its due time, an exposure approved by a valid
// tag on its rule or its group is not reverted and stays due; an
// approval with no reason, or further than 7 days away, approves nothing.
func TestRevertApproval(t *testing.T) {
	at := revertT0.Add(2 * time.Hour) // past the due time, 08:01
	tags := func(until time.Time, reason string) map[string]string {
		m := map[string]string{detect.ApprovedUntilTag: rfc(until)}
		if reason != "" {
			m[detect.ApprovalReasonTag] = reason
		}
		return m
	}
	for _, c := range []struct {
		name        string
		rule, group map[string]string
		reverted    bool
	}{
		{"none", nil, nil, true},
		{"on the rule", tags(at.Add(24*time.Hour), "load test"), nil, false},
		{"on the group", nil, tags(at.Add(24*time.Hour), "load test"), false},
		{"no reason", tags(at.Add(24*time.Hour), ""), nil, true},
		{"more than 7 days", nil, tags(at.Add(8*24*time.Hour), "forever"), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := newFixture(issueGroups()[:1])
			r := &fakeReverts{x: x}
			x.s.Reverts = r.on(0)
			x.runAt(t, "s1", revertT0)
			g := &x.lister.groups[0]
			g.Tags = c.group
			if c.rule != nil {
				g.RuleTags = map[string]map[string]string{"sgr-00000000000000011": c.rule}
			}
			st, _, _ := x.runAt(t, "s2", at)
			if got := len(r.rules) == 1; got != c.reverted || st.Reverted != len(r.rules) {
				t.Fatalf("reverted %q (stats %d), want reverted %v", r.rules, st.Reverted, c.reverted)
			}
			if c.reverted {
				return
			}
			m := x.memoryOf(t)
			if len(m) != 1 {
				t.Fatalf("memory %v, want the approved exposure", m)
			}
			for _, e := range m {
				if e.Due != "2026-11-27T08:01:00Z" {
					t.Errorf("approved exposure's due %q, want it kept", e.Due)
				}
			}
		})
	}
}

// TestRevertExpiredApproval: an approval on the rule that ran out makes
// its exposure due at once, even at the sweep that first judges it, where
// it is reverted and never published as new; one on the group that ran
// out does not (the group's other rules had no window of their own).
func TestRevertExpiredApproval(t *testing.T) {
	expired := map[string]string{detect.ApprovedUntilTag: rfc(revertT0.Add(-time.Hour)), detect.ApprovalReasonTag: "demo"}
	for _, c := range []struct {
		name     string
		onRule   bool
		reverted bool
	}{
		{"on the rule", true, true},
		{"on the group", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := newFixture(issueGroups()[:1])
			if c.onRule {
				x.lister.groups[0].RuleTags = map[string]map[string]string{"sgr-00000000000000011": expired}
			} else {
				x.lister.groups[0].Tags = expired
			}
			r := &fakeReverts{x: x}
			x.s.Reverts = r.on(0)
			_, got, _ := x.runAt(t, "s1", revertT0)
			if reverted := len(r.rules) == 1; reverted != c.reverted {
				t.Fatalf("first sweep reverted %q, want reverted %v", r.rules, c.reverted)
			}
			if c.reverted && len(got) != 0 {
				t.Errorf("reverted at once, and published %v too", actions(got))
			}
			if !c.reverted && (len(got) != 1 || got[0].Revert == nil || got[0].Revert.At != "2026-11-27T08:01:00Z") {
				t.Errorf("published %v, want the exposure scheduled at 08:01", actions(got))
			}
			if _, got, _ := x.runAt(t, "s2", revertT0.Add(10*time.Minute)); c.reverted && len(got) != 0 {
				t.Errorf("after the revert: published %v", actions(got))
			}
		})
	}
}

// TestRevertSpared: an exposure the plan does not revert, decided when
// its creator was known, is remembered as spared with that creator, and
// judged again on it at every sweep (so that a changed REVERT_EXEMPT
// applies); one whose creator is not known is planned without one.
func TestRevertSpared(t *testing.T) {
	const rule = "sgr-0c0ffee0c0ffee001"
	for _, c := range []struct {
		name  string
		known bool
		plans int // after three sweeps
		// creators are the plans made with the creator known: the spared
		// exposure is judged again on the creator it was spared on.
		creators int
		spared   string
	}{
		{"creator known", true, 3, 3, "made by a principal REVERT_EXEMPT names"},
		{"creator unknown", false, 3, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := newFixture([]Group{{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718"},
				Rules: []detect.Rule{listed(rule, "tcp", 22, 22, "0.0.0.0/0")}}})
			if c.known {
				x.lister.events = [][]byte{record(t, rule, 22, "0.0.0.0/0", false)}
			}
			r := &fakeReverts{x: x, why: "made by a principal REVERT_EXEMPT names"}
			x.s.Reverts = r.on(0)
			_, got, _ := x.runAt(t, "s1", revertT0)
			if len(got) != 1 || got[0].Revert == nil || got[0].Revert.Status != detect.NotReverted || (got[0].Sweep.Created != nil) != c.known {
				t.Fatalf("published %v, want the exposure saying it is not reverted (creator known %v)", actions(got), c.known)
			}
			for i := range 2 {
				x.runAt(t, fmt.Sprintf("s%d", i+2), revertT0.Add(time.Duration(i+2)*time.Hour))
			}
			if r.plans != c.plans || r.creators != c.creators || len(r.rules) != 0 {
				t.Errorf("planned %d times (%d with the creator), reverted %q in three sweeps; want %d plans (%d with the creator) and no revert",
					r.plans, r.creators, r.rules, c.plans, c.creators)
			}
			for _, e := range x.memoryOf(t) {
				if e.Spared != c.spared || e.Due != "" {
					t.Errorf("memory spared %q, due %q; want spared %q", e.Spared, e.Due, c.spared)
				}
			}
		})
	}
}

// TestRevertOffOn: a sweep with revert off clears the due times it
// remembered, so turning it on again starts the window afresh (a notice,
// due a RevertGrace later) instead of reverting at once on the old one.
func TestRevertOffOn(t *testing.T) {
	x := newFixture(issueGroups()[:1])
	r := &fakeReverts{x: x}
	x.s.Reverts = r.on(0)
	x.runAt(t, "s1", revertT0) // due 08:01
	x.s.Reverts = nil
	x.runAt(t, "s2", revertT0.Add(30*time.Minute))
	for k, e := range x.memoryOf(t) {
		if e.Due != "" || e.Spared != "" {
			t.Errorf("%s: revert off, and the memory keeps due %q, spared %q", k, e.Due, e.Spared)
		}
	}
	x.s.Reverts = r.on(0)
	at := revertT0.Add(2 * time.Hour) // 09:00:30: past the old due time
	_, got, keys := x.runAt(t, "s3", at)
	if len(r.rules) != 0 {
		t.Fatalf("on again: reverted %q on the window of before", r.rules)
	}
	if len(got) != 1 || !strings.Contains(keys[0], "/revert-notice/") || got[0].Revert.At != "2026-11-27T10:01:00Z" {
		t.Errorf("on again: published %v under %q, want a notice due at 10:01", actions(got), keys)
	}
}

// TestRevertWindowLength: the window is Window, and at least RevertGrace
// whatever the plan says (a plan to revert at once included), its end
// rounded up to the next whole minute; the exposure is reverted by the first sweep at
// or after it, not before.
func TestRevertWindowLength(t *testing.T) {
	for _, c := range []struct {
		window time.Duration
		plan   detect.RevertStatus
		due    string
	}{
		{0, detect.RevertNow, "2026-11-27T08:01:00Z"},
		{15 * time.Minute, detect.RevertScheduled, "2026-11-27T08:01:00Z"},
		{3 * time.Hour, detect.RevertScheduled, "2026-11-27T10:01:00Z"},
		{90*time.Minute + 45*time.Second, detect.RevertScheduled, "2026-11-27T08:32:00Z"},
	} {
		t.Run(c.window.String(), func(t *testing.T) {
			x := newFixture(issueGroups()[:1])
			r := &fakeReverts{x: x, status: c.plan}
			x.s.Reverts = r.on(c.window)
			_, got, _ := x.runAt(t, "s1", revertT0)
			if len(got) != 1 || got[0].Revert == nil || got[0].Revert.Status != detect.RevertScheduled || got[0].Revert.At != c.due {
				t.Fatalf("published %v with revert %+v, want it scheduled at %s", actions(got), got[0].Revert, c.due)
			}
			due, _ := time.Parse(time.RFC3339, c.due)
			x.runAt(t, "s2", due.Add(-time.Second))
			if len(r.rules) != 0 {
				t.Fatalf("reverted %q a second before %s", r.rules, c.due)
			}
			x.runAt(t, "s3", due)
			if len(r.rules) != 1 {
				t.Errorf("at %s: reverted %q, want it", c.due, r.rules)
			}
		})
	}
}

// TestRevertFails: a revert that fails (its revert-failed finding
// published by Revert) is the sweep's error; the exposure stays in the
// memory, due, and is reverted again at the next sweep.
func TestRevertFails(t *testing.T) {
	x := newFixture(issueGroups()[:1])
	r := &fakeReverts{x: x, result: detect.RevertFailure, err: errors.New("revert of sg-00000000000000001: UnauthorizedOperation")}
	x.s.Reverts = r.on(0)
	x.runAt(t, "s1", revertT0)
	x.now = revertT0.Add(2 * time.Hour)
	stats, err := x.s.Run(context.Background(), "s2", x.pub.publish)
	if err == nil || !strings.Contains(err.Error(), "UnauthorizedOperation") || stats[0].Reverted != 0 {
		t.Fatalf("failed revert: error %v, %d reverted", err, stats[0].Reverted)
	}
	m := x.memoryOf(t)
	if len(m) != 1 {
		t.Fatalf("memory %v, want the exposure kept", m)
	}
	for _, e := range m {
		if e.Due != "2026-11-27T08:01:00Z" {
			t.Errorf("due %q after a failed revert", e.Due)
		}
	}
	r.result, r.err = "", nil
	if st, _, _ := x.runAt(t, "s3", revertT0.Add(3*time.Hour)); st.Reverted != 1 || len(r.rules) != 2 {
		t.Errorf("next sweep: %d reverted, %d attempts; want it reverted at the second", st.Reverted, len(r.rules))
	}
}

// TestRevertWire: the memory keeps an exposure's due time (d) and why it
// is spared (sp), and reads them back.
func TestRevertWire(t *testing.T) {
	for _, e := range []entry{
		{Group: "sg-1", FirstSeen: "t", Due: "2026-11-27T08:01:00Z"},
		{Group: "sg-1", FirstSeen: "t", Spared: "made by trusted automation"},
	} {
		b, err := e.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if e.Due != "" && !strings.Contains(string(b), `"d":"2026-11-27T08:01:00Z"`) ||
			e.Spared != "" && !strings.Contains(string(b), `"sp":"made by trusted automation"`) {
			t.Errorf("wire %s", b)
		}
		var back entry
		if err := back.UnmarshalJSON(b); err != nil || back.Due != e.Due || back.Spared != e.Spared {
			t.Errorf("%s read back as due %q, spared %q (%v)", b, back.Due, back.Spared, err)
		}
	}
}

// TestRevertImport: with a sink, a reverted exposure is not imported
// as still open, and does not come back into the memory (no resolution
// follows once its rule is gone); its resolution is imported, at the
// sweep that reverts it, or at the next if that import fails (as for any
// other resolution). An exposure whose own import was pending (failed at
// an earlier sweep) is no exception.
func TestRevertImport(t *testing.T) {
	for _, c := range []struct {
		name           string
		failExposure   bool // the exposure's import fails at the first sweep
		failResolution bool // the resolution's import fails at the sweep that reverts
	}{
		{"imported", false, false},
		{"exposure's import pending", true, false},
		{"resolution's import fails", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := newFixture(issueGroups()[:1])
			r := &fakeReverts{x: x}
			x.s.Reverts = r.on(0)
			var imported []string
			fail := func(detect.Finding) bool { return false }
			x.s.Import = func(_ context.Context, f detect.Finding) error {
				if fail(f) {
					return errors.New("securityhub: HTTP 503")
				}
				imported = append(imported, string(f.Action)+" "+f.Rules[0].RuleID)
				return nil
			}
			run := func(id string, at time.Time) (Stats, []detect.Finding) {
				x.now = at
				stats, _ := x.s.Run(context.Background(), id, x.pub.publish)
				got := x.pub.got
				x.pub.got, x.pub.keys = nil, nil
				return stats[0], got
			}
			fail = func(detect.Finding) bool { return c.failExposure }
			run("s1", revertT0)
			imported = nil
			fail = func(f detect.Finding) bool { return c.failResolution && f.Action == detect.Resolved }
			if st, _ := run("s2", revertT0.Add(2*time.Hour)); st.Reverted != 1 {
				t.Fatalf("%d reverted, want the due exposure", st.Reverted)
			}
			if slices.Contains(imported, "exposure sgr-00000000000000011") {
				t.Errorf("imported %q at the sweep that reverted it: the sink shows a reverted rule as open", imported)
			}
			if m := x.memoryOf(t); len(m) != 0 && !c.failResolution {
				t.Errorf("the memory after the revert holds %+v, want nothing", m)
			}
			fail = func(detect.Finding) bool { return false }
			_, got := run("s3", revertT0.Add(3*time.Hour))
			if len(got) != 0 {
				t.Errorf("after the revert: published %v", actions(got))
			}
			if !slices.Equal(imported, []string{"resolved sgr-00000000000000011"}) {
				t.Errorf("imported %q after two sweeps, want the resolution once (a failed import of a reverted exposure's resolution is retried, as any other's)", imported)
			}
			if m := x.memoryOf(t); len(m) != 0 {
				t.Errorf("the memory holds %+v, want nothing", m)
			}
		})
	}
}

// TestRevertRuleTags: the listing keeps each rule's sgwatch tags (the
// revert's approval), and only those, and each exposure carries its own
// rule's.
func TestRevertRuleTags(t *testing.T) {
	rule := func(id string, port int32, tags ...types.Tag) types.SecurityGroupRule {
		return types.SecurityGroupRule{SecurityGroupRuleId: aws.String(id), GroupId: aws.String("sg-1"), IsEgress: aws.Bool(false),
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port), CidrIpv4: aws.String("0.0.0.0/0"), Tags: tags}
	}
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	api := &fakeEC2{
		groups: []types.SecurityGroup{{GroupId: aws.String("sg-1"), GroupName: aws.String("web")}},
		rules: []types.SecurityGroupRule{
			rule("sgr-00000000000000001", 22, tag(detect.ApprovedUntilTag, "2026-11-28T07:00:00Z"), tag(detect.ApprovalReasonTag, "migration"), tag("Name", "ssh")),
			rule("sgr-00000000000000002", 3389, tag("Name", "rdp")),
		},
		calls: map[string]int{},
	}
	groups, err := AWS{EC2: api}.Groups(context.Background())
	if err != nil || len(groups) != 1 {
		t.Fatalf("%d groups, %v", len(groups), err)
	}
	want := map[string]map[string]string{"sgr-00000000000000001": {detect.ApprovedUntilTag: "2026-11-28T07:00:00Z", detect.ApprovalReasonTag: "migration"}}
	if got := groups[0].RuleTags; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rule tags %v, want %v", got, want)
	}
	for _, f := range Judge(groups, "eu-west-1", "111122223333", revertT0, detect.Scoring{}) {
		if got := f.Sweep.RuleTags; fmt.Sprint(got) != fmt.Sprint(want[f.Rules[0].RuleID]) {
			t.Errorf("exposure of %s carries tags %v, want %v", f.Rules[0].RuleID, got, want[f.Rules[0].RuleID])
		}
	}
}

// TestRevertCreatorAtDue: an exposure whose creator was not known when its
// window started is looked up again when it is due: while the lookup
// fails it waits (it may be exempt); once the creator is found to be
// exempt it is spared, and never reverted.
func TestRevertCreatorAtDue(t *testing.T) {
	const rule = "sgr-00000000000000011"
	x := newFixture(issueGroups()[:1])
	x.lister.evErr = errors.New("ThrottlingException: Rate exceeded")
	r := &fakeReverts{x: x, exempt: "arn:aws:sts::111122223333:assumed-role/Admin/ops-admin"}
	x.s.Reverts = r.on(0)
	x.s.Reverts.Creators = true
	if _, got, _ := x.runAt(t, "s1", revertT0); len(got) != 1 || got[0].Sweep.Created != nil || got[0].Revert.Status != detect.RevertScheduled {
		t.Fatalf("first sweep published %v, want the exposure, creator unknown, its revert scheduled", actions(got))
	}
	x.runAt(t, "s2", revertT0.Add(2*time.Hour))
	if len(r.rules) != 0 {
		t.Fatalf("reverted %q while who created it could not be looked up", r.rules)
	}
	x.lister.mu.Lock()
	x.lister.evErr, x.lister.events = nil, [][]byte{record(t, rule, 22, "0.0.0.0/0", false)}
	x.lister.mu.Unlock()
	x.runAt(t, "s3", revertT0.Add(3*time.Hour))
	x.runAt(t, "s4", revertT0.Add(4*time.Hour))
	if len(r.rules) != 0 {
		t.Errorf("reverted %q, made by an exempt principal", r.rules)
	}
	for k, e := range x.memoryOf(t) {
		if e.Spared == "" || e.Creator == nil || e.Creator.ARN != r.exempt {
			t.Errorf("%s: spared %q by %+v; want spared on its creator", k, e.Spared, e.Creator)
		}
	}
}

// TestRevertIndirect: an exposure open only through a prefix list's
// entries, or only with another group's rules on an interface, is never
// reverted (revoking the rule would take more than the exposure), and
// costs no revert attempt.
func TestRevertIndirect(t *testing.T) {
	const list = "pl-0123456789abcdef0"
	g := Group{SecurityGroup: detect.SecurityGroup{ID: "sg-00000000000000001"},
		Rules: []detect.Rule{{Direction: detect.Ingress, Protocol: "tcp", FromPort: p(22), ToPort: p(22), PrefixListID: list, RuleID: "sgr-00000000000000011"}},
		Lists: map[string]detect.PrefixList{list: {ID: list, Entries: []string{"0.0.0.0/0"}}}}
	x := newFixture([]Group{g})
	r := &fakeReverts{x: x}
	x.s.Reverts = r.on(0)
	_, got, _ := x.runAt(t, "s1", revertT0)
	if len(got) != 1 || got[0].Revert == nil || got[0].Revert.Status != detect.NotReverted || !strings.Contains(got[0].Revert.Why, "prefix list") {
		t.Fatalf("published %v, want the exposure saying it is not reverted, through a prefix list", actions(got))
	}
	x.runAt(t, "s2", revertT0.Add(3*time.Hour))
	if len(r.rules) != 0 {
		t.Errorf("reverted %q", r.rules)
	}
}

// TestRevertTries: reverts that revoke nothing (the rule found approved
// by then) do not count against MaxReverts, but at most maxTries are
// tried in one sweep.
func TestRevertTries(t *testing.T) {
	var groups []Group
	for i := range maxTries + 5 {
		groups = append(groups, Group{SecurityGroup: detect.SecurityGroup{ID: fmt.Sprintf("sg-%017x", i+1)},
			Rules: []detect.Rule{listed(fmt.Sprintf("sgr-%017x", i+1), "tcp", 22, 22, "0.0.0.0/0")}})
	}
	x := newFixture(groups)
	r := &fakeReverts{x: x, result: detect.RevertApproved}
	x.s.Reverts = r.on(0)
	x.runAt(t, "s1", revertT0)
	x.runAt(t, "s2", revertT0.Add(2*time.Hour))
	if len(r.keys) != maxTries {
		t.Errorf("%d reverts tried, want at most %d (none revoked)", len(r.keys), maxTries)
	}
}

// TestRevertCreatorPages: when who created it decides (Creators), a due
// exposure whose creation is not among as many events as LookupEvents
// gives (the group has more) waits; when it does not, no lookup is made
// and it is reverted.
func TestRevertCreatorPages(t *testing.T) {
	for _, c := range []struct {
		name     string
		creators bool
		reverted int
	}{
		{"creator decides", true, 0},
		{"creator does not decide", false, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := newFixture(issueGroups()[:1])
			x.lister.evErr = errors.New("ThrottlingException: Rate exceeded") // not known when first seen
			r := &fakeReverts{x: x}
			x.s.Reverts = r.on(0)
			x.s.Reverts.Creators = c.creators
			x.runAt(t, "s1", revertT0)
			var busy [][]byte
			for i := range LookupPages * lookupPage {
				busy = append(busy, record(t, fmt.Sprintf("sgr-%017x", 0x100+i), 22, "10.0.0.0/8", false))
			}
			x.lister.mu.Lock()
			x.lister.evErr, x.lister.events, x.lister.lookups = nil, busy, 0
			x.lister.mu.Unlock()
			x.runAt(t, "s2", revertT0.Add(2*time.Hour))
			if len(r.rules) != c.reverted {
				t.Errorf("reverted %q, want %d", r.rules, c.reverted)
			}
			if !c.creators && x.lister.lookups != 0 {
				t.Errorf("%d lookups, want none", x.lister.lookups)
			}
		})
	}
}
