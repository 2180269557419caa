package handler

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sgwatch/sgwatch/report"
)

// TestAccountNamesConfig: ACCOUNT_NAMES is true or false (any case, empty
// for false), anything else stops the start naming the variable, and under
// sam local's local-only mode nothing is looked up.
func TestAccountNamesConfig(t *testing.T) {
	cases := []struct {
		name  string
		env   map[string]string
		names bool
		err   string
	}{
		{"unset", map[string]string{"SNS_TOPIC_ARN": topic}, false, ""},
		{"true", map[string]string{"SNS_TOPIC_ARN": topic, "ACCOUNT_NAMES": "true"}, true, ""},
		{"TRUE with blanks", map[string]string{"SNS_TOPIC_ARN": topic, "ACCOUNT_NAMES": " TRUE "}, true, ""},
		{"false", map[string]string{"SNS_TOPIC_ARN": topic, "ACCOUNT_NAMES": "false"}, false, ""},
		{"yes", map[string]string{"SNS_TOPIC_ARN": topic, "ACCOUNT_NAMES": "yes"}, false, `ACCOUNT_NAMES "yes": want true or false`},
		{"1", map[string]string{"SNS_TOPIC_ARN": topic, "ACCOUNT_NAMES": "1"}, false, `ACCOUNT_NAMES "1": want true or false`},
		{"sam local, no lookups", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": "Topic", "ACCOUNT_NAMES": "true"}, false, ""},
		{"sam local, real topic", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": topic, "ACCOUNT_NAMES": "true"}, true, ""},
		{"sam local, bad value still refused", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": "Topic", "ACCOUNT_NAMES": "on"}, false, `ACCOUNT_NAMES "on"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ConfigFromEnv(func(k string) string { return c.env[k] }, time.Now())
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil || cfg.AccountNames != c.names {
				t.Errorf("config %+v, %v; want account names %v", cfg, err, c.names)
			}
		})
	}
}

// fakeNamer names accounts from names, or notes note, and records the ids
// it was asked for.
type fakeNamer struct {
	names map[string]string
	note  string
	mu    sync.Mutex
	asked []string
}

func (f *fakeNamer) AccountName(_ context.Context, id string) (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, id)
	return f.names[id], f.note
}

// TestForwardedEventPublishesMemberAccount: the function runs in the
// central account's Region (us-east-1 here); an event forwarded from member
// account 111111111111 in eu-west-1 publishes a notification that names the
// member account and its Region everywhere, and the account's name.
func TestForwardedEventPublishesMemberAccount(t *testing.T) {
	t.Setenv("AWS_DEFAULT_REGION", "us-east-1")
	data, err := os.ReadFile("../detect/testdata/forwarded-member-account.json")
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeSNS{}
	namer := &fakeNamer{names: map[string]string{"111111111111": "prod-payments"}}
	h, _ := newHandler(t, report.Text, fake)
	h = with(h, func(d *Deps) { d.Accounts = namer })
	h.cfg.Region = "us-east-1"
	if err := h.Handle(context.Background(), data); err != nil {
		t.Fatal(err)
	}
	if len(fake.got) != 1 || len(namer.asked) != 1 || namer.asked[0] != "111111111111" {
		t.Fatalf("%d publishes, account names asked for %q", len(fake.got), namer.asked)
	}
	in := fake.got[0]
	if sub := aws.ToString(in.Subject); sub != "[CRITICAL] sg-0aaaabbbbcccc1111 modified by deployer in 111111111111/eu-west-1" {
		t.Errorf("subject %q", sub)
	}
	for k, v := range map[string]string{"accountId": "111111111111", "region": "eu-west-1"} {
		if got := aws.ToString(in.MessageAttributes[k].StringValue); got != v {
			t.Errorf("attribute %s = %q, want %q", k, got, v)
		}
	}
	msg := aws.ToString(in.Message)
	for _, want := range []string{
		"\n  Account:        111111111111 (prod-payments)\n  Region:         eu-west-1\n",
		"--region eu-west-1 --group-id sg-0aaaabbbbcccc1111",
		"(run with credentials for account 111111111111; check yours with: aws sts get-caller-identity)",
		"\nLinks (sign in to account 111111111111):\n  CloudTrail:     https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "us-east-1") {
		t.Errorf("message names the function's Region:\n%s", msg)
	}
}

// TestAccountNameFailureIsANote: a lookup that fails never holds the
// notification back; it is a note.
func TestAccountNameFailureIsANote(t *testing.T) {
	fake := &fakeSNS{}
	h, _ := newHandler(t, report.Text, fake)
	h = with(h, func(d *Deps) { d.Accounts = &fakeNamer{note: "account name: DescribeAccount timed out"} })
	if err := h.Handle(context.Background(), event(t, "authorize-ingress-world-ssh")); err != nil {
		t.Fatal(err)
	}
	if len(fake.got) != 1 {
		t.Fatalf("%d publishes, want 1", len(fake.got))
	}
	msg := aws.ToString(fake.got[0].Message)
	if !strings.Contains(msg, "\nNotes:\n  - account name: DescribeAccount timed out\n") || !strings.Contains(msg, "\n  Account:        111122223333\n") {
		t.Errorf("message:\n%s", msg)
	}
}
