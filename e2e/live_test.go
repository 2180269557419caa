//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/emulate"
)

// TestLiveExposure is issue 20's event path: the function, under the
// runtime emulator with live context on (ENRICH=true) and MIN_SEVERITY=high,
// judges each change against moto's EC2 over HTTP as AWS applies it, and
// publishes what opens the whole internet though no call does on its own:
// two groups on one network interface (and, quiet, on two apart); four
// calls adding a /6 each to one group (the first three not published, the
// fourth critical "together with" the three); a rule from a prefix list,
// then ModifyManagedPrefixList widening the list to 0.0.0.0/0; and
// ModifyNetworkInterfaceAttribute attaching a world-open group (and, quiet,
// a private one). Each exposure's reachability grade (issue 21): a public
// IP routed to an internet gateway and an IPv6-only interface routed ::/0
// are internet (a non-sensitive port raised to critical), a public IP in a
// private subnet is private (high), a group nothing uses is unused (world
// SSH stays critical); the grade is in the JSON and a message attribute;
// a group tagged sgwatch:public=tcp/8443 on a public host is high (its port
// is meant, but the internet reaches it), and sgwatch sweep grades them all
// alike;
// ModifyVpcBlockPublicAccessOptions turning it off names exactly the
// world-open groups the internet can reach.
// The events are the samples in events/, pointed at what the test made in
// moto.
func TestLiveExposure(t *testing.T) {
	ctx := context.Background()
	sub := subscribe(t)
	c := ec2.NewFromConfig(moto.Config())
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil || len(subnets.Subnets) == 0 {
		t.Fatalf("moto subnets: %v", err)
	}
	newGroup := func(name string) string {
		t.Helper()
		g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name), VpcId: subnets.Subnets[0].VpcId})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(g.GroupId)
	}
	allow := func(group string, perm types.IpPermission) string {
		t.Helper()
		out, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(group), IpPermissions: []types.IpPermission{perm}})
		if err != nil || len(out.SecurityGroupRules) != 1 {
			t.Fatalf("authorize %s: %v", group, err)
		}
		return aws.ToString(out.SecurityGroupRules[0].SecurityGroupRuleId)
	}
	newENI := func(groups ...string) string {
		t.Helper()
		n, err := c.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: subnets.Subnets[0].SubnetId, Groups: groups})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(n.NetworkInterface.NetworkInterfaceId)
	}

	// The record of a call, from a sample in events/ with its request and
	// response replaced, moved to moto's Region and the function's account.
	record := func(sample, name string, request, response any) []byte {
		t.Helper()
		return sampleEvent(t, sample, name, request, response, nil)
	}
	// An AuthorizeSecurityGroupIngress record of rule id: tcp/22 from src
	// (a CIDR or a prefix list).
	authorizedPort := func(group, id, src string, port int) []byte {
		item := map[string]any{"ipProtocol": "tcp", "fromPort": port, "toPort": port}
		set := map[string]any{"groupId": group, "securityGroupRuleId": id, "isEgress": false, "ipProtocol": "tcp", "fromPort": port, "toPort": port}
		if strings.HasPrefix(src, "pl-") {
			item["prefixListIds"] = map[string]any{"items": []any{map[string]any{"prefixListId": src}}}
			set["prefixListId"] = src
		} else if strings.Contains(src, ":") {
			item["ipv6Ranges"] = map[string]any{"items": []any{map[string]any{"cidrIpv6": src}}}
			set["cidrIpv6"] = src
		} else {
			item["ipRanges"] = map[string]any{"items": []any{map[string]any{"cidrIp": src}}}
			set["cidrIpv4"] = src
		}
		return record("authorize-ingress-world-ssh.json", "AuthorizeSecurityGroupIngress",
			map[string]any{"groupId": group, "ipPermissions": map[string]any{"items": []any{item}}},
			map[string]any{"_return": true, "securityGroupRuleSet": map[string]any{"items": []any{set}}})
	}
	authorized := func(group, id, src string) []byte { return authorizedPort(group, id, src, 22) }
	items := func(groups ...string) map[string]any {
		var it []any
		for _, g := range groups {
			it = append(it, map[string]any{"groupId": g})
		}
		return map[string]any{"items": it}
	}
	tcp22 := func(cidr string) types.IpPermission { return tcp(22, []string{cidr}) }

	fn := startFunction(t, moto, "SNS_TOPIC_ARN="+sub.topic, "ENRICH=true", "MIN_SEVERITY=high", "NOTIFICATION_FORMAT=json", "AWS_ENDPOINT_URL_EC2="+moto.Endpoint)
	// published invokes the function with an event and returns the findings
	// it published.
	publishedBy := func(t *testing.T, fn *emulate.Function, event []byte) []detect.Finding {
		t.Helper()
		if res := invoke(t, fn, event); res.Err != nil {
			t.Fatalf("invocation failed: %v", res.Err)
		}
		var out []detect.Finding
		for _, n := range receive(t, sub.all) {
			var f detect.Finding
			if err := json.Unmarshal([]byte(n.Message), &f); err != nil {
				t.Fatalf("JSON body: %v\n%s", err, n.Message)
			}
			// The grade is a message attribute, for subscription filters.
			if r := f.Reachability; r != nil && n.Attributes["reachability"].Value != string(r.Grade) {
				t.Errorf("attribute reachability %q, want %q", n.Attributes["reachability"].Value, r.Grade)
			}
			out = append(out, f)
		}
		receive(t, sub.urgent)
		return out
	}
	published := func(t *testing.T, event []byte) []detect.Finding {
		t.Helper()
		return publishedBy(t, fn, event)
	}
	one := func(t *testing.T, got []detect.Finding, sev detect.Severity, reason string) detect.Finding {
		t.Helper()
		if len(got) != 1 {
			t.Fatalf("%d findings published, want 1: %+v", len(got), got)
		}
		f := got[0]
		if f.Severity != sev || !slices.ContainsFunc(f.Reasons, func(r string) bool { return strings.Contains(r, reason) }) {
			t.Errorf("%s %q, want %s with a reason containing %q", f.Severity, f.Reasons, sev, reason)
		}
		if f.Context == nil {
			t.Errorf("no context: want the finding to say what live context judged it with")
		}
		return f
	}
	var summary []string

	t.Run("union of two groups on one interface", func(t *testing.T) {
		a, b := newGroup("union-a"), newGroup("union-b")
		allow(a, tcp22("80.0.0.0/5"))
		eni := newENI(a, b)
		id := allow(b, tcp22("88.0.0.0/5"))
		f := one(t, published(t, authorized(b, id, "88.0.0.0/5")), detect.Critical, "on "+eni+" only together with the rules of "+a)
		if f.Context != nil && (!slices.Equal(f.Context.Interfaces, []string{eni}) || !slices.Equal(f.Context.Groups, []string{a})) {
			t.Errorf("context %+v, want interface %s and group %s", f.Context, eni, a)
		}
		// Quiet: the same two groups, each on an interface of its own.
		c2, d := newGroup("apart-c"), newGroup("apart-d")
		allow(c2, tcp22("80.0.0.0/5"))
		newENI(c2)
		newENI(d)
		id = allow(d, tcp22("88.0.0.0/5"))
		if got := published(t, authorized(d, id, "88.0.0.0/5")); len(got) != 0 {
			t.Errorf("groups on separate interfaces published %+v, want nothing (medium, under MIN_SEVERITY=high)", got)
		}
		summary = append(summary, "union on "+eni+" critical, apart quiet")
	})

	t.Run("four calls on one group", func(t *testing.T) {
		w := newGroup("window")
		var ids []string
		for i, cidr := range []string{"80.0.0.0/6", "84.0.0.0/6", "88.0.0.0/6", "92.0.0.0/6"} {
			id := allow(w, tcp22(cidr))
			got := published(t, authorized(w, id, cidr))
			if i < 3 {
				if len(got) != 0 {
					t.Errorf("call %d (%s) published %+v, want nothing yet", i+1, cidr, got)
				}
				ids = append(ids, id)
				continue
			}
			f := one(t, got, detect.Critical, "(added earlier)")
			if f.Context != nil && !slices.Equal(slices.Sorted(slices.Values(f.Context.Together)), slices.Sorted(slices.Values(ids))) {
				t.Errorf("together with %q, want the three earlier rules %q", f.Context.Together, ids)
			}
		}
		summary = append(summary, "window: calls 1-3 quiet, call 4 critical together with "+strings.Join(ids, ", "))
	})

	t.Run("prefix list widened after the rule", func(t *testing.T) {
		pl, err := c.CreateManagedPrefixList(ctx, &ec2.CreateManagedPrefixListInput{PrefixListName: aws.String("partners"), AddressFamily: aws.String("IPv4"),
			MaxEntries: aws.Int32(5), Entries: []types.AddPrefixListEntry{{Cidr: aws.String("198.51.100.0/24")}}})
		if err != nil {
			t.Fatal(err)
		}
		list := aws.ToString(pl.PrefixList.PrefixListId)
		p := newGroup("partners")
		id := allow(p, types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), PrefixListIds: []types.PrefixListId{{PrefixListId: aws.String(list)}}})
		if got := published(t, authorized(p, id, list)); len(got) != 0 {
			t.Errorf("a rule from a list of partner ranges published %+v, want nothing", got)
		}
		if _, err := c.ModifyManagedPrefixList(ctx, &ec2.ModifyManagedPrefixListInput{PrefixListId: aws.String(list), CurrentVersion: pl.PrefixList.Version,
			AddEntries: []types.AddPrefixListEntry{{Cidr: aws.String("0.0.0.0/0")}}}); err != nil {
			t.Fatal(err)
		}
		event := record("modify-managed-prefix-list-world.json", "ModifyManagedPrefixList",
			map[string]any{"ModifyManagedPrefixListRequest": map[string]any{"PrefixListId": list, "CurrentVersion": 1,
				"AddEntry": map[string]any{"Cidr": "0.0.0.0/0", "tag": 1}}},
			map[string]any{"ModifyManagedPrefixListResponse": map[string]any{"PrefixList": map[string]any{"PrefixListId": list, "PrefixListName": "partners"}}})
		f := one(t, published(t, event), detect.Critical, "in "+p+" (rule "+id+")")
		if f.Context != nil && !slices.Equal(f.Context.Groups, []string{p}) {
			t.Errorf("groups %q, want %s", f.Context.Groups, p)
		}
		summary = append(summary, "prefix list "+list+": the rule quiet, the widening critical naming "+p)
	})

	t.Run("attach of a world-open group", func(t *testing.T) {
		open, private := newGroup("world-rdp"), newGroup("private-rdp")
		allow(open, tcp(3389, []string{"0.0.0.0/0"}))
		allow(private, tcp(3389, []string{"10.0.0.0/8"}))
		for _, c2 := range []struct {
			group string
			want  int
		}{{open, 1}, {private, 0}} {
			eni := newENI()
			ni, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni}})
			if err != nil || len(ni.NetworkInterfaces) != 1 {
				t.Fatalf("moto interface %s: %v", eni, err)
			}
			groups := []string{c2.group}
			for _, g := range ni.NetworkInterfaces[0].Groups {
				groups = append(groups, aws.ToString(g.GroupId))
			}
			if _, err := c.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(eni), Groups: groups}); err != nil {
				t.Fatal(err)
			}
			event := record("modify-network-interface-attribute-groups.json", "ModifyNetworkInterfaceAttribute",
				map[string]any{"networkInterfaceId": eni, "groupSet": items(groups...)}, map[string]any{"_return": true})
			got := published(t, event)
			if c2.want == 0 {
				if len(got) != 0 {
					t.Errorf("attaching a private group published %+v, want nothing", got)
				}
				continue
			}
			f := one(t, got, detect.Critical, "through "+open+" on "+eni)
			if f.Attach == nil || f.Attach.NetworkInterfaceID != eni || f.SecurityGroup.ID != open || f.Undo == nil || !strings.Contains(f.Undo.Note, "modify-network-interface-attribute") {
				t.Errorf("attach %+v, group %s, undo %+v: want the interface, the open group and how to set the groups back", f.Attach, f.SecurityGroup.ID, f.Undo)
			}
			summary = append(summary, "attach of "+open+" to "+eni+" critical, of a private group quiet")
		}
	})
	t.Run("reachability grade", func(t *testing.T) {
		// A VPC of the test's own: a public subnet routed to an internet
		// gateway for IPv4 and IPv6, and a private one routed nowhere.
		vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.10.0.0/16"), AmazonProvidedIpv6CidrBlock: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		vpcID := vpc.Vpc.VpcId
		igw, err := c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: vpcID}); err != nil {
			t.Fatal(err)
		}
		v6 := ""
		if d, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{aws.ToString(vpcID)}}); err == nil && len(d.Vpcs) == 1 && len(d.Vpcs[0].Ipv6CidrBlockAssociationSet) > 0 {
			v6 = aws.ToString(d.Vpcs[0].Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock)
		}
		if v6 == "" {
			t.Fatal("moto gave the VPC no IPv6 block")
		}
		subnet := func(cidr, ipv6 string, routed bool) (string, string) {
			t.Helper()
			in := &ec2.CreateSubnetInput{VpcId: vpcID, CidrBlock: aws.String(cidr)}
			if ipv6 != "" {
				in.Ipv6CidrBlock = aws.String(ipv6)
			}
			sn, err := c.CreateSubnet(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			rt, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: vpcID})
			if err != nil {
				t.Fatal(err)
			}
			if routed {
				for _, r := range []*ec2.CreateRouteInput{
					{DestinationCidrBlock: aws.String("0.0.0.0/0")}, {DestinationIpv6CidrBlock: aws.String("::/0")},
				} {
					r.RouteTableId, r.GatewayId = rt.RouteTable.RouteTableId, igw.InternetGateway.InternetGatewayId
					if _, err := c.CreateRoute(ctx, r); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, err := c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rt.RouteTable.RouteTableId, SubnetId: sn.Subnet.SubnetId}); err != nil {
				t.Fatal(err)
			}
			return aws.ToString(sn.Subnet.SubnetId), aws.ToString(rt.RouteTable.RouteTableId)
		}
		public, _ := subnet("10.10.1.0/24", "", true)
		private, _ := subnet("10.10.2.0/24", "", false)
		ipv6, _ := subnet("10.10.3.0/24", strings.Replace(v6, "::/56", "::/64", 1), true)
		group := func(name string) string {
			t.Helper()
			g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name), VpcId: vpcID})
			if err != nil {
				t.Fatal(err)
			}
			return aws.ToString(g.GroupId)
		}
		onInterface := func(subnet, group string, eip, v6 bool) string {
			t.Helper()
			in := &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(subnet), Groups: []string{group}}
			if v6 {
				in.Ipv6AddressCount = aws.Int32(1)
			}
			n, err := c.CreateNetworkInterface(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			id := aws.ToString(n.NetworkInterface.NetworkInterfaceId)
			if eip {
				a, err := c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: types.DomainTypeVpc})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.AssociateAddress(ctx, &ec2.AssociateAddressInput{AllocationId: a.AllocationId, NetworkInterfaceId: aws.String(id)}); err != nil {
					t.Fatal(err)
				}
			}
			return id
		}
		sweepGrades := map[string]detect.Grade{}
		for _, c2 := range []struct {
			name, subnet string
			eip, v6      bool
			port         int
			src          string
			grade        detect.Grade
			severity     detect.Severity
		}{
			{"public IP routed to an internet gateway", public, true, false, 8443, "0.0.0.0/0", detect.GradeInternet, detect.Critical},
			{"public IP in a private subnet", private, true, false, 8443, "0.0.0.0/0", detect.GradePrivate, detect.High},
			{"IPv6-only, routed ::/0", ipv6, false, true, 8443, "::/0", detect.GradeInternet, detect.Critical},
			{"unused", "", false, false, 22, "0.0.0.0/0", detect.GradeUnused, detect.Critical},
		} {
			g := group("reach-" + strings.ReplaceAll(c2.name, " ", "-"))
			eni := ""
			if c2.subnet != "" {
				eni = onInterface(c2.subnet, g, c2.eip, c2.v6)
			}
			perm := tcp(int32(c2.port), []string{c2.src})
			if strings.Contains(c2.src, ":") {
				perm = tcp(int32(c2.port), nil, c2.src)
			}
			id := allow(g, perm)
			got := published(t, authorizedPort(g, id, c2.src, c2.port))
			if len(got) != 1 {
				t.Fatalf("%s: %d findings published, want 1", c2.name, len(got))
			}
			f := got[0]
			if f.Reachability == nil || f.Reachability.Grade != c2.grade || f.Severity != c2.severity {
				t.Errorf("%s: %s, reachability %+v; want %s graded %s", c2.name, f.Severity, f.Reachability, c2.severity, c2.grade)
				continue
			}
			if eni != "" && (len(f.Reachability.Interfaces) != 1 || f.Reachability.Interfaces[0].ID != eni) {
				t.Errorf("%s: reachability names %+v, want %s", c2.name, f.Reachability.Interfaces, eni)
			}
			summary = append(summary, fmt.Sprintf("%s %s (%s)", c2.name, f.Reachability.Grade, f.Severity))
			sweepGrades[g] = c2.grade
		}
		// A group tagged sgwatch:public=tcp/8443 on a public host: its world
		// tcp/8443 is meant, but a tag is anyone's with ec2:CreateTags, so
		// on a host the internet reaches it is high, not info.
		tagged := group("reach-tagged")
		if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{tagged}, Tags: []types.Tag{{Key: aws.String(detect.PublicTag), Value: aws.String("tcp/8443")}}}); err != nil {
			t.Fatal(err)
		}
		// The tag change itself is reported, medium, with who set it and
		// when, from its record (published at MIN_SEVERITY=info).
		fnInfo := startFunction(t, moto, "SNS_TOPIC_ARN="+sub.topic, "ENRICH=true", "MIN_SEVERITY=info", "NOTIFICATION_FORMAT=json", "AWS_ENDPOINT_URL_EC2="+moto.Endpoint)
		tagRecord := record("create-tags-sgwatch-public.json", "CreateTags",
			map[string]any{"resourcesSet": map[string]any{"items": []any{map[string]any{"resourceId": tagged}}},
				"tagSet": map[string]any{"items": []any{map[string]any{"key": detect.PublicTag, "value": "tcp/8443"}}}},
			map[string]any{"_return": true})
		tagged1 := publishedBy(t, fnInfo, tagRecord)
		if len(tagged1) != 1 {
			t.Fatalf("the tag change: %d findings published, want 1", len(tagged1))
		}
		tf := tagged1[0]
		if want := "sets tag sgwatch:public on " + tagged + ": authorises tcp/8443"; tf.Severity != detect.Medium || !slices.ContainsFunc(tf.Reasons, func(r string) bool { return strings.Contains(r, want) }) {
			t.Errorf("the tag change: %s %q, want medium with %q", tf.Severity, tf.Reasons, want)
		}
		if tf.Actor.ARN != "arn:aws:sts::111122223333:assumed-role/Admin/ops-admin" || tf.Event.Time != "2026-11-20T10:09:11Z" {
			t.Errorf("the tag change names %q at %q, want its record's author and time", tf.Actor.ARN, tf.Event.Time)
		}
		summary = append(summary, "the sgwatch:public tag set: medium, naming "+tf.Actor.ARN+" at "+tf.Event.Time)
		onInterface(public, tagged, true, false)
		id := allow(tagged, tcp(8443, []string{"0.0.0.0/0"}))
		one(t, published(t, authorizedPort(tagged, id, "0.0.0.0/0", 8443)), detect.High, "(tag sgwatch:public on the group)")

		// Load balancers: moto describes them (it makes no interfaces for
		// them). World tcp/443 on the group of an internet-facing ALB is an
		// authorised public port: info, so not published at
		// MIN_SEVERITY=high, and published at info saying why; world tcp/22
		// on the same group is critical, graded load-balancer; world tcp/443
		// on an internal ALB's group is private, high.
		lbc := elb.NewFromConfig(moto.Config())
		second, _ := subnet("10.10.4.0/24", "", true)
		newLB := func(name string, scheme elbtypes.LoadBalancerSchemeEnum, group string) {
			t.Helper()
			if _, err := lbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(name), Scheme: scheme,
				Subnets: []string{public, second}, SecurityGroups: []string{group}}); err != nil {
				t.Fatal(err)
			}
		}
		graded := func(what string, f detect.Finding, grade detect.Grade) {
			t.Helper()
			if f.Reachability == nil || f.Reachability.Grade != grade {
				t.Errorf("%s: reachability %+v, want %s", what, f.Reachability, grade)
			}
			summary = append(summary, fmt.Sprintf("%s %s (%s)", what, grade, f.Severity))
		}
		alb, internal := group("reach-alb"), group("reach-internal-alb")
		newLB("reach-web", elbtypes.LoadBalancerSchemeEnumInternetFacing, alb)
		newLB("reach-api", elbtypes.LoadBalancerSchemeEnumInternal, internal)
		id = allow(alb, tcp(443, []string{"0.0.0.0/0"}))
		web := authorizedPort(alb, id, "0.0.0.0/0", 443)
		if got := published(t, web); len(got) != 0 {
			t.Errorf("world tcp/443 on an internet-facing ALB's group: %d findings published at MIN_SEVERITY=high, want none", len(got))
		}
		f := one(t, publishedBy(t, fnInfo, web), detect.Info, "authorised public port: tcp/443 (AUTHORIZED_PUBLIC_PORTS) on internet-facing load balancer app/reach-web")
		graded("world tcp/443 on an internet-facing ALB, authorised", f, detect.GradeLoadBalancer)
		id = allow(alb, tcp22("0.0.0.0/0"))
		graded("world tcp/22 on the same ALB", one(t, published(t, authorized(alb, id, "0.0.0.0/0")), detect.Critical, "SSH"), detect.GradeLoadBalancer)
		id = allow(internal, tcp(443, []string{"0.0.0.0/0"}))
		graded("world tcp/443 on an internal ALB", one(t, published(t, authorizedPort(internal, id, "0.0.0.0/0", 443)), detect.High, "internal or blocked"), detect.GradePrivate)
		sweepGrades[alb], sweepGrades[internal] = detect.GradeLoadBalancer, detect.GradePrivate

		// A NAT gateway: AWS puts no security group on a NAT gateway's
		// interface (docs/severity.md); what one changes is a private
		// subnet's default route, and a host there with a public address
		// stays private: a NAT gateway takes no connection from outside.
		natIP, err := c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: types.DomainTypeVpc})
		if err != nil {
			t.Fatal(err)
		}
		nat, err := c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(public), AllocationId: natIP.AllocationId})
		if err != nil {
			t.Fatal(err)
		}
		natted, table := subnet("10.10.5.0/24", "", false)
		if _, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(table), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: nat.NatGateway.NatGatewayId}); err != nil {
			t.Fatal(err)
		}
		natGroup := group("reach-behind-nat")
		onInterface(natted, natGroup, true, false)
		id = allow(natGroup, tcp(8443, []string{"0.0.0.0/0"}))
		graded("world tcp/8443 behind a NAT gateway", one(t, published(t, authorizedPort(natGroup, id, "0.0.0.0/0", 8443)), detect.High, "not reachable from the internet yet"), detect.GradePrivate)
		sweepGrades[natGroup] = detect.GradePrivate

		// The sweep (the command line's, read-only) grades them alike, and
		// decides the authorised port alike (info, shown at MIN_SEVERITY=info).
		code, stdout, stderr := runSweepCommandEnv(t, []string{"MIN_SEVERITY=info"}, "-regions", "us-east-1", "-format", "json")
		if code != 1 {
			t.Fatalf("sgwatch sweep: exit %d\n%s", code, stderr)
		}
		seen := map[string]bool{}
		for l := range strings.Lines(stdout) {
			var f detect.Finding
			if err := json.Unmarshal([]byte(l), &f); err != nil {
				t.Fatalf("sgwatch sweep: %v: %s", err, l)
			}
			if f.SecurityGroup.ID == tagged {
				if f.Severity != detect.High || !slices.ContainsFunc(f.Reasons, func(r string) bool { return strings.Contains(r, "tag sgwatch:public on the group") }) {
					t.Errorf("sgwatch sweep: the tagged group's exposure is %s %q, want high, authorised by its tag", f.Severity, f.Reasons)
				}
				summary = append(summary, "tcp/8443 authorised by tag on a public host: high (not critical), in the event path and the sweep")
				continue
			}
			want, ok := sweepGrades[f.SecurityGroup.ID]
			if !ok {
				continue
			}
			seen[f.SecurityGroup.ID] = true
			if f.Reachability == nil || f.Reachability.Grade != want {
				t.Errorf("sgwatch sweep graded %s %+v, want %s", f.SecurityGroup.ID, f.Reachability, want)
			}
			if f.SecurityGroup.ID == alb && len(f.Rules) == 1 {
				if wantSev := map[bool]detect.Severity{true: detect.Info, false: detect.Critical}[detect.Target(f.Rules[0]) == "tcp/443"]; f.Severity != wantSev {
					t.Errorf("sgwatch sweep: the ALB group's %s is %s %q, want %s", detect.Target(f.Rules[0]), f.Severity, f.Reasons, wantSev)
				}
			}
		}
		if len(seen) != len(sweepGrades) {
			t.Errorf("sgwatch sweep printed the exposures of %d of the %d graded groups", len(seen), len(sweepGrades))
		}
		if _, out, _ := runSweepCommand(t, "-regions", "us-east-1", "-format", "summary"); !strings.Contains(out, "by reachability") || !strings.Contains(out, "  internet ") || !strings.Contains(out, "  load-balancer ") {
			t.Errorf("sgwatch sweep -format summary lacks the counts by reachability:\n%s", out)
		}
		summary = append(summary, fmt.Sprintf("sgwatch sweep graded the %d groups alike", len(seen)))

		// Block Public Access turned off (moto has no such API: the function
		// judges the state the call made, Block Public Access off) lists
		// the world-open groups the internet can reach now, and only those.
		off := record("modify-vpc-block-public-access-off.json", "ModifyVpcBlockPublicAccessOptions",
			map[string]any{"ModifyVpcBlockPublicAccessOptionsRequest": map[string]any{"InternetGatewayBlockMode": "off"}}, map[string]any{})
		f = one(t, published(t, off), detect.Critical, "now reachable on")
		for g, grade := range sweepGrades {
			if f.Context != nil && slices.Contains(f.Context.Groups, g) != (grade == detect.GradeInternet) {
				t.Errorf("Block Public Access off: groups %q; %s (%s) named %v", f.Context.Groups, g, grade, !(grade == detect.GradeInternet))
			}
		}
		summary = append(summary, fmt.Sprintf("Block Public Access turned off: critical, naming the %d reachable groups", len(f.Context.Groups)))
	})
	t.Logf("live: under the runtime emulator with ENRICH=true and MIN_SEVERITY=high against moto EC2: %s", strings.Join(summary, "; "))
}

// sampleEvent is the EventBridge event of a call, from the sample
// events/SAMPLE with its request and response replaced, moved to moto's
// Region and the function's account; edit, when not nil, changes the
// record further.
func sampleEvent(t *testing.T, sample, name string, request, response any, edit func(detail map[string]any)) []byte {
	t.Helper()
	data, err := os.ReadFile("../events/" + sample)
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]any
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	e["account"], e["region"] = rieAccount, emulate.Region
	d := e["detail"].(map[string]any)
	d["eventName"], d["awsRegion"], d["recipientAccountId"] = name, emulate.Region, rieAccount
	d["requestParameters"], d["responseElements"] = request, response
	if edit != nil {
		edit(d)
	}
	out, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
