package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The exposure sweep (package sweep) lists the rules that exist now instead
// of reading the calls that made them. This file turns what it lists into
// findings with the event path's address-space and port model: an exposure
// for each ingress rule open to the whole internet, and a resolved finding
// for one a later sweep finds gone.

// SweepCall is the EC2 call the sweep lists rules with: the Event.Name of an
// exposure or resolved finding.
const SweepCall = "DescribeSecurityGroupRules"

// Sweep is what the exposure sweep knows of an exposure or resolved finding.
type Sweep struct {
	// Key identifies the rule and what it allows (RuleKey): a rule changed
	// in place has a new key.
	Key string `json:"key"`
	// FoundAt is when the sweep listed the rules (RFC 3339).
	FoundAt string `json:"foundAt"`
	// FirstSeen is when a sweep first found the exposure; empty for a new
	// one.
	FirstSeen string `json:"firstSeen,omitempty"`
	// Published is when the exposure was first published (not when it was
	// held back); empty before.
	Published string `json:"published,omitempty"`
	// Created is the CloudTrail event that created the rule, when it was
	// found (CloudTrail keeps 90 days); the finding's Actor is then who
	// made it.
	Created *Created `json:"created,omitempty"`
	// Was is the severity a resolved exposure had.
	Was Severity `json:"was,omitempty"`
}

// Created is the CloudTrail event that created a rule.
type Created struct {
	EventID   string `json:"eventId,omitempty"`
	EventName string `json:"eventName"`
	Time      string `json:"time,omitempty"`
}

// Group is a security group as it stands, with its rules as
// DescribeSecurityGroupRules lists them (each with its direction and id).
type Group struct {
	SecurityGroup
	Rules []Rule
	// Notes say what could not be listed about the group (its network
	// interfaces); each of its exposures carries them.
	Notes []string
}

// Exposures returns an exposure finding for each ingress rule of g that is
// open to the whole internet, listed at time at in account and region. The
// group's ingress rules are taken together, as the rules of one call are,
// so sources that each cover part of the internet (0.0.0.0/1 and
// 128.0.0.0/1) are each an exposure; a source that cannot be read counts as
// the whole internet. Each finding is scored as the change that made it
// would be: critical for every port or a sensitive one, else high.
func (o Options) Exposures(g Group, region, account string, at time.Time) []Finding {
	var in []Rule
	for _, r := range g.Rules {
		if r.Direction == Ingress {
			in = append(in, r)
		}
	}
	reach := exposures(in, o.catalogue())
	var out []Finding
	for i, r := range in {
		if !reach[i] {
			continue
		}
		f := Finding{
			Action:        Exposure,
			Outcome:       Succeeded,
			Event:         Event{Name: SweepCall, Time: at.UTC().Format(time.RFC3339), Region: region, AccountID: account},
			SecurityGroup: g.SecurityGroup,
			Rules:         []Rule{r},
			Sweep:         &Sweep{Key: RuleKey(g.ID, r), FoundAt: at.UTC().Format(time.RFC3339)},
			Notes:         slices.Clone(g.Notes),
		}
		o.Score(&f)
		f.Undo = exposureUndo(&f)
		out = append(out, f)
	}
	return out
}

// Resolve returns the resolved finding of an exposure a sweep at time at
// no longer finds: its rule is gone, or no longer open to the whole
// internet. It keeps the exposure's group, rule and Sweep (Was is its
// severity) and drops who made it; there is nothing to undo.
func (o Options) Resolve(exposure Finding, at time.Time) Finding {
	f := exposure
	f.Action, f.Outcome = Resolved, Succeeded
	f.Event.Name, f.Event.Time, f.Event.ID, f.Event.RequestID = SweepCall, at.UTC().Format(time.RFC3339), "", ""
	f.Actor, f.Automation, f.Undo, f.Notes, f.Error = Actor{}, "", nil, nil, nil
	sw := Sweep{FoundAt: at.UTC().Format(time.RFC3339), Was: exposure.Severity}
	if exposure.Sweep != nil {
		sw.Key, sw.FirstSeen, sw.Published = exposure.Sweep.Key, exposure.Sweep.FirstSeen, exposure.Sweep.Published
	}
	f.Sweep = &sw
	o.Score(&f)
	return f
}

// CreatedBy records on exposure f that the CloudTrail record c made its
// rule what it is: f's actor becomes c's, and f is scored again (the root
// user, trusted automation). It reports false, changing nothing, when c did
// not: a call that succeeded, adding or changing rules, one of which has
// f's rule id and allows exactly what f's rule allows (its RuleKey; a
// ModifySecurityGroupRules rule, which does not say its direction, is taken
// as ingress, as an exposure's is).
func (o Options) CreatedBy(f *Finding, c Finding) bool {
	r, ok := madeBy(*f, c)
	if !ok || RuleKey(f.SecurityGroup.ID, r) != RuleKey(f.SecurityGroup.ID, f.Rules[0]) {
		return false
	}
	o.Attribute(f, c.Actor, Created{EventID: c.Event.ID, EventName: c.Event.Name, Time: c.Event.Time})
	return true
}

// Touches reports whether the CloudTrail record c added or changed exposure
// f's rule, whatever it made it allow.
func Touches(f Finding, c Finding) bool {
	_, ok := madeBy(f, c)
	return ok
}

// madeBy returns the rule of c with f's rule id, taken as ingress when c
// does not say, if c is a succeeded call that adds or changes rules.
func madeBy(f Finding, c Finding) (Rule, bool) {
	call := byName[c.Event.Name]
	if f.Action != Exposure || len(f.Rules) != 1 || f.Rules[0].RuleID == "" || call == nil || !call.opens() || c.Outcome != Succeeded {
		return Rule{}, false
	}
	for _, r := range c.Rules {
		if r.RuleID == f.Rules[0].RuleID {
			r.Direction = orIngress(r.Direction)
			return r, true
		}
	}
	return Rule{}, false
}

// Attribute makes a the creator of exposure f, by the event created, and
// scores f again.
func (o Options) Attribute(f *Finding, a Actor, created Created) {
	f.Actor = a
	if f.Sweep == nil {
		f.Sweep = &Sweep{}
	}
	f.Sweep.Created = &created
	o.Score(f)
}

// RuleKey identifies a rule of group and what it allows: its id, and a
// digest of its direction, protocol, ports and source (not its
// description, which changes nothing it allows).
func RuleKey(group string, r Rule) string {
	port := func(p *int) string {
		if p == nil {
			return ""
		}
		return strconv.Itoa(*p)
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{group, string(r.Direction), r.Protocol, port(r.FromPort), port(r.ToPort),
		r.CIDRIPv4, r.CIDRIPv6, r.PrefixListID, r.ReferencedGroupID}, "\x00")))
	id := r.RuleID
	if id == "" {
		id = "no-rule-id"
	}
	return id + "#" + hex.EncodeToString(sum[:8])
}

// scoreSweep scores an exposure or resolved finding. An exposure is at
// least high, whatever its rule reads as: the sweep found it open to the
// whole internet, and a rule it cannot read counts as such (fail closed).
func (o Options) scoreSweep(f *Finding) (Severity, []string, bool) {
	s := newScored()
	if f.Action == Resolved {
		was := ""
		if f.Sweep != nil && f.Sweep.Was != "" {
			was = fmt.Sprintf(" (it was %s)", f.Sweep.Was)
		}
		s.add(Info, "resolved: the rule is gone or no longer open to the whole internet"+was)
		return s.result(false)
	}
	s.add(High, "open to the whole internet now (found by the exposure sweep)")
	catalogue := o.catalogue()
	for _, r := range f.Rules {
		if orIngress(r.Direction) == Ingress && (r.Exposure != "" || WholeInternet(r) || r.Source() == "") {
			scoreWorld(s, r, catalogue)
		}
	}
	scoreActor(s, f.Actor, "created")
	return s.result(true)
}

// exposureUndo revokes an exposure's rule by its id.
func exposureUndo(f *Finding) *Undo {
	region, group := f.Event.Region, f.SecurityGroup.ID
	var u *Undo
	switch ids, ok := ruleIDs(f.Rules); {
	case !IsRegion(region) || !IsGroupID(group):
		u = &Undo{Note: "the sweep did not name the group by id and Region, so no command is given: find the group in the EC2 console"}
	case !ok:
		u = &Undo{Note: "the rule has no valid rule id, so no command is given; list the group's rules with: " + inspect(region, group)}
	default:
		u = &Undo{Command: cliPrefix + byName["AuthorizeSecurityGroupIngress"].Inverse + " --region " + region + " --group-id " + group + " --security-group-rule-ids " + ids}
	}
	if IsAccountID(f.Event.AccountID) && (u.Command != "" || strings.Contains(u.Note, cliPrefix)) {
		u.Account = f.Event.AccountID
	}
	return u
}

// Listed is a rule as DescribeSecurityGroupRules lists it.
type Listed struct {
	ID                string
	Egress            bool
	Protocol          string
	FromPort, ToPort  *int32
	CIDRIPv4          string
	CIDRIPv6          string
	PrefixListID      string
	ReferencedGroupID string
	Description       string
}

// Rule reads l as the event path reads a rule AWS returned: the protocol
// named (tcp for 6, all for -1), and no ports for all traffic.
func (l Listed) Rule() Rule {
	r := Rule{Direction: Ingress, Protocol: protocol(l.Protocol), CIDRIPv4: l.CIDRIPv4, CIDRIPv6: l.CIDRIPv6,
		PrefixListID: l.PrefixListID, ReferencedGroupID: l.ReferencedGroupID, Description: l.Description, RuleID: l.ID}
	if l.Egress {
		r.Direction = Egress
	}
	if r.Protocol != "all" {
		r.FromPort, r.ToPort = int32Ptr(l.FromPort), int32Ptr(l.ToPort)
	}
	return r
}

func int32Ptr(p *int32) *int {
	if p == nil {
		return nil
	}
	v := int(*p)
	return &v
}
