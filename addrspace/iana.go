package addrspace

// The address blocks that make up public space, kept here and nowhere
// else.
//
// Sources, as read on 2026-12-07:
//   - IANA, "IPv6 Global Unicast Address Assignments"
//     (https://www.iana.org/assignments/ipv6-unicast-address-assignments),
//     registry last updated 2019-11-06, plus 2410::/12 (APNIC), which later
//     copies of the registry list. Every block IANA has given a regional
//     registry is here; the registry's other space in 2000::/3 is "reserved
//     by IANA", and 2001::/23 (IETF protocol assignments) and 2002::/16
//     (6to4) are special purpose, not registry space.
//   - IANA, "IPv6 Special-Purpose Address Registry"
//     (https://www.iana.org/assignments/iana-ipv6-special-registry, updated
//     2024-10-22) and "IPv4 Special-Purpose Address Registry"
//     (https://www.iana.org/assignments/iana-ipv4-special-registry), RFC 6890:
//     the blocks that are not globally reachable.
//   - IANA, "IPv4 Multicast Address Space Registry" (224.0.0.0/4, RFC 5771).
//
// When IANA gives a registry a new block, add it to registryV6 with its
// date; TestRegistryBlocks checks the table stays disjoint and inside
// 2000::/3.

// registryV6 is the IPv6 space IANA has given the five regional internet
// registries: every IPv6 address that is routed on the internet today is
// inside one of these blocks. Public IPv6 space is these blocks less the
// non-public ones inside them.
var registryV6 = prefixes(
	// APNIC, 1999-2006; 2400::/12 2006-10-03; 2410::/12 in later copies.
	"2001:200::/23", "2001:c00::/23", "2001:e00::/23", "2001:4400::/23", "2001:8000::/19",
	"2001:a000::/20", "2001:b000::/20", "2400::/12", "2410::/12",
	// ARIN, 1999-2006; 2630::/12 2019-11-06.
	"2001:400::/23", "2001:1800::/23", "2001:4800::/23", "2600::/12", "2610::/23", "2620::/23",
	"2630::/12",
	// RIPE NCC, 1999-2019.
	"2001:600::/23", "2001:800::/22", "2001:1400::/22", "2001:1a00::/23", "2001:1c00::/22",
	"2001:2000::/19", "2001:4000::/23", "2001:4600::/23", "2001:4a00::/23", "2001:4c00::/23",
	"2001:5000::/20", "2003::/18", "2a00::/12", "2a10::/12",
	// LACNIC, 2002-11-01 and 2006-10-03.
	"2001:1200::/23", "2800::/12",
	// AFRINIC, 2004-06-01 and 2006-10-03.
	"2001:4200::/23", "2c00::/12",
)

// nonPublic are the blocks that are not public: private, loopback,
// link-local, shared (carrier-grade NAT), documentation, this-network,
// multicast and reserved. They do not overlap.
var nonPublic = prefixes(
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.0.2.0/24", "192.168.0.0/16", "198.51.100.0/24", "203.0.113.0/24",
	"224.0.0.0/4", "240.0.0.0/4",
	"::1/128", "fc00::/7", "fe80::/10", "2001:db8::/32",
)
