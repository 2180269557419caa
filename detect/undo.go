package detect

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// Undo is how to reverse a change: the exact AWS CLI command when the event
// holds everything it needs, else a note that says why there is none and
// what to run to inspect the group.
//
// A command is built only from values of their expected form (region, sg-,
// sgr-, vpc-, pl- ids, CIDRs, protocol names, port numbers), so it is
// printable ASCII that is safe to paste into a shell: nothing from the record
// is copied into it unchecked. Rule descriptions are left out for that reason.
type Undo struct {
	Command string `json:"command,omitempty"`
	Note    string `json:"note,omitempty"`
}

var (
	regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	groupRE  = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
	ruleRE   = regexp.MustCompile(`^sgr-[0-9a-f]{8,17}$`)
	vpcRE    = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	plRE     = regexp.MustCompile(`^pl-[0-9a-f]{8,17}$`)
	protoRE  = regexp.MustCompile(`^(tcp|udp|icmp|icmpv6|[0-9]{1,3})$`)
)

// maxCommand bounds an undo command; a longer one (hundreds of rules) is
// replaced by a note, so that the notification stays within SNS's limit.
const maxCommand = 32 << 10

// IsRegion reports whether s has the form of an AWS Region name (eu-west-1).
func IsRegion(s string) bool { return regionRE.MatchString(s) }

// IsGroupID reports whether s has the form of a security group id (sg-…).
func IsGroupID(s string) bool { return groupRE.MatchString(s) }

// undo works out the Undo of a finding.
func undo(f *Finding) *Undo {
	u := exactUndo(f)
	if len(u.Command) > maxCommand {
		return &Undo{Note: fmt.Sprintf("the undo command would be %d characters long (%d rules): revert the rules in smaller groups, listing them with: aws ec2 describe-security-group-rules --region %s --filters Name=group-id,Values=%s",
			len(u.Command), len(f.Rules), f.Event.Region, f.SecurityGroup.ID)}
	}
	return u
}

func exactUndo(f *Finding) *Undo {
	region, group := f.Event.Region, f.SecurityGroup.ID
	switch f.Outcome {
	case DryRun:
		return &Undo{Note: "dry run: nothing changed, nothing to undo"}
	case Failed:
		return &Undo{Note: "the call failed: nothing changed, nothing to undo"}
	}
	if !IsRegion(region) || !IsGroupID(group) {
		return &Undo{Note: "the event does not name the group by id and Region, so no command is given: find the group in the EC2 console"}
	}
	base := "aws ec2 %s --region " + region + " --group-id " + group
	inspect := "aws ec2 describe-security-group-rules --region " + region + " --filters Name=group-id,Values=" + group
	name := f.Event.Name
	dir := "ingress"
	if strings.HasSuffix(name, "Egress") {
		dir = "egress"
	}
	switch {
	case name == "CreateSecurityGroup":
		return &Undo{Command: fmt.Sprintf(base, "delete-security-group")}
	case name == "DeleteSecurityGroup":
		return &Undo{Note: "a deleted group cannot be restored: recreate it and its rules from AWS Config's history of " + group + " or earlier CloudTrail events"}
	case name == "AssociateSecurityGroupVpc", name == "DisassociateSecurityGroupVpc":
		if !vpcRE.MatchString(f.SecurityGroup.VPCID) {
			break
		}
		verb := "disassociate-security-group-vpc"
		if name == "DisassociateSecurityGroupVpc" {
			verb = "associate-security-group-vpc"
		}
		return &Undo{Command: fmt.Sprintf(base, verb) + " --vpc-id " + f.SecurityGroup.VPCID}
	case strings.HasPrefix(name, "Authorize"):
		if ids, ok := ruleIDs(f.Rules); ok {
			return &Undo{Command: fmt.Sprintf(base, "revoke-security-group-"+dir) + " --security-group-rule-ids " + ids}
		}
		if perms, ok := IPPermissions(f.Rules); ok {
			return &Undo{Command: fmt.Sprintf(base, "revoke-security-group-"+dir) + " --ip-permissions " + perms}
		}
	case strings.HasPrefix(name, "Revoke"):
		if perms, ok := IPPermissions(f.Rules); ok {
			return &Undo{
				Command: fmt.Sprintf(base, "authorize-security-group-"+dir) + " --ip-permissions " + perms,
				Note:    "restores the rules without their descriptions",
			}
		}
		return &Undo{Note: "revoked by rule id: the event does not say what the rules allowed; find them in AWS Config's history of " + group + " or the CloudTrail events that created them, and list what is left with: " + inspect}
	case name == "ModifySecurityGroupRules":
		return &Undo{Note: "the event holds the new rules, not the ones they replaced; find the previous rules in AWS Config's history of " + group + ", and list the current ones with: " + inspect}
	case strings.HasPrefix(name, "UpdateSecurityGroupRuleDescriptions"):
		return &Undo{Note: "only descriptions changed, and the event does not hold the previous ones; list the rules with: " + inspect}
	}
	return &Undo{Note: "the event does not hold everything an exact undo needs; list the group's rules with: " + inspect}
}

// ruleIDs joins the rules' sgr- ids, if every rule has a valid one.
func ruleIDs(rules []Rule) (string, bool) {
	ids := make([]string, 0, len(rules))
	for _, r := range rules {
		if !ruleRE.MatchString(r.RuleID) {
			return "", false
		}
		ids = append(ids, r.RuleID)
	}
	return strings.Join(ids, " "), len(ids) > 0
}

// IPPermission is one entry of the AWS CLI's --ip-permissions JSON.
type IPPermission struct {
	IPProtocol       string            `json:"IpProtocol"`
	FromPort         *int              `json:"FromPort,omitempty"`
	ToPort           *int              `json:"ToPort,omitempty"`
	IPRanges         []IPRange         `json:"IpRanges,omitempty"`
	IPv6Ranges       []IPv6Range       `json:"Ipv6Ranges,omitempty"`
	PrefixListIDs    []PrefixListID    `json:"PrefixListIds,omitempty"`
	UserIDGroupPairs []UserIDGroupPair `json:"UserIdGroupPairs,omitempty"`
}

// The sources of an IPPermission.
type (
	IPRange struct {
		CidrIP string `json:"CidrIp"`
	}
	IPv6Range struct {
		CidrIPv6 string `json:"CidrIpv6"`
	}
	PrefixListID struct {
		PrefixListID string `json:"PrefixListId"`
	}
	UserIDGroupPair struct {
		GroupID string `json:"GroupId"`
	}
)

// IPPermissions renders rules as the single-quoted --ip-permissions argument
// of the AWS CLI, one permission per rule. It fails for a rule that has no
// source, or a value not of its expected form.
func IPPermissions(rules []Rule) (string, bool) {
	perms := make([]IPPermission, 0, len(rules))
	for _, r := range rules {
		p := IPPermission{IPProtocol: r.Protocol}
		if r.Protocol == "all" {
			p.IPProtocol = "-1"
		} else if !protoRE.MatchString(r.Protocol) {
			return "", false
		} else {
			p.FromPort, p.ToPort = r.FromPort, r.ToPort
		}
		switch {
		case r.CIDRIPv4 != "":
			c, ok := cidr(r.CIDRIPv4, true)
			if !ok {
				return "", false
			}
			p.IPRanges = []IPRange{{c}}
		case r.CIDRIPv6 != "":
			c, ok := cidr(r.CIDRIPv6, false)
			if !ok {
				return "", false
			}
			p.IPv6Ranges = []IPv6Range{{c}}
		case plRE.MatchString(r.PrefixListID):
			p.PrefixListIDs = []PrefixListID{{r.PrefixListID}}
		case IsGroupID(r.ReferencedGroupID):
			p.UserIDGroupPairs = []UserIDGroupPair{{r.ReferencedGroupID}}
		default:
			return "", false
		}
		perms = append(perms, p)
	}
	if len(perms) == 0 {
		return "", false
	}
	b, err := json.Marshal(perms)
	if err != nil {
		return "", false
	}
	// Only validated values are in the JSON, so it holds no quote to escape.
	return "'" + string(b) + "'", true
}

// cidr returns c if it is an IPv4 (v4) or IPv6 prefix, as written.
func cidr(c string, v4 bool) (string, bool) {
	p, err := netip.ParsePrefix(c)
	if err != nil || p.Addr().Is4() != v4 || p.String() != c {
		return "", false
	}
	return c, true
}
