package report

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sgwatch/sgwatch/detect"
)

// Clean makes attacker-controlled text safe to place on one line of a
// notification or a log: invalid UTF-8, control characters (line breaks
// included), bidirectional overrides and other format characters, and
// characters that show nothing (Hangul fillers, variation selectors, the
// combining grapheme joiner, the braille blank…) each become "?", and the
// result is cut to max runes, ending in "…" when cut.
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

// ascii is Clean for places that take printable ASCII only (an SNS subject,
// a message attribute): every other rune becomes "?", and a cut ends in "...".
func ascii(s string, max int) string {
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

// hidden are the runes that show nothing although they are neither format
// characters nor default-ignorable (Unicode's properties miss them).
var hidden = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x2800, Hi: 0x2800, Stride: 1}, // braille pattern blank
	},
	R32: []unicode.Range32{
		{Lo: 0x16FE4, Hi: 0x16FE4, Stride: 1}, // Khitan small script filler
		{Lo: 0x1D159, Hi: 0x1D159, Stride: 1}, // musical symbol null notehead
	},
}

// unsafe are the Unicode classes Clean replaces.
var unsafe = []*unicode.RangeTable{
	unicode.Cc,             // control characters, line breaks included
	unicode.Cf,             // format: bidi marks and overrides, zero-width characters, tags
	unicode.Zl, unicode.Zp, // line and paragraph separators
	unicode.Co, unicode.Cs, // private use, surrogates
	unicode.Other_Default_Ignorable_Code_Point, // Hangul fillers, U+034F, U+17B4/5…
	unicode.Variation_Selector,                 // U+FE00–FE0F, U+E0100–E01EF, U+180B–180D, U+180F
	hidden,
}

func safeRune(r rune) bool {
	if unicode.IsOneOf(unsafe, r) {
		return false
	}
	return unicode.IsPrint(r) || r == ' '
}

// sanitize returns a copy of f with every string cleaned: the one source of
// the text body and the JSON body, so no path renders raw record text.
func sanitize(f detect.Finding) detect.Finding {
	c := func(s *string) { *s = Clean(*s, maxField) }
	for _, s := range []*string{(*string)(&f.Action), (*string)(&f.Outcome), (*string)(&f.Severity),
		(*string)(&f.SeverityBeforeAutomation), &f.Automation} {
		c(s)
	}
	e := &f.Event
	for _, s := range []*string{&e.ID, &e.Name, &e.Time, &e.Region, &e.AccountID, &e.AccountName, &e.RequestID} {
		c(s)
	}
	a := &f.Actor
	for _, s := range []*string{&a.Type, &a.ARN, &a.AccountID, &a.PrincipalID, &a.UserName, &a.AccessKeyID,
		&a.CredentialType, &a.SessionIssuerARN, &a.SourceIP, &a.UserAgent, &a.InvokedBy} {
		c(s)
	}
	g := &f.SecurityGroup
	for _, s := range []*string{&g.ID, &g.Name, &g.VPCID, &g.Description} {
		c(s)
	}
	if g.Tags != nil {
		tags := make(map[string]string, len(g.Tags))
		for k, v := range g.Tags {
			tags[Clean(k, maxField)] = Clean(v, maxField)
		}
		g.Tags = tags
	}
	f.Reasons = cleanAll(f.Reasons)
	f.Notes = cleanAll(f.Notes)
	f.Rules = append([]detect.Rule(nil), f.Rules...)
	for i := range f.Rules {
		r := &f.Rules[i]
		for _, s := range []*string{(*string)(&r.Direction), &r.Protocol, &r.CIDRIPv4, &r.CIDRIPv6, &r.PrefixListID,
			&r.ReferencedGroupID, &r.Description, &r.RuleID, &r.Exposure} {
			c(s)
		}
	}
	if f.Error != nil {
		e := *f.Error
		c(&e.Code)
		c(&e.Message)
		f.Error = &e
	}
	if f.Sweep != nil {
		w := *f.Sweep
		for _, s := range []*string{&w.Key, &w.FoundAt, &w.FirstSeen, &w.Published, (*string)(&w.Was)} {
			c(s)
		}
		if w.Created != nil {
			cr := *w.Created
			for _, s := range []*string{&cr.EventID, &cr.EventName, &cr.Time} {
				c(s)
			}
			w.Created = &cr
		}
		f.Sweep = &w
	}
	if f.Undo != nil {
		u := *f.Undo
		// Built by detect only from validated values, so never cut: it must
		// paste whole. The fitting drops it rather than cut it.
		u.Command = Clean(u.Command, len(u.Command))
		u.Note = Clean(u.Note, maxNote)
		if !detect.IsAccountID(u.Account) { // only an account id is named
			u.Account = ""
		}
		f.Undo = &u
	}
	return f
}

// cleanAll returns a cleaned copy of list (nil stays nil).
func cleanAll(list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = Clean(s, maxField)
	}
	return out
}
