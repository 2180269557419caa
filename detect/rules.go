package detect

import (
	"strconv"
	"strings"
)

// rules lists the rules a call names, one per source, from the request and,
// where the request does not name them (a call addressed by groupName), from
// the rule set AWS returned. Rule ids AWS returned are attached to the
// request's rules they match.
func rules(name string, p params, resp response) []Rule {
	dir := Ingress
	if strings.HasSuffix(name, "Egress") {
		dir = Egress
	}
	var out []Rule
	switch {
	case name == "ModifySecurityGroupRules":
		if p.Modify == nil {
			return nil
		}
		for _, e := range p.Modify.SecurityGroupRule {
			s := e.SecurityGroupRule
			r := Rule{
				Protocol:          protocol(string(s.IPProtocol)),
				CIDRIPv4:          string(s.CIDRIPv4),
				CIDRIPv6:          string(s.CIDRIPv6),
				PrefixListID:      string(s.PrefixListID),
				ReferencedGroupID: string(s.ReferencedGroupID),
				Description:       string(s.Description),
				RuleID:            string(e.SecurityGroupRuleID),
			}
			setPorts(&r, s.FromPort, s.ToPort)
			out = append(out, r)
		}
		return out
	case strings.HasPrefix(name, "Authorize"), strings.HasPrefix(name, "Revoke"),
		strings.HasPrefix(name, "UpdateSecurityGroupRuleDescriptions"):
	default:
		return nil
	}

	perms := p.IPPermissions
	if p.CIDRIP != "" || p.SourceSecurityGroupName != "" {
		// The legacy flat form: one permission directly in requestParameters.
		var flat permission
		flat.IPProtocol, flat.FromPort, flat.ToPort = p.IPProtocol, p.FromPort, p.ToPort
		if p.CIDRIP != "" {
			flat.IPRanges = list[ipRange]{{CIDRIP: p.CIDRIP}}
		}
		if p.SourceSecurityGroupName != "" {
			flat.Groups = list[groupPair]{{GroupName: p.SourceSecurityGroupName}}
		}
		perms = append(perms, flat)
	}
	for _, perm := range perms {
		base := Rule{Direction: dir, Protocol: protocol(string(perm.IPProtocol))}
		setPorts(&base, perm.FromPort, perm.ToPort)
		add := func(desc text, set func(*Rule)) {
			r := base
			set(&r)
			r.Description = string(desc)
			out = append(out, r)
		}
		for _, v := range perm.IPRanges {
			add(v.Description, func(r *Rule) { r.CIDRIPv4 = string(v.CIDRIP) })
		}
		for _, v := range perm.IPv6Ranges {
			add(v.Description, func(r *Rule) { r.CIDRIPv6 = string(v.CIDRIPv6) })
		}
		for _, v := range perm.PrefixListIDs {
			add(v.Description, func(r *Rule) { r.PrefixListID = string(v.PrefixListID) })
		}
		for _, v := range perm.Groups {
			add(v.Description, func(r *Rule) { r.ReferencedGroupID = first(string(v.GroupID), string(v.GroupName)) })
		}
	}
	for _, ref := range p.SecurityGroupRuleIDs {
		if ref.ID != "" {
			out = append(out, Rule{Direction: dir, RuleID: string(ref.ID)})
		}
	}
	for _, d := range p.SecurityGroupRuleDescriptions {
		out = append(out, Rule{Direction: dir, RuleID: string(d.SecurityGroupRuleID), Description: string(d.Description)})
	}

	if len(resp.RuleSet) == 0 {
		return out
	}
	if len(out) == 0 {
		for _, s := range resp.RuleSet {
			out = append(out, fromSet(s))
		}
		return out
	}
	used := make([]bool, len(resp.RuleSet))
	for i := range out {
		if out[i].RuleID != "" {
			continue
		}
		for j, s := range resp.RuleSet {
			if !used[j] && same(out[i], fromSet(s)) {
				out[i].RuleID = string(s.SecurityGroupRuleID)
				used[j] = true
				break
			}
		}
	}
	return out
}

func fromSet(s setRule) Rule {
	r := Rule{
		Direction:         Ingress,
		Protocol:          protocol(string(s.IPProtocol)),
		CIDRIPv4:          string(s.CIDRIPv4),
		CIDRIPv6:          string(s.CIDRIPv6),
		PrefixListID:      string(s.PrefixListID),
		ReferencedGroupID: string(s.ReferencedGroupInfo.GroupID),
		Description:       string(s.Description),
		RuleID:            string(s.SecurityGroupRuleID),
	}
	if s.IsEgress.Value {
		r.Direction = Egress
	}
	setPorts(&r, s.FromPort, s.ToPort)
	return r
}

// same reports whether a and b describe the same permission and source.
func same(a, b Rule) bool {
	eq := func(x, y *int) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.Direction == b.Direction && a.Protocol == b.Protocol &&
		eq(a.FromPort, b.FromPort) && eq(a.ToPort, b.ToPort) &&
		a.CIDRIPv4 == b.CIDRIPv4 && a.CIDRIPv6 == b.CIDRIPv6 &&
		a.PrefixListID == b.PrefixListID && a.ReferencedGroupID == b.ReferencedGroupID
}

// setPorts sets the rule's ports; "all traffic" has none whatever was sent.
func setPorts(r *Rule, from, to port) {
	if r.Protocol == "all" {
		return
	}
	r.FromPort, r.ToPort = from.ptr(), to.ptr()
}

// protocol names an IP protocol: tcp, udp, icmp, icmpv6, all (for -1), or
// the protocol number.
func protocol(p string) string {
	p = strings.ToLower(strings.TrimSpace(p))
	switch p {
	case "-1", "all":
		return "all"
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	case "58":
		return "icmpv6"
	}
	if n, err := strconv.Atoi(p); err == nil {
		return strconv.Itoa(n)
	}
	return p
}
