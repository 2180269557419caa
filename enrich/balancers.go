package enrich

// The load balancers of a Region as Elastic Load Balancing describes them
// (Application, Network and Gateway Load Balancers): their scheme, type,
// groups and subnets, for the reachability grade (detect.Reach). Classic
// Load Balancers are known by their interfaces only (Interface): reading
// them would take a second client, and its start-up cost, for a kind AWS
// no longer lets new accounts create.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/sgwatch/sgwatch/detect"
)

// LoadBalancerReader is the part of the Elastic Load Balancing (v2) client
// that describes load balancers.
type LoadBalancerReader interface {
	DescribeLoadBalancers(ctx context.Context, in *elb.DescribeLoadBalancersInput, opts ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error)
}

// NewLoadBalancers builds the Elastic Load Balancing client from the AWS
// configuration main loads (AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2
// for a local endpoint), retrying at most once, as NewEC2.
func NewLoadBalancers(cfg aws.Config) *elb.Client {
	return elb.NewFromConfig(cfg, func(o *elb.Options) { o.RetryMaxAttempts = 2 })
}

// maxBalancerPages bounds the pages of load balancers read: 400 a page,
// 2,000 in all (the default quota is 50 of each type per Region).
const maxBalancerPages = 5

// LoadBalancers describes the Region's load balancers, but those that
// failed to provision. More than maxBalancerPages pages is an error:
// what was not read could be the one that uses a group.
func LoadBalancers(ctx context.Context, c LoadBalancerReader, opts ...func(*elb.Options)) ([]detect.LoadBalancer, error) {
	var out []detect.LoadBalancer
	p := elb.NewDescribeLoadBalancersPaginator(c, &elb.DescribeLoadBalancersInput{PageSize: aws.Int32(400)})
	for page := 0; p.HasMorePages(); page++ {
		if page == maxBalancerPages {
			return nil, fmt.Errorf("DescribeLoadBalancers: more than %d pages", maxBalancerPages)
		}
		resp, err := p.NextPage(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("DescribeLoadBalancers: %s", short(err))
		}
		for _, lb := range resp.LoadBalancers {
			if lb.State != nil && lb.State.Code == elbtypes.LoadBalancerStateEnumFailed {
				continue
			}
			out = append(out, balancer(lb))
		}
	}
	return out, nil
}

// balancer is a load balancer as described, named as its interfaces'
// descriptions name it ("ELB app/NAME/ID" → "app/NAME").
func balancer(lb elbtypes.LoadBalancer) detect.LoadBalancer {
	arn := aws.ToString(lb.LoadBalancerArn)
	_, name, _ := strings.Cut(arn, ":loadbalancer/")
	out := detect.LoadBalancer{Name: loadBalancerOf("ELB " + name), Described: true,
		InternetFacing: lb.Scheme == elbtypes.LoadBalancerSchemeEnumInternetFacing,
		Groups:         slices.Clone(lb.SecurityGroups), VPCID: aws.ToString(lb.VpcId)}
	for _, az := range lb.AvailabilityZones {
		if s := aws.ToString(az.SubnetId); s != "" {
			out.Subnets = append(out.Subnets, s)
		}
	}
	return out
}

// AddLoadBalancers adds to n, the network of group, those of lbs that use
// it; err says why lbs could not be described. Then a load balancer's
// interfaces judge it, and a group no interface uses is unknown: a load
// balancer may be what uses it.
func AddLoadBalancers(n *detect.Network, group string, lbs []detect.LoadBalancer, err error) {
	switch {
	case err == nil:
		for _, lb := range lbs {
			if lb.Uses(group) {
				n.LoadBalancers = append(n.LoadBalancers, lb)
			}
		}
	case len(n.Interfaces) == 0:
		n.Unread = append(n.Unread, "the load balancers could not be described ("+err.Error()+")")
	case slices.ContainsFunc(n.Interfaces, func(ni detect.NetworkInterface) bool { return ni.LoadBalancer != "" }):
		n.Notes = append(n.Notes, "the load balancers could not be described ("+err.Error()+"): judged by their interfaces")
	}
}
