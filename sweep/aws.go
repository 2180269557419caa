package sweep

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/enrich"
)

// EC2 is the part of the EC2 client a sweep uses: three read-only
// listings.
type EC2 interface {
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
	DescribeSecurityGroupRules(ctx context.Context, in *ec2.DescribeSecurityGroupRulesInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error)
	DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, opts ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error)
	DescribeManagedPrefixLists(ctx context.Context, in *ec2.DescribeManagedPrefixListsInput, opts ...func(*ec2.Options)) (*ec2.DescribeManagedPrefixListsOutput, error)
	GetManagedPrefixListEntries(ctx context.Context, in *ec2.GetManagedPrefixListEntriesInput, opts ...func(*ec2.Options)) (*ec2.GetManagedPrefixListEntriesOutput, error)
	enrich.NetworkReader
}

// CloudTrail is the part of the CloudTrail client a sweep uses: the event
// history, to find who created a rule.
type CloudTrail interface {
	LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, opts ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

// AWS lists a target with its EC2 and CloudTrail clients.
type AWS struct {
	EC2           EC2
	CloudTrail    CloudTrail                // nil: creators are not looked up
	LoadBalancers enrich.LoadBalancerReader // nil: load balancers are judged by their interfaces
}

// pageSize is the most each listing returns per page.
const pageSize = 1000

// Groups lists every group, every rule (DescribeSecurityGroupRules), and
// the network interfaces that use each group.
func (a AWS) Groups(ctx context.Context) ([]Group, error) {
	byID := map[string]*Group{}
	group := func(id string) *Group {
		g, ok := byID[id]
		if !ok {
			g = &Group{SecurityGroup: detect.SecurityGroup{ID: id}}
			byID[id] = g
		}
		return g
	}
	gp := ec2.NewDescribeSecurityGroupsPaginator(a.EC2, &ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(pageSize)})
	err := everyPage(ctx, "DescribeSecurityGroups", gp.HasMorePages, gp.NextPage, func(page *ec2.DescribeSecurityGroupsOutput) {
		for _, sg := range page.SecurityGroups {
			g := group(aws.ToString(sg.GroupId))
			g.Name, g.VPCID, g.Description = aws.ToString(sg.GroupName), aws.ToString(sg.VpcId), aws.ToString(sg.Description)
			def := g.Name == "default"
			g.IsDefault = &def
			if len(sg.Tags) > 0 {
				g.Tags = make(map[string]string, len(sg.Tags))
				for _, t := range sg.Tags {
					g.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	rp := ec2.NewDescribeSecurityGroupRulesPaginator(a.EC2, &ec2.DescribeSecurityGroupRulesInput{MaxResults: aws.Int32(pageSize)})
	err = everyPage(ctx, "DescribeSecurityGroupRules", rp.HasMorePages, rp.NextPage, func(page *ec2.DescribeSecurityGroupRulesOutput) {
		for _, r := range page.SecurityGroupRules {
			g := group(aws.ToString(r.GroupId))
			rule := enrich.FromSDK(r)
			g.Rules = append(g.Rules, rule)
			for _, t := range r.Tags {
				// Only sgwatch's own (the revert's approval).
				if k := aws.ToString(t.Key); strings.HasPrefix(k, detect.TagPrefix) {
					if g.RuleTags == nil {
						g.RuleTags = map[string]map[string]string{}
					}
					if g.RuleTags[rule.RuleID] == nil {
						g.RuleTags[rule.RuleID] = map[string]string{}
					}
					g.RuleTags[rule.RuleID][k] = aws.ToString(t.Value)
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	lists := a.prefixLists(ctx, byID)
	// What uses each group is context, not the verdict: when it cannot be
	// counted, each exposure says so.
	uses, described, err := a.interfaces(ctx)
	if err != nil {
		uses = nil
	}
	network := a.network(ctx, described, err)
	network.lbs, network.lbErr = a.loadBalancers(ctx)
	if slices.ContainsFunc(network.lbs, func(lb detect.LoadBalancer) bool { return lb.InternetFacing }) && err == nil {
		// Block Public Access decides whether an internet-facing load
		// balancer is public: read it if no interface needed it.
		n := detect.Network{BPA: network.bpa, BPAUnread: network.bpaUnread, Notes: network.notes}
		enrich.ReadBlockPublicAccess(ctx, a.EC2, &n)
		network.bpa, network.bpaUnread, network.notes = n.BPA, n.BPAUnread, n.Notes
	}
	out := make([]Group, 0, len(byID))
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		g := byID[id]
		if err != nil {
			g.Notes = append(g.Notes, "the network interfaces that use the group could not be counted: "+err.Error())
			g.InterfacesUnlisted = true
		} else {
			n := len(uses[id])
			g.AttachedInterfaces, g.Interfaces = &n, uses[id]
		}
		g.Network = network.of(id, uses[id])
		if len(lists) > 0 {
			g.Lists = lists
		}
		out = append(out, *g)
	}
	return out, nil
}

// interfaces lists the network interfaces that use each group, by group
// id, and each interface as EC2 describes it, by id.
func (a AWS) interfaces(ctx context.Context) (map[string][]string, map[string]detect.NetworkInterface, error) {
	uses := map[string][]string{}
	described := map[string]detect.NetworkInterface{}
	np := ec2.NewDescribeNetworkInterfacesPaginator(a.EC2, &ec2.DescribeNetworkInterfacesInput{MaxResults: aws.Int32(pageSize)})
	err := everyPage(ctx, "DescribeNetworkInterfaces", np.HasMorePages, np.NextPage, func(page *ec2.DescribeNetworkInterfacesOutput) {
		for _, ni := range page.NetworkInterfaces {
			n := enrich.Interface(ni)
			described[n.ID] = n
			for _, g := range n.Groups {
				uses[g] = append(uses[g], n.ID)
			}
		}
	})
	return uses, described, err
}

// listedNetwork is what one listing read for the reachability grade: every
// interface, the routes of their subnets, Block Public Access, and what
// could not be read.
type listedNetwork struct {
	interfaces map[string]detect.NetworkInterface
	routes     map[string]detect.Route
	acls       map[string]detect.NetworkACL
	bpa        detect.BlockPublicAccess
	bpaUnread  bool
	unread     []string
	notes      []string
	lbs        []detect.LoadBalancer // the Region's, as described
	lbErr      error                 // why they were not
}

// network reads the routes of the listed interfaces' subnets and the
// Region's Block Public Access, once per listing (enrich reads the same
// way for an event). niErr is the interfaces' listing error.
func (a AWS) network(ctx context.Context, nis map[string]detect.NetworkInterface, niErr error) listedNetwork {
	n := listedNetwork{interfaces: nis}
	if niErr != nil {
		n.unread = append(n.unread, "the network interfaces could not be listed")
		return n
	}
	all := make([]detect.NetworkInterface, 0, len(nis))
	for _, id := range slices.Sorted(maps.Keys(nis)) {
		all = append(all, nis[id])
	}
	read := enrich.Network(ctx, a.EC2, all)
	n.routes, n.acls, n.bpa, n.bpaUnread, n.unread, n.notes = read.Routes, read.ACLs, read.BPA, read.BPAUnread, read.Unread, read.Notes
	return n
}

// of is the network of group, which the interfaces ids use.
func (n listedNetwork) of(group string, ids []string) *detect.Network {
	out := &detect.Network{Routes: n.routes, ACLs: n.acls, BPA: n.bpa, BPAUnread: n.bpaUnread, Unread: slices.Clip(n.unread), Notes: slices.Clip(n.notes)}
	for _, id := range ids {
		out.Interfaces = append(out.Interfaces, n.interfaces[id])
	}
	enrich.AddLoadBalancers(out, group, n.lbs, n.lbErr)
	return out
}

// loadBalancers describes the Region's load balancers, once per listing.
func (a AWS) loadBalancers(ctx context.Context) ([]detect.LoadBalancer, error) {
	if a.LoadBalancers == nil {
		return nil, errors.New("no Elastic Load Balancing client")
	}
	return enrich.LoadBalancers(ctx, a.LoadBalancers)
}

// prefixLists reads the managed prefix lists the groups' ingress rules
// name (enrich.PrefixLists).
func (a AWS) prefixLists(ctx context.Context, groups map[string]*Group) map[string]detect.PrefixList {
	var ids []string
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.PrefixListID != "" && r.Direction == detect.Ingress {
				ids = append(ids, r.PrefixListID)
			}
		}
	}
	slices.Sort(ids)
	return enrich.PrefixLists(ctx, a.EC2, slices.Compact(ids))
}

// everyPage reads every page of a listing (a paginator's HasMorePages and
// NextPage), each with read; the error names the operation op.
func everyPage[T any](ctx context.Context, op string, more func() bool, next func(context.Context, ...func(*ec2.Options)) (T, error), read func(T)) error {
	for more() {
		page, err := next(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		read(page)
	}
	return nil
}

// Events returns the CloudTrail records that name resource, newest first,
// at most pages pages of 50.
func (a AWS) Events(ctx context.Context, resource string, pages int) ([][]byte, error) {
	if a.CloudTrail == nil {
		return nil, nil
	}
	out := [][]byte{}
	var token *string
	for range pages {
		page, err := a.CloudTrail.LookupEvents(ctx, &cloudtrail.LookupEventsInput{
			LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyResourceName, AttributeValue: aws.String(resource)}},
			MaxResults:       aws.Int32(50),
			NextToken:        token,
		})
		if err != nil {
			return out, fmt.Errorf("LookupEvents: %w", err)
		}
		for _, e := range page.Events {
			if s := aws.ToString(e.CloudTrailEvent); s != "" {
				out = append(out, []byte(s))
			}
		}
		if next := aws.ToString(page.NextToken); next == "" || next == aws.ToString(token) {
			break
		}
		token = page.NextToken
	}
	return out, nil
}

// Clients builds the listers of targets from one AWS configuration: with
// the function's own credentials, or, for a target with a Role, that
// role's, assumed with STS (credentials cached per role for as long as the
// container lives).
type Clients struct {
	Config aws.Config

	mu    sync.Mutex
	creds map[string]aws.CredentialsProvider
	sts   *sts.Client
}

// RetryAttempts is how often a sweep call is tried: the listings run in
// bursts that EC2 may throttle.
const RetryAttempts = 8

// Lister returns the lister of t.
func (c *Clients) Lister(_ context.Context, t Target) (Lister, error) {
	cfg := c.Config.Copy()
	cfg.Region = t.Region
	if t.Role != "" {
		cfg.Credentials = c.credentials(t.Role)
	}
	return AWS{
		EC2:           ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.RetryMaxAttempts = RetryAttempts }),
		CloudTrail:    cloudtrail.NewFromConfig(cfg),
		LoadBalancers: elb.NewFromConfig(cfg, func(o *elb.Options) { o.RetryMaxAttempts = RetryAttempts }),
	}, nil
}

func (c *Clients) credentials(role string) aws.CredentialsProvider {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.creds == nil {
		c.creds = map[string]aws.CredentialsProvider{}
		c.sts = sts.NewFromConfig(c.Config)
	}
	if p, ok := c.creds[role]; ok {
		return p
	}
	p := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(c.sts, role, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "sgwatch-sweep"
	}))
	c.creds[role] = p
	return p
}

// Organizations is the part of the AWS Organizations client that lists
// the accounts of an organization.
type Organizations interface {
	ListAccounts(ctx context.Context, in *organizations.ListAccountsInput, opts ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error)
}

// OrganizationAccounts lists the active accounts of the organization.
func OrganizationAccounts(ctx context.Context, api Organizations) ([]string, error) {
	var ids []string
	p := organizations.NewListAccountsPaginator(api, &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the organization's accounts: %w", err)
		}
		for _, a := range page.Accounts {
			if a.State == orgtypes.AccountStateActive || (a.State == "" && a.Status == orgtypes.AccountStatusActive) {
				ids = append(ids, aws.ToString(a.Id))
			}
		}
	}
	return ids, nil
}

// Targets are the accounts × Regions, each once, in order; role returns
// the role to assume in an account ("" for the function's own).
func Targets(accounts, regions []string, role func(account string) string) []Target {
	var out []Target
	seen := map[Target]bool{}
	for _, a := range accounts {
		for _, r := range regions {
			a := strings.TrimSpace(a)
			t := Target{Account: a, Region: strings.TrimSpace(r), Role: role(a)}
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// STS is the part of the STS client that says who the caller is.
type STS interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, opts ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Caller returns the caller's account and partition
// (sts:GetCallerIdentity): the account a command line sweeps or checks
// with its own credentials, and the partition of the roles it assumes in
// the others.
func Caller(ctx context.Context, api STS) (account, partition string, err error) {
	out, err := api.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", "", fmt.Errorf("who am I (sts:GetCallerIdentity): %w", err)
	}
	// arn:PARTITION:sts::ACCOUNT:…
	parts := strings.SplitN(aws.ToString(out.Arn), ":", 3)
	if len(parts) < 3 || parts[1] == "" || !awsid.IsAccountID(aws.ToString(out.Account)) {
		return "", "", errors.New("who am I (sts:GetCallerIdentity): no account or partition in the answer")
	}
	return aws.ToString(out.Account), parts[1], nil
}
