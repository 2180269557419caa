package addrspace

import (
	"net/netip"
	"testing"
)

func TestPublic(t *testing.T) {
	cases := map[string]bool{
		"52.94.76.10/32": true, "0.0.0.0/1": true, "128.0.0.0/1": true, "8.8.8.0/24": true,
		"2600:1f00::/32": true, "::/1": true,
		"10.1.2.0/24": false, "172.31.0.0/16": false, "192.168.1.1/32": false, "100.64.0.0/10": false,
		"127.0.0.1/32": false, "169.254.169.254/32": false, "192.0.2.0/24": false, "198.51.100.0/24": false,
		"203.0.113.9/32": false, "0.0.0.0/8": false, "fd12::/16": false, "fe80::/64": false, "2001:db8::/48": false,
		"::1/128": false, "172.0.0.0/8": true, "::ffff:10.0.0.1/128": false, "::ffff:52.94.76.10/128": true,
	}
	for c, want := range cases {
		if got := Public(netip.MustParsePrefix(c)); got != want {
			t.Errorf("Public(%s) = %v, want %v", c, got, want)
		}
	}
}

// registries are the five regional registries' blocks written as their
// users would: one line per registry, from its own published list.
var registries = []string{
	"2001:200::/23", "2001:c00::/23", "2001:e00::/23", "2001:4400::/23", "2001:8000::/19", "2001:a000::/20", "2001:b000::/20", "2400::/12", "2410::/12",
	"2001:400::/23", "2001:1800::/23", "2001:4800::/23", "2600::/12", "2610::/23", "2620::/23", "2630::/12",
	"2001:600::/23", "2001:800::/22", "2001:1400::/22", "2001:1a00::/23", "2001:1c00::/22", "2001:2000::/19", "2001:4000::/23", "2001:4600::/23", "2001:4a00::/23", "2001:4c00::/23", "2001:5000::/20", "2003::/18", "2a00::/12", "2a10::/12",
	"2001:1200::/23", "2800::/12",
	"2001:4200::/23", "2c00::/12",
}

// TestRegistryBlocks checks the IPv6 table: disjoint, inside 2000::/3, and
// as large as the IANA registry says (34 blocks, 8.054 /12s less
// documentation space: about 1.57 % of 2000::/3).
func TestRegistryBlocks(t *testing.T) {
	unicast := netip.MustParsePrefix("2000::/3")
	for i, a := range registryV6 {
		if !unicast.Contains(a.Addr()) || a.Bits() < 3 || a != a.Masked() {
			t.Errorf("%s is not a block of 2000::/3", a)
		}
		for _, b := range registryV6[i+1:] {
			if a.Overlaps(b) {
				t.Errorf("%s overlaps %s", a, b)
			}
		}
	}
	if len(registryV6) != 34 {
		t.Errorf("%d registry blocks, want 34", len(registryV6))
	}
	// 8.054198 /12s less one /32 of documentation space, in /32s.
	if got := publicV6.v6.hi >> 32; got != 8445439 || publicV6.v6.lo != 0 {
		t.Errorf("public IPv6 space is %d /32s, want 8445439", got)
	}
}

func TestWhole(t *testing.T) {
	cases := []struct {
		ranges         []string
		v4, v6         bool
		reach4, reach6 bool
	}{
		{[]string{"0.0.0.0/0"}, true, false, true, false},
		{[]string{"::/0"}, true, true, true, true}, // ::/0 holds the IPv4-mapped addresses
		{[]string{"0.0.0.0/1"}, true, false, true, false},
		// The threshold, 1/16 of the public space, from both sides.
		{[]string{"0.0.0.0/2"}, true, false, true, false},
		{[]string{"16.0.0.0/4"}, true, false, true, false},
		{[]string{"0.0.0.0/4"}, true, false, true, false},                                           // 14 public /8s: 1.015 of the threshold
		{[]string{"0.0.0.0/5", "8.0.0.0/6", "12.0.0.0/7", "14.0.0.0/8"}, false, false, true, false}, // 13 public /8s: 0.94
		{[]string{"0.0.0.0/5"}, false, false, true, false},
		{[]string{"52.0.0.0/8"}, false, false, true, false},
		{[]string{"0.0.0.0/2", "64.0.0.0/2"}, true, false, true, false},
		{[]string{"10.0.0.0/8", "192.168.0.0/16"}, false, false, false, false},
		// IPv6 is measured against the registries' blocks.
		{[]string{"3000::/4"}, false, false, false, false}, // reserved by IANA: reaches nobody today
		{[]string{"2000::/4"}, false, true, false, true},   // every registry block
		{[]string{"2000::/5"}, false, true, false, true},
		{[]string{"2600::/12"}, false, true, false, true},  // ARIN's /12: 1/8 of the registries' space
		{[]string{"2600::/13"}, false, false, false, true}, // half of it: 0.993 of the threshold
		{[]string{"2600::/13", "2001:8000::/19"}, false, true, false, true},
		{[]string{"2001:db8::/32"}, false, false, false, false},
		{[]string{"2002::/16", "2001::/32"}, false, false, false, false}, // 6to4 and Teredo: special, not registry space
		{registries, false, true, false, true},
		{[]string{"::ffff:0.0.0.0/97"}, true, false, true, false},
		{[]string{"fc00::/7"}, false, false, false, false},
		{nil, false, false, false, false},
	}
	for _, c := range cases {
		var ps []netip.Prefix
		for _, r := range c.ranges {
			ps = append(ps, netip.MustParsePrefix(r))
		}
		s := Cover(ps)
		v4, v6 := s.Whole()
		r4, r6 := s.Reaches()
		if v4 != c.v4 || v6 != c.v6 || r4 != c.reach4 || r6 != c.reach6 {
			t.Errorf("%v: whole %v %v, reaches %v %v; want %v %v, %v %v", c.ranges, v4, v6, r4, r6, c.v4, c.v6, c.reach4, c.reach6)
		}
	}
}
