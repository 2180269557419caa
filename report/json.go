package report

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sgwatch/sgwatch/detect"
)

// jsonBody is the finding JSON of a cleaned finding, in at most room bytes.
// A finding too large keeps the first rules, reasons, notes and tags that
// fit (share) and a note saying how many of each it leaves out; if even
// that cannot fit, the undo command gives way to a note.
//
// It encodes the whole finding once, and when that is too large each item
// once and the finding without its lists once, then the result: the sizes
// add up, so that fits at once. Should it not, the room for the lists is
// halved, O(log n) times at most.
func jsonBody(f detect.Finding, room int) (string, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return "", fmt.Errorf("encode finding: %w", err)
	}
	if len(b) <= room {
		return string(b), nil
	}

	keys := slices.Sorted(maps.Keys(f.SecurityGroup.Tags))
	var sizes [lists][]int
	var total [lists]int
	for i, n := range []int{len(f.Rules), len(f.Reasons), len(f.Notes), len(keys)} {
		total[i] = n
		sizes[i] = make([]int, n)
	}
	for i, r := range f.Rules {
		if sizes[rulesList][i], err = encodedSize(r); err != nil {
			return "", fmt.Errorf("encode rule %d: %w", i, err)
		}
	}
	for i, s := range f.Reasons {
		sizes[reasonsList][i] = quotedSize(s)
	}
	for i, s := range f.Notes {
		sizes[notesList][i] = quotedSize(s)
	}
	for i, k := range keys {
		sizes[tagsList][i] = quotedSize(k) + len(":") + quotedSize(f.SecurityGroup.Tags[k])
	}
	for i, key := range listNames { // the JSON fields are named as the lists
		if len(sizes[i]) > 0 {
			// The first item carries the field: `,"rules":[]`.
			sizes[i][0] += len(`,"`+key+`":[]`) - len(",")
		}
	}
	// The note that says what was left out, at its longest; it may be the
	// only note.
	reserve := quotedSize(leftOut(total, [lists]int{})) + len(`,"notes":[]`)

	bare := f
	bare.Rules, bare.Reasons, bare.Notes = nil, nil, nil
	bare.SecurityGroup.Tags = nil
	base, err := json.Marshal(bare)
	if err != nil {
		return "", fmt.Errorf("encode finding: %w", err)
	}
	if len(base)+reserve > room && f.Undo != nil && f.Undo.Command != "" {
		f = withoutUndoCommand(f)
		bare.Undo = f.Undo
		if base, err = json.Marshal(bare); err != nil {
			return "", fmt.Errorf("encode finding: %w", err)
		}
	}

	for budget := room - len(base) - reserve; ; budget /= 2 {
		keep := share(budget, sizes)
		g := f
		g.Rules = f.Rules[:keep[rulesList]]
		g.Reasons = f.Reasons[:keep[reasonsList]]
		g.Notes = f.Notes[:keep[notesList]]
		if note := leftOut(total, keep); note != "" {
			g.Notes = append(g.Notes[:len(g.Notes):len(g.Notes)], note)
		}
		if f.SecurityGroup.Tags != nil {
			g.SecurityGroup.Tags = make(map[string]string, keep[tagsList])
			for _, k := range keys[:keep[tagsList]] {
				g.SecurityGroup.Tags[k] = f.SecurityGroup.Tags[k]
			}
		}
		if b, err = json.Marshal(g); err != nil {
			return "", fmt.Errorf("encode finding: %w", err)
		}
		if len(b) <= room {
			return string(b), nil
		}
		if budget <= 0 {
			return "", fmt.Errorf("finding JSON of %d bytes without its lists does not fit the %d bytes left of %s", len(b), room, limitText)
		}
	}
}

// leftOut is the note of a finding shortened to fit: what it leaves out of
// each list, given how many of each it keeps; "" when nothing.
func leftOut(total, keep [lists]int) string {
	var parts []string
	for i := range lists {
		if keep[i] < total[i] {
			parts = append(parts, thousands(total[i]-keep[i])+" of "+thousands(total[i])+" "+listNames[i])
		}
	}
	s := "shortened to fit " + limitText + ": left out "
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return s + parts[0]
	}
	return s + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

func encodedSize(v any) (int, error) {
	b, err := json.Marshal(v)
	return len(b) + len(","), err
}

func quotedSize(s string) int {
	n, _ := encodedSize(s) // a string always encodes
	return n
}
