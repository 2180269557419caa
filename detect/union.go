package detect

// What a network interface admits: AWS applies the union of the rules of
// every security group on an interface, so sources that no one group opens
// to the whole internet can be opened by two groups together.

import (
	"slices"
	"strings"

	"github.com/sgwatch/sgwatch/addrspace"
)

// NetworkInterface is a network interface, the ids of the security groups
// on it, and, for its reachability (Reach), what EC2 describes of it.
type NetworkInterface struct {
	ID     string   `json:"id"`
	Groups []string `json:"-"`
	// Type is EC2's interface type (interface, nat_gateway, …); Resource
	// what it belongs to when EC2 says (an instance, a service's
	// description).
	Type     string `json:"type,omitempty"`
	Resource string `json:"resource,omitempty"`
	// PublicIPv4 is its public IPv4 or Elastic IP address; IPv6 whether it
	// has an IPv6 address (every one is public).
	PublicIPv4 string `json:"publicIpv4,omitempty"`
	IPv6       bool   `json:"ipv6,omitempty"`
	SubnetID   string `json:"subnetId,omitempty"`
	VPCID      string `json:"vpcId,omitempty"`
	// LoadBalancer names the load balancer the interface belongs to, when
	// Elastic Load Balancing manages it ("app/NAME", "net/NAME", or a
	// Classic Load Balancer's NAME); "" for any other interface.
	LoadBalancer string `json:"loadBalancer,omitempty"`
}

// GroupRule is a rule and the group it belongs to.
type GroupRule struct {
	Group string
	Rule  Rule
}

// UnionExposure is what an interface admits from the whole internet only
// through the union of its groups: rules no group opens on its own.
type UnionExposure struct {
	// Interfaces are the interfaces that carry the same set of groups.
	Interfaces []string
	// Groups are the groups whose rules together open them, sorted.
	Groups []string
	// Rules are those rules, each with its Exposure.
	Rules []GroupRule
	// Notes say which of the interfaces' groups could not be judged (their
	// rules were not listed).
	Notes []string
}

// UnionExposures judges the ingress rules of every set of groups that some
// interface carries, taken together as AWS applies them, and returns what
// each set opens to the whole internet that none of its groups opens
// alone. rules are the listed rules of each group, by group id. Interfaces
// with the same set of groups share one UnionExposure; the result is in
// the order of the first interface of each set.
func (s Scoring) UnionExposures(rules map[string][]Rule, nis []NetworkInterface) []UnionExposure {
	catalogue := s.catalogue()
	ingress := func(id string) []Rule {
		var in []Rule
		for _, r := range rules[id] {
			if orIngress(r.Direction) == Ingress {
				in = append(in, r)
			}
		}
		return in
	}
	alone := map[string][]bool{} // each group's rules open on their own
	open := func(id string) []bool {
		w, ok := alone[id]
		if !ok {
			w = exposures(ingress(id), catalogue)
			alone[id] = w
		}
		return w
	}
	bySet := map[string]int{}
	var out []UnionExposure
	for _, ni := range nis {
		groups := slices.Clone(ni.Groups)
		slices.Sort(groups)
		groups = slices.Compact(groups)
		key := strings.Join(groups, ",")
		if i, ok := bySet[key]; ok {
			if i >= 0 {
				out[i].Interfaces = append(out[i].Interfaces, ni.ID)
			}
			continue
		}
		bySet[key] = -1
		if len(groups) < 2 {
			continue // one group is judged on its own
		}
		// The rules no group opens alone, taken together: those a group
		// opens alone are its own exposures already.
		var union []GroupRule
		var notes []string
		for _, g := range groups {
			if _, listed := rules[g]; !listed {
				notes = append(notes, "the rules of "+g+" were not listed: what it adds to the interfaces is not known")
			}
			w := open(g)
			for j, r := range ingress(g) {
				// Only a public range can add to the whole internet.
				if p, ok, _ := prefix(r); ok && !w[j] && addrspace.Public(p) {
					union = append(union, GroupRule{Group: g, Rule: r})
				}
			}
		}
		if !slices.ContainsFunc(union, func(gr GroupRule) bool { return gr.Group != union[0].Group }) {
			continue // one group's rules, or none: nothing opens together
		}
		rs := make([]Rule, len(union))
		for i, gr := range union {
			rs[i] = gr.Rule
		}
		world := exposures(rs, catalogue)
		u := UnionExposure{Interfaces: []string{ni.ID}, Notes: notes}
		for i, gr := range union {
			if !world[i] {
				continue
			}
			u.Rules = append(u.Rules, GroupRule{Group: gr.Group, Rule: rs[i]})
			if !slices.Contains(u.Groups, gr.Group) {
				u.Groups = append(u.Groups, gr.Group)
			}
		}
		if len(u.Rules) == 0 {
			continue
		}
		bySet[key] = len(out)
		out = append(out, u)
	}
	return out
}
