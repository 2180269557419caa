package enrich

// What EC2 holds now, read the one way for live context and the sweep: a
// rule as DescribeSecurityGroupRules lists it, and managed prefix lists.

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sgwatch/sgwatch/detect"
)

// FromSDK reads a rule as DescribeSecurityGroupRules returns it.
func FromSDK(r types.SecurityGroupRule) detect.Rule {
	l := detect.Listed{ID: aws.ToString(r.SecurityGroupRuleId), Egress: aws.ToBool(r.IsEgress), Protocol: aws.ToString(r.IpProtocol),
		FromPort: r.FromPort, ToPort: r.ToPort, CIDRIPv4: aws.ToString(r.CidrIpv4), CIDRIPv6: aws.ToString(r.CidrIpv6),
		PrefixListID: aws.ToString(r.PrefixListId), Description: aws.ToString(r.Description)}
	if r.ReferencedGroupInfo != nil {
		l.ReferencedGroupID = aws.ToString(r.ReferencedGroupInfo.GroupId)
	}
	return l.Rule()
}

// bounded reads at most max pages of a listing (a paginator's
// HasMorePages and NextPage), each with read; more reports that pages were
// left, and err is the failed page's error. Every live read is bounded:
// its answer must come within the lookup's timeout.
func bounded[T any](ctx context.Context, max int, hasMore func() bool, next func(context.Context, ...func(*ec2.Options)) (T, error),
	opts []func(*ec2.Options), read func(T)) (more bool, err error) {
	for page := 0; hasMore(); page++ {
		if page == max {
			return true, nil
		}
		out, err := next(ctx, opts...)
		if err != nil {
			return false, err
		}
		read(out)
	}
	return false, nil
}

// pagesErr is the error of op after bounded read it: what failed, or that
// there were more than max pages; nil when it read them all.
func pagesErr(op string, max int, more bool, err error) error {
	switch {
	case err != nil:
		return fmt.Errorf("%s: %s", op, short(err))
	case more:
		return fmt.Errorf("%s: more than %d pages", op, max)
	}
	return nil
}

// ListReader is the part of the EC2 client that reads managed prefix
// lists.
type ListReader interface {
	DescribeManagedPrefixLists(ctx context.Context, in *ec2.DescribeManagedPrefixListsInput, opts ...func(*ec2.Options)) (*ec2.DescribeManagedPrefixListsOutput, error)
	GetManagedPrefixListEntries(ctx context.Context, in *ec2.GetManagedPrefixListEntriesInput, opts ...func(*ec2.Options)) (*ec2.GetManagedPrefixListEntriesOutput, error)
}

// maxEntryPages bounds the pages of one list's entries: 100 entries a
// page, and a list holds at most 1,000.
const maxEntryPages = 10

// PrefixLists reads the managed prefix lists ids: an AWS-managed list
// (com.amazonaws.…, owner AWS) is known as such; a customer-managed one by
// its entries now (GetManagedPrefixListEntries). A list that cannot be read
// keeps the error, and rules that name it fail closed
// (detect.ExpandLists).
func PrefixLists(ctx context.Context, c ListReader, ids []string, opts ...func(*ec2.Options)) map[string]detect.PrefixList {
	lists := make(map[string]detect.PrefixList, len(ids))
	for _, id := range ids {
		if _, done := lists[id]; done {
			continue
		}
		l := detect.PrefixList{ID: id}
		out, err := c.DescribeManagedPrefixLists(ctx, &ec2.DescribeManagedPrefixListsInput{PrefixListIds: []string{id}}, opts...)
		switch {
		case err != nil:
			l.Err = fmt.Errorf("DescribeManagedPrefixLists: %w", err)
		case len(out.PrefixLists) != 1:
			l.Err = fmt.Errorf("DescribeManagedPrefixLists: %d lists for %s", len(out.PrefixLists), id)
		default:
			l.Name = aws.ToString(out.PrefixLists[0].PrefixListName)
			l.AWSManaged = aws.ToString(out.PrefixLists[0].OwnerId) == "AWS" || strings.HasPrefix(l.Name, "com.amazonaws.")
		}
		if l.Err == nil && !l.AWSManaged {
			p := ec2.NewGetManagedPrefixListEntriesPaginator(c, &ec2.GetManagedPrefixListEntriesInput{PrefixListId: aws.String(id), MaxResults: aws.Int32(100)})
			more, err := bounded(ctx, maxEntryPages, p.HasMorePages, p.NextPage, opts, func(out *ec2.GetManagedPrefixListEntriesOutput) {
				for _, e := range out.Entries {
					l.Entries = append(l.Entries, aws.ToString(e.Cidr))
				}
			})
			switch {
			case err != nil:
				l.Err = fmt.Errorf("GetManagedPrefixListEntries: %w", err)
			case more:
				l.Err = fmt.Errorf("GetManagedPrefixListEntries: more than %d pages", maxEntryPages)
			}
			if l.Err != nil {
				l.Entries = nil
			}
		}
		lists[id] = l
	}
	return lists
}
