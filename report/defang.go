package report

import "strings"

// Notifications are read in clients that link whatever looks like a link:
// mail clients link URLs, "www." and other host names and e-mail
// addresses; Slack, Teams and Chime link those too, and turn <!channel>,
// @here and [text](url) into mentions and links. Text an attacker chose (a
// user agent, a group's name or description, a rule's description, a tag,
// an error message, a value quoted in a note) is defanged before it is
// shown as plain text, the same way in the text and chat formats: defang
// is the one home of it.

// The marks a defanged text shows.
const (
	schemeMark = "[:]//"  // a scheme's "://": "https[:]//evil.example" is no link
	hostDot    = "\u2024" // a host name's dot: a one-dot leader, which looks like one
	atMark     = "＠"      // "@": no @here, no e-mail address
)

// defang makes s inert as plain text: a scheme's "://" becomes "[:]//";
// "@", "<" and ">" full-width look-alikes (no @here, e-mail address,
// <!channel> or <url|text>); the "](" between a markdown link's text and
// its target "］("; and a dot before a letter ("www.evil.example",
// "evil.example", which mail and chat clients link even without a scheme)
// a one-dot leader, while addresses, ranges and versions keep their dots.
// Ids, ARNs and the console links sgwatch builds are not passed through
// it: they stay whole, to be copied and clicked.
func defang(s string) string {
	i := 0
	for i < len(s) && !defangsAt(s, i) {
		i++
	}
	if i == len(s) {
		return s // the common case: nothing to defang, nothing allocated
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case !defangsAt(s, i):
			b.WriteByte(c)
		case c == ':':
			b.WriteString(schemeMark)
			i += 2
		case c == '@':
			b.WriteString(atMark)
		case c == '<':
			b.WriteString("＜")
		case c == '>':
			b.WriteString("＞")
		case c == ']':
			b.WriteString("］")
		case c == '\\':
			b.WriteString("＼＼")
			i++
		case c == '.':
			b.WriteString(hostDot)
		}
	}
	return b.String()
}

// defangsAt reports whether defang replaces what starts at s[i].
func defangsAt(s string, i int) bool {
	switch s[i] {
	case '@', '<', '>':
		return true
	case ':':
		return strings.HasPrefix(s[i:], "://")
	case ']':
		return i+1 < len(s) && s[i+1] == '('
	case '.':
		// A label of letters: ASCII, or any script (a byte of UTF-8).
		return i+1 < len(s) && ('a' <= s[i+1]|0x20 && s[i+1]|0x20 <= 'z' || s[i+1] >= 0x80)
	case '\\':
		return strings.HasPrefix(s[i:], `\\`) // a UNC path (\\host\share), which mail clients open
	}
	return false
}
