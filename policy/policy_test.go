package policy

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	p, err := FromEnv(env(map[string]string{
		"EXTRA_SENSITIVE_PORTS": " 8443, 9000-9100 ",
		"TRUSTED_PRINCIPALS":    "arn:aws:iam::111122223333:role/terraform-*, arn:aws:sts::111122223333:assumed-role/ci/*",
		"TRUSTED_SERVICES":      "cloudformation.amazonaws.com,servicecatalog.amazonaws.com",
		"SUPPRESS":              `[{"group":"sg-0123456789abcdef0","until":"2027-01-31T00:00:00Z","reason":"migration CHG-1"}]`,
		"MIN_SEVERITY":          "Medium",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Policy{
		Score: detect.Options{
			ExtraPorts:        []detect.PortRange{{From: 8443, To: 8443, Name: "EXTRA_SENSITIVE_PORTS"}, {From: 9000, To: 9100, Name: "EXTRA_SENSITIVE_PORTS"}},
			TrustedPrincipals: []string{"arn:aws:iam::111122223333:role/terraform-*", "arn:aws:sts::111122223333:assumed-role/ci/*"},
			TrustedServices:   []string{"cloudformation.amazonaws.com", "servicecatalog.amazonaws.com"},
		},
		Suppress:    []Suppression{{Group: "sg-0123456789abcdef0", Until: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), Reason: "migration CHG-1"}},
		MinSeverity: detect.Medium,
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("FromEnv\n got %+v\nwant %+v", p, want)
	}
	if p, err := FromEnv(env(nil)); err != nil || !reflect.DeepEqual(p, Policy{MinSeverity: detect.Info}) {
		t.Errorf("empty environment: %+v, %v", p, err)
	}
}

func TestFromEnvRejects(t *testing.T) {
	cases := []struct{ name, value, want string }{
		{"EXTRA_SENSITIVE_PORTS", "http", `EXTRA_SENSITIVE_PORTS: "http" is not a port or a range`},
		{"EXTRA_SENSITIVE_PORTS", "70000", `EXTRA_SENSITIVE_PORTS: "70000" is outside 0-65535`},
		{"EXTRA_SENSITIVE_PORTS", "9100-9000", `EXTRA_SENSITIVE_PORTS: "9100-9000" ends before it starts`},
		{"EXTRA_SENSITIVE_PORTS", "80-", `EXTRA_SENSITIVE_PORTS: "80-" is not a port or a range`},
		{"TRUSTED_PRINCIPALS", "terraform", `TRUSTED_PRINCIPALS: "terraform" is not an ARN pattern`},
		{"TRUSTED_PRINCIPALS", "arn:*", `TRUSTED_PRINCIPALS: "arn:*" would trust every principal`},
		{"TRUSTED_SERVICES", "cloudformation", `TRUSTED_SERVICES: "cloudformation" is not a service principal`},
		{"SUPPRESS", `{"group":"sg-0123456789abcdef0"}`, "SUPPRESS: not a JSON list"},
		{"SUPPRESS", `[{"group":"sg-0123456789abcdef0","until":"2027-01-31","reason":"x"}]`, "SUPPRESS: not a JSON list"},
		{"SUPPRESS", `[{"grp":"sg-0123456789abcdef0","until":"2027-01-31T00:00:00Z","reason":"x"}]`, `unknown field "grp"`},
		{"SUPPRESS", `[{"until":"2027-01-31T00:00:00Z","reason":"x"}]`, "SUPPRESS: rule 0 names no principal, account or group"},
		{"SUPPRESS", `[{"account":"1234","until":"2027-01-31T00:00:00Z","reason":"x"}]`, `SUPPRESS: rule 0 account "1234" is not a 12-digit account id`},
		{"SUPPRESS", `[{"group":"web","until":"2027-01-31T00:00:00Z","reason":"x"}]`, `SUPPRESS: rule 0 group "web" is not a security group id`},
		{"SUPPRESS", `[{"principal":"alice","until":"2027-01-31T00:00:00Z","reason":"x"}]`, `SUPPRESS: rule 0 principal "alice" is not an ARN pattern`},
		{"SUPPRESS", `[{"group":"sg-0123456789abcdef0","reason":"x"}]`, "SUPPRESS: rule 0 has no until"},
		{"SUPPRESS", `[{"group":"sg-0123456789abcdef0","until":"2027-01-31T00:00:00Z"}]`, "SUPPRESS: rule 0 has no reason"},
		{"SUPPRESS", `[] []`, "SUPPRESS: text after the JSON list"},
		{"MIN_SEVERITY", "urgent", `MIN_SEVERITY: unknown severity "urgent"`},
	}
	for _, c := range cases {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			_, err := FromEnv(env(map[string]string{c.name: c.value}))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Hour), now.Add(-time.Hour)
	p := Policy{
		MinSeverity: detect.Low,
		Suppress: []Suppression{
			{Group: "sg-0000000000000000a", Until: later, Reason: "migration"},
			{Group: "sg-0000000000000000b", Until: earlier, Reason: "expired"},
			{Principal: "arn:aws:iam::111122223333:role/scanner", Account: "111122223333", Until: later, Reason: "scanner"},
		},
	}
	finding := func(sev detect.Severity, group, account, issuer string) detect.Finding {
		return detect.Finding{Severity: sev, Event: detect.Event{AccountID: account}, SecurityGroup: detect.SecurityGroup{ID: group},
			Actor: detect.Actor{ARN: "arn:aws:sts::111122223333:assumed-role/x/y", SessionIssuerARN: issuer}}
	}
	cases := []struct {
		name    string
		f       detect.Finding
		publish bool
		why     string
	}{
		{"group suppressed", finding(detect.High, "sg-0000000000000000a", "1", ""), false, "suppressed by SUPPRESS rule 0 until 2026-11-26T13:00:00Z: migration"},
		{"critical never suppressed", finding(detect.Critical, "sg-0000000000000000a", "1", ""), true, ""},
		{"expired rule does nothing", finding(detect.High, "sg-0000000000000000b", "1", ""), true, ""},
		{"principal and account match", finding(detect.Medium, "sg-1", "111122223333", "arn:aws:iam::111122223333:role/scanner"), false, "rule 2 until 2026-11-26T13:00:00Z: scanner"},
		{"principal matches, account does not", finding(detect.Medium, "sg-1", "444455556666", "arn:aws:iam::111122223333:role/scanner"), true, ""},
		{"below minimum", finding(detect.Info, "sg-1", "1", ""), false, "severity info is below MIN_SEVERITY low"},
		{"at minimum", finding(detect.Low, "sg-1", "1", ""), true, ""},
		{"suppression wins over minimum", finding(detect.Info, "sg-0000000000000000a", "1", ""), false, "migration"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := p.Decide(c.f, now)
			if d.Publish != c.publish || !strings.Contains(d.Why, c.why) || (c.publish && d.Why != "") {
				t.Errorf("Decide = %+v, want publish %v, why containing %q", d, c.publish, c.why)
			}
		})
	}
	if d := (Policy{MinSeverity: detect.Critical}).Decide(finding(detect.Critical, "", "", ""), now); !d.Publish {
		t.Error("MIN_SEVERITY critical drops a critical finding")
	}
}

// TestVariables: the published list is exactly what FromEnv reads; an
// invalid value of each fails, naming it.
func TestVariables(t *testing.T) {
	bad := map[string]string{"EXTRA_SENSITIVE_PORTS": "x", "TRUSTED_PRINCIPALS": "x", "TRUSTED_SERVICES": "x", "SUPPRESS": "x", "MIN_SEVERITY": "x"}
	if len(Variables) != len(bad) {
		t.Fatalf("Variables %v, want %d names", Variables, len(bad))
	}
	for _, name := range Variables {
		v, ok := bad[name]
		if !ok {
			t.Fatalf("%s is not read by FromEnv", name)
		}
		if _, err := FromEnv(env(map[string]string{name: v})); err == nil || !strings.HasPrefix(err.Error(), name+": ") {
			t.Errorf("invalid %s: error %v, want one naming it", name, err)
		}
	}
}
