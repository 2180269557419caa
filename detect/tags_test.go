package detect

import (
	"fmt"
	"strings"
	"testing"
)

// TestTagChange: a CreateTags or DeleteTags call is sgwatch's only when it
// sets or removes a tag whose key begins sgwatch: on a security group or
// rule; setting sgwatch:public on a group is medium, naming the ports it
// authorises and the sensitive ones it cannot; a value sgwatch does not
// accept, a removal, a rule only, or another sgwatch tag is low; record
// text (a key) never reaches a reason; the undo deletes the keys set.
func TestTagChange(t *testing.T) {
	req := func(resources []string, tags ...string) string {
		var rs, ts []string
		for _, r := range resources {
			rs = append(rs, `{"resourceId":"`+r+`"}`)
		}
		ts = append(ts, tags...)
		return `{"resourcesSet":{"items":[` + strings.Join(rs, ",") + `]},"tagSet":{"items":[` + strings.Join(ts, ",") + `]}}`
	}
	tag := func(k, v string) string { return fmt.Sprintf(`{"key":%q,"value":%q}`, k, v) }
	sg := []string{"sg-0123456789abcdef0"}
	many := []string{}
	for i := range 25 {
		many = append(many, fmt.Sprintf("sg-0123456789abcd%03x", i))
	}
	for _, c := range []struct {
		name, call, params string
		sev                Severity // "": no finding
		reason, not, undo  string
		more               int
	}{
		{"public port set", "CreateTags", req(sg, tag("sgwatch:public", "tcp/8443"), tag("team", "web")), Medium,
			"sets tag sgwatch:public on sg-0123456789abcdef0: authorises tcp/8443 to be open", "", "aws ec2 delete-tags --region eu-west-1 --resources sg-0123456789abcdef0 --tags Key=sgwatch:public", 0},
		{"a sensitive port named", "CreateTags", req(sg, tag("sgwatch:public", "tcp/22,tcp/443")), Medium, "sgwatch never authorises those", "", "", 0},
		{"a value not accepted", "CreateTags", req(sg, tag("sgwatch:public", "tcp/1-65535")), Low, "authorises nothing", "authorises tcp", "", 0},
		{"removed", "DeleteTags", req(sg, `{"key":"sgwatch:public"}`), Low, "removes tag sgwatch:public from sg-0123456789abcdef0", "", "", 0},
		{"on a rule only", "CreateTags", req([]string{"sgr-0123456789abcdef0"}, tag("sgwatch:public", "tcp/443")), Low, "on rules only", "", "", 0},
		{"another sgwatch tag, hostile key", "CreateTags", req(sg, tag("sgwatch:<!channel> https://evil.example", "x")), Low, "an sgwatch tag that sgwatch does not read", "evil", "", 0},
		{"no sgwatch tag", "CreateTags", req(sg, tag("Name", "web")), "", "", "", "", 0},
		{"an instance's tag", "CreateTags", req([]string{"i-0123456789abcdef0"}, tag("sgwatch:public", "tcp/443")), "", "", "", "", 0},
		{"many groups", "CreateTags", req(many, tag("sgwatch:public", "tcp/443")), Medium, "and 16 more", "", "", 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := parseOne(t, trail(c.call, c.params, `{"_return":true}`, ""))
			if c.sev == "" {
				if f != nil {
					t.Fatalf("a finding (%s %q), want none: not sgwatch's tag", f.Severity, f.Reasons)
				}
				return
			}
			if f == nil {
				t.Fatal("no finding")
			}
			if f.Severity != c.sev || !anyContains(f.Reasons, c.reason) || c.not != "" && anyContains(f.Reasons, c.not) {
				t.Errorf("%s %q; want %s with %q, without %q", f.Severity, f.Reasons, c.sev, c.reason, c.not)
			}
			if c.undo != "" && (f.Undo == nil || f.Undo.Command != c.undo) {
				t.Errorf("undo %+v, want %q", f.Undo, c.undo)
			}
			if f.Tags.More != c.more {
				t.Errorf("%d more resources, want %d", f.Tags.More, c.more)
			}
			if f.SecurityGroup.ID != "" && f.SecurityGroup.ID != f.Tags.Resources[0] {
				t.Errorf("group %s, resources %q", f.SecurityGroup.ID, f.Tags.Resources)
			}
		})
	}
}

// TestCreatedWithTags: a group created with an sgwatch:public tag (its tag
// specifications, in either spelling) is reported as the tag change it
// also is; one created without is as before.
func TestCreatedWithTags(t *testing.T) {
	spec := `{"groupName":"web","groupDescription":"web","tagSpecifications":{"items":[{"resourceType":"security-group","tags":{"items":[{"key":"sgwatch:public","value":"tcp/8080"}]}}]}}`
	set := `{"groupName":"web","groupDescription":"web","tagSpecificationSet":{"items":[{"resourceType":"security-group","tags":[{"key":"sgwatch:public","value":"tcp/8080"}]}]}}`
	plain := `{"groupName":"web","groupDescription":"web","tagSpecifications":{"items":[{"resourceType":"security-group","tags":{"items":[{"key":"team","value":"web"}]}}]}}`
	resp := `{"_return":true,"groupId":"sg-0123456789abcdef0"}`
	for _, c := range []struct {
		name, params string
		sev          Severity
		reason       string
	}{
		{"tagSpecifications", spec, Medium, "sets tag sgwatch:public on sg-0123456789abcdef0: authorises tcp/8080"},
		{"tagSpecificationSet", set, Medium, "authorises tcp/8080"},
		{"no sgwatch tag", plain, Low, "creates a security group"},
	} {
		f := parseOne(t, trail("CreateSecurityGroup", c.params, resp, ""))
		if f == nil || f.Severity != c.sev || !anyContains(f.Reasons, c.reason) || (c.sev == Medium) != (f.Tags != nil) {
			t.Errorf("%s: %+v", c.name, f)
		}
	}
	// The id not in the record: the tag is still reported, on the new group.
	f := parseOne(t, trail("CreateSecurityGroup", spec, `{"_return":true}`, ""))
	if f == nil || f.Severity != Medium || !anyContains(f.Reasons, "on the new group") {
		t.Errorf("no group id: %+v", f)
	}
}
