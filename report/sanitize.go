package report

import (
	"slices"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// sanitize returns a copy of f with every string cleaned: the one source of
// the text body and the JSON body, so no path renders raw record text.
func sanitize(f detect.Finding) detect.Finding {
	c := func(s *string) { *s = clean.Line(*s, maxField) }
	for _, s := range []*string{(*string)(&f.Action), (*string)(&f.Outcome), (*string)(&f.Severity),
		(*string)(&f.SeverityBeforeAutomation), &f.Automation} {
		c(s)
	}
	e := &f.Event
	for _, s := range []*string{&e.ID, &e.Name, &e.Time, &e.Region, &e.AccountID, &e.AccountName, &e.RequestID} {
		c(s)
	}
	a := &f.Actor
	for _, s := range []*string{&a.Type, &a.ARN, &a.AccountID, &a.PrincipalID, &a.UserName, &a.AccessKeyID,
		&a.CredentialType, &a.SessionIssuerARN, &a.SourceIP, &a.UserAgent, &a.InvokedBy} {
		c(s)
	}
	g := &f.SecurityGroup
	for _, s := range []*string{&g.ID, &g.Name, &g.VPCID, &g.Description} {
		c(s)
	}
	if g.Tags != nil {
		tags := make(map[string]string, len(g.Tags))
		for k, v := range g.Tags {
			tags[clean.Line(k, maxField)] = clean.Line(v, maxField)
		}
		g.Tags = tags
	}
	f.Reasons = cleanAll(f.Reasons)
	f.Notes = cleanAll(f.Notes)
	if f.Attach != nil {
		a := *f.Attach
		c(&a.InstanceID)
		c(&a.NetworkInterfaceID)
		a.Groups = cleanAll(a.Groups)
		f.Attach = &a
	}
	if f.List != nil {
		l := *f.List
		c(&l.ID)
		c(&l.Name)
		l.Added, l.Removed = cleanAll(l.Added), cleanAll(l.Removed)
		f.List = &l
	}
	if f.Tags != nil {
		t := *f.Tags
		t.Resources = cleanAll(t.Resources)
		t.Tags = slices.Clone(t.Tags)
		for i := range t.Tags {
			c(&t.Tags[i].Key)
			c(&t.Tags[i].Value)
		}
		f.Tags = &t
	}
	if f.BlockPublicAccess != nil {
		b := *f.BlockPublicAccess
		for _, s := range []*string{&b.Mode, &b.SubnetID, &b.VPCID, &b.ExclusionMode, &b.ExclusionID} {
			c(s)
		}
		f.BlockPublicAccess = &b
	}
	if f.Context != nil {
		x := *f.Context
		x.Interfaces, x.Groups, x.Together = cleanAll(x.Interfaces), cleanAll(x.Groups), cleanAll(x.Together)
		f.Context = &x
	}
	if f.Reachability != nil {
		r := *f.Reachability
		if !r.Grade.Valid() {
			r.Grade = detect.GradeUnknown
		}
		c(&r.Why)
		r.Notes = cleanAll(r.Notes)
		r.Interfaces = slices.Clone(r.Interfaces)
		for i := range r.Interfaces {
			ni := &r.Interfaces[i]
			for _, s := range []*string{&ni.ID, &ni.Type, &ni.Resource, &ni.PublicIPv4, &ni.SubnetID, &ni.VPCID, &ni.LoadBalancer} {
				c(s)
			}
		}
		r.LoadBalancers = slices.Clone(r.LoadBalancers)
		for i := range r.LoadBalancers {
			c(&r.LoadBalancers[i].Name)
		}
		f.Reachability = &r
	}
	f.Live = nil
	f.Rules = append([]detect.Rule(nil), f.Rules...)
	for i := range f.Rules {
		r := &f.Rules[i]
		for _, s := range []*string{(*string)(&r.Direction), &r.Protocol, &r.CIDRIPv4, &r.CIDRIPv6, &r.PrefixListID,
			&r.ReferencedGroupID, &r.ReferencedGroupOwnerID, &r.Description, &r.RuleID, &r.Exposure} {
			c(s)
		}
	}
	if f.Error != nil {
		e := *f.Error
		c(&e.Code)
		c(&e.Message)
		f.Error = &e
	}
	if f.Sweep != nil {
		w := *f.Sweep
		for _, s := range []*string{&w.Key, &w.FoundAt, &w.FirstSeen, &w.Published, (*string)(&w.Was)} {
			c(s)
		}
		if w.Created != nil {
			cr := *w.Created
			for _, s := range []*string{&cr.EventID, &cr.EventName, &cr.Time} {
				c(s)
			}
			w.Created = &cr
		}
		f.Sweep = &w
	}
	if f.Revert != nil {
		v := *f.Revert
		// The commands are built by detect from validated values: whole.
		v.Approve = clean.Line(v.Approve, len(v.Approve))
		v.Reopen = clean.Line(v.Reopen, len(v.Reopen))
		for _, s := range []*string{(*string)(&v.Status), &v.At, &v.Why, &v.Reread} {
			c(s)
		}
		v.Rules = cleanAll(v.Rules)
		f.Revert = &v
	}
	if f.Undo != nil {
		u := *f.Undo
		// Built by detect only from validated values, so never cut: it must
		// paste whole. The fitting drops it rather than cut it.
		u.Command = clean.Line(u.Command, len(u.Command))
		u.Note = clean.Line(u.Note, maxNote)
		if !awsid.IsAccountID(u.Account) { // only an account id is named
			u.Account = ""
		}
		f.Undo = &u
	}
	return f
}

// cleanAll returns a cleaned copy of list (nil stays nil).
func cleanAll(list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = clean.Line(s, maxField)
	}
	return out
}
