package sweep

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
)

var planAt = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

// open returns the exposure of world tcp/port on rule id of group g, and
// its key.
func openRule(g, id string, port int) (string, detect.Finding) {
	r := sweepRule(id, detect.Ingress, "tcp", port, port, "0.0.0.0/0")
	f := Exposures(Group{SecurityGroup: detect.SecurityGroup{ID: g}, Rules: []detect.Rule{r}}, "eu-west-1", "111122223333", planAt, detect.Scoring{})[0]
	return f.Sweep.Key, f
}

// was is the memory of the exposure of rule id of group g on port, in
// state st.
func was(g, id string, port int, st state) (string, entry) {
	k, f := openRule(g, id, port)
	e := remembered(f, "2026-11-20T06:00:00Z")
	e.State = st
	if st == statePublished || st == stateTold || st == stateResolving {
		e.Published = "2026-11-20T06:00:00Z"
	}
	return k, e
}

// TestPlan holds the plan of one target's sweep, without AWS: from what
// was remembered, what is open now and what became of each publish, what
// is published, resolved, held, kept and forgotten, and what the memory
// holds next.
func TestPlan(t *testing.T) {
	const g, g2 = "sg-0123456789abcdef0", "sg-0fedcba9876543210"
	kNew, fNew := openRule(g, "sgr-00000000000000001", 22)
	kPub, mPub := was(g, "sgr-00000000000000002", 3389, statePublished)
	_, fPub := openRule(g, "sgr-00000000000000002", 3389)
	kHeld, mHeld := was(g, "sgr-00000000000000003", 443, stateHeld)
	_, fHeld := openRule(g, "sgr-00000000000000003", 443)
	kGone, mGone := was(g2, "sgr-00000000000000004", 22, statePublished)
	kHeldGone, mHeldGone := was(g2, "sgr-00000000000000005", 22, stateHeld)
	kTold, mTold := was(g2, "sgr-00000000000000006", 22, stateTold)
	kResolving, mResolving := was(g, "sgr-00000000000000007", 22, stateResolving)
	_, fReopened := openRule(g, "sgr-00000000000000007", 22)
	// The same rule changed in place: remembered on 22, open now on 23.
	kOld, mOld := was(g, "sgr-00000000000000008", 22, statePublished)
	kChanged, fChanged := openRule(g, "sgr-00000000000000008", 23)

	type outcomes map[string]outcome // by key: of a candidate's or a resolution's publish
	cases := []struct {
		name       string
		before     map[string]entry
		open       []detect.Finding
		importing  bool
		canResolve bool
		outcomes   outcomes
		imports    outcome // of every import
		// What the plan does: the keys it publishes (and looks up), resolves,
		// and the memory after, key=state.
		candidates, lookups, resolved []string
		after                         map[string]string
	}{
		{name: "a new exposure published", open: []detect.Finding{fNew}, canResolve: true, outcomes: outcomes{kNew: done},
			candidates: []string{kNew}, lookups: []string{kNew}, after: map[string]string{kNew: "published"}},
		{name: "a new exposure held back", open: []detect.Finding{fNew}, canResolve: true, outcomes: outcomes{kNew: heldBack},
			candidates: []string{kNew}, lookups: []string{kNew}, after: map[string]string{kNew: "held tried"}},
		{name: "a new exposure whose publish failed is not remembered", open: []detect.Finding{fNew}, canResolve: true, outcomes: outcomes{kNew: failedTo},
			candidates: []string{kNew}, lookups: []string{kNew}, after: map[string]string{}},
		{name: "published and still open: kept as it was", before: map[string]entry{kPub: mPub}, open: []detect.Finding{fPub}, canResolve: true,
			after: map[string]string{kPub: "published"}},
		{name: "held and still open: decided again", before: map[string]entry{kHeld: mHeld}, open: []detect.Finding{fHeld}, canResolve: true,
			outcomes: outcomes{kHeld: done}, candidates: []string{kHeld}, lookups: []string{kHeld}, after: map[string]string{kHeld: "published"}},
		{name: "published and gone: resolved, then forgotten", before: map[string]entry{kGone: mGone}, canResolve: true,
			outcomes: outcomes{kGone: done}, resolved: []string{kGone}, after: map[string]string{}},
		{name: "a resolution whose publish failed is resolving", before: map[string]entry{kGone: mGone}, canResolve: true,
			outcomes: outcomes{kGone: failedTo}, resolved: []string{kGone}, after: map[string]string{kGone: "resolving"}},
		{name: "a resolution the policy held back is forgotten", before: map[string]entry{kGone: mGone}, canResolve: true,
			outcomes: outcomes{kGone: heldBack}, resolved: []string{kGone}, after: map[string]string{}},
		{name: "with a sink, a resolution is told until it is imported", before: map[string]entry{kGone: mGone}, importing: true, canResolve: true,
			outcomes: outcomes{kGone: done}, imports: failedTo, resolved: []string{kGone}, after: map[string]string{kGone: "told"}},
		{name: "a told resolution imported is forgotten", before: map[string]entry{kTold: mTold}, importing: true, canResolve: true,
			imports: done, after: map[string]string{}},
		{name: "held and gone: forgotten, nothing published", before: map[string]entry{kHeldGone: mHeldGone}, canResolve: true,
			after: map[string]string{}},
		{name: "gone while the memory could not be marked: kept for a later sweep", before: map[string]entry{kGone: mGone}, canResolve: false,
			after: map[string]string{kGone: "published"}},
		{name: "resolving and open again: published again as new", before: map[string]entry{kResolving: mResolving}, open: []detect.Finding{fReopened},
			canResolve: true, outcomes: outcomes{kResolving: done}, candidates: []string{kResolving}, lookups: []string{kResolving},
			after: map[string]string{kResolving: "published"}},
		{name: "changed in place and published: the old key needs no resolution", before: map[string]entry{kOld: mOld}, open: []detect.Finding{fChanged},
			canResolve: true, outcomes: outcomes{kChanged: done}, candidates: []string{kChanged}, lookups: []string{kChanged},
			after: map[string]string{kChanged: "published"}},
		{name: "changed in place and held: still open, so not resolved", before: map[string]entry{kOld: mOld}, open: []detect.Finding{fChanged},
			canResolve: true, outcomes: outcomes{kChanged: heldBack}, candidates: []string{kChanged}, lookups: []string{kChanged},
			after: map[string]string{kOld: "published", kChanged: "held tried"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			open := map[string]detect.Finding{}
			for _, f := range c.open {
				open[f.Sweep.Key] = f
			}
			before := c.before
			if before == nil {
				before = map[string]entry{}
			}
			p := newPlan(before, open, c.importing, planAt, detect.Scoring{})
			var lookups []string
			for _, l := range p.lookups(Target{Account: "111122223333", Region: "eu-west-1"}) {
				lookups = append(lookups, l.key)
			}
			var candidates []string
			var imports []pending
			for i := range p.candidates {
				cd := &p.candidates[i]
				candidates = append(candidates, cd.key)
				cd.result = c.outcomes[cd.key]
				if cd.result == done && c.importing {
					imports = append(imports, pending{key: cd.key, f: cd.f, result: c.imports})
				}
			}
			p.resolutions(c.canResolve)
			var resolved []string
			for i := range p.gone {
				gn := &p.gone[i]
				switch gn.action {
				case publishIt:
					resolved = append(resolved, gn.key)
					gn.result = c.outcomes[gn.key]
					if gn.result == done && c.importing {
						imports = append(imports, pending{key: gn.key, f: Resolve(gn.was.finding(Target{}, gn.key), planAt, detect.Scoring{}), result: c.imports})
					}
				case importIt:
					imports = append(imports, pending{key: gn.key, f: Resolve(gn.was.finding(Target{}, gn.key), planAt, detect.Scoring{}), result: c.imports})
				}
			}
			after := p.settle(c.importing, imports)
			got := map[string]string{}
			for k, e := range after {
				got[k] = describeEntry(e)
			}
			for name, pair := range map[string][2][]string{"candidates": {candidates, c.candidates}, "lookups": {lookups, c.lookups}, "resolved": {resolved, c.resolved}} {
				if !slices.Equal(pair[0], pair[1]) {
					t.Errorf("%s %q, want %q", name, pair[0], pair[1])
				}
			}
			if !maps.Equal(got, c.after) {
				t.Errorf("memory after %v, want %v", got, c.after)
			}
		})
	}
}

func describeEntry(e entry) string {
	s := [...]string{"published", "held", "resolving", "told"}[e.State]
	if e.State == stateHeld && e.Tried != "" {
		s += " tried"
	}
	return s
}

// TestPlanLookups: at most MaxLookups creators are looked up in a sweep:
// the new exposures first, in key order, then the held ones, the longest
// untried first; the others say so in a note.
func TestPlanLookups(t *testing.T) {
	open := map[string]detect.Finding{}
	before := map[string]entry{}
	for i := range 4 { // held, tried at different times
		k, f := openRule("sg-0123456789abcdef0", fmt.Sprintf("sgr-1%016d", i), 22)
		open[k] = f
		e := remembered(f, "2026-11-20T06:00:00Z")
		e.State, e.Tried = stateHeld, fmt.Sprintf("2026-11-2%dT06:00:00Z", 4-i)
		before[k] = e
	}
	for i := range 4 { // new
		k, f := openRule("sg-0123456789abcdef0", fmt.Sprintf("sgr-2%016d", i), 22)
		open[k] = f
	}
	p := newPlan(before, open, false, planAt, detect.Scoring{})
	var looked []string
	for _, c := range p.lookups(Target{Account: "111122223333", Region: "eu-west-1"}) {
		looked = append(looked, c.f.Rules[0].RuleID)
		if c.tried != planAt.Format(time.RFC3339) {
			t.Errorf("%s looked up, but tried %q", c.key, c.tried)
		}
	}
	want := []string{"sgr-20000000000000000", "sgr-20000000000000001", "sgr-20000000000000002", "sgr-20000000000000003", "sgr-10000000000000003"}
	if !slices.Equal(looked, want) {
		t.Errorf("looked up %q, want %q", looked, want)
	}
	noted := 0
	for _, c := range p.candidates {
		if slices.ContainsFunc(c.f.Notes, func(n string) bool { return strings.Contains(n, "was not looked up") }) {
			noted++
		}
	}
	if noted != 3 {
		t.Errorf("%d candidates say they were not looked up, want 3", noted)
	}
}

// TestMemoryWireFormat: the memory reads and writes the flags an earlier
// sgwatch wrote (h, x, o, l), so that a deployed memory survives an
// upgrade, and an entry goes round unchanged.
func TestMemoryWireFormat(t *testing.T) {
	cases := []struct {
		wire string
		want state
	}{
		{`{"g":"sg-1","r":{},"s":"critical","f":"t","p":"t"}`, statePublished},
		{`{"g":"sg-1","r":{},"s":"critical","f":"t","h":true,"t":"t2"}`, stateHeld},
		{`{"g":"sg-1","r":{},"s":"critical","f":"t","x":true}`, stateResolving},
		{`{"g":"sg-1","r":{},"s":"critical","f":"t","x":true,"o":true}`, stateTold},
	}
	for _, c := range cases {
		var e entry
		if err := e.UnmarshalJSON([]byte(c.wire)); err != nil || e.State != c.want {
			t.Errorf("%s: state %d (%v), want %d", c.wire, e.State, err, c.want)
		}
		back, err := e.MarshalJSON()
		if err != nil || string(back) != c.wire {
			t.Errorf("%s went round as %s (%v)", c.wire, back, err)
		}
	}
	// A held entry's creator is kept only when it was looked up.
	var e entry
	e.UnmarshalJSON([]byte(`{"g":"sg-1","r":{},"s":"critical","f":"t","h":true,"l":true,"c":{"type":"Root","console":false},"e":{"eventName":"AuthorizeSecurityGroupIngress"}}`))
	if e.Creator == nil || e.Created == nil || e.Creator.Type != "Root" {
		t.Errorf("looked-up creator not read: %+v", e)
	}
	e.UnmarshalJSON([]byte(`{"g":"sg-1","r":{},"s":"critical","f":"t","h":true,"c":{"type":"Root","console":false}}`))
	if e.Creator != nil {
		t.Errorf("a creator not looked up was read: %+v", e.Creator)
	}
}
