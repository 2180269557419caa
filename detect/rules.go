package detect

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/cloudtrail"
)

// rules lists the rules a call names, one per source, from the request and
// the response. known reports, for a call that removes rules, whether the
// record says which of them existed (so that an undo can restore exactly
// those).
//
// Rules AWS returned with ids are matched to the request's rules by
// content, in one pass. A rule whose parts could not be read keeps what
// could be, and a permission or source list that could not be read at all
// gives a rule with no source: the score counts either as the widest it
// could be.
func rules(c *Call, p cloudtrail.Request, resp cloudtrail.Response) (out []Rule, known bool, notes []string) {
	dir := c.Direction
	switch c.Effect {
	case OnGroup:
		return nil, true, nil
	case AddsRules, ChangesRules, RemovesRules, DescribesRules:
	}
	if p.Unread {
		out = append(out, Rule{Direction: dir})
	}
	if p.Modify != nil {
		for _, e := range p.Modify.SecurityGroupRule.Items() {
			s := e.SecurityGroupRule
			r := Rule{
				Protocol:          protocol(s.IPProtocol.String()),
				CIDRIPv4:          s.CIDRIPv4.String(),
				CIDRIPv6:          s.CIDRIPv6.String(),
				PrefixListID:      s.PrefixListID.String(),
				ReferencedGroupID: s.ReferencedGroupID.String(),
				Description:       s.Description.String(),
				RuleID:            e.SecurityGroupRuleID.String(),
			}
			setPorts(&r, s.FromPort, s.ToPort)
			if r.Protocol == "" && r.Source() == "" && r.FromPort == nil && r.ToPort == nil {
				// The new content is empty, under another key, or flat:
				// what the rule allows now cannot be read.
				notes = append(notes, fmt.Sprintf("not understood: %s rule %s: no new rule content (protocol, ports, source) where CloudTrail puts it: counted as every port from the whole internet",
					c.Name, clean.Line(first(r.RuleID, "without an id"), 64)))
			}
			out = append(out, r)
		}
		if p.Modify.SecurityGroupRule.Flaw() != "" {
			out = append(out, Rule{Direction: dir})
		}
	}

	perms := p.IPPermissions.Items()
	if flat, ok := p.Legacy(); ok {
		perms = append(slices.Clip(perms), flat)
	}
	var empty int
	out, empty = appendPermissions(out, dir, perms)
	if empty > 0 && c.Effect != RemovesRules {
		verb := "names"
		if empty > 1 {
			verb = "name"
		}
		notes = append(notes, fmt.Sprintf("not understood: %d of the call's permissions %s no source that could be read (EC2 refuses a permission without one): counted as the whole internet", empty, verb))
	}
	if p.IPPermissions.Flaw() != "" {
		out = append(out, Rule{Direction: dir})
	}
	for _, ref := range p.SecurityGroupRuleIDs.Items() {
		if ref.ID.String() != "" {
			out = append(out, Rule{Direction: dir, RuleID: ref.ID.String()})
		}
	}
	for _, d := range p.SecurityGroupRuleDescriptions.Items() {
		out = append(out, Rule{Direction: dir, RuleID: d.SecurityGroupRuleID.String(), Description: d.Description.String()})
	}

	for _, r := range out {
		if n := r.sources(); n > 1 {
			notes = append(notes, fmt.Sprintf("not understood: a rule names %d sources (%s; EC2 allows one): counted as the whole internet", n, clean.Line(r.allSources(), 200)))
		}
		if from, to, ok := declaredPorts(r); ok && from > to {
			notes = append(notes, fmt.Sprintf("not understood: a rule's port range %d-%d ends before it starts (EC2 refuses such a rule): counted as every port", from, to))
		}
	}
	switch c.Effect {
	case RemovesRules:
		out, known = revoked(out, resp, dir)
		return out, known, notes
	case AddsRules, ChangesRules:
		if len(out) == 0 && len(resp.RuleSet.Items()) == 0 {
			// A call that adds rules names at least one: this record's
			// could not be read.
			out = append(out, Rule{Direction: dir})
		}
	}
	return attach(out, resp.RuleSet.Items(), dir), true, notes
}

// foreignOwners keeps the owner of a referenced group only where it is not
// account, the account of the change: a group of the same account needs
// no owner named, in the rule line or in the undo.
func foreignOwners(rules []Rule, account string) {
	if account == "" {
		return
	}
	for i := range rules {
		if rules[i].ReferencedGroupOwnerID == account {
			rules[i].ReferencedGroupOwnerID = ""
		}
	}
}

// appendPermissions adds one rule per source of each permission. A
// permission with a source list that could not be read, or with no source
// at all, adds a rule with the permission's protocol and ports and no
// source; empty counts the permissions without a source.
func appendPermissions(out []Rule, dir Direction, perms []cloudtrail.Permission) (_ []Rule, empty int) {
	for _, perm := range perms {
		n := len(out)
		base := Rule{Direction: dir, Protocol: protocol(perm.IPProtocol.String())}
		setPorts(&base, perm.FromPort, perm.ToPort)
		add := func(desc cloudtrail.Text, set func(*Rule)) {
			r := base
			set(&r)
			r.Description = desc.String()
			out = append(out, r)
		}
		for _, v := range perm.IPRanges.Items() {
			add(v.Description, func(r *Rule) { r.CIDRIPv4 = v.CIDRIP.String() })
		}
		for _, v := range perm.IPv6Ranges.Items() {
			add(v.Description, func(r *Rule) { r.CIDRIPv6 = v.CIDRIPv6.String() })
		}
		for _, v := range perm.PrefixListIDs.Items() {
			add(v.Description, func(r *Rule) { r.PrefixListID = v.PrefixListID.String() })
		}
		for _, v := range perm.Groups.Items() {
			add(v.Description, func(r *Rule) {
				r.ReferencedGroupID = first(v.GroupID.String(), v.GroupName.String())
				r.ReferencedGroupOwnerID = v.UserID.String()
			})
		}
		switch {
		case perm.IPRanges.Flaw() != "" || perm.IPv6Ranges.Flaw() != "" || perm.PrefixListIDs.Flaw() != "" || perm.Groups.Flaw() != "":
			out = append(out, base)
		case len(out) == n:
			empty++
			out = append(out, base)
		}
	}
	return out, empty
}

// attach gives the request's rules the ids AWS returned for them; a call
// addressed by groupName names its rules only in the response.
func attach(out []Rule, set []cloudtrail.SetRule, dir Direction) []Rule {
	if len(set) == 0 {
		return out
	}
	if len(out) == 0 {
		for _, s := range set {
			out = append(out, fromSet(s, dir))
		}
		return out
	}
	waiting := make(map[ruleKey][]int, len(set))
	for j, s := range set {
		k := keyOf(fromSet(s, dir))
		waiting[k] = append(waiting[k], j)
	}
	for i := range out {
		if out[i].RuleID != "" {
			continue
		}
		k := keyOf(out[i])
		if js := waiting[k]; len(js) > 0 {
			s := set[js[0]]
			out[i].RuleID = s.SecurityGroupRuleID.String()
			out[i].ReferencedGroupOwnerID = first(out[i].ReferencedGroupOwnerID, s.ReferencedGroupInfo.UserID.String())
			waiting[k] = js[1:]
		}
	}
	return out
}

// revoked works out what a revoke removed. AWS lists what it removed in
// revokedSecurityGroupRuleSet (with every rule's details, also for a
// revoke by rule id) and what it did not find in unknownIpPermissionSet: a
// revoke in a default VPC succeeds even when nothing matched. A rule the
// request named that AWS did not list as removed is marked Unmatched.
// known is false when the response says neither, or says something that
// cannot be matched to the request (then no rule can be trusted to have
// existed).
func revoked(req []Rule, resp cloudtrail.Response, dir Direction) ([]Rule, bool) {
	set := resp.Revoked.Items()
	known := !resp.Unread && resp.Revoked.Flaw() == "" && resp.Unknown.Flaw() == "" &&
		(len(set) > 0 || len(resp.Unknown.Items()) > 0)
	out := make([]Rule, 0, len(req)+len(set))
	if len(set) > 0 {
		byID := make(map[string]int, len(set))
		byKey := make(map[ruleKey][]int, len(set))
		for j, s := range set {
			byID[s.SecurityGroupRuleID.String()] = j
			k := keyOf(fromSet(s, dir))
			byKey[k] = append(byKey[k], j)
		}
		used := make([]bool, len(set))
		for _, r := range req {
			j, ok := -1, false
			if r.RuleID != "" && r.Source() == "" {
				j, ok = byID[r.RuleID]
			} else if js := byKey[keyOf(r)]; len(js) > 0 {
				j, ok = js[0], true
				byKey[keyOf(r)] = js[1:]
			}
			if ok && !used[j] {
				used[j] = true
				s := fromSet(set[j], dir)
				s.Description = first(s.Description, r.Description)
				s.ReferencedGroupOwnerID = first(s.ReferencedGroupOwnerID, r.ReferencedGroupOwnerID)
				out = append(out, s)
				continue
			}
			// AWS did not list it as removed.
			r.Unmatched = true
			out = append(out, r)
		}
		for j, s := range set {
			if !used[j] {
				out = append(out, fromSet(s, dir))
			}
		}
	} else {
		out = append(out, req...)
	}
	if len(resp.Unknown.Items()) > 0 {
		missing := make(map[ruleKey]int)
		unknown, _ := appendPermissions(nil, dir, resp.Unknown.Items())
		for _, r := range unknown {
			missing[keyOf(r)]++
		}
		for i := range out {
			k := keyOf(out[i])
			if out[i].RuleID == "" && missing[k] > 0 {
				out[i].Unmatched = true
				missing[k]--
			}
		}
		for _, n := range missing {
			if n > 0 {
				known = false // AWS named something not found that matches no rule here
			}
		}
	}
	return out, known
}

// ruleKey is what makes two rules the same permission and source, however
// each was written: CIDRs masked and canonical, ports as EC2 reads them.
type ruleKey struct {
	dir       Direction
	proto     string
	from, to  int
	src, kind string
}

func keyOf(r Rule) ruleKey {
	k := ruleKey{dir: orIngress(r.Direction), proto: r.Protocol, from: -1, to: -1}
	switch from, to, ok := ports(r); {
	case ok:
		k.from, k.to = from, to
	case r.FromPort != nil && r.ToPort != nil:
		k.from, k.to = *r.FromPort, *r.ToPort // icmp type and code
	}
	k.src, k.kind = strings.ToLower(r.Source()), "id"
	switch {
	case r.CIDRIPv4 != "" || r.CIDRIPv6 != "":
		k.kind = "cidr"
		if p, ok, _ := prefix(r); ok {
			k.src = p.Masked().String()
		}
	case r.PrefixListID != "":
		k.kind = "pl"
	case r.ReferencedGroupID != "":
		k.kind = "group"
	}
	return k
}

// fromSet reads a rule AWS returned; dir is the call's direction, for a rule
// that does not say (isEgress absent).
func fromSet(s cloudtrail.SetRule, dir Direction) Rule {
	r := Rule{
		Direction:         orIngress(dir),
		Protocol:          protocol(s.IPProtocol.String()),
		CIDRIPv4:          s.CIDRIPv4.String(),
		CIDRIPv6:          s.CIDRIPv6.String(),
		PrefixListID:      s.PrefixListID.String(),
		ReferencedGroupID: first(s.ReferencedGroupInfo.GroupID.String(), s.ReferencedGroupID.String()),
		Description:       s.Description.String(),
		RuleID:            s.SecurityGroupRuleID.String(),
	}
	if r.ReferencedGroupID != "" {
		r.ReferencedGroupOwnerID = s.ReferencedGroupInfo.UserID.String()
	}
	if s.IsEgress.Set {
		r.Direction = Ingress
		if s.IsEgress.Value {
			r.Direction = Egress
		}
	}
	setPorts(&r, s.FromPort, s.ToPort)
	return r
}

// setPorts sets the rule's ports; "all traffic" has none whatever was sent.
func setPorts(r *Rule, from, to cloudtrail.Port) {
	if r.Protocol == "all" {
		return
	}
	r.FromPort, r.ToPort = from.Ptr(), to.Ptr()
}

// protocolNames are the protocols sgwatch names, by IANA number.
var protocolNames = map[int]string{-1: "all", 1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}

// Protocol names an IP protocol the way EC2 reads it, as the rules of a
// finding name it (see protocol).
func Protocol(p string) string { return protocol(p) }

// protocol names an IP protocol the way EC2 reads it: tcp, udp, icmp,
// icmpv6, all (for -1), or the protocol number, whatever the spelling of
// the number ("6", "06", "+6"). Anything else is kept as written, lower
// case, and scored as all traffic.
func protocol(p string) string {
	p = strings.ToLower(strings.TrimSpace(p))
	if n, err := strconv.Atoi(p); err == nil {
		if name, ok := protocolNames[n]; ok {
			return name
		}
		if n >= 0 && n <= 255 {
			return strconv.Itoa(n)
		}
		return p
	}
	return p
}

// knownProtocol reports whether p is a protocol as protocol returns it for
// a value EC2 accepts.
func knownProtocol(p string) bool {
	switch p {
	case "tcp", "udp", "icmp", "icmpv6", "all":
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 255 && strconv.Itoa(n) == p
}
