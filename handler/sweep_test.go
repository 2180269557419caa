package handler

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/policy"
	"github.com/sgwatch/sgwatch/report"
	"github.com/sgwatch/sgwatch/sweep"
)

const sweepPayload = `{"sgwatch":"sweep","id":"exec-1","time":"2026-11-27T06:00:00Z","by":"arn:aws:scheduler:eu-west-1:111122223333:schedule/default/sgwatch"}`

// groupLister lists the same groups for every target, and records the
// targets.
type groupLister struct {
	mu      sync.Mutex
	targets []sweep.Target
	fail    map[string]error // by account
}

func (l *groupLister) lister(_ context.Context, t sweep.Target) (sweep.Lister, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.targets = append(l.targets, t)
	if err := l.fail[t.Account]; err != nil {
		return nil, err
	}
	return groups{}, nil
}

type groups struct{}

func (groups) Groups(context.Context) ([]sweep.Group, error) {
	n := func(v int32) *int32 { return &v }
	rule := func(id string, port int32, cidr string) detect.Rule {
		return sweep.Listed{ID: id, Protocol: "tcp", FromPort: n(port), ToPort: n(port), CIDRIPv4: cidr}.Rule()
	}
	return []sweep.Group{
		{SecurityGroup: detect.SecurityGroup{ID: "sg-00000000000000001"}, Rules: []detect.Rule{rule("sgr-00000000000000011", 22, "0.0.0.0/0")}},
		{SecurityGroup: detect.SecurityGroup{ID: "sg-00000000000000002"}, Rules: []detect.Rule{rule("sgr-00000000000000021", 443, "0.0.0.0/0")}},
		{SecurityGroup: detect.SecurityGroup{ID: "sg-00000000000000003"}, Rules: []detect.Rule{rule("sgr-00000000000000031", 22, "10.0.0.0/8")}},
	}, nil
}

func (groups) Events(context.Context, string, int) ([][]byte, error) { return [][]byte{}, nil }

// lockedSNS is fakeSNS for publishes from several goroutines.
type lockedSNS struct {
	mu sync.Mutex
	fakeSNS
}

func (l *lockedSNS) Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fakeSNS.Publish(ctx, in, opts...)
}

func (l *lockedSNS) subjects() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, in := range l.got {
		out = append(out, aws.ToString(in.Subject))
	}
	l.got = nil
	slices.Sort(out)
	return out
}

func sweepHandler(t *testing.T, cfg SweepConfig, l *groupLister) (*Handler, *lockedSNS, *fakeOnce) {
	t.Helper()
	pub := &lockedSNS{}
	h, _ := newHandler(t, report.Text, pub)
	h.cfg.Sweep = cfg
	o := newFakeOnce()
	h.WithSweeps(Sweeps{Lister: l.lister, Once: o, Accounts: func(context.Context) ([]string, error) {
		return []string{"444455556666", "777788889999"}, nil
	}})
	t.Setenv("AWS_REGION", "eu-west-1")
	return h, pub, o
}

// TestSweepRequest: a sweep request publishes each exposure once, however
// often it is retried; the policy applies; a function without SWEEP=true
// fails it, naming why.
func TestSweepRequest(t *testing.T) {
	l := &groupLister{}
	h, pub, _ := sweepHandler(t, SweepConfig{Enabled: true}, l)
	want := []string{
		"[CRITICAL] sg-00000000000000001 exposes tcp/22 to the whole internet (found by sweep)",
		"[HIGH] sg-00000000000000002 exposes tcp/443 to the whole internet (found by sweep)",
	}
	if err := h.Handle(context.Background(), []byte(sweepPayload)); err != nil {
		t.Fatal(err)
	}
	if got := pub.subjects(); !slices.Equal(got, want) {
		t.Fatalf("published\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := h.Handle(context.Background(), []byte(sweepPayload)); err != nil {
		t.Fatal(err)
	}
	if got := pub.subjects(); len(got) != 0 {
		t.Fatalf("a retried sweep published %q", got)
	}
	if len(l.targets) != 2 || l.targets[0] != (sweep.Target{Account: "111122223333", Region: "eu-west-1"}) {
		t.Errorf("targets %+v: want the topic's account in AWS_REGION", l.targets)
	}

	// MIN_SEVERITY holds the high exposure back; the critical one passes.
	h2, pub2, _ := sweepHandler(t, SweepConfig{Enabled: true}, &groupLister{})
	h2.cfg.Policy = policy.Policy{MinSeverity: detect.Critical}
	if err := h2.Handle(context.Background(), []byte(sweepPayload)); err != nil {
		t.Fatal(err)
	}
	if got := pub2.subjects(); len(got) != 1 || !strings.HasPrefix(got[0], "[CRITICAL]") {
		t.Errorf("with MIN_SEVERITY critical: %q", got)
	}

	off, pub3, _ := sweepHandler(t, SweepConfig{}, &groupLister{})
	err := off.Handle(context.Background(), []byte(sweepPayload))
	var de *DecodeError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "SWEEP is not true") || len(pub3.subjects()) != 0 {
		t.Errorf("sweep with SWEEP=false: %v", err)
	}
	if err := off.Handle(context.Background(), []byte(`{"sgwatch":"sweep","extra":1}`)); !errors.As(err, &de) {
		t.Errorf("malformed sweep request: %v", err)
	}
	// Events are handled as before.
	if err := h.Handle(context.Background(), event(t, "authorize-ingress-world-ssh")); err != nil {
		t.Fatal(err)
	}
	if got := pub.subjects(); len(got) != 1 || !strings.Contains(got[0], "modified by") {
		t.Errorf("event: %q", got)
	}
}

// TestSweepOrganization: the sweep covers the organization's accounts and
// the listed ones in every Region, assuming SWEEP_ROLE in the partition
// of the function; a member that fails is reported and the rest swept.
func TestSweepOrganization(t *testing.T) {
	l := &groupLister{fail: map[string]error{"777788889999": errors.New("AccessDenied: sts:AssumeRole")}}
	cfg := SweepConfig{Enabled: true, Organization: true, Accounts: []string{"121212121212"}, Regions: []string{"eu-west-1", "us-east-1"}, Role: "sgwatch-sweep"}
	h, pub, _ := sweepHandler(t, cfg, l)
	h.cfg.TopicARN = "arn:aws-us-gov:sns:us-gov-west-1:111122223333:sgwatch"
	err := h.Handle(context.Background(), []byte(sweepPayload))
	var se *SweepError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "777788889999/eu-west-1") || !strings.Contains(err.Error(), "777788889999/us-east-1") {
		t.Fatalf("error %v", err)
	}
	if got := pub.subjects(); len(got) != 2*3*2 {
		t.Errorf("%d published, want 2 exposures × 3 good accounts × 2 Regions", len(got))
	}
	roles := map[string]string{}
	for _, tg := range l.targets {
		roles[tg.Account] = tg.Role
	}
	wantRoles := map[string]string{"111122223333": "", "444455556666": "arn:aws-us-gov:iam::444455556666:role/sgwatch-sweep",
		"777788889999": "arn:aws-us-gov:iam::777788889999:role/sgwatch-sweep", "121212121212": "arn:aws-us-gov:iam::121212121212:role/sgwatch-sweep"}
	if len(l.targets) != 8 || !mapsEqual(roles, wantRoles) {
		t.Errorf("targets %+v", l.targets)
	}

	// The organization cannot be listed: the others are swept, and it fails.
	l2 := &groupLister{}
	h2, _, _ := sweepHandler(t, cfg, l2)
	h2.sweeps.Accounts = func(context.Context) ([]string, error) {
		return nil, errors.New("AccessDeniedException: organizations:ListAccounts")
	}
	if err := h2.Handle(context.Background(), []byte(sweepPayload)); !errors.As(err, &se) || !strings.Contains(err.Error(), "ListAccounts") {
		t.Errorf("error %v", err)
	}
	if len(l2.targets) != 4 {
		t.Errorf("targets %+v, want the own and listed accounts in 2 Regions", l2.targets)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestSweepConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := sweepFromEnv(env("SWEEP", "TRUE", "SWEEP_TABLE", "sgwatch-Table_1", "SWEEP_REGIONS", "eu-west-1, us-east-1", "SWEEP_ACCOUNTS", "111122223333,444455556666"))
	if err != nil || !c.Enabled || c.Table != "sgwatch-Table_1" || len(c.Regions) != 2 || len(c.Accounts) != 2 || c.Role != DefaultSweepRole || c.Organization {
		t.Errorf("config %+v, %v", c, err)
	}
	if c, err := sweepFromEnv(env("SWEEP_ACCOUNTS", "Organization", "SWEEP_ROLE", "my-role")); err != nil || !c.Organization || c.Role != "my-role" || c.Enabled {
		t.Errorf("organization: %+v, %v", c, err)
	}
	for name, bad := range map[string][]string{
		"SWEEP":          {"SWEEP", "yes"},
		"SWEEP_TABLE":    {"SWEEP_TABLE", "a b"},
		"SWEEP_REGIONS":  {"SWEEP_REGIONS", "eu-west-1,Mars"},
		"SWEEP_ACCOUNTS": {"SWEEP_ACCOUNTS", "111122223333,12345"},
		"SWEEP_ROLE":     {"SWEEP_ROLE", "role/with/slash"},
	} {
		if _, err := sweepFromEnv(env(bad...)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name it", name, err)
		}
	}
}
