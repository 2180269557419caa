package handler

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/memory"
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
		return detect.Listed{ID: id, Protocol: "tcp", FromPort: n(port), ToPort: n(port), CIDRIPv4: cidr}.Rule()
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
	h = with(h, func(d *Deps) {
		d.Sweep = &Sweeps{Lister: l.lister, Claims: o, Accounts: func(context.Context) ([]string, error) {
			return []string{"444455556666", "777788889999"}, nil
		}}
	})
	h.cfg.Region = "eu-west-1"
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
	h2.d.Sweep.Accounts = func(context.Context) ([]string, error) {
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
	if c, err := sweepFromEnv(env("SWEEP_ACCOUNTS", "Organization", "SWEEP_ROLE", "my-role")); err != nil || !c.Organization || c.Role != "my-role" || c.Enabled || c.MaxReceives != DefaultMaxReceives {
		t.Errorf("organization: %+v, %v", c, err)
	}
	if c, err := sweepFromEnv(env("SWEEP_QUEUE_URL", "http://127.0.0.1:5000/123456789012/sgwatch-sweep", "SWEEP_DEAD_LETTER_URL", "https://sqs.eu-west-1.amazonaws.com/111122223333/d", "SWEEP_MAX_RECEIVES", "5")); err != nil || c.Queue == "" || c.DeadLetter == "" || c.MaxReceives != 5 {
		t.Errorf("fan-out: %+v, %v", c, err)
	}
	for name, bad := range map[string][]string{
		"SWEEP":                             {"SWEEP", "yes"},
		"SWEEP_TABLE":                       {"SWEEP_TABLE", "a b"},
		"SWEEP_REGIONS":                     {"SWEEP_REGIONS", "eu-west-1,Mars"},
		"SWEEP_ACCOUNTS":                    {"SWEEP_ACCOUNTS", "111122223333,12345"},
		"SWEEP_ROLE":                        {"SWEEP_ROLE", "role/with/slash"},
		"SWEEP_QUEUE_URL":                   {"SWEEP_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/not-an-account/q", "SWEEP_DEAD_LETTER_URL", "https://sqs.eu-west-1.amazonaws.com/111122223333/d"},
		"SWEEP_DEAD_LETTER_URL go together": {"SWEEP_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/111122223333/q"},
		"SWEEP_MAX_RECEIVES":                {"SWEEP_MAX_RECEIVES", "0"},
	} {
		if _, err := sweepFromEnv(env(bad...)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name it", name, err)
		}
	}
}

// Regressions in the exposure sweep: each reproduces a problem a
// red-team review of issue 12 found (now fixed), and fails if it returns.

// rtMemory is the sweep's memory in the table, with its version check.
type rtMemory struct {
	mu      sync.Mutex
	data    map[string][]byte
	version map[string]int64
}

func (m *rtMemory) Recall(_ context.Context, scope string) ([]byte, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data[scope], m.version[scope], nil
}

func (m *rtMemory) Remember(_ context.Context, scope string, data []byte, version int64, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.version[scope] != version {
		return memory.ErrConflict
	}
	m.data[scope], m.version[scope] = data, version+1
	return nil
}

// rtLister lists one group whose world SSH rule can be opened and closed.
type rtLister struct {
	mu   sync.Mutex
	open bool
}

func (l *rtLister) Groups(context.Context) ([]sweep.Group, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := sweep.Group{SecurityGroup: detect.SecurityGroup{ID: "sg-00000000000000001"}}
	if l.open {
		n := func(v int32) *int32 { return &v }
		g.Rules = []detect.Rule{detect.Listed{ID: "sgr-00000000000000011", Protocol: "tcp", FromPort: n(22), ToPort: n(22), CIDRIPv4: "0.0.0.0/0"}.Rule()}
	}
	return []sweep.Group{g}, nil
}

func (l *rtLister) Events(context.Context, string, int) ([][]byte, error) { return [][]byte{}, nil }

// TestReusedSweepID: the claims are keyed by the sweep's id alone.
// A request whose id repeats an earlier sweep's (a bare or constant-id
// manual request, whose id becomes the same digest every time, or a
// payload redriven from FailedInvocationQueue as the README says to) finds
// the earlier sweep's claim "published" for a rule that was resolved and
// re-opened since. The handler then counts the exposure as published and
// the sweep remembers it: the re-opened world SSH rule is never notified.
func TestReusedSweepID(t *testing.T) {
	for name, first := range map[string]string{
		"bare manual request": `{"sgwatch":"sweep"}`,
		"redriven payload":    sweepPayload,
	} {
		t.Run(name, func(t *testing.T) {
			pub := &lockedSNS{}
			h, _ := newHandler(t, report.Text, pub)
			h.cfg.Sweep = SweepConfig{Enabled: true}
			l := &rtLister{open: true}
			h = with(h, func(d *Deps) {
				d.Sweep = &Sweeps{Lister: func(context.Context, sweep.Target) (sweep.Lister, error) { return l, nil },
					Memory: &rtMemory{data: map[string][]byte{}, version: map[string]int64{}}, Claims: newFakeOnce()}
			})
			h.cfg.Region = "eu-west-1"
			run := func(payload string) []string {
				t.Helper()
				if err := h.Handle(context.Background(), []byte(payload)); err != nil {
					t.Fatal(err)
				}
				return pub.subjects()
			}
			if got := run(first); len(got) != 1 || !strings.HasPrefix(got[0], "[CRITICAL]") {
				t.Fatalf("first sweep: %q", got)
			}
			l.open = false
			if got := run(`{"sgwatch":"sweep","id":"exec-2"}`); len(got) != 1 || !strings.HasPrefix(got[0], "[INFO]") {
				t.Fatalf("after the revoke: %q", got)
			}
			l.open = true // opened again
			got := run(first)
			got = append(got, run(`{"sgwatch":"sweep","id":"exec-3"}`)...)
			if len(got) != 1 || !strings.HasPrefix(got[0], "[CRITICAL]") {
				t.Errorf("the re-opened world SSH rule: published %q, want it once", got)
			}
		})
	}
}

// rtRootLister lists one group whose world tcp/443 rule the root user
// created (LookupEvents has the record), and can close it.
type rtRootLister struct {
	rtLister
	record []byte
}

func (l *rtRootLister) Groups(context.Context) ([]sweep.Group, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := sweep.Group{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718"}}
	if l.open {
		n := func(v int32) *int32 { return &v }
		g.Rules = []detect.Rule{detect.Listed{ID: "sgr-0c0ffee0c0ffee001", Protocol: "tcp", FromPort: n(443), ToPort: n(443), CIDRIPv4: "0.0.0.0/0"}.Rule()}
	}
	return []sweep.Group{g}, nil
}

func (l *rtRootLister) Events(context.Context, string, int) ([][]byte, error) {
	return [][]byte{l.record}, nil
}

// TestRootExposureResolution: "a resolution reaches whoever its
// exposure reached" holds only for MIN_SEVERITY. An exposure published
// because it can never be suppressed (made by the root user, or critical
// before trusted automation lowered it) is remembered with its lowered or
// plain severity, and its resolution is then held back by MIN_SEVERITY:
// the responders who got "[HIGH] … exposes tcp/443" never hear it closed.
func TestRootExposureResolution(t *testing.T) {
	data := event(t, "authorize-ingress-world-ssh")
	rec := string(data)
	rec = rec[strings.Index(rec, `"detail": {`)+len(`"detail": `):]
	rec = rec[:strings.LastIndex(rec, "}")] // the bare CloudTrail record
	rec = strings.ReplaceAll(rec, `"fromPort": 22`, `"fromPort": 443`)
	rec = strings.ReplaceAll(rec, `"toPort": 22`, `"toPort": 443`)
	i, j := strings.Index(rec, `"userIdentity"`), strings.Index(rec, `"eventTime"`)
	rec = rec[:i] + `"userIdentity": {"type": "Root", "principalId": "111122223333", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"}, ` + rec[j:]

	pub := &lockedSNS{}
	h, _ := newHandler(t, report.Text, pub)
	h.cfg.Sweep = SweepConfig{Enabled: true}
	h.cfg.Policy.MinSeverity = detect.Critical
	l := &rtRootLister{rtLister: rtLister{open: true}, record: []byte(rec)}
	h = with(h, func(d *Deps) {
		d.Sweep = &Sweeps{Lister: func(context.Context, sweep.Target) (sweep.Lister, error) { return l, nil },
			Memory: &rtMemory{data: map[string][]byte{}, version: map[string]int64{}}, Claims: newFakeOnce()}
	})
	h.cfg.Region = "eu-west-1"
	if err := h.Handle(context.Background(), []byte(`{"sgwatch":"sweep","id":"exec-1"}`)); err != nil {
		t.Fatal(err)
	}
	if got := pub.subjects(); len(got) != 1 || !strings.HasPrefix(got[0], "[HIGH]") {
		t.Fatalf("the root user's world 443 rule: published %q, want it (root is never suppressed)", got)
	}
	l.open = false
	if err := h.Handle(context.Background(), []byte(`{"sgwatch":"sweep","id":"exec-2"}`)); err != nil {
		t.Fatal(err)
	}
	if got := pub.subjects(); len(got) != 1 || !strings.HasPrefix(got[0], "[INFO]") {
		t.Errorf("its resolution: published %q; the exposure reached the responders, its end did not", got)
	}
}
