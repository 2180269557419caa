// Package detect turns CloudTrail records of EC2 security-group API calls
// into findings: what was done (create, modify, delete), by whom, to which
// group and rules, whether it worked, and how risky it is.
//
// It is pure: it parses and scores, and makes no AWS calls. The JSON form of
// Finding is a public contract described by schema/finding.schema.json.
package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	"github.com/sgwatch/sgwatch/awsid"
)

// Action classifies a security-group API call.
type Action string

// The actions a finding can carry.
const (
	Create Action = "create"
	Modify Action = "modify"
	Delete Action = "delete"
	// Exposure is a rule the exposure sweep found open to the whole
	// internet now, whoever made it and whenever (package sweep).
	Exposure Action = "exposure"
	// Resolved is an exposure a later sweep found gone.
	Resolved Action = "resolved"
)

// Outcome says whether the call took effect.
type Outcome string

// The outcomes a finding can carry.
const (
	Succeeded Outcome = "succeeded"
	Failed    Outcome = "failed"
	DryRun    Outcome = "dry-run"
)

// Direction is the traffic direction of a rule.
type Direction string

// The directions a rule can carry; a rule whose direction the event does not
// say (ModifySecurityGroupRules) has none.
const (
	Ingress Direction = "ingress"
	Egress  Direction = "egress"
)

// Finding is one security-group API call, enriched and scored.
type Finding struct {
	Action   Action   `json:"action"`
	Outcome  Outcome  `json:"outcome"`
	Severity Severity `json:"severity"`
	// SeverityBeforeAutomation is the severity before trusted automation
	// lowered it; set only when it did. A change that was critical before
	// is never suppressed, whatever the configuration.
	SeverityBeforeAutomation Severity      `json:"severityBeforeAutomation,omitempty"`
	Reasons                  []string      `json:"reasons,omitempty"`
	Event                    Event         `json:"event"`
	Actor                    Actor         `json:"actor"`
	SecurityGroup            SecurityGroup `json:"securityGroup"`
	Rules                    []Rule        `json:"rules,omitempty"`
	Error                    *CallError    `json:"error,omitempty"`
	// Automation names the trusted principal (TRUSTED_PRINCIPALS), or the
	// trusted service and the principal it acted as, "SERVICE as ARN"
	// (TRUSTED_SERVICES), that made the change; empty for anyone else.
	Automation string `json:"automation,omitempty"`
	Undo       *Undo  `json:"undo,omitempty"`
	// Notes say what could not be done for this finding, such as a failed
	// live lookup; the finding is published all the same.
	Notes []string `json:"notes,omitempty"`
	// Sweep is what the exposure sweep knows of an exposure or resolved
	// finding; nil for a finding from a CloudTrail record.
	Sweep *Sweep `json:"sweep,omitempty"`
	// Attach is what an attach call set; nil for other calls.
	Attach *Attach `json:"attach,omitempty"`
	// List is what a managed prefix list call changed; nil for other
	// calls.
	List *ListChange `json:"prefixList,omitempty"`
	// BlockPublicAccess is what a VPC Block Public Access call changed;
	// nil for other calls.
	BlockPublicAccess *BPAChange `json:"blockPublicAccess,omitempty"`
	// Tags is what a CreateTags or DeleteTags call did to sgwatch's tags;
	// nil for other calls.
	Tags *TagChange `json:"sgwatchTags,omitempty"`
	// Context names what live context judged the change with; nil when it
	// was judged offline, on the call's rules alone.
	Context *Context `json:"context,omitempty"`
	// Reachability is whether what the change opens to the whole internet
	// can be reached from it now (live context); nil when not judged.
	Reachability *Reachability `json:"reachability,omitempty"`
	// Revert is what the opt-in revert did or will do (REVERT); nil when
	// it is off, or does not act on the finding.
	Revert *Revert `json:"revert,omitempty"`
	// Live is what live context read (package enrich); nil offline.
	Live *Live `json:"-"`
}

// Event identifies the CloudTrail record, and where the call was made.
//
// Region and AccountID are the record's own awsRegion and
// recipientAccountId, never where sgwatch runs: an event a member account
// forwards to a central event bus names the member account and its Region.
// A record without them (a redacted one) takes them from its EventBridge
// envelope (region, account), which EventBridge keeps as the source's when
// it forwards an event to another account's bus; AccountID last falls back
// to userIdentity.accountId, the caller's account, which is the same
// account except for a call made from another account.
type Event struct {
	ID        string `json:"id,omitempty"`
	Name      string `json:"name"`
	Time      string `json:"time,omitempty"`
	Region    string `json:"region,omitempty"`
	AccountID string `json:"accountId,omitempty"`
	// AccountName is the account's name in AWS Organizations (live
	// context, ACCOUNT_NAMES=true); empty when not looked up. The
	// organization chooses it, so it is shown cleaned like record text.
	AccountName string `json:"accountName,omitempty"`
	RequestID   string `json:"requestId,omitempty"`
	// CallerAccount is true when AccountID is the caller's
	// (userIdentity.accountId), the record naming no account of its own:
	// it may not be the account the change was made in.
	CallerAccount bool `json:"-"`
}

// Actor is who made the call.
type Actor struct {
	Type        string `json:"type,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	PrincipalID string `json:"principalId,omitempty"`
	UserName    string `json:"userName,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
	// CredentialType is long-term (an AKIA access key) or temporary (ASIA),
	// empty when the key says neither.
	CredentialType   string `json:"credentialType,omitempty"`
	SessionIssuerARN string `json:"sessionIssuerArn,omitempty"`
	// MFAAuthenticated is nil when the record does not say.
	MFAAuthenticated *bool  `json:"mfaAuthenticated,omitempty"`
	SourceIP         string `json:"sourceIp,omitempty"`
	UserAgent        string `json:"userAgent,omitempty"`
	InvokedBy        string `json:"invokedBy,omitempty"`
	// Console is true when the call came from the AWS Management Console.
	Console bool `json:"console"`
	// Unread is true when the record's userIdentity, or a part of it,
	// could not be read: the actor may be anyone, the root user included.
	Unread bool `json:"-"`
}

// The credential types of an Actor.
const (
	LongTerm  = "long-term"
	Temporary = "temporary"
)

// SecurityGroup is the group the call acted on.
type SecurityGroup struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name,omitempty"`
	VPCID       string `json:"vpcId,omitempty"`
	Description string `json:"description,omitempty"`
	// Live context (ENRICH=true): filled in from the EC2 API, nil or empty
	// when not looked up.
	Tags               map[string]string `json:"tags,omitempty"`
	IsDefault          *bool             `json:"isDefault,omitempty"`
	AttachedInterfaces *int              `json:"attachedInterfaces,omitempty"`
}

// Rule is one source or destination of a permission. Exactly one of CIDRIPv4,
// CIDRIPv6, PrefixListID and ReferencedGroupID is set, except for a rule named
// only by RuleID (a revoke by rule id), which has none.
type Rule struct {
	Direction         Direction `json:"direction,omitempty"`
	Protocol          string    `json:"protocol,omitempty"`
	FromPort          *int      `json:"fromPort,omitempty"`
	ToPort            *int      `json:"toPort,omitempty"`
	CIDRIPv4          string    `json:"cidrIpv4,omitempty"`
	CIDRIPv6          string    `json:"cidrIpv6,omitempty"`
	PrefixListID      string    `json:"prefixListId,omitempty"`
	ReferencedGroupID string    `json:"referencedGroupId,omitempty"`
	// ReferencedGroupOwnerID is the account that owns ReferencedGroupID
	// (the record's userId), when the record names one other than the
	// account of the change. It is record text: awsid.IsAccountID says
	// whether it is an account id.
	ReferencedGroupOwnerID string `json:"referencedGroupOwnerId,omitempty"`
	Description            string `json:"description,omitempty"`
	RuleID                 string `json:"ruleId,omitempty"`
	// Exposure says why the rule's source counts as the whole internet when
	// it is not written as a /0: "the whole IPv4 internet, together with
	// 128.0.0.0/1", or "source not understood: counted as the whole
	// internet". Empty otherwise.
	Exposure string `json:"exposure,omitempty"`
	// Unmatched is true for a rule a revoke named that did not exist: AWS
	// listed it in unknownIpPermissionSet, so nothing changed for it.
	Unmatched bool `json:"unmatched,omitempty"`
}

// CallError is the error CloudTrail recorded for a failed call.
type CallError struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// Source returns the rule's source (ingress) or destination (egress), or "".
func (r Rule) Source() string {
	switch {
	case r.CIDRIPv4 != "":
		return r.CIDRIPv4
	case r.CIDRIPv6 != "":
		return r.CIDRIPv6
	case r.PrefixListID != "":
		return r.PrefixListID
	}
	return r.ReferencedGroupID
}

// WasCritical reports whether the finding is critical, or was before
// trusted automation lowered it: such a finding is never suppressed and
// never threaded in chat.
func (f Finding) WasCritical() bool {
	return f.Severity == Critical || f.SeverityBeforeAutomation == Critical
}

// sourceFields are the rule's four source fields, set or not: EC2 allows
// one to be set.
func (r Rule) sourceFields() [4]string {
	return [4]string{r.CIDRIPv4, r.CIDRIPv6, r.PrefixListID, r.ReferencedGroupID}
}

// sources counts the rule's sources.
func (r Rule) sources() int {
	n := 0
	for _, s := range r.sourceFields() {
		if s != "" {
			n++
		}
	}
	return n
}

// allSources names every source the rule gives, comma-separated.
func (r Rule) allSources() string {
	f := r.sourceFields()
	return strings.Join(slices.DeleteFunc(f[:], func(s string) bool { return s == "" }), ", ")
}

// ownerValid reports whether the owner of the rule's referenced group is
// unnamed (the account of the change) or a 12-digit account id: only then
// is it built into a command.
func (r Rule) ownerValid() bool {
	return r.ReferencedGroupOwnerID == "" || awsid.IsAccountID(r.ReferencedGroupOwnerID)
}

// Payload is the top-level member that marks sgwatch's own payloads to
// its function (a sweep request, a revert check), and no CloudTrail event
// or EventBridge envelope has; its value names the kind.
const Payload = "sgwatch"

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
	// RuleTags are the rule's sgwatch tags as listed (the revert's
	// approval, ApprovalOf); nil for none.
	RuleTags map[string]string `json:"-"`
	// Indirect is true for an exposure open only through a prefix list's
	// entries, or only together with other groups' rules on an interface:
	// the rule itself does not name the whole internet (never reverted).
	Indirect bool `json:"-"`
}

// Created is the CloudTrail event that created a rule.
type Created struct {
	EventID   string `json:"eventId,omitempty"`
	EventName string `json:"eventName"`
	Time      string `json:"time,omitempty"`
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

// IsRuleKey reports whether s has the form RuleKey gives a key.
func IsRuleKey(s string) bool {
	id, sum, ok := strings.Cut(s, "#")
	return ok && (awsid.IsRuleID(id) || id == "no-rule-id") && len(sum) == 16 && strings.Trim(sum, "0123456789abcdef") == ""
}
