package report

// The AWS Security Finding Format (ASFF) form of a finding, for AWS Security
// Hub (package hub delivers it).
//
// Every value that came from CloudTrail or the account is attacker-
// controlled: each is cleaned (package clean) and cut to the ASFF limit of
// its field, counted in characters (Unicode code points, as Smithy's length
// constraints are).

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// Caller is who imports into Security Hub: the function's account, partition and Region (the product ARN's).
type Caller struct{ Account, Partition, Region string }

// ASFF is a finding in the AWS Security Finding Format: exactly the fields
// sgwatch sets.
type ASFF struct {
	SchemaVersion         string             `json:"SchemaVersion"`
	ID                    string             `json:"Id"`
	ProductArn            string             `json:"ProductArn"`
	GeneratorID           string             `json:"GeneratorId"`
	AwsAccountID          string             `json:"AwsAccountId"`
	Types                 []string           `json:"Types"`
	FirstObservedAt       string             `json:"FirstObservedAt"`
	LastObservedAt        string             `json:"LastObservedAt"`
	CreatedAt             string             `json:"CreatedAt"`
	UpdatedAt             string             `json:"UpdatedAt"`
	Severity              asffSeverity       `json:"Severity"`
	Title                 string             `json:"Title"`
	Description           string             `json:"Description"`
	Remediation           *asffRemediation   `json:"Remediation,omitempty"`
	SourceURL             string             `json:"SourceUrl,omitempty"`
	ProductFields         map[string]string  `json:"ProductFields"`
	Resources             []asffResource     `json:"Resources"`
	RecordState           string             `json:"RecordState"`
	Workflow              asffWorkflow       `json:"Workflow"`
	FindingProviderFields asffProviderFields `json:"FindingProviderFields"`
}

// asffSeverity is an ASFF severity: Label is Security Hub's, Original sgwatch's.
type asffSeverity struct {
	Label    string `json:"Label"`
	Original string `json:"Original"`
}

// ProviderFields are the fields BatchImportFindings may still update after
// a customer changed the top-level ones with BatchUpdateFindings.
type asffProviderFields struct {
	Severity asffSeverity `json:"Severity"`
	Types    []string     `json:"Types"`
}

// asffRemediation says how to undo the change.
type asffRemediation struct {
	Recommendation asffRecommendation `json:"Recommendation"`
}

// asffRecommendation is the undo, as text and a console link.
type asffRecommendation struct {
	Text string `json:"Text,omitempty"`
	URL  string `json:"Url,omitempty"`
}

// asffWorkflow is the finding's workflow status.
type asffWorkflow struct {
	Status string `json:"Status"`
}

// asffResource is the security group.
type asffResource struct {
	Type      string            `json:"Type"`
	ID        string            `json:"Id"`
	Partition string            `json:"Partition,omitempty"`
	Region    string            `json:"Region,omitempty"`
	Tags      map[string]string `json:"Tags,omitempty"`
	Details   *asffDetails      `json:"Details,omitempty"`
}

// asffDetails holds the resource's details.
type asffDetails struct {
	AwsEc2SecurityGroup asffGroup `json:"AwsEc2SecurityGroup"`
}

// asffGroup is AwsEc2SecurityGroupDetails, with the finding's rules.
type asffGroup struct {
	GroupID             string           `json:"GroupId,omitempty"`
	GroupName           string           `json:"GroupName,omitempty"`
	VpcID               string           `json:"VpcId,omitempty"`
	OwnerID             string           `json:"OwnerId,omitempty"`
	IPPermissions       []asffPermission `json:"IpPermissions,omitempty"`
	IPPermissionsEgress []asffPermission `json:"IpPermissionsEgress,omitempty"`
}

// asffPermission is AwsEc2SecurityGroupIpPermission: one rule of the finding.
type asffPermission struct {
	IPProtocol       string              `json:"IpProtocol,omitempty"`
	FromPort         *int                `json:"FromPort,omitempty"`
	ToPort           *int                `json:"ToPort,omitempty"`
	IPRanges         []map[string]string `json:"IpRanges,omitempty"`
	IPv6Ranges       []map[string]string `json:"Ipv6Ranges,omitempty"`
	PrefixListIDs    []map[string]string `json:"PrefixListIds,omitempty"`
	UserIDGroupPairs []map[string]string `json:"UserIdGroupPairs,omitempty"`
}

// ASFF limits, in characters, and sgwatch's own bounds.
const (
	maxID          = 512  // Id, GeneratorId
	maxTitle       = 256  // Title
	maxDescription = 1024 // Description
	maxRemediation = 512  // Remediation.Recommendation.Text
	maxRegion      = 16   // Resource.Region
	maxFields      = 50   // ProductFields pairs
	maxValue       = 2048 // a ProductFields value
	maxTags        = 50   // tags kept
	maxTagKey      = 128
	maxText        = 256 // names, ids and tag values
	maxPermissions = 100 // IpPermissions and IpPermissionsEgress each
	maxReasons     = 5   // reasons in the description
)

// Types of findings (ASFF namespaces; see the type taxonomy).
const (
	typeReachability = "Software and Configuration Checks/AWS Security Best Practices/Network Reachability"
	typeExposure     = "Effects/Data Exposure"
	typeDiscovery    = "TTPs/Discovery"
	typeRoot         = "Unusual Behaviors/User"
)

const stamp = "2006-01-02T15:04:05.000Z"

var labels = map[detect.Severity]string{detect.Critical: "CRITICAL", detect.High: "HIGH",
	detect.Medium: "MEDIUM", detect.Low: "LOW", detect.Info: "INFORMATIONAL"}

// fit cleans s and cuts it to at most n characters, the last "…" when cut;
// a blank result is "": every ASFF string must hold a non-space character,
// so a blank value is left out rather than sent.
func fit(s string, n int) string { return clean.Fit(s, n) }

// ToASFF is f as the ASFF finding Security Hub keeps under id (a stable
// string unique per finding: "event/EVENTID/N" or
// "sweep/ACCOUNT/REGION/RULEKEY"), imported by c at time now.
func ToASFF(f detect.Finding, id string, c Caller, now time.Time) ASFF {
	part := c.Partition
	if part == "" {
		part = "aws"
	}
	sweep := f.Action == detect.Exposure || f.Action == detect.Resolved
	generator := "sgwatch/exposure-sweep"
	if !sweep {
		generator = "sgwatch/" + f.Event.Name
	}
	label, ok := labels[f.Severity]
	if !ok {
		label = "HIGH" // an unknown severity fails closed
	}
	sev := asffSeverity{Label: label, Original: fit(string(f.Severity), 64)}
	types := findingTypes(f)

	// A finding is created with CreatedAt = UpdatedAt, and an update must
	// have a later UpdatedAt: an event's finding is its time (a re-delivery
	// changes nothing); the sweep's is created when the exposure was first
	// published and updated when it is found again (re-imported while it
	// is open, so that Security Hub keeps it) or found gone.
	created := when(now, f.Event.Time)
	updated, first, last := created, created, created
	if f.Sweep != nil {
		created = when(now, f.Sweep.Published, f.Sweep.FoundAt)
		last = when(now, f.Sweep.FoundAt)
		updated = max(created, last)
		first = when(now, f.Sweep.FirstSeen, f.Sweep.FoundAt)
	}
	state, status := "ACTIVE", "NEW"
	if f.Action == detect.Resolved {
		state, status = "ARCHIVED", "RESOLVED"
	}

	out := ASFF{
		SchemaVersion: "2018-10-08",
		ID:            fit("sgwatch/"+id, maxID),
		ProductArn:    "arn:" + part + ":securityhub:" + c.Region + ":" + c.Account + ":product/" + c.Account + "/default",
		GeneratorID:   fit(generator, maxID),
		AwsAccountID:  c.Account,
		Types:         types, FirstObservedAt: first, LastObservedAt: last, CreatedAt: created, UpdatedAt: updated,
		Severity:              sev,
		Title:                 fit(subject(f), maxTitle),
		Description:           description(f),
		Remediation:           remediation(f),
		SourceURL:             linkTo(f, "CloudTrail"),
		RecordState:           state,
		Workflow:              asffWorkflow{Status: status},
		FindingProviderFields: asffProviderFields{Severity: sev, Types: types},
	}
	res, left := resource(f, part)
	out.Resources = append(changed(f, part), res)
	out.ProductFields = productFields(f, left)
	return out
}

// when is the first of times that parses as RFC 3339, as an ASFF
// timestamp; now if none does.
func when(now time.Time, times ...string) string {
	for _, s := range times {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t.UTC().Format(stamp)
		}
	}
	return now.UTC().Format(stamp)
}

// findingTypes returns the ASFF types of f.
func findingTypes(f detect.Finding) []string {
	types := []string{typeReachability}
	if f.Action == detect.Exposure || opensWorld(f) {
		types = append(types, typeExposure)
	}
	if f.Outcome == detect.Failed && f.Error != nil && detect.AuthFailure(f.Error.Code) {
		types = append(types, typeDiscovery)
	}
	if f.Actor.IsRoot() {
		types = append(types, typeRoot)
	}
	return types
}

// opensWorld reports whether f is a call that took effect and added or
// changed an ingress rule open to the whole internet.
func opensWorld(f detect.Finding) bool {
	call, ok := detect.Lookup(f.Event.Name)
	if !ok || f.Outcome != detect.Succeeded || (call.Effect != detect.AddsRules && call.Effect != detect.ChangesRules) {
		return false
	}
	return slices.ContainsFunc(f.Rules, func(r detect.Rule) bool {
		return r.Direction != detect.Egress && (r.Exposure != "" || detect.WholeInternet(r))
	})
}

// description is the first line of the notification's text (what
// happened) and the first reasons.
func description(f detect.Finding) string {
	head := subject(f)
	if n, err := Render(f, Text); err == nil {
		head, _, _ = strings.Cut(n.Body, "\n")
	}
	d := clean.Line(head, maxDescription)
	var why []string
	for _, r := range f.Reasons[:min(len(f.Reasons), maxReasons)] {
		why = append(why, clean.Line(r, maxText))
	}
	if len(why) > 0 {
		d += ". Why: " + strings.Join(why, "; ")
	}
	return fit(d, maxDescription)
}

// remediation is the undo command when it fits whole, else the undo note.
func remediation(f detect.Finding) *asffRemediation {
	var r asffRecommendation
	if u := f.Undo; u != nil {
		cmd := "Undo: " + u.Command
		switch {
		case u.Command != "" && fit(cmd, maxRemediation) == cmd:
			r.Text = cmd
		case u.Note != "":
			r.Text = fit(u.Note, maxRemediation)
		case u.Command != "":
			r.Text = "The undo command is too long for this field: see the notification or the product field sgwatch/undo."
		}
	}
	r.URL = linkTo(f, "Security group")
	if r == (asffRecommendation{}) {
		return nil
	}
	return &asffRemediation{Recommendation: r}
}

// changed is what an attach call or a prefix list change acted on, by its
// id (validated), before the security group it opens: the interface or the
// instance, or the list.
func changed(f detect.Finding, part string) []asffResource {
	r := asffResource{Partition: part}
	if awsid.IsRegion(f.Event.Region) && len(f.Event.Region) <= maxRegion {
		r.Region = f.Event.Region
	}
	switch a, l := f.Attach, f.List; {
	case a != nil && awsid.IsNetworkInterfaceID(a.NetworkInterfaceID):
		r.Type, r.ID = "AwsEc2NetworkInterface", a.NetworkInterfaceID
	case a != nil && awsid.IsInstanceID(a.InstanceID):
		r.Type, r.ID = "AwsEc2Instance", a.InstanceID
	case l != nil && awsid.IsPrefixListID(l.ID):
		r.Type, r.ID = "Other", l.ID
	case f.BlockPublicAccess != nil && awsid.IsSafeName(first(f.BlockPublicAccess.SubnetID, f.BlockPublicAccess.VPCID), 40, "-"):
		r.Type, r.ID = "Other", first(f.BlockPublicAccess.SubnetID, f.BlockPublicAccess.VPCID)
	default:
		return nil
	}
	return []asffResource{r}
}

// resource is the security group of f, with what was left out of it.
func resource(f detect.Finding, part string) (asffResource, string) {
	g, e := f.SecurityGroup, f.Event
	r := asffResource{Type: "AwsEc2SecurityGroup", ID: fit(g.ID, maxText), Partition: part}
	switch arn := groupARN(f); {
	case arn != "":
		r.ID = arn
	case r.ID == "":
		r.ID = "unknown"
	}
	if awsid.IsRegion(e.Region) && len(e.Region) <= maxRegion {
		r.Region = e.Region
	}
	var left []string
	keys := slices.Sorted(maps.Keys(g.Tags))
	if len(keys) > maxTags {
		left = append(left, fmt.Sprintf("%d of %d tags", len(keys)-maxTags, len(keys)))
		keys = keys[:maxTags]
	}
	blank := 0
	for _, k := range keys {
		key, value := fit(k, maxTagKey), fit(g.Tags[k], maxText)
		if key == "" || value == "" {
			blank++ // ASFF takes no blank tag key or value
			continue
		}
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		r.Tags[key] = value
	}
	if blank > 0 {
		left = append(left, fmt.Sprintf("%d tags with a blank key or value", blank))
	}
	sg := asffGroup{GroupID: fit(g.ID, maxText), GroupName: fit(g.Name, maxText), VpcID: fit(g.VPCID, maxText), OwnerID: fit(e.AccountID, maxText)}
	var in, eg int
	for _, rule := range f.Rules {
		p, ok := permission(rule)
		switch {
		case !ok:
		case rule.Direction == detect.Egress:
			if eg++; eg <= maxPermissions {
				sg.IPPermissionsEgress = append(sg.IPPermissionsEgress, p)
			}
		default:
			if in++; in <= maxPermissions {
				sg.IPPermissions = append(sg.IPPermissions, p)
			}
		}
	}
	for _, n := range []struct {
		count int
		what  string
	}{{in, "ingress permissions"}, {eg, "egress permissions"}} {
		if n.count > maxPermissions {
			left = append(left, fmt.Sprintf("%d of %d %s", n.count-maxPermissions, n.count, n.what))
		}
	}
	r.Details = &asffDetails{AwsEc2SecurityGroup: sg}
	if len(left) == 0 {
		return r, ""
	}
	return r, "left out " + strings.Join(left, ", ") + " (the notification summarises them)"
}

// permission is rule r as an ASFF permission; false for a rule that says
// neither protocol nor source (one revoked by rule id).
func permission(r detect.Rule) (asffPermission, bool) {
	p := asffPermission{IPProtocol: fit(r.Protocol, 16), FromPort: r.FromPort, ToPort: r.ToPort}
	if r.Protocol == "all" {
		p.IPProtocol = "-1"
	}
	one := func(key, v string) []map[string]string {
		if v = fit(v, maxText); v == "" {
			return nil
		}
		return []map[string]string{{key: v}}
	}
	switch {
	case r.CIDRIPv4 != "":
		p.IPRanges = one("CidrIp", r.CIDRIPv4)
	case r.CIDRIPv6 != "":
		p.IPv6Ranges = one("CidrIpv6", r.CIDRIPv6)
	case r.PrefixListID != "":
		p.PrefixListIDs = one("PrefixListId", r.PrefixListID)
	case r.ReferencedGroupID != "":
		p.UserIDGroupPairs = one("GroupId", r.ReferencedGroupID)
		if p.UserIDGroupPairs != nil && awsid.IsAccountID(r.ReferencedGroupOwnerID) {
			p.UserIDGroupPairs[0]["UserId"] = r.ReferencedGroupOwnerID
		}
	}
	return p, r.Protocol != "" || r.Source() != ""
}

// productFields are sgwatch's fields of f, each value cleaned; left says
// what the resource left out.
func productFields(f detect.Finding, left string) map[string]string {
	m := map[string]string{}
	set := func(k, v string) {
		if v = fit(v, maxValue); v != "" {
			m[k] = v
		}
	}
	set("sgwatch/action", string(f.Action))
	set("sgwatch/outcome", string(f.Outcome))
	set("sgwatch/eventName", f.Event.Name)
	set("sgwatch/eventId", f.Event.ID)
	set("sgwatch/accountId", f.Event.AccountID)
	set("sgwatch/region", f.Event.Region)
	set("sgwatch/actorArn", f.Actor.ARN)
	set("sgwatch/automation", f.Automation)
	if u := f.Undo; u != nil && fit(u.Command, maxValue) == u.Command {
		set("sgwatch/undo", u.Command) // only whole: a cut command must not be pasted
	}
	if f.Sweep != nil {
		set("sgwatch/ruleKey", f.Sweep.Key)
	}
	set("sgwatch/shortened", left)
	return m
}
