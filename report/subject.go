package report

import (
	"strings"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// subject is the SNS subject: printable ASCII, at most maxSubject
// characters, starting with the severity, e.g.
// "[CRITICAL] sg-0abc (web) modified by ops-admin in 111122223333/eu-west-1".
// Long names are shortened so that the account and region always fit.
func subject(f detect.Finding) string {
	if fromSweep(f) {
		return sweepSubject(f)
	}
	head := "[" + strings.ToUpper(string(f.Severity)) + "] "
	mid := " " + verb(f) + " by "
	// An account id has 12 digits and the longest Region name 14 characters.
	tail := " in " + clean.ASCII(orUnknown(f.Event.AccountID), 16) + "/" + clean.ASCII(orUnknown(f.Event.Region), 20)
	room := maxSubject - len(head) - len(mid) - len(tail)
	label := targetLabel(f)
	actor := clean.ASCII(who(f.Actor), max(room/3, room-len(label)))
	group := clean.ASCII(label, room-len(actor))
	return clean.ASCII(head+group+mid+actor+tail, maxSubject)
}

func verb(f detect.Finding) string {
	if w := revertWord(f); w != "" {
		return w + ", opened"
	}
	switch {
	case f.Outcome == detect.DryRun:
		return string(f.Action) + " dry run"
	case denied(f):
		return string(f.Action) + " DENIED"
	case f.Outcome == detect.Failed:
		return string(f.Action) + " FAILED"
	}
	switch f.Action {
	case detect.Create:
		return "created"
	case detect.Delete:
		return "deleted"
	}
	return "modified"
}

// denied reports whether the call failed for lack of permission.
func denied(f detect.Finding) bool {
	return f.Outcome == detect.Failed && f.Error != nil && detect.AuthFailure(f.Error.Code)
}

// who names the actor as briefly as the record allows.
func who(a detect.Actor) string {
	switch {
	case a.Type == "Root":
		return "root"
	case a.UserName != "":
		return a.UserName
	case a.ARN != "":
		return a.ARN[strings.LastIndexAny(a.ARN, "/:")+1:]
	case a.InvokedBy != "":
		return a.InvokedBy
	}
	return orUnknown(a.Type)
}

// targetLabel names what the call acted on: a prefix list, the network
// interface or instance of an attach call, else the security group.
func targetLabel(f detect.Finding) string {
	switch {
	// Record text, or chosen by the list's owner: defanged.
	case f.List != nil && f.List.ID != "" && f.List.Name != "":
		return "prefix list " + defang(f.List.ID) + " (" + defang(f.List.Name) + ")"
	case f.List != nil:
		return "prefix list " + defang(first(f.List.ID, f.List.Name, "unknown"))
	case f.BlockPublicAccess != nil && f.BlockPublicAccess.SubnetID+f.BlockPublicAccess.VPCID != "":
		return "Block Public Access exclusion of " + defang(first(f.BlockPublicAccess.SubnetID, f.BlockPublicAccess.VPCID))
	case f.BlockPublicAccess != nil:
		return "VPC Block Public Access"
	case f.Attach != nil && f.Attach.NetworkInterfaceID != "":
		return defang(f.Attach.NetworkInterfaceID)
	case f.Attach != nil && f.Attach.InstanceID != "":
		return defang(f.Attach.InstanceID)
	}
	return groupLabel(f.SecurityGroup)
}

// first returns the first of s that is not "".
func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func groupLabel(g detect.SecurityGroup) string {
	switch {
	case g.ID != "" && g.Name != "":
		return g.ID + " (" + g.Name + ")"
	case g.ID != "":
		return g.ID
	case g.Name != "":
		return g.Name
	}
	return "unknown group"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
