package sweep

import (
	"slices"
	"strings"
	"time"

	"github.com/sgwatch/sgwatch/detect"
)

// Judge is the sweep's judgement of one listing, for the function and the
// command line alike: each group's exposures (Exposures), then what the
// groups on each network interface open only together (UnionExposures).
func Judge(groups []Group, region, account string, at time.Time, s detect.Scoring) []detect.Finding {
	var out []detect.Finding
	for _, g := range groups {
		out = append(out, Exposures(g, region, account, at, s)...)
	}
	return append(out, UnionExposures(groups, region, account, at, s)...)
}

// unionKey ends the Sweep.Key of a rule open only together with the rules
// of other groups on an interface: it is another exposure than the rule
// open on its own would be.
const unionKey = "+union"

// UnionExposures returns an exposure finding for each ingress rule that is
// open to the whole internet only together with the rules of the other
// groups on a network interface (AWS applies the union of an interface's
// groups), listed at time at in account and region, scored under s. Each
// names the interfaces and the other groups; a rule open on its own is
// Exposures' finding, not this one's.
func UnionExposures(groups []Group, region, account string, at time.Time, s detect.Scoring) []detect.Finding {
	rules := make(map[string][]detect.Rule, len(groups))
	byID := make(map[string]*Group, len(groups))
	onInterface := map[string][]string{}
	var order []string
	for i := range groups {
		g := &groups[i]
		rules[g.ID], byID[g.ID] = g.ingress(), g
		for _, ni := range g.Interfaces {
			if _, seen := onInterface[ni]; !seen {
				order = append(order, ni)
			}
			onInterface[ni] = append(onInterface[ni], g.ID)
		}
	}
	nis := make([]detect.NetworkInterface, len(order))
	for i, id := range order {
		nis[i] = detect.NetworkInterface{ID: id, Groups: onInterface[id]}
	}
	var out []detect.Finding
	seen := map[string]bool{}
	for _, u := range s.UnionExposures(rules, nis) {
		for _, gr := range u.Rules {
			g := byID[gr.Group]
			key := detect.RuleKey(g.ID, gr.Rule) + unionKey
			if seen[key] {
				continue // open through another set of groups too: one finding
			}
			seen[key] = true
			others := slices.DeleteFunc(slices.Clone(u.Groups), func(id string) bool { return id == g.ID })
			f := exposure(*g, gr.Rule, key, region, account, at, s, "open only together with the rules of "+strings.Join(others, ", ")+
				" on "+detect.Interfaces(u.Interfaces)+": a network interface admits the union of its groups' rules")
			f.Notes = append(f.Notes, u.Notes...)
			f.Sweep.Indirect = true
			out = append(out, f)
		}
	}
	return out
}
