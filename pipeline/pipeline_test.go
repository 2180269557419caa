package pipeline

import (
	"context"
	"os"
	"strings"
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
