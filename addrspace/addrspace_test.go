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

func TestWhole(t *testing.T) {
	cases := []struct {
		ranges         []string
		v4, v6         bool
		reach4, reach6 bool
	}{
		{[]string{"0.0.0.0/0"}, true, false, true, false},
		{[]string{"::/0"}, true, true, true, true}, // ::/0 holds the IPv4-mapped addresses
		{[]string{"0.0.0.0/1"}, true, false, true, false},
		{[]string{"0.0.0.0/2"}, false, false, true, false},
		{[]string{"0.0.0.0/2", "64.0.0.0/2"}, true, false, true, false},
		{[]string{"10.0.0.0/8", "192.168.0.0/16"}, false, false, false, false},
		{[]string{"3000::/4"}, false, true, false, true},
		{[]string{"2000::/4"}, false, false, false, true}, // half of 2000::/3, less 2001:db8::/32
		{[]string{"2000::/5"}, false, false, false, true},
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
