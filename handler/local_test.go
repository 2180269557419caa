package handler

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/report"
)

// TestLocalOnlyConfig: local mode engages only under sam local
// (AWS_SAM_LOCAL=true) with the exact value sam local passes for the
// template's topic (its logical id, SAMLocalTopic). A function deployed with
// AWS_SAM_LOCAL=true and an empty or malformed topic fails at start, as any
// other would, instead of writing every critical finding to its log and
// succeeding. Likewise only the table's logical id is dropped under sam
// local; a real table name is kept.
func TestLocalOnlyConfig(t *testing.T) {
	const table = "sgwatch-IdempotencyTable-1A2B3C4D5E6F"
	cases := []struct {
		name          string
		env           map[string]string
		local, enrich bool
		err           string
		tables        string // IdempotencyTable and Sweep.Table, "a,b", when there is no error
	}{
		{"sam local, logical id", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": "Topic"}, true, false, "", ","},
		{"sam local, logical id and tables", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": "Topic", "IDEMPOTENCY_TABLE": "IdempotencyTable", "SWEEP_TABLE": "IdempotencyTable"}, true, false, "", ","},
		{"sam local, no lookups", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": "Topic", "ENRICH": "true"}, true, false, "", ","},
		{"sam local, real topic", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": topic, "ENRICH": "true", "IDEMPOTENCY_TABLE": "IdempotencyTable"}, false, true, "", ","},
		{"sam local, bad setting still refused", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": "Topic", "MIN_SEVERITY": "urgent"}, true, false, "MIN_SEVERITY", ""},
		// AWS_SAM_LOCAL=true in a deployed function: nothing but the
		// logical id engages local mode.
		{"sam local set, empty topic", map[string]string{"AWS_SAM_LOCAL": "true"}, false, false,
			`SNS_TOPIC_ARN is not set: set it to the ARN of the topic to publish to; AWS_SAM_LOCAL is true, but local mode needs "Topic"`, ""},
		{"sam local set, blank topic", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": " "}, false, false, "SNS_TOPIC_ARN is not set", ""},
		{"sam local set, topic name", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": "sgwatch-alerts"}, false, false,
			`SNS_TOPIC_ARN "sgwatch-alerts" is not an SNS topic ARN (want arn:aws:sns:REGION:ACCOUNT:TOPIC); AWS_SAM_LOCAL is true`, ""},
		{"sam local set, other logical id", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": "topic"}, false, false, `SNS_TOPIC_ARN "topic" is not an SNS topic ARN`, ""},
		{"sam local set, malformed ARN", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": "arn:aws:sns:eu-west-1::t"}, false, false, "is not an SNS topic ARN", ""},
		{"sam local set, queue ARN", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": "arn:aws:sqs:eu-west-1:111122223333:q"}, false, false, "is not an SNS topic ARN", ""},
		{"sam local set, real tables kept", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": topic, "IDEMPOTENCY_TABLE": table, "SWEEP_TABLE": table}, false, false, "", table + "," + table},
		{"lambda, logical id", map[string]string{"SNS_TOPIC_ARN": "Topic"}, false, false, `SNS_TOPIC_ARN "Topic" is not an SNS topic ARN`, ""},
		{"lambda, sam local false", map[string]string{"AWS_SAM_LOCAL": "false", "SNS_TOPIC_ARN": "Topic"}, false, false, "is not an SNS topic ARN", ""},
		{"lambda, empty", map[string]string{}, false, false, "SNS_TOPIC_ARN is not set: set it to the ARN of the topic to publish to", ""},
		{"lambda, logical id table kept", map[string]string{"SNS_TOPIC_ARN": topic, "IDEMPOTENCY_TABLE": "IdempotencyTable"}, false, false, "", "IdempotencyTable,"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ConfigFromEnv(func(k string) string { return c.env[k] }, time.Now())
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				if c.env["AWS_SAM_LOCAL"] != "true" && strings.Contains(err.Error(), "AWS_SAM_LOCAL") {
					t.Errorf("error %v speaks of sam local outside it", err)
				}
				return
			}
			if err != nil || cfg.LocalOnly != c.local || cfg.Enrich != c.enrich {
				t.Errorf("config %+v, %v; want local %v enrich %v", cfg, err, c.local, c.enrich)
			}
			if got := cfg.IdempotencyTable + "," + cfg.Sweep.Table; got != c.tables {
				t.Errorf("tables %q, want %q", got, c.tables)
			}
		})
	}
}

// TestLocalOnlyWritesTheNotification: the notification is written exactly
// as it would be published (the golden text between marker lines), a log
// line says nothing was published and how to publish, and no publisher is
// needed.
func TestLocalOnlyWritesTheNotification(t *testing.T) {
	var logs, out bytes.Buffer
	cfg := Config{TopicARN: "Topic", Format: report.Text, LocalOnly: true}
	h := New(cfg, Deps{Log: &logs, Out: &out})
	if err := h.Handle(context.Background(), event(t, "authorize-ingress-world-ssh")); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	golden, err := os.ReadFile("../report/testdata/golden/events_authorize-ingress-world-ssh.txt")
	if err != nil {
		t.Fatal(err)
	}
	if want := localBegin + "\n" + string(golden) + localEnd + "\n"; out.String() != want {
		t.Errorf("output\n%s\nwant\n%s", out.String(), want)
	}
	if !strings.Contains(logs.String(), "sam local: nothing was published") || !strings.Contains(logs.String(), "--parameter-overrides ExistingTopicArn=") {
		t.Errorf("log %s", logs.String())
	}
	// Not a security-group change: nothing written.
	out.Reset()
	if err := h.Handle(context.Background(), event(t, "not-security-group")); err != nil || out.Len() != 0 {
		t.Errorf("not a security-group change: %v, wrote %q", err, out.String())
	}
}
