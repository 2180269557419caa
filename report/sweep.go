package report

import (
	"fmt"
	"time"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// The pieces of exposure and resolved findings (the sweep's) that differ
// from those of a CloudTrail record's.

// fromSweep reports whether f is the sweep's.
func fromSweep(f detect.Finding) bool {
	return f.Action == detect.Exposure || f.Action == detect.Resolved
}

// target is what an exposure's rule allows: "tcp/22".
func target(f detect.Finding) string {
	if len(f.Rules) == 0 {
		return "a rule"
	}
	return clean.Line(detect.Target(f.Rules[0]), maxShort)
}

// exposed is what an exposure's rule opens: "tcp/22 to the whole
// internet".
func exposed(f detect.Finding) string { return target(f) + " to the whole internet" }

// sweepSubject is the subject of an exposure or a resolved finding, e.g.
// "[CRITICAL] sg-0abc (web) exposes tcp/22 to the whole internet in
// 111122223333/eu-west-1 (found by sweep)"; the account and Region are
// left out when they do not fit, and then the group's name is shortened.
func sweepSubject(f detect.Finding) string {
	head := "[" + asciiUpper(string(f.Severity)) + "] "
	target := "a rule"
	if len(f.Rules) > 0 {
		target = clean.ASCII(detect.Target(f.Rules[0]), maxShort)
	}
	what, end := " exposes "+target+" to the whole internet", " (found by sweep)"
	if f.Action == detect.Resolved {
		what, end = " no longer exposes "+target+" to the internet", " (resolved by sweep)"
	}
	where := " in " + clean.ASCII(orUnknown(f.Event.AccountID), 16) + "/" + clean.ASCII(orUnknown(f.Event.Region), 20)
	if s := head + clean.ASCII(groupLabel(f.SecurityGroup), maxSubject) + what + where + end; len(s) <= maxSubject {
		return s
	}
	return clean.ASCII(head+shortLabel(f.SecurityGroup, maxSubject-len(head)-len(what)-len(end))+what+end, maxSubject)
}

// shortLabel is the group's label in at most room characters of ASCII,
// its id whole when it fits and its name shortened.
func shortLabel(g detect.SecurityGroup, room int) string {
	id := clean.ASCII(g.ID, maxShort)
	switch {
	case g.ID == "" || g.Name == "":
		return clean.ASCII(groupLabel(g), max(room, 3))
	case room >= len(id)+len(" (...)"):
		return id + " (" + clean.ASCII(g.Name, room-len(id)-len(" ()")) + ")"
	}
	return clean.ASCII(id, max(room, 3))
}

func asciiUpper(s string) string {
	b := []byte(clean.ASCII(s, 10))
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// sweepHeadline is the first line of the text body of a cleaned exposure
// or resolved finding.
func sweepHeadline(f detect.Finding) string {
	group := clean.Line(groupLabel(f.SecurityGroup), 2*maxShort)
	if f.Action == detect.Resolved {
		return fmt.Sprintf("%s: %s no longer exposes %s (resolved; found by the exposure sweep)\n", asciiUpper(string(f.Severity)), group, exposed(f))
	}
	return fmt.Sprintf("%s: %s exposes %s now (found by the exposure sweep)\n", asciiUpper(string(f.Severity)), group, exposed(f))
}

// sweepWhen is the "When" lines of a cleaned exposure or resolved finding.
func sweepWhen(f detect.Finding, line func(label, value string)) {
	w := f.Sweep
	if w == nil {
		return
	}
	line("Found at", w.FoundAt)
	line("First seen", w.FirstSeen)
	if c := w.Created; c != nil {
		line("Created", c.Time+" ("+c.EventName+")")
		line("Open for", age(c.Time, w.FoundAt))
		line("Event ID", c.EventID)
	} else if w.FirstSeen != "" {
		line("Open for", "at least "+age(w.FirstSeen, w.FoundAt))
	}
	line("Rule key", w.Key)
}

// age is how long it is from one RFC 3339 time to another, in days and
// hours ("3 days 4 hours", "under an hour"); "" when either does not read.
func age(from, to string) string {
	a, err1 := time.Parse(time.RFC3339, from)
	b, err2 := time.Parse(time.RFC3339, to)
	if err1 != nil || err2 != nil || b.Before(a) {
		return ""
	}
	d := b.Sub(a)
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	switch {
	case days == 0 && hours == 0:
		return "under an hour"
	case days == 0:
		return fmt.Sprintf("%d hour%s", hours, plural(hours))
	case hours == 0:
		return fmt.Sprintf("%d day%s", days, plural(days))
	}
	return fmt.Sprintf("%d day%s %d hour%s", days, plural(days), hours, plural(hours))
}

// sweepTriage is the triage of an exposure or a resolved finding.
func sweepTriage(f detect.Finding) []string {
	var steps []string
	add := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		steps = append(steps, clean.Line(s, len(s)))
	}
	group := clean.Line(f.SecurityGroup.ID, maxShort)
	if f.Action == detect.Resolved {
		add("No action needed: %s no longer exposes %s.", group, exposed(f))
		if f.Sweep != nil && f.Sweep.FirstSeen != "" {
			add("It was open since at least %s: check what used the group then for signs of access from the internet (VPC flow logs, the instances' logs).", clean.Line(f.Sweep.FirstSeen, maxShort))
		}
		return steps
	}
	if f.Undo != nil && f.Undo.Command != "" {
		add("Decide now whether %s should be open to the whole internet; if not, run the undo command above.", target(f))
	} else {
		add("Decide now whether %s should be open to the whole internet; if not, remove the rule (the undo note above shows how to list the group's rules).", target(f))
	}
	a := f.Actor
	switch {
	case f.Sweep != nil && f.Sweep.Created != nil:
		add("Ask %s, who created the rule, why; if they did not, treat their credentials as compromised.", clean.Line(who(a), maxShort))
	default:
		add("Find who opened it: the group's owner or tags, AWS Config's history of %s, or CloudTrail (it keeps 90 days of events).", group)
	}
	switch n := f.SecurityGroup.AttachedInterfaces; {
	case n == nil:
		add("Find what uses the group (its network interfaces could not be counted) and check it for signs of access from the internet (VPC flow logs, the instances' logs).")
	case *n > 0:
		add("Check the %s network interface%s that use the group for signs of access from the internet (VPC flow logs, the instances' logs).", thousands(*n), plural(*n))
	default:
		add("No network interface uses the group now: check that nothing was attached to it while it was open.")
	}
	return steps
}
