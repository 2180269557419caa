package detect

// sgwatch's own tags (sgwatch:…) on security groups and their rules: set
// with CreateTags, removed with DeleteTags. sgwatch reads them (PublicTag
// authorises ports), so a change of one is reported with its author and
// time, from the record: a tag is anyone's with ec2:CreateTags.

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/cloudtrail"
)

// TagPrefix begins the key of every tag sgwatch reads.
const TagPrefix = "sgwatch:"

// TagChange is what a CreateTags or DeleteTags call did to sgwatch's tags:
// the security groups and rules it named, and its sgwatch tags (a DeleteTags
// tag may have no value: every value is removed).
type TagChange struct {
	Resources []string `json:"resources"`
	Tags      []Tag    `json:"tags"`
	// More counts the groups and rules not named (past maxTagResources).
	More int `json:"moreResources,omitempty"`
}

// Tag is one tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

// maxTagResources bounds the resources a TagChange names: CreateTags
// takes 1,000.
const maxTagResources = 20

// tagChange reads the sgwatch tags a CreateTags or DeleteTags request set
// or removed on security groups and rules; nil when it touched none (the
// call is then not sgwatch's).
func tagChange(p cloudtrail.Request) *TagChange {
	t := &TagChange{Resources: []string{}}
	for _, tag := range p.TagSet.Items() {
		if k := tag.Key.String(); strings.HasPrefix(k, TagPrefix) {
			t.Tags = append(t.Tags, Tag{Key: k, Value: tag.Value.String()})
		}
	}
	n := 0
	for _, r := range p.ResourcesSet.Items() {
		id := r.ResourceID.String()
		if !awsid.IsGroupID(id) && !awsid.IsRuleID(id) || slices.Contains(t.Resources, id) {
			continue
		}
		if n++; n > maxTagResources {
			t.More++
			continue
		}
		t.Resources = append(t.Resources, id)
	}
	if len(t.Tags) == 0 || n == 0 {
		return nil
	}
	return t
}

// createdTags reads the sgwatch tags a call that creates a group set on
// it (its tag specifications for security groups); nil for none.
func createdTags(p cloudtrail.Request, group string) *TagChange {
	tags := specTags(p, "security-group", true)
	if len(tags) == 0 {
		return nil
	}
	t := &TagChange{Resources: []string{}, Tags: tags}
	if awsid.IsGroupID(group) {
		t.Resources = append(t.Resources, group)
	}
	return t
}

// ruleTags reads the sgwatch tags a call that authorizes rules set on
// them (its tag specifications for security group rules); nil for none.
// Such a tag is reported, and an approval set so never counts (package
// revert): a change does not approve itself.
func ruleTags(p cloudtrail.Request, rules []Rule) *TagChange {
	tags := specTags(p, "security-group-rule", false)
	if len(tags) == 0 {
		return nil
	}
	t := &TagChange{Resources: []string{}, Tags: tags}
	for _, r := range rules {
		if awsid.IsRuleID(r.RuleID) && !slices.Contains(t.Resources, r.RuleID) && len(t.Resources) < maxTagResources {
			t.Resources = append(t.Resources, r.RuleID)
		}
	}
	return t
}

// specTags are the sgwatch tags a request's tag specifications set on
// resources of type kind (or of no type, when untyped counts).
func specTags(p cloudtrail.Request, kind string, untyped bool) []Tag {
	var tags []Tag
	for _, specs := range []cloudtrail.List[cloudtrail.TagSpec]{p.TagSpecifications, p.TagSpecificationSet} {
		for _, spec := range specs.Items() {
			if rt := spec.ResourceType.String(); rt != kind && (rt != "" || !untyped) {
				continue
			}
			for _, tag := range spec.Tags.Items() {
				if k := tag.Key.String(); strings.HasPrefix(k, TagPrefix) {
					tags = append(tags, Tag{Key: k, Value: tag.Value.String()})
				}
			}
		}
	}
	return tags
}

// scoreTags scores a change of sgwatch's tags: setting sgwatch:public on a
// group authorises ports to be public there, so it is medium, naming them
// and what it cannot authorise; removing it, or another sgwatch tag, low.
func (o Scoring) scoreTags(s *scored, f *Finding) {
	t := f.Tags
	if t == nil {
		return
	}
	groups := slices.DeleteFunc(slices.Clone(t.Resources), func(id string) bool { return !awsid.IsGroupID(id) })
	if len(groups) == 0 && f.Event.Name == "CreateSecurityGroup" {
		groups = []string{"the new group"} // its id not in the record: fail closed
	}
	for _, tag := range t.Tags {
		switch {
		case tag.Key == ApprovedUntilTag || tag.Key == ApprovalReasonTag:
			scoreApproval(s, f, tag)
		case tag.Key != PublicTag:
			// The key is record text: not named in a reason.
			s.add(Low, fmt.Sprintf("%s an sgwatch tag that sgwatch does not read on %s", verbOf(f), Interfaces(t.Resources)))
		case len(groups) == 0:
			s.add(Low, fmt.Sprintf("%s tag %s on rules only: it authorises ports on a group", verbOf(f), PublicTag))
		case f.Event.Name == "DeleteTags":
			s.add(Low, fmt.Sprintf("removes tag %s from %s: its ports are judged as any others again", PublicTag, Interfaces(groups)))
		default:
			o.scorePublicTag(s, tag.Value, groups)
		}
	}
}

// scoreApproval scores a change of the revert's approval tags: setting
// one that approves is medium (an exposure stays open until it runs out),
// naming until when; the reason is the tag's value, shown with the tags,
// never in a reason (record text).
func scoreApproval(s *scored, f *Finding, tag Tag) {
	on := Interfaces(f.Tags.Resources)
	if c := byName[f.Event.Name]; c != nil && c.Effect == AddsRules {
		if tag.Key == ApprovedUntilTag {
			s.add(Medium, "sets the revert's approval on the rules it creates ("+on+"): a change does not approve itself, so sgwatch's revert does not count it")
		}
		return
	}
	switch {
	case f.Event.Name == "DeleteTags" && tag.Key == ApprovedUntilTag:
		s.add(Low, "removes the revert's approval from "+on+": their exposures are reverted at their next check")
	case f.Event.Name == "DeleteTags":
		s.add(Low, "removes the reason of the revert's approval from "+on+": an approval without a reason approves nothing")
	case tag.Key == ApprovalReasonTag:
		s.add(Low, "sets the reason of the revert's approval on "+on+" (shown with the tags)")
	default:
		tags := map[string]string{ApprovedUntilTag: tag.Value}
		for _, t := range f.Tags.Tags {
			if t.Key == ApprovalReasonTag {
				tags[ApprovalReasonTag] = t.Value
			}
		}
		at, err := time.Parse(time.RFC3339, f.Event.Time)
		if err != nil {
			at = time.Now()
		}
		a := ApprovalOf(tags, at)
		switch {
		case a.Valid:
			s.add(Medium, "approves the exposures of "+on+" until "+a.Until.UTC().Format(time.RFC3339)+": sgwatch's revert leaves them open until then (the reason is shown with the tags)")
		case a.Reason == "" && !a.Until.IsZero() && !a.Expired && a.Until.Sub(at) <= MaxApproval:
			s.add(Medium, "approves the exposures of "+on+" until "+a.Until.UTC().Format(time.RFC3339)+" if a reason ("+ApprovalReasonTag+") is set too; this call sets none")
		case !a.Until.IsZero() && !a.Expired:
			// Read at each check: it approves from 7 days before its end.
			s.add(Medium, "sets an approval of the exposures of "+on+" until "+a.Until.UTC().Format(time.RFC3339)+", more than 7 days away: it approves nothing now, and approves them from "+
				a.Until.Add(-MaxApproval).UTC().Format(time.RFC3339)+" (if it has a reason)")
		default:
			s.add(Low, "sets a revert approval on "+on+" that approves nothing: "+a.Why)
		}
	}
}

// verbOf says what a tag call does.
func verbOf(f *Finding) string {
	if f.Event.Name == "DeleteTags" {
		return "removes"
	}
	return "sets"
}

// scorePublicTag scores sgwatch:public set to value on groups.
func (o Scoring) scorePublicTag(s *scored, value string, groups []string) {
	ranges, err := ParsePublicTag(value)
	if err != nil || len(ranges) == 0 || slices.ContainsFunc(ranges, func(p PortRange) bool { return p.To-p.From >= maxTagPorts }) {
		s.add(Low, fmt.Sprintf("sets tag %s on %s to a value sgwatch does not accept (PROTO/PORT or PROTO/FROM-TO, at most %d ports a range): it authorises nothing", PublicTag, Interfaces(groups), maxTagPorts))
		return
	}
	var names []string
	for _, p := range ranges {
		names = append(names, p.Proto+"/"+portSpan(p))
	}
	s.add(Medium, fmt.Sprintf("sets tag %s on %s: authorises %s to be open to the whole internet there (such rules are reported as info, or high on a host the internet reaches)", PublicTag, Interfaces(groups), shorten(names)))
	catalogue := o.catalogue()
	var never []string
	for _, p := range ranges {
		for _, c := range catalogue {
			if (c.Proto == "" || c.Proto == p.Proto) && c.From <= p.To && p.From <= c.To {
				never = appendNew(never, c.Name)
			}
		}
	}
	if len(never) > 0 {
		s.add(Medium, "the tag names sensitive ports ("+shorten(never)+"): sgwatch never authorises those")
	}
}

// portSpan writes a port range: PORT or FROM-TO.
func portSpan(p PortRange) string {
	if p.From == p.To {
		return fmt.Sprint(p.From)
	}
	return fmt.Sprintf("%d-%d", p.From, p.To)
}
