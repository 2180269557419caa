package enrich

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/sgwatch/sgwatch/detect"
)

// fakeEC2 answers from its fields; block makes a call wait for its context.
type fakeEC2 struct {
	group      *types.SecurityGroup
	groupErr   error
	interfaces int // in pages of up to 1,000
	niErr      error
	block      bool
	regions    []string
}

func (f *fakeEC2) region(opts []func(*ec2.Options)) {
	var o ec2.Options
	for _, fn := range opts {
		fn(&o)
	}
	f.regions = append(f.regions, o.Region)
}

func (f *fakeEC2) DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if f.groupErr != nil {
		return nil, f.groupErr
	}
	out := &ec2.DescribeSecurityGroupsOutput{}
	if f.group != nil && aws.ToString(f.group.GroupId) == in.GroupIds[0] {
		out.SecurityGroups = []types.SecurityGroup{*f.group}
	}
	return out, nil
}

func (f *fakeEC2) DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, opts ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if f.niErr != nil {
		return nil, f.niErr
	}
	f.region(opts)
	start := 0
	if in.NextToken != nil {
		fmt.Sscan(*in.NextToken, &start)
	}
	n := min(f.interfaces-start, int(aws.ToInt32(in.MaxResults)))
	out := &ec2.DescribeNetworkInterfacesOutput{NetworkInterfaces: make([]types.NetworkInterface, n)}
	if start+n < f.interfaces {
		out.NextToken = aws.String(fmt.Sprint(start + n))
	}
	return out, nil
}

const id = "sg-0a1b2c3d4e5f60718"

func finding() *detect.Finding {
	return &detect.Finding{Action: detect.Modify, Outcome: detect.Succeeded,
		Event: detect.Event{Name: "AuthorizeSecurityGroupIngress", Region: "eu-west-1"}, SecurityGroup: detect.SecurityGroup{ID: id}}
}

func TestEnrich(t *testing.T) {
	web := &types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String("web"), VpcId: aws.String("vpc-0123456789abcdef0"),
		Description: aws.String("web tier"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}}
	def := &types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String("default"), VpcId: aws.String("vpc-0123456789abcdef0")}
	notFound := &smithy.GenericAPIError{Code: "InvalidGroup.NotFound", Message: "The security group does not exist"}
	n := func(v int) *int { return &v }
	yes, no := true, false
	cases := []struct {
		name   string
		ec2    *fakeEC2
		mutate func(*detect.Finding)
		want   detect.SecurityGroup
		note   string // in the only note; "" for none
	}{
		{"fills what the event lacks", &fakeEC2{group: web, interfaces: 14}, nil,
			detect.SecurityGroup{ID: id, Name: "web", VPCID: "vpc-0123456789abcdef0", Description: "web tier", Tags: map[string]string{"team": "payments"}, IsDefault: &no, AttachedInterfaces: n(14)}, ""},
		{"keeps what the event says", &fakeEC2{group: web}, func(f *detect.Finding) { f.SecurityGroup.Name = "from-event" },
			detect.SecurityGroup{ID: id, Name: "from-event", VPCID: "vpc-0123456789abcdef0", Description: "web tier", Tags: map[string]string{"team": "payments"}, IsDefault: &no, AttachedInterfaces: n(0)}, ""},
		{"default group", &fakeEC2{group: def, interfaces: 2500}, nil,
			detect.SecurityGroup{ID: id, Name: "default", VPCID: "vpc-0123456789abcdef0", IsDefault: &yes, AttachedInterfaces: n(2500)}, ""},
		{"more interfaces than it counts", &fakeEC2{group: def, interfaces: 7000}, nil,
			detect.SecurityGroup{ID: id, Name: "default", VPCID: "vpc-0123456789abcdef0", IsDefault: &yes, AttachedInterfaces: n(5000)}, "at least 5000 network interfaces"},
		{"group not found", &fakeEC2{groupErr: notFound, interfaces: 1}, nil,
			detect.SecurityGroup{ID: id, AttachedInterfaces: n(1)}, "DescribeSecurityGroups failed: InvalidGroup.NotFound: The security group does not exist"},
		{"interfaces denied", &fakeEC2{group: web, niErr: &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "no"}}, nil,
			detect.SecurityGroup{ID: id, Name: "web", VPCID: "vpc-0123456789abcdef0", Description: "web tier", Tags: map[string]string{"team": "payments"}, IsDefault: &no}, "DescribeNetworkInterfaces failed: UnauthorizedOperation"},
		{"no group id", &fakeEC2{group: web}, func(f *detect.Finding) { f.SecurityGroup.ID = "" }, detect.SecurityGroup{}, "names no security group id"},
		{"deleted group", &fakeEC2{group: web}, func(f *detect.Finding) { f.Action = detect.Delete }, detect.SecurityGroup{ID: id}, "the group is deleted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := finding()
			if c.mutate != nil {
				c.mutate(f)
			}
			New(c.ec2).Enrich(context.Background(), f)
			if !reflect.DeepEqual(f.SecurityGroup, c.want) {
				t.Errorf("group\n got %+v\nwant %+v", f.SecurityGroup, c.want)
			}
			switch {
			case c.note == "" && len(f.Notes) != 0:
				t.Errorf("notes %q, want none", f.Notes)
			case c.note != "" && (len(f.Notes) != 1 || !strings.Contains(f.Notes[0], c.note)):
				t.Errorf("notes %q, want one containing %q", f.Notes, c.note)
			}
			for _, r := range c.ec2.regions {
				if r != "eu-west-1" {
					t.Errorf("looked up in region %q, want the event's eu-west-1", r)
				}
			}
		})
	}
}

// TestEnrichTimeout: a lookup that does not answer ends at the timeout with
// a note, and the finding is otherwise untouched.
func TestEnrichTimeout(t *testing.T) {
	e := &Enricher{ec2: &fakeEC2{block: true}, timeout: 20 * time.Millisecond}
	f := finding()
	e.Enrich(context.Background(), f)
	if len(f.Notes) != 2 || !strings.Contains(f.Notes[0], "timed out") || !strings.Contains(f.Notes[1], "timed out") {
		t.Errorf("notes %q, want both lookups timed out", f.Notes)
	}
	if f.SecurityGroup.AttachedInterfaces != nil || f.SecurityGroup.IsDefault != nil {
		t.Errorf("group %+v changed by a lookup that timed out", f.SecurityGroup)
	}
}
