package sweep

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/once"
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
		return once.ErrConflict
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
	l := Listed{ID: id, Protocol: proto, FromPort: n32(from), ToPort: n32(to), CIDRIPv4: cidr}
	if strings.Contains(cidr, ":") {
		l.CIDRIPv4, l.CIDRIPv6 = "", cidr
	}
	return l.Rule()
}

// issueGroups are the groups of issue 12's test: world SSH, world 443,
// IPv6 RDP, a split 0.0.0.0/1 + 128.0.0.0/1, and private-only rules (with
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
		g("sg-00000000000000004", listed("sgr-00000000000000041", "tcp", 22, 22, "0.0.0.0/1"), listed("sgr-00000000000000042", "tcp", 22, 22, "128.0.0.0/1")),
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
	if _, err := y.s.Run(context.Background(), "s1", bump); !errors.Is(err, once.ErrConflict) {
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
			time.Sleep(20 * time.Millisecond)
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
	if most > Concurrency || most < 2 {
		t.Errorf("%d targets at once, want 2 to %d", most, Concurrency)
	}
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
	m := map[string]remembered{}
	for i := range MaxRemembered + 10 {
		m[fmt.Sprintf("sgr-%017x#0", i)] = remembered{Group: "sg-0", Severity: detect.Critical}
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
