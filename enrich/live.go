package enrich

// Live context for judging a change as AWS applies it (detect.Live): the
// rules the group holds after the call, the other groups of each network
// interface that uses it, and the prefix lists their rules name; for an
// attach call, the interface's groups now; for a prefix list change, every
// group whose rules name the list.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/detect"
)

// maxFilterValues is the most values one EC2 filter takes.
const maxFilterValues = 200

// groupRules lists the rules of the groups ids, by group id
// (DescribeSecurityGroupRules, filter group-id), at most maxPages pages
// for each 200 groups. A group with none listed has an empty entry.
func groupRules(ctx context.Context, c EC2, ids []string, opts []func(*ec2.Options)) (map[string][]detect.Rule, error) {
	got := make(map[string][]detect.Rule, len(ids))
	for _, id := range ids {
		got[id] = []detect.Rule{}
	}
	for chunk := range slices.Chunk(ids, maxFilterValues) {
		p := ec2.NewDescribeSecurityGroupRulesPaginator(c, &ec2.DescribeSecurityGroupRulesInput{
			Filters: []types.Filter{{Name: aws.String("group-id"), Values: chunk}}, MaxResults: aws.Int32(1000)})
		more, err := bounded(ctx, maxPages, p.HasMorePages, p.NextPage, opts, func(out *ec2.DescribeSecurityGroupRulesOutput) {
			for _, r := range out.SecurityGroupRules {
				g := aws.ToString(r.GroupId)
				if _, asked := got[g]; asked {
					got[g] = append(got[g], FromSDK(r))
				}
			}
		})
		if err := pagesErr("DescribeSecurityGroupRules", maxPages, more, err); err != nil {
			return nil, err
		}
	}
	return got, nil
}

// interfacesOf lists the network interfaces a filter selects, each with
// its groups, at most maxPages pages; more reports that there were more.
func interfacesOf(ctx context.Context, c EC2, in *ec2.DescribeNetworkInterfacesInput, opts []func(*ec2.Options)) (nis []detect.NetworkInterface, more bool, err error) {
	p := ec2.NewDescribeNetworkInterfacesPaginator(c, in)
	more, err = bounded(ctx, maxPages, p.HasMorePages, p.NextPage, opts, func(out *ec2.DescribeNetworkInterfacesOutput) {
		for _, ni := range out.NetworkInterfaces {
			nis = append(nis, Interface(ni))
		}
	})
	if err != nil {
		return nil, false, err
	}
	return nis, more, nil
}

// fill reads, into live, the rules of every group on its interfaces that
// it does not hold yet, and the prefix lists that their ingress rules and
// the extra rules name.
func fill(ctx context.Context, c EC2, live *detect.Live, extra []detect.Rule, opts []func(*ec2.Options)) {
	if live.Groups == nil {
		live.Groups = map[string][]detect.Rule{}
	}
	var ids []string
	for _, ni := range live.Interfaces {
		for _, g := range ni.Groups {
			if _, have := live.Groups[g]; !have && !slices.Contains(ids, g) {
				ids = append(ids, g)
			}
		}
	}
	if len(ids) > 0 {
		got, err := groupRules(ctx, c, ids, opts)
		if err != nil {
			live.Unread = append(live.Unread, "the rules of the interfaces' other groups: "+err.Error())
		}
		for _, id := range ids {
			switch rs, ok := got[id]; {
			case !ok:
			case len(rs) == 0:
				// Every group has a rule or had one; none listed is a group
				// of another account (a shared VPC) or one just deleted.
				live.Unread = append(live.Unread, "the rules of "+id+" were not listed (a group of another account, or deleted): what it adds is not known")
			default:
				live.Groups[id] = rs
			}
		}
	}
	var lists []string
	add := func(rs []detect.Rule) {
		for _, r := range rs {
			if r.PrefixListID != "" && r.Direction != detect.Egress && !slices.Contains(lists, r.PrefixListID) {
				lists = append(lists, r.PrefixListID)
			}
		}
	}
	add(extra)
	add(live.Rules)
	for _, g := range slices.Sorted(maps.Keys(live.Groups)) {
		add(live.Groups[g])
	}
	if len(lists) > 0 {
		live.Lists = PrefixLists(ctx, c, lists, opts...)
		for _, id := range lists {
			if err := live.Lists[id].Err; err != nil {
				live.Unread = append(live.Unread, "prefix list "+id+": "+short(err)+" (its rules count as the whole internet)")
			}
		}
	}
}

// attached reads what an attach call's interface admits after it: the
// interface (by id, or the instance's), the groups the call set (the
// record's: the interface's groups may have changed again since), their
// rules, and their prefix lists. Without the record's set it judges the
// groups the interface has now, and says so.
func (e *Enricher) attached(ctx context.Context, c EC2, f *detect.Finding, opts []func(*ec2.Options)) *detect.Live {
	live := &detect.Live{}
	a := f.Attach
	var set []string
	for _, g := range a.Groups {
		if awsid.IsGroupID(g) {
			set = append(set, g)
		} else {
			live.Unread = append(live.Unread, "a group of the record's group set is not a group id")
		}
	}
	if a.Unread || len(set) == 0 {
		live.Unread = append(live.Unread, "the groups the call set could not be read from the record: judged on the interface's groups now")
		set = nil
	}
	in := &ec2.DescribeNetworkInterfacesInput{}
	id := a.NetworkInterfaceID
	switch {
	case awsid.IsNetworkInterfaceID(id):
		in.NetworkInterfaceIds = []string{id}
	case awsid.IsInstanceID(a.InstanceID):
		id = a.InstanceID
		in.Filters = []types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{id}}}
	default:
		live.Unread = append(live.Unread, "the record names no network interface or instance id to look up")
		return live
	}
	nis, _, err := interfacesOf(ctx, c, in, opts)
	switch {
	case err != nil:
		live.Unread = append(live.Unread, "DescribeNetworkInterfaces: "+short(err))
	case len(nis) == 0:
		live.Unread = append(live.Unread, "DescribeNetworkInterfaces returned no interface for "+id)
	}
	if len(nis) == 0 && set != nil {
		// The set the call made is judged all the same.
		nis = []detect.NetworkInterface{{ID: id}}
	}
	for i := range nis {
		if set != nil {
			nis[i].Groups = set
		}
	}
	live.Interfaces = nis
	fill(ctx, c, live, nil, opts)
	live.Network = Network(ctx, c, nis, opts...)
	if len(live.Unread) > 0 {
		live.Network.Unread = append(live.Network.Unread, "the interface could not be read in full")
	}
	return live
}

// listed reads what a prefix list change opens: every group whose rules
// name the list (DescribeSecurityGroupRules has no prefix-list filter, so
// the Region's rules are read, at most maxPages pages), their rules, and
// the lists they name, the changed one's entries now among them.
func (e *Enricher) listed(ctx context.Context, c EC2, f *detect.Finding, opts []func(*ec2.Options)) *detect.Live {
	live := &detect.Live{Groups: map[string][]detect.Rule{}}
	id := f.List.ID
	if !awsid.IsPrefixListID(id) {
		live.Unread = append(live.Unread, "the record names no prefix list id to look up")
		return live
	}
	all, unread := regionRules(ctx, c, opts)
	live.Unread = append(live.Unread, unread...)
	for g, rs := range all {
		if slices.ContainsFunc(rs, func(r detect.Rule) bool { return r.PrefixListID == id }) {
			live.Groups[g] = rs
		}
	}
	fill(ctx, c, live, []detect.Rule{{PrefixListID: id}}, opts)
	return live
}

// changed is what a change to a group's rules is judged with: the group's
// rules after the call and the interfaces that use it (read already, err
// the rules' error), the rules of the interfaces' other groups, and the
// prefix lists.
func (e *Enricher) changed(ctx context.Context, c EC2, f *detect.Finding, rules []detect.Rule, err error, nis []detect.NetworkInterface, opts []func(*ec2.Options)) *detect.Live {
	live := &detect.Live{Interfaces: nis, Rules: rules}
	if err != nil {
		live.Unread = append(live.Unread, "the group's rules after the call could not be read ("+err.Error()+")")
	}
	live.Groups = map[string][]detect.Rule{f.SecurityGroup.ID: live.Rules}
	fill(ctx, c, live, f.Rules, opts)
	live.Network = Network(ctx, c, nis, opts...)
	e.describeBalancers(ctx, c, live.Network, f.SecurityGroup.ID, f.Event.Region, opts)
	return live
}

// describeBalancers adds to n the load balancers that use group, as
// Elastic Load Balancing describes them in region, when they can make its
// grade: no interface uses the group, or a load balancer's do. With an
// internet-facing one, Block Public Access is read too (opts, EC2's), if
// it was not: it decides whether that one is public.
func (e *Enricher) describeBalancers(ctx context.Context, c EC2, n *detect.Network, group, region string, opts []func(*ec2.Options)) {
	if !slices.ContainsFunc(n.Interfaces, func(ni detect.NetworkInterface) bool { return ni.LoadBalancer != "" }) && len(n.Interfaces) > 0 {
		return
	}
	err := errors.New("no Elastic Load Balancing client")
	var lbs []detect.LoadBalancer
	if e.balancers != nil {
		var lbOpts []func(*elb.Options)
		if awsid.IsRegion(region) {
			lbOpts = append(lbOpts, func(o *elb.Options) { o.Region = region })
		}
		lbs, err = LoadBalancers(ctx, e.balancers(), lbOpts...)
	}
	AddLoadBalancers(n, group, lbs, err)
	if slices.ContainsFunc(n.LoadBalancers, func(lb detect.LoadBalancer) bool { return lb.InternetFacing }) {
		ReadBlockPublicAccess(ctx, c, n, opts...)
	}
}

// exposed reads what a Block Public Access change may expose: the Region's
// groups that have a rule open to the whole internet (at most maxPages
// pages of rules), the interfaces that use them, and what makes those
// reachable.
func (e *Enricher) exposed(ctx context.Context, c EC2, opts []func(*ec2.Options)) *detect.Live {
	live := &detect.Live{Groups: map[string][]detect.Rule{}}
	all, unread := regionRules(ctx, c, opts)
	live.Unread = append(live.Unread, unread...)
	var open []string
	for _, g := range slices.Sorted(maps.Keys(all)) {
		in := detect.IngressRules(all[g])
		if slices.Contains(detect.Scoring{}.Exposed(in), true) || slices.ContainsFunc(in, func(r detect.Rule) bool { return r.PrefixListID != "" }) {
			live.Groups[g], open = all[g], append(open, g)
		}
	}
	var nis []detect.NetworkInterface
	for chunk := range slices.Chunk(open, maxFilterValues) {
		got, more, err := interfacesOf(ctx, c, &ec2.DescribeNetworkInterfacesInput{
			Filters: []types.Filter{{Name: aws.String("group-id"), Values: chunk}}, MaxResults: aws.Int32(1000)}, opts)
		switch {
		case err != nil:
			live.Unread = append(live.Unread, "DescribeNetworkInterfaces: "+short(err))
		case more:
			live.Unread = append(live.Unread, fmt.Sprintf("more than %d pages of interfaces", maxPages))
		}
		nis = append(nis, got...)
	}
	fill(ctx, c, live, nil, opts)
	live.Network = Network(ctx, c, nis, opts...)
	return live
}

// regionRules lists every rule of the Region, by group, at most maxPages
// pages; unread says what was not read.
func regionRules(ctx context.Context, c EC2, opts []func(*ec2.Options)) (all map[string][]detect.Rule, unread []string) {
	all = map[string][]detect.Rule{}
	p := ec2.NewDescribeSecurityGroupRulesPaginator(c, &ec2.DescribeSecurityGroupRulesInput{MaxResults: aws.Int32(1000)})
	more, err := bounded(ctx, maxPages, p.HasMorePages, p.NextPage, opts, func(out *ec2.DescribeSecurityGroupRulesOutput) {
		for _, r := range out.SecurityGroupRules {
			g := aws.ToString(r.GroupId)
			all[g] = append(all[g], FromSDK(r))
		}
	})
	switch {
	case err != nil:
		return all, []string{"DescribeSecurityGroupRules: " + short(err)}
	case more:
		return all, []string{fmt.Sprintf("the Region holds more than %d pages of rules: groups past them were not read", maxPages)}
	}
	return all, nil
}
