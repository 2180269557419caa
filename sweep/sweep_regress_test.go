package sweep

// Regression tests of the exposure sweep: each reproduces a problem a
// red-team review of issue 12 found (now fixed), and fails if it returns.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sgwatch/sgwatch/detect"
)

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

// TestRegressResolvedThenReopened: a sweep publishes "resolved" for an
// exposure but cannot record it (another publish fails, or the memory
// write fails). The rule is then opened again, exactly as before. The
// memory still says "open and notified", so the re-opened rule is never
// published again: the last word the responders got is "resolved".
func TestRegressResolvedThenReopened(t *testing.T) {
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

// TestRegressPanicNamesTarget: a target whose sweep panics must be
// reported by account and Region, like any other failing target.
func TestRegressPanicNamesTarget(t *testing.T) {
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

// TestRegressLookupStarvedByHeld: with MIN_SEVERITY=critical (the README's
// advice for world 443), every high exposure is held back, never
// remembered, and looked up again at every sweep, ahead of the others by
// key. They use up the MaxLookups lookups every hour, so an exposure the
// root user created is never looked up, stays "high, creator unknown" and
// is held back too, although a change by the root user is never suppressed.
func TestRegressLookupStarvedByHeld(t *testing.T) {
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

// TestRegressMemoryBytes: MaxRemembered bounds the count, not the size.
// Group names and rule descriptions are up to 255 characters each and
// chosen by whoever creates the groups; 2,000 remembered exposures with
// them do not fit a 400 KB DynamoDB item, so Remember fails at every
// sweep: the memory is never written again (every new exposure and every
// resolution re-published every hour, every sweep an error).
func TestRegressMemoryBytes(t *testing.T) {
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
	m := map[string]remembered{}
	for i := range MaxRemembered {
		r := listed(fmt.Sprintf("sgr-%017x", i), "tcp", 8080, 8080, "0.0.0.0/0")
		r.Description = rnd(255)
		m[detect.RuleKey("sg-0123456789abcdef0", r)] = remembered{Group: "sg-0123456789abcdef0", Name: rnd(255), VPC: "vpc-0123456789abcdef0",
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

// TestRegressSameRuleIDTwoGroups: the "changed in place" test keys on the
// rule id alone, not the group: an exposure that is gone is not resolved
// while another group has an open exposure with the same rule id. Here both
// rules have no id (they share ""), the simplest way to get there.
func TestRegressSameRuleIDTwoGroups(t *testing.T) {
	r := func(cidr string) detect.Rule {
		return Listed{Protocol: "tcp", FromPort: n32(22), ToPort: n32(22), CIDRIPv4: cidr}.Rule()
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

// TestRegressChangedToHeld: a published world tcp/22 exposure changed in
// place to world tcp/8080, which MIN_SEVERITY=critical holds back, is not
// resolved (the rule is still open to the whole internet) and is kept; once
// the rule is private, the resolution is published.
func TestRegressChangedToHeld(t *testing.T) {
	x := newFixture(issueGroups()[:1])
	x.pub.allow = func(f detect.Finding) bool { return f.Severity == detect.Critical || f.Action == detect.Resolved }
	if got := x.sweep(t, "s1"); len(got) != 1 {
		t.Fatalf("first sweep: %q", got)
	}
	x.set("sg-00000000000000001", listed("sgr-00000000000000011", "tcp", 8080, 8080, "0.0.0.0/0"))
	if got := x.sweep(t, "s2"); len(got) != 0 {
		t.Fatalf("changed to a held-back port: published %q", got)
	}
	x.set("sg-00000000000000001", listed("sgr-00000000000000011", "tcp", 8080, 8080, "10.0.0.0/8"))
	if got := x.sweep(t, "s3"); !slices.Equal(got, []string{"resolved info sg-00000000000000001 sgr-00000000000000011"}) {
		t.Fatalf("made private: published %q", got)
	}
}

// DescribeNetworkInterfaces.
type rtNoENI struct{ *fakeEC2 }

func (rtNoENI) DescribeNetworkInterfaces(context.Context, *ec2.DescribeNetworkInterfacesInput, ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	return nil, errors.New("UnauthorizedOperation: ec2:DescribeNetworkInterfaces")
}

// TestRegressInterfacesOnlyCosmetic: every group and rule was listed, but
// the count of network interfaces (context only) could not be: the whole
// target fails and no exposure is published until the permission is back.
// What the sweep cannot read should make a finding louder (the count
// unknown), not stop it.
func TestRegressInterfacesOnlyCosmetic(t *testing.T) {
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

// TestRegressHeldLookupOnce: a held-back exposure is looked up once and
// marked LookedUp whatever the lookup gave: a throttled LookupEvents, or
// an event history that lags the change by a few minutes, makes "creator
// unknown" final. The root user's world 443 rule then stays held back at
// every sweep (MIN_SEVERITY=critical), although the root user is never
// suppressed and the next lookup would say it was root.
func TestRegressHeldLookupOnce(t *testing.T) {
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

// TestRegressWriteFailureBlocksNewExposures: the memory is now written
// before any resolution is published; when that write fails (throttled,
// a conflict with a concurrent sweep, a denied PutItem) the target returns
// at once, so a new world SSH rule found in the same sweep is not published
// either. What the sweep cannot write should delay the resolution, not
// the exposure.
func TestRegressWriteFailureBlocksNewExposures(t *testing.T) {
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

// TestRegressFalseResolution: a published world tcp/443 exposure whose rule
// is changed in place to one that still opens tcp/443 to the whole
// internet (0.0.0.0/0 → 0.0.0.0/1), after MIN_SEVERITY was raised to
// critical: the new exposure is held back, and the old one is published as
// "resolved" ("no longer exposes tcp/443 to the internet"), which is false.
func TestRegressFalseResolution(t *testing.T) {
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

// TestRegressLookupStarvedByUnfindable: TestRegressLookupStarvedByHeld
// with the common case: the held-back world 443 rules are old, so their
// creating events are past CloudTrail's 90 days and never found. Each is
// looked up again at every sweep, in key order, ahead of a newer root-made
// rule with a larger key, which is never looked up: held back for good,
// although the root user is never suppressed.
func TestRegressLookupStarvedByUnfindable(t *testing.T) {
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
