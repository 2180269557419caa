package main

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// TestBootstrap builds the Lambda binary the way "make build" has sam build
// it (the flags are read from the Makefile) and checks what the function
// will run: a static, stripped arm64 ELF under 10 MB.
func TestBootstrap(t *testing.T) {
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var goflags string
	for _, line := range strings.Split(string(mk), "\n") {
		if v, ok := strings.CutPrefix(line, "LAMBDA_GOFLAGS :="); ok {
			goflags = strings.TrimSpace(v)
		}
	}
	if !strings.Contains(goflags, "-tags=lambda.norpc") || !strings.Contains(goflags, "-ldflags=-s") {
		t.Fatalf("Makefile LAMBDA_GOFLAGS = %q, want lambda.norpc and -ldflags=-s", goflags)
	}
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GOFLAGS="+goflags)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Errorf("machine %v, want arm64", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Error("dynamically linked, want static")
		}
	}
	for _, s := range []string{".symtab", ".debug_info", ".zdebug_info"} {
		if f.Section(s) != nil {
			t.Errorf("has %s, want stripped", s)
		}
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 10_000_000
	fmt.Printf("bootstrap (linux/arm64, static, stripped, lambda.norpc): %d bytes (%.2f MB; limit %.0f MB)\n",
		st.Size(), float64(st.Size())/1e6, float64(limit)/1e6)
	if st.Size() >= limit {
		t.Errorf("bootstrap is %d bytes, want under %d", st.Size(), limit)
	}
}
