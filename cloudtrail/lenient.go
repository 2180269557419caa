package cloudtrail

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/sgwatch/sgwatch/clean"
)

// The types in this file absorb the shapes CloudTrail really emits: numbers
// written as strings, booleans written as strings, "{}" where a list is
// empty, and "items" holding either one object or a list of them.
//
// None of them fails to decode. A value none of those shapes explains (a
// port of 70000, mfaAuthenticated "yes", an object where a string belongs)
// decodes as unset and keeps what was wrong (its Flaw), so that the record
// still gives its finding: Record.Details collects what was not understood,
// and a reader treats every unset part of a rule as the widest it could be.

// Text is a string that also accepts a JSON number or boolean (seen in the
// wild: an EventBridge envelope's "account" as a number). null is "".
type Text struct {
	v   string
	bad string // why the value was not read
}

// String returns the value, "" when unset or not understood.
func (t Text) String() string { return t.v }

func (t *Text) UnmarshalJSON(b []byte) error {
	*t = Text{}
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
	case b[0] == '"':
		// The decoder has validated b: a string without escapes is its bytes.
		if inner := b[1 : len(b)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			t.v = string(inner)
			return nil
		}
		if err := json.Unmarshal(b, &t.v); err != nil {
			t.bad = err.Error()
		}
	case b[0] == '{' || b[0] == '[':
		t.bad = "want a string, got " + kind(b)
	default: // number, true, false
		t.v = string(b)
	}
	seen(t.bad)
	return nil
}

// Flaw says why the value was not read, "" when it was (or was absent).
func (t Text) Flaw() string { return t.bad }

// Flag is a boolean that also accepts "true"/"True"/"false" strings.
type Flag struct {
	Set, Value bool
	bad        string
}

func (f *Flag) UnmarshalJSON(b []byte) error {
	var t Text
	_ = t.UnmarshalJSON(b)
	*f = Flag{bad: t.bad}
	switch s := strings.ToLower(strings.TrimSpace(t.v)); s {
	case "":
	case "true":
		*f = Flag{Set: true, Value: true}
	case "false":
		*f = Flag{Set: true}
	default:
		f.bad = fmt.Sprintf("want a boolean, got %q", clip(t.v))
		seen(f.bad)
	}
	return nil
}

// Flaw says why the value was not read.
func (f Flag) Flaw() string { return f.bad }

// Port is an integer that also accepts a numeric string. null or "" is
// unset; so is a value that is not a port (and the rule then counts as
// every Port).
type Port struct {
	Set   bool
	Value int
	bad   string
}

func (p *Port) UnmarshalJSON(b []byte) error {
	var t Text
	_ = t.UnmarshalJSON(b)
	*p = Port{bad: t.bad}
	s := strings.TrimSpace(t.v)
	if s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		p.bad = fmt.Sprintf("want a port number, got %q", clip(s))
	case n < -1 || n > 65535:
		p.bad = fmt.Sprintf("port %d is out of range -1..65535", n)
	default:
		*p = Port{Set: true, Value: n}
	}
	seen(p.bad)
	return nil
}

// Flaw says why the value was not read.
func (p Port) Flaw() string { return p.bad }

// Ptr is the port, or nil when unset.
func (p Port) Ptr() *int {
	if !p.Set {
		return nil
	}
	v := p.Value
	return &v
}

// List decodes every container shape CloudTrail uses for a list of T:
// null, {}, [], [T…], {"items": T}, {"items": [T…]}. An item that is not
// a T is kept as a zero T (its problem noted), so a caller can tell that
// the list held something it could not read.
type List[T any] struct {
	items []T
	bad   string // why the container or one of its items was not read
}

// otherKeys is the flaw of a list object with keys other than "items".
const otherKeys = "a list with keys other than \"items\""

func (l *List[T]) UnmarshalJSON(b []byte) error {
	*l = List[T]{}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil
	}
	if b[0] == '{' {
		// CloudTrail writes a list as {"items":[...]}, or {} when it is
		// empty: another key may hold what is not read.
		items, keys, ok := members(b, "items")
		if ok && (keys > 1 || keys == 1 && items == nil) {
			l.bad = otherKeys
			seen(l.bad)
		}
		if !ok { // a key with an escape: the decoder matches it
			var w struct {
				Items json.RawMessage `json:"items"`
			}
			if err := json.Unmarshal(b, &w); err != nil {
				l.bad = err.Error()
				seen(l.bad)
				return nil
			}
			items = w.Items
			if items == nil && len(bytes.TrimSpace(b[1:len(b)-1])) > 0 {
				l.bad = otherKeys
				seen(l.bad)
				return nil
			}
		}
		b = items
	}
	var o OneOrMany[T]
	_ = o.UnmarshalJSON(b)
	l.items = o.items
	if o.bad != "" {
		l.bad = o.bad
	}
	return nil
}

// Items are the list's items.
func (l List[T]) Items() []T { return l.items }

// Flaw says why the container or one of its items was not read.
func (l List[T]) Flaw() string { return l.bad }

func (l List[T]) elems() []any { return anys(l.items) }

// OneOrMany decodes a single T or a JSON list of T (null is empty).
type OneOrMany[T any] struct {
	items []T
	bad   string
}

func (o *OneOrMany[T]) UnmarshalJSON(b []byte) error {
	*o = OneOrMany[T]{}
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
	case b[0] == '[':
		raw := elements(b)
		o.items = make([]T, len(raw))
		for i, r := range raw {
			if err := decodeItem(r, &o.items[i]); err != nil && o.bad == "" {
				o.bad = fmt.Sprintf("item %d: %v", i, err)
			}
		}
	case b[0] == '{':
		o.items = make([]T, 1)
		if err := decodeItem(b, &o.items[0]); err != nil {
			o.bad = err.Error()
		}
	default:
		o.bad = "want an object or a list, got " + kind(b)
		// Keep a place for it: the container held something.
		o.items = make([]T, 1)
	}
	seen(o.bad)
	return nil
}

// Items are the items.
func (o OneOrMany[T]) Items() []T { return o.items }

// Flaw says why an item was not read.
func (o OneOrMany[T]) Flaw() string { return o.bad }

func (o OneOrMany[T]) elems() []any { return anys(o.items) }

func anys[T any](items []T) []any {
	out := make([]any, len(items))
	for i := range items {
		out[i] = items[i]
	}
	return out
}

// decodeItem decodes one item of a list; anything but an object is an
// error (the item stays zero).
func decodeItem[T any](b []byte, v *T) error {
	b = bytes.TrimSpace(b)
	if u, ok := any(v).(json.Unmarshaler); ok {
		return u.UnmarshalJSON(b)
	}
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("want an object, got %s", kind(b))
	}
	return json.Unmarshal(b, v)
}

// The decoder hands an UnmarshalJSON method only valid JSON: elements and
// member split it without validating it again (as json.Unmarshal would,
// once per level of nesting).

// elements returns the elements of the valid JSON array b.
func elements(b []byte) [][]byte {
	var out [][]byte
	i := skipSpace(b, 1)
	for i < len(b) && b[i] != ']' {
		end := valueEnd(b, i)
		out = append(out, b[i:end])
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return out
}

// member returns the value of the valid JSON object b's member named key,
// matched as encoding/json matches a field (case-insensitively; the last
// of duplicates), or nil when there is none. ok is false when a key has an
// escape: then only the decoder can tell.
func member(b []byte, key string) (v []byte, ok bool) {
	v, _, ok = members(b, key)
	return v, ok
}

// members is member, and also counts the object's keys.
func members(b []byte, key string) (v []byte, keys int, ok bool) {
	i := skipSpace(b, 1)
	for i < len(b) && b[i] == '"' {
		end := valueEnd(b, i)
		k := b[i+1 : end-1]
		if bytes.IndexByte(k, '\\') >= 0 {
			return nil, 0, false
		}
		keys++
		i = skipSpace(b, end)
		i = skipSpace(b, i+1) // the colon
		end = valueEnd(b, i)
		if bytes.EqualFold(k, []byte(key)) {
			v = b[i:end]
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return v, keys, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the end of the valid JSON value that starts at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = valueEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && !bytes.ContainsRune([]byte(" \t\r\n,]}"), rune(b[j])) {
		j++
	}
	return j
}

// kind names the JSON type of b for error messages.
func kind(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// clip shortens a value quoted in a note, whole runes.
func clip(s string) string { return clean.Cut(s, 40) }

// flawsSeen counts the values the types above could not read, in this
// whole process. It only tells flaws whether a walk can find anything: a
// record decoded while it did not change has no flaw. (Another goroutine's
// flaw can only cause a walk that finds nothing.)
var flawsSeen atomic.Int64

func seen(bad string) {
	if bad != "" {
		flawsSeen.Add(1)
	}
}

// flawed is implemented by every type above.
type flawed interface{ Flaw() string }

// container is implemented by list and oneOrMany.
type container interface{ elems() []any }

// maxFlaws bounds the notes one record gets for fields not understood.
const maxFlaws = 10

// flaws lists the fields of v (a decoded section of a record, named path)
// that were not understood, as "path: what was wrong", at most maxFlaws of
// them, and how many there were in all.
func flaws(v any, path string) (notes []string, n int) {
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		if f, ok := v.Interface().(flawed); ok {
			if why := f.Flaw(); why != "" {
				if n < maxFlaws {
					notes = append(notes, path+": "+why)
				}
				n++
			}
		}
		if c, ok := v.Interface().(container); ok {
			for i, e := range c.elems() {
				walk(reflect.ValueOf(e), fmt.Sprintf("%s[%d]", path, i))
			}
			return
		}
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem(), path)
			}
		case reflect.Struct:
			t := v.Type()
			for i := range t.NumField() {
				sf := t.Field(i)
				if !sf.IsExported() {
					continue
				}
				name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
				if name == "" {
					name = sf.Name
				}
				p := name
				if sf.Anonymous {
					p = path
				} else if path != "" {
					p = path + "." + name
				}
				walk(v.Field(i), p)
			}
		}
	}
	walk(reflect.ValueOf(v), path)
	return notes, n
}
