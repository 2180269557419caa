package detect

// Whether an exposure can be reached from the internet now: the grade of
// the network interfaces and load balancers that use a group, judged from
// what EC2 and Elastic Load Balancing describe. Pure: package enrich and the
// sweep read the resources.

import (
	"fmt"
	"slices"
	"strings"
)

// Grade says whether a group open to the whole internet can be reached
// from it now.
type Grade string

// The grades, from the most reachable.
const (
	// GradeInternet: an interface using the group has a public address and
	// its subnet routes to an internet gateway.
	GradeInternet Grade = "internet"
	// GradeLoadBalancer: the group belongs to an internet-facing load
	// balancer.
	GradeLoadBalancer Grade = "load-balancer"
	// GradeBlocked: an interface would be reachable, but VPC Block Public
	// Access blocks its internet gateway.
	GradeBlocked Grade = "blocked"
	// GradeUnknown: something that decides the grade could not be read.
	GradeUnknown Grade = "unknown"
	// GradePrivate: interfaces use the group, none reachable that way.
	GradePrivate Grade = "private"
	// GradeUnused: no interface or load balancer uses the group.
	GradeUnused Grade = "unused"
)

// Valid reports whether g is one of the grades.
func (g Grade) Valid() bool {
	switch g {
	case GradeInternet, GradeLoadBalancer, GradeBlocked, GradeUnknown, GradePrivate, GradeUnused:
		return true
	}
	return false
}

// Route is what a subnet's route table (or its VPC's main one) sends to an
// internet gateway: the whole IPv4 or IPv6 internet, or a part of it.
type Route struct {
	IPv4, IPv6 bool
}

// LoadBalancer is a load balancer that uses a group: as Elastic Load
// Balancing describes it (Described; Application, Network and Gateway Load
// Balancers), or known only by the interfaces it manages for it
// (NetworkInterface.LoadBalancer; a Classic Load Balancer, or when the
// description could not be read): internet-facing then when one has a
// public address.
type LoadBalancer struct {
	// Name is "app/NAME", "net/NAME", "gwy/NAME", or a Classic Load
	// Balancer's NAME, as its interfaces' descriptions name it.
	Name string `json:"name"`
	// Public: internet-facing, and not blocked by VPC Block Public Access.
	Public bool `json:"internetFacing"`
	// InternetFacing is the described scheme; Groups, Subnets and VPCID
	// what it was described with.
	InternetFacing bool     `json:"-"`
	Groups         []string `json:"-"`
	Subnets        []string `json:"-"`
	VPCID          string   `json:"-"`
	Described      bool     `json:"-"`
}

// Uses reports whether the load balancer uses group.
func (lb LoadBalancer) Uses(group string) bool { return slices.Contains(lb.Groups, group) }

// BlockPublicAccess is a Region's VPC Block Public Access: its mode (off,
// block-bidirectional, block-ingress), and the subnets and VPCs excluded.
type BlockPublicAccess struct {
	Mode     string
	Excluded []string
}

// blocks reports whether it blocks inbound traffic through the internet
// gateway of the subnet or VPC.
func (b BlockPublicAccess) blocks(subnet, vpc string) bool {
	if b.Mode != "block-bidirectional" && b.Mode != "block-ingress" {
		return false
	}
	return !slices.Contains(b.Excluded, subnet) && !slices.Contains(b.Excluded, vpc)
}

// Network is what was described of the resources that use a group.
type Network struct {
	Interfaces []NetworkInterface
	// LoadBalancers are those Elastic Load Balancing describes as using
	// the group (their interfaces are in Interfaces too, when listed).
	LoadBalancers []LoadBalancer
	Routes        map[string]Route // by subnet id
	// BPA is the Region's Block Public Access: its Mode is "" when it was
	// not read (no interface or load balancer needed it); BPAUnread when it
	// could not be (counted as off).
	BPA       BlockPublicAccess
	BPAUnread bool
	// Unread says what could not be read; the grade is then unknown
	// unless something reachable was found all the same.
	Unread []string
	// Notes are reported, not used to grade.
	Notes []string
	// ACLs are the network ACLs of the subnets of the interfaces with a
	// public address, by subnet id: reported when one denies an exposure
	// (aclNotes), never used to grade.
	ACLs map[string]NetworkACL
}

// Reachability is the grade of a group and why.
type Reachability struct {
	Grade Grade `json:"grade"`
	// Why says what makes the grade, and for a grade that is not reachable
	// yet, what would make it so.
	Why string `json:"why"`
	// Interfaces are those that make the grade (the reachable ones, or all
	// when none is), at most maxNamed; LoadBalancers likewise.
	Interfaces    []NetworkInterface `json:"interfaces,omitempty"`
	LoadBalancers []LoadBalancer     `json:"loadBalancers,omitempty"`
	// More counts the interfaces not named.
	More  int      `json:"more,omitempty"`
	Notes []string `json:"notes,omitempty"`
}

// maxNamed bounds the interfaces a Reachability names.
const maxNamed = 5

// Reach grades n: internet when an interface has a public address and a
// route to an internet gateway for it (and Block Public Access does not
// block it), else load-balancer when an internet-facing load balancer uses
// the group, else blocked, unknown (something was not read), private or
// unused. It never grades lower for what it could not read.
func Reach(n Network) Reachability {
	var reachable, blocked []NetworkInterface
	// A described load balancer is internet-facing by its scheme, unless
	// Block Public Access blocks every subnet it is in.
	var lbs []LoadBalancer
	for _, lb := range n.LoadBalancers {
		lb.Public = lb.InternetFacing && (len(lb.Subnets) == 0 && !n.BPA.blocks("", lb.VPCID) ||
			slices.ContainsFunc(lb.Subnets, func(s string) bool { return !n.BPA.blocks(s, lb.VPCID) }))
		lbs = append(lbs, lb)
	}
	for _, ni := range n.Interfaces {
		if ni.LoadBalancer != "" {
			// A load balancer's interface: graded as its load balancer, which
			// is internet-facing as described, or, when it was not, when its
			// interfaces have public addresses.
			i := slices.IndexFunc(lbs, func(lb LoadBalancer) bool { return lb.Name == ni.LoadBalancer })
			if i < 0 {
				lbs = append(lbs, LoadBalancer{Name: ni.LoadBalancer})
				i = len(lbs) - 1
			}
			if !lbs[i].Described {
				lbs[i].Public = lbs[i].Public || (ni.PublicIPv4 != "" || ni.IPv6 && n.Routes[ni.SubnetID].IPv6) && !n.BPA.blocks(ni.SubnetID, ni.VPCID)
			}
			continue
		}
		if nat(ni) {
			// A NAT gateway takes no connection from the internet.
			continue
		}
		r, ok := n.Routes[ni.SubnetID]
		if !ok {
			continue
		}
		if ni.PublicIPv4 != "" && r.IPv4 || ni.IPv6 && r.IPv6 {
			if n.BPA.blocks(ni.SubnetID, ni.VPCID) {
				blocked = append(blocked, ni)
			} else {
				reachable = append(reachable, ni)
			}
		}
	}
	var public []LoadBalancer
	for _, lb := range lbs {
		if lb.Public {
			public = append(public, lb)
		}
	}
	out := Reachability{Notes: n.Notes}
	name := func(nis []NetworkInterface) {
		out.Interfaces = nis[:min(len(nis), maxNamed)]
		out.More = len(nis) - len(out.Interfaces)
	}
	switch {
	case len(reachable) > 0:
		out.Grade = GradeInternet
		name(reachable)
		out.Why = fmt.Sprintf("reachable from the internet: %s has a public address and a route to an internet gateway", describe(reachable))
	case len(n.Unread) > 0:
		// Before a load balancer: what was not read may be a public host.
		out.Grade, out.LoadBalancers = GradeUnknown, public
		name(n.Interfaces)
		out.Why = "not known: " + strings.Join(n.Unread, "; ")
	case len(public) > 0:
		out.Grade, out.LoadBalancers = GradeLoadBalancer, public
		out.Why = "the group belongs to an internet-facing load balancer (" + lbNames(public) + ")"
	case len(blocked) > 0:
		out.Grade = GradeBlocked
		name(blocked)
		out.Why = fmt.Sprintf("%s would be reachable, but VPC Block Public Access (%s) blocks its internet gateway: turning it off or excluding the subnet or VPC exposes it", describe(blocked), n.BPA.Mode)
	case len(n.Interfaces) > 0 || len(lbs) > 0:
		out.Grade, out.LoadBalancers = GradePrivate, lbs[:min(len(lbs), maxNamed)]
		name(n.Interfaces)
		out.Why = "not reachable from the internet yet: no interface using the group has a public address routed to an internet gateway"
		if len(lbs) > 0 {
			out.Why += " and its load balancers (" + lbNames(lbs) + ") are internal or blocked"
		}
		out.Why += "; a public IP, an Elastic IP or IPv6 with such a route, an internet-facing load balancer, or attaching the group to a public host, would expose it"
	default:
		out.Grade = GradeUnused
		out.Why = "not reachable from the internet yet: no network interface or load balancer uses the group; attaching it to a public host would expose it"
	}
	return out
}

// nat reports whether ni is a NAT gateway's interface (EC2 spells its
// type both ways).
func nat(ni NetworkInterface) bool {
	return ni.Type == "nat_gateway" || ni.Type == "natGateway"
}

// describe names interfaces: the first and how many more.
func describe(nis []NetworkInterface) string {
	s := interfaceName(nis[0])
	if len(nis) > 1 {
		s += fmt.Sprintf(" (and %d more interfaces)", len(nis)-1)
	}
	return s
}

// interfaceName names an interface and what it belongs to.
func interfaceName(n NetworkInterface) string {
	if n.Resource != "" {
		return n.ID + " (" + n.Resource + ")"
	}
	return n.ID
}

// lbNames names load balancers (shorten: the first four and a count).
func lbNames(lbs []LoadBalancer) string {
	names := make([]string, len(lbs))
	for i, lb := range lbs {
		names[i] = lb.Name
	}
	return shorten(names)
}
