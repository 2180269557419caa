package enrich

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/sgwatch/sgwatch/detect"
)

// fakeLBs describes load balancers, pages pages of them (the same ones on
// each), or fails with err.
type fakeLBs struct {
	lbs   []elbtypes.LoadBalancer
	pages int
	err   error
	calls int
}

func (f *fakeLBs) DescribeLoadBalancers(_ context.Context, in *elb.DescribeLoadBalancersInput, _ ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	out := &elb.DescribeLoadBalancersOutput{LoadBalancers: f.lbs}
	if f.calls < f.pages {
		out.NextMarker = aws.String("next")
	}
	return out, nil
}

func lbARN(name string) *string {
	return aws.String("arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/" + name + "/50dc6c495c0c9188")
}

// TestLoadBalancers: a load balancer is named as its interfaces name it,
// with its scheme, groups and subnets; one that failed to provision is
// left out; a hostile name is not carried; more pages than the bound is
// an error.
func TestLoadBalancers(t *testing.T) {
	f := &fakeLBs{lbs: []elbtypes.LoadBalancer{
		{LoadBalancerArn: lbARN("app/web"), Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, SecurityGroups: []string{"sg-1"}, VpcId: aws.String("vpc-1"),
			AvailabilityZones: []elbtypes.AvailabilityZone{{SubnetId: aws.String("subnet-a")}, {SubnetId: aws.String("subnet-b")}}},
		{LoadBalancerArn: lbARN("net/edge"), Scheme: elbtypes.LoadBalancerSchemeEnumInternal},
		{LoadBalancerArn: lbARN("app/broken"), State: &elbtypes.LoadBalancerState{Code: elbtypes.LoadBalancerStateEnumFailed}},
		{LoadBalancerArn: aws.String("arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/<!channel>/1")},
	}}
	got, err := LoadBalancers(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, lb := range got {
		names = append(names, lb.Name)
	}
	if !slices.Equal(names, []string{"app/web", "net/edge", "unnamed"}) {
		t.Errorf("names %q", names)
	}
	if w := got[0]; !w.Described || !w.InternetFacing || !w.Uses("sg-1") || w.VPCID != "vpc-1" || !slices.Equal(w.Subnets, []string{"subnet-a", "subnet-b"}) || got[1].InternetFacing {
		t.Errorf("described %+v %+v", got[0], got[1])
	}
	if _, err := LoadBalancers(context.Background(), &fakeLBs{pages: maxBalancerPages + 1}); err == nil || !strings.Contains(err.Error(), "more than 5 pages") {
		t.Errorf("too many pages: %v", err)
	}
}

// TestDescribeBalancers: the event path describes load balancers only when
// they can make the grade (no interface uses the group, or a load
// balancer's do), keeps those that use the group, and, when they cannot be
// described, leaves an unused-looking group unknown and notes it otherwise.
func TestDescribeBalancers(t *testing.T) {
	web := elbtypes.LoadBalancer{LoadBalancerArn: lbARN("app/web"), Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, SecurityGroups: []string{"sg-1"}}
	other := elbtypes.LoadBalancer{LoadBalancerArn: lbARN("app/other"), SecurityGroups: []string{"sg-2"}}
	instance := detect.NetworkInterface{ID: "eni-1", Resource: "i-1"}
	albENI := detect.NetworkInterface{ID: "eni-2", LoadBalancer: "app/web"}
	denied := errors.New("AccessDenied")
	for _, c := range []struct {
		name      string
		lbs       *fakeLBs
		nis       []detect.NetworkInterface
		calls     int
		using     []string
		unread    string
		note      string
		wantGrade detect.Grade
		ec2       *fakeEC2
		bpaUnread bool
	}{
		{"no interface: described", &fakeLBs{lbs: []elbtypes.LoadBalancer{web, other}}, nil, 1, []string{"app/web"}, "", "", detect.GradeLoadBalancer, nil, false},
		{"an instance's interface: not read", &fakeLBs{lbs: []elbtypes.LoadBalancer{web}}, []detect.NetworkInterface{instance}, 0, nil, "", "", detect.GradePrivate, nil, false},
		{"a load balancer's interface: described", &fakeLBs{lbs: []elbtypes.LoadBalancer{web}}, []detect.NetworkInterface{albENI}, 1, []string{"app/web"}, "", "", detect.GradeLoadBalancer, nil, false},
		{"denied, no interface: unknown", &fakeLBs{err: denied}, nil, 1, nil, "could not be described (DescribeLoadBalancers: AccessDenied)", "", detect.GradeUnknown, nil, false},
		{"denied, a load balancer's interface: noted", &fakeLBs{err: denied}, []detect.NetworkInterface{albENI}, 1, nil, "", "judged by their interfaces", detect.GradePrivate, nil, false},
		{"no client, no interface: unknown", nil, nil, 0, nil, "no Elastic Load Balancing client", "", detect.GradeUnknown, nil, false},
		{"internet-facing, every subnet blocked: private", &fakeLBs{lbs: []elbtypes.LoadBalancer{web}}, nil, 1, []string{"app/web"}, "", "", detect.GradePrivate,
			&fakeEC2{bpaMode: types.InternetGatewayBlockModeBlockIngress}, false},
		{"internet-facing, Block Public Access unread: flagged", &fakeLBs{lbs: []elbtypes.LoadBalancer{web}}, nil, 1, []string{"app/web"}, "", "VPC Block Public Access could not be read", detect.GradeLoadBalancer,
			&fakeEC2{bpaErr: denied}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := c.ec2
			if api == nil {
				api = &fakeEC2{}
			}
			e := newFor(api)
			if c.lbs != nil {
				e.WithLoadBalancers(func() LoadBalancerReader { return c.lbs })
			}
			n := &detect.Network{Interfaces: c.nis}
			e.describeBalancers(context.Background(), api, n, "sg-1", "eu-west-1", nil)
			if n.BPAUnread != c.bpaUnread || (len(n.LoadBalancers) > 0 && n.LoadBalancers[0].InternetFacing) != (api.bpaCalls == 1) {
				t.Errorf("Block Public Access: %d calls, unread %v; want read once for an internet-facing load balancer, unread %v", api.bpaCalls, n.BPAUnread, c.bpaUnread)
			}
			var using []string
			for _, lb := range n.LoadBalancers {
				using = append(using, lb.Name)
			}
			calls := 0
			if c.lbs != nil {
				calls = c.lbs.calls
			}
			if calls != c.calls || !slices.Equal(using, c.using) || !strings.Contains(strings.Join(n.Unread, ";"), c.unread) ||
				!strings.Contains(strings.Join(n.Notes, ";"), c.note) || (c.unread == "") != (len(n.Unread) == 0) || (c.note == "") != (len(n.Notes) == 0) {
				t.Errorf("%d calls, using %q, unread %q, notes %q", calls, using, n.Unread, n.Notes)
			}
			if g := detect.Reach(*n).Grade; g != c.wantGrade {
				t.Errorf("grade %s, want %s", g, c.wantGrade)
			}
		})
	}
}
