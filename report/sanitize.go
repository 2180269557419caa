package report

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on text taken from a CloudTrail record, in runes.
const (
	maxField = 256 // descriptions, user agents, ARNs, names
	maxShort = 40  // pieces of a subject line
)

// Clean makes attacker-controlled text safe to place on one line of a
// notification or a log: invalid UTF-8, control characters (line breaks
// included), bidirectional overrides and other invisible format characters
// each become "?", and the result is cut to max runes, ending in "…" when cut.
func Clean(s string, max int) string {
	if isPlain(s) && len(s) <= max {
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
		if !safeRune(r) {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// ASCII is Clean for places that take printable ASCII only (an SNS subject):
// every other rune becomes "?", and a cut ends in "...".
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

// isPlain reports whether s is printable ASCII, the common case.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func safeRune(r rune) bool {
	switch {
	case unicode.IsControl(r), unicode.Is(unicode.Cf, r), // format: bidi marks and overrides, zero-width
		unicode.Is(unicode.Zl, r), unicode.Is(unicode.Zp, r), // line and paragraph separators
		unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r): // private use, surrogates
		return false
	}
	return unicode.IsPrint(r) || r == ' '
}
