package enrich

// What uses a group, read for its reachability grade (detect.Reach): the
// interfaces as EC2 describes them, the routes of their subnets to an
// internet gateway, and the Region's VPC Block Public Access. The sweep
// reads the same way.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/detect"
)

// NetworkReader is the part of the EC2 client that reads what makes an
// interface reachable.
type NetworkReader interface {
	DescribeRouteTables(ctx context.Context, in *ec2.DescribeRouteTablesInput, opts ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error)
	DescribeVpcBlockPublicAccessOptions(ctx context.Context, in *ec2.DescribeVpcBlockPublicAccessOptionsInput, opts ...func(*ec2.Options)) (*ec2.DescribeVpcBlockPublicAccessOptionsOutput, error)
	DescribeVpcBlockPublicAccessExclusions(ctx context.Context, in *ec2.DescribeVpcBlockPublicAccessExclusionsInput, opts ...func(*ec2.Options)) (*ec2.DescribeVpcBlockPublicAccessExclusionsOutput, error)
	DescribeNetworkAcls(ctx context.Context, in *ec2.DescribeNetworkAclsInput, opts ...func(*ec2.Options)) (*ec2.DescribeNetworkAclsOutput, error)
}

// Interface reads a network interface as DescribeNetworkInterfaces returns
// it. Resource is only what EC2 sets (an instance id, or the interface's
// type for one a service manages), never its free-text description.
func Interface(ni types.NetworkInterface) detect.NetworkInterface {
	n := detect.NetworkInterface{ID: aws.ToString(ni.NetworkInterfaceId), Type: string(ni.InterfaceType),
		SubnetID: aws.ToString(ni.SubnetId), VPCID: aws.ToString(ni.VpcId)}
	for _, g := range ni.Groups {
		n.Groups = append(n.Groups, aws.ToString(g.GroupId))
	}
	if a := ni.Association; a != nil {
		n.PublicIPv4 = aws.ToString(a.PublicIp)
	}
	n.IPv6 = len(ni.Ipv6Addresses) > 0 || len(ni.Ipv6Prefixes) > 0
	if aws.ToBool(ni.RequesterManaged) && aws.ToString(ni.RequesterId) == "amazon-elb" {
		// Elastic Load Balancing's own interface: its description, which
		// only AWS sets on it, names the load balancer.
		n.LoadBalancer = loadBalancerOf(aws.ToString(ni.Description))
		n.Resource = "load balancer " + n.LoadBalancer
		return n
	}
	switch {
	case ni.Attachment != nil && awsid.IsInstanceID(aws.ToString(ni.Attachment.InstanceId)):
		n.Resource = aws.ToString(ni.Attachment.InstanceId)
	case aws.ToBool(ni.RequesterManaged) && n.Type != "" && n.Type != "interface":
		n.Resource = strings.ReplaceAll(n.Type, "_", " ")
	}
	return n
}

// loadBalancerOf names the load balancer of an Elastic Load Balancing
// interface from its description: "ELB app/NAME/ID" (Application), "ELB
// net/NAME/ID" (Network), "ELB NAME" (Classic). Cleaned to the characters
// load balancer names take.
func loadBalancerOf(description string) string {
	name := strings.TrimPrefix(description, "ELB ")
	if kind, rest, ok := strings.Cut(name, "/"); ok && (kind == "app" || kind == "net" || kind == "gwy") {
		rest, _, _ = strings.Cut(rest, "/")
		name = kind + "/" + rest
	}
	if !awsid.IsSafeName(name, 40, "-/") {
		return "unnamed"
	}
	return name
}

// Routes reads, for each subnet (by id, with its VPC), whether its route
// table (or its VPC's main one) sends IPv4 or IPv6 traffic to an internet
// gateway: any destination counts, a blackhole route does not.
func Routes(ctx context.Context, c NetworkReader, subnets map[string]string, opts ...func(*ec2.Options)) (map[string]detect.Route, error) {
	out := make(map[string]detect.Route, len(subnets))
	ids := slices.Sorted(maps.Keys(subnets))
	for chunk := range slices.Chunk(ids, maxFilterValues) {
		tables, err := routeTables(ctx, c, []types.Filter{{Name: aws.String("association.subnet-id"), Values: chunk}}, opts)
		if err != nil {
			return nil, err
		}
		for _, t := range tables {
			for _, a := range t.Associations {
				if s := aws.ToString(a.SubnetId); slices.Contains(chunk, s) {
					out[s] = toIGW(t)
				}
			}
		}
	}
	// A subnet with no table of its own uses its VPC's main one.
	var vpcs []string
	for _, s := range ids {
		if _, ok := out[s]; !ok && !slices.Contains(vpcs, subnets[s]) {
			vpcs = append(vpcs, subnets[s])
		}
	}
	for chunk := range slices.Chunk(vpcs, maxFilterValues) {
		tables, err := routeTables(ctx, c, []types.Filter{{Name: aws.String("vpc-id"), Values: chunk}, {Name: aws.String("association.main"), Values: []string{"true"}}}, opts)
		if err != nil {
			return nil, err
		}
		main := map[string]detect.Route{}
		for _, t := range tables {
			main[aws.ToString(t.VpcId)] = toIGW(t)
		}
		for _, s := range ids {
			if _, ok := out[s]; !ok {
				if r, ok := main[subnets[s]]; ok {
					out[s] = r
				}
			}
		}
	}
	return out, nil
}

// routeTables lists the route tables a filter selects, at most maxPages
// pages.
func routeTables(ctx context.Context, c NetworkReader, filters []types.Filter, opts []func(*ec2.Options)) ([]types.RouteTable, error) {
	var out []types.RouteTable
	p := ec2.NewDescribeRouteTablesPaginator(c, &ec2.DescribeRouteTablesInput{Filters: filters, MaxResults: aws.Int32(100)})
	more, err := bounded(ctx, maxPages, p.HasMorePages, p.NextPage, opts, func(resp *ec2.DescribeRouteTablesOutput) {
		out = append(out, resp.RouteTables...)
	})
	if err := pagesErr("DescribeRouteTables", maxPages, more, err); err != nil {
		return nil, err
	}
	return out, nil
}

// toIGW is what a route table sends to an internet gateway.
func toIGW(t types.RouteTable) detect.Route {
	var r detect.Route
	for _, rt := range t.Routes {
		if !strings.HasPrefix(aws.ToString(rt.GatewayId), "igw-") || rt.State == types.RouteStateBlackhole {
			continue
		}
		switch {
		case aws.ToString(rt.DestinationIpv6CidrBlock) != "":
			r.IPv6 = true
		case aws.ToString(rt.DestinationCidrBlock) != "":
			r.IPv4 = true
		default: // a prefix list: either family
			r.IPv4, r.IPv6 = true, true
		}
	}
	return r
}

// ACLs reads the network ACLs of subnets, by subnet id, their inbound
// entries only (every subnet has exactly one).
func ACLs(ctx context.Context, c NetworkReader, subnets []string, opts ...func(*ec2.Options)) (map[string]detect.NetworkACL, error) {
	out := make(map[string]detect.NetworkACL, len(subnets))
	for chunk := range slices.Chunk(subnets, maxFilterValues) {
		p := ec2.NewDescribeNetworkAclsPaginator(c, &ec2.DescribeNetworkAclsInput{
			Filters: []types.Filter{{Name: aws.String("association.subnet-id"), Values: chunk}}, MaxResults: aws.Int32(100)})
		more, err := bounded(ctx, maxPages, p.HasMorePages, p.NextPage, opts, func(resp *ec2.DescribeNetworkAclsOutput) {
			for _, a := range resp.NetworkAcls {
				acl := detect.NetworkACL{ID: aws.ToString(a.NetworkAclId)}
				for _, e := range a.Entries {
					if aws.ToBool(e.Egress) {
						continue
					}
					entry := detect.ACLEntry{Number: int(aws.ToInt32(e.RuleNumber)), Allow: e.RuleAction == types.RuleActionAllow,
						Protocol: detect.Protocol(aws.ToString(e.Protocol)), From: 0, To: 65535, CIDR: aws.ToString(e.CidrBlock)}
					if entry.CIDR == "" {
						entry.CIDR = aws.ToString(e.Ipv6CidrBlock)
					}
					if r := e.PortRange; r != nil && r.From != nil && r.To != nil {
						entry.From, entry.To = int(*r.From), int(*r.To)
					}
					acl.Entries = append(acl.Entries, entry)
				}
				for _, as := range a.Associations {
					if s := aws.ToString(as.SubnetId); slices.Contains(chunk, s) {
						out[s] = acl
					}
				}
			}
		})
		if err := pagesErr("DescribeNetworkAcls", maxPages, more, err); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// BlockPublicAccess reads the Region's VPC Block Public Access: its mode,
// and the subnets and VPCs excluded from it both ways. What cannot be read
// counts as off: it can only make a grade lower.
func BlockPublicAccess(ctx context.Context, c NetworkReader, opts ...func(*ec2.Options)) (detect.BlockPublicAccess, error) {
	// One attempt: what is not read counts as off, the loud side, and a
	// Region (or an emulator) without the API would cost every retry.
	opts = append(slices.Clip(opts), func(o *ec2.Options) { o.RetryMaxAttempts = 1 })
	out, err := c.DescribeVpcBlockPublicAccessOptions(ctx, &ec2.DescribeVpcBlockPublicAccessOptionsInput{}, opts...)
	if err != nil {
		return detect.BlockPublicAccess{}, fmt.Errorf("DescribeVpcBlockPublicAccessOptions: %s", short(err))
	}
	var b detect.BlockPublicAccess
	if o := out.VpcBlockPublicAccessOptions; o != nil {
		b.Mode = string(o.InternetGatewayBlockMode)
		if strings.HasSuffix(string(o.State), "-in-progress") {
			// A mode that is not in effect yet blocks nothing yet.
			return detect.BlockPublicAccess{Mode: "off"}, nil
		}
	}
	if b.Mode == "" || b.Mode == string(types.InternetGatewayBlockModeOff) {
		return detect.BlockPublicAccess{Mode: "off"}, nil
	}
	in := &ec2.DescribeVpcBlockPublicAccessExclusionsInput{MaxResults: aws.Int32(1000)}
	for page := 0; ; page++ {
		if page == maxPages {
			return detect.BlockPublicAccess{}, fmt.Errorf("DescribeVpcBlockPublicAccessExclusions: more than %d pages", maxPages)
		}
		resp, err := c.DescribeVpcBlockPublicAccessExclusions(ctx, in, opts...)
		if err != nil {
			return detect.BlockPublicAccess{}, fmt.Errorf("DescribeVpcBlockPublicAccessExclusions: %s", short(err))
		}
		for _, e := range resp.VpcBlockPublicAccessExclusions {
			arn := aws.ToString(e.ResourceArn)
			// A failed update leaves the exclusion there: only a deleted one
			// is gone.
			if e.InternetGatewayExclusionMode == types.InternetGatewayExclusionModeAllowBidirectional && string(e.State) != "delete-complete" {
				b.Excluded = append(b.Excluded, arn[strings.LastIndex(arn, "/")+1:])
			}
		}
		if aws.ToString(resp.NextToken) == "" {
			break
		}
		in.NextToken = resp.NextToken
	}
	return b, nil
}

// Network reads what makes nis reachable: the routes and network ACLs of
// the subnets of those with a public address, and the Region's Block
// Public Access (none of it when no interface has one). What could not be read is Unread (the
// routes) or a note (Block Public Access, counted as off).
func Network(ctx context.Context, c NetworkReader, nis []detect.NetworkInterface, opts ...func(*ec2.Options)) *detect.Network {
	n := &detect.Network{Interfaces: nis}
	// Only an interface with a public address can be reachable: the
	// routes and Block Public Access of the others are not read.
	subnets := map[string]string{}
	for _, ni := range nis {
		if ni.SubnetID != "" && (ni.PublicIPv4 != "" || ni.IPv6) {
			subnets[ni.SubnetID] = ni.VPCID
		}
	}
	if len(subnets) == 0 {
		return n
	}
	routes, err := Routes(ctx, c, subnets, opts...)
	if err != nil {
		n.Unread = append(n.Unread, "the routes of the interfaces' subnets could not be read ("+err.Error()+")")
	}
	var missing []string
	for _, s := range slices.Sorted(maps.Keys(subnets)) {
		if _, ok := routes[s]; !ok && err == nil {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		// No table of its own and no main one seen: the routes may be
		// another account's (a shared VPC).
		n.Unread = append(n.Unread, fmt.Sprintf("no route table was found for %d subnets (%s)", len(missing), strings.Join(missing[:min(len(missing), 3)], ", ")))
	}
	n.Routes = routes
	if acls, err := ACLs(ctx, c, slices.Sorted(maps.Keys(subnets)), opts...); err != nil {
		n.Notes = append(n.Notes, "the network ACLs could not be read ("+err.Error()+")")
	} else {
		n.ACLs = acls
	}
	ReadBlockPublicAccess(ctx, c, n, opts...)
	return n
}

// ReadBlockPublicAccess reads the Region's Block Public Access into n,
// unless it was read (or tried) already; what cannot be read counts as
// off, with a note, and n.BPAUnread.
func ReadBlockPublicAccess(ctx context.Context, c NetworkReader, n *detect.Network, opts ...func(*ec2.Options)) {
	if n.BPA.Mode != "" || n.BPAUnread {
		return
	}
	if b, err := BlockPublicAccess(ctx, c, opts...); err != nil {
		n.Notes = append(n.Notes, "VPC Block Public Access could not be read ("+err.Error()+"): counted as off")
		n.BPAUnread = true
	} else {
		n.BPA = b
	}
}
