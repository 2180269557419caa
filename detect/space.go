package detect

import (
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
)

// The address-space model: how much of the public internet a set of
// sources covers. Public IPv4 space is every IPv4 address outside the
// nonPublic blocks; public IPv6 space is global unicast (2000::/3) outside
// them. Sources that together cover at least half of either are the whole
// internet: nobody writes half the internet to mean a partner's network.

// nonPublic are the address blocks that are not public: private, loopback,
// link-local, shared (carrier-grade NAT), documentation, this-network,
// multicast and reserved. They do not overlap.
var nonPublic = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
		"172.16.0.0/12", "192.0.2.0/24", "192.168.0.0/16", "198.51.100.0/24", "203.0.113.0/24",
		"224.0.0.0/4", "240.0.0.0/4",
		"::1/128", "fc00::/7", "fe80::/10", "2001:db8::/32",
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

var (
	globalUnicast = netip.MustParsePrefix("2000::/3")
	ipv4Mapped    = netip.MustParsePrefix("::ffff:0.0.0.0/96")
	allIPv4       = netip.MustParsePrefix("0.0.0.0/0")
	// publicV4 and publicV6 are the sizes of the public spaces.
	publicV4 = cover([]netip.Prefix{allIPv4})
	publicV6 = cover([]netip.Prefix{globalUnicast})
)

// Public reports whether a range reaches public address space: it lies
// inside none of the private, loopback, link-local, shared, documentation,
// multicast or reserved blocks.
func public(p netip.Prefix) bool {
	p = p.Masked()
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	for _, n := range nonPublic {
		if n.Addr().Is4() == p.Addr().Is4() && n.Bits() <= p.Bits() && n.Contains(p.Addr()) {
			return false
		}
	}
	return true
}

// span is how many public addresses a set of sources covers, per family.
type span struct{ v4, v6 u128 }

// cover measures the public addresses the prefixes cover together. IPv6
// prefixes count for IPv4 where they cover IPv4-mapped addresses
// (::ffff:0:0/96).
func cover(ps []netip.Prefix) span {
	var v4, v6 []netip.Prefix
	for _, p := range ps {
		p = p.Masked()
		if p.Addr().Is4() {
			v4 = append(v4, p)
			continue
		}
		switch {
		case p.Bits() <= ipv4Mapped.Bits() && p.Contains(ipv4Mapped.Addr()):
			v4 = append(v4, allIPv4)
		case p.Addr().Is4In6() && p.Bits() >= ipv4Mapped.Bits():
			v4 = append(v4, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked())
		}
		switch {
		case p.Bits() <= globalUnicast.Bits() && p.Contains(globalUnicast.Addr()):
			v6 = append(v6, globalUnicast)
		case p.Bits() >= globalUnicast.Bits() && globalUnicast.Contains(p.Addr()):
			v6 = append(v6, p)
		}
	}
	return span{v4: measure(v4, 32), v6: measure(v6, 128)}
}

// measure adds up the public addresses of prefixes of one family (width
// 32 or 128). Two prefixes are nested or disjoint, so after sorting, a
// prefix inside the last one kept adds nothing.
func measure(ps []netip.Prefix, width int) u128 {
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	var sum u128
	var last netip.Prefix
	for _, p := range ps {
		if last.IsValid() && last.Contains(p.Addr()) {
			continue
		}
		last = p
		sum = sum.add(size(p.Bits(), width))
		for _, n := range nonPublic {
			if n.Addr().Is4() != p.Addr().Is4() || !n.Overlaps(p) {
				continue
			}
			sum = sum.sub(size(max(n.Bits(), p.Bits()), width))
		}
	}
	return sum
}

// whole reports which families s covers at least half of.
func (s span) whole() (v4, v6 bool) {
	return !s.v4.isZero() && s.v4.shl1().cmp(publicV4.v4) >= 0,
		!s.v6.isZero() && s.v6.shl1().cmp(publicV6.v6) >= 0
}

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
		case bad || (r.Source() == "" && r.RuleID == "") || (r.Source() == "" && r.Protocol != ""):
			// No source, or one that does not parse: fail closed.
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

// maxProbes bounds the ports sensitiveReach looks at in one call.
const maxProbes = 1024

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
	add := func(pr probe) {
		if !seen[pr] && len(probes) < maxProbes {
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
	v4, v6 := cover(g.ps).whole()
	if !v4 && !v6 {
		return
	}
	for n, i := range g.members {
		p := g.ps[n]
		own := cover([]netip.Prefix{p})
		c4, c6 := !own.v4.isZero() && v4, !own.v6.isZero() && v6
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
		if a4, a6 := own.whole(); (c4 && a4) || (c6 && a6) {
			how := ""
			if p.Addr().Is6() && c4 && !c6 {
				how = " (as IPv4-mapped addresses)"
			}
			rules[i].Exposure = "covers half or more of the public " + fam + " space" + how + ": the whole " + fam + " internet" + where
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

// u128 is an unsigned 128-bit count of addresses.
type u128 struct{ hi, lo uint64 }

// size is the number of addresses of a prefix of length bits in a family
// of width bits.
func size(prefixBits, width int) u128 {
	n := width - prefixBits
	if n >= 64 {
		return u128{hi: 1 << (n - 64)}
	}
	return u128{lo: 1 << n}
}

func (a u128) add(b u128) u128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, _ := bits.Add64(a.hi, b.hi, c)
	return u128{hi, lo}
}

func (a u128) sub(b u128) u128 {
	lo, c := bits.Sub64(a.lo, b.lo, 0)
	hi, _ := bits.Sub64(a.hi, b.hi, c)
	return u128{hi, lo}
}

func (a u128) shl1() u128 { return u128{a.hi<<1 | a.lo>>63, a.lo << 1} }

func (a u128) cmp(b u128) int {
	switch {
	case a.hi != b.hi:
		if a.hi < b.hi {
			return -1
		}
		return 1
	case a.lo != b.lo:
		if a.lo < b.lo {
			return -1
		}
		return 1
	}
	return 0
}

func (a u128) isZero() bool { return a.hi == 0 && a.lo == 0 }
