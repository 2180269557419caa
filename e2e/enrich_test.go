//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestEnrich is issue 4's live context: with ENRICH=true the function, under
// the runtime emulator, looks the group up in moto's EC2 over HTTP and the
// subscriber's notification shows it; a failed lookup still publishes, with
// a note. It also looks up the direction of the rules a
// ModifySecurityGroupRules call changed (issue 8, item 3).
// rieAccount is the account of the function's ARN under the runtime
// emulator: live context is looked up only for changes in that account.
const rieAccount = "012345678912"

func TestEnrich(t *testing.T) {
	ctx := context.Background()
	sub := subscribe(t)
	c := ec2.NewFromConfig(moto.Config())
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil || len(vpcs.Vpcs) == 0 {
		t.Fatalf("moto default VPC: %v", err)
	}
	vpc := aws.ToString(vpcs.Vpcs[0].VpcId)
	web, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("web"), Description: aws.String("web tier"), VpcId: aws.String(vpc),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	group := aws.ToString(web.GroupId)
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}})
	if err != nil || len(subnets.Subnets) == 0 {
		t.Fatalf("moto subnets: %v", err)
	}
	for range 3 {
		if _, err := c.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: subnets.Subnets[0].SubnetId, Groups: []string{group}}); err != nil {
			t.Fatal(err)
		}
	}
	def, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})
	if err != nil || len(def.SecurityGroups) != 1 {
		t.Fatalf("moto default group: %v", err)
	}

	fn := startFunction(t, moto, "SNS_TOPIC_ARN="+sub.topic, "ENRICH=true", "AWS_ENDPOINT_URL_EC2="+moto.Endpoint)
	sample, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		t.Fatal(err)
	}
	// The sample event, moved to moto's Region and pointed at group id.
	event := func(id string) []byte {
		s := strings.ReplaceAll(string(sample), "sg-0a1b2c3d4e5f60718", id)
		s = strings.ReplaceAll(s, "111122223333", rieAccount) // a change in the function's own account
		return []byte(strings.ReplaceAll(s, "eu-west-1", "us-east-1"))
	}
	cases := []struct {
		name  string
		group string
		want  []string
		not   []string
	}{
		{"tagged group used by three interfaces", group,
			[]string{group + " (web)", "VPC:            " + vpc, "Description:    web tier", "Used by:        3 network interfaces", "Tag team:       payments"},
			[]string{"Default group", "Notes:"}},
		{"the VPC's default group", aws.ToString(def.SecurityGroups[0].GroupId),
			[]string{"(default)", "Default group:  yes (the VPC's default security group)", "Used by:        0 network interfaces"},
			[]string{"Notes:"}},
		// The text body defangs notes (they quote the record): the dots of
		// InvalidGroup.NotFound are one-dot leaders there.
		{"a group moto does not have", "sg-0000000000000dead",
			[]string{"Notes:", "live context: DescribeSecurityGroups failed: InvalidGroup\u2024NotFound", "Used by:        0 network interfaces"},
			[]string{"Default group"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := invoke(t, fn, event(c.group))
			if res.Err != nil {
				t.Fatalf("invocation failed: %v", res.Err)
			}
			got := receive(t, sub.all)
			if len(got) != 1 {
				t.Fatalf("%d notifications, want 1", len(got))
			}
			body := got[0].Message
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("body does not show %q:\n%s", w, body)
				}
			}
			for _, n := range c.not {
				if strings.Contains(body, n) {
					t.Errorf("body shows %q:\n%s", n, body)
				}
			}
		})
	}
	t.Logf("enrich: %d lookups against moto EC2 (%s, %s, a missing group) published with their live context", len(cases), group, aws.ToString(def.SecurityGroups[0].GroupId))

	var seen []string
	t.Run("ModifySecurityGroupRules directions", func(t *testing.T) { seen = ruleDirections(t, sub, c, group) })
	t.Logf("enrich: ModifySecurityGroupRules rules looked up in moto EC2, published with direction: %s", strings.Join(seen, "; "))
}

// ruleDirections: a ModifySecurityGroupRules record does not say whether the
// rule it changed is ingress or egress; the function looks the rule up in
// moto's EC2 (DescribeSecurityGroupRules) and the published finding (JSON
// body) carries the rule's real direction. A rule moto does not have keeps
// no direction and the finding says why. It returns what was published for
// each rule, for the log.
func ruleDirections(t *testing.T, sub subscriber, c *ec2.Client, group string) (seen []string) {
	ctx := context.Background()
	// One egress and one ingress rule, changed as the event below says, so
	// that moto holds what the call left.
	egress, err := c.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(group),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	ingress, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(group),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(egress.SecurityGroupRules) != 1 || len(ingress.SecurityGroupRules) != 1 {
		t.Fatalf("moto returned %d egress and %d ingress rules, want 1 each", len(egress.SecurityGroupRules), len(ingress.SecurityGroupRules))
	}
	egressID := aws.ToString(egress.SecurityGroupRules[0].SecurityGroupRuleId)
	ingressID := aws.ToString(ingress.SecurityGroupRules[0].SecurityGroupRuleId)
	for _, id := range []string{egressID, ingressID} {
		_, err := c.ModifySecurityGroupRules(ctx, &ec2.ModifySecurityGroupRulesInput{GroupId: aws.String(group),
			SecurityGroupRules: []types.SecurityGroupRuleUpdate{{SecurityGroupRuleId: aws.String(id), SecurityGroupRule: &types.SecurityGroupRuleRequest{
				IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), CidrIpv4: aws.String("0.0.0.0/0")}}}})
		if err != nil {
			t.Fatalf("moto ModifySecurityGroupRules %s: %v", id, err)
		}
	}
	got, err := c.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{egressID, ingressID}})
	if err != nil || len(got.SecurityGroupRules) != 2 {
		t.Fatalf("moto DescribeSecurityGroupRules: %v", err)
	}
	for _, r := range got.SecurityGroupRules {
		if aws.ToInt32(r.FromPort) != 22 || aws.ToBool(r.IsEgress) != (aws.ToString(r.SecurityGroupRuleId) == egressID) {
			t.Fatalf("moto holds %s as from port %d, egress %v", aws.ToString(r.SecurityGroupRuleId), aws.ToInt32(r.FromPort), aws.ToBool(r.IsEgress))
		}
	}

	fn := startFunction(t, moto, "SNS_TOPIC_ARN="+sub.topic, "ENRICH=true", "NOTIFICATION_FORMAT=json", "AWS_ENDPOINT_URL_EC2="+moto.Endpoint)
	sample, err := os.ReadFile("../events/modify-security-group-rules-world-db.json")
	if err != nil {
		t.Fatal(err)
	}
	// The sample event, moved to moto's Region and the group, changing rule
	// id to tcp/22 from 0.0.0.0/0.
	event := func(t *testing.T, id string) []byte {
		s := string(sample)
		for _, r := range [][2]string{{"sg-0a1b2c3d4e5f60718", group}, {"sgr-0100000000000000a", id}, {`"eu-west-1"`, `"us-east-1"`}, {"111122223333", rieAccount},
			{`"FromPort": 3000`, `"FromPort": 22`}, {`"ToPort": 4000`, `"ToPort": 22`}} {
			if !strings.Contains(s, r[0]) {
				t.Fatalf("sample event has no %s", r[0])
			}
			s = strings.ReplaceAll(s, r[0], r[1])
		}
		return []byte(s)
	}
	cases := []struct {
		name, rule string
		direction  string // in the published finding; "" for none
		severity   string // after the finding is scored again with its direction
		urgent     int    // notifications on the high/critical subscription
		note       string // in the finding's notes; "" for no note about rules
	}{
		{"an egress rule", egressID, "egress", "medium", 0, ""},
		{"an ingress rule", ingressID, "ingress", "critical", 1, ""},
		{"a rule moto does not have", "sgr-0000000000000dead", "", "critical", 1,
			"live context: DescribeSecurityGroupRules failed: InvalidSecurityGroupRuleId.NotFound"},
	}
	receive(t, sub.urgent) // what the group lookups above published there
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := invoke(t, fn, event(t, c.rule))
			if res.Err != nil {
				t.Fatalf("invocation failed: %v", res.Err)
			}
			got := receive(t, sub.all)
			if len(got) != 1 {
				t.Fatalf("%d notifications, want 1", len(got))
			}
			if n := len(receive(t, sub.urgent)); n != c.urgent {
				t.Errorf("%d notifications on the high/critical subscription, want %d", n, c.urgent)
			}
			var f struct {
				Severity string `json:"severity"`
				Rules    []struct {
					Direction string `json:"direction"`
					RuleID    string `json:"ruleId"`
					FromPort  int    `json:"fromPort"`
					CIDRIPv4  string `json:"cidrIpv4"`
				} `json:"rules"`
				Notes []string `json:"notes"`
			}
			if err := json.Unmarshal([]byte(got[0].Message), &f); err != nil {
				t.Fatalf("JSON body: %v\n%s", err, got[0].Message)
			}
			if len(f.Rules) != 1 || f.Rules[0].RuleID != c.rule || f.Rules[0].FromPort != 22 || f.Rules[0].CIDRIPv4 != "0.0.0.0/0" {
				t.Fatalf("rules %+v, want the one rule %s, tcp/22 from 0.0.0.0/0", f.Rules, c.rule)
			}
			if f.Severity != c.severity {
				t.Errorf("severity %s, want %s (a world-open egress rule is medium, ingress or unknown critical)", f.Severity, c.severity)
			}
			if f.Rules[0].Direction != c.direction {
				t.Errorf("rule %s published with direction %q, want %q:\n%s", c.rule, f.Rules[0].Direction, c.direction, got[0].Message)
			}
			var ruleNotes []string
			for _, n := range f.Notes {
				if strings.Contains(n, "DescribeSecurityGroupRules") || strings.Contains(n, "direction assumed") {
					ruleNotes = append(ruleNotes, n)
				}
			}
			switch {
			case c.note == "" && len(ruleNotes) > 0:
				t.Errorf("notes %q, want none about the rule lookup", ruleNotes)
			case c.note != "" && (len(ruleNotes) != 1 || !strings.Contains(ruleNotes[0], c.note) || !strings.HasSuffix(ruleNotes[0], "direction assumed ingress")):
				t.Errorf("notes %q, want one containing %q that says the direction was assumed", f.Notes, c.note)
			}
			seen = append(seen, fmt.Sprintf("%s %q (severity %s)", c.name, f.Rules[0].Direction, f.Severity))
		})
	}
	return seen
}
