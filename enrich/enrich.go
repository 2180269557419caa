// Package enrich adds live context to a finding from the EC2 API (ENRICH=true):
// the group's name, VPC, description and tags when the event lacks them,
// whether it is its VPC's default group, how many network interfaces use it
// (the blast radius of the change), and the direction of each rule a
// ModifySecurityGroupRules call changed, which its record does not say.
//
// It only reads (ec2:DescribeSecurityGroups, ec2:DescribeNetworkInterfaces,
// ec2:DescribeSecurityGroupRules). A lookup that fails or takes longer than
// the timeout adds a note to the finding instead of an error: live context
// never holds a notification back. A rule whose direction could not be
// looked up keeps none, so it is still scored as ingress (fail closed).
package enrich

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/detect"
)

// EC2 is the part of the EC2 client the enricher uses.
type EC2 interface {
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
	DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, opts ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error)
	DescribeSecurityGroupRules(ctx context.Context, in *ec2.DescribeSecurityGroupRulesInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error)
	ListReader
	NetworkReader
}

// Timeout bounds all the lookups for one finding together: they run at once.
const Timeout = 2 * time.Second

// maxPages bounds the pages read from one paginated lookup: network
// interfaces (1,000 each) and security group rules.
const maxPages = 5

// maxRuleIDs is the most rule ids one DescribeSecurityGroupRules request
// names: the API's page limit (MaxResults is at most 1,000).
const maxRuleIDs = 1000

// Enricher looks up live context with an EC2 client.
type Enricher struct {
	client    func() EC2                // the client, built on first use
	balancers func() LoadBalancerReader // likewise; nil: not read
	timeout   time.Duration
}

// New returns an Enricher, with the default Timeout, that builds its
// client with newClient when it first needs one, and only then: a cold start
// builds no EC2 client, and a finding that needs no lookup never builds one.
// newClient is called at most once, and must not return nil.
func New(newClient func() EC2) *Enricher {
	return &Enricher{client: sync.OnceValue(newClient), timeout: Timeout}
}

// WithLoadBalancers has e describe load balancers with the client
// newClient builds on first use, for the reachability grade of a group
// that a load balancer's interfaces, or none, use.
func (e *Enricher) WithLoadBalancers(newClient func() LoadBalancerReader) *Enricher {
	e.balancers = sync.OnceValue(newClient)
	return e
}

// NewEC2 builds the EC2 client from the AWS configuration main loads
// (AWS_ENDPOINT_URL_EC2 for a local endpoint), retrying at most once: the
// timeout matters more than a second retry.
func NewEC2(cfg aws.Config) *ec2.Client {
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.RetryMaxAttempts = 2 })
}

// Enrich fills in f's live context, or notes why it could not: the
// group's details, and what the change is judged with (detect.Live).
func (e *Enricher) Enrich(ctx context.Context, f *detect.Finding) {
	c, _ := detect.Lookup(f.Event.Name)
	if c.Effect == detect.AttachesGroups || c.Effect == detect.ChangesList || c.Effect == detect.ChangesBlockPublicAccess {
		e.enrichOther(ctx, f, c)
		return
	}
	g := &f.SecurityGroup
	switch {
	case !awsid.IsGroupID(g.ID):
		f.Notes = append(f.Notes, "live context: the event names no security group id to look up")
		return
	case f.Action == detect.Delete && f.Outcome == detect.Succeeded:
		f.Notes = append(f.Notes, "live context: the group is deleted, nothing to look up")
		return
	}
	ctx, cancel, opts, ok := e.prepare(ctx, f, "; direction assumed ingress where the call does not say")
	if !ok {
		return
	}
	defer cancel()
	client := e.client()
	ruleIDs, unknown := undirected(f)

	var (
		wg                    sync.WaitGroup
		sg                    *types.SecurityGroup
		count                 int
		nis                   []detect.NetworkInterface
		more                  bool
		dirs                  map[string]types.SecurityGroupRule
		sgErr, niErr, ruleErr error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		out, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{g.ID}}, opts...)
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
		nis, more, niErr = interfacesOf(ctx, client, &ec2.DescribeNetworkInterfacesInput{
			Filters:    []types.Filter{{Name: aws.String("group-id"), Values: []string{g.ID}}},
			MaxResults: aws.Int32(1000),
		}, opts)
		count = len(nis)
	}()
	if len(ruleIDs) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs, ruleErr = describeRules(ctx, client, ruleIDs, opts)
		}()
	}
	// What the change is judged with: the group's rules after the call.
	judge := c.Opens() && f.Outcome == detect.Succeeded
	var (
		after    map[string][]detect.Rule
		afterErr error
	)
	if judge {
		wg.Go(func() { after, afterErr = groupRules(ctx, client, []string{g.ID}, opts) })
	}
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
	if len(ruleIDs) > 0 {
		f.Notes = append(f.Notes, setDirections(f, dirs, ruleErr)...)
	}
	if unknown > 0 {
		f.Notes = append(f.Notes, fmt.Sprintf("live context: %s no valid rule id to look up; direction assumed ingress", rulesHave(unknown)))
	}
	if judge {
		f.Live = e.changed(ctx, client, f, after[g.ID], afterErr, nis, opts)
		noteUnread(f)
		// Noted above already.
		switch {
		case niErr != nil:
			f.Live.Unread = append(f.Live.Unread, "the interfaces that use the group could not be read ("+short(niErr)+")")
			f.Live.Network.Unread = append(f.Live.Network.Unread, "the interfaces that use the group could not be read")
		case more:
			f.Live.Unread = append(f.Live.Unread, fmt.Sprintf("more than %d network interfaces use the group: those past them were not judged", count))
			f.Live.Network.Unread = append(f.Live.Network.Unread, fmt.Sprintf("more than %d network interfaces use the group", count))
		}
	}
}

// NotLookedUp is what an attach call or a prefix list change made in
// account, not the function's, leaves unread: the Enricher reads only the
// function's own account.
func NotLookedUp(account string) string {
	return "the change was made in account " + account + ", which the function does not look up"
}

// enrichOther looks up what an attach call or a prefix list change is
// judged with. A call that did not succeed changed nothing.
func (e *Enricher) enrichOther(ctx context.Context, f *detect.Finding, c detect.Call) {
	if !f.NeedsContext() {
		// A call that did not succeed changed nothing; a list change that
		// cannot widen the list (a new list, entries only removed) opens
		// nothing.
		return
	}
	ctx, cancel, opts, ok := e.prepare(ctx, f, "")
	if !ok {
		// Fail closed: what the change opens could not be read.
		f.Live = &detect.Live{Unread: []string{NotLookedUp(f.Event.AccountID)}}
		return
	}
	defer cancel()
	switch c.Effect {
	case detect.AttachesGroups:
		f.Live = e.attached(ctx, e.client(), f, opts)
	case detect.ChangesList:
		f.Live = e.listed(ctx, e.client(), f, opts)
	default:
		f.Live = e.exposed(ctx, e.client(), opts)
	}
	noteUnread(f)
}

// noteUnread notes on f what its live context could not read.
func noteUnread(f *detect.Finding) {
	for _, u := range f.Live.Unread {
		f.Notes = append(f.Notes, "live context: "+u)
	}
}

// prepare bounds ctx by the timeout and points the lookups at the event's
// Region; ok is false, with a note, for a change in another account than
// the function's (a forwarded event): its credentials are those of its own
// account only. tail ends that note.
func (e *Enricher) prepare(ctx context.Context, f *detect.Finding, tail string) (_ context.Context, cancel context.CancelFunc, opts []func(*ec2.Options), ok bool) {
	if own := functionAccount(ctx); own != "" && awsid.IsAccountID(f.Event.AccountID) && f.Event.AccountID != own {
		f.Notes = append(f.Notes, "live context: the change was made in account "+f.Event.AccountID+
			", and the function looks up only its own account ("+own+")"+tail)
		return ctx, nil, nil, false
	}
	ctx, cancel = context.WithTimeout(ctx, e.timeout)
	if awsid.IsRegion(f.Event.Region) {
		region := f.Event.Region // the group lives where the call was made
		opts = append(opts, func(o *ec2.Options) { o.Region = region })
	}
	return ctx, cancel, opts, true
}

// undirected returns the distinct rule ids to look the direction up for:
// those of the rules the record gives no direction (ModifySecurityGroupRules)
// in a call that succeeded, so that the rules exist as the call left them.
// unknown counts the such rules that have no valid rule id to look up.
func undirected(f *detect.Finding) (ids []string, unknown int) {
	if f.Outcome != detect.Succeeded {
		return nil, 0
	}
	seen := map[string]bool{}
	for _, r := range f.Rules {
		switch {
		case r.Direction != "":
		case !awsid.IsRuleID(r.RuleID):
			unknown++
		case !seen[r.RuleID]:
			seen[r.RuleID] = true
			ids = append(ids, r.RuleID)
		}
	}
	return ids, unknown
}

// describeRules looks the rules up by id, at most maxRuleIDs per request,
// following NextToken for at most maxPages pages in all, and returns them by
// id. It fails as a whole: an error returns no rules.
//
// It leaves MaxResults unset, which asks EC2 for every rule named (several
// EC2 Describe calls refuse MaxResults together with ids); a NextToken in
// the answer is followed all the same.
func describeRules(ctx context.Context, c EC2, ids []string, opts []func(*ec2.Options)) (map[string]types.SecurityGroupRule, error) {
	got := make(map[string]types.SecurityGroupRule, len(ids))
	pages := 0
	for chunk := range slices.Chunk(ids, maxRuleIDs) {
		p := ec2.NewDescribeSecurityGroupRulesPaginator(c, &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: chunk})
		for p.HasMorePages() {
			if pages == maxPages {
				return nil, fmt.Errorf("more than %d pages of rules", maxPages)
			}
			pages++
			out, err := p.NextPage(ctx, opts...)
			if err != nil {
				return nil, fmt.Errorf("page %d: %w", pages, err)
			}
			for _, r := range out.SecurityGroupRules {
				got[aws.ToString(r.SecurityGroupRuleId)] = r
			}
		}
	}
	return got, nil
}

// setDirections gives each rule looked up its direction from the rules EC2
// returned (IsEgress), and returns the notes for those it could not: all of
// them when the lookup failed, else those EC2 did not return or returned for
// another group. Those keep no direction, and are scored as ingress.
func setDirections(f *detect.Finding, got map[string]types.SecurityGroupRule, err error) []string {
	const assumed = "; direction assumed ingress"
	if err != nil {
		return []string{"live context: DescribeSecurityGroupRules failed: " + short(err) + assumed}
	}
	var missing, foreign []string
	noted := map[string]bool{}
	for i := range f.Rules {
		r := &f.Rules[i]
		if r.Direction != "" || !awsid.IsRuleID(r.RuleID) {
			continue
		}
		sr, ok := got[r.RuleID]
		switch {
		case noted[r.RuleID]:
		case !ok:
			noted[r.RuleID] = true
			missing = append(missing, r.RuleID)
		case aws.ToString(sr.GroupId) != f.SecurityGroup.ID:
			// ModifySecurityGroupRules only changes the rules of its group:
			// a rule of another group is not the rule the call changed.
			noted[r.RuleID] = true
			foreign = append(foreign, r.RuleID)
		case aws.ToBool(sr.IsEgress):
			r.Direction = detect.Egress
		default:
			r.Direction = detect.Ingress
		}
	}
	var notes []string
	if len(missing) > 0 {
		notes = append(notes, "live context: DescribeSecurityGroupRules did not return "+list(missing)+assumed)
	}
	if len(foreign) > 0 {
		notes = append(notes, "live context: DescribeSecurityGroupRules returned "+list(foreign)+" for another group than "+f.SecurityGroup.ID+assumed)
	}
	return notes
}

// list names up to three ids, and how many more there are.
func list(ids []string) string {
	const most = 3
	if len(ids) <= most {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more rules", strings.Join(ids[:most], ", "), len(ids)-most)
}

// rulesHave says "1 rule has" or "N rules have".
func rulesHave(n int) string {
	if n == 1 {
		return "1 rule has"
	}
	return fmt.Sprintf("%d rules have", n)
}

// functionAccount is the account of the function handling this invocation
// (from its ARN in the Lambda context), "" outside Lambda.
func functionAccount(ctx context.Context) string {
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok {
		return ""
	}
	a, err := arn.Parse(lc.InvokedFunctionArn)
	if err != nil {
		return ""
	}
	return a.AccountID
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
