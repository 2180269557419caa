package report

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// textBody is the plain-text body of a cleaned finding, in at most room
// bytes: each list shows at most maxLines lines and as many as fit, and
// counts the rest.
func textBody(f detect.Finding, room int) (string, error) {
	f = textInert(f)
	t := newText(f)
	if t.bare() > room && f.Undo != nil && f.Undo.Command != "" {
		t = newText(withoutUndoCommand(f))
	}
	var sizes [lists][]int
	for i, l := range t.lists {
		for _, s := range l.lines {
			sizes[i] = append(sizes[i], len(s))
		}
	}
	body := t.join(share(room-t.bare(), sizes))
	if len(body) > room {
		return "", fmt.Errorf("text body of %d bytes does not fit the %d bytes left of %s", len(body), room, limitText)
	}
	return body, nil
}

// text is a body in pieces: fixed text around the lists that are summarised
// when the finding is too large. In order: part 0 (the headline), rules,
// reasons, part 1 (undo), notes, part 2 (error, who, where), tags, part 3
// (when, triage, links).
type text struct {
	parts [4]string
	lists [lists]textList
}

// textList is one list of the body.
type textList struct {
	heading string   // the line before the list, if any
	lines   []string // the first maxLines lines, each ending in "\n"
	total   int      // how many items there are in all
	more    string   // what the rest are, after "… and 12 more "
}

func (l textList) write(b *strings.Builder, keep int) {
	if l.total == 0 {
		return
	}
	b.WriteString(l.heading)
	for _, s := range l.lines[:keep] {
		b.WriteString(s)
	}
	if keep < l.total {
		b.WriteString(moreLine(l.total-keep, l.more))
	}
}

// reserve is the size of the list without its lines, at most.
func (l textList) reserve() int {
	if l.total == 0 {
		return 0
	}
	return len(l.heading) + len(moreLine(l.total, l.more))
}

func moreLine(n int, more string) string {
	return "  … and " + thousands(n) + " more " + more + "\n"
}

// bare is the size of the body without the lines of its lists, at most.
func (t text) bare() int {
	n := 0
	for _, p := range t.parts {
		n += len(p)
	}
	for _, l := range t.lists {
		n += l.reserve()
	}
	return n
}

func (t text) join(keep [lists]int) string {
	var b strings.Builder
	b.WriteString(t.parts[0])
	t.lists[rulesList].write(&b, keep[rulesList])
	t.lists[reasonsList].write(&b, keep[reasonsList])
	b.WriteString(t.parts[1])
	t.lists[notesList].write(&b, keep[notesList])
	b.WriteString(t.parts[2])
	t.lists[tagsList].write(&b, keep[tagsList])
	b.WriteString(t.parts[3])
	return b.String()
}

// newText renders f, whose text is cleaned already (sanitize); the shorter
// cuts of one-line summaries are made here.
func newText(f detect.Finding) text {
	var t text
	var b strings.Builder
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(&b, "  %-16s%s\n", label+":", value)
		}
	}
	flush := func(i int) {
		t.parts[i] = b.String()
		b.Reset()
	}

	if fromSweep(f) {
		b.WriteString(sweepHeadline(f))
	} else {
		if w := revertWord(f); w != "" {
			b.WriteString(w + ": ")
		}
		fmt.Fprintf(&b, "%s: %s %s on %s by %s\n", strings.ToUpper(string(f.Severity)),
			clean.Line(f.Event.Name, maxShort), outcomeText(f.Outcome), clean.Line(targetLabel(f), 2*maxShort), clean.Line(who(f.Actor), maxShort))
	}
	if r := f.Reachability; r != nil {
		fmt.Fprintf(&b, "Reachability: %s: %s\n", r.Grade, clean.Line(r.Why, 4*maxShort))
	}
	if f.Automation != "" {
		fmt.Fprintf(&b, "Automation: made by trusted automation %s", f.Automation)
		if f.SeverityBeforeAutomation != "" {
			fmt.Fprintf(&b, " (severity lowered from %s)", f.SeverityBeforeAutomation)
		}
		b.WriteString("\n")
	}
	flush(0)

	mark := markOf(f)
	t.lists[rulesList] = newList("\nRules:\n", "rules like these", f.Rules, func(r detect.Rule) string {
		r.Description = defang(r.Description) // textInert
		return "  " + mark + " " + ruleText(r) + "\n"
	})
	t.lists[reasonsList] = newList("\nWhy "+string(f.Severity)+":\n", "reasons like these", f.Reasons, item)
	t.lists[notesList] = newList("\nNotes:\n", "notes like these", f.Notes, func(s string) string { return item(defang(s)) })

	if u := f.Undo; u != nil {
		b.WriteString("\nUndo:\n")
		if u.Command != "" {
			fmt.Fprintf(&b, "  %s\n", u.Command)
		}
		if u.Note != "" {
			fmt.Fprintf(&b, "  (%s)\n", u.Note)
		}
		if awsid.IsAccountID(u.Account) {
			fmt.Fprintf(&b, "  (run with credentials for account %s; check yours with: aws sts get-caller-identity)\n", u.Account)
		}
	}
	if lines := revertLines(f); len(lines) > 0 {
		b.WriteString("\nRevert:\n")
		for _, l := range lines {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	flush(1)

	if f.Error != nil {
		b.WriteString("\nError:\n")
		line("Code", f.Error.Code)
		line("Message", f.Error.Message)
	}

	a := f.Actor
	switch {
	case f.Action == detect.Resolved:
		a = detect.Actor{}
	case f.Action == detect.Exposure && (f.Sweep == nil || f.Sweep.Created == nil):
		b.WriteString("\nCreated by:\n  not known (see the notes)\n")
	case f.Action == detect.Exposure:
		b.WriteString("\nCreated by:\n")
	default:
		b.WriteString("\nWho:\n")
	}
	line("Identity type", a.Type)
	line("ARN", a.ARN)
	line("Account", a.AccountID)
	line("Principal ID", a.PrincipalID)
	line("User name", a.UserName)
	line("Access key", keyText(a))
	if a.Console {
		line("Console", "yes (AWS Management Console)")
	}
	line("Session issuer", a.SessionIssuerARN)
	line("MFA", mfaText(a.MFAAuthenticated))
	line("Source IP", a.SourceIP)
	line("User agent", a.UserAgent)
	line("Invoked by", a.InvokedBy)

	g := f.SecurityGroup
	b.WriteString("\nWhere:\n")
	line("Account", accountText(f.Event))
	line("Region", f.Event.Region)
	line("VPC", g.VPCID)
	if l := f.List; l != nil {
		line("Prefix list", clean.Line(strings.TrimPrefix(targetLabel(f), "prefix list "), 2*maxShort))
		line("Entries added", ids(l.Added))
		line("Removed", ids(l.Removed))
	}
	if b := f.BlockPublicAccess; b != nil {
		line("Block mode", defang(b.Mode))
		line("Excluded", defang(first(b.SubnetID, b.VPCID)))
		line("Exclusion", defang(strings.TrimSpace(b.ExclusionMode+" "+b.ExclusionID)))
	}
	if t := f.Tags; t != nil {
		line("Tagged", ids(t.Resources))
		var tags []string
		for _, tag := range t.Tags {
			// Each quoted: a value cannot pass for another tag.
			tags = append(tags, strconv.Quote(tag.Key)+"="+strconv.Quote(tag.Value))
		}
		line("Tags changed", defang(clean.Line(strings.Join(tags, ", "), 2*maxShort)))
	}
	if a := f.Attach; a != nil {
		line("Interface", clean.Line(a.NetworkInterfaceID, maxShort))
		line("Instance", clean.Line(a.InstanceID, maxShort))
		line("Groups set", ids(a.Groups))
	}
	if f.List == nil && f.Attach == nil || g.ID != "" {
		line("Security group", groupLabel(g))
	}
	line("Description", g.Description)
	if g.IsDefault != nil && *g.IsDefault {
		line("Default group", "yes (the VPC's default security group)")
	}
	if n := g.AttachedInterfaces; n != nil {
		line("Used by", fmt.Sprintf("%s network interface%s", thousands(*n), plural(*n)))
	}
	if c := f.Context; c != nil {
		line("Open on", ids(c.Interfaces))
		line("With groups", ids(c.Groups))
		line("Earlier rules", ids(c.Together))
	}
	flush(2)

	keys := slices.Sorted(maps.Keys(g.Tags))
	t.lists[tagsList] = newList("", "tags", keys, func(k string) string {
		return fmt.Sprintf("  %-16s%s\n", "Tag "+defang(clean.Line(k, maxShort))+":", defang(g.Tags[k])) // textInert
	})

	b.WriteString("\nWhen:\n")
	if fromSweep(f) {
		sweepWhen(f, line)
	} else {
		line("Time", f.Event.Time)
		line("Event ID", f.Event.ID)
		line("Request ID", f.Event.RequestID)
	}

	b.WriteString("\nTriage:\n")
	for i, s := range triage(f) {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, s)
	}

	if ls := links(f); len(ls) > 0 {
		b.WriteString("\n" + linksHeading(f) + "\n")
		for _, l := range ls {
			line(l.name, l.url)
		}
	}
	flush(3)
	return t
}

// textInert is a cleaned finding with the text an attacker chooses freely
// defanged (defang), so that a mail client makes no link of it: the user
// agent, the group's name and description, the error message and the
// account's name here; the rules' descriptions, the tags and the notes
// (which quote what was not understood) as newText renders them, only
// those shown. Ids, ARNs, principals' names, addresses, times, error codes,
// the reasons (detect's words around error codes, ranges and ports), the
// undo and the console links stay as they are, to be copied and clicked.
func textInert(f detect.Finding) detect.Finding {
	f.Actor.UserAgent = defang(f.Actor.UserAgent)
	f.SecurityGroup.Name, f.SecurityGroup.Description = defang(f.SecurityGroup.Name), defang(f.SecurityGroup.Description)
	if f.Error != nil {
		e := *f.Error
		e.Message = defang(e.Message)
		f.Error = &e
	}
	f.Event.AccountName = defang(f.Event.AccountName)
	if f.Reachability != nil {
		// Load balancer names are their owners'.
		r := *f.Reachability
		r.Why = defang(r.Why)
		f.Reachability = &r
	}
	if f.List != nil {
		l := *f.List
		l.ID, l.Name = defang(l.ID), defang(l.Name)
		l.Added, l.Removed = defangAll(l.Added), defangAll(l.Removed)
		f.List = &l
	}
	if f.Attach != nil {
		a := *f.Attach
		a.InstanceID, a.NetworkInterfaceID, a.Groups = defang(a.InstanceID), defang(a.NetworkInterfaceID), defangAll(a.Groups)
		f.Attach = &a
	}
	return f
}

// defangAll defangs each of list.
func defangAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = defang(s)
	}
	return out
}

// newList renders the first maxLines items of a list.
func newList[T any](heading, more string, items []T, render func(T) string) textList {
	l := textList{heading: heading, more: more, total: len(items)}
	for _, it := range items[:min(len(items), maxLines)] {
		l.lines = append(l.lines, render(it))
	}
	return l
}

// item is a line of a list of reasons or notes.
func item(s string) string { return "  - " + s + "\n" }

// withoutUndoCommand is f with its undo command replaced by a note saying
// it was left out: the last resort for fitting one message. The account to
// run a command in stays.
func withoutUndoCommand(f detect.Finding) detect.Finding {
	f.Undo = &detect.Undo{Note: undoLeftOut, Account: f.Undo.Account}
	return f
}

// accountText is the account the call was made in: its id, and its name in
// the organization when it was looked up (ACCOUNT_NAMES), "111122223333
// (prod-payments)". The name is cleaned already (sanitize).
func accountText(e detect.Event) string {
	switch {
	case e.AccountName == "":
		return e.AccountID
	case e.AccountID == "":
		return "(" + e.AccountName + ")"
	}
	return e.AccountID + " (" + e.AccountName + ")"
}

func outcomeText(o detect.Outcome) string {
	switch o {
	case detect.Failed:
		return "FAILED"
	case detect.DryRun:
		return "dry run (nothing changed)"
	}
	return "succeeded"
}

func keyText(a detect.Actor) string {
	switch {
	case a.AccessKeyID == "":
		return ""
	case a.CredentialType != "":
		return a.AccessKeyID + " (" + a.CredentialType + ")"
	}
	return a.AccessKeyID
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func mfaText(m *bool) string {
	switch {
	case m == nil:
		return ""
	case *m:
		return "yes"
	}
	return "no"
}

// ids lists ids, cleaned: the first five and a count.
func ids(list []string) string {
	const most = 5
	more := ""
	if len(list) > most {
		list, more = list[:most], fmt.Sprintf(" and %d more", len(list)-most)
	}
	return clean.Line(strings.Join(list, ", ")+more, 6*maxShort)
}
