package detect

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// revertRule is an ingress tcp rule of id from cidr.
func revertRule(port int, cidr, id string) Rule {
	return Rule{Direction: Ingress, Protocol: "tcp", FromPort: &port, ToPort: &port, CIDRIPv4: cidr, RuleID: id}
}

// TestOffending: a revert takes only the ingress rules that open the
// whole internet, alone or together; never a private or egress rule, one
// that did not match, or (set apart) an authorised public port.
func TestOffending(t *testing.T) {
	const group = "sg-0a0a0a0a0a0a0a0a0"
	egress := revertRule(22, "0.0.0.0/0", "sgr-0000000000000000e")
	egress.Direction = Egress
	unmatched := revertRule(22, "0.0.0.0/0", "sgr-0000000000000000f")
	unmatched.Unmatched = true
	tagged := SecurityGroup{ID: group, Tags: map[string]string{PublicTag: "tcp/8443"}}
	for _, c := range []struct {
		name             string
		group            SecurityGroup
		rules            []Rule
		want, authorized []string
	}{
		{"world SSH", SecurityGroup{ID: group}, []Rule{revertRule(22, "0.0.0.0/0", "sgr-00000000000000001")}, []string{"sgr-00000000000000001"}, nil},
		{"mixed: the private rule stays", SecurityGroup{ID: group},
			[]Rule{revertRule(22, "0.0.0.0/0", "sgr-00000000000000001"), revertRule(22, "10.0.0.0/8", "sgr-00000000000000002")}, []string{"sgr-00000000000000001"}, nil},
		{"two halves together", SecurityGroup{ID: group},
			[]Rule{revertRule(22, "0.0.0.0/1", "sgr-00000000000000001"), revertRule(22, "128.0.0.0/1", "sgr-00000000000000002")},
			[]string{"sgr-00000000000000001", "sgr-00000000000000002"}, nil},
		{"egress and unmatched are never taken", SecurityGroup{ID: group}, []Rule{egress, unmatched}, nil, nil},
		{"a tagged public port is set apart", tagged,
			[]Rule{revertRule(8443, "0.0.0.0/0", "sgr-00000000000000001"), revertRule(22, "0.0.0.0/0", "sgr-00000000000000002")},
			[]string{"sgr-00000000000000002"}, []string{"sgr-00000000000000001"}},
	} {
		f := Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: "AuthorizeSecurityGroupIngress"}, SecurityGroup: c.group, Rules: c.rules}
		rules, authorized := Scoring{}.Offending(f)
		ids := func(rs []Rule) []string {
			var out []string
			for _, r := range rs {
				out = append(out, r.RuleID)
			}
			return out
		}
		if !slices.Equal(ids(rules), c.want) || !slices.Equal(ids(authorized), c.authorized) {
			t.Errorf("%s: offending %v, authorised %v; want %v, %v", c.name, ids(rules), ids(authorized), c.want, c.authorized)
		}
		if c.rules[0].Exposure != "" {
			t.Errorf("%s: Offending changed the finding's rules", c.name)
		}
	}
}

// TestRevertible: only changes that added or changed rules and took
// effect, and the sweep's exposures.
func TestRevertible(t *testing.T) {
	for _, c := range []struct {
		name    string
		outcome Outcome
		action  Action
		want    bool
	}{
		{"AuthorizeSecurityGroupIngress", Succeeded, Modify, true},
		{"ModifySecurityGroupRules", Succeeded, Modify, true},
		{"AuthorizeSecurityGroupIngress", Failed, Modify, false},
		{"AuthorizeSecurityGroupIngress", DryRun, Modify, false},
		{"RevokeSecurityGroupIngress", Succeeded, Modify, false},
		{"ModifyNetworkInterfaceAttribute", Succeeded, Modify, false},
		{"CreateTags", Succeeded, Modify, false},
		{SweepCall, Succeeded, Exposure, true},
		{SweepCall, Succeeded, Resolved, false},
	} {
		f := Finding{Action: c.action, Outcome: c.outcome, Event: Event{Name: c.name}}
		if got := Revertible(f); got != c.want {
			t.Errorf("%s %s %s: revertible %v, want %v", c.name, c.action, c.outcome, got, c.want)
		}
	}
}

// TestApprovalOf: an approval is a time after now, at most 7 days away,
// with a reason; anything else approves nothing and says why.
func TestApprovalOf(t *testing.T) {
	now := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	for _, c := range []struct {
		name           string
		tags           map[string]string
		valid, expired bool
		why            string
	}{
		{"none", nil, false, false, ""},
		{"valid", map[string]string{ApprovedUntilTag: at(2 * time.Hour), ApprovalReasonTag: "CHG-1"}, true, false, ""},
		{"at the limit", map[string]string{ApprovedUntilTag: at(MaxApproval), ApprovalReasonTag: "CHG-1"}, true, false, ""},
		{"past the limit", map[string]string{ApprovedUntilTag: at(MaxApproval + time.Minute), ApprovalReasonTag: "CHG-1"}, false, false, "more than 7 days away"},
		{"ran out", map[string]string{ApprovedUntilTag: at(-time.Minute), ApprovalReasonTag: "CHG-1"}, false, true, "ran out at 2026-12-07T19:59:00Z"},
		{"ends now", map[string]string{ApprovedUntilTag: at(0), ApprovalReasonTag: "CHG-1"}, false, true, "ran out"},
		{"no reason", map[string]string{ApprovedUntilTag: at(time.Hour)}, false, false, "gives no reason"},
		{"blank reason", map[string]string{ApprovedUntilTag: at(time.Hour), ApprovalReasonTag: "  "}, false, false, "gives no reason"},
		{"not a time", map[string]string{ApprovedUntilTag: "tomorrow", ApprovalReasonTag: "CHG-1"}, false, false, "not an RFC 3339 time"},
	} {
		a := ApprovalOf(c.tags, now)
		if a.Valid != c.valid || a.Expired != c.expired || !strings.Contains(a.Why, c.why) || (c.why == "") != (a.Why == "") {
			t.Errorf("%s: %+v; want valid %v, expired %v, why %q", c.name, a, c.valid, c.expired, c.why)
		}
	}
}

// TestRevertCommands: the approval and re-open commands are built only
// from values of their form.
func TestRevertCommands(t *testing.T) {
	until := time.Date(2026, 12, 8, 20, 0, 0, 0, time.UTC)
	if got, want := ApproveCommand("eu-west-1", []string{"sgr-0123456789abcdef0"}, until),
		"aws ec2 create-tags --region eu-west-1 --resources sgr-0123456789abcdef0 --tags Key=sgwatch:approved-until,Value=2026-12-08T20:00:00Z 'Key=sgwatch:approval-reason,Value=WHY IT IS MEANT'"; got != want {
		t.Errorf("approve command\n%s\nwant\n%s", got, want)
	}
	for _, bad := range [][]string{{"sgr-0123;rm -rf /"}, {}, {"sg-0123456789abcdef0"}} {
		if got := ApproveCommand("eu-west-1", bad, until); got != "" {
			t.Errorf("approve command for %q: %q, want none", bad, got)
		}
	}
	if got := ApproveCommand("eu-west-1; id", []string{"sgr-0123456789abcdef0"}, until); got != "" {
		t.Errorf("approve command in a bad Region: %q", got)
	}
	rules := []Rule{revertRule(22, "0.0.0.0/0", "sgr-0123456789abcdef0")}
	if got, want := ReopenCommand("eu-west-1", "sg-0123456789abcdef0", rules),
		`aws ec2 authorize-security-group-ingress --region eu-west-1 --group-id sg-0123456789abcdef0 --ip-permissions '[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]'`; got != want {
		t.Errorf("reopen command\n%s\nwant\n%s", got, want)
	}
	if got := ReopenCommand("eu-west-1", "sg-0123456789abcdef0", []Rule{revertRule(22, "0.0.0.0/0'; id", "sgr-0123456789abcdef0")}); got != "" {
		t.Errorf("reopen command of a bad CIDR: %q", got)
	}
}

// TestSameContent: a rule listed now is the call's when it allows the
// same; a new port, source or direction under the same id is a change.
func TestSameContent(t *testing.T) {
	call := revertRule(22, "0.0.0.0/0", "sgr-0123456789abcdef0")
	undirected := call
	undirected.Direction = ""
	egress := call
	egress.Direction = Egress
	described := call
	described.Description = "new text"
	for _, c := range []struct {
		name   string
		listed Rule
		want   bool
	}{
		{"same", call, true},
		{"description only", described, true},
		{"call without a direction, listed ingress", call, true},
		{"another port", revertRule(2222, "0.0.0.0/0", "sgr-0123456789abcdef0"), false},
		{"another source", revertRule(22, "10.0.0.0/8", "sgr-0123456789abcdef0"), false},
		{"egress now", egress, false},
	} {
		want := call
		if c.name == "call without a direction, listed ingress" {
			want = undirected
		}
		if got := SameContent(c.listed, want); got != c.want {
			t.Errorf("%s: same %v, want %v", c.name, got, c.want)
		}
	}
}

// TestApprovalTags: the CreateTags of an approval is a medium finding
// saying until when; one that approves nothing, or removes an approval,
// is low and says why.
func TestApprovalTags(t *testing.T) {
	const rule = "sgr-0123456789abcdef0"
	event := "2026-12-07T20:00:00Z"
	for _, c := range []struct {
		name, call string
		tags       []Tag
		sev        Severity
		reason     string
	}{
		{"approves", "CreateTags", []Tag{{ApprovedUntilTag, "2026-12-08T20:00:00Z"}, {ApprovalReasonTag, "CHG-1"}}, Medium, "until 2026-12-08T20:00:00Z"},
		{"no reason in the call", "CreateTags", []Tag{{ApprovedUntilTag, "2026-12-08T20:00:00Z"}}, Medium, "if a reason"},
		{"too far: approves later", "CreateTags", []Tag{{ApprovedUntilTag, "2027-01-08T20:00:00Z"}, {ApprovalReasonTag, "CHG-1"}}, Medium, "approves them from 2027-01-01T20:00:00Z"},
		{"ran out already", "CreateTags", []Tag{{ApprovedUntilTag, "2026-12-01T20:00:00Z"}, {ApprovalReasonTag, "CHG-1"}}, Low, "ran out"},
		{"on the rules the call creates", "AuthorizeSecurityGroupIngress", []Tag{{ApprovedUntilTag, "2026-12-08T20:00:00Z"}, {ApprovalReasonTag, "CHG-1"}}, Critical, "does not approve itself"},
		{"not a time", "CreateTags", []Tag{{ApprovedUntilTag, "soon"}, {ApprovalReasonTag, "CHG-1"}}, Low, "approves nothing"},
		{"removed", "DeleteTags", []Tag{{Key: ApprovedUntilTag}}, Low, "reverted at their next check"},
	} {
		f := Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: c.call, Time: event}, Tags: &TagChange{Resources: []string{rule}, Tags: c.tags}}
		if c.call == "AuthorizeSecurityGroupIngress" {
			f.Rules = []Rule{revertRule(22, "0.0.0.0/0", rule)}
		}
		Scoring{}.Score(&f)
		if f.Severity != c.sev || !slices.ContainsFunc(f.Reasons, func(r string) bool { return strings.Contains(r, c.reason) }) {
			t.Errorf("%s: %s %q; want %s with %q", c.name, f.Severity, f.Reasons, c.sev, c.reason)
		}
		if slices.ContainsFunc(f.Reasons, func(r string) bool { return strings.Contains(r, "CHG-1") }) {
			t.Errorf("%s: a reason quotes the tag's text (record text): %q", c.name, f.Reasons)
		}
	}
}

// TestRuleTagsParsed: the approval an authorize call sets on the rules it
// creates (a tag specification of resource type security-group-rule) is
// read into the finding's tags, naming those rules.
func TestRuleTagsParsed(t *testing.T) {
	rec := `{"eventVersion":"1.09","eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","awsRegion":"eu-west-1",
	"eventTime":"2026-12-07T20:00:00Z","eventID":"00000000-0000-4000-8000-000000000001","recipientAccountId":"111122223333",
	"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/mallory","accountId":"111122223333"},
	"requestParameters":{"groupId":"sg-0123456789abcdef0","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]},
	 "tagSpecifications":{"items":[{"resourceType":"security-group-rule","tags":{"items":[{"key":"sgwatch:approved-until","value":"2026-12-08T20:00:00Z"},{"key":"Name","value":"ssh"}]}}]}},
	"responseElements":{"_return":true,"securityGroupRuleSet":{"items":[{"groupId":"sg-0123456789abcdef0","securityGroupRuleId":"sgr-0123456789abcdef0","isEgress":false,"ipProtocol":"tcp","fromPort":22,"toPort":22,"cidrIpv4":"0.0.0.0/0"}]}}}`
	b, err := Parse([]byte(rec), Scoring{})
	if err != nil || len(b.Findings) != 1 {
		t.Fatalf("%v, %d findings", err, len(b.Findings))
	}
	f := b.Findings[0]
	if f.Tags == nil || !slices.Equal(f.Tags.Resources, []string{"sgr-0123456789abcdef0"}) || len(f.Tags.Tags) != 1 || f.Tags.Tags[0].Key != ApprovedUntilTag {
		t.Errorf("tags %+v, want the approval on the rule it creates (and no other key)", f.Tags)
	}
	if !slices.ContainsFunc(f.Reasons, func(r string) bool { return strings.Contains(r, "does not approve itself") }) {
		t.Errorf("reasons %q do not say the change's own approval does not count", f.Reasons)
	}
}

// TestOffendingMaybeLoadBalancer: a world rule on a port
// AUTHORIZED_PUBLIC_PORTS names is set apart while what uses the group is
// not known (it may be a load balancer's), and taken once it is known to
// be a host the internet reaches; a sensitive port never is set apart.
func TestOffendingMaybeLoadBalancer(t *testing.T) {
	ports, _ := ParsePublicTag("tcp/80,tcp/443")
	o := Scoring{AuthorizedPorts: ports}
	for _, c := range []struct {
		name  string
		reach *Reachability
		port  int
		taken bool
	}{
		{"443, not known", nil, 443, false},
		{"443, unknown grade", &Reachability{Grade: GradeUnknown}, 443, false},
		{"443 on a host the internet reaches", &Reachability{Grade: GradeInternet}, 443, true},
		{"22, not known", nil, 22, true},
	} {
		f := Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: "AuthorizeSecurityGroupIngress"}, SecurityGroup: SecurityGroup{ID: "sg-0a0a0a0a0a0a0a0a0"},
			Rules: []Rule{revertRule(c.port, "0.0.0.0/0", "sgr-00000000000000001")}, Reachability: c.reach}
		rules, authorized := o.Offending(f)
		if taken := len(rules) == 1; taken != c.taken || taken == (len(authorized) == 1) {
			t.Errorf("%s: offending %d, authorised %d; want taken %v", c.name, len(rules), len(authorized), c.taken)
		}
	}
}
