package sweep

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
)

var sweepAt = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

func p(n int) *int { return &n }

func sweepRule(id string, dir detect.Direction, proto string, from, to int, cidr string) detect.Rule {
	r := detect.Rule{RuleID: id, Direction: dir, Protocol: proto, FromPort: p(from), ToPort: p(to)}
	if strings.Contains(cidr, ":") {
		r.CIDRIPv6 = cidr
	} else {
		r.CIDRIPv4 = cidr
	}
	return r
}

// TestExposures holds the sweep's should-match and should-not-match groups:
// only ingress open to the whole internet is an exposure, critical when it
// reaches every port or a sensitive one, else high.
func TestExposures(t *testing.T) {
	web := detect.SecurityGroup{ID: "sg-0123456789abcdef0", Name: "web", VPCID: "vpc-0123456789abcdef0"}
	cases := []struct {
		name  string
		rules []detect.Rule
		want  map[string]detect.Severity // rule id → severity
		why   string                     // in the first reason of each
	}{
		{"world ssh", []detect.Rule{sweepRule("sgr-00000000000000001", detect.Ingress, "tcp", 22, 22, "0.0.0.0/0")},
			map[string]detect.Severity{"sgr-00000000000000001": detect.Critical}, "SSH (22)"},
		{"world 443", []detect.Rule{sweepRule("sgr-00000000000000002", detect.Ingress, "tcp", 443, 443, "0.0.0.0/0")},
			map[string]detect.Severity{"sgr-00000000000000002": detect.High}, "open to the whole internet now"},
		{"ipv6 rdp", []detect.Rule{sweepRule("sgr-00000000000000003", detect.Ingress, "tcp", 3389, 3389, "::/0")},
			map[string]detect.Severity{"sgr-00000000000000003": detect.Critical}, "RDP (3389)"},
		{"split /5s", []detect.Rule{
			sweepRule("sgr-00000000000000004", detect.Ingress, "tcp", 22, 22, "32.0.0.0/5"),
			sweepRule("sgr-00000000000000005", detect.Ingress, "tcp", 22, 22, "40.0.0.0/5")},
			map[string]detect.Severity{"sgr-00000000000000004": detect.Critical, "sgr-00000000000000005": detect.Critical}, "the whole IPv4 internet"},
		{"/5s together", []detect.Rule{
			sweepRule("sgr-00000000000000014", detect.Ingress, "tcp", 22, 22, "32.0.0.0/5"),
			sweepRule("sgr-00000000000000015", detect.Ingress, "tcp", 23, 23, "40.0.0.0/5"),
			sweepRule("sgr-00000000000000016", detect.Ingress, "tcp", 0, 65535, "48.0.0.0/5")},
			map[string]detect.Severity{"sgr-00000000000000014": detect.Critical, "sgr-00000000000000016": detect.Critical}, "together with"},
		{"all traffic", []detect.Rule{{RuleID: "sgr-00000000000000006", Direction: detect.Ingress, Protocol: "all", CIDRIPv4: "0.0.0.0/0"}},
			map[string]detect.Severity{"sgr-00000000000000006": detect.Critical}, "every port"},
		{"private only", []detect.Rule{
			sweepRule("sgr-00000000000000007", detect.Ingress, "tcp", 22, 22, "10.0.0.0/8"),
			sweepRule("sgr-00000000000000008", detect.Ingress, "tcp", 3306, 3306, "172.16.0.0/12")}, nil, ""},
		{"one public /5 is not the world", []detect.Rule{sweepRule("sgr-00000000000000009", detect.Ingress, "tcp", 22, 22, "32.0.0.0/5")}, nil, ""},
		{"a public quarter is", []detect.Rule{sweepRule("sgr-00000000000000012", detect.Ingress, "tcp", 22, 22, "64.0.0.0/2")},
			map[string]detect.Severity{"sgr-00000000000000012": detect.Critical}, "covers 1/16 or more of the public IPv4 space"},
		{"/5s on different ports are not", []detect.Rule{
			sweepRule("sgr-00000000000000010", detect.Ingress, "tcp", 22, 22, "32.0.0.0/5"),
			sweepRule("sgr-00000000000000011", detect.Ingress, "tcp", 23, 23, "40.0.0.0/5")}, nil, ""},
		{"world egress is no exposure", []detect.Rule{sweepRule("sgr-0000000000000000a", detect.Egress, "-1", 0, 0, "0.0.0.0/0")}, nil, ""},
		{"group and prefix list sources", []detect.Rule{
			{RuleID: "sgr-0000000000000000b", Direction: detect.Ingress, Protocol: "tcp", FromPort: p(22), ToPort: p(22), ReferencedGroupID: "sg-0fedcba9876543210"},
			{RuleID: "sgr-0000000000000000c", Direction: detect.Ingress, Protocol: "tcp", FromPort: p(22), ToPort: p(22), PrefixListID: "pl-0123456789abcdef0"}}, nil, ""},
		{"unreadable source fails closed", []detect.Rule{{RuleID: "sgr-0000000000000000d", Direction: detect.Ingress, Protocol: "tcp", FromPort: p(22), ToPort: p(22), CIDRIPv4: "not-a-cidr"}},
			map[string]detect.Severity{"sgr-0000000000000000d": detect.Critical}, "not understood"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := Exposures(Group{SecurityGroup: web, Rules: c.rules}, "eu-west-1", "111122223333", sweepAt, detect.Scoring{})
			if len(fs) != len(c.want) {
				t.Fatalf("%d exposures, want %d: %+v", len(fs), len(c.want), fs)
			}
			for _, f := range fs {
				id := f.Rules[0].RuleID
				if f.Action != detect.Exposure || f.Severity != c.want[id] {
					t.Errorf("%s: %s %s, want exposure %s", id, f.Action, f.Severity, c.want[id])
				}
				if !strings.Contains(strings.Join(f.Reasons, "\n"), c.why) {
					t.Errorf("%s: reasons %q do not say %q", id, f.Reasons, c.why)
				}
				want := "aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0123456789abcdef0 --security-group-rule-ids " + id
				if f.Undo == nil || f.Undo.Command != want || f.Undo.Account != "111122223333" {
					t.Errorf("%s: undo %+v, want %q in 111122223333", id, f.Undo, want)
				}
				if f.Event.Name != detect.SweepCall || f.Event.Time != "2026-11-27T06:00:00Z" || f.Sweep == nil || f.Sweep.FoundAt != f.Event.Time {
					t.Errorf("%s: event %+v sweep %+v", id, f.Event, f.Sweep)
				}
				if f.Sweep.Key != detect.RuleKey(web.ID, f.Rules[0]) {
					t.Errorf("%s: key %q", id, f.Sweep.Key)
				}
			}
		})
	}
}

// TestCreatedBy attaches the creating event of a sample to the exposure of
// its rule, and refuses events that did not create it.
func TestCreatedBy(t *testing.T) {
	data, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := detect.Parse(data, detect.Scoring{})
	created := b.Findings
	if err != nil || len(created) != 1 {
		t.Fatalf("parse sample: %v, %d findings", err, len(created))
	}
	c := created[0]
	g := Group{SecurityGroup: detect.SecurityGroup{ID: c.SecurityGroup.ID}, Rules: []detect.Rule{sweepRule("sgr-0c0ffee0c0ffee001", detect.Ingress, "tcp", 22, 22, "0.0.0.0/0")}}
	exposure := func() detect.Finding { return Exposures(g, "us-east-1", "111122223333", sweepAt, detect.Scoring{})[0] }

	f := exposure()
	if !CreatedBy(&f, c, detect.Scoring{}) {
		t.Fatal("the sample's event did not create its rule")
	}
	if f.Actor != c.Actor || f.Sweep.Created == nil || f.Sweep.Created.EventID != c.Event.ID || f.Sweep.Created.Time != c.Event.Time || f.Sweep.Created.EventName != c.Event.Name {
		t.Errorf("creator not recorded: actor %+v created %+v", f.Actor, f.Sweep.Created)
	}

	other := exposure()
	other.Rules[0].RuleID = "sgr-00000000000000099"
	if CreatedBy(&other, c, detect.Scoring{}) || other.Actor.Type != "" {
		t.Error("an event that created another rule was taken as the creator")
	}
	failed := c
	failed.Outcome = detect.Failed
	revoke := c
	revoke.Event.Name = "RevokeSecurityGroupIngress"
	for name, bad := range map[string]detect.Finding{"failed": failed, "revoke": revoke} {
		f := exposure()
		if CreatedBy(&f, bad, detect.Scoring{}) {
			t.Errorf("a %s call was taken as the creator", name)
		}
	}

	// Trusted automation lowers a critical exposure to high, never below,
	// and the root user raises nothing lower than high.
	trusted := exposure()
	o := detect.Scoring{TrustedPrincipals: []string{c.Actor.ARN}}
	if !CreatedBy(&trusted, c, o) || trusted.Severity != detect.High || trusted.SeverityBeforeAutomation != detect.Critical {
		t.Errorf("trusted creator: %s (before %q), want high (before critical)", trusted.Severity, trusted.SeverityBeforeAutomation)
	}
	root := exposure()
	rc := c
	rc.Actor = detect.Actor{Type: "Root", ARN: "arn:aws:iam::111122223333:root", AccessKeyID: "AKIAEXAMPLEEXAMPLE02", CredentialType: detect.LongTerm}
	if !CreatedBy(&root, rc, detect.Scoring{}) || root.Severity != detect.Critical || !strings.Contains(strings.Join(root.Reasons, "\n"), "created by the root user") {
		t.Errorf("root creator: %s %q", root.Severity, root.Reasons)
	}
}

// TestResolve: a resolved finding is info, remembers the severity and key
// of its exposure, and has no undo and no actor.
func TestResolve(t *testing.T) {
	g := Group{SecurityGroup: detect.SecurityGroup{ID: "sg-0123456789abcdef0"}, Rules: []detect.Rule{sweepRule("sgr-00000000000000001", detect.Ingress, "tcp", 22, 22, "0.0.0.0/0")}}
	e := Exposures(g, "eu-west-1", "111122223333", sweepAt, detect.Scoring{})[0]
	e.Actor = detect.Actor{Type: "IAMUser", UserName: "alice"}
	e.Sweep.FirstSeen = "2026-11-20T06:00:00Z"
	r := Resolve(e, sweepAt.Add(time.Hour), detect.Scoring{})
	switch {
	case r.Action != detect.Resolved || r.Severity != detect.Info:
		t.Errorf("%s %s, want resolved info", r.Action, r.Severity)
	case r.Sweep.Was != detect.Critical || r.Sweep.Key != e.Sweep.Key || r.Sweep.FirstSeen != "2026-11-20T06:00:00Z" || r.Sweep.FoundAt != "2026-11-27T07:00:00Z":
		t.Errorf("sweep %+v", r.Sweep)
	case r.Undo != nil || r.Actor.Type != "":
		t.Errorf("undo %+v, actor %+v", r.Undo, r.Actor)
	case !strings.Contains(r.Reasons[0], "it was critical"):
		t.Errorf("reasons %q", r.Reasons)
	}
	if e.Action != detect.Exposure || e.Undo == nil {
		t.Error("Resolve changed the exposure")
	}
}

// TestListed reads rules as DescribeSecurityGroupRules lists them.
func TestListed(t *testing.T) {
	n := func(v int32) *int32 { return &v }
	r := detect.Listed{ID: "sgr-00000000000000001", Protocol: "6", FromPort: n(22), ToPort: n(22), CIDRIPv4: "0.0.0.0/0", Description: "d"}.Rule()
	if r.Direction != detect.Ingress || r.Protocol != "tcp" || *r.FromPort != 22 || *r.ToPort != 22 || r.RuleID != "sgr-00000000000000001" || r.Description != "d" {
		t.Errorf("tcp rule read as %+v", r)
	}
	all := detect.Listed{ID: "sgr-00000000000000002", Egress: true, Protocol: "-1", FromPort: n(-1), ToPort: n(-1), CIDRIPv6: "::/0"}.Rule()
	if all.Direction != detect.Egress || all.Protocol != "all" || all.FromPort != nil || all.CIDRIPv6 != "::/0" {
		t.Errorf("all-traffic egress read as %+v", all)
	}
	icmp := detect.Listed{Protocol: "icmp", FromPort: n(-1), ToPort: n(-1), ReferencedGroupID: "sg-0123456789abcdef0"}.Rule()
	if icmp.Protocol != "icmp" || *icmp.FromPort != -1 || icmp.ReferencedGroupID != "sg-0123456789abcdef0" {
		t.Errorf("icmp read as %+v", icmp)
	}
}

// TestCreatorContentMismatch (a regression): CreatedBy matches an event to an
// exposure by rule id alone. The newest event that names the rule is taken
// as who "created" it even when it set the rule to something else: Alice
// added sgr-… as 10.0.0.0/8 (private); Mallory's ModifySecurityGroupRules
// that widened it to 0.0.0.0/0 is not (yet) in LookupEvents (CloudTrail's
// event history lags minutes; the sweep runs hourly) or not among the
// events listed under the group. Alice is named as the creator of the
// world SSH rule ("Ask Alice, who created the rule, why; if they did not,
// treat their credentials as compromised").
func TestCreatorContentMismatch(t *testing.T) {
	data, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		t.Fatal(err)
	}
	private := strings.ReplaceAll(string(data), `"0.0.0.0/0"`, `"10.0.0.0/8"`)
	b, err := detect.Parse([]byte(private), detect.Scoring{})
	if err != nil || len(b.Findings) != 1 || b.Findings[0].Rules[0].CIDRIPv4 != "10.0.0.0/8" || b.Findings[0].Rules[0].RuleID != "sgr-0c0ffee0c0ffee001" {
		t.Fatalf("parse: %v %+v", err, b.Findings)
	}
	c := b.Findings[0]
	g := Group{SecurityGroup: detect.SecurityGroup{ID: c.SecurityGroup.ID}, Rules: []detect.Rule{sweepRule("sgr-0c0ffee0c0ffee001", detect.Ingress, "tcp", 22, 22, "0.0.0.0/0")}}
	f := Exposures(g, "eu-west-1", "111122223333", sweepAt, detect.Scoring{})[0]
	if CreatedBy(&f, c, detect.Scoring{}) {
		t.Errorf("an event that added the rule as 10.0.0.0/8 was taken as the creator of its 0.0.0.0/0 exposure: actor %s", f.Actor.ARN)
	}
}
