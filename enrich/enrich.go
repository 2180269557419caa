// Package enrich adds live context to a finding from the EC2 API (ENRICH=true):
// the group's name, VPC, description and tags when the event lacks them,
// whether it is its VPC's default group, and how many network interfaces use
// it, the blast radius of the change.
//
// It only reads (ec2:DescribeSecurityGroups, ec2:DescribeNetworkInterfaces).
// A lookup that fails or takes longer than the timeout adds a note to the
// finding instead of an error: live context never holds a notification back.
package enrich

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/sgwatch/sgwatch/detect"
)

// EC2 is the part of the EC2 client the enricher uses.
type EC2 interface {
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
	DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, opts ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error)
}

// Timeout bounds both lookups together.
const Timeout = 2 * time.Second

// maxPages bounds the network-interface pages read (1,000 interfaces each).
const maxPages = 5

// Enricher looks up live context with an EC2 client.
type Enricher struct {
	ec2     EC2
	timeout time.Duration
}

// New returns an Enricher that uses c, with the default Timeout.
func New(c EC2) *Enricher { return &Enricher{ec2: c, timeout: Timeout} }

// NewEC2 builds the EC2 client from the AWS configuration main loads
// (AWS_ENDPOINT_URL_EC2 for a local endpoint), retrying at most once: the
// timeout matters more than a second retry.
func NewEC2(cfg aws.Config) *ec2.Client {
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.RetryMaxAttempts = 2 })
}

// Enrich fills in f's live context, or notes why it could not.
func (e *Enricher) Enrich(ctx context.Context, f *detect.Finding) {
	g := &f.SecurityGroup
	switch {
	case !detect.IsGroupID(g.ID):
		f.Notes = append(f.Notes, "live context: the event names no security group id to look up")
		return
	case f.Action == detect.Delete && f.Outcome == detect.Succeeded:
		f.Notes = append(f.Notes, "live context: the group is deleted, nothing to look up")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	var opts []func(*ec2.Options)
	if detect.IsRegion(f.Event.Region) {
		region := f.Event.Region // the group lives where the call was made
		opts = append(opts, func(o *ec2.Options) { o.Region = region })
	}

	var (
		wg           sync.WaitGroup
		sg           *types.SecurityGroup
		count        int
		more         bool
		sgErr, niErr error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		out, err := e.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{g.ID}}, opts...)
		switch {
		case err != nil:
			sgErr = err
		case len(out.SecurityGroups) == 0:
			sgErr = errors.New("no such group")
		default:
			sg = &out.SecurityGroups[0]
		}
	}()
	go func() {
		defer wg.Done()
		in := &ec2.DescribeNetworkInterfacesInput{
			Filters:    []types.Filter{{Name: aws.String("group-id"), Values: []string{g.ID}}},
			MaxResults: aws.Int32(1000),
		}
		p := ec2.NewDescribeNetworkInterfacesPaginator(e.ec2, in)
		for page := 0; p.HasMorePages(); page++ {
			if page == maxPages {
				more = true
				return
			}
			out, err := p.NextPage(ctx, opts...)
			if err != nil {
				niErr = err
				return
			}
			count += len(out.NetworkInterfaces)
		}
	}()
	wg.Wait()

	if sgErr != nil {
		f.Notes = append(f.Notes, "live context: DescribeSecurityGroups failed: "+short(sgErr))
	} else {
		if g.Name == "" {
			g.Name = aws.ToString(sg.GroupName)
		}
		if g.VPCID == "" {
			g.VPCID = aws.ToString(sg.VpcId)
		}
		if g.Description == "" {
			g.Description = aws.ToString(sg.Description)
		}
		// AWS reserves the name "default" for each VPC's default group.
		isDefault := aws.ToString(sg.GroupName) == "default"
		g.IsDefault = &isDefault
		if len(sg.Tags) > 0 {
			g.Tags = make(map[string]string, len(sg.Tags))
			for _, t := range sg.Tags {
				g.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
	}
	switch {
	case niErr != nil:
		f.Notes = append(f.Notes, "live context: DescribeNetworkInterfaces failed: "+short(niErr))
	case more:
		f.Notes = append(f.Notes, fmt.Sprintf("live context: at least %d network interfaces use the group; stopped counting there", count))
		g.AttachedInterfaces = &count
	default:
		g.AttachedInterfaces = &count
	}
}

// short names an AWS error by its code, or a timeout as such.
func short(err error) string {
	var api smithy.APIError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.As(err, &api):
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	return err.Error()
}
