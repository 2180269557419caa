package detect

// VPC Block Public Access changes: turning it off, or excluding a subnet
// or VPC, can expose every world-open group behind an internet gateway at
// once.

import (
	"maps"
	"slices"

	"github.com/sgwatch/sgwatch/awsid"
)

// scoreBPA judges a VPC Block Public Access call: by what its record says
// offline, and with live context by the world-open groups whose
// interfaces the Region's state after the call lets the internet reach.
// The rules found open become f.Rules.
func (o Scoring) scoreBPA(s *scored, f *Finding) (world bool) {
	b := f.BlockPublicAccess
	if b == nil {
		b = &BPAChange{}
	}
	switch {
	case !b.opens():
		s.add(Info, "lets no more inbound internet traffic through an internet gateway")
		return false
	case b.ExclusionMode == "not read" || b.ExclusionMode == "" && b.Mode == "":
		s.add(High, "what the call changed could not be read from the record: it may let the internet reach every world-open group behind an internet gateway")
	case b.ExclusionMode != "":
		// Only a valid id: a reason is not defanged.
		what := "a subnet or VPC"
		if id := first(b.SubnetID, b.VPCID); awsid.IsSubnetID(id) || awsid.IsVPCID(id) {
			what = id
		}
		s.add(High, "excludes "+what+" from Block Public Access both ways: its world-open groups behind an internet gateway may be reachable now")
	default:
		s.add(High, "turns Block Public Access "+b.Mode+": every world-open group behind an internet gateway in the Region may be reachable now")
	}
	live := f.Live
	if live == nil || live.Network == nil {
		return false
	}
	// The state the call made, whatever the Region's answer says by the
	// lookup (a change takes a while to apply).
	n := *live.Network
	switch {
	case b.ExclusionMode != "":
		if !slices.Contains(n.BPA.Excluded, first(b.SubnetID, b.VPCID)) {
			n.BPA.Excluded = append(slices.Clone(n.BPA.Excluded), b.SubnetID, b.VPCID)
		}
	default:
		n.BPA = BlockPublicAccess{Mode: "off"}
	}
	// The finding's grade (Score) is of that state too.
	live.Network = &n
	catalogue := o.catalogue()
	ctx := &Context{}
	var open []Rule
	for _, g := range slices.Sorted(maps.Keys(live.Groups)) {
		var nis []NetworkInterface
		for _, ni := range n.Interfaces {
			if slices.Contains(ni.Groups, g) {
				nis = append(nis, ni)
			}
		}
		gn := n
		gn.Interfaces = nis
		r := Reach(gn)
		if r.Grade != GradeInternet {
			continue
		}
		in := ExpandLists(IngressRules(live.Groups[g]), live.Lists)
		w := exposures(in, catalogue)
		for i, rule := range in {
			if !w[i] {
				continue
			}
			worldReason(s, rule, liveSource(rule, rule, nil), " in "+g+", now reachable on "+Interfaces(ids(r.Interfaces)), catalogue)
			ctx.Groups = appendNew(ctx.Groups, g)
			ctx.Interfaces = appendNew(ctx.Interfaces, ids(r.Interfaces)...)
			open = append(open, rule)
			world = true
		}
	}
	if len(live.Unread) > 0 {
		s.add(High, "the Region's world-open groups could not all be read: one may now be reachable")
	}
	f.Rules, f.Context = open, ctx
	return world
}

// ids are the interfaces' ids.
func ids(nis []NetworkInterface) []string {
	out := make([]string, len(nis))
	for i, ni := range nis {
		out[i] = ni.ID
	}
	return out
}
