package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
)

// readAllRecords returns the records of data (each record's eventName, or
// "skip"), and the errors, in order.
func readAllRecords(t *testing.T, data []byte, mayHold func([]byte) bool) (names, errs []string) {
	t.Helper()
	in, err := ReadBytes(data, mayHold)
	if err != nil {
		return nil, []string{err.Error()}
	}
	for i := 0; ; i++ {
		if i > len(data)+10 {
			t.Fatalf("the Input does not end on %q", data)
		}
		r, err := in.Next()
		switch {
		case err == io.EOF:
			return names, errs
		case err != nil:
			errs = append(errs, err.Error())
		case r.Skip:
			names = append(names, "skip")
		default:
			names = append(names, r.EventName.String())
		}
	}
}

// TestInputShapes: every shape sgwatch reads gives its records, in order,
// with an error in the place of each value that is not one.
func TestInputShapes(t *testing.T) {
	rec := func(name string) string { return `{"eventSource":"ec2.amazonaws.com","eventName":"` + name + `"}` }
	cases := []struct {
		name, in string
		records  string // the eventNames, comma-separated
		errs     []string
	}{
		{"record", rec("A"), "A", nil},
		{"event", `{"detail-type":"x","account":"1","detail":` + rec("A") + `}`, "A", nil},
		{"event with a null detail", `{"detail":null}`, "", nil},
		{"event with a list detail", `{"detail":[1]}`, "", []string{"EventBridge event: detail is a list, want an object"}},
		{"log file", `{"Records":[` + rec("A") + `,` + rec("B") + `]}`, "A,B", nil},
		{"log file, Records not first", `{"x":1,"Records":[` + rec("A") + `,"no",` + rec("B") + `]}`, "A,B", []string{"record 2: record is a string, want an object"}},
		{"log file of bad records", `{"Records":[1,` + rec("A") + `,[]]}`, "A", []string{"record 1: record is a number, want an object", "record 3: record is a list, want an object"}},
		{"records one after another", rec("A") + "\n" + rec("B") + rec("C"), "A,B,C", nil},
		{"not JSON", `nope`, "", []string{"input is not JSON"}},
		{"a list", `[1]`, "", []string{"input is a list"}},
		{"unrecognised", `{"foo":1}`, "", []string{"unrecognised input"}},
		{"Records not a list", `{"Records":5}`, "", []string{"CloudTrail log file"}},
		{"broken structure", rec("A") + `]` + rec("B"), "A", []string{"decode input: byte"}},
		{"cut short", `{"Records":[` + rec("A") + `,`, "A", []string{"decode input: byte"}},
		{"an event inside Records", `{"Records":[` + rec("A") + `,{"detail-type":"AWS API Call via CloudTrail","detail":` + rec("B") + `}]}`, "A,B", nil},
		{"a field too deep", `{"eventSource":"ec2.amazonaws.com","eventName":"A","requestParameters":` + strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001) + `}`, "A", nil},
		{"a field too deep in an event", `{"detail-type":"x","detail":{"eventName":"A","x":` + strings.Repeat(`{"a":`, 10001) + `1` + strings.Repeat(`}`, 10001) + `}}`, "A", nil},
	}
	for _, c := range cases {
		names, errs := readAllRecords(t, []byte(c.in), nil)
		if got := strings.Join(names, ","); got != c.records {
			t.Errorf("%s: records %q, want %q", c.name, got, c.records)
		}
		if len(errs) != len(c.errs) {
			t.Errorf("%s: errors %q, want %q", c.name, errs, c.errs)
			continue
		}
		for i := range errs {
			if !strings.Contains(errs[i], c.errs[i]) {
				t.Errorf("%s: error %d is %q, want %q in it", c.name, i, errs[i], c.errs[i])
			}
		}
	}
}

// TestTooDeepIsANote: a value nested deeper than encoding/json reads is left
// out of the record, which is read, and named in a note.
func TestTooDeepIsANote(t *testing.T) {
	deep := strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001)
	in, err := ReadBytes([]byte(`{"eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","requestParameters":{"groupId":"sg-0123456789abcdef0","x":`+deep+`},"responseElements":`+deep+`}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := in.Next()
	if err != nil {
		t.Fatal(err)
	}
	d := r.Details()
	notes := strings.Join(d.Flaws, "; ")
	for _, want := range []string{"requestParameters: nested more than 10,000 levels deep: not read", "responseElements: nested more than 10,000 levels deep: not read"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
	if len(r.RequestParameters) != 0 || r.EventName.String() != "AuthorizeSecurityGroupIngress" {
		t.Errorf("eventName %q, requestParameters %.40q: want the record read, its requestParameters left out", r.EventName.String(), r.RequestParameters)
	}
}

// TestInputBroken: a break in the structure ends the input with a
// BrokenError, after the records before it; then io.EOF.
func TestInputBroken(t *testing.T) {
	in, _ := ReadBytes([]byte(`{"eventName":"A"}}{"eventName":"B"}`), nil)
	if r, err := in.Next(); err != nil || r.EventName.String() != "A" {
		t.Fatalf("first: %v, %v", r, err)
	}
	var broken *BrokenError
	if _, err := in.Next(); !errors.As(err, &broken) {
		t.Fatalf("then %v, want a BrokenError", err)
	}
	if _, err := in.Next(); err != io.EOF {
		t.Fatalf("then %v, want io.EOF", err)
	}
}

// TestInputGzip: gzip is read whatever the source; a corrupt header is an
// error at once, a stream cut short ends the input.
func TestInputGzip(t *testing.T) {
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write([]byte(`{"Records":[{"eventName":"A"},{"eventName":"B"}]}`))
	w.Close()
	if names, errs := readAllRecords(t, z.Bytes(), nil); strings.Join(names, ",") != "A,B" || errs != nil {
		t.Errorf("gzip: %q, %q", names, errs)
	}
	if _, err := ReadBytes([]byte("\x1f\x8bnot gzip at all"), nil); err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("corrupt header: %v", err)
	}
	if _, errs := readAllRecords(t, z.Bytes()[:z.Len()-12], nil); len(errs) != 1 || !strings.Contains(errs[0], "gzip") {
		t.Errorf("cut short: %q", errs)
	}
}

// TestSkip: with a pre-filter, what may hold a record of interest is
// decoded; a log file's other records are returned unread; a whole input
// is checked to be CloudTrail.
func TestSkip(t *testing.T) {
	mayHold := func(raw []byte) bool { return bytes.Contains(raw, []byte("DeleteSecurityGroup")) }
	call := `{"eventSource":"ec2.amazonaws.com","eventName":"DeleteSecurityGroup","requestParameters":{"groupId":"sg-1"}}`
	log := func(r string) string { return `{"Records":[` + r + `]}` }
	cases := []struct {
		in      string
		records string
		err     string
	}{
		{log(call), "DeleteSecurityGroup", ""},
		{call, "DeleteSecurityGroup", ""},
		{log(`{"eventName":"RunInstances"}`), "skip", ""},
		{log(`{"eventName":,}`), "skip", ""}, // unchecked, by choice
		{`{"eventName":"RunInstances"}`, "skip", ""},
		{`{"detail":{"eventName":"RunInstances"}}`, "skip", ""},
		{`{"Records":5}`, "", "CloudTrail log file"},
		{`{"eventName":,}`, "", "decode input"},
		{`{"foo":1}`, "", "unrecognised input"},
		{`{"event\u004eame":"RunInstances"}`, "RunInstances", ""}, // an escaped key: decoded
		{`[1]`, "", "input is a list"},
		{`nope`, "", "not JSON"},
	}
	for _, c := range cases {
		names, errs := readAllRecords(t, []byte(c.in), mayHold)
		got := strings.Join(names, ",")
		if got != c.records || (c.err == "") != (errs == nil) || (errs != nil && !strings.Contains(errs[0], c.err)) {
			t.Errorf("%s: records %q, errors %q; want %q, %q", c.in, got, errs, c.records, c.err)
		}
	}
}

// TestDetails: what a record's parts do not say as expected becomes a
// flaw, at most MaxFlaws of each part, counted in all.
func TestDetails(t *testing.T) {
	var ports strings.Builder
	for i := range 12 {
		if i > 0 {
			ports.WriteString(",")
		}
		ports.WriteString(`{"ipProtocol":"tcp","fromPort":"x","toPort":70000}`)
	}
	cases := []struct {
		rec    string
		flaws  []string
		count  int
		unread [2]bool
	}{
		{`{"eventName":"A","requestParameters":{"groupId":"sg-1"}}`, nil, 0, [2]bool{}},
		{`{"eventName":"A","requestParameters":[1],"responseElements":"x"}`,
			[]string{"requestParameters: want an object, got a list", "responseElements: want an object, got a string"}, 2, [2]bool{true, true}},
		{`{"eventName":"A","userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":"yes"}}}}`,
			[]string{`userIdentity.sessionContext.attributes.mfaAuthenticated: want a boolean, got "yes"`}, 1, [2]bool{}},
		{`{"eventName":"A","requestParameters":{"ipPermissions":{"items":[` + ports.String() + `]}}}`, nil, 24, [2]bool{}},
	}
	for _, c := range cases {
		in, _ := ReadBytes([]byte(c.rec), nil)
		r, err := in.Next()
		if err != nil {
			t.Fatal(err)
		}
		d := r.Details()
		if c.count == 24 { // many: capped
			if len(d.Flaws) != MaxFlaws || d.Count != 24 || !strings.HasPrefix(d.Flaws[0], `requestParameters.ipPermissions[0].fromPort: want a port number, got "x"`) {
				t.Errorf("%s: %d flaws of %d: %q", c.rec, len(d.Flaws), d.Count, d.Flaws)
			}
			continue
		}
		if strings.Join(d.Flaws, "|") != strings.Join(c.flaws, "|") || d.Count != c.count || [2]bool{d.Request.Unread, d.Response.Unread} != c.unread {
			t.Errorf("%s: flaws %q (%d), unread %v %v; want %q (%d), %v", c.rec, d.Flaws, d.Count, d.Request.Unread, d.Response.Unread, c.flaws, c.count, c.unread)
		}
	}
}
