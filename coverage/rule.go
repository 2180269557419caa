package coverage

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
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

// sgCalls returns the calls every matching pattern must deliver.
func sgCalls() []string { return append(detect.Calls(), detect.TagCalls()...) }

// MatchesPattern reports whether the EventBridge event pattern delivers
// every call in calls as sgwatch's own pattern does (detect.Pattern): it is
// compared as a structure, not as text. It must have exactly the keys
// source, detail-type and detail; source aws.ec2, detail-type "AWS API
// Call via CloudTrail", and detail eventSource ec2.amazonaws.com with
// either eventName or an $or of branches, each an eventName list. A call
// is delivered when a branch names it and narrows nothing else (any other
// key narrows the match, e.g. to one account or to successful calls
// only), but for a tag call, whose branch may require exactly
// detect.TagFilter of its requestParameters. Each list must hold the value
// as a plain string; it may hold more values: EventBridge ORs them, so
// they only widen the match.
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
	if !ok || !listHas(d["eventSource"], patternEventSource) {
		return false
	}
	var branches []map[string]any
	switch {
	case onlyKeys(d, "eventSource", "eventName"):
		branches = []map[string]any{{"eventName": d["eventName"]}}
	case onlyKeys(d, "eventSource", "$or"):
		or, _ := d["$or"].([]any)
		for _, b := range or {
			if m, ok := b.(map[string]any); ok {
				branches = append(branches, m)
			}
		}
	default:
		return false
	}
	tagFilter := jsonValue(detect.TagFilter())
	tagCalls := detect.TagCalls()
	for _, c := range calls {
		if !slices.ContainsFunc(branches, func(b map[string]any) bool {
			return listHas(b["eventName"], c) && (onlyKeys(b, "eventName") ||
				slices.Contains(tagCalls, c) && onlyKeys(b, "eventName", "requestParameters") && reflect.DeepEqual(b["requestParameters"], tagFilter))
		}) {
			return false
		}
	}
	return true
}

// jsonValue is v as encoding/json decodes it into an any.
func jsonValue(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
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
// covers the cell wins; then an error (the rule it hid may be fine); then a
// target the check could not vouch for; then the failures closest to
// working.
func (f ruleFinding) rank() int {
	switch f.state {
	case RuleForwarder, RuleCentral:
		return 7
	case RuleError:
		return 6
	case RuleUnconfirmedFunction, RuleUnconfirmedBus:
		return 5
	case RuleDisabled:
		return 4
	case RuleOtherTarget:
		return 3
	case RuleNoTarget:
		return 2
	case RuleWrongPattern:
		return 1
	}
	return 0
}

// covers is the rank of a finding that covers the cell.
const covers = 7

// rule checks the rules on the default bus of account in region.
func (r *run) rule(ctx context.Context, ev Events, account, region string) ruleFinding {
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
			if f := r.judgeRule(ctx, ev, rule, account, region); f.rank() > best.rank() {
				best = f
			}
			if best.rank() == covers {
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
func (r *run) judgeRule(ctx context.Context, ev Events, rule types.Rule, account, region string) ruleFinding {
	pattern := aws.ToString(rule.EventPattern)
	match := MatchesPattern(pattern, r.calls)
	if !match && !mentionsCall(pattern, r.calls) {
		return ruleFinding{state: RuleMissing}
	}
	f := ruleFinding{name: name(rule.Name)}
	t, err := r.targets(ctx, ev, rule.Name, account, region)
	if err != nil {
		f.state, f.err = RuleError, newCallError(err)
		return f
	}
	enabled := rule.State == types.RuleStateEnabled || rule.State == types.RuleStateEnabledWithAllCloudtrailManagementEvents
	switch {
	case !match && (t.ownBus || t.ownFunction || t.unknownBus || t.unknownFunction):
		f.state = RuleWrongPattern
	case !match: // some other tool's rule about security groups
		return ruleFinding{state: RuleMissing}
	case !enabled:
		f.state = RuleDisabled
	case t.ownBus:
		f.state = RuleForwarder
	case t.ownFunction:
		f.state = RuleCentral
	case t.unknownFunction:
		f.state = RuleUnconfirmedFunction
	case t.unknownBus:
		f.state = RuleUnconfirmedBus
	case t.other:
		f.state = RuleOtherTarget
	default:
		f.state = RuleNoTarget
	}
	return f
}

// ruleTargets is what a rule's targets are, counting only those that pass
// the event on unchanged: a target with Input, InputPath or an
// InputTransformer replaces the event, so sgwatch would not get it.
type ruleTargets struct {
	ownBus, ownFunction bool // sgwatch's central bus, sgwatch's function
	// A bus or a function while the check knows no bus (no function) of
	// sgwatch's: it cannot say whether the target is sgwatch's.
	unknownBus, unknownFunction bool
	other                       bool // a bus or a function known not to be sgwatch's
}

// targets lists the targets of the rule, on the default bus of account in
// region, and says what they are.
func (r *run) targets(ctx context.Context, ev Events, rule *string, account, region string) (ruleTargets, error) {
	var found ruleTargets
	var token *string
	for page := 0; ; page++ {
		if page == maxPages {
			return found, errTooManyPages
		}
		out, err := ev.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: rule, NextToken: token})
		if err != nil {
			return found, err
		}
		for _, t := range out.Targets {
			a, err := arn.Parse(aws.ToString(t.Arn))
			if err != nil || aws.ToString(t.Input) != "" || aws.ToString(t.InputPath) != "" || t.InputTransformer != nil {
				continue
			}
			switch {
			case a.Service == "lambda" && strings.HasPrefix(a.Resource, "function:"):
				switch {
				case len(r.own.Functions) == 0:
					found.unknownFunction = true
				case slices.ContainsFunc(r.own.Functions, func(f Function) bool { return f.matches(a, account, region) }):
					found.ownFunction = true
				default:
					found.other = true
				}
			case a.Service == "events" && strings.HasPrefix(a.Resource, "event-bus/"):
				switch {
				case len(r.own.Buses) == 0:
					found.unknownBus = true
				case slices.Contains(r.own.Buses, aws.ToString(t.Arn)):
					found.ownBus = true
				default:
					found.other = true
				}
			}
		}
		if token = out.NextToken; aws.ToString(token) == "" {
			return found, nil
		}
	}
}
