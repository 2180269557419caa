package enrich

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/sgwatch/sgwatch/detect"
)

// fakeEC2 answers from its fields; block makes a call wait for its context.
type fakeEC2 struct {
	// Block Public Access: its mode ("" off), or an error; calls counted.
	bpaMode    types.InternetGatewayBlockMode
	bpaErr     error
	bpaCalls   int
	group      *types.SecurityGroup
	groupErr   error
	interfaces int // in pages of up to 1,000
	niErr      error
	block      bool
	// rules are the security group rules there are, by id; rulesPage is
	// how many a response holds at most (0: all); rulesBlock makes only
	// DescribeSecurityGroupRules wait for its context.
	rules      map[string]types.SecurityGroupRule
	rulesErr   error
	rulesPage  int
	rulesBlock bool
	// listErr fails the listing of a group's rules (live context's
	// judgement), not the lookup by id.
	listErr error
	delay   time.Duration // every call takes this long, unless its context ends first

	mu        sync.Mutex // the lookups run at once
	regions   []string
	ruleCalls [][]string // the rule ids each DescribeSecurityGroupRules request named
}

func (f *fakeEC2) region(opts []func(*ec2.Options)) {
	var o ec2.Options
	for _, fn := range opts {
		fn(&o)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.regions = append(f.regions, o.Region)
}

// wait blocks as the fake is told to, and returns the context's error if it
// ended first.
func (f *fakeEC2) wait(ctx context.Context, block bool) error {
	if block || f.block {
		<-ctx.Done()
		return ctx.Err()
	}
	select {
	case <-time.After(f.delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeEC2) DescribeSecurityGroupRules(ctx context.Context, in *ec2.DescribeSecurityGroupRulesInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error) {
	byID := len(in.SecurityGroupRuleIds) > 0
	if byID {
		f.mu.Lock()
		f.ruleCalls = append(f.ruleCalls, in.SecurityGroupRuleIds)
		f.mu.Unlock()
	}
	if err := f.wait(ctx, f.rulesBlock && byID); err != nil {
		return nil, err
	}
	if f.rulesErr != nil && byID {
		return nil, f.rulesErr
	}
	if f.listErr != nil && !byID {
		return nil, f.listErr
	}
	var found []types.SecurityGroupRule
	switch {
	case len(in.Filters) == 1 && aws.ToString(in.Filters[0].Name) == "group-id" && !byID:
		// The group's rules (live context's judgement), in id order.
		for _, id := range slices.Sorted(maps.Keys(f.rules)) {
			if slices.Contains(in.Filters[0].Values, aws.ToString(f.rules[id].GroupId)) {
				found = append(found, f.rules[id])
			}
		}
	case len(in.Filters) > 0 || in.MaxResults != nil:
		return nil, fmt.Errorf("fake: want rule ids or a group-id filter, got filters %v, MaxResults %v", in.Filters, in.MaxResults)
	default:
		f.region(opts)
		for _, id := range in.SecurityGroupRuleIds {
			if r, ok := f.rules[id]; ok {
				found = append(found, r)
			}
		}
	}
	start := 0
	if in.NextToken != nil {
		fmt.Sscan(*in.NextToken, &start)
	}
	end := len(found)
	if f.rulesPage > 0 && byID {
		end = min(end, start+f.rulesPage)
	}
	out := &ec2.DescribeSecurityGroupRulesOutput{SecurityGroupRules: found[start:end]}
	if end < len(found) {
		out.NextToken = aws.String(fmt.Sprint(end))
	}
	return out, nil
}

func (f *fakeEC2) DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	if err := f.wait(ctx, false); err != nil {
		return nil, err
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
	if err := f.wait(ctx, false); err != nil {
		return nil, err
	}
	if f.niErr != nil {
		return nil, f.niErr
	}
	f.region(opts)
	start := 0
	if in.NextToken != nil {
		fmt.Sscan(*in.NextToken, &start)
	}
	if len(in.NetworkInterfaceIds) > 0 { // by id (no MaxResults): those that exist
		out := &ec2.DescribeNetworkInterfacesOutput{}
		for _, ni := range in.NetworkInterfaceIds[:min(len(in.NetworkInterfaceIds), f.interfaces)] {
			out.NetworkInterfaces = append(out.NetworkInterfaces, types.NetworkInterface{NetworkInterfaceId: aws.String(ni)})
		}
		return out, nil
	}
	n := min(f.interfaces-start, int(aws.ToInt32(in.MaxResults)))
	out := &ec2.DescribeNetworkInterfacesOutput{NetworkInterfaces: make([]types.NetworkInterface, n)}
	if start+n < f.interfaces {
		out.NextToken = aws.String(fmt.Sprint(start + n))
	}
	return out, nil
}

// The fake's subnets route nowhere, and Block Public Access is off.
func (f *fakeEC2) DescribeNetworkAcls(context.Context, *ec2.DescribeNetworkAclsInput, ...func(*ec2.Options)) (*ec2.DescribeNetworkAclsOutput, error) {
	return &ec2.DescribeNetworkAclsOutput{}, nil
}

func (f *fakeEC2) DescribeRouteTables(ctx context.Context, in *ec2.DescribeRouteTablesInput, opts ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error) {
	return &ec2.DescribeRouteTablesOutput{}, nil
}

func (f *fakeEC2) DescribeVpcBlockPublicAccessOptions(ctx context.Context, in *ec2.DescribeVpcBlockPublicAccessOptionsInput, opts ...func(*ec2.Options)) (*ec2.DescribeVpcBlockPublicAccessOptionsOutput, error) {
	f.bpaCalls++
	if f.bpaErr != nil {
		return nil, f.bpaErr
	}
	if f.bpaMode != "" {
		return &ec2.DescribeVpcBlockPublicAccessOptionsOutput{VpcBlockPublicAccessOptions: &types.VpcBlockPublicAccessOptions{InternetGatewayBlockMode: f.bpaMode}}, nil
	}
	return &ec2.DescribeVpcBlockPublicAccessOptionsOutput{}, nil
}

func (f *fakeEC2) DescribeVpcBlockPublicAccessExclusions(ctx context.Context, in *ec2.DescribeVpcBlockPublicAccessExclusionsInput, opts ...func(*ec2.Options)) (*ec2.DescribeVpcBlockPublicAccessExclusionsOutput, error) {
	return &ec2.DescribeVpcBlockPublicAccessExclusionsOutput{}, nil
}

// The fake holds no managed prefix list.
func (f *fakeEC2) DescribeManagedPrefixLists(ctx context.Context, in *ec2.DescribeManagedPrefixListsInput, opts ...func(*ec2.Options)) (*ec2.DescribeManagedPrefixListsOutput, error) {
	return &ec2.DescribeManagedPrefixListsOutput{}, nil
}

func (f *fakeEC2) GetManagedPrefixListEntries(ctx context.Context, in *ec2.GetManagedPrefixListEntriesInput, opts ...func(*ec2.Options)) (*ec2.GetManagedPrefixListEntriesOutput, error) {
	return nil, errors.New("fake: no prefix list")
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
			newFor(c.ec2).Enrich(context.Background(), f)
			if !reflect.DeepEqual(f.SecurityGroup, c.want) {
				t.Errorf("group\n got %+v\nwant %+v", f.SecurityGroup, c.want)
			}
			checkNotes(t, f, c.note, c.ec2.regions)
		})
	}
}

// TestEnrichTimeout: a lookup that does not answer ends at the timeout with
// a note, and the finding is otherwise untouched.
func TestEnrichTimeout(t *testing.T) {
	e := newFor(&fakeEC2{block: true})
	e.timeout = 20 * time.Millisecond
	f := finding()
	e.Enrich(context.Background(), f)
	if len(f.Notes) != 3 || !strings.Contains(f.Notes[0], "timed out") || !strings.Contains(f.Notes[1], "timed out") ||
		!strings.Contains(f.Notes[2], "the group's rules after the call could not be read (DescribeSecurityGroupRules: timed out)") {
		t.Errorf("notes %q, want the three lookups timed out", f.Notes)
	}
	if f.SecurityGroup.AttachedInterfaces != nil || f.SecurityGroup.IsDefault != nil {
		t.Errorf("group %+v changed by a lookup that timed out", f.SecurityGroup)
	}
}

// Rule ids as EC2 writes them, for the direction lookups.
const (
	sgrIn  = "sgr-0100000000000000a"
	sgrOut = "sgr-0200000000000000b"
	sgrNew = "sgr-0300000000000000c"
)

// rule is a rule of the group id, as DescribeSecurityGroupRules returns it.
func rule(ruleID string, egress bool) types.SecurityGroupRule {
	return types.SecurityGroupRule{SecurityGroupRuleId: aws.String(ruleID), GroupId: aws.String(id), IsEgress: aws.Bool(egress),
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), CidrIpv4: aws.String("0.0.0.0/0")}
}

// modify is a succeeded ModifySecurityGroupRules finding for the rules with
// these ids, whose directions the record does not say.
func modify(ruleIDs ...string) *detect.Finding {
	f := finding()
	f.Event.Name = "ModifySecurityGroupRules"
	for _, r := range ruleIDs {
		f.Rules = append(f.Rules, detect.Rule{Protocol: "tcp", CIDRIPv4: "0.0.0.0/0", RuleID: r})
	}
	return f
}

func directions(f *detect.Finding) []detect.Direction {
	var d []detect.Direction
	for _, r := range f.Rules {
		d = append(d, r.Direction)
	}
	return d
}

// TestEnrichDirections: the rules a ModifySecurityGroupRules record gives no
// direction get it from DescribeSecurityGroupRules, and only from an answer
// that names them; any other outcome leaves them without one, with a note.
func TestEnrichDirections(t *testing.T) {
	web := &types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String("web")}
	both := map[string]types.SecurityGroupRule{sgrIn: rule(sgrIn, false), sgrOut: rule(sgrOut, true)}
	const (
		in, out, none = detect.Ingress, detect.Egress, detect.Direction("")
	)
	many := make([]string, 1500)
	manyRules := map[string]types.SecurityGroupRule{}
	for i := range many {
		many[i] = fmt.Sprintf("sgr-%017x", i+1)
		manyRules[many[i]] = rule(many[i], i%2 == 1)
	}
	manyWant := make([]detect.Direction, len(many))
	for i := range manyWant {
		manyWant[i] = []detect.Direction{in, out}[i%2]
	}
	other := rule(sgrNew, true)
	other.GroupId = aws.String("sg-0ffffffffffffffff")

	cases := []struct {
		name     string
		ec2      *fakeEC2
		finding  *detect.Finding
		want     []detect.Direction
		requests [][]string // the rule ids of each request
		note     string     // in the only note about rules; "" for none
	}{
		{"ingress and egress", &fakeEC2{group: web, rules: both}, modify(sgrIn, sgrOut),
			[]detect.Direction{in, out}, [][]string{{sgrIn, sgrOut}}, ""},
		{"a direction the record says is kept and not looked up", &fakeEC2{group: web, rules: both},
			func() *detect.Finding {
				f := modify(sgrIn, sgrOut)
				f.Rules[0].Direction = detect.Egress // as a record that says so would have it
				return f
			}(),
			[]detect.Direction{out, out}, [][]string{{sgrOut}}, ""},
		{"a rule named twice is looked up once", &fakeEC2{group: web, rules: both}, modify(sgrOut, sgrOut),
			[]detect.Direction{out, out}, [][]string{{sgrOut}}, ""},
		{"lookup denied", &fakeEC2{group: web, rulesErr: &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."}},
			modify(sgrIn, sgrOut), []detect.Direction{none, none}, [][]string{{sgrIn, sgrOut}},
			"live context: DescribeSecurityGroupRules failed: UnauthorizedOperation: You are not authorized to perform this operation.; direction assumed ingress"},
		{"a rule id EC2 does not know fails the request", &fakeEC2{group: web, rules: both, rulesErr: &smithy.GenericAPIError{Code: "InvalidSecurityGroupRuleId.NotFound", Message: "The security group rule ID 'sgr-0300000000000000c' does not exist"}},
			modify(sgrIn, sgrNew), []detect.Direction{none, none}, [][]string{{sgrIn, sgrNew}},
			"DescribeSecurityGroupRules failed: InvalidSecurityGroupRuleId.NotFound: The security group rule ID 'sgr-0300000000000000c' does not exist; direction assumed ingress"},
		{"a rule id the answer leaves out", &fakeEC2{group: web, rules: both}, modify(sgrOut, sgrNew, sgrNew),
			[]detect.Direction{out, none, none}, [][]string{{sgrOut, sgrNew}},
			"live context: DescribeSecurityGroupRules did not return sgr-0300000000000000c; direction assumed ingress"},
		{"many rule ids the answer leaves out", &fakeEC2{group: web, rules: both}, modify(sgrOut, many[0], many[1], many[2], many[3], many[4]),
			[]detect.Direction{out, none, none, none, none, none}, [][]string{{sgrOut, many[0], many[1], many[2], many[3], many[4]}},
			"did not return " + many[0] + ", " + many[1] + ", " + many[2] + " and 2 more rules; direction assumed ingress"},
		{"a rule of another group", &fakeEC2{group: web, rules: map[string]types.SecurityGroupRule{sgrNew: other, sgrIn: rule(sgrIn, false)}},
			modify(sgrIn, sgrNew), []detect.Direction{in, none}, [][]string{{sgrIn, sgrNew}},
			"returned sgr-0300000000000000c for another group than " + id + "; direction assumed ingress"},
		{"no valid rule id", &fakeEC2{group: web, rules: both}, modify("", "sgr-NOTHEX", "sgr-0100000000000000a;x"),
			[]detect.Direction{none, none, none}, nil, "live context: 3 rules have no valid rule id to look up; direction assumed ingress"},
		{"valid and invalid rule ids", &fakeEC2{group: web, rules: both}, modify(sgrOut, "sg-0a1b2c3d4e5f60718"),
			[]detect.Direction{out, none}, [][]string{{sgrOut}}, "1 rule has no valid rule id"},
		{"a failed call is not looked up", &fakeEC2{group: web, rules: both},
			func() *detect.Finding { f := modify(sgrOut); f.Outcome = detect.Failed; return f }(),
			[]detect.Direction{none}, nil, ""},
		{"a dry run is not looked up", &fakeEC2{group: web, rules: both},
			func() *detect.Finding { f := modify(sgrOut); f.Outcome = detect.DryRun; return f }(),
			[]detect.Direction{none}, nil, ""},
		{"an answer in pages", &fakeEC2{group: web, rules: map[string]types.SecurityGroupRule{sgrIn: rule(sgrIn, false), sgrOut: rule(sgrOut, true), sgrNew: rule(sgrNew, true)}, rulesPage: 1},
			modify(sgrIn, sgrOut, sgrNew), []detect.Direction{in, out, out},
			[][]string{{sgrIn, sgrOut, sgrNew}, {sgrIn, sgrOut, sgrNew}, {sgrIn, sgrOut, sgrNew}}, ""},
		{"more pages than it reads", &fakeEC2{group: web, rules: manyRules, rulesPage: 1}, modify(many[:6]...),
			slices.Repeat([]detect.Direction{none}, 6), slices.Repeat([][]string{many[:6]}, maxPages),
			"DescribeSecurityGroupRules failed: more than 5 pages of rules; direction assumed ingress"},
		{"more rule ids than a request takes", &fakeEC2{group: web, rules: manyRules}, modify(many...),
			manyWant, [][]string{many[:1000], many[1000:]}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.finding
			newFor(c.ec2).Enrich(context.Background(), f)
			if got := directions(f); !slices.Equal(got, c.want) {
				t.Errorf("directions %q, want %q", got, c.want)
			}
			if !reflect.DeepEqual(c.ec2.ruleCalls, c.requests) {
				t.Errorf("DescribeSecurityGroupRules requests named %d, want %d: %.200q", len(c.ec2.ruleCalls), len(c.requests), c.ec2.ruleCalls)
			}
			// The group lookups are unaffected: no note about them.
			if f.SecurityGroup.Name != "web" || f.SecurityGroup.AttachedInterfaces == nil {
				t.Errorf("group %+v, want it looked up as well", f.SecurityGroup)
			}
			checkNotes(t, f, c.note, c.ec2.regions)
		})
	}
}

// TestEnrichDirectionsTimeout: a rule lookup that does not answer ends at
// the shared timeout, with a note, and the rules keep no direction; the
// group lookups still fill in what they found.
func TestEnrichDirectionsTimeout(t *testing.T) {
	t.Run("only the rule lookup hangs", func(t *testing.T) {
		fake := &fakeEC2{group: &types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String("web")}, interfaces: 3, rulesBlock: true}
		e := newFor(fake)
		e.timeout = 50 * time.Millisecond
		f := modify(sgrIn, sgrOut)
		start := time.Now()
		e.Enrich(context.Background(), f)
		if d := time.Since(start); d < e.timeout || d > 2*time.Second {
			t.Errorf("Enrich took %v, want it to end at the timeout %v", d, e.timeout)
		}
		if got := directions(f); !slices.Equal(got, []detect.Direction{"", ""}) {
			t.Errorf("directions %q after a lookup that timed out, want none", got)
		}
		want := []string{"live context: DescribeSecurityGroupRules failed: timed out; direction assumed ingress"}
		if !slices.Equal(f.Notes, want) {
			t.Errorf("notes %q, want %q", f.Notes, want)
		}
		if f.SecurityGroup.Name != "web" || f.SecurityGroup.AttachedInterfaces == nil || *f.SecurityGroup.AttachedInterfaces != 3 {
			t.Errorf("group %+v, want the lookups that answered filled in", f.SecurityGroup)
		}
	})
	t.Run("every lookup hangs", func(t *testing.T) {
		e := newFor(&fakeEC2{block: true})
		e.timeout = 20 * time.Millisecond
		f := modify(sgrOut)
		e.Enrich(context.Background(), f)
		if len(f.Notes) != 4 { // the group, its interfaces, its rules by id, and all its rules
			t.Fatalf("notes %q, want one per lookup", f.Notes)
		}
		for _, n := range f.Notes {
			if !strings.Contains(n, "timed out") {
				t.Errorf("note %q, want it timed out", n)
			}
		}
		if f.Rules[0].Direction != "" {
			t.Errorf("direction %q after a lookup that timed out, want none", f.Rules[0].Direction)
		}
	})
	// The three lookups run at once, so three that each take 60% of the
	// timeout all answer; one after the other they would not.
	t.Run("the lookups share the timeout", func(t *testing.T) {
		fake := &fakeEC2{group: &types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String("web")},
			rules: map[string]types.SecurityGroupRule{sgrOut: rule(sgrOut, true)}, delay: 300 * time.Millisecond}
		e := newFor(fake)
		e.timeout = 500 * time.Millisecond
		f := modify(sgrOut)
		e.Enrich(context.Background(), f)
		if len(f.Notes) != 0 || f.Rules[0].Direction != detect.Egress || f.SecurityGroup.Name != "web" {
			t.Errorf("notes %q, direction %q, group %+v: want every lookup answered within the timeout", f.Notes, f.Rules[0].Direction, f.SecurityGroup)
		}
	})
}

// TestNew: the client is built on first use, once, and not for a
// finding that needs no lookup.
func TestNew(t *testing.T) {
	var built atomic.Int32
	fake := &fakeEC2{group: &types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String("web")}}
	e := New(func() EC2 { built.Add(1); return fake })
	if n := built.Load(); n != 0 {
		t.Fatalf("client built %d times by New, want 0", n)
	}
	noGroup := finding()
	noGroup.SecurityGroup.ID = ""
	e.Enrich(context.Background(), noGroup)
	if n := built.Load(); n != 0 {
		t.Fatalf("client built %d times for a finding with nothing to look up, want 0", n)
	}
	var wg sync.WaitGroup
	fs := make([]*detect.Finding, 4)
	for i := range fs {
		fs[i] = finding()
		wg.Go(func() { e.Enrich(context.Background(), fs[i]) })
	}
	wg.Wait()
	if n := built.Load(); n != 1 {
		t.Errorf("client built %d times for %d findings, want once", n, len(fs))
	}
	for _, f := range fs {
		if f.SecurityGroup.Name != "web" {
			t.Errorf("group %+v, want it looked up with the lazily built client", f.SecurityGroup)
		}
	}
}

// checkNotes checks that f has exactly the one note containing note (none
// when ""), and that every lookup was made in the event's Region.
func checkNotes(t *testing.T, f *detect.Finding, note string, regions []string) {
	t.Helper()
	switch {
	case note == "" && len(f.Notes) != 0:
		t.Errorf("notes %q, want none", f.Notes)
	case note != "" && (len(f.Notes) != 1 || !strings.Contains(f.Notes[0], note)):
		t.Errorf("notes %q, want one containing %q", f.Notes, note)
	}
	for _, r := range regions {
		if r != "eu-west-1" {
			t.Errorf("looked up in region %q, want the event's eu-west-1", r)
		}
	}
}

// TestEnrichOtherAccount: a change made in another account (a forwarded
// event) is not looked up with the function's own credentials: one note
// says why, and no call is made.
func TestEnrichOtherAccount(t *testing.T) {
	for _, c := range []struct {
		name, function, event string
		calls                 bool
	}{
		{"another account", "arn:aws:lambda:us-east-1:123456789012:function:sgwatch", "111111111111", false},
		{"its own account", "arn:aws:lambda:us-east-1:111111111111:function:sgwatch", "111111111111", true},
		{"outside Lambda", "", "111111111111", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake := &fakeEC2{group: &types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String("web")}}
			ctx := context.Background()
			if c.function != "" {
				ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{InvokedFunctionArn: c.function})
			}
			f := finding()
			f.Event.AccountID = c.event
			newFor(fake).Enrich(ctx, f)
			looked := f.SecurityGroup.Name == "web"
			if looked != c.calls {
				t.Errorf("looked up %v, want %v (notes %q)", looked, c.calls, f.Notes)
			}
			if !c.calls && (len(f.Notes) != 1 || !strings.Contains(f.Notes[0], "made in account 111111111111, and the function looks up only its own account (123456789012)")) {
				t.Errorf("notes %q", f.Notes)
			}
		})
	}
}

// newFor is New with a client that is already built.
func newFor(c EC2) *Enricher { return New(func() EC2 { return c }) }

// TestEnrichAttachAndList: what an attach call or a prefix list change is
// judged with fails closed: an interface or a Region's rules that cannot
// be read, a record without the ids to look up, and a change in another
// account each leave a reason in Live.Unread, noted on the finding; a call
// that did not succeed is not looked up.
func TestEnrichAttachAndList(t *testing.T) {
	attach := func(eni string) *detect.Finding {
		return &detect.Finding{Action: detect.Modify, Outcome: detect.Succeeded,
			Event:  detect.Event{Name: "ModifyNetworkInterfaceAttribute", Region: "eu-west-1", AccountID: "111111111111"},
			Attach: &detect.Attach{NetworkInterfaceID: eni, Groups: []string{id}}}
	}
	list := func(pl string) *detect.Finding {
		return &detect.Finding{Action: detect.Modify, Outcome: detect.Succeeded,
			Event: detect.Event{Name: "ModifyManagedPrefixList", Region: "eu-west-1", AccountID: "111111111111"},
			List:  &detect.ListChange{ID: pl, Added: []string{"0.0.0.0/0"}}}
	}
	denied := &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "no"}
	own := "arn:aws:lambda:eu-west-1:111111111111:function:sgwatch"
	for _, c := range []struct {
		name     string
		ec2      *fakeEC2
		f        *detect.Finding
		function string
		unread   string // in Live.Unread and a note; "" for no Live
	}{
		{"interface denied", &fakeEC2{niErr: denied}, attach("eni-0a1b2c3d4e5f60718"), own, "DescribeNetworkInterfaces: UnauthorizedOperation: no"},
		{"interface not found", &fakeEC2{}, attach("eni-0a1b2c3d4e5f60718"), own, "DescribeNetworkInterfaces returned no interface for eni-0a1b2c3d4e5f60718"},
		{"no interface id", &fakeEC2{}, attach("eni-NOTHEX"), own, "the record names no network interface or instance id to look up"},
		{"attach in another account", &fakeEC2{}, attach("eni-0a1b2c3d4e5f60718"), "arn:aws:lambda:eu-west-1:123456789012:function:sgwatch",
			"the change was made in account 111111111111"},
		{"rules denied", &fakeEC2{listErr: denied}, list("pl-0a1b2c3d4e5f60718"), own, "DescribeSecurityGroupRules: UnauthorizedOperation: no"},
		{"no list id", &fakeEC2{}, list(""), own, "the record names no prefix list id to look up"},
		{"a failed attach is not looked up", &fakeEC2{}, func() *detect.Finding { f := attach("eni-0a1b2c3d4e5f60718"); f.Outcome = detect.Failed; return f }(), own, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{InvokedFunctionArn: c.function})
			newFor(c.ec2).Enrich(ctx, c.f)
			if c.unread == "" {
				if c.f.Live != nil || len(c.f.Notes) != 0 {
					t.Errorf("live %+v, notes %q: want no lookup", c.f.Live, c.f.Notes)
				}
				return
			}
			if c.f.Live == nil || !slices.ContainsFunc(c.f.Live.Unread, func(u string) bool { return strings.Contains(u, c.unread) }) {
				t.Fatalf("live %+v, want %q unread", c.f.Live, c.unread)
			}
			if !slices.ContainsFunc(c.f.Notes, func(n string) bool { return strings.HasPrefix(n, "live context: ") && strings.Contains(n, c.unread) }) {
				t.Errorf("notes %q lack %q", c.f.Notes, c.unread)
			}
			// Judged with it, the change is louder, never quieter.
			detect.Scoring{}.Score(c.f)
			if c.f.Severity.Rank() < detect.High.Rank() {
				t.Errorf("severity %s %q, want at least high", c.f.Severity, c.f.Reasons)
			}
		})
	}
}

// TestEnrichAttachSet: an attach call is judged on the groups it set, as
// its record says, whatever the interface has by the lookup (an attacker
// who puts the old groups back within the delay hides nothing); its rules
// are read from EC2.
func TestEnrichAttachSet(t *testing.T) {
	fake := &fakeEC2{interfaces: 1, rules: map[string]types.SecurityGroupRule{"sgr-0100000000000000a": rule("sgr-0100000000000000a", false)}}
	f := &detect.Finding{Action: detect.Modify, Outcome: detect.Succeeded,
		Event:  detect.Event{Name: "ModifyNetworkInterfaceAttribute", Region: "eu-west-1", AccountID: "111111111111"},
		Attach: &detect.Attach{NetworkInterfaceID: "eni-0a1b2c3d4e5f60718", Groups: []string{id}}}
	newFor(fake).Enrich(context.Background(), f)
	if f.Live == nil || len(f.Live.Interfaces) != 1 || !slices.Equal(f.Live.Interfaces[0].Groups, []string{id}) || len(f.Live.Groups[id]) != 1 {
		t.Fatalf("live %+v: want the interface with the record's group and its rule", f.Live)
	}
	detect.Scoring{}.Score(f)
	if f.Severity != detect.Critical || len(f.Live.Unread) != 0 {
		t.Errorf("%s %q, unread %q: want critical (world SSH through the group set)", f.Severity, f.Reasons, f.Live.Unread)
	}
}

// TestInterface: an interface is read as EC2 describes it; Elastic Load
// Balancing's own (requester-managed by amazon-elb) names its load
// balancer from the description AWS sets, and a description anyone can
// set on their own interface names nothing.
func TestInterface(t *testing.T) {
	for _, c := range []struct {
		name string
		ni   types.NetworkInterface
		lb   string
		res  string
	}{
		{"an ALB's", types.NetworkInterface{RequesterManaged: aws.Bool(true), RequesterId: aws.String("amazon-elb"), Description: aws.String("ELB app/web/50dc6c495c0c9188")}, "app/web", "load balancer app/web"},
		{"an NLB's", types.NetworkInterface{RequesterManaged: aws.Bool(true), RequesterId: aws.String("amazon-elb"), Description: aws.String("ELB net/edge/50dc6c495c0c9188")}, "net/edge", "load balancer net/edge"},
		{"a Classic Load Balancer's", types.NetworkInterface{RequesterManaged: aws.Bool(true), RequesterId: aws.String("amazon-elb"), Description: aws.String("ELB legacy-web")}, "legacy-web", "load balancer legacy-web"},
		{"a hostile name", types.NetworkInterface{RequesterManaged: aws.Bool(true), RequesterId: aws.String("amazon-elb"), Description: aws.String("ELB https://evil.example <!channel>")}, "unnamed", "load balancer unnamed"},
		{"an instance's, described like one", types.NetworkInterface{Description: aws.String("ELB app/web/1"), Attachment: &types.NetworkInterfaceAttachment{InstanceId: aws.String("i-0a1b2c3d4e5f60718")}}, "", "i-0a1b2c3d4e5f60718"},
		{"a NAT gateway's", types.NetworkInterface{RequesterManaged: aws.Bool(true), RequesterId: aws.String("AIDAEXAMPLE"), InterfaceType: types.NetworkInterfaceTypeNatGateway}, "", "natGateway"},
	} {
		got := Interface(c.ni)
		if got.LoadBalancer != c.lb || got.Resource != c.res {
			t.Errorf("%s: load balancer %q, resource %q; want %q, %q", c.name, got.LoadBalancer, got.Resource, c.lb, c.res)
		}
	}
}

// TestNetworkRoutesNotFound: a subnet for which no route table is found
// (its own nor its VPC's main one: another account's, in a shared VPC) is
// not read, so the grade is unknown, not private.
func TestNetworkRoutesNotFound(t *testing.T) {
	n := Network(context.Background(), &fakeEC2{}, []detect.NetworkInterface{{ID: "eni-1", PublicIPv4: "203.0.113.10", SubnetID: "subnet-1", VPCID: "vpc-1"}})
	if !slices.ContainsFunc(n.Unread, func(u string) bool { return strings.Contains(u, "no route table was found for 1 subnets (subnet-1)") }) {
		t.Fatalf("unread %q", n.Unread)
	}
	if g := detect.Reach(*n).Grade; g != detect.GradeUnknown {
		t.Errorf("grade %s, want unknown", g)
	}
}
