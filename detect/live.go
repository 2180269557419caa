package detect

// Live context judged as AWS applies it: a change against the rules its
// group holds after the call and the other groups of each network interface
// that uses it; a rule naming a customer-managed prefix list as the list's
// entries; an attach call by what the interface admits after it; a prefix
// list change by what each group that names the list admits after it.

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/sgwatch/sgwatch/addrspace"
	"github.com/sgwatch/sgwatch/clean"
)

// PrefixList is a managed prefix list as live context (or the sweep) read
// it.
type PrefixList struct {
	ID, Name string
	// AWSManaged lists (com.amazonaws.…) hold AWS's own ranges; their
	// entries are not read.
	AWSManaged bool
	// Entries are a customer-managed list's CIDRs now.
	Entries []string
	// Err says why the list could not be read.
	Err error
}

// Live is what live context read, after the call, for judging a change as
// AWS applies it. Package enrich reads it; Score judges with it. Nil is
// offline: a change is judged on its call's rules alone.
type Live struct {
	// Rules are the rules the changed group holds after the call (every
	// direction, as DescribeSecurityGroupRules lists them).
	Rules []Rule
	// Interfaces are the network interfaces that use the changed group (or,
	// for an attach call, the interface it changed), each with all its
	// groups.
	Interfaces []NetworkInterface
	// Groups are the rules of the other groups that matter: those on the
	// interfaces, or, for a prefix-list change, every group whose rules
	// name the list; by group id.
	Groups map[string][]Rule
	// Lists are the managed prefix lists the rules name, by id.
	Lists map[string]PrefixList
	// Unread says what could not be read; a change is judged louder for it
	// (fail closed). Package enrich notes each on the finding.
	Unread []string
	// Network is what uses the changed group (or the attached interface),
	// for its reachability grade; nil when not read.
	Network *Network
}

// Read reports whether live context read the entries of the customer-
// managed prefix list id: then they, not the list, are judged. False on a
// nil Live.
func (l *Live) Read(id string) bool {
	if l == nil {
		return false
	}
	list, ok := l.Lists[id]
	return ok && !list.AWSManaged && list.Err == nil
}

// Context names what live context judged a change with; set by Score only
// when it judged with live context.
type Context struct {
	// Interfaces are the network interfaces on which the change opens
	// something to the whole internet.
	Interfaces []string `json:"interfaces,omitempty"`
	// Groups are the other groups whose rules open it together with the
	// change (or, for a prefix-list change, the groups the list opens).
	Groups []string `json:"groups,omitempty"`
	// Together are the group's rules, added earlier, that the change's
	// rules are open to the whole internet together with.
	Together []string `json:"together,omitempty"`
}

// Attach is what an attach call (ModifyNetworkInterfaceAttribute,
// ModifyInstanceAttribute) set: the interface's or instance's groups.
type Attach struct {
	InstanceID         string   `json:"instanceId,omitempty"`
	NetworkInterfaceID string   `json:"networkInterfaceId,omitempty"`
	Groups             []string `json:"groups"`
	// Unread is true when the record's group set could not be read.
	Unread bool `json:"-"`
}

// BPAChange is what a VPC Block Public Access call changed, as its record
// says: the Region's mode, or an exclusion of a subnet or VPC.
type BPAChange struct {
	Mode          string `json:"mode,omitempty"`
	SubnetID      string `json:"subnetId,omitempty"`
	VPCID         string `json:"vpcId,omitempty"`
	ExclusionMode string `json:"exclusionMode,omitempty"`
	ExclusionID   string `json:"exclusionId,omitempty"`
}

// opens reports whether the change can let inbound internet traffic
// through an internet gateway that Block Public Access blocked: turning
// it off, an exclusion both ways, or a mode or exclusion not read.
func (b BPAChange) opens() bool {
	switch {
	case b.ExclusionMode != "" || b.SubnetID != "" || b.VPCID != "":
		return b.ExclusionMode != "allow-egress"
	}
	return b.Mode != "block-ingress" && b.Mode != "block-bidirectional"
}

// ListChange is what a managed prefix list call changed, as its record
// says.
type ListChange struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	// Added and Removed are the entries the call added and removed.
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
	// Unread is true when the record's entries could not be read.
	Unread bool `json:"-"`
}

// Widens reports whether the call name, a managed prefix list call that
// changed l, may have added entries: it added some, restored an earlier
// version, or its entries could not be read. A new list is named by no
// rule yet. False for a nil l.
func (l *ListChange) Widens(name string) bool {
	return l != nil && name != "CreateManagedPrefixList" && (len(l.Added) > 0 || l.Unread || name == "RestoreManagedPrefixListVersion")
}

// ExpandLists returns rules as AWS applies them: a rule that names a
// customer-managed prefix list in lists is one rule per entry of the list
// (same rule id, the entry as its source, the list named in its
// description), and one whose list could not be read has no source, so it
// counts as the whole internet (fail closed). A rule naming an AWS-managed
// list, or a list not in lists, stays as it is.
func ExpandLists(rules []Rule, lists map[string]PrefixList) []Rule {
	out := make([]Rule, 0, len(rules))
	for _, r := range rules {
		l, ok := lists[r.PrefixListID]
		if r.PrefixListID == "" || !ok || l.AWSManaged {
			out = append(out, r)
			continue
		}
		if l.Err != nil {
			e := r
			e.PrefixListID = ""
			e.Description = clean.Line("prefix list "+r.PrefixListID+" could not be read ("+l.Err.Error()+")", 200)
			out = append(out, e)
			continue
		}
		for _, cidr := range l.Entries {
			e := r
			e.PrefixListID = ""
			if strings.Contains(cidr, ":") {
				e.CIDRIPv6 = cidr
			} else {
				e.CIDRIPv4 = cidr
			}
			e.Description = clean.Line(strings.TrimSpace("entry of prefix list "+r.PrefixListID+" "+l.Name), 200)
			out = append(out, e)
		}
	}
	return out
}

// IngressRules returns the ingress rules (no direction counts as ingress)
// that changed something (not a revoke's rule that matched nothing).
func IngressRules(rules []Rule) []Rule {
	var in []Rule
	for _, r := range rules {
		if !r.Unmatched && orIngress(r.Direction) == Ingress {
			in = append(in, r)
		}
	}
	return in
}

// expanded is ExpandLists of one rule, with where each rule came from.
func expanded(rules []Rule, lists map[string]PrefixList) (out []Rule, from []int) {
	for i, r := range rules {
		for _, e := range ExpandLists([]Rule{r}, lists) {
			out = append(out, e)
			from = append(from, i)
		}
	}
	return out, from
}

// liveSource names a rule's source for a reason: the source, the prefix
// list entry it is, or the list that could not be read. Why it is the
// whole internet follows in the reason.
func liveSource(r, orig Rule, lists map[string]PrefixList) string {
	switch {
	case orig.PrefixListID == "" || r.PrefixListID != "":
		return first(r.Source(), "a source that could not be read (counted as the whole internet)")
	case lists[orig.PrefixListID].Err != nil:
		return "prefix list " + orig.PrefixListID + ", which could not be read (counted as the whole internet)"
	}
	// Not the list's name: its owner chooses it, and a reason is not
	// defanged.
	return r.Source() + ", an entry of prefix list " + orig.PrefixListID
}

// worldReason adds the reason of ingress rule r, open to the whole
// internet from src; tail ends the text.
func worldReason(s *scored, r Rule, src, tail string, catalogue []PortRange) {
	to := Target(r)
	switch names := sensitive(r, catalogue); {
	case allTraffic(r):
		s.add(Critical, fmt.Sprintf("ingress from %s to %s%s: every port, remote administration and databases included", src, to, tail))
	case len(names) > 0:
		s.add(Critical, fmt.Sprintf("ingress from %s to %s%s: %s", src, to, tail, shorten(names)))
	default:
		s.add(High, fmt.Sprintf("ingress from %s to %s%s", src, to, tail))
	}
}

// sameRule reports whether a listed rule is one of the call's: the same
// rule id, or, without ids, the same rule.
func sameRule(listed, call Rule) bool {
	if listed.RuleID != "" && call.RuleID != "" {
		return strings.EqualFold(listed.RuleID, call.RuleID)
	}
	return keyOf(listed) == keyOf(call)
}

// overlaps reports whether two rules allow a port or protocol in common.
func overlaps(a, b Rule) bool {
	if allTraffic(a) || allTraffic(b) {
		return true
	}
	if a.Protocol != b.Protocol {
		return false
	}
	af, at, aok := ports(a)
	bf, bt, bok := ports(b)
	return !aok || !bok || af <= bt && bf <= at
}

// idOf names a rule: its id, else its source.
func idOf(r Rule) string { return first(r.RuleID, r.Source()) }

// scoreLive judges the ingress rules of a call that opens (f.Live set) as
// AWS applies them: with the prefix lists they name read, together with
// the rules the group already had, and with the other groups of each
// network interface that uses the group. It adds a reason for each rule it
// finds open that the call's rules alone do not show, fills in f.Context,
// and reports whether any ingress is open to the whole internet.
func (o Scoring) scoreLive(s *scored, f *Finding, catalogue []PortRange) (world bool) {
	live := f.Live
	call := IngressRules(f.Rules)
	mine, from := expanded(call, live.Lists)
	alone := exposures(slices.Clone(mine), catalogue)
	ctx := &Context{}
	// A call's rule read through its prefix list: the entries now, or
	// AWS's own ranges.
	for _, r := range call {
		if l, ok := live.Lists[r.PrefixListID]; ok && l.AWSManaged {
			s.add(Info, "ingress from prefix list "+r.PrefixListID+" ("+clean.Line(l.Name, 100)+"): an AWS-managed list of AWS's own ranges")
		}
	}
	for i, r := range mine {
		if call[from[i]].PrefixListID == "" || r.PrefixListID != "" {
			continue
		}
		if alone[i] {
			worldReason(s, r, liveSource(r, call[from[i]], live.Lists), "", catalogue)
			world = true
		} else if p, ok, _ := prefix(r); ok {
			scorePublic(s, r, p, catalogue)
		}
	}
	// The rules the group already had: a short window is no hiding place.
	var earlier []Rule
	for _, r := range IngressRules(live.Rules) {
		if !slices.ContainsFunc(call, func(c Rule) bool { return sameRule(r, c) }) {
			earlier = append(earlier, r)
		}
	}
	earlier = ExpandLists(earlier, live.Lists)
	after := append(slices.Clone(mine), earlier...)
	together := exposures(after, catalogue)
	for i, r := range after[:len(mine)] {
		if alone[i] || !together[i] {
			continue
		}
		var with []string
		for j, e := range earlier {
			if together[len(mine)+j] && overlaps(r, e) && !slices.Contains(with, idOf(e)) {
				with = append(with, idOf(e))
			}
		}
		worldReason(s, r, liveSource(r, call[from[i]], live.Lists), ", open to the whole internet together with "+shorten(with)+" (added earlier)", catalogue)
		ctx.Together = appendNew(ctx.Together, with...)
		world = true
	}
	// The other groups of each network interface that uses the group. Only
	// a rule that allows a port the call's rules allow can add to them.
	near := func(rs []Rule) []Rule {
		var out []Rule
		for _, r := range rs {
			if slices.ContainsFunc(mine, func(m Rule) bool { return overlaps(m, r) }) {
				out = append(out, r)
			}
		}
		return out
	}
	rules := map[string][]Rule{f.SecurityGroup.ID: append(slices.Clone(mine), near(earlier)...)}
	for id, rs := range live.Groups {
		if id != f.SecurityGroup.ID {
			rules[id] = near(ExpandLists(IngressRules(rs), live.Lists))
		}
	}
	for _, u := range o.UnionExposures(rules, live.Interfaces) {
		var others []string
		for _, g := range u.Groups {
			if g != f.SecurityGroup.ID {
				others = append(others, g)
			}
		}
		for _, gr := range u.Rules {
			i := slices.IndexFunc(mine, func(m Rule) bool { return gr.Group == f.SecurityGroup.ID && keyOf(m) == keyOf(gr.Rule) })
			if i < 0 {
				continue // not the change's: the sweep reports it
			}
			worldReason(s, gr.Rule, liveSource(gr.Rule, call[from[i]], live.Lists),
				", open to the whole internet on "+Interfaces(u.Interfaces)+" only together with the rules of "+shorten(others), catalogue)
			s.add(Info, "a network interface admits the union of its groups' rules")
			ctx.Interfaces = appendNew(ctx.Interfaces, u.Interfaces...)
			ctx.Groups = appendNew(ctx.Groups, others...)
			world = true
		}
	}
	// What could not be read makes a public range louder, never quieter.
	if len(live.Unread) > 0 && !world {
		for i, r := range mine {
			if p, ok, _ := prefix(r); ok && !alone[i] && addrspace.Public(p) {
				s.add(High, fmt.Sprintf("ingress from %s to %s could not be judged with the group's other rules and the interfaces that use it (%s): counted as possibly open to the whole internet",
					r.Source(), Target(r), strings.Join(live.Unread, "; ")))
			}
		}
	}
	f.Context = ctx
	return world
}

// NeedsContext reports whether only live context can judge f: an attach
// call, a prefix list change that may widen the list, or a change whose
// ingress rules name a prefix list or a public range that is not the
// whole internet on its own, which the group's other rules or an
// interface's other groups may make so. Such a finding
// is looked up even when, as scored offline, it would not be published.
func (f Finding) NeedsContext() bool {
	c, ok := byName[f.Event.Name]
	switch {
	case !ok || f.Outcome != Succeeded:
		return false
	case c.LiveOnly():
		return true
	case c.Effect == ChangesList:
		return f.List.Widens(f.Event.Name)
	case c.Effect == ChangesBlockPublicAccess:
		return f.BlockPublicAccess != nil && f.BlockPublicAccess.opens()
	case !c.Opens():
		return false
	}
	for _, r := range IngressRules(f.Rules) {
		p, ok, _ := prefix(r)
		if r.PrefixListID != "" || ok && r.Exposure == "" && p.Bits() > 0 && addrspace.Public(p) {
			return true
		}
	}
	return false
}

// Groups are the security groups f concerns: the group the call changed,
// or, for an attach call or a prefix list change, every group it opens
// (or, before it is judged, sets). A rule that names one group (SUPPRESS)
// covers f only if it covers each.
func (f Finding) Groups() []string {
	switch {
	case (f.Attach != nil || f.List != nil) && f.Context != nil && len(f.Context.Groups) > 0:
		return f.Context.Groups
	case f.Attach != nil && len(f.Attach.Groups) > 0:
		return f.Attach.Groups
	}
	return []string{f.SecurityGroup.ID}
}

// appendNew appends the ids not in list yet.
func appendNew(list []string, ids ...string) []string {
	for _, id := range ids {
		if !slices.Contains(list, id) {
			list = append(list, id)
		}
	}
	return list
}

// Interfaces names network interfaces in a reason, as shorten names
// anything: the first four and a count.
func Interfaces(ids []string) string { return shorten(ids) }

// scoreAttach judges an attach call: offline it is not judged (and not
// published); with live context, by what each interface it changed admits
// from the whole internet now, through any of its groups, alone or
// together. The rules found open become f.Rules.
func (o Scoring) scoreAttach(s *scored, f *Finding) (world bool) {
	live := f.Live
	if live == nil {
		s.add(Info, "sets the groups of a network interface without changing a rule: judged only with live context (ENRICH=true)")
		return false
	}
	catalogue := o.catalogue()
	ctx := &Context{}
	var open []Rule
	for _, ni := range live.Interfaces {
		var all []Rule
		var owner []string
		for _, g := range ni.Groups {
			for _, r := range ExpandLists(IngressRules(live.Groups[g]), live.Lists) {
				all = append(all, r)
				owner = append(owner, g)
			}
		}
		w := exposures(all, catalogue)
		for i, r := range all {
			if !w[i] {
				continue
			}
			tail := " through " + owner[i] + " on " + ni.ID
			if r.Exposure != "" && !WholeInternet(r) {
				tail += ", the whole internet together with the interface's other rules"
			}
			worldReason(s, r, liveSource(r, r, nil), tail, catalogue)
			ctx.Interfaces = appendNew(ctx.Interfaces, ni.ID)
			ctx.Groups = appendNew(ctx.Groups, owner[i])
			open = append(open, r)
			world = true
		}
	}
	if len(live.Unread) > 0 {
		s.add(High, "what the interface admits could not be read in full ("+strings.Join(live.Unread, "; ")+"): published, since a group it now has may be open to the whole internet")
	}
	if !world && len(live.Unread) == 0 {
		s.add(Info, "the interface's groups open nothing to the whole internet, alone or together: not published")
	}
	f.Rules, f.Context = open, ctx
	if len(ctx.Groups) > 0 && f.SecurityGroup.ID == "" {
		f.SecurityGroup.ID = ctx.Groups[0]
	}
	return world
}

// scoreList judges a managed prefix list call: by the entries its record
// holds offline, and with live context by what every group whose rules
// name the list admits from the whole internet now. The rules found open
// become f.Rules.
func (o Scoring) scoreList(s *scored, f *Finding) (world bool) {
	catalogue := o.catalogue()
	l := f.List
	if l == nil {
		l = &ListChange{}
	}
	switch {
	case f.Event.Name == "RestoreManagedPrefixListVersion":
		s.add(Medium, "restores an earlier version of the list: the record does not hold the entries it brings back, and every rule that names the list follows them")
	case l.Unread:
		s.add(Medium, "the entries the call added could not be read from the record: every rule that names the list follows them")
	}
	// The entries added, taken together as the rules that name the list
	// would take them: sources that are each a part of the internet can
	// be all of it.
	added := make([]Rule, len(l.Added))
	for i, e := range l.Added {
		added[i] = Rule{Direction: Ingress, Protocol: "all", CIDRIPv4: e}
		if strings.Contains(e, ":") {
			added[i] = Rule{Direction: Ingress, Protocol: "all", CIDRIPv6: e}
		}
	}
	whole := exposures(added, catalogue)
	for i, r := range added {
		p, ok, bad := prefix(r)
		switch {
		case bad || !ok:
			// Not the entry itself: a reason is not defanged (the Where
			// lines show it).
			s.add(High, "adds an entry that is not a CIDR: counted as the whole internet, which every security-group rule that names the list would admit")
		case whole[i] && p.Bits() == 0:
			s.add(High, "adds "+p.String()+" (the whole internet): every security-group rule that names the list admits the whole internet on its ports")
		case whole[i]:
			s.add(High, "adds "+p.String()+" ("+r.Exposure+"): every security-group rule that names the list admits the whole internet on its ports")
		case addrspace.Public(p) && p.Bits() < broadBits(p):
			s.add(Medium, fmt.Sprintf("adds %s, a public range broader than /%d: every security-group rule that names the list admits it", p, broadBits(p)))
		}
	}
	if f.Live == nil {
		return false
	}
	live := f.Live
	lists := maps.Clone(live.Lists)
	if lists == nil {
		lists = map[string]PrefixList{}
	}
	switch now, ok := lists[l.ID]; {
	case !ok:
		// Fail closed: the changed list was not read.
		lists[l.ID] = PrefixList{ID: l.ID, Err: errors.New("not read")}
	case now.Err == nil && !now.AWSManaged:
		// The entries the call added count, whatever the list holds by the
		// lookup: a list widened and narrowed again was open meanwhile.
		now.Entries = appendNew(slices.Clone(now.Entries), l.Added...)
		lists[l.ID] = now
	}
	ctx := &Context{}
	var open []Rule
	for _, g := range slices.Sorted(maps.Keys(live.Groups)) {
		in := IngressRules(live.Groups[g])
		mine, from := expanded(in, lists)
		w := exposures(mine, catalogue)
		for i, r := range mine {
			if !w[i] || in[from[i]].PrefixListID != l.ID {
				continue
			}
			worldReason(s, r, liveSource(r, in[from[i]], lists), " in "+g+" (rule "+first(r.RuleID, "without an id")+")", catalogue)
			ctx.Groups = appendNew(ctx.Groups, g)
			open = append(open, r)
			world = true
		}
	}
	if len(live.Unread) > 0 {
		s.add(High, "the groups that name the list could not all be read ("+strings.Join(live.Unread, "; ")+"): one may now admit the whole internet")
	}
	f.Rules, f.Context = open, ctx
	return world
}

// broadBits is the prefix length below which a public range is broad:
// /16 for IPv4, /48 for IPv6.
func broadBits(p netip.Prefix) int {
	if p.Addr().Is6() {
		return 48
	}
	return 16
}

// Listed is a rule as DescribeSecurityGroupRules lists it.
type Listed struct {
	ID                string
	Egress            bool
	Protocol          string
	FromPort, ToPort  *int32
	CIDRIPv4          string
	CIDRIPv6          string
	PrefixListID      string
	ReferencedGroupID string
	Description       string
}

// Rule reads l as the event path reads a rule AWS returned: the protocol
// named (tcp for 6, all for -1), and no ports for all traffic.
func (l Listed) Rule() Rule {
	r := Rule{Direction: Ingress, Protocol: Protocol(l.Protocol), CIDRIPv4: l.CIDRIPv4, CIDRIPv6: l.CIDRIPv6,
		PrefixListID: l.PrefixListID, ReferencedGroupID: l.ReferencedGroupID, Description: l.Description, RuleID: l.ID}
	if l.Egress {
		r.Direction = Egress
	}
	if r.Protocol != "all" {
		r.FromPort, r.ToPort = int32Ptr(l.FromPort), int32Ptr(l.ToPort)
	}
	return r
}

func int32Ptr(p *int32) *int {
	if p == nil {
		return nil
	}
	v := int(*p)
	return &v
}
