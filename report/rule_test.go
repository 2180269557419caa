package report

import (
	"strings"
	"testing"

	"github.com/sgwatch/sgwatch/detect"
)

// TestRuleLine checks the markers of a rule line: why a source is the
// whole internet, a revoke that matched nothing, an assumed direction.
func TestRuleLine(t *testing.T) {
	p22 := 22
	in := detect.Ingress
	ssh := func(r detect.Rule) detect.Rule {
		r.Protocol, r.FromPort, r.ToPort = "tcp", &p22, &p22
		return r
	}
	cases := []struct {
		name  string
		event string
		rule  detect.Rule
		want  string
	}{
		{"whole internet as /0", "AuthorizeSecurityGroupIngress", ssh(detect.Rule{Direction: in, CIDRIPv4: "0.0.0.0/0"}),
			"+ ingress tcp/22 from 0.0.0.0/0 (whole internet)"},
		{"whole internet as /0, IPv6", "AuthorizeSecurityGroupIngress", ssh(detect.Rule{Direction: in, CIDRIPv6: "::/0"}),
			"+ ingress tcp/22 from ::/0 (whole internet)"},
		{"whole internet in halves", "AuthorizeSecurityGroupIngress",
			ssh(detect.Rule{Direction: in, CIDRIPv4: "0.0.0.0/1", Exposure: "the whole IPv4 internet, together with 128.0.0.0/1"}),
			"+ ingress tcp/22 from 0.0.0.0/1 (the whole IPv4 internet, together with 128.0.0.0/1)"},
		{"source not understood", "AuthorizeSecurityGroupIngress",
			ssh(detect.Rule{Direction: in, Exposure: "source not understood: counted as the whole internet"}),
			"+ ingress tcp/22 (source not understood: counted as the whole internet)"},
		{"hostile exposure", "AuthorizeSecurityGroupIngress",
			ssh(detect.Rule{Direction: in, CIDRIPv4: "0.0.0.0/00", Exposure: "source \u202e0.0.0.0/00\n not understood"}),
			"+ ingress tcp/22 from 0.0.0.0/00 (source ?0.0.0.0/00? not understood)"},
		{"revoke that matched nothing", "RevokeSecurityGroupIngress", ssh(detect.Rule{Direction: in, CIDRIPv4: "0.0.0.0/0", Unmatched: true}),
			"- ingress tcp/22 from 0.0.0.0/0 (no such rule: nothing revoked)"},
		{"revoke by id that matched nothing", "RevokeSecurityGroupEgress", detect.Rule{Direction: detect.Egress, RuleID: "sgr-1", Unmatched: true},
			"- egress rule sgr-1 (no such rule: nothing revoked)"},
		{"revoke that matched", "RevokeSecurityGroupIngress", ssh(detect.Rule{Direction: in, CIDRIPv4: "10.0.0.0/8"}),
			"- ingress tcp/22 from 10.0.0.0/8"},
		{"direction not said", "ModifySecurityGroupRules", ssh(detect.Rule{CIDRIPv4: "0.0.0.0/0", RuleID: "sgr-2"}),
			"~ ingress (assumed) tcp/22 from 0.0.0.0/0 (whole internet) [sgr-2]"},
		{"egress", "AuthorizeSecurityGroupEgress", ssh(detect.Rule{Direction: detect.Egress, PrefixListID: "pl-1", Description: "to s3"}),
			`+ egress tcp/22 to pl-1 (prefix list) "to s3"`},
		{"group of the same account", "AuthorizeSecurityGroupIngress", ssh(detect.Rule{Direction: in, ReferencedGroupID: "sg-1"}),
			"+ ingress tcp/22 from sg-1 (security group)"},
		{"group of another account", "AuthorizeSecurityGroupIngress", ssh(detect.Rule{Direction: in, ReferencedGroupID: "sg-1", ReferencedGroupOwnerID: "444455556666"}),
			"+ ingress tcp/22 from sg-1 (security group of account 444455556666)"},
		{"group of an owner that is not an account id", "RevokeSecurityGroupIngress",
			ssh(detect.Rule{Direction: in, ReferencedGroupID: "sg-1", ReferencedGroupOwnerID: "4444\u202e\nSubject: x 5555666677778888999900001111"}),
			`- ingress tcp/22 from sg-1 (security group of account "4444??Subject: x 5555666…" (not a 12-digit account id))`},
	}
	for _, c := range cases {
		f := detect.Finding{Severity: detect.High, Event: detect.Event{Name: c.event}, Rules: []detect.Rule{c.rule}}
		body := textOf(t, f)
		if !strings.Contains(body, "\n  "+c.want+"\n") {
			t.Errorf("%s: no line %q in\n%s", c.name, c.want, body)
		}
	}
}
