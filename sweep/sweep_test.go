package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/memory"
)

// fakeLister lists groups it holds.
type fakeLister struct {
	mu      sync.Mutex
	groups  []Group
	err     error
	events  [][]byte
	evErr   error
	lookups int
}

func (l *fakeLister) Groups(context.Context) ([]Group, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.groups), l.err
}

func (l *fakeLister) Events(_ context.Context, _ string, _ int) ([][]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lookups++
	return l.events, l.evErr
}

// fakeMemory is the table's memory, with its version check.
type fakeMemory struct {
	mu      sync.Mutex
	data    map[string][]byte
	version map[string]int64
	err     error
	writes  int
}

func newFakeMemory() *fakeMemory {
	return &fakeMemory{data: map[string][]byte{}, version: map[string]int64{}}
}

func (m *fakeMemory) Recall(_ context.Context, scope string) ([]byte, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data[scope], m.version[scope], m.err
}

func (m *fakeMemory) Remember(_ context.Context, scope string, data []byte, version int64, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	if m.version[scope] != version {
		return memory.ErrConflict
	}
	m.data[scope], m.version[scope] = data, version+1
	m.writes++
	return nil
}

// published records what a sweep published.
type published struct {
	mu    sync.Mutex
	got   []detect.Finding
	keys  []string
	fail  error                     // every publish fails with it
	allow func(detect.Finding) bool // the policy: nil publishes all
}

func (p *published) publish(_ context.Context, f detect.Finding, key string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return false, p.fail
	}
	if p.allow != nil && !p.allow(f) {
		return false, nil
	}
	p.got, p.keys = append(p.got, f), append(p.keys, key)
	return true, nil
}

func (p *published) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, f := range p.got {
		out = append(out, fmt.Sprintf("%s %s %s %s", f.Action, f.Severity, f.SecurityGroup.ID, f.Rules[0].RuleID))
	}
	p.got, p.keys = nil, nil
	slices.Sort(out)
	return out
}

func n32(v int32) *int32 { return &v }

func listed(id, proto string, from, to int32, cidr string) detect.Rule {
	l := detect.Listed{ID: id, Protocol: proto, FromPort: n32(from), ToPort: n32(to), CIDRIPv4: cidr}
	if strings.Contains(cidr, ":") {
		l.CIDRIPv4, l.CIDRIPv6 = "", cidr
	}
	return l.Rule()
}

// issueGroups are the groups of issue 12's test: world SSH, world 443,
// IPv6 RDP, a split 32.0.0.0/5 + 40.0.0.0/5, and private-only rules (with
// egress to the world, which is no exposure).
func issueGroups() []Group {
	g := func(id string, rules ...detect.Rule) Group {
		return Group{SecurityGroup: detect.SecurityGroup{ID: id, Name: "g" + id[len(id)-1:]}, Rules: rules}
	}
	egress := listed("sgr-000000000000000e0", "-1", -1, -1, "0.0.0.0/0")
	egress.Direction = detect.Egress
	return []Group{
		g("sg-00000000000000001", listed("sgr-00000000000000011", "tcp", 22, 22, "0.0.0.0/0"), egress),
		g("sg-00000000000000002", listed("sgr-00000000000000021", "tcp", 443, 443, "0.0.0.0/0")),
		g("sg-00000000000000003", listed("sgr-00000000000000031", "tcp", 3389, 3389, "::/0")),
		g("sg-00000000000000004", listed("sgr-00000000000000041", "tcp", 22, 22, "32.0.0.0/5"), listed("sgr-00000000000000042", "tcp", 22, 22, "40.0.0.0/5")),
		g("sg-00000000000000005", listed("sgr-00000000000000051", "tcp", 22, 22, "10.0.0.0/8"), listed("sgr-00000000000000052", "tcp", 5432, 5432, "172.16.0.0/12"), egress),
	}
}

type fixture struct {
	lister *fakeLister
	memory *fakeMemory
	pub    *published
	s      *Sweeper
	now    time.Time
}

func newFixture(groups []Group) *fixture {
	x := &fixture{lister: &fakeLister{groups: groups}, memory: newFakeMemory(), pub: &published{},
		now: time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)}
	x.s = &Sweeper{
		Targets: []Target{{Account: "111122223333", Region: "eu-west-1"}},
		Lister:  func(context.Context, Target) (Lister, error) { return x.lister, nil },
		Memory:  x.memory,
		Now:     func() time.Time { return x.now },
	}
	return x
}

func (x *fixture) sweep(t *testing.T, id string) []string {
	t.Helper()
	x.now = x.now.Add(time.Hour)
	if _, err := x.s.Run(context.Background(), id, x.pub.publish); err != nil {
		t.Fatalf("sweep %s: %v", id, err)
	}
	return x.pub.take()
}

func (x *fixture) set(group string, rules ...detect.Rule) {
	for i, g := range x.lister.groups {
		if g.ID == group {
			x.lister.groups[i].Rules = rules
		}
	}
}

// TestSweepLifecycle is issue 12's sweep test at the interface: the first
// sweep publishes exactly the world-open rules, a second nothing, a revoke
// one resolved, a change one new exposure (and no resolved).
func TestSweepLifecycle(t *testing.T) {
	x := newFixture(issueGroups())
	want := []string{
		"exposure critical sg-00000000000000001 sgr-00000000000000011",
		"exposure critical sg-00000000000000003 sgr-00000000000000031",
		"exposure critical sg-00000000000000004 sgr-00000000000000041",
		"exposure critical sg-00000000000000004 sgr-00000000000000042",
		"exposure high sg-00000000000000002 sgr-00000000000000021",
	}
	if got := x.sweep(t, "s1"); !slices.Equal(got, want) {
		t.Fatalf("first sweep published\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := x.sweep(t, "s2"); len(got) != 0 {
		t.Fatalf("second sweep published %q", got)
	}

	x.set("sg-00000000000000001") // revoked
	if got := x.sweep(t, "s3"); !slices.Equal(got, []string{"resolved info sg-00000000000000001 sgr-00000000000000011"}) {
		t.Fatalf("after a revoke: %q", got)
	}
	x.set("sg-00000000000000003", listed("sgr-00000000000000031", "tcp", 3389, 3390, "::/0")) // changed in place
	if got := x.sweep(t, "s4"); !slices.Equal(got, []string{"exposure critical sg-00000000000000003 sgr-00000000000000031"}) {
		t.Fatalf("after a change: %q", got)
	}
	x.set("sg-00000000000000002", listed("sgr-00000000000000021", "tcp", 443, 443, "10.0.0.0/8")) // narrowed
	if got := x.sweep(t, "s5"); !slices.Equal(got, []string{"resolved info sg-00000000000000002 sgr-00000000000000021"}) {
		t.Fatalf("after narrowing: %q", got)
	}
	// Reopened: published again, as new.
	x.set("sg-00000000000000001", listed("sgr-00000000000000011", "tcp", 22, 22, "0.0.0.0/0"))
	if got := x.sweep(t, "s6"); !slices.Equal(got, []string{"exposure critical sg-00000000000000001 sgr-00000000000000011"}) {
		t.Fatalf("after reopening: %q", got)
	}
	if got := x.sweep(t, "s7"); len(got) != 0 {
		t.Fatalf("last sweep published %q", got)
	}
}

// TestSweepFirstSeen: an exposure that stays keeps the time it was first
// seen, and its resolution says it.
func TestSweepFirstSeen(t *testing.T) {
	x := newFixture(issueGroups()[:1])
	x.sweep(t, "s1")
	x.sweep(t, "s2")
	x.set("sg-00000000000000001")
	x.now = x.now.Add(time.Hour)
	if _, err := x.s.Run(context.Background(), "s3", x.pub.publish); err != nil {
		t.Fatal(err)
	}
	r := x.pub.got[0]
	if r.Sweep.FirstSeen != "2026-11-27T07:00:00Z" || r.Sweep.Was != detect.Critical || r.Sweep.FoundAt != "2026-11-27T09:00:00Z" {
		t.Errorf("resolved sweep %+v", r.Sweep)
	}
}

// TestSweepListingFails: a target whose rules cannot all be listed is an
// error and resolves nothing; the next good sweep carries on.
func TestSweepListingFails(t *testing.T) {
	x := newFixture(issueGroups())
	x.sweep(t, "s1")
	x.lister.err = errors.New("DescribeSecurityGroupRules: throttled")
	x.lister.groups = nil
	stats, err := x.s.Run(context.Background(), "s2", x.pub.publish)
	if err == nil || !strings.Contains(err.Error(), "111122223333/eu-west-1") || !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("error %v does not name the target and the cause", err)
	}
	if got := x.pub.take(); len(got) != 0 || stats[0].Err == nil {
		t.Fatalf("a failed listing published %q", got)
	}
	x.lister.err, x.lister.groups = nil, issueGroups()
	if got := x.sweep(t, "s3"); len(got) != 0 {
		t.Fatalf("after the failure: %q", got)
	}
}

// TestSweepPublishFails: what was published is remembered, what failed is
// not, so the retry (same sweep id, same keys) publishes only that.
func TestSweepPublishFails(t *testing.T) {
	x := newFixture(issueGroups())
	k := &keyed{p: x.pub, done: map[string]bool{}, fail: map[string]bool{"sgr-00000000000000021": true}}
	if _, err := x.s.Run(context.Background(), "s1", k.publish); err == nil || !strings.Contains(err.Error(), "SNS: throttled") {
		t.Fatalf("error %v", err)
	}
	keys := slices.Clone(x.pub.keys)
	if got := x.pub.take(); len(got) != 4 {
		t.Fatalf("published %q, want the 4 that did not fail", got)
	}
	for _, key := range keys {
		if !strings.HasPrefix(key, "sweep/s1/111122223333/eu-west-1/v0/exposure/sgr-") {
			t.Errorf("key %q", key)
		}
	}
	clear(k.fail)
	if _, err := x.s.Run(context.Background(), "s1", k.publish); err != nil {
		t.Fatal(err)
	}
	if got := x.pub.take(); !slices.Equal(got, []string{"exposure high sg-00000000000000002 sgr-00000000000000021"}) {
		t.Fatalf("the retry published %q, want only the one that failed", got)
	}
	if got := x.sweep(t, "s2"); len(got) != 0 {
		t.Fatalf("the next sweep published %q", got)
	}
}

// keyed publishes once per idempotency key, as the claims of package once
// do, and fails the exposures of the rule ids in fail.
type keyed struct {
	p    *published
	done map[string]bool
	fail map[string]bool
}

func (k *keyed) publish(ctx context.Context, f detect.Finding, key string) (bool, error) {
	if k.fail[f.Rules[0].RuleID] {
		return false, errors.New("SNS: throttled")
	}
	if k.done[key] {
		return true, nil
	}
	ok, err := k.p.publish(ctx, f, key)
	k.done[key] = ok && err == nil
	return ok, err
}

// flaky lets the memory's next pass writes through, then fails fail.
type flaky struct {
	*fakeMemory
	pass, fail int
}

func (m *flaky) Remember(ctx context.Context, scope string, data []byte, version int64, now time.Time) error {
	switch {
	case m.pass > 0:
		m.pass--
	case m.fail > 0:
		m.fail--
		return errors.New("DynamoDB: throttled")
	}
	return m.fakeMemory.Remember(ctx, scope, data, version, now)
}

// TestSweepResolving: before a resolution is published the memory says the
// exposure is resolving. A sweep that cannot say so publishes nothing; one
// that published the resolution but could not write the memory after it
// publishes the exposure again if it reopens, and the resolution again if
// it does not.
func TestSweepResolving(t *testing.T) {
	for _, c := range []struct {
		name   string
		pass   int // memory writes that pass in the sweep after the revoke, before one fails
		reopen bool
		next   []string // what the next sweep publishes
	}{
		{"cannot flag", 0, true, nil},
		{"cannot flag, not reopened", 0, false, []string{"resolved info sg-00000000000000001 sgr-00000000000000011"}},
		{"flagged, last write fails, reopened", 1, true, []string{"exposure critical sg-00000000000000001 sgr-00000000000000011"}},
		{"flagged, last write fails, still gone", 1, false, []string{"resolved info sg-00000000000000001 sgr-00000000000000011"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := newFixture(issueGroups()[:1])
			m := &flaky{fakeMemory: x.memory}
			x.s.Memory = m
			x.sweep(t, "s1")
			x.set("sg-00000000000000001")
			m.pass, m.fail = c.pass, 1
			x.now = x.now.Add(time.Hour)
			if _, err := x.s.Run(context.Background(), "s2", x.pub.publish); err == nil {
				t.Fatal("the sweep did not fail")
			}
			got := x.pub.take()
			if c.pass == 0 && len(got) != 0 {
				t.Fatalf("published %q without flagging the memory", got)
			}
			if c.pass == 1 && !slices.Equal(got, []string{"resolved info sg-00000000000000001 sgr-00000000000000011"}) {
				t.Fatalf("published %q, want the resolution", got)
			}
			if c.reopen {
				x.set("sg-00000000000000001", listed("sgr-00000000000000011", "tcp", 22, 22, "0.0.0.0/0"))
			}
			if got := x.sweep(t, "s3"); !slices.Equal(got, c.next) {
				t.Fatalf("next sweep published %q, want %q", got, c.next)
			}
			if got := x.sweep(t, "s4"); len(got) != 0 {
				t.Fatalf("the sweep after published %q", got)
			}
		})
	}
}

// TestSweepHeld: an exposure the policy holds back is not remembered, so
// it is decided on again at every sweep (a suppression that expires lets
// it through), and no resolution follows it.
func TestSweepHeld(t *testing.T) {
	x := newFixture(issueGroups())
	x.pub.allow = func(f detect.Finding) bool { return f.SecurityGroup.ID != "sg-00000000000000002" }
	if got := x.sweep(t, "s1"); len(got) != 4 {
		t.Fatalf("published %q", got)
	}
	x.pub.allow = nil // the suppression expired
	if got := x.sweep(t, "s2"); !slices.Equal(got, []string{"exposure high sg-00000000000000002 sgr-00000000000000021"}) {
		t.Fatalf("after the suppression: %q", got)
	}
	x.pub.allow = func(f detect.Finding) bool { return f.SecurityGroup.ID != "sg-00000000000000003" }
	x.set("sg-00000000000000003")
	if got := x.sweep(t, "s3"); len(got) != 0 {
		t.Fatalf("a held resolution was published: %q", got)
	}
	x.pub.allow = nil
	if got := x.sweep(t, "s4"); len(got) != 0 {
		t.Fatalf("a held resolution came back: %q", got)
	}
}

// TestSweepMemory: a memory that cannot be read is started again (every
// exposure published again: louder, never quieter); another sweep's write
// in between is a conflict, an error.
func TestSweepMemory(t *testing.T) {
	x := newFixture(issueGroups())
	x.sweep(t, "s1")
	x.memory.data["111122223333/eu-west-1"] = []byte("not gzip")
	if got := x.sweep(t, "s2"); len(got) != 5 {
		t.Fatalf("after a corrupt memory: %q", got)
	}
	if got := x.sweep(t, "s3"); len(got) != 0 {
		t.Fatalf("the memory was not written over: %q", got)
	}

	// The table cannot be reached: every exposure is published again
	// (louder, never quieter), and the invocation fails.
	x.memory.err = errors.New("table unreachable")
	if _, err := x.s.Run(context.Background(), "s4", x.pub.publish); err == nil || !strings.Contains(err.Error(), "table unreachable") {
		t.Fatalf("error %v", err)
	}
	if got := x.pub.take(); len(got) != 5 {
		t.Fatalf("with the table unreachable: published %q, want all 5", got)
	}
	x.memory.err = nil
	if got := x.sweep(t, "s5"); len(got) != 0 {
		t.Fatalf("after the table is back: %q", got)
	}

	y := newFixture(issueGroups())
	bump := func(ctx context.Context, f detect.Finding, key string) (bool, error) {
		// Another sweep writes while this one publishes.
		y.memory.mu.Lock()
		y.memory.version["111122223333/eu-west-1"]++
		y.memory.mu.Unlock()
		return y.pub.publish(ctx, f, key)
	}
	if _, err := y.s.Run(context.Background(), "s1", bump); !errors.Is(err, memory.ErrConflict) {
		t.Fatalf("error %v, want a conflict", err)
	}

	// Without a table every sweep publishes every exposure.
	z := newFixture(issueGroups())
	z.s.Memory = nil
	for _, id := range []string{"s1", "s2"} {
		if got := z.sweep(t, id); len(got) != 5 {
			t.Fatalf("%s without memory: %q", id, got)
		}
	}
}

// TestSweepTargets: every target is swept, Concurrency at a time; a
// failing one is reported by account and Region without stopping the
// others.
func TestSweepTargets(t *testing.T) {
	accounts := []string{"111122223333", "444455556666", "777788889999"}
	regions := []string{"eu-west-1", "us-east-1"}
	targets := Targets(accounts, regions, func(a string) string {
		if a == "111122223333" {
			return ""
		}
		return "arn:aws:iam::" + a + ":role/sgwatch-sweep"
	})
	if len(targets) != 6 || targets[0].Role != "" || targets[5].Role != "arn:aws:iam::777788889999:role/sgwatch-sweep" {
		t.Fatalf("targets %+v", targets)
	}
	if again := Targets(append(accounts, accounts[0]), regions, func(string) string { return "" }); len(again) != 6 {
		t.Errorf("a repeated account is swept twice: %d targets", len(again))
	}
	// Each listing takes time on a synctest bubble's fake clock, so that
	// the targets overlap as they would against AWS, without a real wait.
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		running, most := 0, 0
		pub := &published{}
		s := &Sweeper{
			Targets: targets,
			Memory:  newFakeMemory(),
			Lister: func(_ context.Context, t Target) (Lister, error) {
				mu.Lock()
				running++
				most = max(most, running)
				mu.Unlock()
				<-time.After(20 * time.Millisecond)
				mu.Lock()
				running--
				mu.Unlock()
				if t.Account == "444455556666" && t.Region == "us-east-1" {
					return nil, errors.New("AccessDenied: not authorized to perform sts:AssumeRole")
				}
				return &fakeLister{groups: issueGroups()[:1]}, nil
			},
		}
		stats, err := s.Run(context.Background(), "s1", pub.publish)
		if err == nil || !strings.Contains(err.Error(), "sweep of 444455556666/us-east-1: AccessDenied") || strings.Contains(err.Error(), "eu-west-1") {
			t.Fatalf("error %v", err)
		}
		if got := pub.take(); len(got) != 5 {
			t.Errorf("%d exposures published, want one per good target (5)", len(got))
		}
		for i, st := range stats {
			if st.Target != targets[i] || (st.Err != nil) != (i == 3) {
				t.Errorf("stats %d: %+v", i, st)
			}
		}
		if most != Concurrency {
			t.Errorf("%d targets at once, want %d", most, Concurrency)
		}
	})
}

// TestSweepCreator: the creator is taken from the CloudTrail record that
// created the rule; a failed or fruitless lookup is a note, and at most
// MaxLookups new exposures of a target are looked up per sweep.
func TestSweepCreator(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("..", "events", "authorize-ingress-world-ssh.json"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.ReadFile(filepath.Join("..", "events", "create-security-group.json"))
	if err != nil {
		t.Fatal(err)
	}
	group := Group{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718"},
		Rules: []detect.Rule{listed("sgr-0c0ffee0c0ffee001", "tcp", 22, 22, "0.0.0.0/0")}}

	x := newFixture([]Group{group})
	x.lister.events = [][]byte{other, []byte("{not json"), sample}
	x.sweep(t, "s1")
	x.s.Memory = nil
	x.now = x.now.Add(time.Hour)
	if _, err := x.s.Run(context.Background(), "s2", x.pub.publish); err != nil {
		t.Fatal(err)
	}
	f := x.pub.got[0]
	if f.Actor.UserName == "" && f.Actor.ARN != "arn:aws:sts::111122223333:assumed-role/Admin/ops-admin" {
		t.Errorf("creator not found: %+v, notes %q", f.Actor, f.Notes)
	}
	if f.Sweep.Created == nil || f.Sweep.Created.EventName != "AuthorizeSecurityGroupIngress" {
		t.Errorf("created %+v", f.Sweep.Created)
	}

	for name, c := range map[string]struct {
		events [][]byte
		err    error
		note   string
	}{
		"not found": {[][]byte{other}, nil, "none of the last 1 CloudTrail events of sg-0a1b2c3d4e5f60718"},
		"failed":    {nil, errors.New("LookupEvents: AccessDenied"), "could not be looked up in CloudTrail: LookupEvents: AccessDenied"},
	} {
		y := newFixture([]Group{group})
		y.lister.events, y.lister.evErr = c.events, c.err
		y.sweep(t, "s1")
		y.s.Memory = nil
		y.now = y.now.Add(time.Hour)
		if _, err := y.s.Run(context.Background(), "s2", y.pub.publish); err != nil {
			t.Fatal(err)
		}
		if f := y.pub.got[0]; f.Actor.ARN != "" || !strings.Contains(strings.Join(f.Notes, "\n"), c.note) {
			t.Errorf("%s: actor %+v, notes %q", name, f.Actor, f.Notes)
		}
	}

	var many []detect.Rule
	for i := range MaxLookups + 3 {
		many = append(many, listed(fmt.Sprintf("sgr-%017x", i+1), "tcp", int32(1000+i), int32(1000+i), "0.0.0.0/0"))
	}
	z := newFixture([]Group{{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718"}, Rules: many}})
	z.lister.events = [][]byte{other}
	z.sweep(t, "s1")
	if z.lister.lookups != MaxLookups {
		t.Errorf("%d lookups, want %d", z.lister.lookups, MaxLookups)
	}
}

// TestMemoryBound: at most MaxRemembered exposures are remembered; the
// rest are published again at every sweep.
func TestMemoryBound(t *testing.T) {
	m := map[string]entry{}
	for i := range MaxRemembered + 10 {
		m[fmt.Sprintf("sgr-%017x#0", i)] = entry{Group: "sg-0", Severity: detect.Critical}
	}
	data, err := encode(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decode(data)
	if err != nil || len(back) != MaxRemembered {
		t.Fatalf("%d remembered (%v), want %d", len(back), err, MaxRemembered)
	}
	if len(data) > 350_000 {
		t.Errorf("memory of %d exposures is %d bytes, too close to DynamoDB's 400 KB item limit", MaxRemembered, len(data))
	}
}

// TestBudget: each target gets a share of the time left, by rounds of
// Concurrency targets, and at least minBudget; without a deadline, none.
func TestBudget(t *testing.T) {
	base, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	for _, c := range []struct {
		pending int
		want    time.Duration
	}{{1, 120 * time.Second}, {4, 120 * time.Second}, {5, 60 * time.Second}, {12, 40 * time.Second}, {400, minBudget}} {
		ctx, cancel := budget(base, c.pending)
		dl, ok := ctx.Deadline()
		cancel()
		if got := time.Until(dl); !ok || got > c.want || got < c.want-time.Second {
			t.Errorf("%d pending: %v left, want %v", c.pending, got, c.want)
		}
	}
	ctx, cancel2 := budget(context.Background(), 8)
	defer cancel2()
	if _, ok := ctx.Deadline(); ok {
		t.Error("a deadline without one to share")
	}
}

// TestSweepHeldLookups: new exposures are looked up first, then held-back
// ones whose creator was not found, the longest untried first, so they
// cannot take every lookup at every sweep: a high exposure the root user
// created is found within two sweeps and published, though MIN_SEVERITY
// holds other high ones back (a change by the root user is never held).
func TestSweepHeldLookups(t *testing.T) {
	var rules []detect.Rule
	for i := range MaxLookups + 2 {
		rules = append(rules, listed(fmt.Sprintf("sgr-%017x", i+1), "tcp", int32(8000+i), int32(8000+i), "0.0.0.0/0"))
	}
	last := rules[len(rules)-1]
	x := newFixture([]Group{{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718"}, Rules: rules}})
	x.lister.events = [][]byte{record(t, last.RuleID, *last.FromPort, "0.0.0.0/0", true)}
	x.pub.allow = func(f detect.Finding) bool { return f.Severity == detect.Critical || f.Actor.IsRoot() }
	if got := x.sweep(t, "s1"); len(got) != 0 || x.lister.lookups != MaxLookups {
		t.Fatalf("first sweep: published %q after %d lookups", got, x.lister.lookups)
	}
	want := []string{"exposure high sg-0a1b2c3d4e5f60718 " + last.RuleID}
	if got := x.sweep(t, "s2"); !slices.Equal(got, want) || x.lister.lookups != 2*MaxLookups {
		t.Fatalf("second sweep: published %q after %d lookups, want %q after %d", got, x.lister.lookups, want, 2*MaxLookups)
	}
	// The held ones whose creator is not found are looked up again, at
	// most MaxLookups a sweep; the published one is not.
	if got := x.sweep(t, "s3"); len(got) != 0 || x.lister.lookups != 3*MaxLookups {
		t.Fatalf("third sweep: published %q, %d lookups", got, x.lister.lookups)
	}
}

// TestSweepCreatorContent: an event that set the rule to something else
// is not its creator; the note says so.
func TestSweepCreatorContent(t *testing.T) {
	group := Group{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718"},
		Rules: []detect.Rule{listed("sgr-0c0ffee0c0ffee001", "tcp", 22, 22, "0.0.0.0/0")}}
	x := newFixture([]Group{group})
	x.lister.events = [][]byte{record(t, "sgr-0c0ffee0c0ffee001", 2222, "0.0.0.0/0", false)}
	x.s.Memory = nil
	x.now = x.now.Add(time.Hour)
	if _, err := x.s.Run(context.Background(), "s1", x.pub.publish); err != nil {
		t.Fatal(err)
	}
	f := x.pub.got[0]
	if f.Actor.ARN != "" || !strings.Contains(strings.Join(f.Notes, "\n"), "made it allow something else") {
		t.Errorf("actor %+v, notes %q", f.Actor, f.Notes)
	}
}

// TestSweepHistory: a creator LookupEvents does not find is looked for in
// the history, with one query a target for all of its groups, the records
// read newest first; what came of it is a note; a history that fails makes
// a note, never a quieter finding; a creator LookupEvents finds is not
// looked for again.
func TestSweepHistory(t *testing.T) {
	ssh := listed("sgr-0c0ffee0c0ffee001", "tcp", 22, 22, "0.0.0.0/0")
	rdp := listed("sgr-0c0ffee0c0ffee002", "tcp", 3389, 3389, "0.0.0.0/0")
	groups := func() []Group {
		return []Group{{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718"}, Rules: []detect.Rule{ssh}},
			{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60719"}, Rules: []detect.Rule{rdp}}}
	}
	older := record(t, ssh.RuleID, 22, "0.0.0.0/0", true) // the root user created it
	changed := record(t, ssh.RuleID, 2222, "0.0.0.0/0", false)
	for _, c := range []struct {
		name     string
		events   [][]byte // LookupEvents' answer
		history  [][]byte // oldest first
		err      error
		queries  int
		root     bool // the SSH exposure names the root user as creator
		sshNote  string
		allNotes string // a note every exposure has
	}{
		{name: "found in the history", history: [][]byte{older}, queries: 1, root: true,
			sshNote: "found in the history table (AuthorizeSecurityGroupIngress at ", allNotes: "table"},
		{name: "only a change to something else", history: [][]byte{changed}, queries: 1,
			sshNote: "the last event in the history table that set it (AuthorizeSecurityGroupIngress at ", allNotes: "table"},
		{name: "the newest record that set it as it is wins", history: [][]byte{changed, older}, queries: 1, root: true, sshNote: "found in the history table", allNotes: "table"},
		{name: "not there either", history: [][]byte{}, queries: 1, sshNote: "not in the history table either: none of its 0 records", allNotes: "not in the history table either"},
		{name: "the history fails", err: errors.New("query q-1 FAILED: TABLE_NOT_FOUND"), queries: 1,
			sshNote: "could not be looked up in the history table: query q-1 FAILED: TABLE_NOT_FOUND", allNotes: "could not be looked up in the history table"},
		{name: "LookupEvents found both", events: [][]byte{older, record(t, rdp.RuleID, 3389, "0.0.0.0/0", false)}, queries: 0, root: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := newFixture(groups())
			x.lister.events = c.events
			var asked [][]string
			x.s.History = func(_ context.Context, tg Target, groups []string) ([][]byte, error) {
				if tg != x.s.Targets[0] {
					t.Errorf("history asked for %v", tg)
				}
				asked = append(asked, groups)
				return c.history, c.err
			}
			x.s.Memory = nil
			if _, err := x.s.Run(context.Background(), "s1", x.pub.publish); err != nil {
				t.Fatal(err)
			}
			if len(asked) != c.queries || c.queries == 1 && !slices.Equal(asked[0], []string{"sg-0a1b2c3d4e5f60718", "sg-0a1b2c3d4e5f60719"}) {
				t.Errorf("history asked %v, want %d queries for both groups", asked, c.queries)
			}
			if len(x.pub.got) != 2 {
				t.Fatalf("published %d, want both exposures", len(x.pub.got))
			}
			for _, f := range x.pub.got {
				notes := strings.Join(f.Notes, "\n")
				if !strings.Contains(notes, c.allNotes) {
					t.Errorf("%s: notes %q lack %q", f.Rules[0].RuleID, notes, c.allNotes)
				}
				if f.Rules[0].RuleID != ssh.RuleID {
					continue
				}
				if f.Actor.IsRoot() != c.root || !strings.Contains(notes, c.sshNote) {
					t.Errorf("SSH exposure: root creator %v (want %v), notes %q lack %q", f.Actor.IsRoot(), c.root, notes, c.sshNote)
				}
				if c.err != nil && f.Severity != detect.Critical {
					t.Errorf("with the history failing, severity %s", f.Severity)
				}
			}
		})
	}
}

// TestSweepHistoryBounds: the history has at most half of what is left of
// a target's time, and is not asked with less than minHistory (a note says
// so, and the exposure is published); an exposure held back is asked about
// once, when it is new, not again at every sweep; a creator the history
// finds replaces LookupEvents' note.
func TestSweepHistoryBounds(t *testing.T) {
	ssh := listed("sgr-0c0ffee0c0ffee001", "tcp", 22, 22, "0.0.0.0/0")
	groups := []Group{{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718"}, Rules: []detect.Rule{ssh}}}
	run := func(x *fixture, timeout time.Duration, id string) {
		t.Helper()
		x.now = x.now.Add(time.Hour)
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if _, err := x.s.Run(ctx, id, x.pub.publish); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		timeout time.Duration
		asked   bool
	}{{15 * time.Second, false}, {time.Minute, true}, {time.Hour, true}} {
		x := newFixture(slices.Clone(groups))
		x.lister.events = [][]byte{} // LookupEvents knows nothing
		asked := false
		x.s.History = func(ctx context.Context, _ Target, _ []string) ([][]byte, error) {
			asked = true
			if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > c.timeout/2 || time.Until(dl) > HistoryTimeout {
				t.Errorf("%v: the history may take until %v", c.timeout, dl)
			}
			return [][]byte{record(t, ssh.RuleID, 22, "0.0.0.0/0", true)}, nil
		}
		run(x, c.timeout, "s1")
		if asked != c.asked || len(x.pub.got) != 1 {
			t.Fatalf("%v: asked %v, %d published", c.timeout, asked, len(x.pub.got))
		}
		notes := strings.Join(x.pub.got[0].Notes, "\n")
		if !c.asked && !strings.Contains(notes, "not looked up in the history table: too little of this sweep's time was left") ||
			c.asked && (!strings.Contains(notes, "found in the history table") || strings.Contains(notes, "is not known")) {
			t.Errorf("%v: notes %q", c.timeout, notes)
		}
	}

	// Held back: asked when new, then looked up in LookupEvents alone.
	x := newFixture(slices.Clone(groups))
	x.lister.events = [][]byte{}
	queries := 0
	x.s.History = func(context.Context, Target, []string) ([][]byte, error) { queries++; return nil, nil }
	x.pub.allow = func(detect.Finding) bool { return false }
	for _, id := range []string{"s1", "s2", "s3"} {
		run(x, time.Hour, id)
	}
	if queries != 1 || x.lister.lookups != 3 {
		t.Errorf("a held exposure: %d history queries and %d LookupEvents in 3 sweeps, want 1 and 3", queries, x.lister.lookups)
	}
}

// TestSweepImport: the sink gets each published exposure and resolution
// after the notifications; one that fails is imported again at the next
// sweep without being published again; a resolution waiting for its
// import is dropped, not imported, once the sink is turned off.
func TestSweepImport(t *testing.T) {
	x := newFixture(issueGroups()[:2])
	var imported []string
	fail := true
	x.s.Import = func(_ context.Context, f detect.Finding) error {
		if fail && f.Action == detect.Resolved {
			return errors.New("securityhub: HTTP 503")
		}
		imported = append(imported, string(f.Action)+" "+f.Rules[0].RuleID)
		return nil
	}
	if got := x.sweep(t, "s1"); len(got) != 2 || len(imported) != 2 {
		t.Fatalf("published %q, imported %q", got, imported)
	}
	x.set("sg-00000000000000001")
	x.now = x.now.Add(time.Hour)
	if _, err := x.s.Run(context.Background(), "s2", x.pub.publish); err == nil || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("error %v", err)
	}
	if got := x.pub.take(); len(got) != 1 {
		t.Fatalf("published %q, want the resolution", got)
	}
	fail = false
	if got := x.sweep(t, "s3"); len(got) != 0 || imported[len(imported)-1] != "resolved sgr-00000000000000011" {
		t.Fatalf("next sweep: published %q, imported %q", got, imported)
	}
	if got := x.sweep(t, "s4"); len(got) != 0 || len(imported) != 3 {
		t.Fatalf("the sweep after: published %q, imported %q", got, imported)
	}

	// A resolution waiting for its import when the sink is turned off.
	y := newFixture(issueGroups()[:1])
	y.s.Import = func(_ context.Context, f detect.Finding) error {
		if f.Action == detect.Resolved {
			return errors.New("securityhub: HTTP 503")
		}
		return nil
	}
	y.sweep(t, "s1")
	y.set("sg-00000000000000001")
	y.now = y.now.Add(time.Hour)
	y.s.Run(context.Background(), "s2", y.pub.publish)
	y.pub.take()
	y.s.Import = nil
	if got := y.sweep(t, "s3"); len(got) != 0 {
		t.Fatalf("with the sink off: published %q", got)
	}
}

// Regressions in the exposure sweep: each reproduces a problem a
// red-team review of issue 12 found (now fixed), and fails if it returns.

// regressKeyed publishes through p, once per idempotency key (the claims of
// package once), and can fail the publish of chosen rule ids.
type regressKeyed struct {
	p      *published
	done   map[string]bool
	failOn map[string]bool // rule ids whose exposure publish fails
}

func (k *regressKeyed) publish(ctx context.Context, f detect.Finding, key string) (bool, error) {
	if k.failOn[f.Rules[0].RuleID] && f.Action == detect.Exposure {
		return false, errors.New("SNS: throttled")
	}
	if k.done[key] {
		return true, nil // already published under this key
	}
	ok, err := k.p.publish(ctx, f, key)
	if ok && err == nil {
		k.done[key] = true
	}
	return ok, err
}

// flakyMemory fails its next Remember(s), once when() says so (nil: at
// once).
type flakyMemory struct {
	*fakeMemory
	failRemember int
	when         func() bool
}

func (m *flakyMemory) Remember(ctx context.Context, scope string, data []byte, version int64, now time.Time) error {
	if m.failRemember > 0 && (m.when == nil || m.when()) {
		m.failRemember--
		return errors.New("DynamoDB: ProvisionedThroughputExceededException")
	}
	return m.fakeMemory.Remember(ctx, scope, data, version, now)
}

// TestResolvedThenReopened: a sweep publishes "resolved" for an
// exposure but cannot record it (another publish fails, or the memory
// write fails). The rule is then opened again, exactly as before. The
// memory still says "open and notified", so the re-opened rule is never
// published again: the last word the responders got is "resolved".
func TestResolvedThenReopened(t *testing.T) {
	for _, how := range []string{"another publish fails", "the memory write fails"} {
		t.Run(how, func(t *testing.T) {
			x := newFixture(issueGroups()[:2]) // sg-1 world ssh, sg-2 world 443
			mem := &flakyMemory{fakeMemory: x.memory}
			x.s.Memory = mem
			k := &regressKeyed{p: x.pub, done: map[string]bool{}, failOn: map[string]bool{}}
			run := func(id string) error {
				x.now = x.now.Add(time.Hour)
				_, err := x.s.Run(context.Background(), id, k.publish)
				return err
			}
			if err := run("s1"); err != nil {
				t.Fatal(err)
			}
			x.pub.take()

			x.set("sg-00000000000000001") // revoked
			if how == "another publish fails" {
				x.set("sg-00000000000000002", listed("sgr-00000000000000021", "tcp", 443, 443, "0.0.0.0/0"),
					listed("sgr-00000000000000022", "tcp", 8080, 8080, "0.0.0.0/0"))
				k.failOn["sgr-00000000000000022"] = true
			} else {
				// The write that follows the resolution's publish fails.
				mem.failRemember = 1
				mem.when = func() bool {
					x.pub.mu.Lock()
					defer x.pub.mu.Unlock()
					return slices.ContainsFunc(x.pub.got, func(f detect.Finding) bool { return f.Action == detect.Resolved })
				}
			}
			if err := run("s2"); err == nil {
				t.Fatal("s2 should fail")
			}
			if got := x.pub.take(); !slices.Contains(got, "resolved info sg-00000000000000001 sgr-00000000000000011") {
				t.Fatalf("s2 did not publish the resolution: %q", got)
			}

			// Opened again, the same rule (same id, same content).
			x.set("sg-00000000000000001", listed("sgr-00000000000000011", "tcp", 22, 22, "0.0.0.0/0"))
			clear(k.failOn)
			var after []string
			for _, id := range []string{"s2", "s3", "s4"} { // Lambda's retry, then the next sweeps
				_ = run(id)
				after = append(after, x.pub.take()...)
			}
			if !slices.Contains(after, "exposure critical sg-00000000000000001 sgr-00000000000000011") {
				t.Errorf("the re-opened world SSH rule was never published after its resolution (published since: %q)", after)
			}
		})
	}
}

// TestPanicNamesTarget: a target whose sweep panics must be
// reported by account and Region, like any other failing target.
func TestPanicNamesTarget(t *testing.T) {
	targets := []Target{{Account: "111122223333", Region: "eu-west-1"}, {Account: "444455556666", Region: "eu-west-1"}}
	s := &Sweeper{Targets: targets, Lister: func(_ context.Context, tg Target) (Lister, error) {
		if tg.Account == "444455556666" {
			var m map[string]int
			m["boom"]++ // a bug in a lister
		}
		return &fakeLister{}, nil
	}}
	stats, err := s.Run(context.Background(), "s1", (&published{}).publish)
	if err == nil || !strings.Contains(err.Error(), "444455556666/eu-west-1") {
		t.Errorf("the panicking target is not named: %v", err)
	}
	if stats[1].Target != targets[1] {
		t.Errorf("stats of the panicking target lost its target: %+v (the handler logs account %q region %q)", stats[1], stats[1].Account, stats[1].Region)
	}
}

// record is a bare CloudTrail record (what LookupEvents returns) of an
// AuthorizeSecurityGroupIngress that created rule id on tcp/port from
// cidr, made by the root user when root is true.
func record(t *testing.T, id string, port int, cidr string, root bool) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "events", "authorize-ingress-world-ssh.json"))
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Detail map[string]any }
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	d := env.Detail
	perm := d["requestParameters"].(map[string]any)["ipPermissions"].(map[string]any)["items"].([]any)[0].(map[string]any)
	perm["fromPort"], perm["toPort"] = port, port
	perm["ipRanges"].(map[string]any)["items"].([]any)[0].(map[string]any)["cidrIp"] = cidr
	set := d["responseElements"].(map[string]any)["securityGroupRuleSet"].(map[string]any)["items"].([]any)[0].(map[string]any)
	set["securityGroupRuleId"], set["fromPort"], set["toPort"], set["cidrIpv4"] = id, port, port, cidr
	d["eventID"] = "event-" + id
	if root {
		d["userIdentity"] = map[string]any{"type": "Root", "principalId": "111122223333", "arn": "arn:aws:iam::111122223333:root",
			"accountId": "111122223333", "accessKeyId": "ASIAQXAMPLE7ROOTSES"}
	}
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLookupStarvedByHeld: with MIN_SEVERITY=critical (the README's
// advice for world 443), every high exposure is held back, never
// remembered, and looked up again at every sweep, ahead of the others by
// key. They use up the MaxLookups lookups every hour, so an exposure the
// root user created is never looked up, stays "high, creator unknown" and
// is held back too, although a change by the root user is never suppressed.
func TestLookupStarvedByHeld(t *testing.T) {
	var rules []detect.Rule
	var events [][]byte
	for i := range MaxLookups + 1 {
		id := fmt.Sprintf("sgr-%017x", i+1)
		rules = append(rules, listed(id, "tcp", int32(8000+i), int32(8000+i), "0.0.0.0/0"))
		events = append(events, record(t, id, 8000+i, "0.0.0.0/0", false))
	}
	rootRule := "sgr-f0000000000000000"
	rules = append(rules, listed(rootRule, "tcp", 443, 443, "0.0.0.0/0"))
	events = append(events, record(t, rootRule, 443, "0.0.0.0/0", true))

	x := newFixture([]Group{{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718"}, Rules: rules}})
	x.lister.events = events
	// The policy: MIN_SEVERITY=critical, but the root user is never suppressed.
	x.pub.allow = func(f detect.Finding) bool { return f.Severity == detect.Critical || f.Actor.IsRoot() }
	var got []string
	for _, id := range []string{"s1", "s2", "s3"} {
		got = append(got, x.sweep(t, id)...)
	}
	if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, rootRule) }) {
		t.Errorf("the root user's world 443 rule was held back at every sweep: its creator was never looked up (%d lookups a sweep went to held exposures)", MaxLookups)
	}
}

// TestMemoryBytes: MaxRemembered bounds the count, not the size.
// Group names and rule descriptions are up to 255 characters each and
// chosen by whoever creates the groups; 2,000 remembered exposures with
// them do not fit a 400 KB DynamoDB item, so Remember fails at every
// sweep: the memory is never written again (every new exposure and every
// resolution re-published every hour, every sweep an error).
func TestMemoryBytes(t *testing.T) {
	const charset = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:/()#,@[]+=&;{}!$*"
	state := uint64(88172645463325252)
	rnd := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			state ^= state << 13
			state ^= state >> 7
			state ^= state << 17
			b[i] = charset[state%uint64(len(charset))]
		}
		return string(b)
	}
	m := map[string]entry{}
	for i := range MaxRemembered {
		r := listed(fmt.Sprintf("sgr-%017x", i), "tcp", 8080, 8080, "0.0.0.0/0")
		r.Description = rnd(255)
		m[detect.RuleKey("sg-0123456789abcdef0", r)] = entry{Group: "sg-0123456789abcdef0", Name: rnd(255), VPC: "vpc-0123456789abcdef0",
			Rule: r, Severity: detect.High, FirstSeen: "2026-11-27T06:00:00Z"}
	}
	data, err := encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 400_000 {
		t.Errorf("the memory of %d exposures is %d bytes: more than DynamoDB's 400 KB item, so Remember always fails", MaxRemembered, len(data))
	}
}

// TestSameRuleIDTwoGroups: the "changed in place" test keys on the
// rule id alone, not the group: an exposure that is gone is not resolved
// while another group has an open exposure with the same rule id. Here both
// rules have no id (they share ""), the simplest way to get there.
func TestSameRuleIDTwoGroups(t *testing.T) {
	r := func(cidr string) detect.Rule {
		return detect.Listed{Protocol: "tcp", FromPort: n32(22), ToPort: n32(22), CIDRIPv4: cidr}.Rule()
	}
	a := Group{SecurityGroup: detect.SecurityGroup{ID: "sg-0000000000000000a"}, Rules: []detect.Rule{r("0.0.0.0/0")}}
	b := Group{SecurityGroup: detect.SecurityGroup{ID: "sg-0000000000000000b"}, Rules: []detect.Rule{r("0.0.0.0/0")}}
	x := newFixture([]Group{a, b})
	if got := x.sweep(t, "s1"); len(got) != 2 {
		t.Fatalf("first sweep: %q", got)
	}
	x.set("sg-0000000000000000a") // revoked
	if got := x.sweep(t, "s2"); !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "resolved info sg-0000000000000000a") }) {
		t.Errorf("the exposure of sg-...a is gone but was not resolved (published %q)", got)
	}
}

// TestChangedToHeld: a published world tcp/22 exposure changed in
// place to world tcp/8081, which MIN_SEVERITY=critical holds back, is not
// resolved (the rule is still open to the whole internet) and is kept; once
// the rule is private, the resolution is published.
func TestChangedToHeld(t *testing.T) {
	x := newFixture(issueGroups()[:1])
	x.pub.allow = func(f detect.Finding) bool { return f.Severity == detect.Critical || f.Action == detect.Resolved }
	if got := x.sweep(t, "s1"); len(got) != 1 {
		t.Fatalf("first sweep: %q", got)
	}
	x.set("sg-00000000000000001", listed("sgr-00000000000000011", "tcp", 8081, 8081, "0.0.0.0/0"))
	if got := x.sweep(t, "s2"); len(got) != 0 {
		t.Fatalf("changed to a held-back port: published %q", got)
	}
	x.set("sg-00000000000000001", listed("sgr-00000000000000011", "tcp", 8081, 8081, "10.0.0.0/8"))
	if got := x.sweep(t, "s3"); !slices.Equal(got, []string{"resolved info sg-00000000000000001 sgr-00000000000000011"}) {
		t.Fatalf("made private: published %q", got)
	}
}

// DescribeNetworkInterfaces.
type rtNoENI struct{ *fakeEC2 }

func (rtNoENI) DescribeNetworkInterfaces(context.Context, *ec2.DescribeNetworkInterfacesInput, ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	return nil, errors.New("UnauthorizedOperation: ec2:DescribeNetworkInterfaces")
}

// TestInterfacesOnlyCosmetic: every group and rule was listed, but
// the count of network interfaces (context only) could not be: the whole
// target fails and no exposure is published until the permission is back.
// What the sweep cannot read should make a finding louder (the count
// unknown), not stop it.
func TestInterfacesOnlyCosmetic(t *testing.T) {
	api := &fakeEC2{
		groups: []types.SecurityGroup{{GroupId: aws.String("sg-1"), GroupName: aws.String("web")}},
		rules: []types.SecurityGroupRule{{SecurityGroupRuleId: aws.String("sgr-1"), GroupId: aws.String("sg-1"), IsEgress: aws.Bool(false),
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), CidrIpv4: aws.String("0.0.0.0/0")}},
		calls: map[string]int{},
	}
	groups, err := AWS{EC2: rtNoENI{api}}.Groups(context.Background())
	if err != nil || len(groups) != 1 || len(groups[0].Rules) != 1 {
		t.Errorf("all rules listed, only the interface count failed: %d groups, error %v", len(groups), err)
	}
}

// rtLagLister answers LookupEvents with an error, or with nothing, at the
// first sweeps (throttled; or CloudTrail's event history has not caught up
// with a change made minutes before the sweep), then with the records.
type rtLagLister struct {
	fakeLister
	bad   int // sweeps left whose lookups fail
	empty bool
}

func (l *rtLagLister) Events(ctx context.Context, resource string, pages int) ([][]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bad > 0 {
		if l.empty {
			return [][]byte{}, nil
		}
		return nil, errors.New("LookupEvents: ThrottlingException: Rate exceeded")
	}
	return l.events, nil
}

// TestHeldLookupOnce: a held-back exposure is looked up once and
// marked LookedUp whatever the lookup gave: a throttled LookupEvents, or
// an event history that lags the change by a few minutes, makes "creator
// unknown" final. The root user's world 443 rule then stays held back at
// every sweep (MIN_SEVERITY=critical), although the root user is never
// suppressed and the next lookup would say it was root.
func TestHeldLookupOnce(t *testing.T) {
	rootRule := "sgr-f0000000000000000"
	for name, empty := range map[string]bool{"throttled": false, "not in the history yet": true} {
		t.Run(name, func(t *testing.T) {
			x := newFixture(nil)
			l := &rtLagLister{fakeLister: fakeLister{groups: []Group{{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718"},
				Rules: []detect.Rule{listed(rootRule, "tcp", 443, 443, "0.0.0.0/0")}}},
				events: [][]byte{record(t, rootRule, 443, "0.0.0.0/0", true)}}, bad: 1, empty: empty}
			x.s.Lister = func(context.Context, Target) (Lister, error) { return l, nil }
			x.pub.allow = func(f detect.Finding) bool { return f.Severity == detect.Critical || f.Actor.IsRoot() }
			var got []string
			for _, id := range []string{"s1", "s2", "s3"} {
				got = append(got, x.sweep(t, id)...)
				l.mu.Lock()
				l.bad--
				l.mu.Unlock()
			}
			if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, rootRule) }) {
				t.Errorf("the root user's world 443 rule is held back for good after one %s lookup", name)
			}
		})
	}
}

// TestWriteFailureBlocksNewExposures: the memory is now written
// before any resolution is published; when that write fails (throttled,
// a conflict with a concurrent sweep, a denied PutItem) the target returns
// at once, so a new world SSH rule found in the same sweep is not published
// either. What the sweep cannot write should delay the resolution, not
// the exposure.
func TestWriteFailureBlocksNewExposures(t *testing.T) {
	x := newFixture(issueGroups()[:2])
	mem := &flakyMemory{fakeMemory: x.memory}
	x.s.Memory = mem
	x.sweep(t, "s1")
	x.set("sg-00000000000000002")                                                                  // world 443 revoked: a resolution to flag
	x.set("sg-00000000000000001", listed("sgr-00000000000000012", "tcp", 3389, 3389, "0.0.0.0/0")) // and a new world RDP rule
	mem.failRemember = 100
	x.now = x.now.Add(time.Hour)
	_, err := x.s.Run(context.Background(), "s2", x.pub.publish)
	got := x.pub.take()
	if err == nil {
		t.Error("a failed memory write is no error")
	}
	if !slices.Contains(got, "exposure critical sg-00000000000000001 sgr-00000000000000012") {
		t.Errorf("the memory cannot be written, and the new world RDP rule was not published (published %q)", got)
	}
}

// TestFalseResolution: a published world tcp/443 exposure whose rule
// is changed in place to one that still opens tcp/443 to the whole
// internet (0.0.0.0/0 → 0.0.0.0/1), after MIN_SEVERITY was raised to
// critical: the new exposure is held back, and the old one is published as
// "resolved" ("no longer exposes tcp/443 to the internet"), which is false.
func TestFalseResolution(t *testing.T) {
	x := newFixture(issueGroups()[1:2]) // sg-2: world tcp/443 (high)
	if got := x.sweep(t, "s1"); len(got) != 1 {
		t.Fatalf("first sweep: %q", got)
	}
	x.pub.allow = func(f detect.Finding) bool { return f.Severity == detect.Critical || f.Action == detect.Resolved }
	x.set("sg-00000000000000002", listed("sgr-00000000000000021", "tcp", 443, 443, "0.0.0.0/1"))
	for _, s := range x.sweep(t, "s2") {
		if strings.HasPrefix(s, "resolved") {
			t.Errorf("published %q although tcp/443 is still open to the whole internet", s)
		}
	}
}

// TestLookupStarvedByUnfindable: TestRegressLookupStarvedByHeld
// with the common case: the held-back world 443 rules are old, so their
// creating events are past CloudTrail's 90 days and never found. Each is
// looked up again at every sweep, in key order, ahead of a newer root-made
// rule with a larger key, which is never looked up: held back for good,
// although the root user is never suppressed.
func TestLookupStarvedByUnfindable(t *testing.T) {
	var rules []detect.Rule
	for i := range MaxLookups + 1 {
		rules = append(rules, listed(fmt.Sprintf("sgr-%017x", i+1), "tcp", int32(8000+i), int32(8000+i), "0.0.0.0/0"))
	}
	rootRule := "sgr-f0000000000000000"
	rules = append(rules, listed(rootRule, "tcp", 443, 443, "0.0.0.0/0"))
	x := newFixture([]Group{{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718"}, Rules: rules}})
	x.lister.events = [][]byte{record(t, rootRule, 443, "0.0.0.0/0", true)} // only the root rule's event is in the history
	x.pub.allow = func(f detect.Finding) bool { return f.Severity == detect.Critical || f.Actor.IsRoot() }
	var got []string
	for _, id := range []string{"s1", "s2", "s3", "s4"} {
		got = append(got, x.sweep(t, id)...)
	}
	if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, rootRule) }) {
		t.Errorf("the root user's world 443 rule was never looked up: %d older held rules whose creators CloudTrail no longer has took every lookup of every sweep", MaxLookups+1)
	}
}
