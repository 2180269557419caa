package detect

import (
	"os"
	"strings"
	"testing"
)

func rule(dir Direction, proto string, from, to int, cidr string) Rule {
	r := Rule{Direction: dir, Protocol: proto, FromPort: p(from), ToPort: p(to)}
	if strings.Contains(cidr, ":") {
		r.CIDRIPv6 = cidr
	} else {
		r.CIDRIPv4 = cidr
	}
	return r
}

// TestSharperRisk covers issue 4, section 2: long-term root keys, broad
// public ranges, and sensitive ports from any public range. It never lowers
// what the core rules give.
func TestSharperRisk(t *testing.T) {
	user := Actor{Type: "IAMUser", AccessKeyID: "AKIAEXAMPLEEXAMPLE01", CredentialType: LongTerm}
	rootKey := Actor{Type: "Root", AccessKeyID: "AKIAEXAMPLEEXAMPLE02", CredentialType: LongTerm}
	rootTemp := Actor{Type: "Root", AccessKeyID: "ASIAEXAMPLEEXAMPLE03", CredentialType: Temporary}
	in := func(from, to int, cidr string) []Rule { return []Rule{rule(Ingress, "tcp", from, to, cidr)} }
	runScore(t, []scoreCase{
		// long-term root keys
		{"root long-term key creates", "CreateSecurityGroup", Succeeded, "", rootKey, nil, Critical, "long-term access key (AKIAEXAM...)"},
		{"root long-term key revokes", "RevokeSecurityGroupIngress", Succeeded, "", rootKey, in(22, 22, "10.0.0.0/8"), Critical, "root should have no access keys"},
		{"root temporary key stays high", "CreateSecurityGroup", Succeeded, "", rootTemp, nil, High, "made by the root user"},
		{"root long-term key but denied", "CreateSecurityGroup", Failed, "Client.UnauthorizedOperation", rootKey, nil, Medium, "denied"},
		{"root long-term key dry run", "CreateSecurityGroup", DryRun, "Client.DryRunOperation", rootKey, nil, Info, "dry run"},
		{"long-term key of a user is not raised", "CreateSecurityGroup", Succeeded, "", user, nil, Low, "creates"},
		// broad public ranges
		{"public /8", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(443, 443, "52.0.0.0/8"), Medium, "52.0.0.0/8, a public range broader than /16, to tcp/443"},
		{"public /15", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(443, 443, "52.94.0.0/15"), Medium, "broader than /16"},
		{"public /16 is not broader", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(443, 443, "52.94.0.0/16"), Low, "adds"},
		{"public ipv6 /32", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(443, 443, "2600:1f00::/32"), Medium, "broader than /48"},
		{"public ipv6 /48 is not broader", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(443, 443, "2600:1f00:1::/48"), Low, "adds"},
		{"private /8 is not public", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(443, 443, "10.0.0.0/8"), Low, "adds"},
		{"shared space is not public", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(443, 443, "100.64.0.0/10"), Low, "adds"},
		{"unique local ipv6 is not public", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(443, 443, "fd00::/8"), Low, "adds"},
		{"broad egress is not ingress", "AuthorizeSecurityGroupEgress", Succeeded, "", user, []Rule{rule(Egress, "tcp", 443, 443, "52.0.0.0/8")}, Low, "adds"},
		{"modify rules: broad public", "ModifySecurityGroupRules", Succeeded, "", user, []Rule{rule("", "tcp", 443, 443, "52.0.0.0/8")}, Medium, "broader than /16"},
		// sensitive ports from any public range
		{"ssh from one public host", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(22, 22, "52.94.76.10/32"), Medium, "52.94.76.10/32 (public) to tcp/22: SSH (22)"},
		{"range with postgres from a public /24", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(5000, 6000, "52.94.76.0/24"), Medium, "PostgreSQL (5432)"},
		{"all traffic from a public host", "AuthorizeSecurityGroupIngress", Succeeded, "", user, []Rule{{Direction: Ingress, Protocol: "all", CIDRIPv4: "52.94.76.10/32"}}, Medium, "remote administration and databases included"},
		{"rdp from public ipv6", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(3389, 3389, "2600:1f00:1:2::/64"), Medium, "RDP (3389)"},
		{"ssh from documentation range is not public", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(22, 22, "198.51.100.7/32"), Low, "adds"},
		{"ssh from loopback is not public", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(22, 22, "127.0.0.1/32"), Low, "adds"},
		{"ssh from link-local is not public", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(22, 22, "169.254.169.254/32"), Low, "adds"},
		{"https from a public host is not raised", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(443, 443, "52.94.76.10/32"), Low, "adds"},
		{"revoke of public ssh is not raised", "RevokeSecurityGroupIngress", Succeeded, "", user, in(22, 22, "52.94.76.10/32"), Info, "revokes"},
		// never lowers the core rules
		{"world ssh stays critical", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(22, 22, "0.0.0.0/0"), Critical, "whole internet"},
		{"world https stays high", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(443, 443, "::/0"), High, "whole internet"},
	}, Scoring{}, false)
}

func TestExtraSensitivePorts(t *testing.T) {
	user := Actor{Type: "IAMUser"}
	o := Scoring{ExtraPorts: []PortRange{{8443, 8443, "", "port 8443 (EXTRA_SENSITIVE_PORTS)"}, {9000, 9100, "", "ports 9000-9100 (EXTRA_SENSITIVE_PORTS)"}}}
	in := func(from, to int, cidr string) []Rule { return []Rule{rule(Ingress, "tcp", from, to, cidr)} }
	runScore(t, []scoreCase{
		{"extra port from the world is critical", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(8443, 8443, "0.0.0.0/0"), Critical, "port 8443 (EXTRA_SENSITIVE_PORTS) (8443)"},
		{"range overlapping an extra range", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(9050, 9200, "::/0"), Critical, "9000-9100"},
		{"extra port from a public host is medium", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(9001, 9001, "52.94.76.10/32"), Medium, "(public)"},
		{"built-in catalogue still applies", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(22, 22, "0.0.0.0/0"), Critical, "SSH"},
		{"other ports unchanged", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(8081, 8081, "0.0.0.0/0"), High, "whole internet"},
	}, o, false)
	// The zero Scoring do not see them.
	runScore(t, []scoreCase{
		{"without the option 8443 is high", "AuthorizeSecurityGroupIngress", Succeeded, "", user, in(8443, 8443, "0.0.0.0/0"), High, "whole internet"},
	}, Scoring{}, false)
	// Extra ports extend a copy: the built-in catalogue stays as it is.
	if len(sensitivePorts) != len(builtin) {
		t.Errorf("the built-in catalogue changed: %d entries, want %d", len(sensitivePorts), len(builtin))
	}
}

// TestAutomation covers TRUSTED_PRINCIPALS and TRUSTED_SERVICES: one level
// lower, whole-internet ingress at least high.
func TestAutomation(t *testing.T) {
	o := Scoring{
		TrustedPrincipals: []string{"arn:aws:iam::111122223333:role/terraform-*", "arn:aws:sts::111122223333:assumed-role/ci/*"},
		TrustedServices: []TrustedService{
			{"cloudformation.amazonaws.com", "arn:aws:iam::111122223333:role/cfn-deployer"},
			{"cloudformation.amazonaws.com", "arn:aws:sts::111122223333:assumed-role/release/*"},
		},
	}
	tf := Actor{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/terraform-prod/s1", SessionIssuerARN: "arn:aws:iam::111122223333:role/terraform-prod"}
	ci := Actor{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/ci/build-42"}
	// A stack with a service role: CloudFormation acts as the role.
	cfn := Actor{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/cfn-deployer/AWSCloudFormation",
		SessionIssuerARN: "arn:aws:iam::111122223333:role/cfn-deployer", InvokedBy: "cloudformation.amazonaws.com"}
	// A stack without one: CloudFormation acts as whoever created it.
	release := Actor{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/release/pipeline-7",
		SessionIssuerARN: "arn:aws:iam::111122223333:role/release", InvokedBy: "cloudformation.amazonaws.com"}
	// Anyone else who can create a stack: not trusted.
	dev := Actor{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/developer/mallory",
		SessionIssuerARN: "arn:aws:iam::111122223333:role/developer", InvokedBy: "cloudformation.amazonaws.com"}
	// The trusted role itself, not through CloudFormation: not trusted.
	direct := Actor{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/cfn-deployer/someone",
		SessionIssuerARN: "arn:aws:iam::111122223333:role/cfn-deployer"}
	human := Actor{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/Admin/alice", SessionIssuerARN: "arn:aws:iam::111122223333:role/Admin"}
	other := Actor{Type: "AssumedRole", ARN: "arn:aws:sts::444455556666:assumed-role/terraform-prod/s1", SessionIssuerARN: "arn:aws:iam::444455556666:role/terraform-prod"}
	in := func(from, to int, cidr string) []Rule { return []Rule{rule(Ingress, "tcp", from, to, cidr)} }
	runScore(t, []scoreCase{
		{"session issuer matches: create low to info", "CreateSecurityGroup", Succeeded, "", tf, nil, Info, "trusted automation (arn:aws:iam::111122223333:role/terraform-prod): one level lower than low"},
		{"actor arn matches", "CreateSecurityGroup", Succeeded, "", ci, nil, Info, "trusted automation (arn:aws:sts::111122223333:assumed-role/ci/build-42)"},
		{"service as its role", "AuthorizeSecurityGroupIngress", Succeeded, "", cfn, in(443, 443, "10.0.0.0/8"), Info,
			"trusted automation (cloudformation.amazonaws.com as arn:aws:iam::111122223333:role/cfn-deployer)"},
		{"service as its caller", "CreateSecurityGroup", Succeeded, "", release, nil, Info,
			"trusted automation (cloudformation.amazonaws.com as arn:aws:sts::111122223333:assumed-role/release/pipeline-7)"},
		{"service as anyone else not lowered", "AuthorizeSecurityGroupIngress", Succeeded, "", dev, in(22, 22, "0.0.0.0/0"), Critical, "SSH"},
		{"bound principal without the service not lowered", "AuthorizeSecurityGroupIngress", Succeeded, "", direct, in(22, 22, "0.0.0.0/0"), Critical, "SSH"},
		{"broad public range medium to low", "AuthorizeSecurityGroupIngress", Succeeded, "", tf, in(443, 443, "52.0.0.0/8"), Low, "one level lower than medium"},
		{"world ssh critical to high", "AuthorizeSecurityGroupIngress", Succeeded, "", tf, in(22, 22, "0.0.0.0/0"), High, "one level lower than critical"},
		{"world https stays high", "AuthorizeSecurityGroupIngress", Succeeded, "", cfn, in(443, 443, "0.0.0.0/0"), High, "whole-internet ingress stays high"},
		{"world egress medium to low", "AuthorizeSecurityGroupEgress", Succeeded, "", cfn, []Rule{rule(Egress, "tcp", 443, 443, "0.0.0.0/0")}, Low, "one level lower than medium"},
		{"info stays info", "RevokeSecurityGroupIngress", Succeeded, "", tf, in(22, 22, "0.0.0.0/0"), Info, "revokes"},
		{"denied by automation medium to low", "DeleteSecurityGroup", Failed, "Client.UnauthorizedOperation", tf, nil, Low, "one level lower than medium"},
		{"human not lowered", "CreateSecurityGroup", Succeeded, "", human, nil, Low, "creates"},
		{"same role in another account not trusted", "AuthorizeSecurityGroupIngress", Succeeded, "", other, in(22, 22, "0.0.0.0/0"), Critical, "SSH"},
	}, o, false)

	f := &Finding{Action: Create, Outcome: Succeeded, Event: Event{Name: "CreateSecurityGroup"}, Actor: tf}
	o.Score(f)
	if f.Automation != "arn:aws:iam::111122223333:role/terraform-prod" || f.Severity != Info {
		t.Errorf("apply: automation %q severity %s", f.Automation, f.Severity)
	}
	f.Actor = human
	o.Score(f)
	if f.Automation != "" || f.Severity != Low {
		t.Errorf("apply to a human: automation %q severity %s", f.Automation, f.Severity)
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"arn:aws:iam::1:role/ci", "arn:aws:iam::1:role/ci", true},
		{"arn:aws:iam::1:role/ci", "arn:aws:iam::1:role/ci2", false},
		{"arn:aws:iam::1:role/ci*", "arn:aws:iam::1:role/ci2", true},
		{"*", "anything", true},
		{"arn:*:role/ci", "arn:aws:iam::1:role/ci", true},
		{"arn:*:role/ci", "arn:aws:iam::1:role/ci/x", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "acb", false},
		{"a*a", "a", false},
		{"*/terraform", "arn:aws:iam::1:role/terraform", true},
	}
	for _, c := range cases {
		if got := Match(c.pattern, c.s); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestCredentialTypeAndConsole(t *testing.T) {
	cases := []struct {
		file    string
		cred    string
		console bool
	}{
		{"../events/authorize-ingress-world-ssh.json", Temporary, false},
		{"../events/root-access-key-create-security-group.json", LongTerm, false},
		{"../events/authorize-ingress-public-ssh.json", Temporary, true},                                  // sessionCredentialFromConsole
		{"../testdata/cloudtrail/panther-analysis/AuthorizeSecurityGroupIngress-1.json", Temporary, true}, // console user agent
		{"../events/cloudformation-authorize-ingress-8443.json", Temporary, false},
	}
	for _, c := range cases {
		data, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		f := parseOne(t, data)
		if f == nil || f.Actor.CredentialType != c.cred || f.Actor.Console != c.console {
			t.Errorf("%s: %+v, want credentialType %q console %v", c.file, f.Actor, c.cred, c.console)
		}
	}
}
