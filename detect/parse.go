package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/cloudtrail"
)

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

// Parse reads data, an EventBridge "AWS API Call via CloudTrail" event, a
// bare CloudTrail record, or a CloudTrail log file ({"Records":[…]}, plain
// or gzip), with package cloudtrail, and returns a finding, scored under
// s, for each security-group call in it. Records of other calls are
// counted, never rejected. Only input that is not one of these shapes is an
// error (see cloudtrail.Input), and the findings of the good records are
// returned with it.
func Parse(data []byte, s Scoring) (Batch, error) {
	var b Batch
	in, err := cloudtrail.ReadBytes(data, nil)
	if err != nil {
		return b, err
	}
	var errs []error
	for {
		rec, err := in.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		b.Add(&rec, s)
	}
	if in.Values() == 0 && len(errs) == 0 {
		return b, cloudtrail.ErrEmpty
	}
	return b, errors.Join(errs...)
}

// Add adds what rec is to b: its finding, scored under s, or one more
// record of another call.
func (b *Batch) Add(rec *cloudtrail.Record, s Scoring) {
	if f, ok := Analyze(rec, s); ok {
		b.Findings = append(b.Findings, f)
		return
	}
	if b.Others == 0 && !rec.Skip {
		b.Other = Other{Name: rec.EventName.String(), Source: rec.EventSource.String()}
	}
	b.Others++
}

// Analyze turns one CloudTrail record into its finding, scored under s,
// or reports false for a record that is not a security-group call. A
// record with fields that cannot be read still gives its finding: what was
// not understood is a note on it, and the score fails closed.
func Analyze(rec *cloudtrail.Record, s Scoring) (Finding, bool) {
	if rec.Skip {
		return Finding{}, false
	}
	c := callOf(rec.Header)
	if c == nil {
		return Finding{}, false
	}
	d := rec.Details()
	p, resp, env := d.Request, d.Response, rec.Envelope

	f := Finding{
		Action:  c.Action,
		Outcome: outcome(rec.ErrorCode.String()),
		Event: Event{
			ID:            rec.EventID.String(),
			Name:          c.Name,
			Time:          first(rec.EventTime.String(), env.Time),
			Region:        first(rec.AWSRegion.String(), env.Region),
			AccountID:     first(rec.RecipientAccountID.String(), env.Account, rec.UserIdentity.AccountID.String()),
			CallerAccount: rec.RecipientAccountID.String() == "" && env.Account == "",
			RequestID:     rec.RequestID.String(),
		},
		Actor: actor(rec),
	}
	if code, msg := rec.ErrorCode.String(), rec.ErrorMessage.String(); code != "" || msg != "" {
		f.Error = &CallError{Code: code, Message: msg}
	}
	f.SecurityGroup = SecurityGroup{
		ID:          p.GroupID.String(),
		Name:        p.GroupName.String(),
		VPCID:       p.VPCID.String(),
		Description: p.GroupDescription.String(),
	}
	if p.Modify != nil && f.SecurityGroup.ID == "" {
		f.SecurityGroup.ID = p.Modify.GroupID.String()
	}
	for _, v := range []*cloudtrail.VPCRequest{p.Associate, p.Disassociate} {
		if v != nil {
			f.SecurityGroup.ID = first(f.SecurityGroup.ID, v.GroupID.String())
			f.SecurityGroup.VPCID = first(f.SecurityGroup.VPCID, v.VPCID.String())
		}
	}
	if f.SecurityGroup.ID == "" {
		f.SecurityGroup.ID = resp.GroupID.String()
	}
	if f.SecurityGroup.ID == "" {
		for _, r := range resp.RuleSet.Items() {
			if id := r.GroupID.String(); id != "" {
				f.SecurityGroup.ID = id
				break
			}
		}
	}
	switch c.Effect {
	case AttachesGroups:
		a := &Attach{InstanceID: p.InstanceID.String(), NetworkInterfaceID: p.NetworkInterfaceID.String(), Groups: []string{}}
		for _, g := range p.GroupSet.Items() {
			a.Groups = append(a.Groups, g.GroupID.String())
		}
		if len(p.GroupSet.Items()) == 0 && p.GroupSet.Flaw() == "" {
			if (len(rec.RequestParameters) > 0 || !p.Unread) && !containsFold(rec.RequestParameters, "roup") {
				// ModifyInstanceAttribute of another attribute (instance
				// type, user data…): not a security-group call. Nothing in
				// the parameters can be a group set, whatever else of the
				// record could not be read (MayBeCall decides alike).
				return Finding{}, false
			}
			// A group set is there, or may be, but could not be read.
			a.Unread = true
		}
		f.Attach = a
	case ChangesList:
		f.List = listChange(p, resp, rec.RequestParameters, c.Name)
	case OnGroup:
		if c.Action == Create {
			f.Tags = createdTags(p, f.SecurityGroup.ID)
		}
	case ChangesTags:
		if f.Tags = tagChange(p); f.Tags == nil {
			// No sgwatch tag on a group or rule: not sgwatch's.
			return Finding{}, false
		}
		f.SecurityGroup.ID = first(slices.DeleteFunc(slices.Clone(f.Tags.Resources), func(id string) bool { return !awsid.IsGroupID(id) })...)
	case ChangesBlockPublicAccess:
		b := p.BPA()
		f.BlockPublicAccess = &BPAChange{Mode: b.InternetGatewayBlockMode.String(), SubnetID: b.SubnetID.String(), VPCID: b.VPCID.String(),
			ExclusionMode: b.InternetGatewayExclusionMode.String(), ExclusionID: resp.ExclusionID()}
		if c.Name == "CreateVpcBlockPublicAccessExclusion" && f.BlockPublicAccess.ExclusionMode == "" {
			f.BlockPublicAccess.ExclusionMode = "not read"
		}
	}
	rs, known, notes := rules(c, p, resp)
	foreignOwners(rs, f.Event.AccountID)
	f.Rules = rs
	if c.Effect == AddsRules {
		f.Tags = ruleTags(p, rs) // an approval set on the rules it creates
	}
	for i, n := range d.Flaws {
		f.Notes = append(f.Notes, "not understood: "+n)
		if i == len(d.Flaws)-1 && d.Count > len(d.Flaws) {
			f.Notes = append(f.Notes, fmt.Sprintf("not understood: %d more fields", d.Count-len(d.Flaws)))
		}
	}
	f.Notes = append(f.Notes, notes...)
	s.Score(&f)
	f.Undo = undo(&f, c, known)
	return f, true
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

func actor(rec *cloudtrail.Record) Actor {
	id := rec.UserIdentity
	a := Actor{
		Type:             id.Type.String(),
		ARN:              id.ARN.String(),
		AccountID:        id.AccountID.String(),
		PrincipalID:      id.PrincipalID.String(),
		UserName:         id.UserName.String(),
		AccessKeyID:      id.AccessKeyID.String(),
		SessionIssuerARN: id.SessionContext.SessionIssuer.ARN.String(),
		SourceIP:         rec.SourceIPAddress.String(),
		UserAgent:        rec.UserAgent.String(),
		InvokedBy:        id.InvokedBy.String(),
		Unread:           rec.IdentityUnread(),
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

// listChange reads what the managed prefix list call name changed from its
// request, flat or wrapped (raw is the request as the record holds it),
// and the list's id: a created list's from the response only, since the
// request of CreateManagedPrefixList names none.
func listChange(p cloudtrail.Request, resp cloudtrail.Response, raw json.RawMessage, name string) *ListChange {
	l := &ListChange{Unread: unknownKeys(raw)}
	renamed := false
	for _, r := range p.Lists() {
		renamed = renamed || r.PrefixListName.String() != ""
		if name != "CreateManagedPrefixList" {
			l.ID = first(l.ID, r.PrefixListID.String())
		}
		l.Name = first(l.Name, r.PrefixListName.String())
		for _, e := range append(r.Entry.Items(), r.AddEntry.Items()...) {
			if c := e.CIDR.String(); c != "" {
				l.Added = append(l.Added, c)
			} else {
				l.Unread = true
			}
		}
		for _, e := range r.RemoveEntry.Items() {
			l.Removed = append(l.Removed, e.CIDR.String())
		}
		if r.Entry.Flaw() != "" || r.AddEntry.Flaw() != "" {
			l.Unread = true
		}
	}
	for _, r := range resp.Lists() {
		l.ID = first(l.ID, r.PrefixListID.String())
		l.Name = first(l.Name, r.PrefixListName.String())
	}
	// No public record shows these calls: a modify that names no entry
	// (and is not a rename) may hold them under keys not read.
	if name == "ModifyManagedPrefixList" && len(l.Added) == 0 && len(l.Removed) == 0 && !renamed {
		l.Unread = true
	}
	return l
}

// listKeys are the request parameters of the prefix list calls, lower
// case, and the objects that wrap them.
var listKeys = map[string]bool{
	"prefixlistid": true, "prefixlistname": true, "entry": true, "addentry": true, "removeentry": true,
	"currentversion": true, "previousversion": true, "maxentries": true, "addressfamily": true,
	"tagspecification": true, "clienttoken": true, "dryrun": true,
}

var listWrappers = map[string]bool{
	"createmanagedprefixlistrequest": true, "modifymanagedprefixlistrequest": true, "restoremanagedprefixlistversionrequest": true,
}

// unknownKeys reports whether a prefix list call's request holds a key
// sgwatch does not read, flat or in its wrapper: what it holds may be an
// entry (no public record shows these calls' shape).
func unknownKeys(raw json.RawMessage) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return len(raw) > 0 && string(raw) != "null"
	}
	for k, v := range top {
		k = strings.ToLower(k)
		switch {
		case listKeys[k]:
		case listWrappers[k]:
			var in map[string]json.RawMessage
			if json.Unmarshal(v, &in) != nil {
				return true
			}
			for ik := range in {
				if !listKeys[strings.ToLower(ik)] {
					return true
				}
			}
		default:
			return true
		}
	}
	return false
}
