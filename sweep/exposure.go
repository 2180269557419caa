package sweep

import (
	"slices"
	"time"

	"github.com/sgwatch/sgwatch/detect"
)

// What the sweep lists turned into findings, with the event path's
// address-space and port model (package detect): an exposure for each
// ingress rule open to the whole internet, and a resolved finding for one a
// later sweep finds gone.

// Group is a security group as it stands, with its rules as
// DescribeSecurityGroupRules lists them (each with its direction and id).
type Group struct {
	detect.SecurityGroup
	Rules []detect.Rule
	// Notes say what could not be listed about the group (its network
	// interfaces); each of its exposures carries them.
	Notes []string
	// Interfaces are the ids of the network interfaces that use the group;
	// InterfacesUnlisted is true when they could not be listed (then what
	// the union of an interface's groups opens is not known).
	Interfaces         []string
	InterfacesUnlisted bool
	// Lists are the managed prefix lists the listing read, by id (shared
	// by every group of one listing).
	Lists map[string]detect.PrefixList
	// Network is what uses the group, for its exposures' reachability
	// grade; nil when not read.
	Network *detect.Network
	// RuleTags are the sgwatch tags of its rules, by rule id.
	RuleTags map[string]map[string]string
}

// ingress returns g's ingress rules as AWS applies them
// (detect.ExpandLists): a rule that names a customer-managed prefix list
// is one rule per entry of the list, and one whose list could not be read
// counts as the whole internet.
func (g Group) ingress() []detect.Rule {
	return detect.ExpandLists(detect.IngressRules(g.Rules), g.Lists)
}

// Exposures returns an exposure finding for each ingress rule of g that is
// open to the whole internet, listed at time at in account and region,
// scored under s. The group's ingress rules are taken together, as the
// rules of one call are, so sources that each cover part of the internet
// (32.0.0.0/5 and 40.0.0.0/5) are each an exposure; a source that cannot be
// read counts as the whole internet. Each finding is scored as the change
// that made it would be: critical for every port or a sensitive one, else
// high.
func Exposures(g Group, region, account string, at time.Time, s detect.Scoring) []detect.Finding {
	in := g.ingress()
	reach := s.Exposed(in)
	var out []detect.Finding
	for i, r := range in {
		if !reach[i] {
			continue
		}
		out = append(out, exposure(g, r, detect.RuleKey(g.ID, r), region, account, at, s))
	}
	return out
}

// exposure is the exposure finding of g's rule r under key, listed at time
// at in account and region, scored under s (and why, with the reasons
// added to the score's); it carries g's notes and then notes.
func exposure(g Group, r detect.Rule, key, region, account string, at time.Time, s detect.Scoring, why ...string) detect.Finding {
	f := detect.Finding{
		Action:        detect.Exposure,
		Outcome:       detect.Succeeded,
		Event:         detect.Event{Name: detect.SweepCall, Time: at.UTC().Format(time.RFC3339), Region: region, AccountID: account},
		SecurityGroup: g.SecurityGroup,
		Rules:         []detect.Rule{r},
		Sweep:         &detect.Sweep{Key: key, FoundAt: at.UTC().Format(time.RFC3339), RuleTags: g.RuleTags[r.RuleID]},
		Notes:         slices.Clone(g.Notes),
	}
	if g.Network != nil {
		f.Live = &detect.Live{Network: g.Network}
	}
	f.Sweep.Indirect = slices.ContainsFunc(g.Rules, func(l detect.Rule) bool { return l.RuleID == r.RuleID && l.PrefixListID != "" && r.PrefixListID == "" })
	s.Score(&f)
	f.Reasons = append(f.Reasons, why...)
	f.Undo = detect.ExposureUndo(&f)
	return f
}

// Resolve returns the resolved finding of an exposure a sweep at time at
// no longer finds: its rule is gone, or no longer open to the whole
// internet. It keeps the exposure's group, rule and Sweep (Was is its
// severity) and drops who made it; there is nothing to undo.
func Resolve(exposure detect.Finding, at time.Time, s detect.Scoring) detect.Finding {
	f := exposure
	f.Action, f.Outcome = detect.Resolved, detect.Succeeded
	f.Event.Name, f.Event.Time, f.Event.ID, f.Event.RequestID = detect.SweepCall, at.UTC().Format(time.RFC3339), "", ""
	f.Actor, f.Automation, f.Undo, f.Notes, f.Error = detect.Actor{}, "", nil, nil, nil
	sw := detect.Sweep{FoundAt: at.UTC().Format(time.RFC3339), Was: exposure.Severity}
	if exposure.Sweep != nil {
		sw.Key, sw.FirstSeen, sw.Published = exposure.Sweep.Key, exposure.Sweep.FirstSeen, exposure.Sweep.Published
	}
	f.Sweep = &sw
	s.Score(&f)
	return f
}

// CreatedBy records on exposure f that the CloudTrail record's finding c
// made its rule what it is: f's actor becomes c's, and f is scored again
// under s (the root user, trusted automation). It reports false, changing
// nothing, when c did not: a call that succeeded, adding or changing
// rules, one of which has f's rule id and allows exactly what f's rule
// allows (its RuleKey; a ModifySecurityGroupRules rule, which does not say
// its direction, is taken as ingress, as an exposure's is).
func CreatedBy(f *detect.Finding, c detect.Finding, s detect.Scoring) bool {
	r, ok := madeBy(*f, c)
	if !ok || detect.RuleKey(f.SecurityGroup.ID, r) != detect.RuleKey(f.SecurityGroup.ID, f.Rules[0]) {
		return false
	}
	Attribute(f, c.Actor, detect.Created{EventID: c.Event.ID, EventName: c.Event.Name, Time: c.Event.Time}, s)
	return true
}

// Touches reports whether the CloudTrail record's finding c added or
// changed exposure f's rule, whatever it made it allow.
func Touches(f detect.Finding, c detect.Finding) bool {
	_, ok := madeBy(f, c)
	return ok
}

// madeBy returns the rule of c with f's rule id, taken as ingress when c
// does not say, if c is a succeeded call that adds or changes rules.
func madeBy(f detect.Finding, c detect.Finding) (detect.Rule, bool) {
	call, known := detect.Lookup(c.Event.Name)
	if f.Action != detect.Exposure || len(f.Rules) != 1 || f.Rules[0].RuleID == "" || !known || !call.Opens() || c.Outcome != detect.Succeeded {
		return detect.Rule{}, false
	}
	for _, r := range c.Rules {
		if r.RuleID == f.Rules[0].RuleID {
			if r.Direction == "" {
				r.Direction = detect.Ingress
			}
			return r, true
		}
	}
	return detect.Rule{}, false
}

// Attribute makes a the creator of exposure f, by the event created, and
// scores f again under s.
func Attribute(f *detect.Finding, a detect.Actor, created detect.Created, s detect.Scoring) {
	f.Actor = a
	if f.Sweep == nil {
		f.Sweep = &detect.Sweep{}
	}
	f.Sweep.Created = &created
	s.Score(f)
}
