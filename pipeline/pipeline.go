// Package pipeline is the one path from a CloudTrail input to the
// notifications it publishes, shared by the Lambda handler and the command
// line: parse and score (package detect), decide (package policy), add live
// context and score again (an Enricher, when the deployment has one, and
// at the same time the account's name, from an AccountNamer), decide
// again, and render (package report).
package pipeline

import (
	"context"
	"sync"
	"time"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/policy"
	"github.com/sgwatch/sgwatch/report"
)

// Enricher adds live context to a finding before it is published. It must
// return within its own short timeout and never fail: a lookup that fails
// becomes a note on the finding.
type Enricher interface {
	Enrich(ctx context.Context, f *detect.Finding)
}

// AccountNamer names the account a finding happened in. Like an Enricher,
// it must return within its own short timeout and never fail: name is ""
// when there is none, and note, when not "", says why (a failed lookup).
type AccountNamer interface {
	AccountName(ctx context.Context, accountID string) (name, note string)
}

// Pipeline turns inputs into notifications.
type Pipeline struct {
	Policy policy.Policy
	Format report.Format
	// Enricher adds live context to the findings that will be published;
	// nil for none (the command line).
	Enricher Enricher
	// Accounts names the account of the findings that will be published,
	// while the Enricher looks them up; nil for none (the command line).
	Accounts AccountNamer
	// Now is the clock of the policy's decisions; nil is time.Now.
	Now func() time.Time
	// Self is the deployment's own account, where the opt-in revert acts
	// (policy.PlanRevert); "" when not known (the command line).
	Self string
}

// Result is what became of one finding.
type Result struct {
	Finding  detect.Finding
	Decision policy.Decision
	// Notification is what to publish, when Decision.Publish and Err is nil.
	Notification report.Notification
	// Err says why the notification could not be rendered.
	Err error
	// Revert are the rules the opt-in revert reverts (Finding.Revert says
	// when); none when it does not.
	Revert []detect.Rule
}

// Output is what became of one input: a result per security-group call,
// and the records of other calls, counted (Other names the first).
type Output struct {
	Results []Result
	Others  int
	Other   detect.Other
}

// Run reads data (an EventBridge event, a CloudTrail record or a log file)
// and returns a result for each security-group call in it. The error is
// detect's: input that is not CloudTrail at all, or, in a log file, the
// records that are not records (the others still have their results).
//
// Each finding is decided on as scored. Only one that will be published is
// enriched (so suppressed findings cost no lookup); it is then scored and
// decided again, since live context can change the score (a
// ModifySecurityGroupRules rule found to be egress). A finding only live
// context can judge (detect.Finding.NeedsContext: an attach call, a rule
// from a public range or a prefix list) is looked up whatever its first
// decision, when there is an Enricher: a short window is no hiding place.
func (p Pipeline) Run(ctx context.Context, data []byte) (Output, error) {
	b, err := detect.Parse(data, p.Policy.Score)
	return Output{Results: p.Process(ctx, b.Findings), Others: b.Others, Other: b.Other}, err
}

// Process decides on, looks up and renders findings parsed and scored
// under p.Policy.Score, one result each, in order.
func (p Pipeline) Process(ctx context.Context, findings []detect.Finding) []Result {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	out := make([]Result, 0, len(findings))
	for _, f := range findings {
		out = append(out, p.process(ctx, f, now()))
	}
	return out
}

func (p Pipeline) process(ctx context.Context, f detect.Finding, now time.Time) Result {
	d := p.Policy.Decide(f, now)
	if d.Publish || p.Enricher != nil && f.NeedsContext() {
		p.lookUp(ctx, &f)
		if p.Enricher != nil {
			p.Policy.Score.Score(&f)
			d = p.Policy.Decide(f, now)
		}
	}
	r := Result{Finding: f, Decision: d}
	if d.Publish {
		if f.Sweep == nil { // the sweep plans its own (package sweep)
			r.Finding.Revert, r.Revert = p.Policy.PlanRevert(f, p.Self, now)
		}
		r.Notification, r.Err = report.Render(r.Finding, p.Format)
	}
	return r
}

// lookUp adds live context and the account's name to f, the two lookups at
// the same time. The name's note, if any, follows the live context's.
func (p Pipeline) lookUp(ctx context.Context, f *detect.Finding) {
	var (
		wg         sync.WaitGroup
		name, note string
	)
	if p.Accounts != nil {
		id := f.Event.AccountID
		wg.Go(func() { name, note = p.Accounts.AccountName(ctx, id) })
	}
	if p.Enricher != nil {
		p.Enricher.Enrich(ctx, f)
	}
	wg.Wait()
	if name != "" {
		f.Event.AccountName = name
	}
	if note != "" {
		f.Notes = append(f.Notes, note)
	}
}
