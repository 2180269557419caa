package pipeline

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/policy"
	"github.com/sgwatch/sgwatch/report"
)

// directions is an Enricher that sets the direction of every rule without
// one, as the EC2 lookup does for ModifySecurityGroupRules, and counts its
// calls.
type directions struct {
	dir   detect.Direction
	calls int
}

func (d *directions) Enrich(_ context.Context, f *detect.Finding) {
	d.calls++
	for i := range f.Rules {
		if f.Rules[i].Direction == "" {
			f.Rules[i].Direction = d.dir
		}
	}
	f.Notes = append(f.Notes, "live context: looked up")
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("../events/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRun(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	modify := sample(t, "modify-security-group-rules-world-db")
	suppress := func(t *testing.T, group string, min detect.Severity) policy.Policy {
		t.Helper()
		env := map[string]string{"MIN_SEVERITY": string(min)}
		if group != "" {
			env["SUPPRESS"] = `[{"group":"` + group + `","until":"2027-01-31T00:00:00Z","reason":"migration"}]`
		}
		p, err := policy.FromEnv(func(k string) string { return env[k] }, now)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	cases := []struct {
		name     string
		data     []byte
		policy   policy.Policy
		dir      detect.Direction
		severity detect.Severity
		publish  bool
		enriched int
		reason   string
	}{
		{"modify found to be egress is scored again", modify, suppress(t, "", detect.Info), detect.Egress, detect.Medium, true, 1, "egress to 0.0.0.0/0"},
		{"modify found to be ingress stays critical", modify, suppress(t, "", detect.Info), detect.Ingress, detect.Critical, true, 1, "ingress from 0.0.0.0/0"},
		{"egress then falls below the minimum", modify, suppress(t, "", detect.High), detect.Egress, detect.Medium, false, 1, "egress"},
		{"suppressed findings are not looked up", sample(t, "create-security-group"), suppress(t, "sg-0a1b2c3d4e5f60718", detect.Info), detect.Egress, detect.Low, false, 0, "creates"},
		{"critical is never suppressed, and is looked up", sample(t, "authorize-ingress-world-ssh"), suppress(t, "sg-0a1b2c3d4e5f60718", detect.Info), detect.Egress, detect.Critical, true, 1, "SSH"},
		// A public range below the minimum is looked up all the same: the
		// group's other rules may make it the whole internet.
		{"a public range below the minimum is looked up", sample(t, "authorize-ingress-public-ssh"), suppress(t, "", detect.High), detect.Ingress, detect.Medium, false, 1, "public"},
		{"an egress rule below the minimum is not", sample(t, "authorize-egress-world"), suppress(t, "", detect.High), detect.Egress, detect.Medium, false, 0, "egress"},
		{"an attach call is always looked up", sample(t, "modify-network-interface-attribute-groups"), suppress(t, "", detect.Info), detect.Ingress, detect.Info, false, 1, "live context"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &directions{dir: c.dir}
			p := Pipeline{Policy: c.policy, Format: report.Text, Enricher: e, Now: clock}
			out, err := p.Run(context.Background(), c.data)
			if err != nil || len(out.Results) != 1 {
				t.Fatalf("Run: %d results, %v", len(out.Results), err)
			}
			r := out.Results[0]
			if r.Finding.Severity != c.severity || r.Decision.Publish != c.publish || e.calls != c.enriched {
				t.Errorf("severity %s publish %v enriched %d; want %s %v %d (%q)", r.Finding.Severity, r.Decision.Publish, e.calls,
					c.severity, c.publish, c.enriched, r.Decision.Why)
			}
			if !strings.Contains(strings.Join(r.Finding.Reasons, "\n"), c.reason) {
				t.Errorf("reasons %q do not say %q", r.Finding.Reasons, c.reason)
			}
			switch {
			case c.publish && (r.Err != nil || !strings.HasPrefix(r.Notification.Subject, "["+strings.ToUpper(string(c.severity))+"]")):
				t.Errorf("notification %q, %v", r.Notification.Subject, r.Err)
			case c.publish && !strings.Contains(r.Notification.Body, "live context: looked up"):
				t.Error("the notification lacks the live context")
			case !c.publish && r.Notification.Subject != "":
				t.Errorf("a notification for a finding not published: %q", r.Notification.Subject)
			}
		})
	}
}

func TestRunOtherInputs(t *testing.T) {
	p := Pipeline{Format: report.JSON}
	out, err := p.Run(context.Background(), sample(t, "not-security-group"))
	if err != nil || len(out.Results) != 0 || out.Others != 1 || out.Other.Name == "" || out.Other.Source == "" {
		t.Errorf("not a security-group change: %+v, %v", out, err)
	}
	if _, err := p.Run(context.Background(), []byte(`{"detail":`)); err == nil {
		t.Error("no error for input that is not JSON")
	}
}

// namer names every account "prod-payments", or notes a failure, and
// records the ids it was asked for.
type namer struct {
	note string
	mu   sync.Mutex
	ids  []string
}

func (n *namer) AccountName(_ context.Context, id string) (string, string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ids = append(n.ids, id)
	if n.note != "" {
		return "", n.note
	}
	return "prod-payments", ""
}

// TestAccountNames: the account of a finding that will be published is
// named (with or without live context), one that will not is not looked
// up, and a failed lookup is a note after the live context's.
func TestAccountNames(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	high, err := policy.FromEnv(func(k string) string { return map[string]string{"MIN_SEVERITY": "high"}[k] }, now)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		event    string
		enricher Enricher
		namer    *namer
		publish  bool
		asked    int
		account  string
		notes    []string
	}{
		{"named, no live context", "authorize-ingress-world-ssh", nil, &namer{}, true, 1, "prod-payments", nil},
		{"named with live context", "authorize-ingress-world-ssh", &directions{dir: detect.Ingress}, &namer{}, true, 1, "prod-payments", []string{"live context: looked up"}},
		{"a failure is a note after live context's", "authorize-ingress-world-ssh", &directions{dir: detect.Ingress}, &namer{note: "account name: DescribeAccount timed out"}, true, 1, "",
			[]string{"live context: looked up", "account name: DescribeAccount timed out"}},
		{"not published, not looked up", "create-security-group", nil, &namer{}, false, 0, "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Pipeline{Policy: high, Format: report.Text, Enricher: c.enricher, Accounts: c.namer, Now: func() time.Time { return now }}
			out, err := p.Run(context.Background(), sample(t, c.event))
			if err != nil || len(out.Results) != 1 {
				t.Fatalf("Run: %d results, %v", len(out.Results), err)
			}
			r := out.Results[0]
			if r.Decision.Publish != c.publish || len(c.namer.ids) != c.asked || r.Finding.Event.AccountName != c.account ||
				strings.Join(r.Finding.Notes, "|") != strings.Join(c.notes, "|") {
				t.Errorf("publish %v, asked %v, account name %q, notes %q", r.Decision.Publish, c.namer.ids, r.Finding.Event.AccountName, r.Finding.Notes)
			}
			if c.asked > 0 && c.namer.ids[0] != "111122223333" {
				t.Errorf("asked for %q, want the event's account", c.namer.ids[0])
			}
			if c.account != "" && !strings.Contains(r.Notification.Body, "Account:        111122223333 ("+c.account+")") {
				t.Errorf("body lacks the account's name:\n%s", r.Notification.Body)
			}
		})
	}
}

// meeting is an Enricher and an AccountNamer that each wait for the other
// to start: they only both finish in time when they run at the same time.
type meeting struct {
	enrich, name chan struct{}
	met          [2]bool
}

func (m *meeting) Enrich(_ context.Context, _ *detect.Finding) {
	close(m.enrich)
	select {
	case <-m.name:
		m.met[0] = true
	case <-time.After(2 * time.Second):
	}
}

func (m *meeting) AccountName(_ context.Context, _ string) (string, string) {
	close(m.name)
	select {
	case <-m.enrich:
		m.met[1] = true
	case <-time.After(2 * time.Second):
	}
	return "prod", ""
}

func TestLookupsRunTogether(t *testing.T) {
	m := &meeting{enrich: make(chan struct{}), name: make(chan struct{})}
	p := Pipeline{Format: report.Text, Enricher: m, Accounts: m}
	out, err := p.Run(context.Background(), sample(t, "authorize-ingress-world-ssh"))
	if err != nil || len(out.Results) != 1 {
		t.Fatalf("Run: %+v, %v", out, err)
	}
	if m.met != [2]bool{true, true} || out.Results[0].Finding.Event.AccountName != "prod" {
		t.Errorf("the live context and the account name were not looked up at the same time: %v", m.met)
	}
}
