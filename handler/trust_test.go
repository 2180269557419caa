package handler

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sgwatch/sgwatch/report"
)

// TestPolicyCannotBeTurnedAgainstTheTeam runs real-shaped records of the
// ways a caller could use a deployment's policy to quiet its own change:
// a GetFederationToken session named like a trusted federated user (the
// issuer is an IAM user the team never trusted), a role session named like
// automation, and a CloudFormation stack that acts as a developer (no
// service role) or as the trusted stack role. A pattern the caller could
// satisfy is refused at start; a bound trusted service lowers only its
// principal's changes; a change lowered from critical carries
// severityBeforeAutomation, gets past MIN_SEVERITY=critical, and is not
// threaded in chat.
func TestPolicyCannotBeTurnedAgainstTheTeam(t *testing.T) {
	const stackRole = "cloudformation.amazonaws.com=arn:aws:iam::111122223333:role/cfn-deployer"
	until := time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339)
	cases := []struct {
		name, record string
		env          map[string]string
		err          string // the start-up error; "" for none
		severity     string // the published severity attribute
		before       string // the severityBeforeAutomation attribute, "" for none
	}{
		{"trusted federated user refused", "federated-user-world-ssh",
			map[string]string{"TRUSTED_PRINCIPALS": "arn:aws:sts::111122223333:federated-user/deploy"},
			`TRUSTED_PRINCIPALS: "arn:aws:sts::111122223333:federated-user/deploy" names a federated user`, "", ""},
		{"suppressed federated user refused", "federated-user-world-ssh",
			map[string]string{"SUPPRESS": `[{"principal":"arn:aws:sts::111122223333:federated-user/deploy","until":"` + until + `","reason":"broker"}]`},
			`SUPPRESS: rule 0 principal "arn:aws:sts::111122223333:federated-user/deploy" names a federated user`, "", ""},
		{"issuing user named instead, another issuer", "federated-user-world-ssh",
			map[string]string{"TRUSTED_PRINCIPALS": "arn:aws:iam::111122223333:user/broker"}, "", "critical", ""},
		{"issuing user named instead, that issuer", "federated-user-world-ssh",
			map[string]string{"TRUSTED_PRINCIPALS": "arn:aws:iam::111122223333:user/intern", "MIN_SEVERITY": "critical"}, "", "high", "critical"},
		{"session name under any role refused", "assumed-role-session-name-world-ssh",
			map[string]string{"TRUSTED_PRINCIPALS": "arn:aws:sts::111122223333:assumed-role/*terraform"},
			"has text after a * in the role name, which can match the session name", "", ""},
		{"bare trusted service refused", "cloudformation-caller-world-ssh",
			map[string]string{"TRUSTED_SERVICES": "cloudformation.amazonaws.com"},
			`TRUSTED_SERVICES: "cloudformation.amazonaws.com" names no principal`, "", ""},
		{"stack acting as a developer not lowered", "cloudformation-caller-world-ssh",
			map[string]string{"TRUSTED_SERVICES": stackRole}, "", "critical", ""},
		{"stack acting as its role lowered, text", "cloudformation-service-role-world-ssh",
			map[string]string{"TRUSTED_SERVICES": stackRole, "MIN_SEVERITY": "critical"}, "", "high", "critical"},
		{"stack acting as its role lowered, chat", "cloudformation-service-role-world-ssh",
			map[string]string{"TRUSTED_SERVICES": stackRole, "NOTIFICATION_FORMAT": "chat"}, "", "high", "critical"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.env["SNS_TOPIC_ARN"] = topic
			cfg, err := ConfigFromEnv(func(k string) string { return c.env[k] }, time.Now())
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile("../testdata/adversarial/" + c.record + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			fake := &fakeSNS{}
			if err := New(cfg, Deps{SNS: fake, Log: &logs}).Handle(context.Background(), data); err != nil {
				t.Fatal(err)
			}
			if len(fake.got) != 1 {
				t.Fatalf("%d publishes, want 1; log:\n%s", len(fake.got), logs.String())
			}
			attrs := fake.got[0].MessageAttributes
			if got := aws.ToString(attrs["severity"].StringValue); got != c.severity {
				t.Errorf("severity attribute %q, want %q", got, c.severity)
			}
			a, ok := attrs["severityBeforeAutomation"]
			if got := aws.ToString(a.StringValue); got != c.before || ok != (c.before != "") {
				t.Errorf("severityBeforeAutomation attribute %q (present %v), want %q", got, ok, c.before)
			}
			if ok && aws.ToString(a.DataType) != "String" {
				t.Errorf("severityBeforeAutomation has type %q", aws.ToString(a.DataType))
			}
			body := aws.ToString(fake.got[0].Message)
			if cfg.Format == report.Chat && strings.Contains(body, `"threadId"`) {
				t.Errorf("threaded although it was critical:\n%s", body)
			}
		})
	}
}
