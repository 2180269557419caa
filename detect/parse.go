package detect

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// calls maps every security-group API call sgwatch reports to its action.
var calls = map[string]Action{
	"CreateSecurityGroup":                        Create,
	"DeleteSecurityGroup":                        Delete,
	"AuthorizeSecurityGroupIngress":              Modify,
	"AuthorizeSecurityGroupEgress":               Modify,
	"RevokeSecurityGroupIngress":                 Modify,
	"RevokeSecurityGroupEgress":                  Modify,
	"ModifySecurityGroupRules":                   Modify,
	"UpdateSecurityGroupRuleDescriptionsIngress": Modify,
	"UpdateSecurityGroupRuleDescriptionsEgress":  Modify,
	"AssociateSecurityGroupVpc":                  Modify,
	"DisassociateSecurityGroupVpc":               Modify,
}

// EventSource is the CloudTrail eventSource of every call sgwatch reports.
const EventSource = "ec2.amazonaws.com"

// Calls returns the names of the API calls sgwatch reports, sorted.
func Calls() []string {
	names := make([]string, 0, len(calls))
	for n := range calls {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// MaxInput bounds a decompressed input (CloudTrail log files are far smaller).
const MaxInput = 256 << 20

// Envelope carries the fields of an EventBridge event that fill in what a
// CloudTrail record leaves out (redacted records omit region and account).
type Envelope struct {
	Account string
	Region  string
	Time    string
}

// Parse reads an EventBridge "AWS API Call via CloudTrail" event, a bare
// CloudTrail record, or a CloudTrail log file ({"Records":[…]}, plain or
// gzip), and returns one finding for each security-group call in it. Other
// records yield no finding and no error. Input that is not one of these
// shapes, or a security-group record that cannot be decoded, is an error; in a
// log file the findings of the good records are returned with it. Findings
// are scored with the default Options.
func Parse(data []byte) ([]Finding, error) { return Options{}.Parse(data) }

// Parse is Parse with findings scored under o.
func (o Options) Parse(data []byte) ([]Finding, error) {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		data, err = io.ReadAll(io.LimitReader(zr, MaxInput+1))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		if len(data) > MaxInput {
			return nil, fmt.Errorf("gzip: decompressed input exceeds %d bytes", MaxInput)
		}
	}
	data = bytes.TrimPrefix(bytes.TrimSpace(data), []byte("\xef\xbb\xbf"))
	if len(data) == 0 {
		return nil, errors.New("empty input: want an EventBridge event, a CloudTrail record or a CloudTrail log file")
	}
	if data[0] != '{' {
		return nil, fmt.Errorf("input is %s: want a JSON object (an EventBridge event, a CloudTrail record or a CloudTrail log file)", kind(data))
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
	if err := json.Unmarshal(data, &top); err != nil {
		// Something did not decode. A bare record goes to analyzeRaw, which
		// forgives records of other calls; any other shape is an error.
		var shape struct {
			Records, Detail json.RawMessage
		}
		if json.Unmarshal(data, &shape) == nil && shape.Records == nil && shape.Detail == nil {
			return one(o.analyzeRaw(data, Envelope{}))
		}
		return nil, fmt.Errorf("decode input: %w", err)
	}
	switch {
	case top.Records != nil:
		var out []Finding
		var errs []error
		for i, r := range top.Records {
			f, err := o.analyzeRaw(r, Envelope{})
			if err != nil {
				errs = append(errs, fmt.Errorf("record %d: %w", i, err))
				continue
			}
			if f != nil {
				out = append(out, *f)
			}
		}
		return out, errors.Join(errs...)
	case len(top.Detail) > 0:
		d := bytes.TrimSpace(top.Detail)
		if d[0] != '{' {
			if string(d) == "null" {
				return nil, nil
			}
			return nil, fmt.Errorf("EventBridge event: detail is %s, want an object", kind(d))
		}
		return one(o.analyzeRaw(d, Envelope{Account: string(top.Account), Region: string(top.Region), Time: string(top.Time)}))
	case top.EventName != "":
		return one(o.analyze(&top.record, Envelope{}))
	}
	return nil, errors.New("unrecognised input: no \"detail\" (EventBridge event), \"eventName\" (CloudTrail record) or \"Records\" (CloudTrail log file)")
}

// one turns analyzeRaw's answer for a single record into Parse's.
func one(f *Finding, err error) ([]Finding, error) {
	if err != nil || f == nil {
		return nil, err
	}
	return []Finding{*f}, nil
}

// analyzeRaw turns one CloudTrail record into a finding, or returns nil for
// a record that is not a security-group call. env may be zero.
func (o Options) analyzeRaw(raw []byte, env Envelope) (*Finding, error) {
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		// Only a security-group record must decode whole.
		var h header
		if json.Unmarshal(raw, &h) != nil {
			return nil, fmt.Errorf("decode record: %w", err)
		}
		if !h.isSecurityGroupCall() {
			return nil, nil
		}
		return nil, fmt.Errorf("%s record: %w", h.EventName, err)
	}
	return o.analyze(&rec, env)
}

func (o Options) analyze(rec *record, env Envelope) (*Finding, error) {
	if !rec.header.isSecurityGroupCall() {
		return nil, nil
	}
	name := string(rec.EventName)
	var p params
	if err := decodeOptional(rec.RequestParameters, &p); err != nil {
		return nil, fmt.Errorf("%s record: requestParameters: %w", name, err)
	}
	var resp response
	if err := decodeOptional(rec.ResponseElements, &resp); err != nil {
		return nil, fmt.Errorf("%s record: responseElements: %w", name, err)
	}

	f := &Finding{
		Action:  calls[name],
		Outcome: outcome(string(rec.ErrorCode)),
		Event: Event{
			ID:        string(rec.EventID),
			Name:      name,
			Time:      first(string(rec.EventTime), env.Time),
			Region:    first(string(rec.AWSRegion), env.Region),
			AccountID: first(string(rec.RecipientAccountID), env.Account, string(rec.UserIdentity.AccountID)),
			RequestID: string(rec.RequestID),
		},
		Actor: actor(rec),
	}
	if rec.ErrorCode != "" || rec.ErrorMessage != "" {
		f.Error = &CallError{Code: string(rec.ErrorCode), Message: string(rec.ErrorMessage)}
	}
	f.SecurityGroup = SecurityGroup{
		ID:          string(p.GroupID),
		Name:        string(p.GroupName),
		VPCID:       string(p.VPCID),
		Description: string(p.GroupDescription),
	}
	if p.Modify != nil && f.SecurityGroup.ID == "" {
		f.SecurityGroup.ID = string(p.Modify.GroupID)
	}
	for _, v := range []*vpcRequest{p.Associate, p.Disassociate} {
		if v != nil {
			f.SecurityGroup.ID = first(f.SecurityGroup.ID, string(v.GroupID))
			f.SecurityGroup.VPCID = first(f.SecurityGroup.VPCID, string(v.VPCID))
		}
	}
	if f.SecurityGroup.ID == "" {
		f.SecurityGroup.ID = string(resp.GroupID)
	}
	if f.SecurityGroup.ID == "" {
		for _, r := range resp.RuleSet {
			if r.GroupID != "" {
				f.SecurityGroup.ID = string(r.GroupID)
				break
			}
		}
	}
	f.Rules = rules(name, p, resp)
	o.apply(f)
	f.Undo = undo(f)
	return f, nil
}

// decodeOptional decodes b into v; null or absent leaves v zero.
func decodeOptional(b json.RawMessage, v any) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] != '{' {
		return fmt.Errorf("is %s, want an object", kind(b))
	}
	return json.Unmarshal(b, v)
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
		Type:             string(id.Type),
		ARN:              string(id.ARN),
		AccountID:        string(id.AccountID),
		PrincipalID:      string(id.PrincipalID),
		UserName:         string(id.UserName),
		AccessKeyID:      string(id.AccessKeyID),
		SessionIssuerARN: string(id.SessionContext.SessionIssuer.ARN),
		SourceIP:         string(rec.SourceIPAddress),
		UserAgent:        string(rec.UserAgent),
		InvokedBy:        string(id.InvokedBy),
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
