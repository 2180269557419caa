//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tool runs a command in the repository root with env added to this
// process's environment, and returns its stdout; a failure ends the test
// with everything the command printed.
func tool(t *testing.T, env []string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = ".."
	cmd.Env = append(append(os.Environ(), "SAM_CLI_TELEMETRY=0"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes()
}

// TestSAMValidateAndBuild is point 4: the real SAM CLI validates (with its
// cfn-lint) and builds the template, and each bootstrap it builds (the
// function's and the sweep worker's) is a static, stripped ELF for the
// template's architecture, under sgwatch's size limit.
func TestSAMValidateAndBuild(t *testing.T) {
	out := tool(t, nil, *samBin, "validate", "--lint", "--template-file", "template.yaml", "--region", "us-east-1")
	if !strings.Contains(string(out), "is a valid SAM Template") {
		t.Errorf("sam validate --lint printed no verdict:\n%s", out)
	}
	// forwarder.yaml is plain CloudFormation: the cfn-lint beside sam (the
	// one sam validate uses) lints it, and fails on any finding.
	tool(t, nil, filepath.Join(filepath.Dir(*samBin), "cfn-lint"), "forwarder.yaml")
	tool(t, nil, filepath.Join(filepath.Dir(*samBin), "cfn-lint"), "history.yaml")

	archs := readTemplate(t).Resources.Function.Properties.Architectures
	if len(archs) != 1 {
		t.Fatalf("template Architectures %v, want one", archs)
	}
	goarch := map[string]string{"arm64": "arm64", "x86_64": "amd64"}[archs[0]]
	dir := t.TempDir()
	// The environment "make build" gives sam build: its Go builder runs plain
	// "go build" with GOOS and GOARCH set and passes the rest through.
	tool(t, []string{"CGO_ENABLED=0", "GOFLAGS=" + *goflags}, *samBin, "build", "--template-file", "template.yaml", "--build-dir", dir)
	for _, fn := range []string{"SgwatchFunction", "SweepWorkerFunction"} {
		bin := filepath.Join(dir, fn, "bootstrap")
		size := checkBootstrap(t, bin, goarch)
		zipped := zipSize(t, bin)
		if zipped >= zipLimit {
			t.Errorf("%s: bootstrap zips to %d bytes, want under %d", fn, zipped, zipLimit)
		}
		// Printed for the log of "make test", as the figures to watch.
		fmt.Printf("bootstrap (sam build, %s, linux/%s, static, stripped, lambda.norpc): %d bytes (%.2f MB), %d bytes zipped (%.2f MB; limit %.0f MB)\n",
			fn, goarch, size, float64(size)/1e6, zipped, float64(zipped)/1e6, float64(zipLimit)/1e6)
	}
}

// TestCheckov is point 5: checkov finds no failed check in the templates
// (template.yaml, forwarder.yaml that StackSets deploy to every account, and
// history.yaml, the Athena table),
// and every check it skips is skipped in the template itself, with a reason.
func TestCheckov(t *testing.T) {
	// checkov reads a template with its parameters' defaults and leaves out
	// what their conditions drop: the revert's resources are checked in a
	// copy whose defaults turn it on, with a window.
	revertOn := revertDefaults(t)
	for _, c := range []struct {
		file      string
		minPassed int
	}{
		{"template.yaml", 20},
		{revertOn, 80},
		{"forwarder.yaml", 8},
		{"history.yaml", 8},
	} {
		// --skip-download: use only the checks shipped in the pinned version
		// (the default also fetches guidelines from Prisma Cloud). --soft-fail:
		// exit 0 with failed checks too, so that the report below names them.
		out := tool(t, nil, *checkovBin, "--file", c.file, "--framework", "cloudformation",
			"--skip-download", "--soft-fail", "--output", "json")
		var r struct {
			Results struct {
				Failed []struct {
					ID       string `json:"check_id"`
					Name     string `json:"check_name"`
					Resource string `json:"resource"`
				} `json:"failed_checks"`
				Skipped []struct {
					ID       string `json:"check_id"`
					Resource string `json:"resource"`
					Result   struct {
						Comment string `json:"suppress_comment"`
					} `json:"check_result"`
				} `json:"skipped_checks"`
			} `json:"results"`
			Summary struct {
				Passed, Failed, Skipped int
				Version                 string `json:"checkov_version"`
			} `json:"summary"`
		}
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("checkov %s: output is not its JSON report: %v\n%s", c.file, err, out)
		}
		for _, f := range r.Results.Failed {
			t.Errorf("%s: failed: %s %s (%s)", c.file, f.ID, f.Name, f.Resource)
		}
		for _, s := range r.Results.Skipped {
			if s := s.Result.Comment; s == "" || strings.Contains(s, "\n") {
				t.Errorf("%s: skipped without a one-line reason: %q", c.file, s)
			}
		}
		if r.Summary.Passed < c.minPassed || r.Summary.Failed != len(r.Results.Failed) {
			t.Errorf("checkov %s summary %+v: want at least %d passed checks", c.file, r.Summary, c.minPassed)
		}
		t.Logf("checkov %s %s: %d passed, %d failed, %d skipped in the template with a reason",
			r.Summary.Version, c.file, r.Summary.Passed, r.Summary.Failed, r.Summary.Skipped)
	}
}

// revertDefaults writes a copy of template.yaml whose defaults turn the
// revert on (Revert=high, RevertAfter=15m) and returns its path.
func revertDefaults(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, r := range [][2]string{
		{"  Revert:\n    Type: String\n    Default: \"off\"\n", "  Revert:\n    Type: String\n    Default: high\n"},
		{"  RevertAfter:\n    Type: String\n    Default: \"0\"\n", "  RevertAfter:\n    Type: String\n    Default: 15m\n"},
	} {
		if !strings.Contains(s, r[0]) {
			t.Fatalf("template.yaml: no %q to turn the revert on in checkov's copy", r[0])
		}
		s = strings.Replace(s, r[0], r[1], 1)
	}
	path := filepath.Join(t.TempDir(), "template-revert.yaml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// zipSize is the size of the deployment package SAM would upload: a zip
// (deflate) holding bootstrap.
func zipSize(t *testing.T, bin string) int {
	t.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "bootstrap", Method: zip.Deflate})
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatalf("zip bootstrap: %v", err)
	}
	return buf.Len()
}
