package detect

import (
	"bytes"
	"slices"
	"strings"
)

// MayBeCall reports whether raw, the bytes of one input value, may hold a
// security-group call. It is false only when raw certainly holds none: no
// call's name appears in it as a JSON string, and it has no \u escape that
// could spell a letter of one. The decoder confirms what it lets through;
// what it keeps out costs no decoding (most of a CloudTrail log).
func MayBeCall(raw []byte) bool {
	// Whether raw holds what a call needs: each looked for once, and only
	// when such a call's name is there.
	var asked [2]string
	var holds [2]bool
	has := func(needs string) bool {
		for i := range asked {
			switch asked[i] {
			case needs:
				return holds[i]
			case "":
				asked[i], holds[i] = needs, containsFold(raw, needs)
				return holds[i]
			}
		}
		return containsFold(raw, needs)
	}
	for _, m := range markers {
		for rest := raw; ; {
			i := bytes.Index(rest, m.marker)
			if i < 0 {
				break
			}
			for _, n := range m.names {
				if i >= len(n.before) && len(rest)-i >= len(m.marker)+len(n.after) &&
					bytes.Equal(rest[i-len(n.before):i], n.before) &&
					bytes.Equal(rest[i+len(m.marker):i+len(m.marker)+len(n.after)], n.after) &&
					(n.needs == "" || has(n.needs)) {
					return true
				}
			}
			rest = rest[i+len(m.marker):]
		}
	}
	for _, n := range unmarked {
		if bytes.Contains(raw, n) {
			return true
		}
	}
	// An escape \u00XY with X from 4 to 7 can be an ASCII letter; no other
	// escape can (a name is letters only).
	for rest := raw; ; {
		i := bytes.Index(rest, []byte(`\u00`))
		if i < 0 || len(rest)-i < 6 {
			return false
		}
		if x := rest[i+4]; x >= '4' && x <= '7' {
			return true
		}
		rest = rest[i+4:]
	}
}

// markerWords are in the names of the calls, each in some, and rare in
// the others': the pre-filter looks for them first, one pass each.
var markerWords = []string{"SecurityGroup", "PrefixList", "Attribute", "BlockPublicAccess", "Tags"}

// marked is a marker and the calls' names that hold it, as JSON strings
// split around it.
type marked struct {
	marker []byte
	names  []name
}

// name is a call's name split around its marker; needs, when not "", is
// what the record must also hold, in any case, to be that call (MayBeCall
// looks for each once): an attach call sets groups only with a groupSet,
// which the decoder matches in any case (ModifyInstanceAttribute of
// another attribute is not a security-group call, and common); a tag call
// is sgwatch's only with a TagPrefix key (CreateTags is common). "roup"
// and "sgwatch" have no letter that folds to one outside ASCII.
type name struct {
	before, after []byte
	needs         string
}

// markers are the calls' names by marker; unmarked, the quoted names with
// none (none today).
var markers, unmarked = func() (ms []marked, u [][]byte) {
	for _, w := range markerWords {
		ms = append(ms, marked{marker: []byte(w)})
	}
	for _, c := range calls {
		quoted := []byte(`"` + c.Name + `"`)
		i := slices.IndexFunc(ms, func(m marked) bool { return bytes.Contains(quoted, m.marker) })
		if i < 0 {
			u = append(u, quoted)
			continue
		}
		before, after, _ := bytes.Cut(quoted, ms[i].marker)
		n := name{before: before, after: after}
		switch {
		case c.LiveOnly():
			n.needs = "roup"
		case c.Effect == ChangesTags:
			// The prefix's letters: its colon may be written \u003a.
			n.needs = strings.TrimSuffix(TagPrefix, ":")
		}
		ms[i].names = append(ms[i].names, n)
	}
	return ms, u
}()

// containsFold reports whether raw holds lower in any ASCII case. It runs
// only on a record whose call's name matched, so a byte at a time is fast
// enough.
func containsFold(raw []byte, lower string) bool {
	for i := 0; i+len(lower) <= len(raw); i++ {
		j := 0
		for j < len(lower) && raw[i+j]|0x20 == lower[j] {
			j++
		}
		if j == len(lower) {
			return true
		}
	}
	return false
}
