package report

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/detect"
)

func compileChatSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	return schemaFile(t, "../schema/chat.schema.json")
}

// chatFindings are every finding of every sample and of the sweep's
// goldens.
func chatFindings(t *testing.T) map[string]detect.Finding {
	t.Helper()
	all := map[string]detect.Finding{}
	for _, s := range withFindings(t) {
		for i, f := range s.findings {
			all[s.name+"#"+string(rune('0'+i%10))] = f
		}
	}
	for name, fs := range sweepFindings(t) {
		for i, f := range fs {
			all[name+"#"+string(rune('0'+i%10))] = f
		}
	}
	return all
}

// TestChatSchema: the chat notification of every sample and sweep finding
// follows schema/chat.schema.json (the custom notification's schema and
// sgwatch's limits), keeps the attributes, and carries the group as its
// thread, unless it is critical.
func TestChatSchema(t *testing.T) {
	sch := compileChatSchema(t)
	all := chatFindings(t)
	if len(all) < 40 {
		t.Fatalf("only %d findings", len(all))
	}
	for name, f := range all {
		n, err := Render(f, Chat)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var v any
		if err := json.Unmarshal([]byte(n.Body), &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s: %v\n%s", name, err, n.Body)
		}
		if want := attributes(f); len(n.Attributes) != len(want) || n.Subject != subject(f) {
			t.Errorf("%s: attributes or subject differ from the other formats", name)
		}
		var c chat
		if err := json.Unmarshal([]byte(n.Body), &c); err != nil {
			t.Fatal(err)
		}
		want := f.SecurityGroup.ID
		if !awsid.IsGroupID(want) || f.Severity == detect.Critical || f.SeverityBeforeAutomation == detect.Critical {
			want = "" // a critical finding starts a message of its own
		}
		if c.Metadata.ThreadID != want {
			t.Errorf("%s: thread %q, want %q", name, c.Metadata.ThreadID, want)
		}
	}
}

// Markdown that would do something in Slack, Teams or Chime.
var (
	slackControl = regexp.MustCompile(`<[!@#]|<https?:|<mailto:`)
	mdLink       = regexp.MustCompile(`\]\(|\[[^\]]*\]\(`)
	bareURL      = regexp.MustCompile(`(?i)(https?|ftp|javascript|data)://`)
	codeSpan     = regexp.MustCompile("`[^`\n]*`")
)

// TestChatHostile: text an attacker controls (group names, descriptions,
// tags, user agents, user names, rule descriptions, error messages) forms
// no mention, link or formatting in any field of the chat notification,
// and no code span is closed early.
func TestChatHostile(t *testing.T) {
	const evil = "<!channel> <@U12345> @here <https://evil.example|click> [click](https://evil.example) `rm -rf` *bold* _it_ ~s~ # h | t http://evil.example/x?a=1&b=2 \u202egnp.exe \u200b\n\\`"
	f := wide(5)
	hostileEverywhere(&f, evil)
	f.Action, f.Outcome, f.Severity, f.SeverityBeforeAutomation = detect.Modify, detect.Succeeded, detect.Critical, ""
	f.Actor.CredentialType = detect.Temporary
	f.Undo = &detect.Undo{Command: "aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0123456789abcdef0 --security-group-rule-ids sgr-0123456789abcdef0", Account: "111122223333"}
	f.Event.Region, f.Event.AccountID, f.SecurityGroup.ID = "eu-west-1", "111122223333", "sg-0123456789abcdef0"
	f.Event.ID = "00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f"
	for _, mk := range []func(*detect.Finding){
		func(*detect.Finding) {},
		func(f *detect.Finding) {
			f.Action, f.Sweep = detect.Exposure, &detect.Sweep{Key: evil, FoundAt: evil, FirstSeen: evil}
		},
	} {
		g := f
		mk(&g)
		n, err := Render(g, Chat)
		if err != nil {
			t.Fatal(err)
		}
		var c chat
		if err := json.Unmarshal([]byte(n.Body), &c); err != nil {
			t.Fatal(err)
		}
		fields := map[string]string{"title": c.Content.Title, "description": c.Content.Description, "summary": c.Metadata.Summary, "id": c.ID, "thread": c.Metadata.ThreadID}
		for i, s := range c.Content.NextSteps {
			fields["nextSteps"+string(rune('0'+i))] = s
		}
		for i, s := range c.Content.Keywords {
			fields["keywords"+string(rune('0'+i))] = s
		}
		for k, v := range c.Metadata.AdditionalContext {
			fields["context."+k] = v
		}
		for name, v := range fields {
			// The console links sgwatch builds from validated values are the
			// only URLs, each on its own labelled line.
			rest := v
			for _, l := range links(g) {
				rest = strings.ReplaceAll(rest, l.url, "")
			}
			for _, bad := range []*regexp.Regexp{slackControl, bareURL} {
				if m := bad.FindString(rest); m != "" {
					t.Errorf("%s holds %q: %q", name, m, v)
				}
			}
			for _, bad := range []string{"@here", "@U12345", "\u202e", "\u200b", "\n\\"} {
				if strings.Contains(v, bad) {
					t.Errorf("%s holds %q: %q", name, bad, v)
				}
			}
			// Outside code spans (where no markdown applies), no link and
			// no formatting.
			outside := codeSpan.ReplaceAllString(rest, "")
			if m := mdLink.FindString(outside); m != "" {
				t.Errorf("%s holds a link %q outside code: %q", name, m, v)
			}
			for _, bad := range []string{"*bold*", "_it_", "~s~"} {
				if strings.Contains(outside, bad) {
					t.Errorf("%s holds %q outside code: %q", name, bad, v)
				}
			}
			for i, line := range strings.Split(v, "\n") {
				if strings.Count(line, "`")%2 != 0 {
					t.Errorf("%s line %d has an unclosed code span: %q", name, i, line)
				}
				if strings.HasPrefix(strings.TrimSpace(line), "#") || strings.HasPrefix(strings.TrimSpace(line), "|") {
					t.Errorf("%s line %d starts a heading or table: %q", name, i, line)
				}
			}
		}
		if !strings.Contains(c.Content.Description, "＠here") || !strings.Contains(c.Content.Description, "&lt;!channel&gt;") {
			t.Errorf("the hostile text is not shown, made inert:\n%s", c.Content.Description)
		}
	}
}

// TestChatFits: a finding too large for the description keeps the first
// rules and reasons, counts the rest, and stays within every limit.
func TestChatFits(t *testing.T) {
	sch := compileChatSchema(t)
	f := wide(1500)
	n, err := Render(f, Chat)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal([]byte(n.Body), &v); err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Fatalf("%v", err)
	}
	var c chat
	json.Unmarshal([]byte(n.Body), &c)
	if !strings.Contains(c.Content.Description, "more rules") || !strings.Contains(c.Content.Description, "*Where*") {
		t.Errorf("the description does not count the rules left out, or lost its end:\n%s", c.Content.Description)
	}
}

// Regressions in the chat format and the Security Hub sink: each
// reproduces a problem a red-team review of issue 13 found (now fixed),
// and fails if it returns.

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

// TestChatSummaryTooLong: the summary is chatText(subject) and is
// never cut; "&" (allowed in a VPC security group's name) becomes "&amp;",
// so a group named with ampersands makes a summary far over the 150
// characters of schema/chat.schema.json (and of Slack's header). The title
// is cut, but mid-entity ("&am…").
func TestChatSummaryTooLong(t *testing.T) {
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

// TestChatBareDomainLinks: "://" is defanged, but a bare domain is
// not: Slack and Teams (GFM "www." autolinks) link it. A role session name
// or IAM user name may be "www.aws-security-check.com"; it reaches the
// next steps as plain text ("Confirm with www.… that they made this
// change"), where it becomes a link in the alert.
func TestChatBareDomainLinks(t *testing.T) {
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

// TestChatContextUndo: additionalContext.undo is run through the
// plain-text look-alikes, so an undo with --ip-permissions (JSON with [ ])
// is no longer a working command: "'［{…}］'". A filter or custom action
// that reads it gets a broken command, while nextSteps shows it whole.
func TestChatContextUndo(t *testing.T) {
	f := wide(1)
	cmd := `aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0123456789abcdef0 --ip-permissions '[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]'`
	f.Undo = &detect.Undo{Command: cmd, Account: "111122223333"}
	c, _ := rtChat(t, f)
	if got, ok := c.Metadata.AdditionalContext["undo"]; ok && got != cmd {
		t.Errorf("additionalContext.undo is not the command:\n got %s\nwant %s", got, cmd)
	}
}

// TestChatDescriptionCut: when the fixed lines (who, where, when)
// are long after the entities expand them ("&" is five characters), the
// description is cut at 3000 characters in the middle of a code span: the
// last line holds an unclosed "`" and the console links are lost.
func TestChatDescriptionCut(t *testing.T) {
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

// TestChatThreadBuriesCritical: threadId is the group id for every
// finding, whatever its severity or kind. With the channel preference
// Chatbot documents for threads ("notification updates in threads"), a
// later notification with a known threadId is posted as a reply in the
// existing thread, not in the channel: an attacker who first makes an
// informational change to a group (a description edit, a dry run) gets
// their later world-open critical change on that group posted inside an
// old thread of noise.
func TestChatThreadBuriesCritical(t *testing.T) {
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

// TestChatThreadAutomationCritical: world SSH opened by a trusted stack
// role is high after the automation lowered it, but it was critical: it
// starts a message of its own like any critical finding, and is never
// posted as a reply in the group's thread. A change the automation lowered
// from medium to low is threaded as usual.
func TestChatThreadAutomationCritical(t *testing.T) {
	f := automationFinding(t, "cloudformation-service-role-world-ssh")
	if f.Severity != detect.High || f.SeverityBeforeAutomation != detect.Critical {
		t.Fatalf("severity %s before automation %s, want high and critical", f.Severity, f.SeverityBeforeAutomation)
	}
	if c, _ := rtChat(t, f); c.Metadata.ThreadID != "" {
		t.Errorf("critical before automation, threaded under %q", c.Metadata.ThreadID)
	}
	f.Severity, f.SeverityBeforeAutomation = detect.Low, detect.Medium
	if c, _ := rtChat(t, f); c.Metadata.ThreadID != f.SecurityGroup.ID {
		t.Errorf("medium before automation, thread %q, want the group %s", c.Metadata.ThreadID, f.SecurityGroup.ID)
	}
}
