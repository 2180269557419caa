package sweep

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/enrich"
)

// fakeLBs describes load balancers, one page.
type fakeLBs struct {
	lbs   []elbtypes.LoadBalancer
	calls int
}

func (f *fakeLBs) DescribeLoadBalancers(context.Context, *elb.DescribeLoadBalancersInput, ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error) {
	f.calls++
	return &elb.DescribeLoadBalancersOutput{LoadBalancers: f.lbs}, nil
}

// TestSweepUnion: two groups on one interface that open SSH to the whole
// internet only together are an exposure of each rule, naming the
// interface and the other group, published once; moving one group off the
// interface resolves both.
func TestSweepUnion(t *testing.T) {
	g := func(id string, nis []string, rules ...detect.Rule) Group {
		return Group{SecurityGroup: detect.SecurityGroup{ID: id, Name: "g" + id[len(id)-1:]}, Rules: rules, Interfaces: nis}
	}
	x := newFixture([]Group{
		g("sg-0000000000000000a", []string{"eni-0000000000000001", "eni-0000000000000002"}, listed("sgr-000000000000000a1", "tcp", 22, 22, "32.0.0.0/5")),
		g("sg-0000000000000000b", []string{"eni-0000000000000001"}, listed("sgr-000000000000000b1", "tcp", 22, 22, "40.0.0.0/5")),
		g("sg-0000000000000000c", []string{"eni-0000000000000002"}, listed("sgr-000000000000000c1", "tcp", 23, 23, "40.0.0.0/5")),
	})
	want := []string{
		"exposure critical sg-0000000000000000a sgr-000000000000000a1",
		"exposure critical sg-0000000000000000b sgr-000000000000000b1",
	}
	if got := x.sweep(t, "s1"); !slices.Equal(got, want) {
		t.Fatalf("first sweep published\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	fs := UnionExposures(x.lister.groups, "eu-west-1", "111122223333", x.now, detect.Scoring{})
	if len(fs) != 2 {
		t.Fatalf("%d union exposures, want 2", len(fs))
	}
	why := strings.Join(fs[0].Reasons, "; ")
	for _, s := range []string{"together with 40.0.0.0/5: the whole IPv4 internet", "open only together with the rules of sg-0000000000000000b on eni-0000000000000001"} {
		if !strings.Contains(why+fs[0].Rules[0].Exposure, s) {
			t.Errorf("reasons %q, exposure %q: want %q", why, fs[0].Rules[0].Exposure, s)
		}
	}
	if !strings.HasSuffix(fs[0].Sweep.Key, unionKey) || fs[0].Undo == nil || !strings.Contains(fs[0].Undo.Command, "sgr-000000000000000a1") {
		t.Errorf("key %q, undo %+v", fs[0].Sweep.Key, fs[0].Undo)
	}
	if got := x.sweep(t, "s2"); len(got) != 0 {
		t.Fatalf("second sweep published %q", got)
	}
	// The interfaces cannot be listed: nothing is resolved on that.
	saved := slices.Clone(x.lister.groups)
	for i := range x.lister.groups {
		x.lister.groups[i].Interfaces, x.lister.groups[i].InterfacesUnlisted = nil, true
	}
	if got := x.sweep(t, "s2b"); len(got) != 0 {
		t.Fatalf("with the interfaces unlisted, the sweep published %q", got)
	}
	copy(x.lister.groups, saved)
	if got := x.sweep(t, "s2c"); len(got) != 0 {
		t.Fatalf("listed again, the sweep published %q", got)
	}
	x.lister.groups[1].Interfaces = nil // sg-b detached from eni-1
	want = []string{
		"resolved info sg-0000000000000000a sgr-000000000000000a1",
		"resolved info sg-0000000000000000b sgr-000000000000000b1",
	}
	if got := x.sweep(t, "s3"); !slices.Equal(got, want) {
		t.Fatalf("after the detach\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestGroupsInterfaces: the listing keeps which interfaces use each group.
func TestGroupsInterfaces(t *testing.T) {
	ni := func(id string, groups ...string) types.NetworkInterface {
		n := types.NetworkInterface{NetworkInterfaceId: aws.String(id)}
		for _, g := range groups {
			n.Groups = append(n.Groups, types.GroupIdentifier{GroupId: aws.String(g)})
		}
		return n
	}
	api := &fakeEC2{
		groups: []types.SecurityGroup{{GroupId: aws.String("sg-1")}, {GroupId: aws.String("sg-2")}},
		nis:    []types.NetworkInterface{ni("eni-1", "sg-1", "sg-2"), ni("eni-2", "sg-1")},
		calls:  map[string]int{},
	}
	groups, err := AWS{EC2: api}.Groups(context.Background())
	if err != nil || len(groups) != 2 {
		t.Fatal(groups, err)
	}
	if !slices.Equal(groups[0].Interfaces, []string{"eni-1", "eni-2"}) || !slices.Equal(groups[1].Interfaces, []string{"eni-1"}) || *groups[0].AttachedInterfaces != 2 {
		t.Errorf("interfaces %q and %q", groups[0].Interfaces, groups[1].Interfaces)
	}
}

// TestGroupsInterfacesUnlisted: interfaces that cannot be listed mark every
// group, so that no union exposure is resolved on that listing.
func TestGroupsInterfacesUnlisted(t *testing.T) {
	api := &fakeEC2{groups: []types.SecurityGroup{{GroupId: aws.String("sg-1")}}, calls: map[string]int{}}
	groups, err := AWS{EC2: rtNoENI{api}}.Groups(context.Background())
	if err != nil || len(groups) != 1 || !groups[0].InterfacesUnlisted || groups[0].Interfaces != nil {
		t.Errorf("%+v, %v: want the group marked InterfacesUnlisted", groups, err)
	}
}

// TestSweepReachability: the sweep grades each exposure from one listing's
// interfaces, routes and Block Public Access: a group on an interface
// with a public address in a subnet routed to an internet gateway is
// internet (world tcp/8443 raised to critical; the grade is not in the
// key, so a grade that changes publishes nothing again); one on a private
// interface is private; one nothing uses is unused (high, as before), or
// unknown when the load balancers could not be described; one that only
// an internet-facing load balancer uses is load-balancer, one an internal
// one uses private.
func TestSweepReachability(t *testing.T) {
	rule := func(id, group string) types.SecurityGroupRule {
		return types.SecurityGroupRule{SecurityGroupRuleId: aws.String(id), GroupId: aws.String(group), IpProtocol: aws.String("tcp"),
			FromPort: aws.Int32(8443), ToPort: aws.Int32(8443), CidrIpv4: aws.String("0.0.0.0/0")}
	}
	ni := func(id, group, subnet, ip string) types.NetworkInterface {
		n := types.NetworkInterface{NetworkInterfaceId: aws.String(id), SubnetId: aws.String(subnet), VpcId: aws.String("vpc-1"),
			Groups: []types.GroupIdentifier{{GroupId: aws.String(group)}}}
		if ip != "" {
			n.Association = &types.NetworkInterfaceAssociation{PublicIp: aws.String(ip)}
		}
		return n
	}
	api := &fakeEC2{
		groups: []types.SecurityGroup{{GroupId: aws.String("sg-1")}, {GroupId: aws.String("sg-2")}, {GroupId: aws.String("sg-3")}, {GroupId: aws.String("sg-4")}, {GroupId: aws.String("sg-5")}},
		rules:  []types.SecurityGroupRule{rule("sgr-1", "sg-1"), rule("sgr-2", "sg-2"), rule("sgr-3", "sg-3"), rule("sgr-4", "sg-4"), rule("sgr-5", "sg-5")},
		nis:    []types.NetworkInterface{ni("eni-1", "sg-1", "subnet-pub", "203.0.113.10"), ni("eni-2", "sg-2", "subnet-priv", "203.0.113.11")},
		tables: []types.RouteTable{
			{Associations: []types.RouteTableAssociation{{SubnetId: aws.String("subnet-pub")}}, Routes: []types.Route{{DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String("igw-1")}}},
			{Associations: []types.RouteTableAssociation{{SubnetId: aws.String("subnet-priv")}}, Routes: []types.Route{{DestinationCidrBlock: aws.String("10.0.0.0/16"), GatewayId: aws.String("local")}}},
		},
		acls: []types.NetworkAcl{{NetworkAclId: aws.String("acl-1"), Associations: []types.NetworkAclAssociation{{SubnetId: aws.String("subnet-pub")}},
			Entries: []types.NetworkAclEntry{
				{RuleNumber: aws.Int32(100), Protocol: aws.String("6"), RuleAction: types.RuleActionDeny, CidrBlock: aws.String("0.0.0.0/0"), PortRange: &types.PortRange{From: aws.Int32(8000), To: aws.Int32(8999)}},
				{RuleNumber: aws.Int32(200), Protocol: aws.String("-1"), RuleAction: types.RuleActionAllow, CidrBlock: aws.String("0.0.0.0/0")},
			}}},
		calls: map[string]int{},
	}
	lbs := &fakeLBs{lbs: []elbtypes.LoadBalancer{
		{LoadBalancerArn: aws.String("arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/web/0123456789abcdef"), Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, SecurityGroups: []string{"sg-4"}},
		{LoadBalancerArn: aws.String("arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/api/0123456789abcdef"), Scheme: elbtypes.LoadBalancerSchemeEnumInternal, SecurityGroups: []string{"sg-5"}},
	}}
	for _, c := range []struct {
		lbs  enrich.LoadBalancerReader
		want []string
	}{
		{lbs, []string{"sg-1 internet critical ", "sg-2 private high ", "sg-3 unused high ", "sg-4 load-balancer high ", "sg-5 private high "}},
		{nil, []string{"sg-1 internet critical ", "sg-2 private high ", "sg-3 unknown high ", "sg-4 unknown high ", "sg-5 unknown high "}},
	} {
		api.calls = map[string]int{}
		groups, err := AWS{EC2: api, LoadBalancers: c.lbs}.Groups(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range Judge(groups, "eu-west-1", "111122223333", time.Unix(0, 0), detect.Scoring{}) {
			if f.SecurityGroup.ID == "sg-1" && !slices.ContainsFunc(f.Reachability.Notes, func(n string) bool {
				return strings.HasPrefix(n, "network ACL acl-1 of subnet-pub denies tcp/8443 from the whole internet (entry 100)")
			}) {
				t.Errorf("sg-1 notes %q: want the network ACL's deny", f.Reachability.Notes)
			}
			got = append(got, f.SecurityGroup.ID+" "+string(f.Reachability.Grade)+" "+string(f.Severity)+" "+strings.TrimPrefix(f.Sweep.Key, detect.RuleKey(f.SecurityGroup.ID, f.Rules[0])))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("graded\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
		if api.calls["routes"] != 1 || api.calls["acls"] != 1 {
			t.Errorf("%d DescribeRouteTables and %d DescribeNetworkAcls calls for one listing, want 1 each", api.calls["routes"], api.calls["acls"])
		}
	}
	if lbs.calls != 1 {
		t.Errorf("%d DescribeLoadBalancers calls for one listing, want 1", lbs.calls)
	}
}
