//go:build e2e

package e2e

import (
	"context"
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
// a note.
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
		{"a group moto does not have", "sg-0000000000000dead",
			[]string{"Notes:", "live context: DescribeSecurityGroups failed: InvalidGroup.NotFound", "Used by:        0 network interfaces"},
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
}
