package report

// The opt-in revert in a notification: what it will do or did (a line
// each), and its commands, which are built by package detect from
// validated values only and shown whole.

import (
	"strings"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// revertLines say what the revert of f will do or did, a line each, its
// commands on lines of their own after a line that ends in ":".
func revertLines(f detect.Finding) []string {
	v := f.Revert
	if v == nil {
		return nil
	}
	rules := clean.Line(strings.Join(v.Rules, ", "), 8*maxShort)
	at := clean.Line(v.At, maxShort)
	why := clean.Line(v.Why, maxNote)
	var out []string
	switch v.Status {
	case detect.RevertScheduled:
		out = append(out, "will be reverted at "+at+" unless approved: "+rules)
		if v.Approve != "" {
			out = append(out, "to approve for 24 h, with your reason (a tag on the rules, or on the group for all its rules; at most 7 days):", v.Approve)
		}
	case detect.RevertNow:
		out = append(out, "being reverted now: "+rules+"; a reverted or revert-failed notification follows")
		if why != "" {
			out = append(out, "("+why+")")
		}
	case detect.RevertDone:
		out = append(out, "revoked at "+at+": "+rules)
		if v.Reread != "" {
			out = append(out, "re-read: "+clean.Line(v.Reread, maxNote))
		}
		if v.Reopen != "" {
			out = append(out, "to open them again (without their descriptions):", v.Reopen)
		}
	case detect.RevertGone:
		out = append(out, "gone already at "+at+", nothing revoked: "+rules)
	case detect.RevertFailure:
		out = append(out, "FAILED at "+at+": "+rules+": "+why)
	case detect.NotReverted:
		out = append(out, "not reverted: "+why)
	case detect.RevertKept:
		out = append(out, "left open at "+at+": "+why)
	}
	return out
}

// revertStep is the first triage step when the revert changes it; "" when
// it does not (a failed revert: run the undo command, as always).
func revertStep(f detect.Finding) string {
	v := f.Revert
	if v == nil {
		return ""
	}
	at := clean.Line(v.At, maxShort)
	switch v.Status {
	case detect.RevertDone:
		return "Closed: sgwatch revoked the rules open to the whole internet and read the group again (see Revert); open them again only if they were meant, with the command there."
	case detect.RevertGone:
		return "Closed already: the rules were gone when sgwatch's revert looked; nothing was revoked."
	case detect.RevertScheduled:
		return "Now: if it is meant, approve it with the command under Revert before " + at + "; if not, run the undo command above now rather than wait for the revert at " + at + "."
	case detect.RevertNow:
		return "sgwatch is reverting it now: a reverted or revert-failed notification follows; if none does within minutes, run the undo command above."
	}
	return ""
}

// revertWord is what a revert's finding says first, in its subject and
// its headline ("REVERTED"); "" for other findings.
func revertWord(f detect.Finding) string {
	switch {
	case f.Action == detect.Reverted && f.Revert != nil && f.Revert.Status == detect.RevertGone:
		return "GONE BEFORE REVERT"
	case f.Action == detect.Reverted:
		return "REVERTED"
	case f.Action == detect.RevertFailed:
		return "REVERT FAILED"
	case f.Revert != nil && f.Revert.Status == detect.RevertKept:
		return "NOT REVERTED"
	}
	return ""
}
