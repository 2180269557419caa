package coverage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/sgwatch/sgwatch/detect"
)

// fakeAccount is one account as the fakes serve it: its rules per Region,
// its trails (each with its home Region) and their state.
type fakeAccount struct {
	rules     map[string][]ebtypes.Rule   // by Region
	targets   map[string][]ebtypes.Target // by rule name
	trails    []cttypes.Trail
	stopped   map[string]bool // trail ARN → not logging
	selectors map[string]*cloudtrail.GetEventSelectorsOutput
	errs      map[string]error // by operation, or operation@Region
	pageSize  int              // ListRules page size (all at once when 0)
	delay     time.Duration    // every call takes this long (on the fake clock of a synctest bubble)

	selectorCalls atomic.Int32
	statusNames   sync.Map // names GetTrailStatus was asked for
}

func (a *fakeAccount) fail(op, region string) error {
	if err := a.errs[op+"@"+region]; err != nil {
		return err
	}
	return a.errs[op]
}

// apiErr is an error as the SDK returns it for a refused call.
func apiErr(service, op, code, msg string) error {
	return &smithy.OperationError{ServiceID: service, OperationName: op, Err: &smithy.GenericAPIError{Code: code, Message: msg}}
}

// fakeRegion is an account's clients in one Region.
type fakeRegion struct {
	a      *fakeAccount
	region string
	active *gauge
}

func (f fakeRegion) enter() func() {
	f.active.enter()
	if f.a.delay > 0 {
		<-time.After(f.a.delay)
	}
	return f.active.leave
}

func (f fakeRegion) ListRules(_ context.Context, in *eventbridge.ListRulesInput, _ ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error) {
	defer f.enter()()
	if err := f.a.fail("ListRules", f.region); err != nil {
		return nil, err
	}
	if in.EventBusName != nil {
		return nil, errors.New("the check must read the default bus")
	}
	rules := f.a.rules[f.region]
	start, _ := strconv.Atoi(aws.ToString(in.NextToken))
	end := len(rules)
	if f.a.pageSize > 0 && start+f.a.pageSize < end {
		end = start + f.a.pageSize
	}
	out := &eventbridge.ListRulesOutput{Rules: rules[start:end]}
	if end < len(rules) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f fakeRegion) ListTargetsByRule(_ context.Context, in *eventbridge.ListTargetsByRuleInput, _ ...func(*eventbridge.Options)) (*eventbridge.ListTargetsByRuleOutput, error) {
	defer f.enter()()
	if err := f.a.fail("ListTargetsByRule", f.region); err != nil {
		return nil, err
	}
	return &eventbridge.ListTargetsByRuleOutput{Targets: f.a.targets[aws.ToString(in.Rule)]}, nil
}

// DescribeTrails returns every trail of the account, also those AWS leaves
// out (single-Region trails of other Regions), so that the check's own
// filter is tested.
func (f fakeRegion) DescribeTrails(_ context.Context, in *cloudtrail.DescribeTrailsInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error) {
	defer f.enter()()
	if err := f.a.fail("DescribeTrails", f.region); err != nil {
		return nil, err
	}
	if !aws.ToBool(in.IncludeShadowTrails) {
		return nil, errors.New("the check must ask for shadow trails")
	}
	return &cloudtrail.DescribeTrailsOutput{TrailList: f.a.trails}, nil
}

// find finds a trail as AWS does: by ARN anywhere, by name only in its
// home Region.
func (f fakeRegion) find(id string) (cttypes.Trail, bool) {
	for _, t := range f.a.trails {
		if id == aws.ToString(t.TrailARN) || id == aws.ToString(t.Name) && aws.ToString(t.HomeRegion) == f.region {
			return t, true
		}
	}
	return cttypes.Trail{}, false
}

func (f fakeRegion) GetTrailStatus(_ context.Context, in *cloudtrail.GetTrailStatusInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error) {
	defer f.enter()()
	f.a.statusNames.Store(aws.ToString(in.Name), true)
	if err := f.a.fail("GetTrailStatus", f.region); err != nil {
		return nil, err
	}
	t, ok := f.find(aws.ToString(in.Name))
	if !ok {
		return nil, apiErr("CloudTrail", "GetTrailStatus", "TrailNotFoundException", "no trail "+aws.ToString(in.Name))
	}
	return &cloudtrail.GetTrailStatusOutput{IsLogging: aws.Bool(!f.a.stopped[aws.ToString(t.TrailARN)])}, nil
}

// GetEventSelectors answers only in the trail's home Region (moto's
// behaviour, and always right on AWS).
func (f fakeRegion) GetEventSelectors(_ context.Context, in *cloudtrail.GetEventSelectorsInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.GetEventSelectorsOutput, error) {
	defer f.enter()()
	f.a.selectorCalls.Add(1)
	if err := f.a.fail("GetEventSelectors", f.region); err != nil {
		return nil, err
	}
	t, ok := f.find(aws.ToString(in.TrailName))
	if !ok || aws.ToString(t.HomeRegion) != f.region {
		return nil, apiErr("CloudTrail", "GetEventSelectors", "TrailNotFoundException", "not here")
	}
	if s, ok := f.a.selectors[aws.ToString(t.TrailARN)]; ok {
		return s, nil
	}
	return allManagement(), nil
}

// gauge counts calls in flight and remembers the most at once.
type gauge struct{ now, max atomic.Int32 }

func (g *gauge) enter() {
	n := g.now.Add(1)
	for {
		m := g.max.Load()
		if n <= m || g.max.CompareAndSwap(m, n) {
			return
		}
	}
}

func (g *gauge) leave() { g.now.Add(-1) }

// fakeEnv is an Env over fake accounts.
type fakeEnv struct {
	self      string
	callerErr error
	loginErr  map[string]error
	accounts  map[string]*fakeAccount
	active    gauge
	stacks    map[string]map[string]string // outputs by stack name or ARN
	stackErr  error
	stackAsks []string // the stacks StackOutputs was asked for
}

func (e *fakeEnv) Caller(context.Context) (string, error) { return e.self, e.callerErr }

func (e *fakeEnv) Login(_ context.Context, account string) error {
	return e.loginErr[account]
}

func (e *fakeEnv) region(account, region string) fakeRegion {
	a, ok := e.accounts[account]
	if !ok {
		a = &fakeAccount{}
	}
	return fakeRegion{a: a, region: region, active: &e.active}
}

// StackOutputs serves the stacks as CloudFormation does: an unknown stack
// is an error.
func (e *fakeEnv) StackOutputs(_ context.Context, stack string) (map[string]string, error) {
	e.stackAsks = append(e.stackAsks, stack)
	if e.stackErr != nil {
		return nil, e.stackErr
	}
	outputs, ok := e.stacks[stack]
	if !ok {
		return nil, apiErr("CloudFormation", "DescribeStacks", "ValidationError", "Stack with id "+stack+" does not exist")
	}
	return outputs, nil
}

func (e *fakeEnv) Events(account, region string) Events { return e.region(account, region) }
func (e *fakeEnv) Trails(account, region string) Trails { return e.region(account, region) }

// sgPattern is sgwatch's pattern, with calls as the event names.
func sgPattern(calls []string) string {
	var sg, tags []string
	for _, c := range calls {
		if slices.Contains(detect.TagCalls(), c) {
			tags = append(tags, c)
		} else {
			sg = append(sg, c)
		}
	}
	or := []any{map[string]any{"eventName": sg}}
	if len(tags) > 0 {
		or = append(or, map[string]any{"eventName": tags, "requestParameters": detect.TagFilter()})
	}
	p, _ := json.Marshal(map[string]any{
		"source":      []string{"aws.ec2"},
		"detail-type": []string{"AWS API Call via CloudTrail"},
		"detail":      map[string]any{"eventSource": []string{"ec2.amazonaws.com"}, "$or": or},
	})
	return string(p)
}

const (
	busARN    = "arn:aws:events:us-east-1:999999999999:event-bus/sgwatch"
	lambdaARN = "arn:aws:lambda:us-east-1:999999999999:function:sgwatch-SgwatchFunction-abc"
	queueARN  = "arn:aws:sqs:eu-west-1:111111111111:q"
)

// sgwatchOwn is sgwatch's own targets in the tests: the central bus and
// the function, by ARN.
func sgwatchOwn() Own {
	fn, ok := ParseFunction(lambdaARN)
	if !ok {
		panic(lambdaARN)
	}
	return Own{Buses: []string{busARN}, Functions: []Function{fn}}
}

func rule(name, pattern string, state ebtypes.RuleState) ebtypes.Rule {
	return ebtypes.Rule{Name: aws.String(name), EventPattern: aws.String(pattern), State: state}
}

func targetsTo(arns ...string) []ebtypes.Target {
	var ts []ebtypes.Target
	for i, a := range arns {
		ts = append(ts, ebtypes.Target{Id: aws.String(fmt.Sprint(i)), Arn: aws.String(a)})
	}
	return ts
}

func trail(name, account, home string, multi bool) cttypes.Trail {
	return cttypes.Trail{
		Name:               aws.String(name),
		TrailARN:           aws.String(fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", home, account, name)),
		HomeRegion:         aws.String(home),
		IsMultiRegionTrail: aws.Bool(multi),
	}
}

// allManagement is the selectors of a trail created with the defaults.
func allManagement() *cloudtrail.GetEventSelectorsOutput {
	return &cloudtrail.GetEventSelectorsOutput{EventSelectors: []cttypes.EventSelector{
		{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true)}}}
}

// coveredAccount is an account sgwatch sees in every Region: a forwarder
// rule in each and one logging multi-Region trail homed in us-east-1.
func coveredAccount(account string, regions ...string) *fakeAccount {
	a := &fakeAccount{
		rules:   map[string][]ebtypes.Rule{},
		targets: map[string][]ebtypes.Target{"sgwatch-forwarder": targetsTo(busARN)},
		trails:  []cttypes.Trail{trail("org-trail", account, "us-east-1", true)},
	}
	for _, r := range regions {
		a.rules[r] = []ebtypes.Rule{rule("sgwatch-forwarder", sgPattern(sgCalls()), ebtypes.RuleStateEnabled)}
	}
	return a
}
