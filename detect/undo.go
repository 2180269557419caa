package detect

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/sgwatch/sgwatch/awsid"
)

// Undo is how to reverse a change: the exact AWS CLI command when the event
// holds everything it needs, else a note that says why there is none and
// what to run to inspect the group.
//
// A command is built only from values of their expected form (region, sg-,
// sgr-, vpc-, pl- ids, account ids, CIDRs, protocol names, port numbers), so it is
// printable ASCII that is safe to paste into a shell: nothing from the record
// is copied into it unchecked. Rule descriptions are left out for that reason.
//
// Account names the account whose credentials the command, and any command
// in the note, must run with: the account the change was made in. A command
// run with another account's credentials finds no such group. It is set
// only from a 12-digit account id (awsid.IsAccountID), and only when there is a
// command to run.
type Undo struct {
	Command string `json:"command,omitempty"`
	Note    string `json:"note,omitempty"`
	Account string `json:"account,omitempty"`
}

// cliPrefix starts every command an Undo holds, in Command or in Note.
const cliPrefix = "aws ec2 "

// commandProtocol reports whether p is a protocol a command may name as it
// is: tcp, udp, icmp, icmpv6 or a number of 1 to 3 digits.
func commandProtocol(p string) bool {
	switch p {
	case "tcp", "udp", "icmp", "icmpv6":
		return true
	}
	if len(p) == 0 || len(p) > 3 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// maxCommand bounds an undo command; a longer one (hundreds of rules) is
// replaced by a note, so that the notification stays within SNS's limit.
const maxCommand = 32 << 10

// undo works out the Undo of a finding of call c. known reports whether
// the record says which of the rules a revoke named existed.
func undo(f *Finding, c *Call, known bool) *Undo {
	u := exactUndo(f, c, known)
	if len(u.Command) > maxCommand {
		u = &Undo{Note: fmt.Sprintf("the undo command would be %d characters long (%d rules): revert the rules in smaller groups, listing them with: %s",
			len(u.Command), len(f.Rules), inspect(f.Event.Region, f.SecurityGroup.ID))}
	}
	if awsid.IsAccountID(f.Event.AccountID) && (u.Command != "" || strings.Contains(u.Note, cliPrefix)) {
		u.Account = f.Event.AccountID
	}
	return u
}

func exactUndo(f *Finding, c *Call, known bool) *Undo {
	region, group := f.Event.Region, f.SecurityGroup.ID
	switch f.Outcome {
	case DryRun:
		return &Undo{Note: "dry run: nothing changed, nothing to undo"}
	case Failed:
		if f.Error != nil && strings.HasSuffix(f.Error.Code, duplicate) {
			note := "the rule already existed before this call: nothing changed, nothing to undo"
			if awsid.IsRegion(region) && awsid.IsGroupID(group) {
				note += "; if it should not exist, find it with: " + inspect(region, group)
			}
			return &Undo{Note: note}
		}
		return &Undo{Note: "the call failed: nothing changed, nothing to undo"}
	}
	switch c.Effect {
	case AttachesGroups:
		return attachUndo(f)
	case ChangesList:
		return listUndo(f)
	case ChangesBlockPublicAccess:
		return bpaUndo(f)
	case ChangesTags:
		return tagUndo(f)
	}
	if c.Effect == RemovesRules && len(f.Rules) > 0 && !slices.ContainsFunc(f.Rules, func(r Rule) bool { return !r.Unmatched }) {
		return &Undo{Note: "no rule matched; nothing changed, nothing to undo (AWS listed every rule named in unknownIpPermissionSet)"}
	}
	if !awsid.IsRegion(region) || !awsid.IsGroupID(group) {
		return &Undo{Note: "the event does not name the group by id and Region, so no command is given: find the group in the EC2 console"}
	}
	base := cliPrefix + c.Inverse + " --region " + region + " --group-id " + group
	look := inspect(region, group)
	if c.Direction != "" {
		for _, r := range f.Rules {
			if r.Direction != c.Direction && !r.Unmatched {
				return &Undo{Note: fmt.Sprintf("the record says a rule of this %s call is %s, so no command is given (it would act on the wrong direction); list the group's rules with: %s",
					c.Name, r.Direction, look)}
			}
		}
	}
	switch c.Effect {
	case OnGroup:
		switch {
		case c.Inverse == "":
			return &Undo{Note: "a deleted group cannot be restored: recreate it and its rules from AWS Config's history of " + group + " or earlier CloudTrail events"}
		case c.Direction == "" && c.Action == Modify: // shares the group with a VPC
			if awsid.IsVPCID(f.SecurityGroup.VPCID) {
				return &Undo{Command: base + " --vpc-id " + f.SecurityGroup.VPCID}
			}
		default:
			return &Undo{Command: base}
		}
	case ChangesRules:
		return &Undo{Note: "the event holds the new rules, not the ones they replaced; find the previous rules in AWS Config's history of " + group + ", and list the current ones with: " + look}
	case AddsRules:
		if ids, ok := ruleIDs(f.Rules); ok {
			return &Undo{Command: base + " --security-group-rule-ids " + ids}
		}
		if badOwner(f.Rules) {
			return &Undo{Note: ownerNote + look}
		}
		if perms, ok := cliPermissions(f.Rules); ok {
			return &Undo{Command: base + " --ip-permissions " + perms}
		}
	case RemovesRules:
		var gone []Rule
		for _, r := range f.Rules {
			if !r.Unmatched {
				gone = append(gone, r)
			}
		}
		switch {
		case !known && !hasSources(f.Rules):
			return &Undo{Note: "revoked by rule id: the event does not say what the rules allowed; find them in AWS Config's history of " + group + " or the CloudTrail events that created them, and list what is left with: " + look}
		case !known:
			return &Undo{Note: "the event does not say which of the rules named existed (no revokedSecurityGroupRuleSet or unknownIpPermissionSet), so no command is given: restoring a rule that never existed would open the group; check AWS Config's history of " + group + ", and list what is left with: " + look}
		}
		if badOwner(gone) {
			return &Undo{Note: ownerNote + look}
		}
		if perms, ok := cliPermissions(gone); ok {
			note := "restores the rules without their descriptions"
			if len(gone) < len(f.Rules) {
				note = fmt.Sprintf("restores only the %d rules that existed, without their descriptions", len(gone))
			}
			return &Undo{Command: base + " --ip-permissions " + perms, Note: note}
		}
		if !hasSources(gone) {
			return &Undo{Note: "revoked by rule id: the event does not say what the rules allowed; find them in AWS Config's history of " + group + " or the CloudTrail events that created them, and list what is left with: " + look}
		}
		return &Undo{Note: "a rule holds a value no command is built from (only canonical CIDRs, known protocols, sg-, pl- ids): restore it by hand from the rules above; list what is left with: " + look}
	case DescribesRules:
		return &Undo{Note: "only descriptions changed, and the event does not hold the previous ones; list the rules with: " + look}
	}
	return &Undo{Note: "the event does not hold everything an exact undo needs; list the group's rules with: " + look}
}

// ownerNote starts the note of an undo that a referenced group's owner
// keeps from being built; the command to list the group's rules follows.
const ownerNote = "a referenced security group's owning account (userId in the record) is not a 12-digit account id, so no command is given (a reference to another account's group must name its owner); list the group's rules with: "

// badOwner reports whether a rule names the owner of its referenced group
// with something that is not an account id.
func badOwner(rules []Rule) bool {
	return slices.ContainsFunc(rules, func(r Rule) bool { return r.ReferencedGroupID != "" && !r.ownerValid() })
}

// hasSources reports whether any rule names its source.
func hasSources(rules []Rule) bool {
	for _, r := range rules {
		if r.Source() != "" {
			return true
		}
	}
	return false
}

// inspect is the command that lists a group's rules.
func inspect(region, group string) string {
	return cliPrefix + "describe-security-group-rules --region " + region + " --filters Name=group-id,Values=" + group
}

// ruleIDs joins the rules' sgr- ids, if every rule has a valid one.
func ruleIDs(rules []Rule) (string, bool) {
	ids := make([]string, 0, len(rules))
	for _, r := range rules {
		if !awsid.IsRuleID(r.RuleID) {
			return "", false
		}
		ids = append(ids, r.RuleID)
	}
	return strings.Join(ids, " "), len(ids) > 0
}

// cliPermission is one entry of the AWS CLI's --ip-permissions JSON.
type cliPermission struct {
	IPProtocol       string          `json:"IpProtocol"`
	FromPort         *int            `json:"FromPort,omitempty"`
	ToPort           *int            `json:"ToPort,omitempty"`
	IPRanges         []cliIPRange    `json:"IpRanges,omitempty"`
	IPv6Ranges       []cliIPv6Range  `json:"Ipv6Ranges,omitempty"`
	PrefixListIDs    []cliPrefixList `json:"PrefixListIds,omitempty"`
	UserIDGroupPairs []cliGroupPair  `json:"UserIdGroupPairs,omitempty"`
}

// The sources of a cliPermission.
type (
	cliIPRange struct {
		CidrIP string `json:"CidrIp"`
	}
	cliIPv6Range struct {
		CidrIPv6 string `json:"CidrIpv6"`
	}
	cliPrefixList struct {
		PrefixListID string `json:"PrefixListId"`
	}
	cliGroupPair struct {
		GroupID string `json:"GroupId"`
		UserID  string `json:"UserId,omitempty"` // the owning account, another than the change's
	}
)

// cliPermissions renders rules as the single-quoted --ip-permissions argument
// of the AWS CLI, one permission per rule. It fails for a rule that has no
// source, or a value not of its expected form.
func cliPermissions(rules []Rule) (string, bool) {
	perms := make([]cliPermission, 0, len(rules))
	for _, r := range rules {
		p := cliPermission{IPProtocol: r.Protocol}
		if r.Protocol == "all" {
			p.IPProtocol = "-1"
		} else if !commandProtocol(r.Protocol) {
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
			p.IPRanges = []cliIPRange{{c}}
		case r.CIDRIPv6 != "":
			c, ok := cidr(r.CIDRIPv6, false)
			if !ok {
				return "", false
			}
			p.IPv6Ranges = []cliIPv6Range{{c}}
		case awsid.IsPrefixListID(r.PrefixListID):
			p.PrefixListIDs = []cliPrefixList{{r.PrefixListID}}
		case awsid.IsGroupID(r.ReferencedGroupID) && r.ownerValid():
			p.UserIDGroupPairs = []cliGroupPair{{r.ReferencedGroupID, r.ReferencedGroupOwnerID}}
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

// ExposureUndo revokes an exposure's rule by its id.
func ExposureUndo(f *Finding) *Undo {
	region, group := f.Event.Region, f.SecurityGroup.ID
	var u *Undo
	switch ids, ok := ruleIDs(f.Rules); {
	case !awsid.IsRegion(region) || !awsid.IsGroupID(group):
		u = &Undo{Note: "the sweep did not name the group by id and Region, so no command is given: find the group in the EC2 console"}
	case !ok:
		u = &Undo{Note: "the rule has no valid rule id, so no command is given; list the group's rules with: " + inspect(region, group)}
	default:
		u = &Undo{Command: cliPrefix + byName["AuthorizeSecurityGroupIngress"].Inverse + " --region " + region + " --group-id " + group + " --security-group-rule-ids " + ids}
	}
	if awsid.IsAccountID(f.Event.AccountID) && (u.Command != "" || strings.Contains(u.Note, cliPrefix)) {
		u.Account = f.Event.AccountID
	}
	return u
}

// attachUndo says how to set back the groups an attach call replaced: its
// record holds only the new set.
func attachUndo(f *Finding) *Undo {
	const where = "the record holds the groups the call set, not those they replaced: find the earlier ones in AWS Config's history of the %s (%s) or in its earlier CloudTrail events, then set them back with: %s"
	region, a := f.Event.Region, f.Attach
	switch {
	case a == nil || !awsid.IsRegion(region):
	case awsid.IsNetworkInterfaceID(a.NetworkInterfaceID):
		return &Undo{Note: fmt.Sprintf(where, "network interface", "AWS::EC2::NetworkInterface "+a.NetworkInterfaceID,
			cliPrefix+"modify-network-interface-attribute --region "+region+" --network-interface-id "+a.NetworkInterfaceID+" --groups EARLIER-GROUP-IDS")}
	case awsid.IsInstanceID(a.InstanceID):
		return &Undo{Note: fmt.Sprintf(where, "instance", "AWS::EC2::Instance "+a.InstanceID,
			cliPrefix+"modify-instance-attribute --region "+region+" --instance-id "+a.InstanceID+" --groups EARLIER-GROUP-IDS")}
	}
	return &Undo{Note: "the record names no network interface or instance by id and Region: find it, and the groups it had, in the EC2 console"}
}

// listUndo is the command that reverses a managed prefix list call, when
// its record holds what that needs: a created list deleted, the entries a
// modify added removed and those it removed added back.
func listUndo(f *Finding) *Undo {
	region, l := f.Event.Region, f.List
	if l == nil || !awsid.IsRegion(region) || !awsid.IsPrefixListID(l.ID) {
		return &Undo{Note: "the record does not name the prefix list by id and Region: find it in the VPC console (Managed prefix lists)"}
	}
	base := " --region " + region + " --prefix-list-id " + l.ID
	versions := "compare its versions with: " + cliPrefix + "get-managed-prefix-list-entries" + base + " --target-version N"
	switch f.Event.Name {
	case "CreateManagedPrefixList":
		return &Undo{Command: cliPrefix + "delete-managed-prefix-list" + base, Note: "AWS refuses to delete a list a rule still names"}
	case "ModifyManagedPrefixList":
		add, okA := cidrs(l.Removed)
		remove, okR := cidrs(l.Added)
		if !l.Unread && okA && okR && (add != "" || remove != "") {
			cmd := cliPrefix + "modify-managed-prefix-list" + base
			if remove != "" {
				cmd += " --remove-entries " + remove
			}
			if add != "" {
				cmd += " --add-entries " + add
			}
			u := &Undo{Command: cmd}
			if add != "" {
				u.Note = "adds back the entries it removed without their descriptions"
			}
			return u
		}
	}
	return &Undo{Note: "the record does not hold the entries the call replaced: " + versions + ", then restore the one you want with " + cliPrefix + "restore-managed-prefix-list-version"}
}

// cidrs writes entries as the AWS CLI's Cidr=… arguments, if every one is
// a canonical CIDR.
func cidrs(entries []string) (string, bool) {
	var out []string
	for _, e := range entries {
		p, err := netip.ParsePrefix(e)
		if err != nil || p != p.Masked() || p.String() != e {
			return "", false
		}
		out = append(out, "Cidr="+e)
	}
	return strings.Join(out, " "), true
}

// bpaUndo reverses a Block Public Access change: an exclusion deleted by
// the id the response names; a mode set back, which the record does not
// hold.
func bpaUndo(f *Finding) *Undo {
	region, b := f.Event.Region, f.BlockPublicAccess
	switch {
	case b == nil || !awsid.IsRegion(region):
		return &Undo{Note: "the record does not name the Region: change Block Public Access back in the VPC console"}
	case f.Event.Name == "CreateVpcBlockPublicAccessExclusion" && isExclusionID(b.ExclusionID):
		return &Undo{Command: cliPrefix + "delete-vpc-block-public-access-exclusion --region " + region + " --exclusion-id " + b.ExclusionID}
	case f.Event.Name == "CreateVpcBlockPublicAccessExclusion":
		return &Undo{Note: "the response names no exclusion id: list the exclusions with " + cliPrefix + "describe-vpc-block-public-access-exclusions --region " + region + ", and delete this one"}
	}
	return &Undo{Note: "the record does not hold the mode before: set the one you had back with " + cliPrefix + "modify-vpc-block-public-access-options --region " + region +
		" --internet-gateway-block-mode block-ingress (or block-bidirectional)"}
}

// isExclusionID reports whether s is a Block Public Access exclusion id
// (vpcbpa-exclude-…).
func isExclusionID(s string) bool {
	rest, ok := strings.CutPrefix(s, "vpcbpa-exclude-")
	return ok && len(rest) >= 8 && len(rest) <= 32 && strings.Trim(rest, "0123456789abcdef") == ""
}

// tagUndo reverses a change of sgwatch's tags: the keys CreateTags set are
// deleted from the resources it named; what DeleteTags removed is not in
// its record (a value is never there).
func tagUndo(f *Finding) *Undo {
	t, region := f.Tags, f.Event.Region
	if f.Event.Name == "DeleteTags" {
		return &Undo{Note: "the record does not hold the values removed: set them again with aws ec2 create-tags if they were meant"}
	}
	var keys []string
	for _, tag := range t.Tags {
		// Record text: a command only when every key is safe in one as it is.
		if !awsid.IsSafeName(tag.Key, 128, ":-_.") {
			keys = nil
			break
		}
		keys = append(keys, "Key="+tag.Key)
	}
	if !awsid.IsRegion(region) || len(keys) == 0 || t.More > 0 || len(t.Resources) == 0 {
		return &Undo{Note: "no command is given: the record names more resources than shown, or a key or Region that cannot be put in a command; remove the tags in the EC2 console"}
	}
	return &Undo{Command: cliPrefix + "delete-tags --region " + region + " --resources " + strings.Join(t.Resources, " ") + " --tags " + strings.Join(keys, " "),
		Note: "this removes the tags; if the call replaced an earlier value (the record does not say), set that value again instead"}
}
