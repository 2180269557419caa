package policy

// The opt-in revert's configuration and its decision about one finding
// (package revert does what it decides):
//
//	REVERT          off (default), or the least severity reverted: critical, high, medium, low
//	REVERT_AFTER    the approval window, a duration (default 0: at once; 15m, 4h; at most 24h)
//	REVERT_EXEMPT   ARN patterns of principals whose changes are never reverted, as TRUSTED_PRINCIPALS
//	REVERT_INCLUDE  what is left alone unless named: trusted-automation, authorized-ports

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/detect"
)

// MaxRevertAfter is the longest approval window.
const MaxRevertAfter = 24 * time.Hour

// MaxScheduled is how many rules of one finding wait for the window: a
// call that opens more is reverted at once (its check's payload would
// not fit the schedule's input, and so many is no accident).
const MaxScheduled = 20

// Revert is the revert's configuration.
type Revert struct {
	// Min is the least severity reverted; "" when revert is off.
	Min detect.Severity
	// After is the approval window; 0 reverts at once.
	After time.Duration
	// Exempt are principal patterns whose changes are never reverted.
	Exempt []string
	// Trusted and Authorized are true when changes by trusted automation,
	// and authorised public ports, are reverted too (REVERT_INCLUDE).
	Trusted, Authorized bool
}

// On reports whether revert is on.
func (r Revert) On() bool { return r.Min != "" }

// RevertFromEnv reads the revert's configuration through getenv; an
// invalid value is an error that names the variable and what is wrong.
func RevertFromEnv(getenv func(string) string) (Revert, error) {
	var r Revert
	switch v := strings.ToLower(strings.TrimSpace(getenv("REVERT"))); v {
	case "", "off":
	case "info":
		return r, fmt.Errorf("REVERT: %q: info findings are never reverted (want off, critical, high, medium or low)", v)
	default:
		sev, err := detect.ParseSeverity(v)
		if err != nil {
			return r, fmt.Errorf("REVERT: %w (or off)", err)
		}
		r.Min = sev
	}
	if v := strings.TrimSpace(getenv("REVERT_AFTER")); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			return r, fmt.Errorf("REVERT_AFTER: %q is not a duration (want 0, 15m, 4h)", v)
		case d < 0 || d > MaxRevertAfter:
			return r, fmt.Errorf("REVERT_AFTER: %q is outside 0 to %s", v, MaxRevertAfter)
		case d > 0 && d < time.Minute:
			return r, fmt.Errorf("REVERT_AFTER: %q is under a minute: a schedule's time is whole minutes (want 0 for at once)", v)
		}
		r.After = d
	}
	var err error
	if r.Exempt, err = parsePrincipals(getenv("REVERT_EXEMPT")); err != nil {
		return r, fmt.Errorf("REVERT_EXEMPT: %w", err)
	}
	items, err := list(getenv("REVERT_INCLUDE"))
	if err != nil {
		return r, fmt.Errorf("REVERT_INCLUDE: %w", err)
	}
	for _, it := range items {
		switch strings.ToLower(it) {
		case "trusted-automation":
			r.Trusted = true
		case "authorized-ports":
			r.Authorized = true
		default:
			return r, fmt.Errorf("REVERT_INCLUDE: %q is not trusted-automation or authorized-ports", it)
		}
	}
	if !r.On() && (r.After > 0 || len(r.Exempt) > 0 || len(items) > 0) {
		return r, fmt.Errorf("REVERT_AFTER, REVERT_EXEMPT and REVERT_INCLUDE need REVERT (critical, high, medium or low): revert is off")
	}
	return r, nil
}

// PlanRevert decides what the revert does about f, scored and to be
// published, at time now, in a deployment whose own account is self ("":
// not known, as on the command line): nil when revert is off, f is below
// REVERT or is not a change of rules; else a Revert that says which rules
// are reverted and when (Status RevertScheduled or RevertNow), or why
// none is (NotReverted). rules are the rules it reverts.
func (p Policy) PlanRevert(f detect.Finding, self string, now time.Time) (plan *detect.Revert, rules []detect.Rule) {
	r := p.Revert
	sev := f.Severity
	if f.SeverityBeforeAutomation.Rank() > sev.Rank() {
		sev = f.SeverityBeforeAutomation
	}
	if !r.On() || sev.Rank() < r.Min.Rank() || !detect.Revertible(f) {
		return nil, nil
	}
	no := func(why string) (*detect.Revert, []detect.Rule) {
		return &detect.Revert{Status: detect.NotReverted, Why: why}, nil
	}
	offending, authorized := p.Score.Offending(f)
	if r.Authorized {
		offending = append(offending, authorized...)
	}
	root := f.Actor.MayBeRoot()
	switch {
	case len(offending) == 0 && len(authorized) > 0:
		return no("its whole-internet rules are authorised public ports (REVERT_INCLUDE does not name authorized-ports)")
	case len(offending) == 0:
		return no("no rule of it is open to the whole internet by itself or with the call's other rules: what it opens only through a prefix list, " +
			"or together with rules already there or other groups' rules, is reported, never reverted")
	case !root && f.Automation != "" && !r.Trusted:
		return no("made by trusted automation (" + f.Automation + "), which REVERT_INCLUDE does not name")
	case !root && slices.ContainsFunc(r.Exempt, func(e string) bool { return f.Actor.Matches(e) != "" }):
		return no("made by a principal REVERT_EXEMPT names")
	case self != "" && f.Event.AccountID != self:
		return no("it was made in another account than sgwatch's own (" + self + "), and sgwatch reverts only in its own")
	case !awsid.IsRegion(f.Event.Region) || !awsid.IsGroupID(f.SecurityGroup.ID):
		return no("the record does not name the group by id and Region")
	}
	var ids []string
	for _, rule := range offending {
		if !awsid.IsRuleID(rule.RuleID) {
			return no("the record does not give every rule's id (a record from before rule ids, or a call that names rules by content): only a rule named by its id is reverted")
		}
		ids = append(ids, rule.RuleID)
	}
	at, status := now, detect.RevertNow
	if r.After > 0 && !f.Unapprovable() && len(offending) <= MaxScheduled {
		at, status = now.Add(r.After).Truncate(time.Minute).Add(time.Minute), detect.RevertScheduled
	}
	plan = &detect.Revert{Status: status, Rules: ids, At: at.UTC().Format(time.RFC3339)}
	if status == detect.RevertScheduled {
		plan.Approve = detect.ApproveCommand(f.Event.Region, ids, at.Add(detect.ApproveFor))
	}
	return plan, offending
}
