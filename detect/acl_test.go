package detect

import (
	"strings"
	"testing"
)

// TestACLNotes: a network ACL is noted when, in number order, the first
// entry for the rule's address family that covers the whole internet and
// its ports denies it; narrower entries, other ports, other families, an
// allow first, or a grade that is not internet say nothing.
func TestACLNotes(t *testing.T) {
	port := func(p int) *int { return &p }
	ssh := Rule{Direction: Ingress, Protocol: "tcp", FromPort: port(22), ToPort: port(22), CIDRIPv4: "0.0.0.0/0"}
	ssh6 := Rule{Direction: Ingress, Protocol: "tcp", FromPort: port(22), ToPort: port(22), CIDRIPv6: "::/0"}
	narrow := Rule{Direction: Ingress, Protocol: "tcp", FromPort: port(22), ToPort: port(22), CIDRIPv4: "203.0.113.0/24"}
	deny := func(n int, proto, cidr string, from, to int) ACLEntry {
		return ACLEntry{Number: n, Protocol: proto, CIDR: cidr, From: from, To: to}
	}
	allow := func(n int, proto, cidr string, from, to int) ACLEntry {
		return ACLEntry{Number: n, Allow: true, Protocol: proto, CIDR: cidr, From: from, To: to}
	}
	internet := Reachability{Grade: GradeInternet, Interfaces: []NetworkInterface{{ID: "eni-1", SubnetID: "subnet-1"}}}
	for _, c := range []struct {
		name    string
		entries []ACLEntry
		rule    Rule
		r       Reachability
		want    string
	}{
		{"the default ACL allows", []ACLEntry{allow(100, "all", "0.0.0.0/0", 0, 65535), deny(32767, "all", "0.0.0.0/0", 0, 65535)}, ssh, internet, ""},
		{"a deny of the port first", []ACLEntry{allow(200, "all", "0.0.0.0/0", 0, 65535), deny(90, "tcp", "0.0.0.0/0", 22, 22)}, ssh, internet, "network ACL acl-1 of subnet-1 denies tcp/22 from the whole internet (entry 90)"},
		{"a deny of all traffic", []ACLEntry{deny(10, "all", "0.0.0.0/0", 0, 65535)}, ssh, internet, "(entry 10)"},
		{"a deny of other ports", []ACLEntry{deny(10, "tcp", "0.0.0.0/0", 80, 443), allow(20, "all", "0.0.0.0/0", 0, 65535)}, ssh, internet, ""},
		{"a deny of another protocol", []ACLEntry{deny(10, "udp", "0.0.0.0/0", 0, 65535), allow(20, "all", "0.0.0.0/0", 0, 65535)}, ssh, internet, ""},
		{"a narrower deny is passed over", []ACLEntry{deny(10, "tcp", "198.51.100.0/24", 22, 22), allow(20, "all", "0.0.0.0/0", 0, 65535)}, ssh, internet, ""},
		{"an IPv4 deny says nothing of IPv6", []ACLEntry{deny(10, "all", "0.0.0.0/0", 0, 65535), allow(20, "all", "::/0", 0, 65535)}, ssh6, internet, ""},
		{"an IPv6 deny", []ACLEntry{deny(10, "all", "::/0", 0, 65535)}, ssh6, internet, "denies tcp/22 from the whole internet (entry 10)"},
		{"a rule open to part of the internet", []ACLEntry{deny(10, "all", "0.0.0.0/0", 0, 65535)}, narrow, internet, ""},
		{"a narrower allow before the default deny", []ACLEntry{allow(10, "all", "0.0.0.0/1", 0, 65535), allow(20, "all", "128.0.0.0/1", 0, 65535), deny(32767, "all", "0.0.0.0/0", 0, 65535)}, ssh, internet, ""},
		{"a narrower deny, then the default deny", []ACLEntry{deny(10, "tcp", "198.51.100.0/24", 22, 22), deny(32767, "all", "0.0.0.0/0", 0, 65535)}, ssh, internet, "(entry 32767)"},
		{"a deny of part of the ports", []ACLEntry{deny(10, "tcp", "0.0.0.0/0", 22, 22), allow(20, "all", "0.0.0.0/0", 0, 65535)}, Rule{Direction: Ingress, Protocol: "tcp", FromPort: port(0), ToPort: port(65535), CIDRIPv4: "0.0.0.0/0"}, internet, ""},
		{"all traffic, a deny of tcp only", []ACLEntry{deny(10, "tcp", "0.0.0.0/0", 0, 65535), allow(20, "all", "0.0.0.0/0", 0, 65535)}, Rule{Direction: Ingress, Protocol: "all", CIDRIPv4: "0.0.0.0/0"}, internet, ""},
		{"all traffic, a deny of all", []ACLEntry{deny(10, "all", "0.0.0.0/0", 0, 65535)}, Rule{Direction: Ingress, Protocol: "all", CIDRIPv4: "0.0.0.0/0"}, internet, "denies all traffic"},
		{"not graded internet", []ACLEntry{deny(10, "all", "0.0.0.0/0", 0, 65535)}, ssh, Reachability{Grade: GradePrivate, Interfaces: internet.Interfaces}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			notes := aclNotes(map[string]NetworkACL{"subnet-1": {ID: "acl-1", Entries: c.entries}}, c.r, []Rule{c.rule})
			got := strings.Join(notes, "\n")
			if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) || len(notes) > 1 {
				t.Errorf("notes %q, want %q", got, c.want)
			}
		})
	}
}

// TestACLNotesBounded: one note a subnet, however many rules it denies,
// naming four and counting the rest.
func TestACLNotesBounded(t *testing.T) {
	var rules []Rule
	for p := 1000; p < 1240; p++ {
		rules = append(rules, Rule{Direction: Ingress, Protocol: "tcp", FromPort: &p, ToPort: &p, CIDRIPv4: "0.0.0.0/0"})
	}
	r := Reachability{Grade: GradeInternet, Interfaces: []NetworkInterface{{ID: "eni-1", SubnetID: "subnet-1"}, {ID: "eni-2", SubnetID: "subnet-2"}}}
	acl := NetworkACL{ID: "acl-1", Entries: []ACLEntry{{Number: 100, Allow: true, Protocol: "tcp", CIDR: "0.0.0.0/0", From: 443, To: 443}, {Number: 32767, Protocol: "all", CIDR: "0.0.0.0/0", To: 65535}}}
	notes := aclNotes(map[string]NetworkACL{"subnet-1": acl, "subnet-2": acl}, r, rules)
	if len(notes) != 2 || !strings.Contains(notes[0], "tcp/1000, tcp/1001, tcp/1002, tcp/1003, and 236 more") || len(notes[0]) > 400 {
		t.Errorf("%d notes: %q", len(notes), notes)
	}
}
