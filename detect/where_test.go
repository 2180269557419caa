package detect

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// forwarded is an event a member account's default bus forwarded to a
// central bus: EventBridge keeps the member's account (111111111111) and
// Region (eu-west-1) in the envelope, and the record names them too.
const forwarded = "testdata/forwarded-member-account.json"

// withEnvelopeAndRecord returns the forwarded event with the envelope's
// account and region and the record's recipientAccountId, awsRegion and
// userIdentity.accountId set as given ("" removes the field).
func withEnvelopeAndRecord(t *testing.T, envAccount, envRegion, recAccount, recRegion, callerAccount string) []byte {
	t.Helper()
	data, err := os.ReadFile(forwarded)
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	set := func(m map[string]any, k, v string) {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	detail := ev["detail"].(map[string]any)
	set(ev, "account", envAccount)
	set(ev, "region", envRegion)
	set(detail, "recipientAccountId", recAccount)
	set(detail, "awsRegion", recRegion)
	set(detail["userIdentity"].(map[string]any), "accountId", callerAccount)
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestForwardedEventNamesMemberAccount: the finding of a forwarded event
// names the member account and its Region, not those of the function
// (whose environment here says us-east-1), and so does its undo.
func TestForwardedEventNamesMemberAccount(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_DEFAULT_REGION", "us-east-1")
	data, err := os.ReadFile(forwarded)
	if err != nil {
		t.Fatal(err)
	}
	f := parseOne(t, data)
	if f.Event.AccountID != "111111111111" || f.Event.Region != "eu-west-1" {
		t.Fatalf("event names %s/%s, want 111111111111/eu-west-1", f.Event.AccountID, f.Event.Region)
	}
	const cmd = "aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0aaaabbbbcccc1111 --security-group-rule-ids sgr-0aaaabbbbcccc2222"
	if f.Undo == nil || f.Undo.Command != cmd || f.Undo.Account != "111111111111" {
		t.Errorf("undo %+v, want command %q for account 111111111111", f.Undo, cmd)
	}
}

// TestWhereComesFromTheRecord: the record's recipientAccountId and
// awsRegion win over the envelope; the envelope only fills in what a record
// leaves out, and the caller's account is the last resort.
func TestWhereComesFromTheRecord(t *testing.T) {
	cases := []struct {
		name                                               string
		envAccount, envRegion, recAccount, recRegion, call string
		account, region                                    string
	}{
		{"forwarded: envelope and record agree", "111111111111", "eu-west-1", "111111111111", "eu-west-1", "111111111111", "111111111111", "eu-west-1"},
		{"the record wins over the envelope", "222222222222", "us-east-1", "111111111111", "eu-west-1", "333333333333", "111111111111", "eu-west-1"},
		{"a redacted record takes the envelope's", "111111111111", "eu-west-1", "", "", "333333333333", "111111111111", "eu-west-1"},
		{"a bare redacted record takes the caller's account", "", "", "", "eu-west-1", "333333333333", "333333333333", "eu-west-1"},
		{"nothing says", "", "", "", "", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := parseOne(t, withEnvelopeAndRecord(t, c.envAccount, c.envRegion, c.recAccount, c.recRegion, c.call))
			if f.Event.AccountID != c.account || f.Event.Region != c.region {
				t.Errorf("event names %q/%q, want %q/%q", f.Event.AccountID, f.Event.Region, c.account, c.region)
			}
			if f.Undo.Account != c.account {
				t.Errorf("undo account %q, want %q", f.Undo.Account, c.account)
			}
		})
	}
}

// TestUndoAccount: the undo names the account to use exactly when it holds
// a command, in Command or in its note, and the event names a valid account.
func TestUndoAccount(t *testing.T) {
	cases := map[string]bool{ // sample event: whether its undo names the account
		"authorize-ingress-world-ssh":          true, // command
		"revoke-ingress":                       true, // command and note
		"modify-security-group-rules-world-db": true, // a describe command in the note
		"authorize-ingress-duplicate":          true, // a describe command in the note
		"delete-security-group":                false,
		"dry-run":                              false,
		"failed-unauthorized":                  false,
		"revoke-ingress-nothing-matched":       false,
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "events", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			f := parseOne(t, data)
			hasCommand := f.Undo.Command != "" || strings.Contains(f.Undo.Note, "aws ec2 ")
			if hasCommand != want {
				t.Fatalf("undo %+v: has a command %v, want %v", f.Undo, hasCommand, want)
			}
			switch {
			case want && f.Undo.Account != "111122223333":
				t.Errorf("undo account %q, want 111122223333", f.Undo.Account)
			case !want && f.Undo.Account != "":
				t.Errorf("undo account %q for an undo with nothing to run", f.Undo.Account)
			}
		})
	}
}

// TestUndoAccountOnlyFromAnAccountID: an account id not of 12 digits is
// never named, and the command is built all the same.
func TestUndoAccountOnlyFromAnAccountID(t *testing.T) {
	for _, bad := range []string{"", "11112222333", "1111222233334", "11112222333a", "111122223333\n", " 111122223333", "xxxxxxxxxxxx", "１１１１２２２２３３３３"} {
		f := &Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: "AuthorizeSecurityGroupIngress", Region: "us-east-1", AccountID: bad},
			SecurityGroup: SecurityGroup{ID: "sg-0123456789abcdef0"},
			Rules:         []Rule{rule(Ingress, "tcp", 22, 22, "0.0.0.0/0")}}
		u := undo(f, byName[f.Event.Name], true)
		if u.Account != "" || u.Command == "" {
			t.Errorf("account %q: undo %+v, want a command and no account", bad, u)
		}
	}
}

// TestUndoAccountWhenTheCommandIsTooLong: the note that replaces a command
// too long to send still holds a command, so it names the account.
func TestUndoAccountWhenTheCommandIsTooLong(t *testing.T) {
	f := &Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: "AuthorizeSecurityGroupIngress", Region: "us-east-1", AccountID: "111111111111"},
		SecurityGroup: SecurityGroup{ID: "sg-0123456789abcdef0"}}
	for i := range 2000 {
		f.Rules = append(f.Rules, rule(Ingress, "tcp", i, i, "0.0.0.0/0"))
	}
	u := undo(f, byName[f.Event.Name], true)
	if u.Command != "" || !strings.Contains(u.Note, "aws ec2 describe-security-group-rules --region us-east-1") || u.Account != "111111111111" {
		t.Errorf("undo %+v", u)
	}
}
