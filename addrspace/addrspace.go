// Package addrspace measures how much of the public internet a set of
// address ranges covers: the model behind "open to the whole internet".
//
// Public IPv4 space is every IPv4 address outside the non-public blocks.
// Public IPv6 space is the blocks IANA has given the regional registries
// (every routed IPv6 address is in one) outside the non-public blocks; the
// rest of 2000::/3 reaches nobody today. Both tables, with their sources,
// are in iana.go.
//
// Ranges that together cover at least 1/Share of either public space are
// the whole internet. The threshold is an attacker's: a scan sent from k
// addresses spread over the internet (a small botnet, a few rented hosts
// at several providers) gets through a rule that admits a share f of the
// public space with probability 1-(1-f)^k. At f = 1/16, 50 addresses get
// through 96 % of the time, 100 addresses 99.8 %: one round of a modest
// scan finds the port, as it would behind 0.0.0.0/0. A single /4 of IPv4
// (268 million addresses) or one registry's /12 of IPv6 is past it; a /8
// (1/220 of public IPv4) is not, and stays a broad public range.
package addrspace

import (
	"math/bits"
	"net/netip"
	"slices"
)

// Share is the threshold of the whole internet: ranges covering at least
// 1/Share of the public IPv4 or IPv6 space are the whole internet to a scan.
const Share = 16

var (
	ipv4Mapped = netip.MustParsePrefix("::ffff:0.0.0.0/96")
	allIPv4    = netip.MustParsePrefix("0.0.0.0/0")
	// publicV4 and publicV6 are the sizes of the public spaces.
	publicV4 = Cover([]netip.Prefix{allIPv4})
	publicV6 = Cover([]netip.Prefix{netip.MustParsePrefix("::/0")})
)

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

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
// (::ffff:0:0/96), and for IPv6 where they cover registry space.
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
		if !p.Addr().Is4In6() || p.Bits() < ipv4Mapped.Bits() {
			v6 = append(v6, p)
		}
	}
	return Span{v4: measure(v4, 32), v6: measure(v6, 128)}
}

// measure adds up the public addresses of prefixes of one family (width
// 32 or 128): the parts of each inside the family's public blocks, less
// the non-public blocks. Two prefixes are nested or disjoint, so after
// sorting, a prefix inside the last one kept adds nothing.
func measure(ps []netip.Prefix, width int) u128 {
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	blocks := registryV6
	if width == 32 {
		blocks = []netip.Prefix{allIPv4}
	}
	var sum u128
	var last netip.Prefix
	for _, p := range ps {
		if last.IsValid() && last.Contains(p.Addr()) {
			continue
		}
		last = p
		for _, b := range blocks {
			if b.Overlaps(p) {
				sum = sum.add(size(max(b.Bits(), p.Bits()), width))
			}
		}
		for _, n := range nonPublic {
			if n.Addr().Is4() == p.Addr().Is4() && n.Overlaps(p) && inBlocks(n, blocks) {
				sum = sum.sub(size(max(n.Bits(), p.Bits()), width))
			}
		}
	}
	return sum
}

// inBlocks reports whether n lies inside one of blocks.
func inBlocks(n netip.Prefix, blocks []netip.Prefix) bool {
	for _, b := range blocks {
		if b.Bits() <= n.Bits() && b.Contains(n.Addr()) {
			return true
		}
	}
	return false
}

// Whole reports which families s covers at least 1/Share of the public
// space of.
func (s Span) Whole() (v4, v6 bool) {
	return !s.v4.isZero() && s.v4.mul(Share).cmp(publicV4.v4) >= 0,
		!s.v6.isZero() && s.v6.mul(Share).cmp(publicV6.v6) >= 0
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

// mul multiplies a by n; counts of addresses never come near overflow.
func (a u128) mul(n uint64) u128 {
	hi, lo := bits.Mul64(a.lo, n)
	return u128{a.hi*n + hi, lo}
}

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
