package report

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// forwardedFinding is the finding of an event a member account
// (111111111111, eu-west-1) forwarded to a central bus, parsed where the
// environment says another Region, as the central function's does.
func forwardedFinding(t *testing.T) detect.Finding {
	t.Helper()
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_DEFAULT_REGION", "us-east-1")
	data, err := os.ReadFile("../detect/testdata/forwarded-member-account.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := detect.Parse(data, detect.Scoring{})
	fs := b.Findings
	if err != nil || len(fs) != 1 {
		t.Fatalf("Parse: %d findings, %v", len(fs), err)
	}
	return fs[0]
}

// TestForwardedEventNamesMemberAccount: every part of the notification of
// a forwarded event names the member account and its Region: the subject,
// the attributes, the body, the console links (and the account to sign in
// to) and the undo (and the account whose credentials it needs).
func TestForwardedEventNamesMemberAccount(t *testing.T) {
	f := forwardedFinding(t)
	n, err := Render(f, Text)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(n.Subject, " in 111111111111/eu-west-1") {
		t.Errorf("subject %q does not name the member account and Region", n.Subject)
	}
	attrs := map[string]string{}
	for _, a := range n.Attributes {
		attrs[a.Name] = a.Value
	}
	if attrs["accountId"] != "111111111111" || attrs["region"] != "eu-west-1" {
		t.Errorf("attributes accountId %q region %q", attrs["accountId"], attrs["region"])
	}
	for _, want := range []string{
		"\n  Account:        111111111111\n  Region:         eu-west-1\n",
		"\nUndo:\n  aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0aaaabbbbcccc1111 --security-group-rule-ids sgr-0aaaabbbbcccc2222\n" +
			"  (run with credentials for account 111111111111; check yours with: aws sts get-caller-identity)\n",
		"\nLinks (sign in to account 111111111111):\n" +
			"  CloudTrail:     https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/0000f0a1-5c1e-4d6b-9a2f-3e4b5c6d7e8f\n" +
			"  Security group: https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#SecurityGroup:groupId=sg-0aaaabbbbcccc1111\n",
	} {
		if !strings.Contains(n.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, n.Body)
		}
	}
	if strings.Contains(n.Body, "us-east-1") || strings.Contains(n.Subject, "us-east-1") {
		t.Error("the notification names the function's Region")
	}

	js, err := Render(f, JSON)
	if err != nil {
		t.Fatal(err)
	}
	var back detect.Finding
	if err := json.Unmarshal([]byte(js.Body), &back); err != nil {
		t.Fatal(err)
	}
	if back.Event.AccountID != "111111111111" || back.Event.Region != "eu-west-1" || back.Undo == nil || back.Undo.Account != "111111111111" {
		t.Errorf("JSON event %+v, undo %+v", back.Event, back.Undo)
	}
	validate(t, compileSchema(t), js.Body)
}

// TestAccountName: the account's name from Organizations is in the body's
// Where section and the JSON, not in the subject (whose room goes to the
// group and the actor, and which stays free of text the organization
// chooses), nor in the attributes.
func TestAccountName(t *testing.T) {
	f := forwardedFinding(t)
	plain, err := Render(f, Text)
	if err != nil {
		t.Fatal(err)
	}
	f.Event.AccountName = "prod-payments"
	n, err := Render(f, Text)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(n.Body, "\n  Account:        111111111111 (prod-payments)\n") {
		t.Errorf("body lacks the account's name:\n%s", n.Body)
	}
	if n.Subject != plain.Subject || len(n.Attributes) != len(plain.Attributes) {
		t.Errorf("the name changed the subject %q or the attributes", n.Subject)
	}
	js, err := Render(f, JSON)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.Body, `"accountId":"111111111111","accountName":"prod-payments"`) {
		t.Errorf("JSON body lacks the account's name: %s", js.Body)
	}
	validate(t, compileSchema(t), js.Body)
}

// TestHostileAccountName: an account name is text the organization's
// administrators (or whoever controls a member account's name) choose:
// line breaks, bidi overrides and invisible characters are cleaned in the
// body and the JSON, and the subject never shows it.
func TestHostileAccountName(t *testing.T) {
	f := forwardedFinding(t)
	plain, err := Render(f, Text)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(plain.Body, "\n")
	sch := compileSchema(t)
	for _, h := range append(hostile, "prod\u202e\u2066yrros\nSeverity: info", "\u3164\u200b") {
		f.Event.AccountName = h
		n, err := Render(f, Text)
		if err != nil {
			t.Fatal(err)
		}
		if n.Subject != plain.Subject {
			t.Errorf("hostile name changed the subject to %q", n.Subject)
		}
		if got := strings.Count(n.Body, "\n"); got != lines {
			t.Errorf("hostile name %q changed the body from %d to %d lines", h[:min(len(h), 20)], lines, got)
		}
		var where string
		for _, l := range strings.Split(n.Body, "\n") {
			if strings.HasPrefix(l, "  Account:        111111111111 (") {
				where = l
			}
		}
		if where == "" || clean.Line(where, len(where)) != where || len([]rune(where)) > maxField+40 {
			t.Errorf("account line %q is missing, unclean or unbounded", where[:min(len(where), 60)])
		}
		js, err := Render(f, JSON)
		if err != nil {
			t.Fatal(err)
		}
		var back detect.Finding
		if err := json.Unmarshal([]byte(js.Body), &back); err != nil {
			t.Fatal(err)
		}
		if s := back.Event.AccountName; clean.Line(s, maxField) != s || s == "" {
			t.Errorf("JSON keeps unclean account name %q", s[:min(len(s), 40)])
		}
		validate(t, sch, js.Body)
	}
}

// TestNoAccountToName: without a 12-digit account id the links name no
// account to sign in to, and an undo account that is not an account id
// (however it got into the finding) is neither shown nor in the JSON.
func TestNoAccountToName(t *testing.T) {
	f := forwardedFinding(t)
	for _, bad := range []string{"", "12345", "xxxxxxxxxxxxxxx", "111111111111\n"} {
		f.Event.AccountID = bad
		u := *f.Undo
		u.Account = bad
		f.Undo = &u
		n, err := Render(f, Text)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(n.Body, "\nLinks:\n") || strings.Contains(n.Body, "sign in to account") || strings.Contains(n.Body, "credentials for account") {
			t.Errorf("account %q:\n%s", bad, n.Body)
		}
		js, err := Render(f, JSON)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(js.Body, `"undo":{"command":"aws ec2 revoke-security-group-ingress`) && strings.Contains(js.Body, `"account":`) {
			t.Errorf("account %q: JSON undo names an account: %s", bad, js.Body)
		}
	}
}

// TestUndoAccountKeptWhenCommandLeftOut: when the undo command is dropped
// to fit one message, the account to run a command in stays.
func TestUndoAccountKeptWhenCommandLeftOut(t *testing.T) {
	f := detect.Finding{Undo: &detect.Undo{Command: "aws ec2 x", Account: "111111111111"}}
	if u := withoutUndoCommand(f).Undo; u.Command != "" || u.Note != undoLeftOut || u.Account != "111111111111" {
		t.Errorf("undo %+v", u)
	}
}

func validate(t *testing.T, sch *jsonschema.Schema, body string) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Error(err)
	}
}
