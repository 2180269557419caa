package detect

// Network ACLs, reported as a note on a reachable exposure and never used
// to lower its grade: their rules are stateless (return traffic needs its
// own rule) and easy to misread, and a responder should look, not trust.

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"

	"github.com/sgwatch/sgwatch/awsid"
)

// NetworkACL is a subnet's network ACL: its id and inbound entries.
type NetworkACL struct {
	ID      string
	Entries []ACLEntry // inbound only
}

// ACLEntry is one inbound entry of a network ACL, as EC2 describes it.
type ACLEntry struct {
	Number   int
	Allow    bool
	Protocol string // as protocol names it: tcp, udp, all, or a number
	From, To int    // ports; 0-65535 for a protocol without them
	CIDR     string // IPv4 or IPv6
}

// aclNotes says, for each subnet of the interfaces that make grade r (those
// it names), when its network ACL denies whole-internet ingress rules of
// rules from the whole internet: one note a subnet, naming a few rules and
// counting the rest.
func aclNotes(acls map[string]NetworkACL, r Reachability, rules []Rule) []string {
	if len(acls) == 0 || r.Grade != GradeInternet {
		return nil
	}
	subnets := map[string]bool{}
	for _, ni := range r.Interfaces {
		subnets[ni.SubnetID] = true
	}
	var out []string
	for _, s := range slices.Sorted(maps.Keys(subnets)) {
		acl, ok := acls[s]
		if !ok || !awsid.IsSafeName(acl.ID, 32, "-") || !awsid.IsSafeName(s, 32, "-") {
			continue
		}
		entries := slices.SortedFunc(slices.Values(acl.Entries), func(a, b ACLEntry) int { return a.Number - b.Number })
		var denied []string
		var numbers []int
		for _, rule := range rules {
			if orIngress(rule.Direction) != Ingress || !WholeInternet(rule) {
				continue
			}
			if n, ok := denies(entries, rule); ok {
				denied = appendNew(denied, Target(rule))
				if !slices.Contains(numbers, n) {
					numbers = append(numbers, n)
				}
			}
		}
		if len(denied) > 0 {
			slices.Sort(numbers)
			entries := make([]string, len(numbers))
			for i, n := range numbers {
				entries[i] = strconv.Itoa(n)
			}
			out = append(out, fmt.Sprintf("network ACL %s of %s denies %s from the whole internet (entry %s): traffic may stop there, but the grade does not count network ACLs (stateless rules are easy to misread)",
				acl.ID, s, shorten(denied), shorten(entries)))
		}
	}
	return out
}

// denies reports whether entries, in number order, deny rule from the
// whole internet, and by which entry: the first entry of rule's address
// family that covers the whole internet, rule's protocol and its whole
// port range denies, and no entry before it, of any source, allows any of
// that traffic. An entry that denies only part of it, or part of the
// internet, is passed over.
func denies(entries []ACLEntry, rule Rule) (int, bool) {
	src, _, _ := prefix(rule)
	from, to, ok := ports(rule)
	if !ok {
		from, to = 0, 65535
	}
	for _, e := range entries {
		p, err := netip.ParsePrefix(e.CIDR)
		if err != nil {
			return 0, false // not understood: say nothing
		}
		if p.Addr().Is4() != src.Addr().Is4() {
			continue
		}
		overlaps := e.Protocol == "all" || rule.Protocol == "all" || e.Protocol == rule.Protocol
		if overlaps && (e.Protocol == "tcp" || e.Protocol == "udp") && rule.Protocol != "all" {
			overlaps = e.From <= to && from <= e.To
		}
		if !overlaps {
			continue
		}
		if e.Allow {
			return 0, false // some of it is allowed, from some of the internet
		}
		covers := e.Protocol == "all" || e.Protocol == rule.Protocol && (e.Protocol != "tcp" && e.Protocol != "udp" || e.From <= from && to <= e.To)
		if p.Bits() == 0 && covers {
			return e.Number, true
		}
	}
	return 0, false
}
