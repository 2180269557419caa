package report

import (
	"strings"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// assumedIngress is the direction shown for a rule whose call does not say
// (ModifySecurityGroupRules without a lookup): it is scored as ingress.
const assumedIngress = "ingress (assumed)"

// marker starts a rule line: "+" for an authorize, "-" for a revoke, "~"
// for a modification or a description update.
func marker(event string) string {
	c, _ := detect.Lookup(event)
	switch c.Effect {
	case detect.AddsRules:
		return "+"
	case detect.RemovesRules:
		return "-"
	case detect.AttachesGroups, detect.ChangesList, detect.ChangesBlockPublicAccess:
		// No rule changed: these are the rules the change left open.
		return "!"
	}
	return "~"
}

// markOf is the mark of f's rules: its call's (marker), "!" for an
// exposure or a revert that failed, "-" for a resolution or a revert.
func markOf(f detect.Finding) string {
	switch f.Action {
	case detect.Exposure, detect.RevertFailed:
		return "!"
	case detect.Resolved, detect.Reverted:
		return "-"
	}
	return marker(f.Event.Name)
}

// ruleText is one cleaned rule on one line:
// `ingress tcp/22 from 0.0.0.0/0 (whole internet) [sgr-1] "ssh"`. The
// parenthesis says why a source is the whole internet (Exposure), or that a
// revoke matched no rule.
func ruleText(r detect.Rule) string {
	var b strings.Builder
	switch r.Direction {
	case "":
		b.WriteString(assumedIngress + " ")
	default:
		b.WriteString(string(r.Direction) + " ")
	}
	src := r.Source()
	switch {
	case src == "" && r.Protocol == "" && r.RuleID != "":
		b.WriteString("rule " + clean.Line(r.RuleID, maxShort))
		b.WriteString(sourceKind(r))
	default:
		b.WriteString(clean.Line(detect.Target(r), maxShort))
		if src != "" {
			dir := " from "
			if r.Direction == detect.Egress {
				dir = " to "
			}
			b.WriteString(dir + clean.Line(src, maxShort))
		}
		b.WriteString(sourceKind(r))
		if r.RuleID != "" {
			b.WriteString(" [" + clean.Line(r.RuleID, maxShort) + "]")
		}
	}
	if r.Description != "" {
		b.WriteString(` "` + r.Description + `"`)
	}
	return b.String()
}

// groupOwner says whose a referenced security group is: "security group"
// of the account of the change (no owner), "security group of account
// 444455556666", or, for an owner that is not an account id, that text
// cleaned and marked as such.
func groupOwner(owner string) string {
	switch {
	case owner == "":
		return "security group"
	case awsid.IsAccountID(owner):
		return "security group of account " + owner
	}
	return `security group of account "` + defang(clean.Line(owner, 24)) + `" (not a 12-digit account id)`
}

// sourceKind is the parenthesis after a rule's source, or "".
func sourceKind(r detect.Rule) string {
	switch {
	case r.Unmatched:
		return " (no such rule: nothing revoked)"
	case r.Exposure != "":
		return " (" + r.Exposure + ")"
	case r.PrefixListID != "":
		return " (prefix list)"
	case r.ReferencedGroupID != "":
		return " (" + groupOwner(r.ReferencedGroupOwnerID) + ")"
	case detect.WholeInternet(r):
		return " (whole internet)"
	}
	return ""
}
