// Package revert does what the opt-in revert decides (policy.PlanRevert):
// it revokes exactly the rules that made a finding, by their ids, after
// reading them as they are now and their approvals, re-reads the group to
// prove them gone, and schedules the check of a finding that has an
// approval window (EventBridge Scheduler, a one-time schedule that
// invokes the function with a Check).
//
// A rule that is gone is not revoked; one whose content changed since the
// finding, or that no longer opens ingress to the whole internet, is left
// alone (it is judged as it is now, by the event of its change and by the
// sweep); one approved (detect.ApprovalOf, on the rule or its group) is
// left alone until its approval runs out.
package revert

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/enrich"
)

// EC2 is the part of the EC2 client a revert uses.
type EC2 interface {
	DescribeSecurityGroupRules(ctx context.Context, in *ec2.DescribeSecurityGroupRulesInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error)
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
	RevokeSecurityGroupIngress(ctx context.Context, in *ec2.RevokeSecurityGroupIngressInput, opts ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error)
}

// Scheduler creates EventBridge Scheduler schedules (SchedulerHTTP).
type Scheduler interface {
	CreateSchedule(ctx context.Context, s Schedule) error
}

// Reverter reverts in the function's own account.
type Reverter struct {
	// EC2 returns the client, built on first use.
	EC2 func() EC2
	// Scheduler returns the client, built on first use; nil when there is
	// no approval window.
	Scheduler func() Scheduler
	// Schedules is where the checks are scheduled (REVERT_SCHEDULE_*).
	Schedules Schedules
	// Scoring judges whether a rule still opens ingress to the whole
	// internet.
	Scoring detect.Scoring
}

// Schedules say where and how a check is scheduled.
type Schedules struct {
	// Group is the schedule group (REVERT_SCHEDULE_GROUP).
	Group string
	// Role is the role EventBridge Scheduler invokes the function with
	// (REVERT_SCHEDULE_ROLE).
	Role string
	// DeadLetter is the ARN of the queue that keeps a check Scheduler
	// could not deliver (REVERT_DEAD_LETTER_ARN).
	DeadLetter string
}

// Result is what one revert did.
type Result struct {
	// Status is detect.RevertDone, RevertGone or RevertFailure, or, when
	// nothing was revoked and nothing is published, RevertApproved or
	// RevertChanged.
	Status detect.RevertStatus
	// Revoked are the rules revoked, as they were listed before.
	Revoked []detect.Rule
	// Left are the rules not revoked, and why each.
	Left []string
	// Reread says what the re-read after the revoke listed.
	Reread string
	// Why says why it failed.
	Why string
	// Calls counts the AWS calls it made.
	Calls int
}

// maxPages bounds the pages of a group's rules a revert reads (1,000
// rules a page: a group has at most 1,000).
const maxPages = 3

// Revert revokes rules of f (each with its id) at time now, as the rules
// and approvals are now; approvals count unless approvable is false (a
// critical change by the root user), and an approval the change set on
// its own rules (f.Tags, at their creation) never does.
func (r *Reverter) Revert(ctx context.Context, f detect.Finding, rules []detect.Rule, approvable bool, now time.Time) Result {
	var res Result
	region, group := f.Event.Region, f.SecurityGroup.ID
	c := r.EC2()
	opts := func(o *ec2.Options) { o.Region = region }
	listed, err := r.list(ctx, c, group, opts, &res)
	if err != nil {
		return failure(res, "the group's rules could not be read before revoking: "+err.Error())
	}
	byID := map[string]listedRule{}
	var ingress []detect.Rule
	for _, l := range listed {
		byID[l.rule.RuleID] = l
		if l.rule.Direction == detect.Ingress {
			ingress = append(ingress, l.rule)
		}
	}
	open := r.Scoring.Exposed(ingress)
	world := map[string]bool{}
	for i, rule := range ingress {
		world[rule.RuleID] = open[i]
	}
	var candidates []listedRule
	gone := 0
	for _, want := range rules {
		l, ok := byID[want.RuleID]
		switch {
		case !ok:
			gone++
			res.Left = append(res.Left, want.RuleID+": gone already")
		case !detect.SameContent(l.rule, want):
			res.Left = append(res.Left, want.RuleID+": changed since the change that opened it, so left alone (its own change is judged)")
		case !world[want.RuleID]:
			res.Left = append(res.Left, want.RuleID+": no longer open to the whole internet, so left alone")
		default:
			candidates = append(candidates, l)
		}
	}
	switch {
	case len(candidates) == 0 && gone == len(rules):
		res.Status = detect.RevertGone
		return res
	case len(candidates) == 0:
		res.Status = detect.RevertChanged
		return res
	}
	var groupTags map[string]string
	if approvable {
		res.Calls++
		out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{group}}, opts)
		switch {
		case notFound(err, "InvalidGroup.NotFound"):
			// Deleted since it was listed, if a listing says so (EC2 is
			// eventually consistent: a new group may not be found yet).
			if after, lerr := r.list(ctx, c, group, opts, &res); lerr == nil && !listsAny(after, ruleIDs(candidates)) {
				res.Status = detect.RevertGone
				return res
			}
			return failure(res, "the group's tags could not be read for an approval: "+apiError(err))
		case err != nil:
			return failure(res, "the group's tags could not be read for an approval: "+apiError(err))
		}
		for _, g := range out.SecurityGroups {
			groupTags = tagMap(g.Tags)
		}
	}
	var ids []string
	for _, l := range candidates {
		if approvable {
			tags := withoutOwnApproval(l.tags, f)
			if a := approval(tags, groupTags, now); a.Valid {
				res.Left = append(res.Left, l.rule.RuleID+": approved until "+a.Until.UTC().Format(time.RFC3339))
				continue
			}
		}
		ids = append(ids, l.rule.RuleID)
		res.Revoked = append(res.Revoked, l.rule)
	}
	if len(ids) == 0 {
		res.Status = detect.RevertApproved
		return res
	}
	res.Calls++
	if _, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(group), SecurityGroupRuleIds: ids}, opts); err != nil {
		// Revoked by someone else meanwhile (another check, the sweep, a
		// person): gone, if a listing says so.
		if notFound(err, "InvalidPermission.NotFound", "InvalidSecurityGroupRuleId.NotFound") {
			if after, lerr := r.list(ctx, c, group, opts, &res); lerr == nil && !listsAny(after, ids) {
				res.Revoked, res.Status = nil, detect.RevertGone
				res.Left = append(res.Left, strings.Join(ids, ", ")+": gone when revoked ("+apiError(err)+")")
				return res
			}
		}
		return failure(res, "RevokeSecurityGroupIngress failed: "+apiError(err))
	}
	after, err := r.list(ctx, c, group, opts, &res)
	if err != nil {
		return failure(res, "revoked, but the group's rules could not be read again to prove it: "+err.Error())
	}
	if listsAny(after, ids) {
		var still []string
		for _, l := range after {
			if slices.Contains(ids, l.rule.RuleID) {
				still = append(still, l.rule.RuleID)
			}
		}
		return failure(res, "revoked, but DescribeSecurityGroupRules still lists "+strings.Join(still, ", "))
	}
	res.Status = detect.RevertDone
	res.Reread = fmt.Sprintf("DescribeSecurityGroupRules of %s at %s lists %d rules, none of %s", group, now.UTC().Format(time.RFC3339), len(after), strings.Join(ids, ", "))
	return res
}

// listsAny reports whether listed holds any of the rule ids.
func listsAny(listed []listedRule, ids []string) bool {
	return slices.ContainsFunc(listed, func(l listedRule) bool { return slices.Contains(ids, l.rule.RuleID) })
}

// notFound reports whether err is one of the AWS error codes.
func notFound(err error, codes ...string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && slices.Contains(codes, api.ErrorCode())
}

// ruleIDs are the ids of listed rules.
func ruleIDs(listed []listedRule) []string {
	ids := make([]string, 0, len(listed))
	for _, l := range listed {
		ids = append(ids, l.rule.RuleID)
	}
	return ids
}

// withoutOwnApproval is a rule's tags without an approval that the change
// of f set on the rule it created, in the same call (a tag specification),
// still of the value it set: a change never approves itself. An approval
// set later is a CreateTags call of its own, a finding of its own.
func withoutOwnApproval(tags map[string]string, f detect.Finding) map[string]string {
	// A call's tag specification covers every rule it creates, named in
	// the finding or not (it names at most 20), and every rule a revert of
	// the call's finding takes is one it created.
	t := f.Tags
	if t == nil {
		return tags
	}
	for _, own := range t.Tags {
		if own.Key == detect.ApprovedUntilTag && tags[own.Key] == own.Value {
			out := maps.Clone(tags)
			delete(out, own.Key)
			return out
		}
	}
	return tags
}

// approval is the approval in force on a rule (its tags) or its group;
// the zero Approval when neither has one.
func approval(rule, group map[string]string, now time.Time) detect.Approval {
	if a := detect.ApprovalOf(rule, now); a.Valid {
		return a
	}
	return detect.ApprovalOf(group, now)
}

func failure(res Result, why string) Result {
	res.Status, res.Why = detect.RevertFailure, why
	return res
}

// listedRule is a rule as listed, with its tags.
type listedRule struct {
	rule detect.Rule
	tags map[string]string
}

// list reads the rules of group, counting its calls into res.
func (r *Reverter) list(ctx context.Context, c EC2, group string, opts func(*ec2.Options), res *Result) ([]listedRule, error) {
	in := &ec2.DescribeSecurityGroupRulesInput{Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{group}}}, MaxResults: aws.Int32(1000)}
	var out []listedRule
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("more than %d pages of rules", maxPages)
		}
		res.Calls++
		o, err := c.DescribeSecurityGroupRules(ctx, in, opts)
		if err != nil {
			return nil, errors.New("DescribeSecurityGroupRules failed: " + apiError(err))
		}
		for _, sr := range o.SecurityGroupRules {
			if aws.ToString(sr.GroupId) == group {
				out = append(out, listedRule{rule: enrich.FromSDK(sr), tags: tagMap(sr.Tags)})
			}
		}
		if aws.ToString(o.NextToken) == "" {
			return out, nil
		}
		in.NextToken = o.NextToken
	}
}

func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// apiError names an AWS error by the service's code and message.
func apiError(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	return err.Error()
}

// Member is the key a Check's payload has (detect.Payload), and
// CheckKind its value.
const (
	Member    = detect.Payload
	CheckKind = "revert-check"
)

// Check is the payload of a scheduled check: the finding (trimmed to
// what the check and its notification need) and the key of its
// notification.
type Check struct {
	Kind string `json:"sgwatch"`
	// Key is the idempotency key of the notification it follows.
	Key string `json:"key"`
	// Finding is the finding, its Revert the plan, its Rules those to
	// revert.
	Finding detect.Finding `json:"finding"`
	// Unread is the finding's Actor.Unread (not in its JSON): an identity
	// that could not be read is never exempt.
	Unread bool `json:"unread,omitempty"`
}

// maxActorText bounds each of the actor's texts in a check.
const maxActorText = 256

// errTooLarge is the error of a check that does not fit a schedule's
// input (the handler, as for any check it cannot schedule, reverts at
// once instead).
var errTooLarge = errors.New("the revert check does not fit a schedule's input")

// maxInput bounds a Check's payload: EventBridge Scheduler's target input
// is a string of at most 8,192 characters.
const maxInput = 8192

// NewCheck is the check of f under key, f trimmed to rules and what a
// notification of the outcome shows.
func NewCheck(f detect.Finding, rules []detect.Rule, key string) Check {
	a := f.Actor
	for _, s := range []*string{&a.Type, &a.ARN, &a.AccountID, &a.PrincipalID, &a.UserName, &a.AccessKeyID, &a.SessionIssuerARN, &a.SourceIP, &a.UserAgent, &a.InvokedBy} {
		*s = clean.Prefix(*s, maxActorText) // record text, however long, must not keep the check from its schedule
	}
	// The check judges the change again (policy.PlanRevert): it keeps what
	// that reads, the reachability grade among it.
	var reach *detect.Reachability
	if f.Reachability != nil {
		reach = &detect.Reachability{Grade: f.Reachability.Grade}
	}
	g := detect.Finding{Action: f.Action, Outcome: f.Outcome, Severity: f.Severity, SeverityBeforeAutomation: f.SeverityBeforeAutomation, Reachability: reach,
		Event: f.Event, Actor: a, Automation: clean.Prefix(f.Automation, maxActorText), Revert: f.Revert, Sweep: f.Sweep, Tags: ownApproval(f.Tags),
		SecurityGroup: detect.SecurityGroup{ID: f.SecurityGroup.ID, Name: f.SecurityGroup.Name, VPCID: f.SecurityGroup.VPCID}}
	for _, r := range rules {
		r.Description = ""
		g.Rules = append(g.Rules, r)
	}
	return Check{Kind: CheckKind, Key: key, Finding: g, Unread: f.Actor.Unread}
}

// ownApproval is what a check keeps of the change's own tags: the
// approval it set on the rules it created (withoutOwnApproval), with the
// value cut as a tag's is (256 characters); nil for none.
func ownApproval(t *detect.TagChange) *detect.TagChange {
	if t == nil {
		return nil
	}
	out := &detect.TagChange{Resources: t.Resources}
	for _, tag := range t.Tags {
		if tag.Key == detect.ApprovedUntilTag {
			out.Tags = append(out.Tags, detect.Tag{Key: tag.Key, Value: clean.Prefix(tag.Value, 256)})
		}
	}
	if len(out.Tags) == 0 {
		return nil
	}
	return out
}

// ParseCheck reads a check's payload: ok is false for anything else. A
// payload with Member that is not a valid check is an error.
func ParseCheck(data []byte) (c Check, ok bool, err error) {
	if !bytes.Contains(data, []byte(`"`+CheckKind+`"`)) {
		return c, false, nil // not decoded: every event passes here
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return c, false, nil
	}
	var kind string
	if raw, has := top[Member]; !has || json.Unmarshal(raw, &kind) != nil || kind != CheckKind {
		return c, false, nil
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, true, fmt.Errorf("revert check: %w", err)
	}
	c.Finding.Actor.Unread = c.Unread
	f := c.Finding
	switch {
	case c.Key == "" || len(c.Key) > 512:
		return c, true, errors.New("revert check: no key, or one longer than 512 characters")
	case f.Revert == nil || f.Revert.Status != detect.RevertScheduled:
		return c, true, errors.New("revert check: the finding has no scheduled revert")
	case !awsid.IsRegion(f.Event.Region) || !awsid.IsGroupID(f.SecurityGroup.ID) || !awsid.IsAccountID(f.Event.AccountID):
		return c, true, errors.New("revert check: the finding does not name its account, Region and group")
	case len(f.Rules) == 0 || slices.ContainsFunc(f.Rules, func(r detect.Rule) bool { return !awsid.IsRuleID(r.RuleID) }):
		return c, true, errors.New("revert check: a rule without a valid id, or none")
	}
	if _, err := time.Parse(time.RFC3339, f.Revert.At); err != nil {
		return c, true, fmt.Errorf("revert check: due time: %w", err)
	}
	return c, true, nil
}

// ScheduleName is the name of the schedule of the check under key: one
// check a key, however often its event is delivered.
func ScheduleName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sgwatch-revert-" + hex.EncodeToString(sum[:20])
}

// Schedule creates the one-time schedule that invokes target (the
// function's ARN) with c at its due time, deleted once it has. A schedule
// of the same name (a retried event) is the same check: not an error.
func (r *Reverter) Schedule(ctx context.Context, target string, c Check) error {
	input, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode revert check: %w", err)
	}
	if len(input) > maxInput {
		return fmt.Errorf("%w: %d bytes, longer than %d", errTooLarge, len(input), maxInput)
	}
	at, err := time.Parse(time.RFC3339, c.Finding.Revert.At)
	if err != nil {
		return fmt.Errorf("revert check: due time: %w", err)
	}
	name := ScheduleName(c.Key)
	s := r.Schedules
	err = r.Scheduler().CreateSchedule(ctx, Schedule{
		Name:                       name,
		GroupName:                  s.Group,
		ScheduleExpression:         "at(" + at.UTC().Format("2006-01-02T15:04:05") + ")",
		ScheduleExpressionTimezone: "UTC",
		FlexibleTimeWindow:         flexibleWindow{Mode: "OFF"},
		ActionAfterCompletion:      "DELETE",
		Description:                "sgwatch: revert " + strings.Join(c.Finding.Revert.Rules, " ") + " of " + c.Finding.SecurityGroup.ID + " unless approved",
		ClientToken:                name,
		Target: Target{Arn: target, RoleArn: s.Role, Input: string(input), DeadLetterConfig: deadLetterConfig{Arn: s.DeadLetter},
			RetryPolicy: retryPolicy{MaximumRetryAttempts: 5, MaximumEventAgeInSeconds: 3600}},
	})
	switch {
	case Conflict(err):
		return nil // scheduled by an earlier delivery of the event
	case err != nil:
		return fmt.Errorf("create schedule %s: %w", name, err)
	}
	return nil
}

// Outcome is the finding a revert of f publishes at time now: reverted
// (the rules revoked, or gone), revert-failed (critical), or the change
// again with its rules kept open (approved, or changed since), so that
// the notification that announced the revert always has its answer.
func Outcome(f detect.Finding, res Result, now time.Time) detect.Finding {
	g := f
	g.Action, g.Undo, g.Notes, g.Context, g.Reachability, g.Live = detect.Reverted, nil, nil, nil, nil, nil
	rv := &detect.Revert{Status: res.Status, At: now.UTC().Format(time.RFC3339), Reread: res.Reread, Why: res.Why}
	rules := res.Revoked
	switch res.Status {
	case detect.RevertApproved, detect.RevertChanged:
		g.Action, rules = f.Action, f.Rules
		rv.Status, rv.Why = detect.RevertKept, strings.Join(res.Left, "; ")
		g.Reasons = []string{"the revert left the rules below open: " + map[detect.RevertStatus]string{
			detect.RevertApproved: "approved by tag", detect.RevertChanged: "changed since the change that opened them"}[res.Status]}
	case detect.RevertFailure:
		g.Action, g.Severity = detect.RevertFailed, detect.Critical
		g.Reasons = []string{"the revert of the rules below failed: they may still be open; revoke them by hand"}
		rules = f.Rules
	case detect.RevertGone:
		g.Reasons = []string{"the rules below were gone when the revert looked: nothing was revoked"}
		rules = f.Rules
	case detect.RevertDone:
		g.Reasons = []string{fmt.Sprintf("sgwatch revoked %d rule(s) that opened ingress to the whole internet", len(rules))}
		if c, ok := detect.Lookup(f.Event.Name); ok && c.Effect == detect.ChangesRules {
			// The rule was there before the change, with content the
			// record does not hold: re-opening it as it was now would
			// open the internet again.
			g.Reasons = append(g.Reasons, f.Event.Name+" changed a rule that was there before, and the record does not hold what it allowed then: revoking removed the rule whole; restore its earlier content from AWS Config's history of "+f.SecurityGroup.ID)
		} else {
			rv.Reopen = detect.ReopenCommand(f.Event.Region, f.SecurityGroup.ID, rules)
		}
	}
	if f.Revert != nil && f.Revert.Status == detect.RevertScheduled && rv.Status != detect.RevertKept {
		g.Reasons = append(g.Reasons, "its approval window ended at "+f.Revert.At+" without an approval")
	}
	if rv.Status != detect.RevertKept { // said in the revert's why
		g.Notes = res.Left
	}
	g.Rules = rules
	for _, r := range rules {
		rv.Rules = append(rv.Rules, r.RuleID)
	}
	g.Revert = rv
	if res.Status == detect.RevertFailure || rv.Status == detect.RevertKept {
		g.Undo = detect.ExposureUndo(&g) // to revoke them by hand
	}
	return g
}
