package policy

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// now is the time the tests read the configuration at.
var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestFromEnv(t *testing.T) {
	p, err := FromEnv(env(map[string]string{
		"EXTRA_SENSITIVE_PORTS":   " 8443/tcp, 53/UDP,9000-9100 ,161-162 / udp",
		"TRUSTED_PRINCIPALS":      "arn:aws:iam::111122223333:role/terraform-*, arn:aws:sts::111122223333:assumed-role/ci/*",
		"TRUSTED_SERVICES":        "cloudformation.amazonaws.com=arn:aws:iam::111122223333:role/StackRole, servicecatalog.amazonaws.com = arn:aws:sts::111122223333:assumed-role/deploy/*",
		"SUPPRESS":                `[{"group":"sg-0123456789abcdef0","until":"2027-01-31T00:00:00Z","reason":"migration CHG-1"}]`,
		"MIN_SEVERITY":            "Medium",
		"AUTHORIZED_PUBLIC_PORTS": "none",
	}), now)
	if err != nil {
		t.Fatal(err)
	}
	want := Policy{
		Score: detect.Scoring{
			ExtraPorts: []detect.PortRange{
				{From: 8443, To: 8443, Proto: "tcp", Name: "EXTRA_SENSITIVE_PORTS"},
				{From: 53, To: 53, Proto: "udp", Name: "EXTRA_SENSITIVE_PORTS"},
				{From: 9000, To: 9100, Name: "EXTRA_SENSITIVE_PORTS"},
				{From: 161, To: 162, Proto: "udp", Name: "EXTRA_SENSITIVE_PORTS"},
			},
			TrustedPrincipals: []string{"arn:aws:iam::111122223333:role/terraform-*", "arn:aws:sts::111122223333:assumed-role/ci/*"},
			TrustedServices: []detect.TrustedService{
				{Service: "cloudformation.amazonaws.com", Principal: "arn:aws:iam::111122223333:role/StackRole"},
				{Service: "servicecatalog.amazonaws.com", Principal: "arn:aws:sts::111122223333:assumed-role/deploy/*"},
			},
		},
		Suppress:    []Suppression{{Group: "sg-0123456789abcdef0", Until: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), Reason: "migration CHG-1"}},
		MinSeverity: detect.Medium,
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("FromEnv\n got %+v\nwant %+v", p, want)
	}
	web, _ := detect.ParsePublicTag(DefaultAuthorizedPorts)
	for _, blank := range []map[string]string{nil, {"EXTRA_SENSITIVE_PORTS": " ", "TRUSTED_PRINCIPALS": " ", "TRUSTED_SERVICES": "\t", "SUPPRESS": " "}} {
		if p, err := FromEnv(env(blank), now); err != nil || !reflect.DeepEqual(p, Policy{MinSeverity: detect.Info, Score: detect.Scoring{AuthorizedPorts: web}}) {
			t.Errorf("blank environment %q: %+v, %v", blank, p, err)
		}
	}
}

// TestSuppressUntil: a rule may end at most one year after the
// configuration is read, in any time zone; one that has ended is accepted
// (it does nothing).
func TestSuppressUntil(t *testing.T) {
	cases := []struct {
		until string
		ok    bool
	}{
		{"2026-11-26T12:00:01Z", true},
		{"2027-06-30T00:00:00Z", true},
		{"2027-11-26T12:00:00Z", true},
		{"2027-11-26T12:30:00+01:00", true},
		{"2020-01-01T00:00:00Z", true},
		{"2027-11-26T12:00:00.000000001Z", false},
		{"2027-11-26T12:00:01Z", false},
		{"2027-11-26T11:30:00-01:00", false},
		{"2028-01-01T00:00:00Z", false},
		{"2999-01-01T00:00:00Z", false},
	}
	for _, c := range cases {
		t.Run(c.until, func(t *testing.T) {
			v := `[{"group":"sg-0123456789abcdef0","until":"2027-01-01T00:00:00Z","reason":"a"},{"account":"111122223333","until":"` + c.until + `","reason":"b"}]`
			p, err := FromEnv(env(map[string]string{"SUPPRESS": v}), now)
			if c.ok {
				if err != nil || len(p.Suppress) != 2 {
					t.Errorf("refused: %v", err)
				}
				return
			}
			want := "SUPPRESS: rule 1 until " + c.until + " is more than one year from now (latest 2027-11-26T12:00:00Z): every suppression must end within a year"
			if err == nil || err.Error() != want {
				t.Errorf("error %v\nwant %s", err, want)
			}
		})
	}
	// The limit moves with now.
	if _, err := FromEnv(env(map[string]string{"SUPPRESS": `[{"account":"111122223333","until":"2028-01-01T00:00:00Z","reason":"b"}]`}), now.AddDate(0, 2, 0)); err != nil {
		t.Errorf("two months later, a rule within a year of then: %v", err)
	}
}

func TestFromEnvRejects(t *testing.T) {
	cases := []struct{ name, value, want string }{
		{"EXTRA_SENSITIVE_PORTS", "http", `EXTRA_SENSITIVE_PORTS: "http" is not a port or a range`},
		{"EXTRA_SENSITIVE_PORTS", "70000", `EXTRA_SENSITIVE_PORTS: "70000" is outside 0-65535`},
		{"EXTRA_SENSITIVE_PORTS", "99999999999999999999", `EXTRA_SENSITIVE_PORTS: "99999999999999999999" is outside 0-65535`},
		{"EXTRA_SENSITIVE_PORTS", "9100-9000", `EXTRA_SENSITIVE_PORTS: "9100-9000" ends before it starts`},
		{"EXTRA_SENSITIVE_PORTS", "80-", `EXTRA_SENSITIVE_PORTS: "80-" is not a port or a range`},
		{"EXTRA_SENSITIVE_PORTS", "+22", `EXTRA_SENSITIVE_PORTS: "+22" is not a port or a range`},
		{"EXTRA_SENSITIVE_PORTS", "-1", `EXTRA_SENSITIVE_PORTS: "-1" is not a port or a range`},
		{"EXTRA_SENSITIVE_PORTS", "1-2-3", `EXTRA_SENSITIVE_PORTS: "1-2-3" is not a port or a range`},
		{"EXTRA_SENSITIVE_PORTS", "8443/icmp", `EXTRA_SENSITIVE_PORTS: "8443/icmp": protocol "icmp" is not tcp or udp`},
		{"EXTRA_SENSITIVE_PORTS", "8443/all", `protocol "all" is not tcp or udp`},
		{"EXTRA_SENSITIVE_PORTS", "8443/", `EXTRA_SENSITIVE_PORTS: "8443/": protocol "" is not tcp or udp`},
		{"EXTRA_SENSITIVE_PORTS", "8443/6", `protocol "6" is not tcp or udp`},
		{"EXTRA_SENSITIVE_PORTS", "53/tcp/udp", `EXTRA_SENSITIVE_PORTS: "53/tcp/udp" is not a port or a range`},
		{"EXTRA_SENSITIVE_PORTS", "tcp/8443", `EXTRA_SENSITIVE_PORTS: "tcp/8443" is not a port or a range`},
		{"EXTRA_SENSITIVE_PORTS", "8443,,9000", "EXTRA_SENSITIVE_PORTS: item 2 of 3 is empty"},
		{"TRUSTED_PRINCIPALS", "arn:aws:iam::111122223333:role/a,", "TRUSTED_PRINCIPALS: item 2 of 2 is empty"},
		{"TRUSTED_PRINCIPALS", "arn:aws:iam::111122223333:role/a, ,arn:aws:iam::111122223333:role/b", "TRUSTED_PRINCIPALS: item 2 of 3 is empty"},
		{"TRUSTED_PRINCIPALS", ",arn:aws:iam::111122223333:role/a", "TRUSTED_PRINCIPALS: item 1 of 2 is empty"},
		{"TRUSTED_PRINCIPALS", "arn:aws:iam::111122223333:role/a,arn:aws:iam::111122223333:root", `TRUSTED_PRINCIPALS: "arn:aws:iam::111122223333:root" is the root user`},
		{"TRUSTED_SERVICES", "cloudformation=arn:aws:iam::111122223333:role/StackRole", `TRUSTED_SERVICES: "cloudformation=arn:aws:iam::111122223333:role/StackRole" is not a service principal followed by =PRINCIPAL`},
		{"TRUSTED_SERVICES", "cloudformation.amazonaws.com=arn:aws:iam::111122223333:role/StackRole,", "TRUSTED_SERVICES: item 2 of 2 is empty"},
		// A service alone trusts whoever can make it act: refused, with the fix.
		{"TRUSTED_SERVICES", "cloudformation.amazonaws.com", `TRUSTED_SERVICES: "cloudformation.amazonaws.com" names no principal: it would trust everyone able to make cloudformation.amazonaws.com act for them (for CloudFormation, anyone who can create a stack); bind it to the principal the service acts as (want SERVICE=PRINCIPAL, e.g. cloudformation.amazonaws.com=arn:aws:iam::111122223333:role/StackRole`},
		{"TRUSTED_SERVICES", "cloudformation.amazonaws.com=arn:aws:iam::111122223333:role/StackRole,servicecatalog.amazonaws.com", `"servicecatalog.amazonaws.com" names no principal`},
		{"TRUSTED_SERVICES", "cloudformation.amazonaws.com=", `TRUSTED_SERVICES: cloudformation.amazonaws.com= principal "" is not an ARN pattern`},
		{"TRUSTED_SERVICES", "=arn:aws:iam::111122223333:role/StackRole", "is not a service principal followed by =PRINCIPAL"},
		// The principal is checked like TRUSTED_PRINCIPALS: one account, never root.
		{"TRUSTED_SERVICES", "cloudformation.amazonaws.com=arn:aws:iam::*:role/StackRole", `TRUSTED_SERVICES: cloudformation.amazonaws.com= principal "arn:aws:iam::*:role/StackRole" has * in the account`},
		{"TRUSTED_SERVICES", "cloudformation.amazonaws.com=arn:aws:iam::111122223333:root", "is the root user, which is never trusted nor suppressed"},
		{"TRUSTED_SERVICES", "cloudformation.amazonaws.com=arn:aws:iam::111122223333:role/*", "names no principal after role/"},
		{"TRUSTED_SERVICES", "cloudformation.amazonaws.com=arn:aws:sts::111122223333:federated-user/deploy", "names a federated user"},
		{"SUPPRESS", `{"group":"sg-0123456789abcdef0"}`, "SUPPRESS: not a JSON list"},
		{"SUPPRESS", `[{"group":"sg-0123456789abcdef0","until":"2027-01-31","reason":"x"}]`, "SUPPRESS: not a JSON list"},
		{"SUPPRESS", `[{"grp":"sg-0123456789abcdef0","until":"2027-01-31T00:00:00Z","reason":"x"}]`, `unknown field "grp"`},
		{"SUPPRESS", `[{"until":"2027-01-31T00:00:00Z","reason":"x"}]`, "SUPPRESS: rule 0 names no principal, account or group"},
		{"SUPPRESS", `[{"account":"1234","until":"2027-01-31T00:00:00Z","reason":"x"}]`, `SUPPRESS: rule 0 account "1234" is not a 12-digit account id`},
		{"SUPPRESS", `[{"group":"web","until":"2027-01-31T00:00:00Z","reason":"x"}]`, `SUPPRESS: rule 0 group "web" is not a security group id`},
		{"SUPPRESS", `[{"principal":"alice","until":"2027-01-31T00:00:00Z","reason":"x"}]`, `SUPPRESS: rule 0 principal "alice" is not an ARN pattern`},
		{"SUPPRESS", `[{"principal":" arn:aws:iam::111122223333:role/x","until":"2027-01-31T00:00:00Z","reason":"x"}]`, `SUPPRESS: rule 0 principal " arn:aws:iam::111122223333:role/x" contains ' '`},
		{"SUPPRESS", `[{"principal":"arn:aws:iam::111122223333:role/x\n","until":"2027-01-31T00:00:00Z","reason":"x"}]`, `SUPPRESS: rule 0 principal "arn:aws:iam::111122223333:role/x\n" contains '\n'`},
		{"SUPPRESS", `[{"principal":"arn:aws:iam::111122223333:*","account":"111122223333","group":"sg-0123456789abcdef0","until":"2027-01-31T00:00:00Z","reason":"x"}]`, `SUPPRESS: rule 0 principal "arn:aws:iam::111122223333:*" has * before the principal type`},
		{"SUPPRESS", `[{"group":"sg-0123456789abcdef0","reason":"x"}]`, "SUPPRESS: rule 0 has no until"},
		{"SUPPRESS", `[{"group":"sg-0123456789abcdef0","until":"2999-01-01T00:00:00Z","reason":"x"}]`, "SUPPRESS: rule 0 until 2999-01-01T00:00:00Z is more than one year from now"},
		{"SUPPRESS", `[{"group":"sg-0123456789abcdef0","until":"2027-01-31T00:00:00Z"}]`, "SUPPRESS: rule 0 has no reason"},
		{"SUPPRESS", `[{"group":"sg-0123456789abcdef0","until":"2027-01-31T00:00:00Z","reason":" "}]`, "SUPPRESS: rule 0 has no reason"},
		{"SUPPRESS", `[] []`, "SUPPRESS: text after the JSON list"},
		{"MIN_SEVERITY", "urgent", `MIN_SEVERITY: unknown severity "urgent"`},
	}
	for _, c := range cases {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			_, err := FromEnv(env(map[string]string{c.name: c.value}), now)
			if err == nil || !strings.HasPrefix(err.Error(), c.name+": ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one naming %s and containing %q", err, c.name, c.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	later, earlier := now.Add(time.Hour), now.Add(-time.Hour)
	p := Policy{
		MinSeverity: detect.Low,
		Suppress: []Suppression{
			{Group: "sg-0000000000000000a", Until: later, Reason: "migration"},
			{Group: "sg-0000000000000000b", Until: earlier, Reason: "expired"},
			{Principal: "arn:aws:iam::111122223333:role/scanner", Account: "111122223333", Until: later, Reason: "scanner"},
			{Principal: "arn:aws:iam::111122223333:role/terraform-*", Until: later, Reason: "terraform"},
		},
	}
	finding := func(sev detect.Severity, group, account, issuer string) detect.Finding {
		return detect.Finding{Severity: sev, Event: detect.Event{AccountID: account}, SecurityGroup: detect.SecurityGroup{ID: group},
			Actor: detect.Actor{ARN: "arn:aws:sts::111122223333:assumed-role/x/y", SessionIssuerARN: issuer}}
	}
	laundered := func(sev, before detect.Severity) detect.Finding {
		f := finding(sev, "sg-1", "111122223333", "arn:aws:iam::111122223333:role/terraform-prod")
		f.SeverityBeforeAutomation = before
		return f
	}
	root := func(sev detect.Severity, typ, arn string) detect.Finding {
		f := finding(sev, "sg-0000000000000000a", "111122223333", "")
		f.Actor = detect.Actor{Type: typ, ARN: arn}
		return f
	}
	type decision struct {
		name    string
		p       Policy
		f       detect.Finding
		publish bool
		why     string // the whole of Decision.Why
	}
	cases := []decision{
		{"group suppressed", p, finding(detect.High, "sg-0000000000000000a", "1", ""), false, "suppressed by SUPPRESS rule 0 until 2026-11-26T13:00:00Z: migration"},
		{"critical never suppressed", p, finding(detect.Critical, "sg-0000000000000000a", "1", ""), true,
			"published although suppressed by SUPPRESS rule 0 until 2026-11-26T13:00:00Z: migration: a critical finding is never suppressed"},
		{"expired rule does nothing", p, finding(detect.High, "sg-0000000000000000b", "1", ""), true, ""},
		{"principal and account match", p, finding(detect.Medium, "sg-1", "111122223333", "arn:aws:iam::111122223333:role/scanner"), false, "suppressed by SUPPRESS rule 2 until 2026-11-26T13:00:00Z: scanner"},
		{"principal matches, account does not", p, finding(detect.Medium, "sg-1", "444455556666", "arn:aws:iam::111122223333:role/scanner"), true, ""},
		{"below minimum", p, finding(detect.Info, "sg-1", "1", ""), false, "severity info is below MIN_SEVERITY low"},
		{"at minimum", p, finding(detect.Low, "sg-1", "1", ""), true, ""},
		{"suppression wins over minimum", p, finding(detect.Info, "sg-0000000000000000a", "1", ""), false, "suppressed by SUPPRESS rule 0 until 2026-11-26T13:00:00Z: migration"},
		{"critical at MIN_SEVERITY critical", Policy{MinSeverity: detect.Critical}, finding(detect.Critical, "", "", ""), true, ""},

		// Laundering: trusted automation lowered a critical change to high; a
		// rule matching the automation's role must not silence it.
		{"laundered critical, suppressed by principal", p, laundered(detect.High, detect.Critical), true,
			"published although suppressed by SUPPRESS rule 3 until 2026-11-26T13:00:00Z: terraform: it was critical before trusted automation lowered it to high, and a critical finding is never suppressed"},
		{"laundered critical, below MIN_SEVERITY critical", Policy{MinSeverity: detect.Critical}, laundered(detect.High, detect.Critical), true,
			"published although severity high is below MIN_SEVERITY critical: it was critical before trusted automation lowered it to high, and a critical finding is never suppressed"},
		{"lowered from high, suppressed", p, laundered(detect.Medium, detect.High), false, "suppressed by SUPPRESS rule 3 until 2026-11-26T13:00:00Z: terraform"},
		{"lowered from medium, below minimum", Policy{MinSeverity: detect.Medium}, laundered(detect.Low, detect.Medium), false, "severity low is below MIN_SEVERITY medium"},

		// The root user: suppressed by its group's rule and below MIN_SEVERITY.
		{"root by type, suppressed and below minimum", p, root(detect.Info, "Root", ""), true,
			"published although suppressed by SUPPRESS rule 0 until 2026-11-26T13:00:00Z: migration: a change by the root user is never suppressed"},
		{"root by type in other case", p, root(detect.High, "root", ""), true,
			"published although suppressed by SUPPRESS rule 0 until 2026-11-26T13:00:00Z: migration: a change by the root user is never suppressed"},
		{"root by ARN", p, root(detect.High, "", "arn:aws:iam::111122223333:root"), true,
			"published although suppressed by SUPPRESS rule 0 until 2026-11-26T13:00:00Z: migration: a change by the root user is never suppressed"},
		{"root below MIN_SEVERITY", Policy{MinSeverity: detect.Critical}, root(detect.Info, "Root", "arn:aws:iam::111122223333:root"), true,
			"published although severity info is below MIN_SEVERITY critical: a change by the root user is never suppressed"},
		{"root, no rule matches", p, detect.Finding{Severity: detect.High, SecurityGroup: detect.SecurityGroup{ID: "sg-1"}, Actor: detect.Actor{Type: "Root"}}, true, ""},
		{"session named root is not the root user", p, root(detect.High, "AssumedRole", "arn:aws:sts::111122223333:assumed-role/x/root"), false,
			"suppressed by SUPPRESS rule 0 until 2026-11-26T13:00:00Z: migration"},
	}
	resolved := func(was detect.Severity, group string) detect.Finding {
		f := finding(detect.Info, group, "1", "")
		f.Action, f.Sweep = detect.Resolved, &detect.Sweep{Key: "k", Was: was}
		return f
	}
	exposure := func(sev detect.Severity, group string) detect.Finding {
		f := finding(sev, group, "1", "")
		f.Action, f.Sweep = detect.Exposure, &detect.Sweep{Key: "k"}
		return f
	}
	cases = append(cases, []decision{
		// The sweep's findings: suppression applies as for events; a
		// resolution (of an exposure that was published, or the sweep
		// would not resolve it) passes MIN_SEVERITY.
		{"high exposure suppressed", p, exposure(detect.High, "sg-0000000000000000a"), false, "suppressed by SUPPRESS rule 0 until 2026-11-26T13:00:00Z: migration"},
		{"critical exposure never suppressed", p, exposure(detect.Critical, "sg-0000000000000000a"), true,
			"published although suppressed by SUPPRESS rule 0 until 2026-11-26T13:00:00Z: migration: a critical finding is never suppressed"},
		{"high exposure below MIN_SEVERITY critical", Policy{MinSeverity: detect.Critical}, exposure(detect.High, "sg-1"), false, "severity high is below MIN_SEVERITY critical"},
		{"resolution of a critical exposure at MIN_SEVERITY high", Policy{MinSeverity: detect.High}, resolved(detect.Critical, "sg-1"), true, ""},
		{"resolution of a high exposure at MIN_SEVERITY critical", Policy{MinSeverity: detect.Critical}, resolved(detect.High, "sg-1"), true, ""},
		{"resolution suppressed with its group", p, resolved(detect.Critical, "sg-0000000000000000a"), false, "suppressed by SUPPRESS rule 0 until 2026-11-26T13:00:00Z: migration"},
	}...)
	attach := func(sev detect.Severity, outcome detect.Outcome, live *detect.Live) detect.Finding {
		f := finding(sev, "sg-1", "1", "")
		f.Event.Name, f.Outcome, f.Live = "ModifyNetworkInterfaceAttribute", outcome, live
		f.Attach = &detect.Attach{NetworkInterfaceID: "eni-1", Groups: []string{"sg-1"}}
		return f
	}
	cases = append(cases, []decision{
		// An attach call: judged only with live context, and published
		// only when it opens something; a failed one as any failed call.
		{"attach offline", Policy{MinSeverity: detect.Info}, attach(detect.Info, detect.Succeeded, nil), false,
			"ModifyNetworkInterfaceAttribute is judged only with live context (ENRICH=true), and there was none"},
		{"attach that opens nothing", Policy{MinSeverity: detect.Info}, attach(detect.Info, detect.Succeeded, &detect.Live{}), false,
			"the groups set open nothing to the whole internet"},
		{"attach that opens something", Policy{MinSeverity: detect.Info}, attach(detect.Critical, detect.Succeeded, &detect.Live{}), true, ""},
		{"attach denied", Policy{MinSeverity: detect.Info}, attach(detect.Medium, detect.Failed, nil), true, ""},
		// A rule for one group does not silence what another group opens.
		{"attach opened by a group a rule does not name", p, func() detect.Finding {
			f := attach(detect.High, detect.Succeeded, &detect.Live{})
			f.SecurityGroup.ID = "sg-0000000000000000a"
			f.Context = &detect.Context{Groups: []string{"sg-0000000000000000a", "sg-0000000000000000c"}}
			return f
		}(), true, ""},
		{"attach opened only by the suppressed group", p, func() detect.Finding {
			f := attach(detect.High, detect.Succeeded, &detect.Live{})
			f.SecurityGroup.ID = "sg-0000000000000000a"
			f.Context = &detect.Context{Groups: []string{"sg-0000000000000000a"}}
			return f
		}(), false, "suppressed by SUPPRESS rule 0 until 2026-11-26T13:00:00Z: migration"},
		{"attach offline by the root user", Policy{MinSeverity: detect.Info}, func() detect.Finding {
			f := attach(detect.High, detect.Succeeded, nil)
			f.Actor = detect.Actor{Type: "Root"}
			return f
		}(), true, "published although ModifyNetworkInterfaceAttribute is judged only with live context (ENRICH=true), and there was none: a change by the root user is never suppressed"},
	}...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.p.Decide(c.f, now)
			if d.Publish != c.publish || d.Why != c.why {
				t.Errorf("Decide = %+v\nwant publish %v, why %q", d, c.publish, c.why)
			}
		})
	}
}

// TestAuthorizedPorts: AUTHORIZED_PUBLIC_PORTS is the web by default,
// "none" authorises nothing, and a list replaces the default.
func TestAuthorizedPorts(t *testing.T) {
	for _, c := range []struct {
		v    string
		want []detect.PortRange
	}{
		{"", []detect.PortRange{{From: 80, To: 80, Proto: "tcp", Name: detect.PublicTag}, {From: 443, To: 443, Proto: "tcp", Name: detect.PublicTag}}},
		{"none", nil},
		{"tcp/8443, udp/4500-4501", []detect.PortRange{{From: 8443, To: 8443, Proto: "tcp", Name: detect.PublicTag}, {From: 4500, To: 4501, Proto: "udp", Name: detect.PublicTag}}},
	} {
		p, err := FromEnv(env(map[string]string{"AUTHORIZED_PUBLIC_PORTS": c.v}), now)
		if err != nil || !slices.Equal(p.Score.AuthorizedPorts, c.want) {
			t.Errorf("AUTHORIZED_PUBLIC_PORTS=%q: %v, %v; want %v", c.v, p.Score.AuthorizedPorts, err, c.want)
		}
	}
}

// TestVariables: the published list is exactly what FromEnv reads; an
// invalid value of each fails, naming it.
func TestVariables(t *testing.T) {
	bad := map[string]string{"EXTRA_SENSITIVE_PORTS": "x", "TRUSTED_PRINCIPALS": "x", "TRUSTED_SERVICES": "x", "SUPPRESS": "x", "MIN_SEVERITY": "x",
		"AUTHORIZED_PUBLIC_PORTS": "443", "REVERT": "x", "REVERT_AFTER": "x", "REVERT_EXEMPT": "x", "REVERT_INCLUDE": "x"}
	if len(Variables) != len(bad) {
		t.Fatalf("Variables %v, want %d names", Variables, len(bad))
	}
	for _, name := range Variables {
		v, ok := bad[name]
		if !ok {
			t.Fatalf("%s is not read by FromEnv", name)
		}
		if _, err := FromEnv(env(map[string]string{name: v}), now); err == nil || !strings.HasPrefix(err.Error(), name+": ") {
			t.Errorf("invalid %s: error %v, want one naming it", name, err)
		}
	}
}
