package detect

import "bytes"

// MayBeCall reports whether raw, the bytes of one input value, may hold a
// security-group call. It is false only when raw certainly holds none: no
// call's name appears in it as a JSON string, and it has no \u escape that
// could spell a letter of one. The decoder confirms what it lets through;
// what it keeps out costs no decoding (most of a CloudTrail log).
func MayBeCall(raw []byte) bool {
	for rest := raw; ; {
		i := bytes.Index(rest, marker)
		if i < 0 {
			break
		}
		for _, n := range quoted {
			if i >= len(n.before) && len(rest)-i >= len(marker)+len(n.after) &&
				bytes.Equal(rest[i-len(n.before):i], n.before) &&
				bytes.Equal(rest[i+len(marker):i+len(marker)+len(n.after)], n.after) {
				return true
			}
		}
		rest = rest[i+len(marker):]
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

// marker is in the name of every security-group call but one in a
// thousand of the others: the pre-filter looks for it first.
var marker = []byte("SecurityGroup")

// quoted holds each call's name, as a JSON string, split around marker;
// unmarked, the quoted names without it (none today).
var quoted, unmarked = func() (q []struct{ before, after []byte }, u [][]byte) {
	for _, c := range calls {
		name := []byte(`"` + c.Name + `"`)
		before, after, ok := bytes.Cut(name, marker)
		if !ok {
			u = append(u, name)
			continue
		}
		q = append(q, struct{ before, after []byte }{before, after})
	}
	return q, u
}()
