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

// TestLocalOnlyConfig: under sam local (AWS_SAM_LOCAL=true) a topic that is
// not an ARN (SAM's unresolved logical id) means local-only; anywhere else
// the start-up check stays as strict, and a real ARN publishes.
func TestLocalOnlyConfig(t *testing.T) {
	cases := []struct {
		name          string
		env           map[string]string
		local, enrich bool
		err           string
	}{
		{"sam local, logical id", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": "Topic"}, true, false, ""},
		{"sam local, empty", map[string]string{"AWS_SAM_LOCAL": "true"}, true, false, ""},
		{"sam local, no lookups", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": "Topic", "ENRICH": "true"}, true, false, ""},
		{"sam local, real topic", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": topic, "ENRICH": "true"}, false, true, ""},
		{"sam local, bad setting still refused", map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": "Topic", "MIN_SEVERITY": "urgent"}, true, false, "MIN_SEVERITY"},
		{"lambda, logical id", map[string]string{"SNS_TOPIC_ARN": "Topic"}, false, false, `SNS_TOPIC_ARN "Topic" is not an SNS topic ARN`},
		{"lambda, sam local false", map[string]string{"AWS_SAM_LOCAL": "false", "SNS_TOPIC_ARN": "Topic"}, false, false, "is not an SNS topic ARN"},
		{"lambda, empty", map[string]string{}, false, false, "SNS_TOPIC_ARN is not set"},
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
			if err != nil || cfg.LocalOnly != c.local || cfg.Enrich != c.enrich {
				t.Errorf("config %+v, %v; want local %v enrich %v", cfg, err, c.local, c.enrich)
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
