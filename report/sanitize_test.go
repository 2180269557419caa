package report

import (
	"fmt"
	"testing"

	"github.com/sgwatch/sgwatch/clean"
)

// TestCleanInvisible checks that every character that shows nothing, or
// changes how the text around it shows, becomes "?", and that visible
// text stays.
func TestCleanInvisible(t *testing.T) {
	cases := []struct {
		r    rune
		name string
	}{
		{0x115F, "Hangul choseong filler"},
		{0x1160, "Hangul jungseong filler"},
		{0x3164, "Hangul filler"},
		{0xFFA0, "halfwidth Hangul filler"},
		{0x034F, "combining grapheme joiner"},
		{0xFE00, "variation selector 1"},
		{0xFE0F, "variation selector 16"},
		{0xE0100, "variation selector 17"},
		{0xE01EF, "variation selector 256"},
		{0x180B, "Mongolian free variation selector one"},
		{0x17B4, "Khmer vowel inherent aq"},
		{0x17B5, "Khmer vowel inherent aa"},
		{0x2800, "braille pattern blank"},
		{0x16FE4, "Khitan small script filler"},
		{0x1D159, "musical symbol null notehead"},
		{0x202E, "right-to-left override"},
		{0x2066, "left-to-right isolate"},
		{0x200B, "zero width space"},
		{0x200D, "zero width joiner"},
		{0xFEFF, "zero width no-break space"},
		{0x00AD, "soft hyphen"},
		{0xE0041, "tag latin capital letter a"},
		{0x2028, "line separator"},
		{0x0085, "next line"},
		{0x00A0, "no-break space"},
		{0xE000, "private use"},
	}
	for _, c := range cases {
		in := fmt.Sprintf("a%cb", c.r)
		if got := clean.Line(in, 10); got != "a?b" {
			t.Errorf("%U %s: Clean = %q, want %q", c.r, c.name, got, "a?b")
		}
	}
	for _, keep := range []string{"héllo", "日本語", "한국어", "\u2764 ok", "😀", "ĉu", "a\u0301", "ខ្មែរ"} {
		if got := clean.Line(keep, 20); got != keep {
			t.Errorf("clean.Line(%q) = %q, want it unchanged", keep, got)
		}
	}
}
