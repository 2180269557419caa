package report

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// The chat format (NOTIFICATION_FORMAT=chat) is an AWS Chatbot ("Amazon Q
// Developer in chat applications") custom notification, which Chatbot
// renders in Slack, Microsoft Teams and Amazon Chime: a topic subscribed by
// a Chatbot channel shows it as a readable alert. Its text is the chat
// platform's markdown ("client-markdown"), so every value that came from
// CloudTrail or the account is made inert first (chatCode, chatText): it
// can form no link, mention or formatting.

// The limits of a chat notification (see chatLimits in README.md): Chatbot's
// documentation states none in what could be read of it, so these are the
// tightest limits of the chat platforms it renders into (Slack's header and
// section text).
const (
	chatTitle       = 150  // characters
	chatDescription = 3000 // characters
	chatStep        = 1000 // characters per next step
	chatSteps       = 10   // next steps
	chatKeywords    = 10
	chatKeyword     = 64  // characters
	chatContext     = 256 // characters per additionalContext value
)

// chat is a custom notification.
type chat struct {
	Version  string      `json:"version"`
	Source   string      `json:"source"`
	ID       string      `json:"id,omitempty"`
	Content  chatContent `json:"content"`
	Metadata chatMeta    `json:"metadata"`
}

type chatContent struct {
	TextType    string   `json:"textType"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	NextSteps   []string `json:"nextSteps,omitempty"`
	Keywords    []string `json:"keywords,omitempty"`
}

type chatMeta struct {
	ThreadID          string            `json:"threadId,omitempty"`
	Summary           string            `json:"summary"`
	EventType         string            `json:"eventType"`
	RelatedResources  []string          `json:"relatedResources,omitempty"`
	AdditionalContext map[string]string `json:"additionalContext,omitempty"`
}

// inert makes text inert in Slack's, Teams' and Chime's markdown: the
// three characters Slack reserves become entities (no <!channel>, <@U…> or
// <url|link>), "@" a full-width at sign (no @here), "://" is defanged
// (no autolinked URL), and backticks become quotes (a code span cannot be
// closed early).
var inert = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "@", atMark, "://", schemeMark, "`", "'")

// markup makes text inert in chat markdown outside a code span, before it
// is defanged: Slack's three reserved characters become entities, and the
// formatting characters look-alikes.
var markup = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "`", "'",
	"*", "∗", "_", "ˍ", "~", "∼", "[", "［", "]", "］", "|", "¦", "#", "＃")

// plainText makes s inert as chat plain text: markup, then defang (no
// link, host name or mention).
func plainText(s string) string { return defang(markup.Replace(s)) }

// within is s, cleaned, made inert by escape, in at most n runes of the
// result: the text is cut before it is escaped, so that no entity or look-
// alike is cut in half.
func within(s string, n int, escape func(string) string) string {
	k := n
	for k > 0 {
		e := escape(clean.Line(s, k))
		m := utf8.RuneCountInString(e)
		if m <= n {
			return e
		}
		k = min(k-1, k*n/m)
	}
	return ""
}

// chatCode is s as an inert code span of at most n runes between its
// backticks; "" is "".
func chatCode(s string, n int) string {
	if s == "" {
		return ""
	}
	return "`" + within(s, n, inert.Replace) + "`"
}

// chatText is s as inert plain text of at most n runes.
func chatText(s string, n int) string { return within(s, n, plainText) }

// chatBody is the custom notification of a cleaned finding, in at most room
// bytes.
func chatBody(f detect.Finding, room int) (string, error) {
	c := chat{
		Version: "1.0",
		Source:  "custom",
		ID:      chatID(f),
		Content: chatContent{
			TextType:    "client-markdown",
			Title:       chatTitleOf(f),
			Description: chatDescriptionOf(f),
			NextSteps:   chatNextSteps(f),
			Keywords:    chatKeywordsOf(f),
		},
		Metadata: chatMeta{
			Summary:           chatTitleOf(f),
			EventType:         "sgwatch." + string(f.Action),
			AdditionalContext: chatContextOf(f),
		},
	}
	if awsid.IsGroupID(f.SecurityGroup.ID) {
		// Changes to one group thread together, but a critical one starts
		// a message of its own in the channel: it must not land in a
		// thread an earlier, harmless change to the group began. So does
		// one that was critical before trusted automation lowered it.
		if !f.WasCritical() {
			c.Metadata.ThreadID = f.SecurityGroup.ID
		}
		if arn := groupARN(f); arn != "" {
			c.Metadata.RelatedResources = []string{arn}
		}
	}
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the text is inert already; keep it readable
	if err := enc.Encode(c); err != nil {
		return "", fmt.Errorf("encode chat notification: %w", err)
	}
	b := strings.TrimSuffix(buf.String(), "\n")
	if len(b) > room {
		return "", fmt.Errorf("chat notification of %d bytes does not fit the %d bytes left of %s", len(b), room, limitText)
	}
	return b, nil
}

// chatTitleOf is the subject as a title, "CRITICAL: sg-… modified by …",
// inert, in chatTitle runes.
func chatTitleOf(f detect.Finding) string {
	sub := subject(f)
	if i := strings.Index(sub, "] "); strings.HasPrefix(sub, "[") && i > 0 {
		sub = sub[1:i] + ": " + sub[i+2:]
	}
	return chatText(sub, chatTitle)
}

// chatID is the notification's id: the event's, or the exposure's rule
// key; "" when neither is well formed.
func chatID(f detect.Finding) string {
	switch {
	case awsid.IsEventID(f.Event.ID):
		return f.Event.ID
	case f.Sweep != nil && detect.IsRuleKey(f.Sweep.Key):
		return string(f.Action) + "-" + f.Sweep.Key
	}
	return ""
}

// chatDescriptionOf is the description: what happened, the rules, why this
// severity, who, where, when, notes and links, within chatDescription
// characters; the lists keep as many items as fit and count the rest.
func chatDescriptionOf(f detect.Finding) string {
	head := "*" + strings.ToUpper(string(f.Severity)) + "*: " + chatWhat(f) + "\n"
	var tail strings.Builder
	line := func(label, value string) {
		if value != "" {
			tail.WriteString("*" + label + "*: " + value + "\n")
		}
	}
	a := f.Actor
	if f.Action != detect.Resolved {
		who := chatCode(orText(a.ARN, who(a)), maxField)
		if f.Action == detect.Exposure && (f.Sweep == nil || f.Sweep.Created == nil) {
			who = "not known (see the notes)"
		}
		if a.Type != "" {
			who += " (" + chatText(a.Type, maxShort) + ")"
		}
		if a.SourceIP != "" {
			who += " from " + chatCode(a.SourceIP, maxShort)
		}
		if m := mfaText(a.MFAAuthenticated); m != "" {
			who += ", MFA " + m
		}
		if k := keyText(a); k != "" {
			who += ", key " + chatCode(k, maxShort)
		}
		label := "Who"
		if f.Action == detect.Exposure {
			label = "Created by"
		}
		line(label, who)
	}
	g := f.SecurityGroup
	where := "account " + chatCode(accountText(f.Event), maxField) + ", " + chatCode(f.Event.Region, maxShort)
	if g.VPCID != "" {
		where += ", VPC " + chatCode(g.VPCID, maxShort)
	}
	if n := g.AttachedInterfaces; n != nil {
		where += fmt.Sprintf(", used by %s network interface%s", thousands(*n), plural(*n))
	}
	line("Where", where)
	if f.Sweep != nil {
		line("Found at", chatCode(f.Sweep.FoundAt, maxShort))
		line("First seen", chatCode(f.Sweep.FirstSeen, maxShort))
	} else {
		line("When", chatCode(f.Event.Time, maxShort))
		line("Event ID", chatCode(f.Event.ID, maxShort*2))
	}
	for _, l := range links(f) {
		line(l.name, l.url) // built from validated values only: meant to link
	}

	// The lists share what the fixed parts leave.
	mark := markOf(f)
	lists := []struct {
		heading, more string
		items         []string
	}{
		{"*Rules*\n", "rules", mapItems(f.Rules, func(r detect.Rule) string { return mark + " " + chatCode(ruleText(r), 2*maxField) })},
		{"*Why " + string(f.Severity) + "*\n", "reasons", mapItems(f.Reasons, func(s string) string { return chatText(s, maxField) })},
		{"*Notes*\n", "notes", mapItems(f.Notes, func(s string) string { return chatText(s, maxField) })},
	}
	room := chatDescription - utf8.RuneCountInString(head) - utf8.RuneCountInString(tail.String())
	var body strings.Builder
	for _, l := range lists {
		all := fmt.Sprintf("• … and %s more %s\n", thousands(len(l.items)), l.more)
		if len(l.items) == 0 || utf8.RuneCountInString(l.heading+all) > room {
			continue // no room even to count them
		}
		room -= utf8.RuneCountInString(l.heading)
		body.WriteString(l.heading)
		for i, it := range l.items {
			s := "• " + it + "\n"
			more := fmt.Sprintf("• … and %s more %s\n", thousands(len(l.items)-i), l.more)
			// Keep room for the line that counts the rest of this list.
			if n := utf8.RuneCountInString(s); n+utf8.RuneCountInString(more) > room && i < len(l.items)-1 || n > room {
				body.WriteString(more) // fits: all did, and this is shorter
				room -= utf8.RuneCountInString(more)
				break
			}
			body.WriteString(s)
			room -= utf8.RuneCountInString(s)
		}
	}
	// Each value is bounded, so the fixed parts fit with room to spare; the
	// cut is a last guard.
	return clean.Cut(head+body.String()+tail.String(), chatDescription)
}

// chatWhat is the first line: what happened, and to which group.
func chatWhat(f detect.Finding) string {
	group := chatCode(targetLabel(f), 2*maxShort)
	switch f.Action {
	case detect.Exposure:
		return group + " exposes " + chatCode(target(f), maxShort) + " to the whole internet now (found by the exposure sweep)"
	case detect.Resolved:
		return group + " no longer exposes " + chatCode(target(f), maxShort) + " to the whole internet (resolved; found by the exposure sweep)"
	}
	if w := revertWord(f); w != "" {
		return w + ": " + chatText(f.Event.Name, maxShort) + " on " + group + " by " + chatCode(who(f.Actor), maxShort)
	}
	s := chatText(f.Event.Name, maxShort) + " " + outcomeText(f.Outcome) + " on " + group + " by " + chatCode(who(f.Actor), maxShort)
	if f.Automation != "" {
		s += " (trusted automation " + chatCode(f.Automation, maxField) + ")"
	}
	return s
}

// chatNextSteps are the triage steps and the undo.
func chatNextSteps(f detect.Finding) []string {
	var steps []string
	if u := f.Undo; u != nil {
		in := ""
		if awsid.IsAccountID(u.Account) {
			in = " (with credentials for account " + u.Account + ")"
		}
		switch {
		case u.Command != "" && len(u.Command) <= chatStep-64:
			// Built by detect from validated values only: shown whole.
			steps = append(steps, "Undo"+in+": `"+u.Command+"`")
		case u.Command != "":
			steps = append(steps, fmt.Sprintf("Undo%s: the command is %d characters long, too long for chat: it is in the e-mail (text) and JSON notifications", in, len(u.Command)))
		case u.Note != "":
			steps = append(steps, "Undo: "+chatText(u.Note, maxNote))
		}
	}
	// The revert first: its window is what a responder acts on. A line
	// that ends in ":" introduces the command that follows, shown whole.
	lines := revertLines(f)
	for i := 0; i < len(lines); i++ {
		if strings.HasSuffix(lines[i], ":") && i+1 < len(lines) && len(lines[i+1]) <= chatStep-len(lines[i])-8 {
			steps = append(steps, "Revert: "+chatText(lines[i], chatStep)+" `"+lines[i+1]+"`")
			i++
			continue
		}
		steps = append(steps, "Revert: "+chatText(lines[i], chatStep))
	}
	for _, s := range triage(f) {
		steps = append(steps, chatText(s, chatStep))
	}
	for i := range steps {
		steps[i] = clean.Cut(steps[i], chatStep)
	}
	if len(steps) > chatSteps {
		steps = steps[:chatSteps]
	}
	return steps
}

// chatKeywordsOf are the severity, action, account and Region.
func chatKeywordsOf(f detect.Finding) []string {
	var out []string
	for _, k := range []string{string(f.Severity), string(f.Action), f.Event.AccountID, f.Event.Region} {
		if k != "" {
			out = append(out, chatText(k, chatKeyword))
		}
	}
	return out[:min(len(out), chatKeywords)]
}

// chatContextOf is the additionalContext: what a filter or a custom action
// may read, each value inert.
func chatContextOf(f detect.Finding) map[string]string {
	m := map[string]string{
		"severity": string(f.Severity), "action": string(f.Action), "outcome": string(f.Outcome),
		"eventName": f.Event.Name, "eventId": f.Event.ID, "accountId": f.Event.AccountID, "region": f.Event.Region,
		"securityGroupId": f.SecurityGroup.ID, "actorArn": f.Actor.ARN,
	}
	for _, k := range slices.Collect(maps.Keys(m)) {
		if m[k] == "" {
			delete(m, k)
			continue
		}
		m[k] = chatText(m[k], chatContext)
	}
	if f.Undo != nil && f.Undo.Command != "" && len(f.Undo.Command) <= chatContext {
		// Built by detect from validated values only: verbatim, so that a
		// custom action can run it.
		m["undo"] = f.Undo.Command
	}
	return m
}

func mapItems[T any](items []T, f func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = f(it)
	}
	return out
}
