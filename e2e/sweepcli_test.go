//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/emulate"
)

// TestSweepCommand runs "sgwatch sweep" (the real command-line binary,
// bin/sgwatch) against moto's EC2 and STS over HTTP, with the endpoints
// from AWS_ENDPOINT_URL_EC2 and AWS_ENDPOINT_URL_STS and nothing of this
// machine's AWS configuration. In the caller's us-east-1: a world-open SSH
// rule, a private group, and a pair of /5 sources on tcp/22 that together
// make the group reachable from a whole part of the internet; in eu-west-1
// only private rules; in a member account's eu-west-1 world-open RDP over
// IPv6; two groups whose tcp/5432 rules (48.0.0.0/5, 56.0.0.0/5) open it
// only together, on one network interface in us-east-1 and on two apart in
// eu-west-1; a rule from a prefix list widened afterwards to 0.0.0.0/0.
// "-format json" must print exactly the open rules, each with its
// account and Region, and exit 1; eu-west-1 alone exits 0 with nothing
// printed; the member, through sts:AssumeRole, exits 1 with its one rule.
func TestSweepCommand(t *testing.T) {
	ctx := context.Background()
	if err := moto.Reset(); err != nil {
		t.Fatal(err)
	}
	const member = "444455556666"
	group := func(account, region, name string, perm types.IpPermission) (string, []string) {
		t.Helper()
		c := ec2.NewFromConfig(moto.ConfigFor(account, region))
		g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name)})
		if err != nil {
			t.Fatalf("%s %s: create %s: %v", account, region, name, err)
		}
		out, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: []types.IpPermission{perm}})
		if err != nil {
			t.Fatalf("%s %s: authorize %s: %v", account, region, name, err)
		}
		var rules []string
		for _, r := range out.SecurityGroupRules {
			rules = append(rules, aws.ToString(r.SecurityGroupRuleId))
		}
		return aws.ToString(g.GroupId), rules
	}
	self := emulate.Account
	ssh, sshRules := group(self, "us-east-1", "world-ssh", tcp(22, []string{"0.0.0.0/0"}))
	split, splitRules := group(self, "us-east-1", "split", tcp(22, []string{"32.0.0.0/5", "40.0.0.0/5"}))
	group(self, "us-east-1", "private", tcp(22, []string{"10.0.0.0/8", "172.16.0.0/12"}))
	group(self, "eu-west-1", "private-west", tcp(5432, []string{"192.168.0.0/16"}))
	rdp, rdpRules := group(member, "eu-west-1", "member-rdp", tcp(3389, nil, "::/0"))
	// Two groups that open PostgreSQL to the whole internet only together:
	// on one network interface in us-east-1, and on two apart in eu-west-1.
	eni := func(region string, groups ...string) string {
		t.Helper()
		c := ec2.NewFromConfig(moto.ConfigFor(self, region))
		subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
		if err != nil || len(subnets.Subnets) == 0 {
			t.Fatalf("%s: moto default subnets: %v", region, err)
		}
		n, err := c.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: subnets.Subnets[0].SubnetId, Groups: groups})
		if err != nil {
			t.Fatalf("%s: create a network interface: %v", region, err)
		}
		return aws.ToString(n.NetworkInterface.NetworkInterfaceId)
	}
	unionA, unionARules := group(self, "us-east-1", "union-a", tcp(5432, []string{"48.0.0.0/5"}))
	unionB, unionBRules := group(self, "us-east-1", "union-b", tcp(5432, []string{"56.0.0.0/5"}))
	eni("us-east-1", unionA, unionB)
	apartA, _ := group(self, "eu-west-1", "apart-a", tcp(5432, []string{"48.0.0.0/5"}))
	apartB, _ := group(self, "eu-west-1", "apart-b", tcp(5432, []string{"56.0.0.0/5"}))
	eni("eu-west-1", apartA)
	eni("eu-west-1", apartB)
	// A rule from a prefix list of partner ranges, and the list widened
	// afterwards to the whole internet (ModifyManagedPrefixList).
	east := ec2.NewFromConfig(moto.ConfigFor(self, "us-east-1"))
	pl, err := east.CreateManagedPrefixList(ctx, &ec2.CreateManagedPrefixListInput{PrefixListName: aws.String("partners"), AddressFamily: aws.String("IPv4"),
		MaxEntries: aws.Int32(5), Entries: []types.AddPrefixListEntry{{Cidr: aws.String("198.51.100.0/24")}}})
	if err != nil {
		t.Fatal(err)
	}
	plID := pl.PrefixList.PrefixListId
	partners, partnersRules := group(self, "us-east-1", "partners", types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
		PrefixListIds: []types.PrefixListId{{PrefixListId: plID}}})
	if _, err := east.ModifyManagedPrefixList(ctx, &ec2.ModifyManagedPrefixListInput{PrefixListId: plID, CurrentVersion: pl.PrefixList.Version,
		AddEntries: []types.AddPrefixListEntry{{Cidr: aws.String("0.0.0.0/0")}}}); err != nil {
		t.Fatal(err)
	}
	if len(sshRules) != 1 || len(splitRules) != 2 || len(rdpRules) != 1 {
		t.Fatalf("moto returned rule ids %v, %v and %v", sshRules, splitRules, rdpRules)
	}

	for _, c := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"us-east-1", []string{"-regions", "us-east-1"}, 1, []string{
			self + "/us-east-1 " + split + " " + splitRules[0] + " critical",
			self + "/us-east-1 " + split + " " + splitRules[1] + " critical",
			self + "/us-east-1 " + ssh + " " + sshRules[0] + " critical",
			self + "/us-east-1 " + unionA + " " + unionARules[0] + " critical",
			self + "/us-east-1 " + unionB + " " + unionBRules[0] + " critical",
			self + "/us-east-1 " + partners + " " + partnersRules[0] + " critical",
		}},
		{"private only", []string{"-regions", "eu-west-1"}, 0, nil},
		{"a member by its role", []string{"-regions", "us-east-1,eu-west-1", "-accounts", member, "-assume-role", "audit"}, 1, []string{
			member + "/eu-west-1 " + rdp + " " + rdpRules[0] + " critical",
		}},
	} {
		code, stdout, stderr := runSweepCommand(t, append(c.args, "-format", "json")...)
		t.Logf("%s (exit %d):\n%s%s", c.name, code, stdout, stderr)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d", c.name, code, c.code)
		}
		var got []string
		for l := range strings.Lines(stdout) {
			var f detect.Finding
			if err := json.Unmarshal([]byte(l), &f); err != nil {
				t.Fatalf("%s: JSON line %q: %v", c.name, l, err)
			}
			if f.Action != detect.Exposure || len(f.Rules) != 1 {
				t.Fatalf("%s: line %q is not an exposure of one rule", c.name, l)
			}
			got = append(got, f.Event.AccountID+"/"+f.Event.Region+" "+f.SecurityGroup.ID+" "+f.Rules[0].RuleID+" "+string(f.Severity))
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(c.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: printed\n%s\nwant\n%s", c.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if !strings.Contains(stderr, "; 0 targets could not be listed\n") {
			t.Errorf("%s: a target could not be listed:\n%s", c.name, stderr)
		}
	}
	t.Logf("sgwatch sweep against moto over HTTP: the world-open SSH rule, the /5 pair, the two groups open only together on one network interface and the rule whose prefix list was widened to 0.0.0.0/0 printed (exit 1); private rules and the same two groups on separate interfaces exit 0; a member's world-open RDP through sts:AssumeRole printed (exit 1)")
}

// runSweepCommand runs bin/sgwatch sweep with args, moto as its EC2 and
// STS endpoints, and returns the exit status and outputs.
func runSweepCommand(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLI(t, []string{"AWS_ENDPOINT_URL_EC2=" + moto.Endpoint, "AWS_ENDPOINT_URL_STS=" + moto.Endpoint, "AWS_REGION=us-east-1"},
		append([]string{"sweep"}, args...)...)
}
