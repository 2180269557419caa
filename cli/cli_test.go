package cli

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestTextOutput(t *testing.T) {
	code, out, errs := run(t, "", "../events/authorize-ingress-world-ssh.json")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	want := "Subject: [CRITICAL] sg-0a1b2c3d4e5f60718 modified by ops-admin in 111122223333/eu-west-1\n\nCRITICAL: AuthorizeSecurityGroupIngress succeeded"
	if !strings.HasPrefix(out, want) || !strings.Contains(out, "Triage:") {
		t.Errorf("stdout:\n%s", out)
	}
}

func TestEveryEventFile(t *testing.T) {
	files, _ := filepath.Glob("../events/*.json")
	code, out, errs := run(t, "", append([]string{"-format", "json"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(files)-1 { // one file is not a security-group change
		t.Fatalf("%d findings for %d files", len(lines), len(files))
	}
	for _, l := range lines {
		var f map[string]any
		if err := json.Unmarshal([]byte(l), &f); err != nil || f["severity"] == nil {
			t.Errorf("line %q: %v", l, err)
		}
	}
	if !strings.Contains(errs, "not-security-group.json: not a security-group change") {
		t.Errorf("stderr %q lacks the note for the non-security-group event", errs)
	}
}

func TestNotSecurityGroup(t *testing.T) {
	code, out, errs := run(t, "", "../events/not-security-group.json")
	if code != 0 || out != "" || !strings.Contains(errs, "not a security-group change") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestBadFilesDoNotStopTheOthers(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"detail":`), 0o644)
	code, out, errs := run(t, "", filepath.Join(dir, "missing.json"), bad, "../events/delete-security-group.json")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(errs, "missing.json") || !strings.Contains(errs, "bad.json: decode input") {
		t.Errorf("stderr %q does not name both bad files", errs)
	}
	if !strings.Contains(out, "[LOW] sg-0fedcba9876543210 deleted") {
		t.Errorf("the good file was not processed: %q", out)
	}
}

func TestStdinAndGzip(t *testing.T) {
	data, err := os.ReadFile("../testdata/cloudtrail/panther-analysis/CreateSecurityGroup-1.json")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"Records":[` + string(data) + `]}`))
	zw.Close()
	code, out, errs := run(t, gz.String(), "-format=json", "-")
	if code != 0 || !strings.Contains(out, `"name":"CreateSecurityGroup"`) {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestUsage(t *testing.T) {
	if code, _, errs := run(t, ""); code != 2 || !strings.Contains(errs, "usage: sgwatch") {
		t.Errorf("no args: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := run(t, "", "-format", "xml", "x"); code != 2 || !strings.Contains(errs, `"xml"`) {
		t.Errorf("bad format: exit %d, stderr %q", code, errs)
	}
	if code, _, _ := run(t, "", "-nope"); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
}
