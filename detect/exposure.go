package detect

// How the rules of a call (or of a group, in the sweep) are judged open to
// the whole internet: sources taken together per direction, protocol and
// port range, and per sensitive port, measured with package addrspace.

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/sgwatch/sgwatch/addrspace"
)

// prefix returns the rule's CIDR, IPv4 or IPv6 (in either field), parsed;
// ok is false when the rule has no CIDR, and bad when it has one that does
// not parse.
func prefix(r Rule) (p netip.Prefix, ok, bad bool) {
	for _, c := range []string{r.CIDRIPv4, r.CIDRIPv6} {
		if c == "" {
			continue
		}
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			return netip.Prefix{}, false, true
		}
		return p, true, false
	}
	return netip.Prefix{}, false, false
}

// WholeInternet reports whether the rule's CIDR, IPv4 or IPv6, is written
// as the whole internet: any prefix length 0, whatever the address before
// it. Sources that cover the internet together are marked in Rule.Exposure
// by the score.
func WholeInternet(r Rule) bool {
	p, ok, _ := prefix(r)
	return ok && p.Bits() == 0
}

// notUnderstood is the Exposure of a source the parser could not read.
const notUnderstood = "source not understood: counted as the whole internet"

// Exposed marks the rules whose sources reach the whole internet, as
// exposures does, with s's catalogue of sensitive ports: the sweep judges a
// group's ingress rules with it.
func (s Scoring) Exposed(rules []Rule) []bool { return exposures(rules, s.catalogue()) }

// exposures marks the rules of a call whose sources reach the whole
// internet, setting each one's Exposure, and returns which rules do. Rules
// are taken together per direction, protocol and port range, and, for
// ingress, per sensitive port of the catalogue whatever the ranges that
// contain it: sources that are each a part of the internet can open one
// port to all of it. A rule whose source could not be read counts as the
// whole internet.
func exposures(rules []Rule, catalogue []PortRange) []bool {
	type key struct {
		dir      Direction
		proto    string
		from, to int
	}
	world := make([]bool, len(rules))
	in := make([]int, len(rules)) // each rule's group, -1 for none
	pfx := make([]netip.Prefix, len(rules))
	index := map[key]int{}
	var groups []*pool
	for i := range rules {
		r := &rules[i]
		r.Exposure = ""
		in[i] = -1
		p, ok, bad := prefix(*r)
		switch {
		case bad || r.Source() == "" || r.sources() > 1:
			// No source (none could be read: a rule that allows traffic
			// names one), one that does not parse, or more than one (EC2
			// allows one, so the rule was not understood): fail closed.
			r.Exposure, world[i] = notUnderstood, true
			continue
		case !ok:
			continue // a prefix list or a security group
		}
		k := key{dir: orIngress(r.Direction), proto: r.Protocol}
		if from, to, ok := ports(*r); ok {
			k.from, k.to = from, to
		}
		g, seen := index[k]
		if !seen {
			g = len(groups)
			index[k] = g
			groups = append(groups, newPool())
		}
		groups[g].add(i, p)
		in[i], pfx[i] = g, p
	}
	for _, g := range groups {
		g.mark(rules, world, "")
	}
	sensitiveReach(rules, catalogue, world, in, pfx)
	return world
}

// maxProbes bounds the ports sensitiveReach looks at in one call: a group
// holds at most 1,000 rules, whose bounds give at most about 4,000 ports to
// look at; more come only from a record no group can hold.
const maxProbes = 8192

// tooManyPorts is the Exposure of a rule sensitiveReach could not add up
// with the others, for having more than maxProbes ports to look at.
var tooManyPorts = fmt.Sprintf("not added up with the call's other rules (more than %d ports to look at): counted as the whole internet", maxProbes)

// sensitiveReach marks the ingress rules whose sources, with those of the
// other rules that allow the same sensitive port, cover the whole internet
// on that port, though their port ranges differ (tcp/22 from one half of
// the internet and tcp/0-65535 from the other). Within each sensitive
// range it looks at every port where the set of rules allowing it changes.
// in and pfx are each rule's group in exposures and its parsed source.
func sensitiveReach(rules []Rule, catalogue []PortRange, world []bool, in []int, pfx []netip.Prefix) {
	type probe struct {
		proto string
		port  int
	}
	allows := func(r Rule, proto string) bool {
		return orIngress(r.Direction) == Ingress && (r.Protocol == proto || r.Protocol == "all" || !knownProtocol(r.Protocol))
	}
	seen := map[probe]bool{}
	var probes []probe
	full := false
	add := func(pr probe) {
		switch {
		case seen[pr]:
		case len(probes) == maxProbes:
			full = true
		default:
			seen[pr] = true
			probes = append(probes, pr)
		}
	}
	for _, c := range catalogue {
		for _, proto := range []string{"tcp", "udp"} {
			if c.Proto != "" && c.Proto != proto {
				continue
			}
			add(probe{proto, c.From})
			for i, r := range rules {
				if in[i] < 0 || world[i] || !allows(r, proto) {
					continue
				}
				if from, to, ok := ports(r); ok {
					for _, at := range []int{from, to + 1} {
						if at > c.From && at <= c.To {
							add(probe{proto, at})
						}
					}
				}
			}
		}
	}
	if full {
		// Fail closed: every public source that allows a sensitive port
		// counts as the whole internet.
		for i, r := range rules {
			if in[i] < 0 || world[i] {
				continue
			}
			if r4, r6 := addrspace.Cover([]netip.Prefix{pfx[i]}).Reaches(); (r4 || r6) && allowsSensitive(r, catalogue) {
				world[i], rules[i].Exposure = true, tooManyPorts
			}
		}
		return
	}
	var members []int
	for _, pr := range probes {
		members = members[:0]
		one := true // every member is of one group, measured already
		for i, r := range rules {
			if in[i] < 0 || world[i] || !allows(r, pr.proto) {
				continue
			}
			if from, to, ok := ports(r); !ok || pr.port < from || pr.port > to {
				continue
			}
			one = one && (len(members) == 0 || in[i] == in[members[0]])
			members = append(members, i)
		}
		if one {
			continue
		}
		g := newPool()
		for _, i := range members {
			g.add(i, pfx[i])
		}
		g.mark(rules, world, fmt.Sprintf(" on %s/%d", pr.proto, pr.port))
	}
}

// allowsSensitive reports whether an ingress rule allows a port of the
// catalogue on its protocol.
func allowsSensitive(r Rule, catalogue []PortRange) bool {
	if orIngress(r.Direction) != Ingress {
		return false
	}
	from, to, ok := ports(r)
	if !ok {
		return false // icmp, or a protocol without ports
	}
	for _, c := range catalogue {
		for _, proto := range []string{"tcp", "udp"} {
			if (c.Proto == "" || c.Proto == proto) && (r.Protocol == proto || r.Protocol == "all" || !knownProtocol(r.Protocol)) && from <= c.To && to >= c.From {
				return true
			}
		}
	}
	return false
}

// pool is the sources of rules taken together.
type pool struct {
	members []int // the rules' indexes
	ps      []netip.Prefix
	count   map[netip.Prefix]int
	order   []netip.Prefix // distinct, first seen first
}

func newPool() *pool { return &pool{count: map[netip.Prefix]int{}} }

func (g *pool) add(i int, p netip.Prefix) {
	g.members, g.ps = append(g.members, i), append(g.ps, p)
	if g.count[p] == 0 {
		g.order = append(g.order, p)
	}
	g.count[p]++
}

// mark sets world and the Exposure of the members that make the pool cover
// the whole internet; where ends the Exposure (" on tcp/22").
func (g *pool) mark(rules []Rule, world []bool, where string) {
	v4, v6 := addrspace.Cover(g.ps).Whole()
	if !v4 && !v6 {
		return
	}
	for n, i := range g.members {
		p := g.ps[n]
		own := addrspace.Cover([]netip.Prefix{p})
		r4, r6 := own.Reaches()
		c4, c6 := r4 && v4, r6 && v6
		if !c4 && !c6 {
			continue // a part that adds no public address
		}
		world[i] = true
		if p.Bits() == 0 {
			continue // written as the whole internet
		}
		fam := "IPv4"
		switch {
		case c4 && c6:
			fam = "IPv4 and IPv6"
		case c6:
			fam = "IPv6"
		}
		if a4, a6 := own.Whole(); (c4 && a4) || (c6 && a6) {
			how := ""
			if p.Addr().Is6() && c4 && !c6 {
				how = " (as IPv4-mapped addresses)"
			}
			rules[i].Exposure = fmt.Sprintf("covers 1/%d or more of the public %s space%s: the whole %s internet%s", addrspace.Share, fam, how, fam, where)
			continue
		}
		rules[i].Exposure = "together with " + g.others(p) + ": the whole " + fam + " internet" + where
	}
}

// others names the pool's sources but p.
func (g *pool) others(p netip.Prefix) string {
	n := len(g.ps) - g.count[p]
	var first netip.Prefix
	for _, o := range g.order {
		if o != p {
			first = o
			break
		}
	}
	switch n {
	case 0:
		return "itself repeated"
	case 1:
		return first.String()
	}
	return fmt.Sprintf("%s and %d more", first, n-1)
}

func orIngress(d Direction) Direction {
	if d == "" {
		return Ingress
	}
	return d
}
