package detect

// The opt-in revert (package revert does it, package policy decides on
// it): which rules of a finding it revokes, what approves them, and the
// commands a notification gives.

import (
	"slices"
	"strings"
	"time"

	"github.com/sgwatch/sgwatch/awsid"
)

// The actions of the findings a revert publishes.
const (
	// Reverted is a revert that revoked the rules and re-read the group
	// without them (or found them gone at its check).
	Reverted Action = "reverted"
	// RevertFailed is a revert that could not revoke the rules, or whose
	// re-read still lists one; always critical.
	RevertFailed Action = "revert-failed"
)

// The tags that approve an exposure, on its rule (sgr-) or its group
// (sg-): a time within MaxApproval, and why.
const (
	ApprovedUntilTag  = "sgwatch:approved-until"
	ApprovalReasonTag = "sgwatch:approval-reason"
)

// MaxApproval is the longest an approval may run: one further away
// approves nothing.
const MaxApproval = 7 * 24 * time.Hour

// ApproveFor is how long the approval a notification's command sets runs.
const ApproveFor = 24 * time.Hour

// RevertStatus says what the revert did or will do about a finding.
type RevertStatus string

// The statuses of a Revert.
const (
	// RevertScheduled: the rules are reverted at At unless approved.
	RevertScheduled RevertStatus = "scheduled"
	// RevertNow: the rules are reverted at once; a reverted or
	// revert-failed finding follows.
	RevertNow RevertStatus = "now"
	// RevertDone: a reverted finding's rules were revoked.
	RevertDone RevertStatus = "reverted"
	// RevertGone: the rules were gone when the revert looked.
	RevertGone RevertStatus = "gone"
	// RevertFailure: a revert-failed finding.
	RevertFailure RevertStatus = "failed"
	// NotReverted: revert is on and the finding is severe enough, but
	// these rules are not reverted (Why).
	NotReverted RevertStatus = "not-reverted"
	// RevertKept: a revert that left the rules open, approved or changed
	// since (Why).
	RevertKept RevertStatus = "kept"
	// RevertApproved and RevertChanged: what package revert found, each
	// published as RevertKept.
	RevertApproved RevertStatus = "approved"
	RevertChanged  RevertStatus = "changed"
)

// Revert is what the revert did or will do about a finding.
type Revert struct {
	Status RevertStatus `json:"status"`
	// Rules are the ids of the rules it revokes, or revoked.
	Rules []string `json:"rules,omitempty"`
	// At is when they are (scheduled) or were reverted (RFC 3339).
	At string `json:"at,omitempty"`
	// Why says why they are not reverted, or why the revert failed.
	Why string `json:"why,omitempty"`
	// Approve is the command that approves them for ApproveFor.
	Approve string `json:"approve,omitempty"`
	// Reread is what the group's rules were read as after the revoke.
	Reread string `json:"reread,omitempty"`
	// Reopen is the command that would open the revoked rules again.
	Reopen string `json:"reopen,omitempty"`
}

// Offending returns the rules of f a revert revokes, the ingress rules
// open to the whole internet by themselves or with the call's other
// rules, without those the deployment authorises as public ports
// (authorized), which it revokes only when asked. A rule on a port
// AUTHORIZED_PUBLIC_PORTS names (not a sensitive one) counts as
// authorised when what uses the group is not known (no live context, or
// its grade unknown): it may be a load balancer's.
func (o Scoring) Offending(f Finding) (rules, authorized []Rule) {
	in := slices.Clone(f.Rules)
	catalogue := o.catalogue()
	world := exposures(in, catalogue)
	var reach Reachability
	if f.Reachability != nil {
		reach = *f.Reachability
	}
	covered, _, _ := o.authorized(&f, reach)
	unknown := f.Reachability == nil || f.Reachability.Grade == GradeUnknown
	for i, r := range in {
		if r.Unmatched || orIngress(r.Direction) != Ingress || !world[i] && f.Rules[i].Exposure == "" {
			continue
		}
		maybe := unknown && within(r, o.AuthorizedPorts) && !allTraffic(r) && len(sensitive(r, catalogue)) == 0
		if maybe || slices.ContainsFunc(covered, func(c Rule) bool { return sameRule(c, f.Rules[i]) }) {
			authorized = append(authorized, f.Rules[i])
			continue
		}
		rules = append(rules, f.Rules[i])
	}
	return rules, authorized
}

// Unapprovable reports whether f is reverted at once, whatever the window
// and any approval: a critical change by the root user (or by an
// identity that could not be read, which may be root's).
func (f Finding) Unapprovable() bool { return f.Actor.MayBeRoot() && f.WasCritical() }

// Revertible reports whether f is a change a revert acts on: a call that
// added or changed rules, and took effect, or an exposure the sweep found.
func Revertible(f Finding) bool {
	if f.Action == Exposure {
		return true
	}
	c := byName[f.Event.Name]
	return c != nil && (c.Effect == AddsRules || c.Effect == ChangesRules) && f.Outcome == Succeeded
}

// Approval is what an exposure's sgwatch:approved-until tag says.
type Approval struct {
	Until  time.Time
	Reason string
	// Valid is true for an approval in force: a time after now and within
	// MaxApproval of it, with a reason.
	Valid bool
	// Expired is true for an approval that ran out.
	Expired bool
	// Why says why a tag that is there approves nothing.
	Why string
}

// ApprovalOf reads the approval tags at time now; the zero Approval when
// there is none.
func ApprovalOf(tags map[string]string, now time.Time) Approval {
	v, ok := tags[ApprovedUntilTag]
	if !ok {
		return Approval{}
	}
	a := Approval{Reason: strings.TrimSpace(tags[ApprovalReasonTag])}
	until, err := time.Parse(time.RFC3339, strings.TrimSpace(v))
	switch {
	case err != nil:
		a.Why = ApprovedUntilTag + " is not an RFC 3339 time (2026-12-08T09:00:00Z): it approves nothing"
	case !until.After(now):
		a.Until, a.Expired = until, true
		a.Why = "the approval ran out at " + until.UTC().Format(time.RFC3339)
	case until.Sub(now) > MaxApproval:
		a.Until = until
		a.Why = "the approval runs until " + until.UTC().Format(time.RFC3339) + ", more than 7 days away: it approves nothing"
	case a.Reason == "":
		a.Until = until
		a.Why = "the approval gives no reason (" + ApprovalReasonTag + "): it approves nothing"
	default:
		a.Until, a.Valid = until, true
	}
	return a
}

// ApproveCommand is the command that approves the rules ids of a group in
// region until the time given, with a reason to write in; "" when an id
// or the Region is not of its form.
func ApproveCommand(region string, ids []string, until time.Time) string {
	if !awsid.IsRegion(region) || len(ids) == 0 || slices.ContainsFunc(ids, func(id string) bool { return !awsid.IsRuleID(id) }) {
		return ""
	}
	return cliPrefix + "create-tags --region " + region + " --resources " + strings.Join(ids, " ") +
		" --tags Key=" + ApprovedUntilTag + ",Value=" + until.UTC().Format(time.RFC3339) + " 'Key=" + ApprovalReasonTag + ",Value=WHY IT IS MEANT'"
}

// ReopenCommand is the command that would open the revoked ingress rules
// of group in region again (without their descriptions); "" when a value
// cannot be put in a command.
func ReopenCommand(region, group string, rules []Rule) string {
	perms, ok := cliPermissions(rules)
	if !ok || !awsid.IsRegion(region) || !awsid.IsGroupID(group) || len(perms) > maxCommand {
		return ""
	}
	return cliPrefix + byName["RevokeSecurityGroupIngress"].Inverse + " --region " + region + " --group-id " + group + " --ip-permissions " + perms
}

// SameContent reports whether listed, a rule as EC2 lists it now, allows
// what rule (a call's, with the same id) did: the same direction (a call
// that does not say counts as ingress), protocol, ports and source.
func SameContent(listed, rule Rule) bool { return keyOf(listed) == keyOf(rule) }
