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
//
// Issue 20's setups, open in the caller's us-east-1 and quiet in its
// eu-west-1. The parts are the scaled down to 1/16 of IPv4: each
// /2 of the issue is a quarter of IPv4, past addrspace.Share (1/16 of the
// public space) on its own, so it would be open alone and neither the
// union nor the window would be tested. Each /6 (67 million addresses) and
// /5 here is under 1/16 of public IPv4 (231 million); all the parts of a
// setup together make a /4 (268 million), and every part is needed.
//   - three groups on one network interface, tcp/22 from 64.0.0.0/6,
//     68.0.0.0/6 and 72.0.0.0/5: three union exposures, each naming the
//     other two groups and the interface; quiet with 10.0.0.0/8 in place
//     of the /5;
//   - four AuthorizeSecurityGroupIngress calls on one group, each adding one
//     /6 of 80.0.0.0/4 on tcp/22: four exposures; quiet with three calls;
//   - a group with world-open tcp/3389 put on an existing network
//     interface afterwards (ModifyNetworkInterfaceAttribute): its rule,
//     the group counted on one interface; quiet when the group opens only
//     private ranges;
//   - two groups on one interface, tcp/22 from the two halves of ARIN's
//     2600::/12 (each /13 just under 1/16 of the registries' IPv6 space):
//     two union exposures; quiet with 3000::/4, outside every registry's
//     space, in place of the second half.
//
// "-format json" must print exactly the open rules, each with its
// account and Region, a rule open only together with other groups' rules
// with a "+union" key and a reason naming those groups and the interface,
// and exit 1; eu-west-1 alone exits 0 with nothing printed; the member,
// through sts:AssumeRole, exits 1 with its one rule.
func TestSweepCommand(t *testing.T) {
	ctx := context.Background()
	if err := moto.Reset(); err != nil {
		t.Fatal(err)
	}
	const member = "444455556666"
	// group creates a security group and authorizes each of perms in a
	// call of its own; it returns the group's id and the ids of the rules,
	// in the order of the calls.
	group := func(account, region, name string, perms ...types.IpPermission) (string, []string) {
		t.Helper()
		c := ec2.NewFromConfig(moto.ConfigFor(account, region))
		g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name)})
		if err != nil {
			t.Fatalf("%s %s: create %s: %v", account, region, name, err)
		}
		var rules []string
		for _, perm := range perms {
			out, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: []types.IpPermission{perm}})
			if err != nil {
				t.Fatalf("%s %s: authorize %s: %v", account, region, name, err)
			}
			for _, r := range out.SecurityGroupRules {
				rules = append(rules, aws.ToString(r.SecurityGroupRuleId))
			}
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
	// onENI lists the groups on a network interface, sorted.
	onENI := func(region, id string) []string {
		t.Helper()
		c := ec2.NewFromConfig(moto.ConfigFor(self, region))
		out, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{id}})
		if err != nil || len(out.NetworkInterfaces) != 1 {
			t.Fatalf("%s: describe %s: %v", region, id, err)
		}
		var groups []string
		for _, g := range out.NetworkInterfaces[0].Groups {
			groups = append(groups, aws.ToString(g.GroupId))
		}
		slices.Sort(groups)
		return groups
	}
	// attach puts a group on an existing network interface besides the
	// groups it has (ModifyNetworkInterfaceAttribute replaces the set).
	attach := func(region, id, g string) {
		t.Helper()
		groups := append(onENI(region, id), g)
		c := ec2.NewFromConfig(moto.ConfigFor(self, region))
		if _, err := c.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(id), Groups: groups}); err != nil {
			t.Fatalf("%s: put %s on %s: %v", region, g, id, err)
		}
		slices.Sort(groups)
		if got := onENI(region, id); !slices.Equal(got, groups) {
			t.Fatalf("%s: %s has groups %v after ModifyNetworkInterfaceAttribute, want %v", region, id, got, groups)
		}
	}
	// union is, by rule id, what a rule open only together with the rules
	// of other groups must name: the interface and those groups.
	type together struct {
		eni    string
		others []string
	}
	union := map[string]together{}
	unionA, unionARules := group(self, "us-east-1", "union-a", tcp(5432, []string{"48.0.0.0/5"}))
	unionB, unionBRules := group(self, "us-east-1", "union-b", tcp(5432, []string{"56.0.0.0/5"}))
	unionENI := eni("us-east-1", unionA, unionB)
	union[unionARules[0]] = together{unionENI, []string{unionB}}
	union[unionBRules[0]] = together{unionENI, []string{unionA}}
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

	// Issue 20, open in us-east-1. The three-group union on one interface.
	var threeIDs, threeRules []string
	for i, cidr := range []string{"64.0.0.0/6", "68.0.0.0/6", "72.0.0.0/5"} {
		id, rules := group(self, "us-east-1", "three-"+string(rune('a'+i)), tcp(22, []string{cidr}))
		threeIDs, threeRules = append(threeIDs, id), append(threeRules, rules...)
	}
	threeENI := eni("us-east-1", threeIDs...)
	for i, r := range threeRules {
		union[r] = together{threeENI, slices.Delete(slices.Clone(threeIDs), i, i+1)}
	}
	// The four-call window: one /6 of 80.0.0.0/4 per call on one group.
	window, windowRules := group(self, "us-east-1", "window",
		tcp(22, []string{"80.0.0.0/6"}), tcp(22, []string{"84.0.0.0/6"}), tcp(22, []string{"88.0.0.0/6"}), tcp(22, []string{"92.0.0.0/6"}))
	// World-open RDP put on an existing interface afterwards.
	attached, attachedRules := group(self, "us-east-1", "attached-rdp", tcp(3389, []string{"0.0.0.0/0"}))
	attach("us-east-1", eni("us-east-1"), attached)
	// The IPv6 union: the two halves of ARIN's 2600::/12 on one interface.
	v6a, v6aRules := group(self, "us-east-1", "v6-a", tcp(22, nil, "2600::/13"))
	v6b, v6bRules := group(self, "us-east-1", "v6-b", tcp(22, nil, "2608::/13"))
	v6ENI := eni("us-east-1", v6a, v6b)
	union[v6aRules[0]] = together{v6ENI, []string{v6b}}
	union[v6bRules[0]] = together{v6ENI, []string{v6a}}

	// The same setups quiet, in eu-west-1: a private range in place of the
	// /5, three calls of the window, a group of private ranges put on an
	// interface, and 3000::/4 (no registry's space) in place of 2608::/13.
	var quietIDs []string
	for i, cidr := range []string{"64.0.0.0/6", "68.0.0.0/6", "10.0.0.0/8"} {
		id, _ := group(self, "eu-west-1", "quiet-three-"+string(rune('a'+i)), tcp(22, []string{cidr}))
		quietIDs = append(quietIDs, id)
	}
	eni("eu-west-1", quietIDs...)
	group(self, "eu-west-1", "quiet-window", tcp(22, []string{"80.0.0.0/6"}), tcp(22, []string{"84.0.0.0/6"}), tcp(22, []string{"88.0.0.0/6"}))
	quietRDP, _ := group(self, "eu-west-1", "quiet-rdp", tcp(3389, []string{"10.0.0.0/8", "192.168.0.0/16"}))
	attach("eu-west-1", eni("eu-west-1"), quietRDP)
	quietV6a, _ := group(self, "eu-west-1", "quiet-v6-a", tcp(22, nil, "2600::/13"))
	quietV6b, _ := group(self, "eu-west-1", "quiet-v6-b", tcp(22, nil, "3000::/4"))
	eni("eu-west-1", quietV6a, quietV6b)

	if len(sshRules) != 1 || len(splitRules) != 2 || len(rdpRules) != 1 || len(threeRules) != 3 || len(windowRules) != 4 ||
		len(attachedRules) != 1 || len(v6aRules) != 1 || len(v6bRules) != 1 {
		t.Fatalf("moto returned rule ids %v, %v, %v, %v, %v, %v, %v and %v", sshRules, splitRules, rdpRules, threeRules, windowRules, attachedRules, v6aRules, v6bRules)
	}
	// interfaces is, by group id, the network interfaces an exposure must
	// count the group on.
	interfaces := map[string]int{attached: 1, window: 0, v6a: 1, v6b: 1}
	for _, id := range threeIDs {
		interfaces[id] = 1
	}

	line := func(account, region, group, rule string) string {
		return account + "/" + region + " " + group + " " + rule + " critical"
	}
	east1 := []string{
		line(self, "us-east-1", split, splitRules[0]),
		line(self, "us-east-1", split, splitRules[1]),
		line(self, "us-east-1", ssh, sshRules[0]),
		line(self, "us-east-1", unionA, unionARules[0]),
		line(self, "us-east-1", unionB, unionBRules[0]),
		line(self, "us-east-1", partners, partnersRules[0]),
		line(self, "us-east-1", attached, attachedRules[0]),
		line(self, "us-east-1", v6a, v6aRules[0]),
		line(self, "us-east-1", v6b, v6bRules[0]),
	}
	for i, r := range threeRules {
		east1 = append(east1, line(self, "us-east-1", threeIDs[i], r))
	}
	for _, r := range windowRules {
		east1 = append(east1, line(self, "us-east-1", window, r))
	}
	counts := map[string]int{}
	for _, c := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"us-east-1", []string{"-regions", "us-east-1"}, 1, east1},
		{"private only", []string{"-regions", "eu-west-1"}, 0, nil},
		{"a member by its role", []string{"-regions", "us-east-1,eu-west-1", "-accounts", member, "-assume-role", "audit"}, 1, []string{
			line(member, "eu-west-1", rdp, rdpRules[0]),
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
			if f.Action != detect.Exposure || len(f.Rules) != 1 || f.Sweep == nil {
				t.Fatalf("%s: line %q is not a sweep's exposure of one rule", c.name, l)
			}
			g, r := f.SecurityGroup.ID, f.Rules[0].RuleID
			got = append(got, f.Event.AccountID+"/"+f.Event.Region+" "+g+" "+r+" "+string(f.Severity))
			if n, ok := interfaces[g]; ok && (f.SecurityGroup.AttachedInterfaces == nil || *f.SecurityGroup.AttachedInterfaces != n) {
				t.Errorf("%s: %s %s: attached interfaces %v, want %d", c.name, g, r, f.SecurityGroup.AttachedInterfaces, n)
			}
			u, together := union[r]
			if isUnion := strings.HasSuffix(f.Sweep.Key, "+union"); isUnion != together {
				t.Errorf("%s: %s %s: key %q, want a union key %v", c.name, g, r, f.Sweep.Key, together)
			}
			if !together {
				continue
			}
			counts["union"]++
			i := slices.IndexFunc(f.Reasons, func(s string) bool { return strings.HasPrefix(s, "open only together with the rules of ") })
			if i < 0 {
				t.Errorf("%s: %s %s: no reason says it is open only together with other groups: %q", c.name, g, r, f.Reasons)
				continue
			}
			why := f.Reasons[i]
			for _, want := range append([]string{u.eni}, u.others...) {
				if !strings.Contains(why, want) {
					t.Errorf("%s: %s %s: reason %q does not name %s", c.name, g, r, why, want)
				}
			}
			if strings.Contains(why, g) {
				t.Errorf("%s: %s %s: reason %q names the rule's own group", c.name, g, r, why)
			}
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(c.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: printed\n%s\nwant\n%s", c.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		counts[c.name] = len(got)
		if !strings.Contains(stderr, "; 0 targets could not be listed\n") {
			t.Errorf("%s: a target could not be listed:\n%s", c.name, stderr)
		}
	}
	if counts["union"] != len(union) {
		t.Errorf("%d union exposures checked, want %d", counts["union"], len(union))
	}
	t.Logf("sgwatch sweep against moto over HTTP: in us-east-1 %d open rules printed (exit 1) - the world-open SSH rule, the /5 pair, "+
		"the two tcp/5432 groups open only together on one network interface, the rule whose prefix list was widened to 0.0.0.0/0, "+
		"and issue 20's: three groups open only together on one interface (64.0.0.0/6, 68.0.0.0/6, 72.0.0.0/5), four calls of one /6 each on one group, "+
		"world-open RDP put on an interface with ModifyNetworkInterfaceAttribute, and the two halves of 2600::/12 on one interface; "+
		"%d union exposures each naming the other groups and the interface; in eu-west-1 private rules, the tcp/5432 groups on separate interfaces "+
		"and the quiet setups (a private part in place of the /5, three calls, private RDP put on an interface, 2600::/13 with 3000::/4) exit 0 with %d printed; "+
		"a member's world-open RDP through sts:AssumeRole printed (exit 1)",
		counts["us-east-1"], counts["union"], counts["private only"])
}

// runSweepCommand runs bin/sgwatch sweep with args, moto as its EC2 and
// STS endpoints, and returns the exit status and outputs.
func runSweepCommand(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runSweepCommandEnv(t, nil, args...)
}

// runSweepCommandEnv is runSweepCommand with more of the environment
// (MIN_SEVERITY, AUTHORIZED_PUBLIC_PORTS).
func runSweepCommandEnv(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLI(t, append([]string{"AWS_ENDPOINT_URL_EC2=" + moto.Endpoint, "AWS_ENDPOINT_URL_STS=" + moto.Endpoint,
		"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2=" + moto.Endpoint, "AWS_REGION=us-east-1"}, env...),
		append([]string{"sweep"}, args...)...)
}
