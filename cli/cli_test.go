package cli

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/scan"
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
	if len(lines) != len(findingsIn(t, "../events")) || len(lines) != len(files)-3 {
		// one file is not a security-group change, and two are attach
		// calls, which are not published offline
		t.Fatalf("%d findings for %d files", len(lines), len(files))
	}
	if n := strings.Count(errs, "is judged only with live context (ENRICH=true), and there was none"); n != 2 {
		t.Errorf("stderr %q does not say that the two attach calls are not published offline", errs)
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

// TestChatFormat: -format chat prints one Chatbot custom notification per
// line, as the function would publish it.
func TestChatFormat(t *testing.T) {
	files, _ := filepath.Glob("../events/*.json")
	code, out, errs := run(t, "", append([]string{"-format", "chat"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(findingsIn(t, "../events")) {
		t.Fatalf("%d notifications for %d files", len(lines), len(files))
	}
	for _, l := range lines {
		var c struct {
			Version, Source string
			Content         struct{ TextType, Title string }
		}
		if err := json.Unmarshal([]byte(l), &c); err != nil || c.Version != "1.0" || c.Source != "custom" || c.Content.TextType != "client-markdown" || c.Content.Title == "" {
			t.Errorf("line %q: %+v %v", l, c, err)
		}
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
		{"trusted service, extra port", map[string]string{"TRUSTED_SERVICES": "cloudformation.amazonaws.com=arn:aws:iam::111122223333:role/cfn-deployer", "EXTRA_SENSITIVE_PORTS": "8443"}, []string{cfn}, 0,
			[]string{"Subject: [HIGH]", "Automation: made by trusted automation cloudformation.amazonaws.com as arn:aws:iam::111122223333:role/cfn-deployer (severity lowered from critical)", "EXTRA_SENSITIVE_PORTS (8443)", "one level lower than critical", "aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718 --security-group-rule-ids sgr-0c0ffee0c0ffee020"}, "", false},
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
		// Its 1,500 public /48s would be judged with live context too.
		if code != 0 || errs != offlineLine(1) {
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
		{[]string{"coverage", "-regions", "eu-west-1"}, "name sgwatch's own targets"},
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

// TestScanFlags: the scan's flags are checked before anything is read; a
// bad value is a usage error naming the flag and the value.
func TestScanFlags(t *testing.T) {
	const ev = "../events/create-security-group.json"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-since", "yesterday", ev}, `sgwatch: -since: "yesterday" is not a time`},
		{[]string{"-until", "2026-13-01", ev}, `sgwatch: -until: "2026-13-01" is not a time`},
		{[]string{"-since", "2026-11-20", "-until", "2026-11-01", ev}, "-until 2026-11-01T00:00:00Z is before -since 2026-11-20T00:00:00Z"},
		{[]string{"-accounts", "1111,222233334444", ev}, `sgwatch: -accounts: "1111" is not an account id`},
		{[]string{"-regions", "eu-west-1,moon", ev}, `sgwatch: -regions: "moon" is not a Region`},
		{[]string{"-format", "yaml", ev}, `sgwatch: -format: `},
	} {
		code, out, errs := run(t, "", c.args...)
		if code != 2 || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, errs, c.want)
		}
	}
}

// findingsIn parses every file under dirs (as the scan would) and returns
// their findings, for tests to count independently of the command line.
func findingsIn(t *testing.T, dirs ...string) []detect.Finding {
	t.Helper()
	var out []detect.Finding
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(d, "*.json"))
		more, _ := filepath.Glob(filepath.Join(d, "*", "*.json"))
		for _, f := range append(files, more...) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := detect.Parse(data, detect.Scoring{})
			for _, f := range b.Findings {
				// An attach call is judged only with live context: the
				// command line on files does not print it.
				if c, _ := detect.Lookup(f.Event.Name); !c.LiveOnly() {
					out = append(out, f)
				}
			}
		}
	}
	return out
}

// TestScanFilters: -since, -until, -accounts and -regions select findings
// by each record's own time, account and Region (a finding whose time
// cannot be read is kept).
func TestScanFilters(t *testing.T) {
	all := findingsIn(t, "../events", "../testdata/cloudtrail")
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	cases := []struct {
		args []string
		keep func(f detect.Finding) bool
	}{
		{nil, func(detect.Finding) bool { return true }},
		{[]string{"-regions", "us-east-1,us-west-2"}, func(f detect.Finding) bool { return f.Event.Region == "us-east-1" || f.Event.Region == "us-west-2" }},
		{[]string{"-accounts", "111122223333"}, func(f detect.Finding) bool { return f.Event.AccountID == "111122223333" }},
		{[]string{"-since", "2026-11-20T10:30:00Z"}, func(f detect.Finding) bool {
			t := at(f.Event.Time)
			return t.IsZero() || !t.Before(at("2026-11-20T10:30:00Z"))
		}},
		{[]string{"-since", "2020-01-01", "-until", "2024-12-31T23:59:59Z"}, func(f detect.Finding) bool {
			t := at(f.Event.Time)
			return t.IsZero() || (!t.Before(at("2020-01-01T00:00:00Z")) && !t.After(at("2024-12-31T23:59:59Z")))
		}},
	}
	for _, c := range cases {
		want := 0
		for _, f := range all {
			if c.keep(f) {
				want++
			}
		}
		code, out, errs := run(t, "", append(append([]string{"-format", "json"}, c.args...), "../events", "../testdata/cloudtrail")...)
		got := strings.Count(out, "\n")
		if code != 0 || got != want || (c.args != nil && want == len(all)) {
			t.Errorf("%q: exit %d, %d findings, want %d of %d (stderr %q)", c.args, code, got, want, len(all), errs)
		}
	}
}

// TestSummary: counts by severity (critical first), action, account,
// Region and actor, then the critical and high findings by time, with
// attacker-controlled text cleaned.
func TestSummary(t *testing.T) {
	dir := t.TempDir()
	hostile := `{"eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","eventTime":"2026-01-01T00:00:00Z","eventID":"e-1\n[CRITICAL] fake",
"awsRegion":"eu-west-1","recipientAccountId":"111122223333","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/x/evil\u202e\nby nobody"},
"requestParameters":{"groupId":"sg-0123456789abcdef0","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}}`
	if err := os.WriteFile(filepath.Join(dir, "hostile.json"), []byte(hostile), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "", "-format", "summary", "../events", dir)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	critical := 1 // the hostile record's
	for _, f := range findingsIn(t, "../events") {
		if f.Severity == detect.Critical {
			critical++
		}
	}
	for _, want := range []string{fmt.Sprintf("%d findings\n", len(findingsIn(t, "../events"))+1), "\nby severity", fmt.Sprintf("  critical   %d\n", critical), "\nby action", "\nby account", "\nby Region", "\nby actor",
		"critical and high (", "  2026-01-01T00:00:00Z  [CRITICAL] sg-0123456789abcdef0 modified by"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if sev := out[strings.Index(out, "by severity"):strings.Index(out, "by action")]; strings.Index(sev, "critical") > strings.Index(sev, "info") {
		t.Errorf("severities not from critical down:\n%s", sev)
	}
	for _, bad := range []string{"\u202e", "\n[CRITICAL] fake", "evil\nby"} {
		if strings.Contains(out, bad) {
			t.Errorf("summary holds %q raw", bad)
		}
	}
	// Critical first, then high, each by time.
	lines := strings.Split(strings.TrimSpace(out[strings.Index(out, "critical and high"):]), "\n")[1:]
	key := func(l string) string {
		f := strings.Fields(l)
		return map[string]string{"[CRITICAL]": "0", "[HIGH]": "1"}[f[1]] + f[0]
	}
	if !slices.IsSortedFunc(lines, func(a, b string) int { return strings.Compare(key(a), key(b)) }) || !strings.Contains(lines[0], "[CRITICAL]") {
		t.Errorf("critical and high not critical first, then by time:\n%s", strings.Join(lines, "\n"))
	}
}

// TestPolicyInAScan: in a directory, findings the policy does not publish
// are counted in one line, not one line each; critical ones and the root
// user's are always shown.
func TestPolicyInAScan(t *testing.T) {
	all := findingsIn(t, "../events")
	shown := 0
	for _, f := range all {
		if f.Severity == detect.Critical || f.Actor.IsRoot() {
			shown++
		}
	}
	code, out, errs := runEnv(t, map[string]string{"MIN_SEVERITY": "critical"}, "", "-format", "json", "../events")
	if code != 0 || strings.Count(out, "\n") != shown {
		t.Errorf("exit %d, %d findings, want %d", code, strings.Count(out, "\n"), shown)
	}
	// and the two attach calls, not published offline
	want := fmt.Sprintf("sgwatch: %d findings not shown by the policy; the first: ", len(all)-shown+2)
	if strings.Count(errs, "not published") != 1 || !strings.Contains(errs, want) {
		t.Errorf("stderr %q, want one line %q", errs, want)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n += len(p); w.n > 100 {
		return 0, errors.New("broken pipe")
	}
	return len(p), nil
}

// TestWriteErrorStops: when stdout fails (a closed pipe), the scan stops
// with exit status 1 and says why.
func TestWriteErrorStops(t *testing.T) {
	var errb bytes.Buffer
	code := Run([]string{"-format", "json", "../events"}, func(string) string { return "" }, strings.NewReader(""), &failWriter{}, &errb)
	if code != 1 || !strings.Contains(errb.String(), "sgwatch: write: broken pipe") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}

// TestProgress: the progress line says what was read; it is shown only on
// a terminal.
func TestProgress(t *testing.T) {
	got := progressLine(scan.Stats{Sources: 3, Bytes: 12_500_000, Records: 50_000, Findings: 7, Errors: 1}, 2*time.Second)
	if want := "sgwatch: 3 sources, 12.5 MB read, 25000 records/s, 7 findings, 1 errors"; got != want {
		t.Errorf("progress %q, want %q", got, want)
	}
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is not a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a file is not a terminal")
	}
	var errb bytes.Buffer
	if code := Run([]string{"../events"}, func(string) string { return "" }, nil, io.Discard, &errb); code != 0 || strings.Contains(errb.String(), "\r") {
		t.Errorf("exit %d; stderr that is not a terminal has a progress line: %q", code, errb.String())
	}
}

// TestWriteErrorEndsTheScan: stdout failing in the middle of a scan of
// many files ends it with exit status 1 (it used to wait forever).
func TestWriteErrorEndsTheScan(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d.json", i)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, format := range []string{"json", "text", "summary"} {
		done := make(chan int)
		var errb bytes.Buffer
		go func() {
			done <- Run([]string{"-format", format, "-workers", "1", dir}, func(string) string { return "" }, nil, &failWriter{}, &errb)
		}()
		select {
		case code := <-done:
			if code != 1 || !strings.Contains(errb.String(), "write: broken pipe") {
				t.Errorf("%s: exit %d, stderr %q", format, code, errb.String())
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: the scan did not end after stdout failed", format)
		}
	}
}

// offlineLine is what the command line says of n findings that live
// context would judge otherwise.
func offlineLine(n int) string {
	return fmt.Sprintf("sgwatch: %d findings judged offline, on their call's rules alone: with live context (the function's ENRICH=true) the group's other rules, the other groups of its interfaces and prefix list entries count too (docs/exposure.md)\n", n)
}

// TestOfflineSaysSo: a finding that live context would judge otherwise
// (a public range short of the whole internet) is printed as before, and
// the command line says, once, that it was judged offline; one that is
// open to the whole internet on its own does not need saying.
func TestOfflineSaysSo(t *testing.T) {
	for _, c := range []struct {
		file string
		want string
	}{
		{"../events/authorize-ingress-public-ssh.json", offlineLine(1)},
		{"../events/authorize-ingress-world-ssh.json", ""},
	} {
		code, out, errs := run(t, "", c.file)
		if code != 0 || errs != c.want || !strings.HasPrefix(out, "Subject: ") {
			t.Errorf("%s: exit %d, stderr %q, want %q", c.file, code, errs, c.want)
		}
	}
}
