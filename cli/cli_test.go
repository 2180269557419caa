package cli

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runEnv(t, nil, stdin, args...)
}

func runEnv(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
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

// TestPolicy: the command line reads the function's tuning variables and
// shows what the function would do with them.
func TestPolicy(t *testing.T) {
	const cfn = "../events/cloudformation-authorize-ingress-8443.json"
	const create = "../events/create-security-group.json"
	const world = "../events/authorize-ingress-world-ssh.json"
	// A SUPPRESS rule ends at most a year after the configuration is read.
	until := time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339)
	cases := []struct {
		name     string
		env      map[string]string
		files    []string
		code     int
		stdout   []string // each must appear
		stderr   string   // must appear ("" for empty stderr)
		noStdout bool
	}{
		{"trusted service, extra port", map[string]string{"TRUSTED_SERVICES": "cloudformation.amazonaws.com", "EXTRA_SENSITIVE_PORTS": "8443"}, []string{cfn}, 0,
			[]string{"Subject: [HIGH]", "Automation: made by trusted automation cloudformation.amazonaws.com", "EXTRA_SENSITIVE_PORTS (8443)", "one level lower than critical", "aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718 --security-group-rule-ids sgr-0c0ffee0c0ffee020"}, "", false},
		{"trusted principal, whole internet stays high", map[string]string{"TRUSTED_PRINCIPALS": "arn:aws:iam::111122223333:role/cfn-*"}, []string{cfn}, 0,
			[]string{"Subject: [HIGH]", "whole-internet ingress stays high"}, "", false},
		{"below MIN_SEVERITY", map[string]string{"MIN_SEVERITY": "high"}, []string{create}, 0,
			nil, "create-security-group.json: low finding for CreateSecurityGroup not published: severity low is below MIN_SEVERITY high", true},
		{"suppressed group, critical still shown", map[string]string{"SUPPRESS": `[{"group":"sg-0a1b2c3d4e5f60718","until":"` + until + `","reason":"rebuild CHG-7"}]`}, []string{create, world}, 0,
			[]string{"Subject: [CRITICAL]"}, "not published: suppressed by SUPPRESS rule 0 until " + until + ": rebuild CHG-7", false},
		{"expired suppression", map[string]string{"SUPPRESS": `[{"group":"sg-0a1b2c3d4e5f60718","until":"2020-01-01T00:00:00Z","reason":"old"}]`}, []string{create}, 0,
			[]string{"Subject: [LOW]"}, "", false},
		{"invalid configuration", map[string]string{"EXTRA_SENSITIVE_PORTS": "ssh"}, []string{create}, 2,
			nil, `sgwatch: configuration: EXTRA_SENSITIVE_PORTS: "ssh" is not a port or a range`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runEnv(t, c.env, "", c.files...)
			if code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, c.code, errs)
			}
			for _, s := range c.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout does not show %q:\n%s", s, out)
				}
			}
			if c.noStdout && out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if (c.stderr == "") != (errs == "") || !strings.Contains(errs, c.stderr) {
				t.Errorf("stderr %q, want %q", errs, c.stderr)
			}
		})
	}
}

// TestPolicyRefusals: a configuration that could silence a critical change
// is refused at start, exit status 2, naming the variable and the reason;
// nothing is printed.
func TestPolicyRefusals(t *testing.T) {
	const world = "../events/authorize-ingress-world-ssh.json"
	soon := time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339)
	tooLate := time.Now().AddDate(1, 1, 0).UTC().Format(time.RFC3339)
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"TRUSTED_PRINCIPALS": "arn:aws:iam::111122223333:*"},
			`sgwatch: configuration: TRUSTED_PRINCIPALS: "arn:aws:iam::111122223333:*" has * before the principal type`},
		{map[string]string{"SUPPRESS": `[{"principal":"arn:aws:iam::111122223333:root","until":"` + soon + `","reason":"x"}]`},
			`sgwatch: configuration: SUPPRESS: rule 0 principal "arn:aws:iam::111122223333:root" is the root user`},
		{map[string]string{"SUPPRESS": `[{"group":"sg-0a1b2c3d4e5f60718","until":"` + tooLate + `","reason":"x"}]`},
			"sgwatch: configuration: SUPPRESS: rule 0 until " + tooLate + " is more than one year from now"},
	} {
		code, out, errs := runEnv(t, c.env, "", world)
		if code != 2 || out != "" || !strings.HasPrefix(errs, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2, no output and %q", c.env, code, out, errs, c.want)
		}
	}
}

// TestHugeFindingDoesNotStopTheRun: a record whose notification must be
// summarised to fit SNS's limit is printed, and the files after it too
// (issue 8, item 5: it used to stop the run).
func TestHugeFindingDoesNotStopTheRun(t *testing.T) {
	var ranges []string
	for i := range 1500 {
		ranges = append(ranges, fmt.Sprintf(`{"cidrIpv6":"2600:1f%02x:%x::/48","description":"partner %d \u202e"}`, i%256, i, i))
	}
	rec := `{"eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","awsRegion":"eu-west-1","eventID":"e-1",
"requestParameters":{"groupId":"sg-0123456789abcdef0","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipv6Ranges":{"items":[` +
		strings.Join(ranges, ",") + `]}}]}}}`
	big := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(big, []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "json"} {
		code, out, errs := run(t, "", "-format", format, big, "../events/create-security-group.json")
		if code != 0 || errs != "" {
			t.Fatalf("%s: exit %d, stderr %q", format, code, errs)
		}
		if !strings.Contains(out, "sg-0123456789abcdef0") || !strings.Contains(out, "sg-0a1b2c3d4e5f60718") {
			t.Errorf("%s: both findings are not printed", format)
		}
		if strings.Contains(out, "\u202e") {
			t.Errorf("%s: a raw U+202E is printed", format)
		}
	}
}

// TestCoverageDispatch: "coverage" as the first argument runs the coverage
// check (its usage errors exit 2 before any AWS call); the usage of the
// command line names it; a file named coverage is still read as ./coverage.
func TestCoverageDispatch(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"coverage"}, "usage: sgwatch coverage -regions"},
		{[]string{"coverage", "-regions", "eu-west-1", "-assume-role", "OrganizationAccountAccessRole"}, "-assume-role needs -accounts"},
		{[]string{"coverage", "-regions", "eu-west-1", "-accounts", "1234", "-assume-role", "R"}, `"1234" is not an account id`},
		{[]string{"coverage", "-regions", "moon-1"}, `"moon-1" is not a Region`},
	} {
		code, out, errs := run(t, "", c.args...)
		if code != 2 || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, errs, c.want)
		}
	}
	code, _, errs := run(t, "")
	if code != 2 || !strings.Contains(errs, "sgwatch coverage -regions REGION,...") {
		t.Errorf("usage: exit %d, stderr:\n%s", code, errs)
	}
	dir := t.TempDir()
	data, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "coverage"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	code, out, errs := run(t, "", "./coverage")
	if code != 0 || !strings.HasPrefix(out, "Subject: [CRITICAL]") {
		t.Errorf("./coverage: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
