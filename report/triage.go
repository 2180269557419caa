package report

import (
	"fmt"
	"strings"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// triage returns the steps a responder should take for f, most urgent
// first, each one clean line. They depend on the kind of finding:
//
//   - a dry run, a failed call, a revoke that matched no rule: low
//     urgency, nothing changed;
//   - a denied call: who tried, what else they tried, should they have;
//   - world-open critical ingress: apply the undo now, then find who and why;
//   - the root user: lock it down (MFA, access keys, who holds it);
//   - trusted automation: which pipeline run or stack, which change request;
//   - anyone else: confirm with them;
//
// followed, for a change that took effect, by what to check of the
// credential used: the console session, or the access key.
func triage(f detect.Finding) []string {
	steps := triageSteps(f)
	if s := revertStep(f); s != "" && len(steps) > 0 && strings.HasPrefix(steps[0], "Now: ") {
		steps[0] = s // the revert changes what to do first
	}
	return steps
}

func triageSteps(f detect.Finding) []string {
	if fromSweep(f) {
		return sweepTriage(f)
	}
	a := f.Actor
	name := clean.Line(who(a), maxShort)
	if a.SourceIP != "" {
		name += " from " + clean.Line(a.SourceIP, maxShort)
	}
	var steps []string
	add := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		steps = append(steps, clean.Line(s, len(s)))
	}
	root := a.Type == "Root"

	switch {
	case f.Outcome == detect.DryRun:
		add("Low urgency: a dry run changes nothing; %s checked whether they may make this call.", name)
		add("Confirm with them that the real change is planned and approved: it usually follows soon.")
	case denied(f):
		add("Find who tried: %s, denied with %s.", name, clean.Line(f.Error.Code, maxShort))
		add("In CloudTrail, look up what else %s tried%s, above all other denied calls: a run of them is someone probing what the credentials allow.",
			credential(a), around(f))
		add("Decide whether this principal should change security groups at all; if not, find out why it tried (stolen credentials, a misconfigured tool).")
	case nothingMatched(f):
		add("Low urgency: the revoke matched no rule, so nothing changed.")
		add("Check with %s which rule they meant to remove: it may still be open under another protocol, port or source (list the group's rules).", name)
	case f.Outcome == detect.Failed:
		code := "no error code"
		if f.Error != nil && f.Error.Code != "" {
			code = clean.Line(f.Error.Code, maxShort)
		}
		add("Low urgency: the call failed (%s), so nothing changed.", code)
		add("Check with %s whether they retried, and if so look at the call that followed.", name)
	default:
		if worldOpen(f) {
			switch {
			case f.Attach != nil:
				add("Now: set the interface's groups back, or take the open group off it (the undo note above says how), to close the host to the internet before anything else.")
			case f.List != nil && f.Undo != nil && f.Undo.Command != "":
				add("Now: run the undo command above, to take the entries out of the list (and so out of every group that names it) before anything else.")
			case f.Undo != nil && f.Undo.Command != "":
				add("Now: run the undo command above, to close the group to the internet before anything else.")
			default:
				add("Now: remove the rules open to the whole internet (the undo note above shows how to list the group's rules).")
			}
		}
		switch {
		case root:
		case f.Automation != "":
			add("Made by trusted automation %s: find the pipeline run or stack that made it (CloudFormation stack events, the Terraform or CI run) and the change request that approved it.",
				clean.Line(f.Automation, maxField))
			add("If no run or change request matches, treat it as unapproved: someone used the automation's credentials.")
		case worldOpen(f):
			add("Then find out who made it and why: ask %s; if they did not, treat their credentials as compromised.", name)
		default:
			add("Confirm with %s that they made this change and meant to; if they did not, treat their credentials as compromised.", name)
		}
	}

	if root {
		add("Lock down the root user, which should make no day-to-day changes: check that it has MFA, find out who holds its credentials%s.",
			fromRoot(f))
		if a.CredentialType == detect.LongTerm {
			add("Delete the root access key %s (root user, Security credentials): root should have no access keys.", clean.Line(a.AccessKeyID, maxShort))
		} else {
			add("Check that the root user has no access keys (IAM credential report), and delete any.")
		}
		return steps
	}
	if f.Outcome != detect.Succeeded {
		return steps
	}
	switch {
	case a.Console:
		add("Console use: review %s's sign-in (the ConsoleLogin event before this call, its source IP) and whether it used MFA (%s).",
			clean.Line(who(a), maxShort), orText(mfaText(a.MFAAuthenticated), "not recorded"))
	case a.CredentialType == detect.LongTerm:
		add("Long-term access key %s: if the change was not expected, deactivate and rotate it, and review its other calls in CloudTrail (filter on the access key id).",
			clean.Line(a.AccessKeyID, maxShort))
	case a.CredentialType == detect.Temporary:
		add("Temporary credentials %s%s: review the session's other calls in CloudTrail (filter on the access key id); if they are not expected, revoke the role's active sessions.",
			clean.Line(a.AccessKeyID, maxShort), issuer(a))
	default:
		add("Review the other calls of %s in CloudTrail%s.", clean.Line(who(a), maxShort), around(f))
	}
	return steps
}

// worldOpen reports whether f is critical (before automation lowered it, if
// it did) and adds ingress from the whole internet: then closing it comes
// first.
func worldOpen(f detect.Finding) bool {
	if !f.WasCritical() {
		return false
	}
	if f.Outcome != detect.Succeeded || marker(f.Event.Name) == "-" {
		return false
	}
	for _, r := range f.Rules {
		if r.Direction != detect.Egress && !r.Unmatched && (r.Exposure != "" || detect.WholeInternet(r)) {
			return true
		}
	}
	return false
}

// nothingMatched reports whether f is a revoke whose every rule did not
// exist (Unmatched).
func nothingMatched(f detect.Finding) bool {
	if f.Outcome != detect.Succeeded || len(f.Rules) == 0 {
		return false
	}
	for _, r := range f.Rules {
		if !r.Unmatched {
			return false
		}
	}
	return true
}

// credential names the credential a call was made with, for a CloudTrail
// search: the access key, else the principal.
func credential(a detect.Actor) string {
	switch {
	case a.AccessKeyID != "":
		return "access key " + clean.Line(a.AccessKeyID, maxShort)
	case a.ARN != "":
		return clean.Line(a.ARN, maxField)
	}
	return clean.Line(who(a), maxShort)
}

func issuer(a detect.Actor) string {
	if a.SessionIssuerARN == "" {
		return ""
	}
	return " (a session of " + clean.Line(a.SessionIssuerARN, maxField) + ")"
}

// around says when the call was made, for a CloudTrail search, or "".
func around(f detect.Finding) string {
	if f.Event.Time == "" {
		return ""
	}
	return " around " + clean.Line(f.Event.Time, maxShort)
}

// fromRoot says where the root user's call came from, for the lock-down step.
func fromRoot(f detect.Finding) string {
	if f.Actor.SourceIP == "" {
		return ""
	}
	return " and who used it from " + clean.Line(f.Actor.SourceIP, maxShort)
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
