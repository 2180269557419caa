package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The types in this file absorb the shapes CloudTrail really emits: numbers
// written as strings, booleans written as strings, "{}" where a list is
// empty, and "items" holding either one object or a list of them.

// text is a string that also accepts a JSON number or boolean (seen in the
// wild: an EventBridge envelope's "account" as a number). null is "".
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*t = ""
	case b[0] == '"':
		// The decoder has validated b: a string without escapes is its bytes.
		if inner := b[1 : len(b)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			*t = text(inner)
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
	case b[0] == '{' || b[0] == '[':
		return fmt.Errorf("want a string, got %s", kind(b))
	default: // number, true, false
		*t = text(b)
	}
	return nil
}

// flag is a boolean that also accepts "true"/"True"/"false" strings.
type flag struct {
	Set, Value bool
}

func (f *flag) UnmarshalJSON(b []byte) error {
	var t text
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	switch strings.ToLower(strings.TrimSpace(string(t))) {
	case "":
		*f = flag{}
	case "true":
		*f = flag{Set: true, Value: true}
	case "false":
		*f = flag{Set: true}
	default:
		return fmt.Errorf("want a boolean, got %q", string(t))
	}
	return nil
}

// port is an integer that also accepts a numeric string. null or "" is unset.
type port struct {
	Set   bool
	Value int
}

func (p *port) UnmarshalJSON(b []byte) error {
	var t text
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	s := strings.TrimSpace(string(t))
	if s == "" {
		*p = port{}
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("want a port number, got %q", s)
	}
	if n < -1 || n > 65535 {
		return fmt.Errorf("port %d out of range -1..65535", n)
	}
	*p = port{Set: true, Value: n}
	return nil
}

func (p port) ptr() *int {
	if !p.Set {
		return nil
	}
	v := p.Value
	return &v
}

// list decodes every container shape CloudTrail uses for a list of T:
// null, {}, [], [T…], {"items": T}, {"items": [T…]}.
type list[T any] []T

func (l *list[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		*l = nil
		return nil
	}
	if b[0] == '{' {
		var w struct {
			Items oneOrMany[T] `json:"items"`
		}
		if err := json.Unmarshal(b, &w); err != nil {
			return err
		}
		*l = list[T](w.Items)
		return nil
	}
	var many oneOrMany[T]
	if err := many.UnmarshalJSON(b); err != nil {
		return err
	}
	*l = list[T](many)
	return nil
}

// oneOrMany decodes a single T or a JSON list of T (null is empty).
type oneOrMany[T any] []T

func (o *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*o = nil
		return nil
	case b[0] == '[':
		var s []T
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*o = s
		return nil
	case b[0] == '{':
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*o = []T{v}
		return nil
	}
	return fmt.Errorf("want an object or a list, got %s", kind(b))
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
