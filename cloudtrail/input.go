// Package cloudtrail is sgwatch's one reader of CloudTrail input: it turns
// bytes or a stream (an EventBridge "AWS API Call via CloudTrail" event, a
// bare record, a log file, gzip, any number of these one after another)
// into records, one at a time (Input), leniently: a field of a shape
// CloudTrail does not document is read as unset and kept as a flaw, so
// that a record is never rejected for what it holds, and what could not be
// read is said (Record.Details). It knows no call: which records matter is
// its caller's to say (the pre-filter of Read).
package cloudtrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// ErrEmpty is an input with no value at all (CloudTrail never writes one).
var ErrEmpty = errors.New("empty input: want an EventBridge event, a CloudTrail record or a CloudTrail log file")

// Input is the one loop over what sgwatch reads: an EventBridge "AWS API
// Call via CloudTrail" event, a bare CloudTrail record, a CloudTrail log
// file ({"Records":[…]}), any number of these one after another, plain or
// gzip. Next returns its records one at a time, holding one in memory.
//
// Only what is not one of these shapes is an error (not JSON, not an
// object, a record that is not an object, a value over MaxRecord); each
// such error is returned in its place, and the records after it are still
// returned. A break in the input's structure, or a failed read, ends it: a
// *BrokenError, after which Next returns io.EOF.
type Input struct {
	rd *Reader
	// mayHold, when set, says whether a value may hold a record of
	// interest; one that certainly holds none is returned unread (Skip).
	mayHold func(raw []byte) bool
	// The records of the value being read, and its error, still to be
	// returned (a value can hold many records: a log file whose Records
	// array is not its first member).
	queue []Record
	err   error
	done  bool
}

// BrokenError is an input whose structure breaks, or that cannot be read
// on: what came before it was returned, nothing after it is.
type BrokenError struct{ Err error }

func (e *BrokenError) Error() string { return "decode input: " + e.Err.Error() }
func (e *BrokenError) Unwrap() error { return e.Err }

// Read returns the Input of src, decompressed when it is gzip (sniffed).
// A gzip stream whose header is corrupt is an error at once.
//
// mayHold, when not nil, is a pre-filter: Next decodes only the values it
// lets through, and returns each value it rules out as one Record with Skip
// set, unread (its syntax unchecked: the speed of a scan of CloudTrail
// history, where most records are of no interest). It must let through
// every value that holds a record of interest.
func Read(src io.Reader, mayHold func(raw []byte) bool) (*Input, error) {
	in, err := Decompress(src)
	if err != nil {
		return nil, err
	}
	return &Input{rd: NewReader(in), mayHold: mayHold}, nil
}

// ReadBytes is Read of data, read in place when it is not gzip (data must
// not change while the Input is in use).
func ReadBytes(data []byte, mayHold func(raw []byte) bool) (*Input, error) {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		return Read(bytes.NewReader(data), mayHold)
	}
	return &Input{rd: NewBytesReader(data), mayHold: mayHold}, nil
}

// Values is the number of top-level values (log files included) begun so
// far: 0 for an input of white space only.
func (in *Input) Values() int { return in.rd.Values() }

// Next returns the next record, or an error in its place (see Input), or
// io.EOF at the end.
func (in *Input) Next() (Record, error) {
	for {
		if len(in.queue) > 0 {
			r := in.queue[0]
			in.queue = in.queue[1:]
			return r, nil
		}
		if in.err != nil {
			err := in.err
			in.err = nil
			return Record{}, err
		}
		if in.done {
			return Record{}, io.EOF
		}
		it, err := in.rd.Next()
		var tooLong *RecordError
		switch {
		case err == io.EOF:
			in.done = true
			return Record{}, io.EOF
		case errors.As(err, &tooLong):
			return Record{}, err
		case err != nil:
			in.done = true
			return Record{}, &BrokenError{err}
		}
		if in.mayHold != nil && !in.mayHold(it.Raw) && skippable(it) {
			return Record{Skip: true}, nil
		}
		in.queue = in.queue[:0]
		in.err = in.value(it)
	}
}

// skippable reports whether a value the pre-filter ruled out can be
// skipped unread: any record of a log file; a whole input only when it is
// valid JSON and a record or an event, so that what is not CloudTrail (a
// log file not in CloudTrail's form, a shape sgwatch does not read) still
// gets its error.
func skippable(it Item) bool {
	if it.Record > 0 {
		return true
	}
	raw := bytes.TrimSpace(it.Raw)
	if len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
		return false
	}
	if v, ok := member(raw, "Records"); !ok || v != nil {
		return false
	}
	for _, k := range []string{"eventName", "eventSource", "detail"} {
		v, ok := member(raw, k)
		if !ok {
			return false // an escaped key: the decoder decides
		}
		if v != nil {
			return true
		}
	}
	return false
}

// value reads one value of the input into the queue: a record of a log
// file, or a whole input (an EventBridge event, a bare record, a log file
// not in CloudTrail's form). The error names what could not be read, with
// the record's number.
func (in *Input) value(it Item) error {
	if it.Record > 0 {
		if err := in.add(it.Raw, Envelope{}); err != nil {
			return fmt.Errorf("record %d: %w", it.Record, err)
		}
		return nil
	}
	return in.top(it.Raw)
}

// topValue is an input value decoded in one pass, whatever its shape: a
// bare record fills the embedded record, an EventBridge event its envelope
// and detail, a log file its Records.
type topValue struct {
	Record
	Records []json.RawMessage `json:"Records"`
	Detail  json.RawMessage   `json:"detail"`
	Account Text              `json:"account"`
	Region  Text              `json:"region"`
	Time    Text              `json:"time"`
}

// top reads one whole input value.
func (in *Input) top(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return ErrEmpty
	}
	if data[0] != '{' {
		what := kind(data)
		if !json.Valid(data) {
			what = "not JSON"
		}
		return fmt.Errorf("input is %s: want a JSON object (an EventBridge event, a CloudTrail record or a CloudTrail log file)", what)
	}
	var top topValue
	mark := flawsSeen.Load()
	err := json.Unmarshal(data, &top)
	var unread []string
	if tooDeep(err) {
		// Read what can be read; what cannot is a note on the finding.
		data, unread = salvage(data, "", "detail")
		top = topValue{}
		err = json.Unmarshal(data, &top)
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
	case !errors.As(err, &typeErr):
		return fmt.Errorf("decode input: %w", err)
	case top.Records != nil || typeErr.Field == "Records":
		return fmt.Errorf("CloudTrail log file: %w", err)
	case top.Detail == nil:
		// A bare record with a part that is not of its expected type: the
		// rest decoded, and the part is a note on the finding.
	default:
		typeErr = nil // the envelope's own fields are not read
	}
	switch {
	case top.Records != nil:
		var errs []error
		for i, r := range top.Records {
			if err := in.add(r, Envelope{}); err != nil {
				errs = append(errs, fmt.Errorf("record %d: %w", i+1, err))
			}
		}
		return errors.Join(errs...)
	case len(top.Detail) > 0:
		d := bytes.TrimSpace(top.Detail)
		if d[0] != '{' {
			if string(d) == "null" {
				return nil
			}
			return fmt.Errorf("EventBridge event: detail is %s, want an object", kind(d))
		}
		return in.add(d, Envelope{Account: top.Account.v, Region: top.Region.v, Time: top.Time.v}, unread...)
	case top.EventName.v != "" || top.EventSource.v != "":
		r := top.Record
		r.typeErr, r.mark, r.unread = typeErr, mark, unread
		in.queue = append(in.queue, r)
		return nil
	}
	return errors.New("unrecognised input: no \"detail\" (EventBridge event), \"eventName\" (CloudTrail record) or \"Records\" (CloudTrail log file)")
}

// add decodes one record into the queue, with the paths of what was left
// out of it already (unread). A record that is an EventBridge event (found
// in a log file's Records: a "detail" and no call of its own) is read as
// sgwatch reads events everywhere else: its detail, with its envelope; one
// that is a log file (Records), as its records. An object that is none of
// these and names no call is an error, not another service's call.
func (in *Input) add(raw []byte, env Envelope, unread ...string) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return fmt.Errorf("record is %s, want an object", kind(raw))
	}
	var r Record
	mark := flawsSeen.Load()
	err := json.Unmarshal(raw, &r)
	if tooDeep(err) {
		var more []string
		raw, more = salvage(raw, "", "")
		unread = append(unread, more...)
		r = Record{}
		err = json.Unmarshal(raw, &r)
	}
	var typeErr *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &typeErr) {
		return fmt.Errorf("decode record: %w", err)
	}
	if r.EventName.v == "" && r.EventSource.v == "" {
		if d, ok := member(raw, "detail"); ok && len(d) > 0 && d[0] == '{' && env == (Envelope{}) {
			var e struct{ Account, Region, Time Text }
			_ = json.Unmarshal(raw, &e)
			return in.add(d, Envelope{Account: e.Account.v, Region: e.Region.v, Time: e.Time.v}, unread...)
		}
		if rs, ok := member(raw, "Records"); ok && len(rs) > 0 && rs[0] == '[' {
			// A log file where a record should be: its records.
			var list []json.RawMessage
			if err := json.Unmarshal(rs, &list); err != nil {
				return fmt.Errorf("decode records: %w", err)
			}
			var errs []error
			for i, x := range list {
				if err := in.add(x, env); err != nil {
					errs = append(errs, fmt.Errorf("record %d: %w", i+1, err))
				}
			}
			return errors.Join(errs...)
		}
		// An empty object (a scheduled event's detail) names no call and
		// hides none; one with keys but no call is not a record.
		if len(bytes.TrimSpace(raw[1:len(raw)-1])) > 0 && len(unread) == 0 && typeErr == nil {
			return errors.New("record has no eventName or eventSource: not a CloudTrail record")
		}
	}
	r.Envelope, r.typeErr, r.mark, r.unread = env, typeErr, mark, unread
	in.queue = append(in.queue, r)
	return nil
}

// tooDeep reports whether err is encoding/json's refusal of a value
// nested more than 10,000 levels deep.
func tooDeep(err error) bool {
	var syntax *json.SyntaxError
	return errors.As(err, &syntax) && strings.Contains(syntax.Error(), "exceeded max depth")
}

// salvage returns the object obj without the members encoding/json cannot
// decode at all (nested too deep), and their paths; the member named
// descend, when it is such an object, is salvaged in turn rather than left
// out (an event's detail: its record is still read).
func salvage(obj []byte, path, descend string) ([]byte, []string) {
	var out bytes.Buffer
	var paths []string
	out.WriteByte('{')
	i := skipSpace(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		kEnd := valueEnd(obj, i)
		key := obj[i:kEnd]
		i = skipSpace(obj, skipSpace(obj, kEnd)+1) // past the colon
		vEnd := valueEnd(obj, i)
		val := obj[i:vEnd]
		name := strings.Trim(string(key), `"`)
		if path != "" {
			name = path + "." + name
		}
		switch {
		case json.Valid(val):
		case descend != "" && strings.EqualFold(strings.Trim(string(key), `"`), descend) && len(val) > 0 && val[0] == '{':
			var more []string
			val, more = salvage(val, name, "")
			paths = append(paths, more...)
		default:
			paths = append(paths, name)
			val = nil
		}
		if val != nil {
			if out.Len() > 1 {
				out.WriteByte(',')
			}
			out.Write(key)
			out.WriteByte(':')
			out.Write(val)
		}
		i = skipSpace(obj, vEnd)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	out.WriteByte('}')
	return out.Bytes(), paths
}

// MaxFlaws bounds the notes one part of a record gets for fields not
// understood.
const MaxFlaws = 10

// Details are a record's requestParameters and responseElements, decoded,
// and what of the record could not be read.
type Details struct {
	Request  Request
	Response Response
	// Flaws say what was not understood, as "path: what was wrong": at
	// most MaxFlaws for each of the record, its request and its response;
	// Count is how many there were in all.
	Flaws []string
	Count int
}

// Details decodes the record's requestParameters and responseElements as a
// security-group call's, and collects what of the record was not
// understood. A part that is not an object is Unread.
func (r *Record) Details() Details {
	var d Details
	note := func(ns []string, count int) {
		d.Flaws = append(d.Flaws, ns...)
		d.Count += count
	}
	for _, p := range r.unread {
		note([]string{p + ": nested more than 10,000 levels deep: not read"}, 1)
	}
	if r.typeErr != nil {
		note([]string{typeNote(r.typeErr)}, 1)
	}
	if err := decodeOptional(r.RequestParameters, &d.Request); err != nil {
		note([]string{"requestParameters: " + err.Error()}, 1)
		d.Request.Unread = true
	}
	if err := decodeOptional(r.ResponseElements, &d.Response); err != nil {
		note([]string{"responseElements: " + err.Error()}, 1)
		d.Response.Unread = true
	}
	for _, p := range r.unread { // left out as too deep: not read at all
		switch strings.TrimPrefix(p, "detail.") {
		case "requestParameters":
			d.Request.Unread = true
		case "responseElements":
			d.Response.Unread = true
		}
	}
	if flawsSeen.Load() != r.mark { // something was not understood: find it
		note(flaws(r, ""))
		note(flaws(&d.Request, "requestParameters"))
		note(flaws(&d.Response, "responseElements"))
	}
	return d
}

// IdentityUnread reports whether the part of the record's userIdentity
// that says who made the call (type, ARN, account, principal, access key,
// session issuer, invoking service) could not be read: it may then be
// anyone. The session's attributes (MFA, creation date) do not count.
func (r *Record) IdentityUnread() bool {
	at := func(path string) bool {
		path = strings.TrimPrefix(strings.ToLower(path), "detail.")
		return strings.HasPrefix(path, "useridentity") && !strings.HasPrefix(path, "useridentity.sessioncontext.attributes")
	}
	if r.typeErr != nil && at(r.typeErr.Field) {
		return true
	}
	for _, u := range r.unread {
		if at(u) {
			return true
		}
	}
	if flawsSeen.Load() == r.mark {
		return false
	}
	notes, n := flaws(&r.UserIdentity, "userIdentity")
	if n > len(notes) {
		return true // more than are listed: some may be
	}
	for _, note := range notes {
		if at(note) {
			return true
		}
	}
	return false
}

// typeNote describes a part of a record that was not of its expected type.
func typeNote(e *json.UnmarshalTypeError) string {
	field := strings.TrimPrefix(e.Field, "Record.")
	if field == "" {
		field = "record"
	}
	want := "an object"
	switch e.Type.Kind() {
	case reflect.Slice, reflect.Array:
		want = "a list"
	case reflect.String:
		want = "a string"
	case reflect.Bool:
		want = "a boolean"
	case reflect.Int, reflect.Int64, reflect.Float64:
		want = "a number"
	}
	return fmt.Sprintf("%s: want %s, got %s", field, want, e.Value)
}

// decodeOptional decodes b into v; null or absent leaves v zero. Only a
// value that is not an object is an error: the types of v read anything.
func decodeOptional(b json.RawMessage, v any) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] != '{' {
		return fmt.Errorf("want an object, got %s", kind(b))
	}
	err := json.Unmarshal(b, v)
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return errors.New(typeNote(typeErr))
	}
	return err
}
