package clean

import (
	"strings"
	"unicode"
)

// replaced is the rule of what Line replaces, derived from Unicode's
// properties rather than kept by hand: r, whose Unicode name is name, is
// replaced unless it is U+0020 or shows as itself. A rune does not when
//
//   - it is not printable (Go's unicode.IsPrint: not a letter, mark,
//     number, punctuation or symbol): controls, line breaks included (Cc,
//     Zl, Zp), format characters (Cf: bidirectional controls, zero-width
//     characters, tags, the Egyptian hieroglyph format controls), spaces
//     other than U+0020 (Zs), private use (Co), surrogates (Cs) and code
//     points not assigned (Cn), so that a character newer than the tables
//     is replaced too;
//   - it is default-ignorable (Default_Ignorable_Code_Point, which Unicode
//     derives from Other_Default_Ignorable_Code_Point, Variation_Selector
//     and Cf, all replaced): Hangul fillers, the combining grapheme joiner,
//     Khmer inherent vowels, variation selectors;
//   - its Unicode name calls it a blank, a filler or null (the words BLANK,
//     FILLER or NULL): letters and symbols whose glyph is empty, which no
//     other property marks: the braille pattern blank U+2800, the Egyptian
//     hieroglyph full and half blanks U+13441 and U+13442, the Khitan small
//     script filler U+16FE4, the musical null notehead U+1D159. Nine
//     visible signs share the words (the symbols for null and blank
//     U+2400 and U+2422, and the gap and line fillers of seven historic or
//     Brahmic scripts, U+A8F9 to U+11F48) and are replaced too: a rare sign
//     lost costs less than a blank kept.
//
// notShown (tables.go) is this rule over every code point, generated with
// the Unicode version of the Go toolchain (the unicode package) and of
// golang.org/x/text/unicode/runenames (the names), so that Line needs
// neither the names nor more than one lookup. TestNotShownTable holds it to
// the rule for every code point, and fails when either Unicode version
// moves: "go generate ./clean" writes it again.
func replaced(r rune, name string) bool {
	switch {
	case r == ' ':
		return false
	case !unicode.IsPrint(r):
		return true
	case unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector):
		return true
	}
	for w := range strings.FieldsFuncSeq(name, func(c rune) bool { return c == ' ' || c == '-' }) {
		switch w {
		case "BLANK", "FILLER", "NULL":
			return true
		}
	}
	return false
}
