package clean

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestInvisible checks that every character known to show nothing, or to
// change how the text around it shows, becomes "?", and that visible text
// stays. The list is a check on the rule (replaced), not its source: each
// entry is there because a catalogue or an attack names it.
func TestInvisible(t *testing.T) {
	cases := []struct {
		r    rune
		name string
	}{
		// Default-ignorable (Unicode's DerivedCoreProperties.txt), and
		// listed by catalogues of invisible characters.
		{0x115F, "Hangul choseong filler"},
		{0x1160, "Hangul jungseong filler"},
		{0x3164, "Hangul filler (blank user names and messages)"},
		{0xFFA0, "halfwidth Hangul filler"},
		{0x034F, "combining grapheme joiner"},
		{0xFE00, "variation selector 1"},
		{0xFE0F, "variation selector 16"},
		{0xE0100, "variation selector 17"},
		{0xE01EF, "variation selector 256"},
		{0x180B, "Mongolian free variation selector one"},
		{0x180E, "Mongolian vowel separator"},
		{0x17B4, "Khmer vowel inherent aq"},
		{0x17B5, "Khmer vowel inherent aa"},
		{0x2065, "reserved default-ignorable (unassigned)"},
		// Blank glyphs no property marks, by their Unicode names: the
		// braille blank (Wikipedia, "Braille pattern dots-0": most fonts
		// show it blank, and it is not a space), the hieroglyph blanks of
		// Unicode 15 (they once passed a hand-kept list), the Khitan
		// filler, the null notehead (catalogues of invisible characters).
		{0x2800, "braille pattern blank"},
		{0x13441, "Egyptian hieroglyph full blank"},
		{0x13442, "Egyptian hieroglyph half blank"},
		{0x16FE4, "Khitan small script filler"},
		{0x1D159, "musical symbol null notehead"},
		// Format characters (Cf): bidirectional controls (Trojan Source,
		// CVE-2021-42574), zero-width characters, tags, musical beams.
		{0x202E, "right-to-left override"},
		{0x2066, "left-to-right isolate"},
		{0x061C, "Arabic letter mark"},
		{0x200B, "zero width space"},
		{0x200D, "zero width joiner"},
		{0x2060, "word joiner"},
		{0x2062, "invisible times"},
		{0xFEFF, "zero width no-break space"},
		{0x00AD, "soft hyphen"},
		{0xE0041, "tag latin capital letter a"},
		{0x1D173, "musical symbol begin beam"},
		{0x1BCA0, "shorthand format letter overlap"},
		{0x13430, "Egyptian hieroglyph vertical joiner"},
		// Separators, spaces, controls, private use, unassigned.
		{0x2028, "line separator"},
		{0x0085, "next line"},
		{0x00A0, "no-break space"},
		{0x3000, "ideographic space"},
		{0x2007, "figure space"},
		{0xE000, "private use"},
		{0x0378, "unassigned"},
		{0x10FFFF, "noncharacter"},
	}
	for _, c := range cases {
		in := fmt.Sprintf("a%cb", c.r)
		if got := Line(in, 10); got != "a?b" {
			t.Errorf("%U %s: Line = %q, want %q", c.r, c.name, got, "a?b")
		}
	}
	for _, keep := range []string{"héllo", "日本語", "한국어", "\u2764 ok", "😀", "ĉu", "a\u0301", "ខ្មែរ", "Ελληνικά", "עברית", "\U00013000 hieroglyph A001", "⠁ braille dots-1"} {
		if got := Line(keep, 20); got != keep {
			t.Errorf("Line(%q) = %q, want it unchanged", keep, got)
		}
	}
}

func TestLine(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 10, "plain"},
		{"a\nb", 10, "a?b"},
		{"\u202eabc", 10, "?abc"},
		{"héllo wörld", 5, "héllo…"},
		{"x\xffy", 10, "x?y"},
		{"日本語", 10, "日本語"},
		{"tab\there", 20, "tab?here"},
	}
	for _, c := range cases {
		if got := Line(c.in, c.max); got != c.want {
			t.Errorf("Line(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func TestASCII(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"héllo", 10, "h?llo"},
		{strings.Repeat("x", 20), 10, "xxxxxxx..."},
		{"a\nb", 10, "a?b"},
		{"日本語日本語", 4, "?..."},
		{"abcdef", 2, "ab"},
	}
	for _, c := range cases {
		if got := ASCII(c.in, c.max); got != c.want {
			t.Errorf("ASCII(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

// TestCutsKeepWholeRunes checks every cut at every length on text of one-
// to four-byte runes: the result is valid UTF-8 within its bound.
func TestCutsKeepWholeRunes(t *testing.T) {
	s := "aé日😀b\u0301c日本語😀😀xyz"
	for n := 0; n <= utf8.RuneCountInString(s)+1; n++ {
		c := Cut(s, n)
		if !utf8.ValidString(c) || utf8.RuneCountInString(c) > n {
			t.Errorf("Cut(%q, %d) = %q: not valid UTF-8 within %d runes", s, n, c, n)
		}
		if n > 0 && n < utf8.RuneCountInString(s) && !strings.HasSuffix(c, "…") {
			t.Errorf("Cut(%q, %d) = %q: want a mark where it was cut", s, n, c)
		}
		f := Fit(s, n)
		if !utf8.ValidString(f) || utf8.RuneCountInString(f) > n {
			t.Errorf("Fit(%q, %d) = %q: not valid UTF-8 within %d runes", s, n, f, n)
		}
	}
	for n := 0; n <= len(s)+1; n++ {
		p := Prefix(s, n)
		if !utf8.ValidString(p) || len(p) > n || !strings.HasPrefix(s, p) {
			t.Errorf("Prefix(%q, %d) = %q: want whole runes of s within %d bytes", s, n, p, n)
		}
	}
	if got := Cut("abc", 3); got != "abc" {
		t.Errorf("Cut of what fits = %q", got)
	}
	if got := Fit(" \t ", 10); got != "" {
		t.Errorf("Fit of a blank = %q, want \"\"", got)
	}
	if got := Fit("a\nbcdef", 4); got != "a?b…" {
		t.Errorf("Fit = %q, want %q", got, "a?b…")
	}
}

type label string

type stringer struct{}

func (stringer) String() string { return "s\u202etringer" }

// TestAttr checks that a logger with Attr as its ReplaceAttr writes no
// raw attacker text, whatever the type of the value.
func TestAttr(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: Attr}))
	evil := "ok\u202e\nFAKE LINE\x1b[31m"
	log.Info("m", "s", evil, "err", errors.New(evil), "named", label(evil), "list", []string{evil},
		"str", stringer{}, "n", 42, slog.Group("g", "inner", evil), "k\u202eey", 1,
		"long", strings.Repeat("x", MaxLog+10))
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := "ok??FAKE LINE?[31m"
	for _, k := range []string{"s", "err", "named"} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	if l, _ := got["list"].([]any); len(l) != 1 || l[0] != want {
		t.Errorf("list = %v", got["list"])
	}
	if got["str"] != "s?tringer" || got["n"] != 42.0 {
		t.Errorf("str, n = %v, %v", got["str"], got["n"])
	}
	if g, _ := got["g"].(map[string]any); g["inner"] != want {
		t.Errorf("group = %v", got["g"])
	}
	if _, ok := got["k?ey"]; !ok {
		t.Errorf("key not cleaned: %v", got)
	}
	if s, _ := got["long"].(string); utf8.RuneCountInString(s) != MaxLog+1 {
		t.Errorf("long value is %d runes, want %d and a mark", utf8.RuneCountInString(s), MaxLog)
	}
}
