// Package coverage is "sgwatch coverage": it checks that sgwatch sees every
// account and Region it should. For each account and Region (a cell) it
// checks that a rule on the default event bus sends sgwatch's security-group
// calls on (a forwarder to the central bus, or the central deployment's own
// rule) and that a CloudTrail trail logs the management events EventBridge
// receives those calls from. A cell that fails either check is a blind spot.
//
// Only the command line runs it: the Lambda function never builds its
// clients.
package coverage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/smithy-go"

	"github.com/sgwatch/sgwatch/clean"
)

// Events is the part of the EventBridge API the check reads: the rules on
// the default bus of one account and Region, and their targets.
type Events interface {
	ListRules(ctx context.Context, in *eventbridge.ListRulesInput, opts ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error)
	ListTargetsByRule(ctx context.Context, in *eventbridge.ListTargetsByRuleInput, opts ...func(*eventbridge.Options)) (*eventbridge.ListTargetsByRuleOutput, error)
}

// Trails is the part of the CloudTrail API the check reads, for one account
// and Region.
type Trails interface {
	DescribeTrails(ctx context.Context, in *cloudtrail.DescribeTrailsInput, opts ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
	GetTrailStatus(ctx context.Context, in *cloudtrail.GetTrailStatusInput, opts ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error)
	GetEventSelectors(ctx context.Context, in *cloudtrail.GetEventSelectorsInput, opts ...func(*cloudtrail.Options)) (*cloudtrail.GetEventSelectorsOutput, error)
}

// Env gives the check its credentials and clients. Its methods are called
// from several goroutines at once, except Caller, called once first.
type Env interface {
	// Caller returns the account of the credentials the command runs with.
	Caller(ctx context.Context) (string, error)
	// Login makes sure the credentials for account can be had (for another
	// account it assumes the role, once per account); an error makes every
	// cell of that account a blind spot.
	Login(ctx context.Context, account string) error
	// Events and Trails return the clients for account in region.
	Events(account, region string) Events
	Trails(account, region string) Trails
	// StackOutputs returns the outputs of a CloudFormation stack (a name
	// or an ARN) of the caller's account, by key.
	StackOutputs(ctx context.Context, stack string) (map[string]string, error)
}

// RuleState is what the check found on the default bus of a cell.
type RuleState string

// The rule states. Only RuleForwarder and RuleCentral cover a cell.
const (
	// RuleForwarder: an enabled rule with sgwatch's pattern sends the calls
	// to the central event bus.
	RuleForwarder RuleState = "forwarder"
	// RuleCentral: an enabled rule with sgwatch's pattern invokes sgwatch's
	// function (the central deployment's own rule, in its home account and
	// Region).
	RuleCentral RuleState = "central"
	// RuleMissing: no rule mentions the security-group calls.
	RuleMissing RuleState = "missing"
	// RuleDisabled: the rule with sgwatch's pattern is disabled.
	RuleDisabled RuleState = "disabled"
	// RuleWrongPattern: a rule that sends security-group calls to a bus or a
	// function does not match all of them (an old forwarder, an edited
	// pattern, an extra condition).
	RuleWrongPattern RuleState = "wrong pattern"
	// RuleNoTarget: the rule with sgwatch's pattern is enabled but sends
	// the calls, unchanged, to neither an event bus nor a Lambda function.
	RuleNoTarget RuleState = "no target"
	// RuleOtherTarget: the rule with sgwatch's pattern is enabled but sends
	// the calls only to Lambda functions or event buses that are not
	// sgwatch's (a do-nothing function in place of the forwarder's bus).
	RuleOtherTarget RuleState = "other target"
	// RuleUnconfirmedFunction: the rule with sgwatch's pattern is enabled and
	// invokes a Lambda function, but the check was not told which function
	// is sgwatch's (-function or -stack), so it cannot vouch for it.
	RuleUnconfirmedFunction RuleState = "unconfirmed function"
	// RuleUnconfirmedBus: the same for an event bus target when the check
	// was not told the central bus (-bus or -stack).
	RuleUnconfirmedBus RuleState = "unconfirmed bus"
	// RuleError: an API call failed; the cell cannot be vouched for.
	RuleError RuleState = "error"
)

// TrailState is what the check found about CloudTrail in a cell.
type TrailState string

// The trail states. Only TrailLogging covers a cell.
const (
	// TrailLogging: a trail that covers the Region is logging and records
	// write management events.
	TrailLogging TrailState = "logging"
	// TrailNotLogging: the trails that cover the Region are stopped.
	TrailNotLogging TrailState = "not logging"
	// TrailNoManagement: the trail is logging but its event selectors leave
	// out the security-group calls (no management events, or read-only).
	TrailNoManagement TrailState = "no management events"
	// TrailNone: no trail covers the Region.
	TrailNone TrailState = "none"
	// TrailError: an API call failed; the cell cannot be vouched for.
	TrailError TrailState = "error"
)

// Verdict is a cell's outcome.
type Verdict string

// The verdicts.
const (
	Covered   Verdict = "ok"
	BlindSpot Verdict = "BLIND SPOT"
)

// Cell is the outcome for one account and Region. Every text in it that an
// account's users control (names, error messages) is cleaned.
type Cell struct {
	Account    string     `json:"account"`
	Region     string     `json:"region"`
	Rule       RuleState  `json:"rule"`
	RuleName   string     `json:"ruleName,omitempty"`
	RuleError  *CallError `json:"ruleError,omitempty"`
	Trail      TrailState `json:"trail"`
	TrailName  string     `json:"trailName,omitempty"`
	TrailError *CallError `json:"trailError,omitempty"`
	Verdict    Verdict    `json:"verdict"`
}

// CallError is an API call that failed in a cell.
type CallError struct {
	Operation string `json:"operation,omitempty"` // e.g. ListRules, AssumeRole
	Code      string `json:"code"`                // e.g. AccessDeniedException
	Message   string `json:"message"`
}

// Lengths cleaned text is cut to.
const (
	maxName    = 64
	maxCode    = 64
	maxMessage = 512
)

// newCallError describes err: the operation and error code AWS gave, or
// what went wrong before an answer.
func newCallError(err error) *CallError {
	e := &CallError{Code: "RequestError", Message: clean.Line(err.Error(), maxMessage)}
	var op *smithy.OperationError
	if errors.As(err, &op) {
		e.Operation = clean.Line(op.Operation(), maxCode)
	}
	var api smithy.APIError
	var resp *awshttp.ResponseError
	switch {
	case errors.As(err, &api) && api.ErrorCode() != "":
		e.Code = clean.Line(api.ErrorCode(), maxCode)
	case errors.As(err, &resp):
		e.Code = fmt.Sprintf("HTTP%d", resp.HTTPStatusCode())
	case errors.Is(err, context.DeadlineExceeded):
		e.Code = "Timeout"
	case errors.Is(err, context.Canceled):
		e.Code = "Canceled"
	case errors.Is(err, errTooManyPages):
		e.Code = "TooManyPages"
	}
	return e
}

// String is the short form a table cell shows: the operation and the code.
func (e *CallError) String() string {
	if e.Operation == "" {
		return e.Code
	}
	return e.Operation + " " + e.Code
}

// Checker checks cells.
type Checker struct {
	Env Env
	// Own is sgwatch's own targets: a rule covers a cell only if it sends
	// the calls to one of them.
	Own Own
	// Parallel is how many cells are checked at once (8 when 0).
	Parallel int
	// Timeout bounds the check of one cell (2 minutes when 0).
	Timeout time.Duration
}

// Check checks every account in every Region and returns one cell each, in
// order: accounts as given, then Regions as given. It never fails: a call
// that fails shows in its cell.
func (c *Checker) Check(ctx context.Context, accounts, regions []string) []Cell {
	parallel := c.Parallel
	if parallel <= 0 {
		parallel = 8
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	r := &run{env: c.Env, calls: sgCalls(), own: c.Own, selectors: map[string]*selectorResult{}}
	cells := make([]Cell, 0, len(accounts)*len(regions))
	for _, a := range accounts {
		for _, reg := range regions {
			cells = append(cells, Cell{Account: a, Region: reg})
		}
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range cells {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			r.check(cctx, &cells[i])
		}()
	}
	wg.Wait()
	return cells
}

// run is the state one Check shares between its cells.
type run struct {
	env   Env
	calls []string // detect.Calls()
	own   Own      // Checker.Own

	mu        sync.Mutex
	selectors map[string]*selectorResult // by account and trail ARN
}

// check fills in one cell.
func (r *run) check(ctx context.Context, cell *Cell) {
	if err := r.env.Login(ctx, cell.Account); err != nil {
		e := newCallError(err)
		cell.Rule, cell.RuleError = RuleError, e
		cell.Trail, cell.TrailError = TrailError, e
	} else {
		rf := r.rule(ctx, r.env.Events(cell.Account, cell.Region), cell.Account, cell.Region)
		cell.Rule, cell.RuleName, cell.RuleError = rf.state, rf.name, rf.err
		tf := r.trail(ctx, cell.Account, cell.Region)
		cell.Trail, cell.TrailName, cell.TrailError = tf.state, tf.name, tf.err
	}
	cell.Verdict = BlindSpot
	if (cell.Rule == RuleForwarder || cell.Rule == RuleCentral) && cell.Trail == TrailLogging {
		cell.Verdict = Covered
	}
}

// maxPages bounds every paginated listing, in case a service keeps
// answering with a next token.
const maxPages = 100

var errTooManyPages = errors.New("more pages than the check reads")

// name cleans a name an account's users chose.
func name(s *string) string { return clean.Line(aws.ToString(s), maxName) }
