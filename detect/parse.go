package detect

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

// envelope carries the fields of an EventBridge event that fill in what a
// CloudTrail record leaves out (redacted records omit region and account).
type envelope struct {
	Account string
	Region  string
	Time    string
}

// Batch is what one input holds: a finding for each security-group call,
// and the records of other calls, counted.
type Batch struct {
	Findings []Finding
	// Others counts the records that are not security-group calls; Other
	// names the first of them (for a log line).
	Others int
	Other  Other
}

// Other names a record that is not a security-group call.
type Other struct {
	Name, Source string
}

// Parse reads an EventBridge "AWS API Call via CloudTrail" event, a bare
// CloudTrail record, or a CloudTrail log file ({"Records":[…]}, plain or
// gzip), and returns one finding for each security-group call in it, scored
// with the default Options. See Options.Parse.
func Parse(data []byte) ([]Finding, error) {
	b, err := Options{}.Parse(data)
	return b.Findings, err
}

// Parse reads an EventBridge "AWS API Call via CloudTrail" event, a bare
// CloudTrail record, or a CloudTrail log file ({"Records":[…]}, plain or
// gzip), and returns a finding, scored under o, for each security-group call
// in it. Records of other calls are counted, never rejected. Only input that
// is not one of these shapes (not JSON, not an object, a record that is not
// an object) is an error; in a log file the findings of the good records are
// returned with it. A security-group record with fields that cannot be read
// still gives its finding: what was not understood is a note on it, and the
// score fails closed.
func (o Options) Parse(data []byte) (Batch, error) {
	var b Batch
	rd := NewBytesReader(data)
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		src, err := Decompress(bytes.NewReader(data))
		if err != nil {
			return b, err
		}
		rd = NewReader(src)
	}
	var errs []error
	for {
		it, err := rd.Next()
		if err == io.EOF {
			break
		}
		var tooLong *RecordError
		if errors.As(err, &tooLong) {
			errs = append(errs, err)
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("decode input: %w", err))
			break
		}
		if err := o.Item(&b, it); err != nil {
			errs = append(errs, err)
		}
	}
	if rd.Values() == 0 && len(errs) == 0 {
		return b, ErrEmpty
	}
	return b, errors.Join(errs...)
}

// Item reads one value of an input, as a Reader returns it, into b: a
// record of a log file, or a whole input (an EventBridge event, a bare
// record, a log file not in CloudTrail's form). Records of other calls are
// counted; the error names what could not be read, with the record's number.
func (o Options) Item(b *Batch, it Item) error {
	if it.Record > 0 {
		if err := o.add(b, it.Raw, envelope{}); err != nil {
			return fmt.Errorf("record %d: %w", it.Record, err)
		}
		return nil
	}
	return o.top(b, it.Raw)
}

// top reads one whole input value into b.
func (o Options) top(b *Batch, data []byte) error {
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
	// One pass decodes every shape: a bare record fills the embedded record,
	// an EventBridge event its envelope and detail, a log file its Records.
	var top struct {
		record
		Records []json.RawMessage `json:"Records"`
		Detail  json.RawMessage   `json:"detail"`
		Account text              `json:"account"`
		Region  text              `json:"region"`
		Time    text              `json:"time"`
	}
	mark := flawsSeen.Load()
	err := json.Unmarshal(data, &top)
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
			if err := o.add(b, r, envelope{}); err != nil {
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
		return o.add(b, d, envelope{Account: top.Account.v, Region: top.Region.v, Time: top.Time.v})
	case top.EventName.v != "" || top.EventSource.v != "":
		b.collect(o.analyze(&top.record, envelope{}, typeErr, mark))
		return nil
	}
	return errors.New("unrecognised input: no \"detail\" (EventBridge event), \"eventName\" (CloudTrail record) or \"Records\" (CloudTrail log file)")
}

// add decodes one record and adds what it is to b.
func (o Options) add(b *Batch, raw []byte, env envelope) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return fmt.Errorf("record is %s, want an object", kind(raw))
	}
	var rec record
	mark := flawsSeen.Load()
	err := json.Unmarshal(raw, &rec)
	var typeErr *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &typeErr) {
		return fmt.Errorf("decode record: %w", err)
	}
	b.collect(o.analyze(&rec, env, typeErr, mark))
	return nil
}

func (b *Batch) collect(f *Finding, other Other) {
	if f != nil {
		b.Findings = append(b.Findings, *f)
		return
	}
	if b.Others == 0 {
		b.Other = other
	}
	b.Others++
}

// analyze turns one CloudTrail record into a finding, or returns nil and
// the call's name for a record that is not a security-group call. env may
// be zero; typeErr is a part of the record that was not of its expected
// type (the rest decoded).
func (o Options) analyze(rec *record, env envelope, typeErr *json.UnmarshalTypeError, mark int64) (*Finding, Other) {
	c := rec.header.call()
	if c == nil {
		return nil, Other{Name: rec.EventName.v, Source: rec.EventSource.v}
	}
	var notes []string
	n := 0
	note := func(ns []string, count int) {
		notes = append(notes, ns...)
		n += count
	}
	if typeErr != nil {
		note([]string{typeNote(typeErr)}, 1)
	}
	var p params
	if err := decodeOptional(rec.RequestParameters, &p); err != nil {
		note([]string{"requestParameters: " + err.Error()}, 1)
		p.unread = true
	}
	var resp response
	if err := decodeOptional(rec.ResponseElements, &resp); err != nil {
		note([]string{"responseElements: " + err.Error()}, 1)
		resp.unread = true
	}
	if flawsSeen.Load() != mark { // something was not understood: find it
		note(flaws(rec, ""))
		note(flaws(&p, "requestParameters"))
		note(flaws(&resp, "responseElements"))
	}

	f := &Finding{
		Action:  c.Action,
		Outcome: outcome(rec.ErrorCode.v),
		Event: Event{
			ID:            rec.EventID.v,
			Name:          c.Name,
			Time:          first(rec.EventTime.v, env.Time),
			Region:        first(rec.AWSRegion.v, env.Region),
			AccountID:     first(rec.RecipientAccountID.v, env.Account, rec.UserIdentity.AccountID.v),
			CallerAccount: rec.RecipientAccountID.v == "" && env.Account == "",
			RequestID:     rec.RequestID.v,
		},
		Actor: actor(rec),
	}
	if rec.ErrorCode.v != "" || rec.ErrorMessage.v != "" {
		f.Error = &CallError{Code: rec.ErrorCode.v, Message: rec.ErrorMessage.v}
	}
	f.SecurityGroup = SecurityGroup{
		ID:          p.GroupID.v,
		Name:        p.GroupName.v,
		VPCID:       p.VPCID.v,
		Description: p.GroupDescription.v,
	}
	if p.Modify != nil && f.SecurityGroup.ID == "" {
		f.SecurityGroup.ID = p.Modify.GroupID.v
	}
	for _, v := range []*vpcRequest{p.Associate, p.Disassociate} {
		if v != nil {
			f.SecurityGroup.ID = first(f.SecurityGroup.ID, v.GroupID.v)
			f.SecurityGroup.VPCID = first(f.SecurityGroup.VPCID, v.VPCID.v)
		}
	}
	if f.SecurityGroup.ID == "" {
		f.SecurityGroup.ID = resp.GroupID.v
	}
	if f.SecurityGroup.ID == "" {
		for _, r := range resp.RuleSet.items {
			if r.GroupID.v != "" {
				f.SecurityGroup.ID = r.GroupID.v
				break
			}
		}
	}
	var known bool
	f.Rules, known = rules(c, p, resp)
	for i, s := range notes {
		f.Notes = append(f.Notes, "not understood: "+s)
		if i == len(notes)-1 && n > len(notes) {
			f.Notes = append(f.Notes, fmt.Sprintf("not understood: %d more fields", n-len(notes)))
		}
	}
	o.Score(f)
	f.Undo = undo(f, c, known)
	return f, Other{}
}

// typeNote describes a part of a record that was not of its expected type.
func typeNote(e *json.UnmarshalTypeError) string {
	field := strings.TrimPrefix(e.Field, "record.")
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

func outcome(code string) Outcome {
	switch {
	case code == "":
		return Succeeded
	case strings.HasSuffix(code, "DryRunOperation"):
		return DryRun
	}
	return Failed
}

func actor(rec *record) Actor {
	id := rec.UserIdentity
	a := Actor{
		Type:             id.Type.v,
		ARN:              id.ARN.v,
		AccountID:        id.AccountID.v,
		PrincipalID:      id.PrincipalID.v,
		UserName:         id.UserName.v,
		AccessKeyID:      id.AccessKeyID.v,
		SessionIssuerARN: id.SessionContext.SessionIssuer.ARN.v,
		SourceIP:         rec.SourceIPAddress.v,
		UserAgent:        rec.UserAgent.v,
		InvokedBy:        id.InvokedBy.v,
	}
	if m := id.SessionContext.Attributes.MFAAuthenticated; m.Set {
		v := m.Value
		a.MFAAuthenticated = &v
	}
	switch {
	case strings.HasPrefix(a.AccessKeyID, "AKIA"):
		a.CredentialType = LongTerm
	case strings.HasPrefix(a.AccessKeyID, "ASIA"):
		a.CredentialType = Temporary
	}
	ua := strings.ToLower(a.UserAgent)
	a.Console = rec.FromConsole.Value || strings.Contains(ua, "console.amazonaws.com") ||
		strings.Contains(ua, "console.ec2.amazonaws.com") || strings.Contains(ua, "signin.amazonaws.com")
	return a
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
