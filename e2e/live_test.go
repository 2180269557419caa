//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sgwatch/sgwatch/detect"
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
// a private one). The events are the samples in events/, pointed at what
// the test made in moto.
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
		data, err := os.ReadFile("../events/" + sample)
		if err != nil {
			t.Fatal(err)
		}
		var e map[string]any
		if err := json.Unmarshal(data, &e); err != nil {
			t.Fatal(err)
		}
		e["account"], e["region"] = rieAccount, "us-east-1"
		d := e["detail"].(map[string]any)
		d["eventName"], d["awsRegion"], d["recipientAccountId"] = name, "us-east-1", rieAccount
		d["requestParameters"], d["responseElements"] = request, response
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// An AuthorizeSecurityGroupIngress record of rule id: tcp/22 from src
	// (a CIDR or a prefix list).
	authorized := func(group, id, src string) []byte {
		item := map[string]any{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22}
		set := map[string]any{"groupId": group, "securityGroupRuleId": id, "isEgress": false, "ipProtocol": "tcp", "fromPort": 22, "toPort": 22}
		if strings.HasPrefix(src, "pl-") {
			item["prefixListIds"] = map[string]any{"items": []any{map[string]any{"prefixListId": src}}}
			set["prefixListId"] = src
		} else {
			item["ipRanges"] = map[string]any{"items": []any{map[string]any{"cidrIp": src}}}
			set["cidrIpv4"] = src
		}
		return record("authorize-ingress-world-ssh.json", "AuthorizeSecurityGroupIngress",
			map[string]any{"groupId": group, "ipPermissions": map[string]any{"items": []any{item}}},
			map[string]any{"_return": true, "securityGroupRuleSet": map[string]any{"items": []any{set}}})
	}
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
	published := func(t *testing.T, event []byte) []detect.Finding {
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
			out = append(out, f)
		}
		receive(t, sub.urgent)
		return out
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
	t.Logf("live: under the runtime emulator with ENRICH=true and MIN_SEVERITY=high against moto EC2: %s", strings.Join(summary, "; "))
}
