// Package report renders a finding as a triage notification: an SNS subject
// line, a plain-text body for email and chat, a JSON body for machines, and
// the message attributes subscribers filter on. Every piece of text that
// came from CloudTrail is cleaned first, so none of it can forge a line,
// break the subject, or hide behind bidirectional overrides.
package report

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/sgwatch/sgwatch/detect"
)

// Format is the body format of a notification.
type Format string

// The body formats.
const (
	Text Format = "text"
	JSON Format = "json"
)

// ParseFormat returns the format named s; "" is Text.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "text":
		return Text, nil
	case "json":
		return JSON, nil
	}
	return "", fmt.Errorf("unknown notification format %q (want text or json)", s)
}

// MaxSubject is the longest subject SNS accepts.
const MaxSubject = 100

// MaxMessage is the largest SNS message, attributes included.
const MaxMessage = 256 * 1024

// maxRuleLines bounds the rule lines of a text body; the rest are counted.
const maxRuleLines = 100

// Notification is what one finding publishes.
type Notification struct {
	Subject    string
	Body       string
	Attributes []Attribute
}

// Attribute is a message attribute, always of type String.
type Attribute struct {
	Name, Value string
}

// Render builds the notification for f in the given body format.
func Render(f detect.Finding, format Format) (Notification, error) {
	n := Notification{Subject: Subject(f), Attributes: Attributes(f)}
	room := MaxMessage - len(n.Subject)
	for _, a := range n.Attributes {
		room -= len(a.Name) + len(a.Value) + len("String")
	}
	switch format {
	case JSON:
		s := Sanitize(f)
		total := len(s.Rules)
		for {
			b, err := json.Marshal(s)
			if err != nil {
				return Notification{}, fmt.Errorf("encode finding: %w", err)
			}
			if len(b) <= room || len(s.Rules) == 0 {
				n.Body = string(b)
				break
			}
			// Too large for one SNS message: keep the first half of the
			// rules that are left and say so.
			s.Rules = s.Rules[:len(s.Rules)/2]
			if s.Undo != nil && s.Undo.Command != "" {
				s.Undo = &detect.Undo{Note: "the undo command is left out to fit SNS's 256 KiB message limit; build it from the CloudTrail event"}
			}
			s.Reasons = append(f.Reasons[:len(f.Reasons):len(f.Reasons)],
				fmt.Sprintf("notification truncated: shows %d of %d rules to fit SNS's 256 KiB message limit", len(s.Rules), total))
		}
	default:
		n.Body = Body(f)
	}
	if len(n.Body) > room {
		return Notification{}, fmt.Errorf("notification of %d bytes exceeds SNS's %d-byte message limit", len(n.Body), MaxMessage)
	}
	return n, nil
}

// Subject is the SNS subject: printable ASCII, at most 100 characters,
// starting with the severity, e.g.
// "[CRITICAL] sg-0abc (web) modified by ops-admin in 111122223333/eu-west-1".
// Long names are shortened so that the account and region always fit.
func Subject(f detect.Finding) string {
	head := "[" + strings.ToUpper(string(f.Severity)) + "] "
	mid := " " + verb(f) + " by "
	tail := " in " + ASCII(orUnknown(f.Event.AccountID), 16) + "/" + ASCII(orUnknown(f.Event.Region), 20)
	room := MaxSubject - len(head) - len(mid) - len(tail)
	label := groupLabel(f.SecurityGroup)
	actor := ASCII(who(f.Actor), max(room/3, room-len(label)))
	group := ASCII(label, room-len(actor))
	return ASCII(head+group+mid+actor+tail, MaxSubject)
}

func verb(f detect.Finding) string {
	switch {
	case f.Outcome == detect.DryRun:
		return string(f.Action) + " dry run"
	case f.Outcome == detect.Failed && f.Error != nil && detect.AuthFailure(f.Error.Code):
		return string(f.Action) + " DENIED"
	case f.Outcome == detect.Failed:
		return string(f.Action) + " FAILED"
	}
	switch f.Action {
	case detect.Create:
		return "created"
	case detect.Delete:
		return "deleted"
	}
	return "modified"
}

// Attributes are the message attributes of every publish, for subscription
// filter policies. Values are never empty: SNS rejects empty attributes.
func Attributes(f detect.Finding) []Attribute {
	v := func(s string) string { return ASCII(orUnknown(s), 256) }
	return []Attribute{
		{"severity", v(string(f.Severity))},
		{"action", v(string(f.Action))},
		{"outcome", v(string(f.Outcome))},
		{"eventName", v(f.Event.Name)},
		{"accountId", v(f.Event.AccountID)},
		{"region", v(f.Event.Region)},
		{"securityGroupId", v(f.SecurityGroup.ID)},
		{"actorType", v(f.Actor.Type)},
	}
}

// Body is the plain-text notification body.
func Body(f detect.Finding) string {
	var b strings.Builder
	c := func(s string) string { return Clean(s, maxField) }
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(&b, "  %-16s%s\n", label+":", c(value))
		}
	}

	fmt.Fprintf(&b, "%s: %s %s on %s by %s\n", strings.ToUpper(string(f.Severity)),
		Clean(f.Event.Name, maxShort), outcomeText(f.Outcome), Clean(groupLabel(f.SecurityGroup), 2*maxShort), Clean(who(f.Actor), maxShort))

	if f.Automation != "" {
		fmt.Fprintf(&b, "Automation: made by trusted automation %s\n", c(f.Automation))
	}

	if len(f.Rules) > 0 {
		b.WriteString("\nRules:\n")
		mark := marker(f.Event.Name)
		for i, r := range f.Rules {
			if i == maxRuleLines {
				fmt.Fprintf(&b, "  … and %d more rules (see the finding JSON)\n", len(f.Rules)-i)
				break
			}
			fmt.Fprintf(&b, "  %s %s\n", mark, ruleText(r))
		}
	}

	if len(f.Reasons) > 0 {
		fmt.Fprintf(&b, "\nWhy %s:\n", f.Severity)
		for _, r := range f.Reasons {
			fmt.Fprintf(&b, "  - %s\n", c(r))
		}
	}

	if u := f.Undo; u != nil {
		b.WriteString("\nUndo:\n")
		if u.Command != "" {
			// Built only from validated values, so never cut: it must paste whole.
			fmt.Fprintf(&b, "  %s\n", Clean(u.Command, len(u.Command)))
		}
		if u.Note != "" {
			fmt.Fprintf(&b, "  (%s)\n", Clean(u.Note, 2*maxField))
		}
	}

	if len(f.Notes) > 0 {
		b.WriteString("\nNotes:\n")
		for _, n := range f.Notes {
			fmt.Fprintf(&b, "  - %s\n", c(n))
		}
	}

	if f.Error != nil {
		b.WriteString("\nError:\n")
		line("Code", f.Error.Code)
		line("Message", f.Error.Message)
	}

	a := f.Actor
	b.WriteString("\nWho:\n")
	line("Identity type", a.Type)
	line("ARN", a.ARN)
	line("Account", a.AccountID)
	line("Principal ID", a.PrincipalID)
	line("User name", a.UserName)
	line("Access key", keyText(a.AccessKeyID))
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
	line("Account", f.Event.AccountID)
	line("Region", f.Event.Region)
	line("VPC", g.VPCID)
	line("Security group", groupLabel(g))
	line("Description", g.Description)
	if g.IsDefault != nil && *g.IsDefault {
		line("Default group", "yes (the VPC's default security group)")
	}
	if n := g.AttachedInterfaces; n != nil {
		line("Used by", fmt.Sprintf("%d network interface%s", *n, plural(*n)))
	}
	for _, k := range slices.Sorted(maps.Keys(g.Tags)) {
		line("Tag "+Clean(k, maxShort), g.Tags[k])
	}

	b.WriteString("\nWhen:\n")
	line("Time", f.Event.Time)
	line("Event ID", f.Event.ID)
	line("Request ID", f.Event.RequestID)

	b.WriteString("\nTriage:\n")
	fmt.Fprintf(&b, "  1. Determine who made the call: %s", Clean(who(f.Actor), maxShort))
	if a.SourceIP != "" {
		fmt.Fprintf(&b, " from %s", Clean(a.SourceIP, maxShort))
	}
	b.WriteString(".\n")
	b.WriteString("  2. Contact them and confirm they made this change and meant to.\n")
	b.WriteString("  3. If they did not make it, rotate their credentials")
	if a.AccessKeyID != "" {
		fmt.Fprintf(&b, " (access key %s)", Clean(a.AccessKeyID, maxShort))
	}
	b.WriteString(" and investigate the other API calls made with them in CloudTrail.\n")

	links := Links(f)
	if len(links) > 0 {
		b.WriteString("\nLinks:\n")
		for _, l := range links {
			line(l.Name, l.URL)
		}
	}
	return b.String()
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

func marker(event string) string {
	switch {
	case strings.HasPrefix(event, "Authorize"):
		return "+"
	case strings.HasPrefix(event, "Revoke"):
		return "-"
	}
	return "~"
}

// ruleText is one rule on one line:
// "ingress tcp/22 from 0.0.0.0/0 (whole internet) [sgr-1] "ssh"".
func ruleText(r detect.Rule) string {
	var b strings.Builder
	if r.Direction != "" {
		b.WriteString(string(r.Direction) + " ")
	}
	src := r.Source()
	switch {
	case src == "" && r.Protocol == "" && r.RuleID != "":
		b.WriteString("rule " + Clean(r.RuleID, maxShort))
	default:
		b.WriteString(Clean(detect.Target(r), maxShort))
		if src != "" {
			dir := " from "
			if r.Direction == detect.Egress {
				dir = " to "
			}
			b.WriteString(dir + Clean(src, maxShort) + sourceKind(r))
		}
		if r.RuleID != "" {
			b.WriteString(" [" + Clean(r.RuleID, maxShort) + "]")
		}
	}
	if r.Description != "" {
		b.WriteString(` "` + Clean(r.Description, maxField) + `"`)
	}
	return b.String()
}

func sourceKind(r detect.Rule) string {
	switch {
	case r.PrefixListID != "":
		return " (prefix list)"
	case r.ReferencedGroupID != "":
		return " (security group)"
	}
	if detect.WholeInternet(r) {
		return " (whole internet)"
	}
	return ""
}

// who names the actor as briefly as the record allows.
func who(a detect.Actor) string {
	switch {
	case a.Type == "Root":
		return "root"
	case a.UserName != "":
		return a.UserName
	case a.ARN != "":
		return a.ARN[strings.LastIndexAny(a.ARN, "/:")+1:]
	case a.InvokedBy != "":
		return a.InvokedBy
	}
	return orUnknown(a.Type)
}

func groupLabel(g detect.SecurityGroup) string {
	switch {
	case g.ID != "" && g.Name != "":
		return g.ID + " (" + g.Name + ")"
	case g.ID != "":
		return g.ID
	case g.Name != "":
		return g.Name
	}
	return "unknown group"
}

func keyText(id string) string {
	switch {
	case strings.HasPrefix(id, "AKIA"):
		return id + " (long-term)"
	case strings.HasPrefix(id, "ASIA"):
		return id + " (temporary)"
	}
	return id
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

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Link is a console link for a finding.
type Link struct {
	Name, URL string
}

var (
	eventRE = regexp.MustCompile(`^[0-9a-fA-F-]{8,64}$`)
)

// Links returns console links to the CloudTrail event and the security
// group, for the values that are well formed (links are never built from
// arbitrary text).
func Links(f detect.Finding) []Link {
	region := f.Event.Region
	if !detect.IsRegion(region) {
		return nil
	}
	host := region + ".console.aws.amazon.com"
	switch {
	case strings.HasPrefix(region, "cn-"):
		host = region + ".console.amazonaws.cn"
	case strings.HasPrefix(region, "us-gov-"):
		host = "console.amazonaws-us-gov.com"
	}
	q := "?region=" + url.QueryEscape(region)
	var links []Link
	if eventRE.MatchString(f.Event.ID) {
		links = append(links, Link{"CloudTrail", "https://" + host + "/cloudtrailv2/home" + q + "#/events/" + f.Event.ID})
	}
	if detect.IsGroupID(f.SecurityGroup.ID) {
		links = append(links, Link{"Security group", "https://" + host + "/ec2/home" + q + "#SecurityGroup:groupId=" + f.SecurityGroup.ID})
	}
	return links
}

// Sanitize returns a copy of f with every string from the record cleaned,
// for the JSON body.
func Sanitize(f detect.Finding) detect.Finding {
	c := func(s *string) { *s = Clean(*s, maxField) }
	c(&f.Event.ID)
	c(&f.Event.Name)
	c(&f.Event.Time)
	c(&f.Event.Region)
	c(&f.Event.AccountID)
	c(&f.Event.RequestID)
	a := &f.Actor
	for _, s := range []*string{&a.Type, &a.ARN, &a.AccountID, &a.PrincipalID, &a.UserName,
		&a.AccessKeyID, &a.SessionIssuerARN, &a.SourceIP, &a.UserAgent, &a.InvokedBy} {
		c(s)
	}
	g := &f.SecurityGroup
	for _, s := range []*string{&g.ID, &g.Name, &g.VPCID, &g.Description} {
		c(s)
	}
	f.Reasons = append([]string(nil), f.Reasons...)
	for i := range f.Reasons {
		c(&f.Reasons[i])
	}
	f.Rules = append([]detect.Rule(nil), f.Rules...)
	for i := range f.Rules {
		r := &f.Rules[i]
		for _, s := range []*string{&r.Protocol, &r.CIDRIPv4, &r.CIDRIPv6, &r.PrefixListID,
			&r.ReferencedGroupID, &r.Description, &r.RuleID} {
			c(s)
		}
	}
	if f.Error != nil {
		e := *f.Error
		c(&e.Code)
		c(&e.Message)
		f.Error = &e
	}
	c(&f.Automation)
	if f.Undo != nil {
		u := *f.Undo
		u.Command = Clean(u.Command, len(u.Command))
		u.Note = Clean(u.Note, 2*maxField)
		f.Undo = &u
	}
	f.Notes = append([]string(nil), f.Notes...)
	for i := range f.Notes {
		c(&f.Notes[i])
	}
	if f.SecurityGroup.Tags != nil {
		tags := make(map[string]string, len(f.SecurityGroup.Tags))
		for k, v := range f.SecurityGroup.Tags {
			tags[Clean(k, maxField)] = Clean(v, maxField)
		}
		f.SecurityGroup.Tags = tags
	}
	return f
}

// CheckSubject returns what is wrong with a subject line under SNS's rules
// and sgwatch's ("" when nothing): at most 100 printable ASCII characters,
// starting with a bracketed severity.
func CheckSubject(s string) string {
	switch {
	case len(s) == 0:
		return "empty"
	case len(s) > MaxSubject:
		return fmt.Sprintf("%d characters, more than %d", len(s), MaxSubject)
	case !isPlain(s):
		return "not printable ASCII"
	}
	for _, sev := range []detect.Severity{detect.Info, detect.Low, detect.Medium, detect.High, detect.Critical} {
		if strings.HasPrefix(s, "["+strings.ToUpper(string(sev))+"] ") {
			return ""
		}
	}
	return "does not start with [SEVERITY]"
}
