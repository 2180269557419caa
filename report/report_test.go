package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/internal/samples"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// sample is one input file with the findings it yields.
type sample struct {
	name     string // golden file stem
	findings []detect.Finding
}

// withFindings parses every sample (events/ and testdata/cloudtrail/) and
// returns those that yield findings.
func withFindings(t *testing.T) []sample {
	t.Helper()
	files, err := samples.Files("..")
	if err != nil {
		t.Fatal(err)
	}
	var out []sample
	for _, file := range files {
		data, err := os.ReadFile(file.Path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := detect.Parse(data, detect.Scoring{})
		fs := b.Findings
		if err != nil {
			t.Fatalf("%s: %v", file.Path, err)
		}
		// An attach call is judged only with live context: offline it is
		// never published, so it has no golden notification.
		fs = slices.DeleteFunc(fs, func(f detect.Finding) bool { c, _ := detect.Lookup(f.Event.Name); return c.LiveOnly() })
		if len(fs) > 0 {
			out = append(out, sample{file.Name, fs})
		}
	}
	return out
}

// TestGolden compares the text and JSON notification of every sample with
// testdata/golden. Run "go test ./report -update" to rewrite them after a
// deliberate change, and review the diff.
func TestGolden(t *testing.T) {
	all := withFindings(t)
	if len(all) < 30 {
		t.Fatalf("only %d samples with findings", len(all))
	}
	for _, s := range all {
		t.Run(s.name, func(t *testing.T) {
			text, js, chat := renderAll(t, s.findings)
			golden(t, filepath.Join("testdata", "golden", s.name+".txt"), text)
			golden(t, filepath.Join("testdata", "golden", s.name+".json"), js)
			golden(t, filepath.Join("testdata", "golden", s.name+".chat.json"), chat)
		})
	}
}

// renderAll renders findings as the golden files hold them: each text
// notification with its subject and attributes, each JSON body indented,
// and each chat body indented.
func renderAll(t *testing.T, findings []detect.Finding) (text, js, chat []byte) {
	t.Helper()
	var tb, jb, cb bytes.Buffer
	for _, f := range findings {
		n, err := Render(f, Text)
		if err != nil {
			t.Fatal(err)
		}
		tb.WriteString("Subject: " + n.Subject + "\n")
		for _, a := range n.Attributes {
			tb.WriteString("Attribute " + a.Name + ": " + a.Value + "\n")
		}
		tb.WriteString("\n" + n.Body)
		n, err = Render(f, JSON)
		if err != nil {
			t.Fatal(err)
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, []byte(n.Body), "", "  "); err != nil {
			t.Fatalf("JSON body does not parse: %v", err)
		}
		jb.Write(pretty.Bytes())
		jb.WriteByte('\n')
		n, err = Render(f, Chat)
		if err != nil {
			t.Fatal(err)
		}
		pretty.Reset()
		if err := json.Indent(&pretty, []byte(n.Body), "", "  "); err != nil {
			t.Fatalf("chat body does not parse: %v", err)
		}
		cb.Write(pretty.Bytes())
		cb.WriteByte('\n')
	}
	return tb.Bytes(), jb.Bytes(), cb.Bytes()
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", path, got)
	}
}

// TestSubjectRules checks the SNS subject rules on every sample.
func TestSubjectRules(t *testing.T) {
	for _, s := range withFindings(t) {
		for _, f := range s.findings {
			sub := subject(f)
			if msg := checkSubject(sub); msg != "" {
				t.Errorf("%s: subject %q: %s", s.name, sub, msg)
			}
			if !strings.HasPrefix(sub, "["+strings.ToUpper(string(f.Severity))+"] ") {
				t.Errorf("%s: subject %q does not start with its severity %s", s.name, sub, f.Severity)
			}
			if acct := f.Event.AccountID; acct != "" && len(acct) <= 16 && !strings.Contains(sub, acct) {
				t.Errorf("%s: subject %q lost the account %s", s.name, sub, acct)
			}
		}
	}
}

// TestSchema validates the JSON body of every sample against the shipped
// JSON Schema.
func TestSchema(t *testing.T) {
	sch := compileSchema(t)
	for _, s := range withFindings(t) {
		for _, f := range s.findings {
			n, err := Render(f, JSON)
			if err != nil {
				t.Fatal(err)
			}
			v, err := jsonschema.UnmarshalJSON(strings.NewReader(n.Body))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("%s: %v", s.name, err)
			}
		}
	}
	// The schema must reject what the contract forbids.
	for name, doc := range map[string]string{
		"unknown field":                  `{"action":"modify","outcome":"succeeded","severity":"low","event":{"name":"x"},"actor":{},"securityGroup":{},"extra":1}`,
		"bad severity":                   `{"action":"modify","outcome":"succeeded","severity":"urgent","event":{"name":"x"},"actor":{},"securityGroup":{}}`,
		"rule with two sources":          `{"action":"modify","outcome":"succeeded","severity":"low","event":{"name":"x"},"actor":{},"securityGroup":{},"rules":[{"cidrIpv4":"0.0.0.0/0","prefixListId":"pl-1"}]}`,
		"port as string":                 `{"action":"modify","outcome":"succeeded","severity":"low","event":{"name":"x"},"actor":{},"securityGroup":{},"rules":[{"cidrIpv4":"0.0.0.0/0","fromPort":"22"}]}`,
		"bad severity before automation": `{"action":"modify","outcome":"succeeded","severity":"low","severityBeforeAutomation":"urgent","event":{"name":"x"},"actor":{},"securityGroup":{}}`,
		"unmatched as string":            `{"action":"modify","outcome":"succeeded","severity":"low","event":{"name":"x"},"actor":{},"securityGroup":{},"rules":[{"cidrIpv4":"0.0.0.0/0","unmatched":"yes"}]}`,
		"empty exposure":                 `{"action":"modify","outcome":"succeeded","severity":"low","event":{"name":"x"},"actor":{},"securityGroup":{},"rules":[{"cidrIpv4":"0.0.0.0/1","exposure":""}]}`,
		"undo account not 12 digits":     `{"action":"modify","outcome":"succeeded","severity":"low","event":{"name":"x"},"actor":{},"securityGroup":{},"undo":{"command":"aws ec2 delete-security-group --region eu-west-1 --group-id sg-0123456789abcdef0","account":"12345"}}`,
		"undo with only an account":      `{"action":"modify","outcome":"succeeded","severity":"low","event":{"name":"x"},"actor":{},"securityGroup":{},"undo":{"account":"111111111111"}}`,
		"empty account name":             `{"action":"modify","outcome":"succeeded","severity":"low","event":{"name":"x","accountId":"111111111111","accountName":""},"actor":{},"securityGroup":{}}`,
		"two sources and a rule id":      `{"action":"modify","outcome":"succeeded","severity":"low","event":{"name":"x"},"actor":{},"securityGroup":{},"rules":[{"protocol":"tcp"},{"ruleId":"sgr-1","prefixListId":"pl-1","cidrIpv6":"::/0"}]}`,
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(v) == nil {
			t.Errorf("schema accepts a finding with %s", name)
		}
	}
}

// TestSchemaNewFields renders a finding with every field the schema must
// accept beyond the samples: severity before automation, exposure, an
// unmatched revoke and a placeholder rule for a source not understood.
func TestSchemaNewFields(t *testing.T) {
	sch := compileSchema(t)
	p22 := 22
	f := detect.Finding{Action: detect.Modify, Outcome: detect.Succeeded, Severity: detect.High, SeverityBeforeAutomation: detect.Critical,
		Reasons: []string{"r"}, Event: detect.Event{Name: "ModifySecurityGroupRules"}, Automation: "cloudformation.amazonaws.com",
		Rules: []detect.Rule{
			{Protocol: "tcp", FromPort: &p22, ToPort: &p22, CIDRIPv4: "0.0.0.0/1", Exposure: "the whole IPv4 internet, together with 128.0.0.0/1"},
			{Direction: detect.Ingress, Protocol: "tcp", FromPort: &p22, ToPort: &p22, Exposure: "source not understood: counted as the whole internet"},
			{Direction: detect.Ingress, Protocol: "tcp", CIDRIPv6: "::/0", Unmatched: true},
		}}
	n, err := Render(f, JSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"severityBeforeAutomation":"critical"`, `"exposure":"source not understood`, `"unmatched":true`} {
		if !strings.Contains(n.Body, field) {
			t.Errorf("JSON body lacks %s", field)
		}
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(n.Body))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Error(err)
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	return schemaFile(t, "../schema/finding.schema.json")
}

// schemaFile compiles the JSON Schema at path.
func schemaFile(t *testing.T, path string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	doc, err := jsonschema.UnmarshalJSON(fh)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource(path, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func TestAttributes(t *testing.T) {
	names := []string{"severity", "action", "outcome", "eventName", "accountId", "region", "securityGroupId", "actorType"}
	for _, s := range withFindings(t) {
		attrs := attributes(s.findings[0])
		if len(attrs) != len(names) {
			t.Fatalf("%s: %d attributes, want %d", s.name, len(attrs), len(names))
		}
		for i, a := range attrs {
			if a.Name != names[i] || a.Value == "" || !clean.IsPlain(a.Value) {
				t.Errorf("%s: attribute %d = %+v", s.name, i, a)
			}
		}
		if attrs[0].Value != string(s.findings[0].Severity) {
			t.Errorf("%s: severity attribute %q", s.name, attrs[0].Value)
		}
	}
}

// hostile is text an attacker can put in a description, a group name or a
// user agent: line breaks that would forge lines, a bidi override, a zero
// width joiner, a line separator, invalid UTF-8, and sheer length.
var hostile = []string{
	"ok\nSeverity: info\r\nWho: nobody",
	"\u202egnp.exe",
	"a\u200db\u2028c\u2029d\u0085e\x00f\x1b[31mred",
	"bad utf8 \xff\xfe",
	strings.Repeat("long ", 5000),
}

func TestHostileText(t *testing.T) {
	base := detect.Finding{
		Action: detect.Modify, Outcome: detect.Succeeded, Severity: detect.Critical, Reasons: []string{"r"},
		Event:         detect.Event{ID: "e", Name: "AuthorizeSecurityGroupIngress", Region: "eu-west-1", AccountID: "111122223333"},
		Actor:         detect.Actor{Type: "IAMUser", UserName: "u", UserAgent: "ua", ARN: "arn:aws:iam::1:user/u"},
		SecurityGroup: detect.SecurityGroup{ID: "sg-0123456789abcdef0", Name: "web", Description: "d"},
		Rules:         []detect.Rule{{Direction: detect.Ingress, Protocol: "tcp", CIDRIPv4: "0.0.0.0/0", Description: "d"}},
	}
	lines := strings.Count(textOf(t, base), "\n")
	for _, h := range hostile {
		f := base
		f.Actor.UserName, f.Actor.UserAgent, f.Actor.ARN = h, h, h
		f.SecurityGroup.Name, f.SecurityGroup.Description = h, h
		f.Rules = []detect.Rule{base.Rules[0]}
		f.Rules[0].Description = h
		f.Error = nil

		sub := subject(f)
		if msg := checkSubject(sub); msg != "" {
			t.Errorf("subject %q: %s", sub, msg)
		}
		if !strings.HasSuffix(sub, " in 111122223333/eu-west-1") {
			t.Errorf("subject %q lost its account and region", sub)
		}
		body := textOf(t, f)
		if got := strings.Count(body, "\n"); got != lines {
			t.Errorf("hostile text %q changed the body from %d to %d lines", h[:min(len(h), 20)], lines, got)
		}
		for _, line := range strings.Split(body, "\n") {
			if len([]rune(line)) > maxField+100 {
				t.Errorf("unbounded line of %d runes", len([]rune(line)))
			}
		}
		for _, r := range body {
			if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029') {
				t.Errorf("body keeps %U from %q", r, h[:min(len(h), 20)])
			}
		}
		n, err := Render(f, JSON)
		if err != nil {
			t.Fatal(err)
		}
		var back detect.Finding
		if err := json.Unmarshal([]byte(n.Body), &back); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{back.Actor.UserAgent, back.SecurityGroup.Description, back.Rules[0].Description} {
			if clean.Line(s, maxField) != s || len([]rune(s)) > maxField+1 {
				t.Errorf("JSON body keeps unclean text %q", s[:min(len(s), 40)])
			}
		}
	}
}

func TestLinks(t *testing.T) {
	f := detect.Finding{Event: detect.Event{ID: "9fd68588-ecbf-4528-a345-199fa6bb0821", Region: "eu-west-1"},
		SecurityGroup: detect.SecurityGroup{ID: "sg-003dc7f1f1c686164"}}
	ls := links(f)
	if len(ls) != 2 ||
		ls[0].url != "https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/9fd68588-ecbf-4528-a345-199fa6bb0821" ||
		ls[1].url != "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#SecurityGroup:groupId=sg-003dc7f1f1c686164" {
		t.Errorf("links %+v", ls)
	}
	f.Event.Region = "us-gov-west-1"
	if l := links(f); len(l) != 2 || !strings.HasPrefix(l[0].url, "https://console.amazonaws-us-gov.com/") {
		t.Errorf("GovCloud links %+v", l)
	}
	for _, bad := range []detect.Finding{
		{Event: detect.Event{ID: "e", Region: "eu-west-1\nx"}},
		{Event: detect.Event{ID: "javascript:alert(1)", Region: "eu-west-1"}, SecurityGroup: detect.SecurityGroup{ID: "sg-1\"><x>"}},
	} {
		if l := links(bad); len(l) != 0 {
			t.Errorf("links built from malformed values: %+v", l)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": Text, "text": Text, "JSON": JSON} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil || !strings.Contains(err.Error(), "xml") {
		t.Errorf("ParseFormat(xml) error = %v", err)
	}
}

// textOf is the text body of f, as Render makes it.
func textOf(t *testing.T, f detect.Finding) string {
	t.Helper()
	n, err := Render(f, Text)
	if err != nil {
		t.Fatal(err)
	}
	return n.Body
}

// checkSubject returns what is wrong with a subject line under SNS's rules
// and sgwatch's ("" when nothing): at most 100 printable ASCII characters,
// starting with a bracketed severity.
func checkSubject(s string) string {
	switch {
	case len(s) == 0:
		return "empty"
	case len(s) > maxSubject:
		return fmt.Sprintf("%d characters, more than %d", len(s), maxSubject)
	case !clean.IsPlain(s):
		return "not printable ASCII"
	}
	for _, sev := range []detect.Severity{detect.Info, detect.Low, detect.Medium, detect.High, detect.Critical} {
		if strings.HasPrefix(s, "["+strings.ToUpper(string(sev))+"] ") {
			return ""
		}
	}
	return "does not start with [SEVERITY]"
}
