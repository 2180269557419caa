package coverage

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/sgwatch/sgwatch/detect"
)

// The fields of sgwatch's event pattern (template.yaml, SgwatchFunction's
// SecurityGroupChange event; forwarder.yaml has the same). The event names
// are detect.Calls().
const (
	patternSource      = "aws.ec2"
	patternDetailType  = "AWS API Call via CloudTrail"
	patternEventSource = "ec2.amazonaws.com"
)

// sgCalls returns the calls every matching pattern must name.
func sgCalls() []string { return detect.Calls() }

// MatchesPattern reports whether the EventBridge event pattern delivers
// every security-group call sgwatch reports, as sgwatch's own pattern does:
// it is compared as a structure, not as text. It must have exactly the keys
// source, detail-type and detail, detail exactly eventSource and eventName
// (any other key narrows the match, e.g. to one account or to successful
// calls only), and each list must hold the value as a plain string: source
// aws.ec2, detail-type "AWS API Call via CloudTrail", eventSource
// ec2.amazonaws.com, and eventName every name in calls. A list may hold
// more values: EventBridge ORs them, so they only widen the match.
func MatchesPattern(pattern string, calls []string) bool {
	var p map[string]any
	if err := json.Unmarshal([]byte(pattern), &p); err != nil {
		return false
	}
	if !onlyKeys(p, "source", "detail-type", "detail") ||
		!listHas(p["source"], patternSource) || !listHas(p["detail-type"], patternDetailType) {
		return false
	}
	d, ok := p["detail"].(map[string]any)
	if !ok || !onlyKeys(d, "eventSource", "eventName") || !listHas(d["eventSource"], patternEventSource) {
		return false
	}
	for _, c := range calls {
		if !listHas(d["eventName"], c) {
			return false
		}
	}
	return true
}

// onlyKeys reports whether m has exactly keys.
func onlyKeys(m map[string]any, keys ...string) bool {
	if len(m) != len(keys) {
		return false
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

// listHas reports whether v is a JSON list that holds the string s.
func listHas(v any, s string) bool {
	list, ok := v.([]any)
	if !ok {
		return false
	}
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// mentionsCall reports whether the pattern names any of calls: a rule meant
// to send security-group calls on, whatever else it says.
func mentionsCall(pattern string, calls []string) bool {
	for _, c := range calls {
		if strings.Contains(pattern, c) {
			return true
		}
	}
	return false
}

// ruleFinding is what one rule (or the best of a bus's rules) says.
type ruleFinding struct {
	state RuleState
	name  string
	err   *CallError
}

// rank orders findings: the cell shows the best of its rules. A rule that
// covers the cell wins; then an error (the rule it hid may be fine); then
// the failures closest to working.
func (f ruleFinding) rank() int {
	switch f.state {
	case RuleForwarder, RuleCentral:
		return 5
	case RuleError:
		return 4
	case RuleDisabled:
		return 3
	case RuleNoTarget:
		return 2
	case RuleWrongPattern:
		return 1
	}
	return 0
}

// rule checks the rules on the default bus.
func (r *run) rule(ctx context.Context, ev Events) ruleFinding {
	best := ruleFinding{state: RuleMissing}
	var token *string
	for page := 0; ; page++ {
		if page == maxPages {
			return ruleFinding{state: RuleError, err: newCallError(errTooManyPages)}
		}
		out, err := ev.ListRules(ctx, &eventbridge.ListRulesInput{NextToken: token})
		if err != nil {
			return ruleFinding{state: RuleError, err: newCallError(err)}
		}
		for _, rule := range out.Rules {
			if f := r.judgeRule(ctx, ev, rule); f.rank() > best.rank() {
				best = f
			}
			if best.rank() == 5 {
				return best
			}
		}
		if token = out.NextToken; aws.ToString(token) == "" {
			return best
		}
	}
}

// judgeRule says what one rule does for sgwatch: RuleMissing for a rule
// that has nothing to do with it.
func (r *run) judgeRule(ctx context.Context, ev Events, rule types.Rule) ruleFinding {
	pattern := aws.ToString(rule.EventPattern)
	match := MatchesPattern(pattern, r.calls)
	if !match && !mentionsCall(pattern, r.calls) {
		return ruleFinding{state: RuleMissing}
	}
	f := ruleFinding{name: name(rule.Name)}
	lambda, bus, err := targets(ctx, ev, rule.Name, r.bus)
	if err != nil {
		f.state, f.err = RuleError, newCallError(err)
		return f
	}
	enabled := rule.State == types.RuleStateEnabled || rule.State == types.RuleStateEnabledWithAllCloudtrailManagementEvents
	switch {
	case !match && (lambda || bus):
		f.state = RuleWrongPattern
	case !match: // some other tool's rule about security groups
		return ruleFinding{state: RuleMissing}
	case !enabled:
		f.state = RuleDisabled
	case bus:
		f.state = RuleForwarder
	case lambda:
		f.state = RuleCentral
	default:
		f.state = RuleNoTarget
	}
	return f
}

// targets reports whether the rule sends its events, unchanged, to a Lambda
// function, and whether to an event bus (to wantBus, when it is not ""). A
// target with Input, InputPath or an InputTransformer replaces the event,
// so sgwatch would not get it: it does not count.
func targets(ctx context.Context, ev Events, rule *string, wantBus string) (lambda, bus bool, err error) {
	var token *string
	for page := 0; ; page++ {
		if page == maxPages {
			return lambda, bus, errTooManyPages
		}
		out, err := ev.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: rule, NextToken: token})
		if err != nil {
			return lambda, bus, err
		}
		for _, t := range out.Targets {
			a, err := arn.Parse(aws.ToString(t.Arn))
			if err != nil || aws.ToString(t.Input) != "" || aws.ToString(t.InputPath) != "" || t.InputTransformer != nil {
				continue
			}
			switch {
			case a.Service == "lambda" && strings.HasPrefix(a.Resource, "function:"):
				lambda = true
			case a.Service == "events" && strings.HasPrefix(a.Resource, "event-bus/") && (wantBus == "" || aws.ToString(t.Arn) == wantBus):
				bus = true
			}
		}
		if token = out.NextToken; aws.ToString(token) == "" {
			return lambda, bus, nil
		}
	}
}
