package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets the test binary act as sgwatch itself, so that the real
// entry point is exercised in both modes.
func TestMain(m *testing.M) {
	if os.Getenv("SGWATCH_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func sgwatch(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), append([]string{"SGWATCH_RUN_MAIN=1"}, env...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestCommandLineMode(t *testing.T) {
	out, errs, code := sgwatch(t, []string{"AWS_LAMBDA_RUNTIME_API="}, "events/authorize-ingress-world-ssh.json")
	if code != 0 || !strings.HasPrefix(out, "Subject: [CRITICAL] ") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestLambdaModeFailsAtStartOnBadConfiguration(t *testing.T) {
	const topic = "SNS_TOPIC_ARN=arn:aws:sns:eu-west-1:111122223333:t"
	for _, c := range []struct {
		env  []string
		want string
	}{
		{[]string{"SNS_TOPIC_ARN="}, "sgwatch: configuration: SNS_TOPIC_ARN is not set"},
		{[]string{"SNS_TOPIC_ARN=arn:aws:sqs:eu-west-1:111122223333:q"}, "not an SNS topic ARN"},
		{[]string{topic, "MIN_SEVERITY=urgent"}, `sgwatch: configuration: MIN_SEVERITY: unknown severity "urgent"`},
		{[]string{topic, "SUPPRESS=[{\"group\":\"sg-0123456789abcdef0\",\"reason\":\"x\"}]"}, "sgwatch: configuration: SUPPRESS: rule 0 has no until"},
		{[]string{topic, "ENRICH=1"}, `sgwatch: configuration: ENRICH "1": want true or false`},
		// AWS_SAM_LOCAL=true in a deployed function: an empty or wrong topic
		// stops the start, not only sam local's logical id engages local mode.
		{[]string{"AWS_SAM_LOCAL=true", "SNS_TOPIC_ARN="}, `sgwatch: configuration: SNS_TOPIC_ARN is not set: set it to the ARN of the topic to publish to; AWS_SAM_LOCAL is true, but local mode needs "Topic"`},
		{[]string{"AWS_SAM_LOCAL=true", "SNS_TOPIC_ARN=arn:aws:sns:eu-west-1:111122223333"}, "not an SNS topic ARN"},
		// Policy a caller could turn against the team.
		{[]string{topic, "TRUSTED_SERVICES=cloudformation.amazonaws.com"}, `sgwatch: configuration: TRUSTED_SERVICES: "cloudformation.amazonaws.com" names no principal`},
		{[]string{topic, "TRUSTED_PRINCIPALS=arn:aws:sts::111122223333:federated-user/deploy"}, "names a federated user"},
	} {
		_, errs, code := sgwatch(t, append([]string{"AWS_LAMBDA_RUNTIME_API=127.0.0.1:9"}, c.env...))
		if code != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stderr %q, want exit 1 and %q", c.env, code, errs, c.want)
		}
	}
}
