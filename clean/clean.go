// Package clean makes text that came from CloudTrail, or from anything an
// account's users choose (group names, tags, descriptions), safe to show:
// on one line of a notification, a terminal or a log, in a subject or a
// message attribute. CloudTrail text is attacker-controlled: cleaned, it
// cannot forge a line, break a subject, or hide behind bidirectional
// overrides and characters that show nothing.
//
// It is the one home of cutting text short, too: every cut keeps whole
// runes.
package clean

//go:generate go test . -run TestNotShownTable -update

import (
	"log/slog"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line makes s safe to place on one line: invalid UTF-8, control
// characters (line breaks included), bidirectional overrides and other
// format characters, spaces other than U+0020, and characters that show
// nothing (Hangul fillers, variation selectors, the combining grapheme
// joiner, the braille and hieroglyph blanks…) each become "?", and the
// result is cut to max runes, followed by "…" when cut. Which runes are
// replaced is derived from Unicode's properties (replaced, in shown.go).
func Line(s string, max int) string {
	if IsPlain(s) && len(s) <= max {
		return s
	}
	var b strings.Builder
	n := 0
	for i, r := range s {
		if n == max {
			b.WriteString("…")
			break
		}
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				r = '?'
			}
		}
		if !safe(r) {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// Fit is Line within max runes in all: when s is cut, the "…" is the last
// of them. A blank s (white space only) is "".
func Fit(s string, max int) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return Cut(Line(s, max), max)
}

// ASCII is Line for places that take printable ASCII only (an SNS subject,
// a message attribute): every other rune becomes "?", and the result is
// at most max bytes, ending in "..." when cut.
func ASCII(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() == max {
			if max >= 3 {
				out := b.String()
				return out[:max-3] + "..."
			}
			break
		}
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b.WriteByte(byte(r))
	}
	return b.String()
}

// IsPlain reports whether s is printable ASCII, the common case.
func IsPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Cut is s in at most n runes, the last one "…" when it was cut. It does
// not clean: s is clean already, or about to be.
func Cut(s string, n int) string {
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	i, k := 0, 0
	for k < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		k++
	}
	return s[:i] + "…"
}

// Prefix is s in at most n bytes, whole runes, with no mark: for bounding
// what is stored, not what is shown.
func Prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// safe reports whether Line shows r as itself: printable ASCII, or a rune
// outside notShown (tables.go), the runes replaced derives from Unicode's
// properties.
func safe(r rune) bool {
	if r < utf8.RuneSelf {
		return ' ' <= r && r <= '~'
	}
	return r <= unicode.MaxRune && !unicode.Is(notShown, r)
}

// MaxLog bounds a value in a log line, in runes.
const MaxLog = 2048

// Attr cleans a log attribute's value: it is the ReplaceAttr of every
// logger sgwatch makes (slog.HandlerOptions), so that no log line needs a
// call at each site. Strings, errors, other values that print themselves
// (fmt.Stringer) and lists of strings are cleaned with Line, each within
// MaxLog runes; numbers, booleans, times and durations are left as they
// are. Keys are cleaned too: a group or key can be built from a record.
func Attr(_ []string, a slog.Attr) slog.Attr {
	a.Key = Line(a.Key, 64)
	v := a.Value
	switch v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(Line(v.String(), MaxLog))
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			a.Value = slog.StringValue(Line(x.Error(), MaxLog))
		case interface{ String() string }:
			a.Value = slog.StringValue(Line(x.String(), MaxLog))
		case []string:
			out := make([]string, len(x))
			for i, s := range x {
				out[i] = Line(s, MaxLog)
			}
			a.Value = slog.AnyValue(out)
		default:
			if rv := reflect.ValueOf(x); rv.Kind() == reflect.String { // a named string type
				a.Value = slog.StringValue(Line(rv.String(), MaxLog))
			}
		}
	}
	return a
}
