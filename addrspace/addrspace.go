// Package addrspace measures how much of the public internet a set of
// address ranges covers: the model behind "open to the whole internet".
//
// Public IPv4 space is every IPv4 address outside the non-public blocks;
// public IPv6 space is global unicast (2000::/3) outside them. Ranges that
// together cover at least half of either are the whole internet: nobody
// writes half the internet to mean a partner's network.
package addrspace

import (
	"math/bits"
	"net/netip"
	"slices"
)

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
	publicV4 = Cover([]netip.Prefix{allIPv4})
	publicV6 = Cover([]netip.Prefix{globalUnicast})
)

// Public reports whether a range reaches public address space: it lies
// inside none of the private, loopback, link-local, shared, documentation,
// multicast or reserved blocks.
func Public(p netip.Prefix) bool {
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

// Span is how many public addresses a set of ranges covers, per family.
type Span struct{ v4, v6 u128 }

// Cover measures the public addresses the prefixes cover together. IPv6
// prefixes count for IPv4 where they cover IPv4-mapped addresses
// (::ffff:0:0/96).
func Cover(ps []netip.Prefix) Span {
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
	return Span{v4: measure(v4, 32), v6: measure(v6, 128)}
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

// Whole reports which families s covers at least half of.
func (s Span) Whole() (v4, v6 bool) {
	return !s.v4.isZero() && s.v4.shl1().cmp(publicV4.v4) >= 0,
		!s.v6.isZero() && s.v6.shl1().cmp(publicV6.v6) >= 0
}

// Reaches reports which families s covers any public address of.
func (s Span) Reaches() (v4, v6 bool) { return !s.v4.isZero(), !s.v6.isZero() }

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
