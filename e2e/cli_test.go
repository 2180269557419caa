//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runCLI runs the command-line build (bin/sgwatch) with args and env (the
// endpoints and Region it is to use), test credentials and nothing of this
// machine's AWS configuration, for at most a minute. It returns the exit
// status and outputs; a usage error (exit 2) fails the test, as the
// binary is then older than the command it is asked for (make cli-bin).
func runCLI(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, *cliBin, args...)
	home := t.TempDir()
	cmd.Env = append([]string{
		"HOME=" + home, "AWS_CONFIG_FILE=" + home + "/config", "AWS_SHARED_CREDENTIALS_FILE=" + home + "/credentials",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true",
	}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("sgwatch %s: still running after a minute\nstderr:\n%s", strings.Join(args, " "), errb.String())
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v", *cliBin, err)
	}
	if code == 2 {
		t.Fatalf("sgwatch %s: usage error (is bin/sgwatch older than this command? make cli-bin):\n%s", strings.Join(args, " "), errb.String())
	}
	return code, out.String(), errb.String()
}
