package detect

import (
	"strings"
	"testing"
)

// TestReferencedGroupOwner: a rule whose source is a security group of
// another account (userId in the record's groups, referencedGroupInfo or
// the legacy sourceSecurityGroupOwnerId) keeps its owner, the undo command
// names it as UserId, and an owner that is not a 12-digit account id gives
// a note, not a command. A group of the account of the change needs no
// owner.
func TestReferencedGroupOwner(t *testing.T) {
	const (
		other = "444455556666"
		peer  = "sg-0fedcba9876543210"
	)
	groups := func(pairs string) string {
		return `{"groupId":"sg-0123456789abcdef0","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":5432,"toPort":5432,` +
			`"groups":{"items":[` + pairs + `]},"ipRanges":{},"ipv6Ranges":{},"prefixListIds":{}}]}}`
	}
	pair := func(owner string) string {
		if owner == "" {
			return `{"groupId":"` + peer + `","description":"app tier"}`
		}
		return `{"userId":"` + owner + `","groupId":"` + peer + `","description":"app tier"}`
	}
	ruleSet := func(owner string) string {
		return `{"_return":true,"securityGroupRuleSet":{"items":[{"groupOwnerId":"111122223333","groupId":"sg-0123456789abcdef0",` +
			`"securityGroupRuleId":"sgr-0aaaaaaaaaaaaaaa1","isEgress":false,"ipProtocol":"tcp","fromPort":5432,"toPort":5432,` +
			`"referencedGroupInfo":{"userId":"` + owner + `","groupId":"` + peer + `"},"description":"app tier"}]}}`
	}
	const revokedSet = `{"_return":true,"revokedSecurityGroupRuleSet":{"items":[{"groupId":"sg-0123456789abcdef0",` +
		`"securityGroupRuleId":"sgr-0aaaaaaaaaaaaaaa1","isEgress":false,"ipProtocol":"tcp","fromPort":5432,"toPort":5432,"referencedGroupId":"` + peer + `"}]}}`
	withOwner := `'[{"IpProtocol":"tcp","FromPort":5432,"ToPort":5432,"UserIdGroupPairs":[{"GroupId":"` + peer + `","UserId":"` + other + `"}]}]'`
	cases := []struct {
		name    string
		rec     []byte
		owner   string // the rule's ReferencedGroupOwnerID
		command string // exact; "" for none
		noteHas string // "" for no note
	}{
		{"authorize: owner in the request, no rule ids in the response",
			trail("AuthorizeSecurityGroupIngress", groups(pair(other)), `{"_return":true}`, ""), other,
			"aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0123456789abcdef0 --ip-permissions " + withOwner, ""},
		{"authorize: owner only in the response's referencedGroupInfo",
			trail("AuthorizeSecurityGroupIngress", groups(pair("")), ruleSet(other), ""), other,
			"aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0123456789abcdef0 --security-group-rule-ids sgr-0aaaaaaaaaaaaaaa1", ""},
		{"authorize: a group of the same account names no owner",
			trail("AuthorizeSecurityGroupIngress", groups(pair("")), ruleSet("111122223333"), ""), "",
			"aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0123456789abcdef0 --security-group-rule-ids sgr-0aaaaaaaaaaaaaaa1", ""},
		{"revoke: the restore names the owner (the revoked set names the group flat, without it)",
			trail("RevokeSecurityGroupIngress", groups(pair(other)), revokedSet, ""), other,
			"aws ec2 authorize-security-group-ingress --region eu-west-1 --group-id sg-0123456789abcdef0 --ip-permissions " + withOwner, "without their descriptions"},
		{"authorize: an owner that is not an account id is a note",
			trail("AuthorizeSecurityGroupIngress", groups(pair(`4444555566\u202e66`)), `{"_return":true}`, ""), "4444555566\u202e66",
			"", "is not a 12-digit account id, so no command is given"},
		{"revoke: an owner that is not an account id is a note",
			trail("RevokeSecurityGroupIngress", groups(pair(`444455556666; id`)), revokedSet, ""), "444455556666; id",
			"", "is not a 12-digit account id, so no command is given"},
		{"legacy flat form: sourceSecurityGroupOwnerId",
			trail("AuthorizeSecurityGroupIngress", `{"groupId":"sg-0123456789abcdef0","sourceSecurityGroupName":"app","sourceSecurityGroupOwnerId":"`+other+`"}`, `{"_return":true}`, ""), other,
			"", "does not hold everything an exact undo needs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := parseOne(t, c.rec)
			if f == nil || len(f.Rules) != 1 {
				t.Fatalf("want one rule, got %+v", f)
			}
			r := f.Rules[0]
			// Every rule here existed: a revoke's must match its revoked rule.
			if r.ReferencedGroupID == "" || r.ReferencedGroupOwnerID != c.owner || r.Unmatched {
				t.Errorf("rule %+v: want a group of owner %q, matched", r, c.owner)
			}
			if f.Undo.Command != c.command {
				t.Errorf("command\n got %q\nwant %q", f.Undo.Command, c.command)
			}
			if (c.noteHas == "") != (f.Undo.Note == "") || !strings.Contains(f.Undo.Note, c.noteHas) {
				t.Errorf("note %q, want one containing %q", f.Undo.Note, c.noteHas)
			}
		})
	}
}
