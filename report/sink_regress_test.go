package report

// Regression tests of the chat format and the Security Hub sink: each
// reproduces a problem a red-team review of issue 13 found (now fixed),
// and fails if it returns.

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sgwatch/sgwatch/detect"
)

func rtChat(t *testing.T, f detect.Finding) (chat, any) {
	t.Helper()
	n, err := Render(f, Chat)
	if err != nil {
		t.Fatal(err)
	}
	var c chat
	var v any
	if err := json.Unmarshal([]byte(n.Body), &c); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(n.Body), &v)
	return c, v
}

// TestRegressChatSummaryTooLong: the summary is chatText(subject) and is
// never cut; "&" (allowed in a VPC security group's name) becomes "&amp;",
// so a group named with ampersands makes a summary far over the 150
// characters of schema/chat.schema.json (and of Slack's header). The title
// is cut, but mid-entity ("&am…").
func TestRegressChatSummaryTooLong(t *testing.T) {
	sch := compileChatSchema(t)
	f := wide(1)
	f.SecurityGroup.Name = strings.Repeat("&", 100)
	c, v := rtChat(t, f)
	if err := sch.Validate(v); err != nil {
		t.Errorf("the chat notification of a group named %q breaks the schema: %v", f.SecurityGroup.Name[:10]+"…", err)
	}
	if n := utf8.RuneCountInString(c.Metadata.Summary); n > chatTitle {
		t.Errorf("summary of %d characters (limit %d): %q", n, chatTitle, c.Metadata.Summary)
	}
	if regexp.MustCompile(`&[a-z]*…$`).MatchString(c.Content.Title) {
		t.Errorf("title cut inside an entity: %q", c.Content.Title)
	}
}

// TestRegressChatBareDomainLinks: "://" is defanged, but a bare domain is
// not: Slack and Teams (GFM "www." autolinks) link it. A role session name
// or IAM user name may be "www.aws-security-check.com"; it reaches the
// next steps as plain text ("Confirm with www.… that they made this
// change"), where it becomes a link in the alert.
func TestRegressChatBareDomainLinks(t *testing.T) {
	f := wide(1)
	f.Actor = detect.Actor{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/dev/www.aws-security-check.com",
		AccountID: "111122223333", CredentialType: detect.Temporary, AccessKeyID: "ASIAEXAMPLE"}
	f.SecurityGroup.Name = "www.evil.example"
	c, _ := rtChat(t, f)
	all := append([]string{c.Content.Title, c.Content.Description, c.Metadata.Summary}, c.Content.NextSteps...)
	for _, s := range all {
		outside := codeSpan.ReplaceAllString(s, "")
		for _, l := range links(f) {
			outside = strings.ReplaceAll(outside, l.url, "")
		}
		if m := regexp.MustCompile(`(?i)www\.[a-z0-9-]+\.[a-z]{2,}`).FindString(outside); m != "" {
			t.Errorf("a bare domain %q outside code, which Slack and Teams autolink: %q", m, s)
		}
	}
}

// TestRegressChatContextUndo: additionalContext.undo is run through the
// plain-text look-alikes, so an undo with --ip-permissions (JSON with [ ])
// is no longer a working command: "'［{…}］'". A filter or custom action
// that reads it gets a broken command, while nextSteps shows it whole.
func TestRegressChatContextUndo(t *testing.T) {
	f := wide(1)
	cmd := `aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0123456789abcdef0 --ip-permissions '[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]'`
	f.Undo = &detect.Undo{Command: cmd, Account: "111122223333"}
	c, _ := rtChat(t, f)
	if got, ok := c.Metadata.AdditionalContext["undo"]; ok && got != cmd {
		t.Errorf("additionalContext.undo is not the command:\n got %s\nwant %s", got, cmd)
	}
}

// TestRegressChatDescriptionCut: when the fixed lines (who, where, when)
// are long after the entities expand them ("&" is five characters), the
// description is cut at 3000 characters in the middle of a code span: the
// last line holds an unclosed "`" and the console links are lost.
func TestRegressChatDescriptionCut(t *testing.T) {
	f := wide(3)
	amp := strings.Repeat("&", 300)
	f.Actor.ARN, f.Actor.SourceIP, f.Actor.AccessKeyID = amp, amp, amp
	f.Event.AccountName, f.SecurityGroup.VPCID, f.Event.Time = amp, amp, amp
	c, _ := rtChat(t, f)
	for i, line := range strings.Split(c.Content.Description, "\n") {
		if strings.Count(line, "`")%2 != 0 {
			t.Errorf("description line %d has an unclosed code span: %.80q…", i, line)
		}
	}
	if !strings.Contains(c.Content.Description, "#SecurityGroup:groupId=") {
		t.Errorf("the security group's console link was cut off")
	}
}

// TestRegressChatThreadBuriesCritical: threadId is the group id for every
// finding, whatever its severity or kind. With the channel preference
// Chatbot documents for threads ("notification updates in threads"), a
// later notification with a known threadId is posted as a reply in the
// existing thread, not in the channel: an attacker who first makes an
// informational change to a group (a description edit, a dry run) gets
// their later world-open critical change on that group posted inside an
// old thread of noise.
func TestRegressChatThreadBuriesCritical(t *testing.T) {
	noise := wide(1)
	noise.Severity, noise.Event.Name, noise.Outcome = detect.Info, "UpdateSecurityGroupRuleDescriptionsIngress", detect.Succeeded
	critical := wide(1)
	critical.Severity = detect.Critical
	a, _ := rtChat(t, noise)
	b, _ := rtChat(t, critical)
	if a.Metadata.ThreadID != "" && a.Metadata.ThreadID == b.Metadata.ThreadID {
		t.Errorf("an informational and a critical notification share thread %q: the critical one is posted as a reply in the noise's thread", a.Metadata.ThreadID)
	}
}
