package detect

import (
	"os"
	"strings"
	"testing"
	"time"
)

var sweepAt = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

func sweepRule(id string, dir Direction, proto string, from, to int, cidr string) Rule {
	r := rule(dir, proto, from, to, cidr)
	r.RuleID = id
	return r
}

// TestExposures holds the sweep's should-match and should-not-match groups:
// only ingress open to the whole internet is an exposure, critical when it
// reaches every port or a sensitive one, else high.
func TestExposures(t *testing.T) {
	web := SecurityGroup{ID: "sg-0123456789abcdef0", Name: "web", VPCID: "vpc-0123456789abcdef0"}
	cases := []struct {
		name  string
		rules []Rule
		want  map[string]Severity // rule id → severity
		why   string              // in the first reason of each
	}{
		{"world ssh", []Rule{sweepRule("sgr-00000000000000001", Ingress, "tcp", 22, 22, "0.0.0.0/0")},
			map[string]Severity{"sgr-00000000000000001": Critical}, "SSH (22)"},
		{"world 443", []Rule{sweepRule("sgr-00000000000000002", Ingress, "tcp", 443, 443, "0.0.0.0/0")},
			map[string]Severity{"sgr-00000000000000002": High}, "open to the whole internet now"},
		{"ipv6 rdp", []Rule{sweepRule("sgr-00000000000000003", Ingress, "tcp", 3389, 3389, "::/0")},
			map[string]Severity{"sgr-00000000000000003": Critical}, "RDP (3389)"},
		{"split halves", []Rule{
			sweepRule("sgr-00000000000000004", Ingress, "tcp", 22, 22, "0.0.0.0/1"),
			sweepRule("sgr-00000000000000005", Ingress, "tcp", 22, 22, "128.0.0.0/1")},
			map[string]Severity{"sgr-00000000000000004": Critical, "sgr-00000000000000005": Critical}, "the whole IPv4 internet"},
		{"quarters together", []Rule{
			sweepRule("sgr-00000000000000014", Ingress, "tcp", 22, 22, "0.0.0.0/2"),
			sweepRule("sgr-00000000000000015", Ingress, "tcp", 23, 23, "64.0.0.0/2"),
			sweepRule("sgr-00000000000000016", Ingress, "tcp", 0, 65535, "128.0.0.0/2")},
			map[string]Severity{"sgr-00000000000000014": Critical, "sgr-00000000000000016": Critical}, "together with"},
		{"all traffic", []Rule{{RuleID: "sgr-00000000000000006", Direction: Ingress, Protocol: "all", CIDRIPv4: "0.0.0.0/0"}},
			map[string]Severity{"sgr-00000000000000006": Critical}, "every port"},
		{"private only", []Rule{
			sweepRule("sgr-00000000000000007", Ingress, "tcp", 22, 22, "10.0.0.0/8"),
			sweepRule("sgr-00000000000000008", Ingress, "tcp", 3306, 3306, "172.16.0.0/12")}, nil, ""},
		{"one public quarter is not the world", []Rule{sweepRule("sgr-00000000000000009", Ingress, "tcp", 22, 22, "0.0.0.0/2")}, nil, ""},
		{"quarters on different ports are not", []Rule{
			sweepRule("sgr-00000000000000010", Ingress, "tcp", 22, 22, "0.0.0.0/2"),
			sweepRule("sgr-00000000000000011", Ingress, "tcp", 23, 23, "64.0.0.0/2")}, nil, ""},
		{"world egress is no exposure", []Rule{sweepRule("sgr-0000000000000000a", Egress, "-1", 0, 0, "0.0.0.0/0")}, nil, ""},
		{"group and prefix list sources", []Rule{
			{RuleID: "sgr-0000000000000000b", Direction: Ingress, Protocol: "tcp", FromPort: p(22), ToPort: p(22), ReferencedGroupID: "sg-0fedcba9876543210"},
			{RuleID: "sgr-0000000000000000c", Direction: Ingress, Protocol: "tcp", FromPort: p(22), ToPort: p(22), PrefixListID: "pl-0123456789abcdef0"}}, nil, ""},
		{"unreadable source fails closed", []Rule{{RuleID: "sgr-0000000000000000d", Direction: Ingress, Protocol: "tcp", FromPort: p(22), ToPort: p(22), CIDRIPv4: "not-a-cidr"}},
			map[string]Severity{"sgr-0000000000000000d": Critical}, "not understood"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := Options{}.Exposures(Group{SecurityGroup: web, Rules: c.rules}, "eu-west-1", "111122223333", sweepAt)
			if len(fs) != len(c.want) {
				t.Fatalf("%d exposures, want %d: %+v", len(fs), len(c.want), fs)
			}
			for _, f := range fs {
				id := f.Rules[0].RuleID
				if f.Action != Exposure || f.Severity != c.want[id] {
					t.Errorf("%s: %s %s, want exposure %s", id, f.Action, f.Severity, c.want[id])
				}
				if !strings.Contains(strings.Join(f.Reasons, "\n"), c.why) {
					t.Errorf("%s: reasons %q do not say %q", id, f.Reasons, c.why)
				}
				want := "aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0123456789abcdef0 --security-group-rule-ids " + id
				if f.Undo == nil || f.Undo.Command != want || f.Undo.Account != "111122223333" {
					t.Errorf("%s: undo %+v, want %q in 111122223333", id, f.Undo, want)
				}
				if f.Event.Name != SweepCall || f.Event.Time != "2026-11-27T06:00:00Z" || f.Sweep == nil || f.Sweep.FoundAt != f.Event.Time {
					t.Errorf("%s: event %+v sweep %+v", id, f.Event, f.Sweep)
				}
				if f.Sweep.Key != RuleKey(web.ID, f.Rules[0]) {
					t.Errorf("%s: key %q", id, f.Sweep.Key)
				}
			}
		})
	}
}

// TestRuleKey: a rule changed in place has a new key; a new description
// does not change what it allows, nor its key.
func TestRuleKey(t *testing.T) {
	r := sweepRule("sgr-00000000000000001", Ingress, "tcp", 22, 22, "0.0.0.0/0")
	k := RuleKey("sg-0123456789abcdef0", r)
	if !strings.HasPrefix(k, "sgr-00000000000000001#") {
		t.Errorf("key %q does not start with the rule id", k)
	}
	d := r
	d.Description = "changed"
	if RuleKey("sg-0123456789abcdef0", d) != k {
		t.Error("a description changed the key")
	}
	for name, change := range map[string]func(*Rule){
		"port":      func(r *Rule) { r.ToPort = p(23) },
		"protocol":  func(r *Rule) { r.Protocol = "udp" },
		"source":    func(r *Rule) { r.CIDRIPv4 = "0.0.0.0/1" },
		"direction": func(r *Rule) { r.Direction = Egress },
		"to ipv6":   func(r *Rule) { r.CIDRIPv4, r.CIDRIPv6 = "", "::/0" },
	} {
		c := r
		change(&c)
		if RuleKey("sg-0123456789abcdef0", c) == k {
			t.Errorf("a changed %s kept the key", name)
		}
	}
	if RuleKey("sg-0fedcba9876543210", r) == k {
		t.Error("another group kept the key")
	}
}

// TestCreatedBy attaches the creating event of a sample to the exposure of
// its rule, and refuses events that did not create it.
func TestCreatedBy(t *testing.T) {
	data, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		t.Fatal(err)
	}
	created, err := Parse(data)
	if err != nil || len(created) != 1 {
		t.Fatalf("parse sample: %v, %d findings", err, len(created))
	}
	c := created[0]
	g := Group{SecurityGroup: SecurityGroup{ID: c.SecurityGroup.ID}, Rules: []Rule{sweepRule("sgr-0c0ffee0c0ffee001", Ingress, "tcp", 22, 22, "0.0.0.0/0")}}
	exposure := func() Finding { return Options{}.Exposures(g, "us-east-1", "111122223333", sweepAt)[0] }

	f := exposure()
	if !(Options{}).CreatedBy(&f, c) {
		t.Fatal("the sample's event did not create its rule")
	}
	if f.Actor != c.Actor || f.Sweep.Created == nil || f.Sweep.Created.EventID != c.Event.ID || f.Sweep.Created.Time != c.Event.Time || f.Sweep.Created.EventName != c.Event.Name {
		t.Errorf("creator not recorded: actor %+v created %+v", f.Actor, f.Sweep.Created)
	}

	other := exposure()
	other.Rules[0].RuleID = "sgr-00000000000000099"
	if (Options{}).CreatedBy(&other, c) || other.Actor.Type != "" {
		t.Error("an event that created another rule was taken as the creator")
	}
	failed := c
	failed.Outcome = Failed
	revoke := c
	revoke.Event.Name = "RevokeSecurityGroupIngress"
	for name, bad := range map[string]Finding{"failed": failed, "revoke": revoke} {
		f := exposure()
		if (Options{}).CreatedBy(&f, bad) {
			t.Errorf("a %s call was taken as the creator", name)
		}
	}

	// Trusted automation lowers a critical exposure to high, never below,
	// and the root user raises nothing lower than high.
	trusted := exposure()
	o := Options{TrustedPrincipals: []string{c.Actor.ARN}}
	if !o.CreatedBy(&trusted, c) || trusted.Severity != High || trusted.SeverityBeforeAutomation != Critical {
		t.Errorf("trusted creator: %s (before %q), want high (before critical)", trusted.Severity, trusted.SeverityBeforeAutomation)
	}
	root := exposure()
	rc := c
	rc.Actor = Actor{Type: "Root", ARN: "arn:aws:iam::111122223333:root", AccessKeyID: "AKIAEXAMPLEEXAMPLE02", CredentialType: LongTerm}
	if !(Options{}).CreatedBy(&root, rc) || root.Severity != Critical || !strings.Contains(strings.Join(root.Reasons, "\n"), "created by the root user") {
		t.Errorf("root creator: %s %q", root.Severity, root.Reasons)
	}
}

// TestResolve: a resolved finding is info, remembers the severity and key
// of its exposure, and has no undo and no actor.
func TestResolve(t *testing.T) {
	g := Group{SecurityGroup: SecurityGroup{ID: "sg-0123456789abcdef0"}, Rules: []Rule{sweepRule("sgr-00000000000000001", Ingress, "tcp", 22, 22, "0.0.0.0/0")}}
	e := Options{}.Exposures(g, "eu-west-1", "111122223333", sweepAt)[0]
	e.Actor = Actor{Type: "IAMUser", UserName: "alice"}
	e.Sweep.FirstSeen = "2026-11-20T06:00:00Z"
	r := Options{}.Resolve(e, sweepAt.Add(time.Hour))
	switch {
	case r.Action != Resolved || r.Severity != Info:
		t.Errorf("%s %s, want resolved info", r.Action, r.Severity)
	case r.Sweep.Was != Critical || r.Sweep.Key != e.Sweep.Key || r.Sweep.FirstSeen != "2026-11-20T06:00:00Z" || r.Sweep.FoundAt != "2026-11-27T07:00:00Z":
		t.Errorf("sweep %+v", r.Sweep)
	case r.Undo != nil || r.Actor.Type != "":
		t.Errorf("undo %+v, actor %+v", r.Undo, r.Actor)
	case !strings.Contains(r.Reasons[0], "it was critical"):
		t.Errorf("reasons %q", r.Reasons)
	}
	if e.Action != Exposure || e.Undo == nil {
		t.Error("Resolve changed the exposure")
	}
}

// TestListed reads rules as DescribeSecurityGroupRules lists them.
func TestListed(t *testing.T) {
	n := func(v int32) *int32 { return &v }
	r := Listed{ID: "sgr-00000000000000001", Protocol: "6", FromPort: n(22), ToPort: n(22), CIDRIPv4: "0.0.0.0/0", Description: "d"}.Rule()
	if r.Direction != Ingress || r.Protocol != "tcp" || *r.FromPort != 22 || *r.ToPort != 22 || r.RuleID != "sgr-00000000000000001" || r.Description != "d" {
		t.Errorf("tcp rule read as %+v", r)
	}
	all := Listed{ID: "sgr-00000000000000002", Egress: true, Protocol: "-1", FromPort: n(-1), ToPort: n(-1), CIDRIPv6: "::/0"}.Rule()
	if all.Direction != Egress || all.Protocol != "all" || all.FromPort != nil || all.CIDRIPv6 != "::/0" {
		t.Errorf("all-traffic egress read as %+v", all)
	}
	icmp := Listed{Protocol: "icmp", FromPort: n(-1), ToPort: n(-1), ReferencedGroupID: "sg-0123456789abcdef0"}.Rule()
	if icmp.Protocol != "icmp" || *icmp.FromPort != -1 || icmp.ReferencedGroupID != "sg-0123456789abcdef0" {
		t.Errorf("icmp read as %+v", icmp)
	}
}
