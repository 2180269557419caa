package detect

// Authorised public ports: an exposure that is meant, reported as info.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// PublicTag is the security-group tag that authorises ports to be public
// on that group, wherever it is: "tcp/443" or "tcp/8443,udp/4500".
const PublicTag = "sgwatch:public"

// authorized returns the whole-internet ingress rules of f that are meant
// to be public, why, and the lowest severity they leave: a rule on a port
// AUTHORIZED_PUBLIC_PORTS names, of a group whose every interface belongs
// to an internet-facing load balancer (and nothing unread); or on a port
// the group's sgwatch:public tag names, then no lower than high when the
// group is reachable from the internet (a tag is anyone's with
// ec2:CreateTags). A sensitive port, or all traffic, never is. Only the
// rules of a change to a group's rules, or of the sweep's exposure, can be:
// an attach, list or Block Public Access finding is judged whole.
func (o Scoring) authorized(f *Finding, r Reachability) (covered []Rule, why string, floor Severity) {
	if c := byName[f.Event.Name]; (c == nil || !c.Opens()) && f.Action != Exposure {
		return nil, "", Info
	}
	var lb string
	if r.Grade == GradeLoadBalancer && f.Live != nil && f.Live.Network != nil && onlyLoadBalancers(*f.Live.Network) {
		lb = lbNames(r.LoadBalancers)
	}
	tagged, err := ParsePublicTag(f.SecurityGroup.Tags[PublicTag])
	if err != nil || slices.ContainsFunc(tagged, func(p PortRange) bool { return p.To-p.From >= maxTagPorts }) {
		tagged = nil // a tag not understood, or too wide, authorises nothing
	}
	catalogue := o.catalogue()
	floor = Info
	var by []string
	for _, rule := range f.Rules {
		if orIngress(rule.Direction) != Ingress || rule.Unmatched || !WholeInternet(rule) && rule.Exposure == "" ||
			allTraffic(rule) || len(sensitive(rule, catalogue)) > 0 {
			continue
		}
		switch {
		case lb != "" && within(rule, o.AuthorizedPorts):
			by = append(by, Target(rule)+" (AUTHORIZED_PUBLIC_PORTS) on internet-facing load balancer "+lb)
		case within(rule, tagged):
			by = append(by, Target(rule)+" (tag "+PublicTag+" on the group)")
			if r.Grade == GradeInternet {
				floor = High
			}
		default:
			continue
		}
		covered = append(covered, rule)
	}
	if len(covered) == 0 {
		return nil, "", Info
	}
	return covered, "authorised public port: " + shorten(by) + ": meant to be open to the whole internet", floor
}

// maxTagPorts bounds the ports one range of an sgwatch:public tag may
// name: it authorises a service's ports, not a span of them.
const maxTagPorts = 16

// onlyLoadBalancers reports whether every interface of n belongs to a load
// balancer, and one does (by its interfaces, or as described).
func onlyLoadBalancers(n Network) bool {
	for _, ni := range n.Interfaces {
		if ni.LoadBalancer == "" {
			return false
		}
	}
	return len(n.Interfaces) > 0 || len(n.LoadBalancers) > 0
}

// within reports whether the rule's protocol and whole port range are in
// one of ranges.
func within(r Rule, ranges []PortRange) bool {
	from, to, ok := ports(r)
	if !ok {
		return false
	}
	for _, p := range ranges {
		if (p.Proto == "" || p.Proto == r.Protocol) && p.From <= from && to <= p.To {
			return true
		}
	}
	return false
}

// ParsePublicTag reads the sgwatch:public tag, and AUTHORIZED_PUBLIC_PORTS:
// PROTO/PORT or PROTO/FROM-TO, comma-separated, PROTO tcp or udp.
func ParsePublicTag(v string) ([]PortRange, error) {
	var out []PortRange
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		proto, span, ok := strings.Cut(strings.ToLower(item), "/")
		lo, hi, isRange := strings.Cut(span, "-")
		from, err1 := strconv.Atoi(lo)
		to, err2 := from, error(nil)
		if isRange {
			to, err2 = strconv.Atoi(hi)
		}
		if !ok || proto != "tcp" && proto != "udp" || err1 != nil || err2 != nil || from < 0 || to > 65535 || from > to {
			return out, fmt.Errorf("%q is not PROTO/PORT or PROTO/FROM-TO (tcp or udp)", item)
		}
		out = append(out, PortRange{From: from, To: to, Proto: proto, Name: PublicTag})
	}
	return out, nil
}
