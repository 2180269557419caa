package detect

import (
	"cmp"
	"strings"
	"testing"
)

func p(n int) *int { return &n }

// TestScore has a case for every rule of the severity table in the README
// (issue 2, section 3), and for the traps peers fall into.
func TestScore(t *testing.T) {
	tcp := func(from, to int, cidr string) Rule {
		r := Rule{Direction: Ingress, Protocol: "tcp", FromPort: p(from), ToPort: p(to)}
		if strings.Contains(cidr, ":") {
			r.CIDRIPv6 = cidr
		} else {
			r.CIDRIPv4 = cidr
		}
		return r
	}
	egress := func(r Rule) Rule { r.Direction = Egress; return r }
	noDir := func(r Rule) Rule { r.Direction = ""; return r }
	user := Actor{Type: "IAMUser", UserName: "u"}
	root := Actor{Type: "Root"}
	cases := []scoreCase{
		// critical
		{"ssh from 0.0.0.0/0", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{tcp(22, 22, "0.0.0.0/0")}, Critical, "SSH (22)"},
		{"rdp from ::/0", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{tcp(3389, 3389, "::/0")}, Critical, "::/0 (whole internet)"},
		{"ipv6 world in the ipv4 field", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{{Direction: Ingress, Protocol: "tcp", FromPort: p(22), ToPort: p(22), CIDRIPv4: "::/0"}}, Critical, "SSH"},
		{"odd address with /0", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{tcp(22, 22, "208.236.235.254/0")}, Critical, "208.236.235.254/0"},
		{"range contains mysql and rdp", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{tcp(3000, 4000, "0.0.0.0/0")}, Critical, "MySQL (3306), RDP (3389)"},
		{"range ends on a sensitive port", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{tcp(6000, 6379, "0.0.0.0/0")}, Critical, "Redis"},
		{"range starts inside winrm", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{tcp(5986, 5990, "0.0.0.0/0")}, Critical, "WinRM (5985-5986)"},
		{"every catalogue port", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{tcp(27017, 27017, "0.0.0.0/0")}, Critical, "MongoDB"},
		{"udp netbios", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{{Direction: Ingress, Protocol: "udp", FromPort: p(137), ToPort: p(138), CIDRIPv4: "0.0.0.0/0"}}, Critical, "NetBIOS"},
		{"protocol all", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{{Direction: Ingress, Protocol: "all", CIDRIPv4: "0.0.0.0/0"}}, Critical, "all traffic"},
		{"tcp 0-65535", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{tcp(0, 65535, "0.0.0.0/0")}, Critical, "every port"},
		{"modify rules scored as ingress", "ModifySecurityGroupRules", Succeeded, "", user, []Rule{noDir(tcp(1433, 1433, "0.0.0.0/0"))}, Critical, "MS SQL"},
		{"world ssh by root stays critical", "AuthorizeSecurityGroupIngress", Succeeded, "", root, []Rule{tcp(22, 22, "0.0.0.0/0")}, Critical, "SSH"},
		{"second rule is the world one", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{tcp(22, 22, "10.0.0.0/8"), tcp(9200, 9300, "0.0.0.0/0")}, Critical, "Elasticsearch"},
		// high
		{"https from the world", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{tcp(443, 443, "0.0.0.0/0")}, High, "tcp/443"},
		{"ports between smtp and kerberos", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{tcp(26, 87, "0.0.0.0/0")}, High, "tcp/26-87"},
		{"icmp from the world", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{{Direction: Ingress, Protocol: "icmp", FromPort: p(-1), ToPort: p(-1), CIDRIPv4: "0.0.0.0/0"}}, High, "icmp (all types)"},
		{"gre from the world", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{{Direction: Ingress, Protocol: "47", CIDRIPv6: "::/0"}}, High, "47"},
		{"modify to world https", "ModifySecurityGroupRules", Succeeded, "", user, []Rule{noDir(tcp(443, 443, "0.0.0.0/0"))}, High, "whole internet"},
		{"root revokes", "RevokeSecurityGroupIngress", Succeeded, "", root, []Rule{tcp(22, 22, "10.0.0.0/8")}, High, "root user"},
		{"root creates", "CreateSecurityGroup", Succeeded, "", root, nil, High, "root user"},
		{"root deletes", "DeleteSecurityGroup", Succeeded, "", root, nil, High, "root user"},
		// medium
		{"egress everything to the world", "AuthorizeSecurityGroupEgress", Succeeded, "", user, []Rule{egress(Rule{Protocol: "all", CIDRIPv4: "0.0.0.0/0"})}, Medium, "egress to 0.0.0.0/0"},
		{"egress ssh to the world is not ingress", "AuthorizeSecurityGroupEgress", Succeeded, "", user, []Rule{egress(tcp(22, 22, "::/0"))}, Medium, "egress"},
		{"unauthorized", "AuthorizeSecurityGroupIngress", Failed, "Client.UnauthorizedOperation", user, []Rule{tcp(22, 22, "0.0.0.0/0")}, Medium, "without permission"},
		{"access denied", "DeleteSecurityGroup", Failed, "AccessDenied", user, nil, Medium, "without permission"},
		{"unauthorized dry run", "AuthorizeSecurityGroupIngress", Failed, "Client.UnauthorizedOperation", user, nil, Medium, "denied"},
		{"root but failed", "AuthorizeSecurityGroupIngress", Failed, "Client.UnauthorizedOperation", root, []Rule{tcp(22, 22, "0.0.0.0/0")}, Medium, "denied"},
		// low
		{"private ssh", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{tcp(22, 22, "10.0.0.0/8")}, Low, "adds or changes"},
		{"a /5 of the internet is not the whole", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{tcp(443, 443, "32.0.0.0/5")}, Medium, "32.0.0.0/5, a public range broader than /16"},
		{"referenced group", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{{Direction: Ingress, Protocol: "all", ReferencedGroupID: "sg-2"}}, Low, "adds"},
		{"prefix list to https", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{{Direction: Ingress, Protocol: "tcp", FromPort: p(443), ToPort: p(443), PrefixListID: "pl-1"}}, Low, "adds"},
		{"prefix list to ssh: its entries are unknown", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{{Direction: Ingress, Protocol: "tcp", FromPort: p(22), ToPort: p(22), PrefixListID: "pl-0123456789abcdef0"}}, Medium,
			"ingress from prefix list pl-0123456789abcdef0 to tcp/22: SSH (22); the event does not hold the list's entries (aws ec2 get-managed-prefix-list-entries --prefix-list-id pl-0123456789abcdef0)"},
		{"odd prefix list id gets no command", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{{Direction: Ingress, Protocol: "all", PrefixListID: "pl-1;id"}}, Medium, "the event does not hold the list's entries"},
		{"private egress", "AuthorizeSecurityGroupEgress", Succeeded, "", user, []Rule{egress(tcp(443, 443, "10.0.0.0/8"))}, Low, "adds"},
		{"modify private", "ModifySecurityGroupRules", Succeeded, "", user, []Rule{noDir(tcp(22, 22, "10.0.0.0/8"))}, Low, "adds"},
		{"create", "CreateSecurityGroup", Succeeded, "", user, nil, Low, "creates"},
		{"delete", "DeleteSecurityGroup", Succeeded, "", user, nil, Low, "deletes"},
		{"associate", "AssociateSecurityGroupVpc", Succeeded, "", user, nil, Low, "VPCs"},
		{"disassociate", "DisassociateSecurityGroupVpc", Succeeded, "", user, nil, Low, "VPCs"},
		// info
		{"revoke world ssh", "RevokeSecurityGroupIngress", Succeeded, "", user, []Rule{tcp(22, 22, "0.0.0.0/0")}, Info, "revokes"},
		{"revoke world egress", "RevokeSecurityGroupEgress", Succeeded, "", user, []Rule{egress(tcp(22, 22, "0.0.0.0/0"))}, Info, "revokes"},
		{"update descriptions of a world rule", "UpdateSecurityGroupRuleDescriptionsIngress", Succeeded, "", user, []Rule{tcp(22, 22, "0.0.0.0/0")}, Info, "descriptions"},
		{"update egress descriptions", "UpdateSecurityGroupRuleDescriptionsEgress", Succeeded, "", user, nil, Info, "descriptions"},
		{"dry run of world ssh", "AuthorizeSecurityGroupIngress", DryRun, "Client.DryRunOperation", user, []Rule{tcp(22, 22, "0.0.0.0/0")}, Info, "dry run"},
		{"root dry run", "DeleteSecurityGroup", DryRun, "Client.DryRunOperation", root, nil, Info, "dry run"},
		{"duplicate of world ssh", "AuthorizeSecurityGroupIngress", Failed, "Client.InvalidPermission.Duplicate", user, []Rule{tcp(22, 22, "0.0.0.0/0")}, High, "already allowed: ingress from 0.0.0.0/0 (whole internet) to tcp/22: SSH (22)"},
		{"duplicate of a private rule", "AuthorizeSecurityGroupIngress", Failed, "Client.InvalidPermission.Duplicate", user, []Rule{tcp(22, 22, "10.0.0.0/8")}, Info, "the rule already exists"},
		{"failed without a code", "DeleteSecurityGroup", Failed, "", user, nil, Info, "no error code"},
	}
	runScore(t, cases, Scoring{}, true)
}

// scoreCase is one row of a scoring table.
type scoreCase struct {
	name    string
	event   string
	outcome Outcome
	code    string
	actor   Actor
	rules   []Rule
	want    Severity
	reason  string // a substring of the first reason (first) or of any reason
}

func runScore(t *testing.T, cases []scoreCase, o Scoring, first bool) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &Finding{Action: byName[c.event].Action, Outcome: c.outcome, Event: Event{Name: c.event}, Actor: c.actor, Rules: c.rules}
			if c.code != "" || c.outcome == Failed {
				f.Error = &CallError{Code: c.code}
			}
			o.Score(f)
			sev, reasons := f.Severity, f.Reasons
			if sev != c.want {
				t.Errorf("severity %s, want %s (reasons %q)", sev, c.want, reasons)
			}
			found := false
			for i, r := range reasons {
				if (i == 0 || !first) && strings.Contains(r, c.reason) {
					found = true
				}
			}
			if !found {
				t.Errorf("reasons %q do not say %q", reasons, c.reason)
			}
		})
	}
}

func TestEveryCataloguePortIsCritical(t *testing.T) {
	for _, sp := range sensitivePorts {
		for _, port := range []int{sp.From, sp.To} {
			f := &Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: "AuthorizeSecurityGroupIngress"},
				Rules: []Rule{{Direction: Ingress, Protocol: cmp.Or(sp.Proto, "tcp"), FromPort: p(port), ToPort: p(port), CIDRIPv4: "0.0.0.0/0"}}}
			(Scoring{}).Score(f)
			if f.Severity != Critical {
				t.Errorf("%s/%d (%s) from the world: %s, want critical", f.Rules[0].Protocol, port, sp.Name, f.Severity)
			}
		}
	}
}

func TestParseSeverity(t *testing.T) {
	for _, s := range []string{"info", "LOW", " Medium ", "high", "critical"} {
		if _, err := ParseSeverity(s); err != nil {
			t.Errorf("ParseSeverity(%q): %v", s, err)
		}
	}
	if _, err := ParseSeverity("urgent"); err == nil || !strings.Contains(err.Error(), "urgent") {
		t.Errorf("ParseSeverity(urgent) error = %v", err)
	}
	if !(Info.Rank() < Low.Rank() && Low.Rank() < Medium.Rank() && Medium.Rank() < High.Rank() && High.Rank() < Critical.Rank()) {
		t.Error("severity ranks out of order")
	}
}

func TestTarget(t *testing.T) {
	cases := map[string]Rule{
		"tcp/22":             {Protocol: "tcp", FromPort: p(22), ToPort: p(22)},
		"udp/137-139":        {Protocol: "udp", FromPort: p(137), ToPort: p(139)},
		"all traffic":        {Protocol: "all"},
		"icmp type 8 code 0": {Protocol: "icmp", FromPort: p(8), ToPort: p(0)},
		"icmpv6 (all types)": {Protocol: "icmpv6", FromPort: p(-1), ToPort: p(-1)},
		"protocol 50":        {Protocol: "50"},
		"unknown protocol (counted as all traffic)": {FromPort: p(1), ToPort: p(2)},
		"tcp (every port)":                          {Protocol: "tcp"},
	}
	for want, r := range cases {
		if got := Target(r); got != want {
			t.Errorf("Target(%+v) = %q, want %q", r, got, want)
		}
	}
}
