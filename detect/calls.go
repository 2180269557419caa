package detect

import (
	"slices"

	"github.com/sgwatch/sgwatch/cloudtrail"
)

// EventSource is the CloudTrail eventSource of every call sgwatch reports.
const EventSource = "ec2.amazonaws.com"

// Effect is what a call does to a group's rules.
type Effect int

// The effects a call can have.
const (
	// OnGroup calls act on the group itself, not its rules (create, delete,
	// VPC association).
	OnGroup Effect = iota
	// AddsRules calls add rules.
	AddsRules
	// ChangesRules calls replace what existing rules allow.
	ChangesRules
	// RemovesRules calls remove rules: access only shrinks.
	RemovesRules
	// DescribesRules calls change rule descriptions only.
	DescribesRules
	// AttachesGroups calls set the groups of a network interface: they
	// change no rule, but what the interface admits.
	AttachesGroups
	// ChangesList calls change a managed prefix list, and so what every
	// rule that names it admits.
	ChangesList
	// ChangesBlockPublicAccess calls change the Region's VPC Block Public
	// Access, and so what every world-open group behind an internet
	// gateway can be reached from.
	ChangesBlockPublicAccess
	// ChangesTags calls set or remove tags: sgwatch reads its own
	// (TagPrefix) on groups and rules, and EventBridge delivers only those
	// (TagCalls).
	ChangesTags
)

// Call is everything sgwatch knows about one security-group API call. It is
// the one home of that knowledge: parsing, scoring, the undo command and
// the notification read it from here.
type Call struct {
	Name   string
	Action Action
	// Direction of the rules the call names; "" when the call does not say
	// (ModifySecurityGroupRules), or names no rules.
	Direction Direction
	Effect    Effect
	// Baseline is the severity and reason of a succeeded call before its
	// rules and actor are scored.
	Baseline Severity
	Why      string
	// Inverse is the AWS CLI verb that reverses the call ("" when the event
	// never holds what reversing it needs).
	Inverse string
	// Sample is the file under events/ that shows the call.
	Sample string
}

// Opens reports whether the call can let traffic in or out that was not
// allowed before: it adds rules or changes what they allow.
func (c Call) Opens() bool { return c.Effect == AddsRules || c.Effect == ChangesRules }

// LiveOnly reports whether the call is judged only with live context: an
// attach call's record holds no rule, so offline it is not published.
func (c Call) LiveOnly() bool { return c.Effect == AttachesGroups }

// calls are the security-group API calls sgwatch reports.
var calls = []Call{
	{Name: "CreateSecurityGroup", Action: Create, Effect: OnGroup, Baseline: Low, Why: "creates a security group",
		Inverse: "delete-security-group", Sample: "create-security-group.json"},
	{Name: "DeleteSecurityGroup", Action: Delete, Effect: OnGroup, Baseline: Low, Why: "deletes a security group",
		Sample: "delete-security-group.json"},
	{Name: "AuthorizeSecurityGroupIngress", Action: Modify, Direction: Ingress, Effect: AddsRules, Baseline: Low, Why: "adds or changes rules",
		Inverse: "revoke-security-group-ingress", Sample: "authorize-ingress-world-ssh.json"},
	{Name: "AuthorizeSecurityGroupEgress", Action: Modify, Direction: Egress, Effect: AddsRules, Baseline: Low, Why: "adds or changes rules",
		Inverse: "revoke-security-group-egress", Sample: "authorize-egress-world.json"},
	{Name: "RevokeSecurityGroupIngress", Action: Modify, Direction: Ingress, Effect: RemovesRules, Baseline: Info, Why: "revokes rules: access only shrinks",
		Inverse: "authorize-security-group-ingress", Sample: "revoke-ingress.json"},
	{Name: "RevokeSecurityGroupEgress", Action: Modify, Direction: Egress, Effect: RemovesRules, Baseline: Info, Why: "revokes rules: access only shrinks",
		Inverse: "authorize-security-group-egress", Sample: "revoke-egress-by-rule-id.json"},
	{Name: "ModifySecurityGroupRules", Action: Modify, Effect: ChangesRules, Baseline: Low, Why: "adds or changes rules",
		Sample: "modify-security-group-rules-world-db.json"},
	{Name: "UpdateSecurityGroupRuleDescriptionsIngress", Action: Modify, Direction: Ingress, Effect: DescribesRules, Baseline: Info, Why: "changes rule descriptions only",
		Sample: "update-descriptions-ingress.json"},
	{Name: "UpdateSecurityGroupRuleDescriptionsEgress", Action: Modify, Direction: Egress, Effect: DescribesRules, Baseline: Info, Why: "changes rule descriptions only",
		Sample: "update-descriptions-egress.json"},
	{Name: "AssociateSecurityGroupVpc", Action: Modify, Effect: OnGroup, Baseline: Low, Why: "changes which VPCs share the group",
		Inverse: "disassociate-security-group-vpc", Sample: "associate-security-group-vpc.json"},
	{Name: "DisassociateSecurityGroupVpc", Action: Modify, Effect: OnGroup, Baseline: Low, Why: "changes which VPCs share the group",
		Inverse: "associate-security-group-vpc", Sample: "disassociate-security-group-vpc.json"},
	{Name: "ModifyNetworkInterfaceAttribute", Action: Modify, Effect: AttachesGroups, Baseline: Info, Why: "sets the security groups of a network interface",
		Sample: "modify-network-interface-attribute-groups.json"},
	{Name: "ModifyInstanceAttribute", Action: Modify, Effect: AttachesGroups, Baseline: Info, Why: "sets the security groups of an instance's network interface",
		Sample: "modify-instance-attribute-groups.json"},
	{Name: "CreateManagedPrefixList", Action: Create, Effect: ChangesList, Baseline: Low, Why: "creates a managed prefix list",
		Inverse: "delete-managed-prefix-list", Sample: "create-managed-prefix-list.json"},
	{Name: "ModifyManagedPrefixList", Action: Modify, Effect: ChangesList, Baseline: Low, Why: "changes a managed prefix list, and so every rule that names it",
		Inverse: "modify-managed-prefix-list", Sample: "modify-managed-prefix-list-world.json"},
	{Name: "RestoreManagedPrefixListVersion", Action: Modify, Effect: ChangesList, Baseline: Low, Why: "restores an earlier version of a managed prefix list, and so changes every rule that names it",
		Sample: "restore-managed-prefix-list-version.json"},
	{Name: "ModifyVpcBlockPublicAccessOptions", Action: Modify, Effect: ChangesBlockPublicAccess, Baseline: Low, Why: "changes VPC Block Public Access for the Region",
		Sample: "modify-vpc-block-public-access-off.json"},
	{Name: "CreateVpcBlockPublicAccessExclusion", Action: Create, Effect: ChangesBlockPublicAccess, Baseline: Low, Why: "excludes a subnet or VPC from VPC Block Public Access",
		Inverse: "delete-vpc-block-public-access-exclusion", Sample: "create-vpc-block-public-access-exclusion.json"},
	{Name: "CreateTags", Action: Modify, Effect: ChangesTags, Baseline: Info, Why: "sets sgwatch tags",
		Inverse: "delete-tags", Sample: "create-tags-sgwatch-public.json"},
	{Name: "DeleteTags", Action: Modify, Effect: ChangesTags, Baseline: Info, Why: "removes sgwatch tags",
		Sample: "delete-tags-sgwatch-public.json"},
}

var byName = func() map[string]*Call {
	m := make(map[string]*Call, len(calls))
	for i := range calls {
		m[calls[i].Name] = &calls[i]
	}
	return m
}()

// Lookup returns the call named name, if sgwatch reports it.
func Lookup(name string) (Call, bool) {
	c, ok := byName[name]
	if !ok {
		return Call{}, false
	}
	return *c, true
}

// callOf returns the security-group call a record's header names, or nil.
func callOf(h cloudtrail.Header) *Call {
	if h.EventSource.String() != EventSource {
		return nil
	}
	return byName[h.EventName.String()]
}

// Calls returns the names of the security-group calls sgwatch reports,
// sorted: the eventName list of the EventBridge rule's pattern, whatever
// the call's parameters.
func Calls() []string { return names(func(c Call) bool { return c.Effect != ChangesTags }) }

// TagCalls returns the names of the tag calls sgwatch reports, sorted: the
// pattern delivers them only with a tag key that begins with TagPrefix
// (every CreateTags of an account would flood the function).
func TagCalls() []string { return names(func(c Call) bool { return c.Effect == ChangesTags }) }

// Pattern is the detail of the EventBridge pattern that delivers the calls
// sgwatch reports (template.yaml and forwarder.yaml hold it, and tests
// compare them with it): the security-group calls whatever their
// parameters, and the tag calls only with a tag key that begins with
// TagPrefix (EventBridge matches a field inside an array of objects when
// any element matches).
func Pattern() map[string]any {
	list := func(names []string) []any {
		out := make([]any, len(names))
		for i, n := range names {
			out[i] = n
		}
		return out
	}
	return map[string]any{
		"eventSource": []any{EventSource},
		"$or": []any{
			map[string]any{"eventName": list(Calls())},
			map[string]any{"eventName": list(TagCalls()), "requestParameters": TagFilter()},
		},
	}
}

// TagFilter is what the pattern requires of a tag call's
// requestParameters: a tag key that begins with TagPrefix.
func TagFilter() map[string]any {
	return map[string]any{"tagSet": map[string]any{"items": map[string]any{"key": []any{map[string]any{"prefix": TagPrefix}}}}}
}

// names are the sorted names of the calls keep keeps.
func names(keep func(Call) bool) []string {
	var out []string
	for _, c := range calls {
		if keep(c) {
			out = append(out, c.Name)
		}
	}
	slices.Sort(out)
	return out
}
