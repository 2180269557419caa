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

func TestLambdaModeFailsAtStartWithoutTopic(t *testing.T) {
	for _, c := range []struct{ topic, want string }{
		{"", "SNS_TOPIC_ARN is not set"},
		{"arn:aws:sqs:eu-west-1:111122223333:q", "not an SNS topic ARN"},
	} {
		_, errs, code := sgwatch(t, []string{"AWS_LAMBDA_RUNTIME_API=127.0.0.1:9", "SNS_TOPIC_ARN=" + c.topic})
		if code != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("topic %q: exit %d, stderr %q, want exit 1 and %q", c.topic, code, errs, c.want)
		}
	}
}
