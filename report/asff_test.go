package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/internal/samples"
	"github.com/sgwatch/sgwatch/sweep"
)

var (
	caller = Caller{Account: "111122223333", Partition: "aws", Region: "eu-west-1"}
	fixed  = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
)

const maxFinding = 240 * 1024 // Security Hub's limit per finding

// eventFinding returns the first finding of events/name.json.
func eventFinding(t *testing.T, name string) detect.Finding {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := detect.Parse(data, detect.Scoring{})
	fs := b.Findings
	if err != nil || len(fs) == 0 {
		t.Fatalf("%s: %d findings, %v", name, len(fs), err)
	}
	return fs[0]
}

func perm(proto string, from, to int, cidr string) asffPermission {
	return asffPermission{IPProtocol: proto, FromPort: &from, ToPort: &to, IPRanges: []map[string]string{{"CidrIp": cidr}}}
}

// TestASFFSamples maps real sample events.
func TestASFFSamples(t *testing.T) {
	const world = typeExposure
	tests := []struct {
		file      string
		label     string
		with      []string // types it must have, besides Network Reachability
		without   []string
		ingress   []asffPermission
		egress    []asffPermission
		undo      string // prefix of the remediation text
		sourceURL bool
	}{
		{file: "authorize-ingress-world-ssh", label: "CRITICAL", with: []string{world}, without: []string{typeDiscovery, typeRoot},
			ingress: []asffPermission{perm("tcp", 22, 22, "0.0.0.0/0")}, undo: "Undo: aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718", sourceURL: true},
		{file: "failed-unauthorized", label: "MEDIUM", with: []string{typeDiscovery}, without: []string{world, typeRoot},
			ingress: []asffPermission{perm("tcp", 22, 22, "0.0.0.0/0")}, undo: "the call failed", sourceURL: true},
		{file: "root-authorize-ingress", label: "HIGH", with: []string{typeRoot}, without: []string{world, typeDiscovery},
			ingress: []asffPermission{perm("tcp", 8080, 8080, "192.0.2.0/24")}, undo: "Undo: aws ec2 revoke-security-group-ingress", sourceURL: true},
		{file: "revoke-egress-by-rule-id", label: "INFORMATIONAL", without: []string{world, typeDiscovery, typeRoot},
			undo: "revoked by rule id", sourceURL: true},
		{file: "authorize-egress-world", label: "MEDIUM", without: []string{world},
			egress: []asffPermission{{IPProtocol: "-1", IPRanges: []map[string]string{{"CidrIp": "0.0.0.0/0"}}}}, undo: "Undo: aws ec2 revoke-security-group-egress", sourceURL: true},
		{file: "revoke-ingress", label: "INFORMATIONAL", without: []string{world},
			ingress: []asffPermission{perm("tcp", 22, 22, "0.0.0.0/0")}, undo: "Undo: aws ec2 authorize-security-group-ingress", sourceURL: true},
		{file: "modify-security-group-rules-world-db", label: "CRITICAL", with: []string{world},
			ingress: []asffPermission{perm("tcp", 3000, 4000, "0.0.0.0/0")}, undo: "the event holds the new rules", sourceURL: true},
		{file: "dry-run", label: "INFORMATIONAL", without: []string{world, typeDiscovery},
			ingress: []asffPermission{perm("tcp", 5432, 5432, "0.0.0.0/0")}, undo: "dry run: nothing changed", sourceURL: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f := eventFinding(t, tt.file)
			id := "event/" + f.Event.ID + "/0"
			a := ToASFF(f, id, caller, fixed)
			checkLimits(t, a)
			at, _ := time.Parse(time.RFC3339, f.Event.Time)
			want := at.UTC().Format(stamp)
			for _, c := range []struct{ got, want string }{
				{a.SchemaVersion, "2018-10-08"},
				{a.ID, "sgwatch/" + id},
				{a.ProductArn, "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default"},
				{a.AwsAccountID, "111122223333"},
				{a.GeneratorID, "sgwatch/" + f.Event.Name},
				{a.Severity.Label, tt.label},
				{a.Severity.Original, string(f.Severity)},
				{a.Title, subject(f)},
				{a.CreatedAt, want}, {a.UpdatedAt, want}, {a.FirstObservedAt, want},
				{a.RecordState, "ACTIVE"},
				{a.Workflow.Status, "NEW"},
				{a.Resources[0].ID, "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0a1b2c3d4e5f60718"},
				{a.Resources[0].Region, "eu-west-1"},
				{a.Resources[len(a.Resources)-1].Details.AwsEc2SecurityGroup.OwnerID, "111122223333"},
				{a.ProductFields["sgwatch/eventId"], f.Event.ID},
				{a.ProductFields["sgwatch/eventName"], f.Event.Name},
				{a.ProductFields["sgwatch/actorArn"], f.Actor.ARN},
			} {
				if c.got != c.want {
					t.Errorf("got %q, want %q", c.got, c.want)
				}
			}
			if a.Types[0] != typeReachability {
				t.Errorf("types %q do not start with %q", a.Types, typeReachability)
			}
			for _, ty := range tt.with {
				if !slices.Contains(a.Types, ty) {
					t.Errorf("types %q lack %q", a.Types, ty)
				}
			}
			for _, ty := range tt.without {
				if slices.Contains(a.Types, ty) {
					t.Errorf("types %q have %q", a.Types, ty)
				}
			}
			if !reflect.DeepEqual(a.FindingProviderFields, asffProviderFields{Severity: a.Severity, Types: a.Types}) {
				t.Errorf("provider fields %+v differ from severity %+v and types %q", a.FindingProviderFields, a.Severity, a.Types)
			}
			sg := a.Resources[len(a.Resources)-1].Details.AwsEc2SecurityGroup
			if !reflect.DeepEqual(sg.IPPermissions, tt.ingress) || !reflect.DeepEqual(sg.IPPermissionsEgress, tt.egress) {
				t.Errorf("permissions %s / egress %s, want %s / %s", js(sg.IPPermissions), js(sg.IPPermissionsEgress), js(tt.ingress), js(tt.egress))
			}
			text := ""
			if a.Remediation != nil {
				text = a.Remediation.Recommendation.Text
				if u := a.Remediation.Recommendation.URL; !strings.HasPrefix(u, "https://eu-west-1.console.aws.amazon.com/ec2/home") {
					t.Errorf("remediation URL %q", u)
				}
			}
			if text == "" || !strings.HasPrefix(text, tt.undo) {
				t.Errorf("remediation %q, want it to start with %q", text, tt.undo)
			}
			wantURL := "https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/" + f.Event.ID
			if (a.SourceURL == wantURL) != tt.sourceURL {
				t.Errorf("source URL %q, want %q", a.SourceURL, wantURL)
			}
			if !strings.Contains(a.Description, f.Reasons[0]) {
				t.Errorf("description %q lacks the first reason %q", a.Description, f.Reasons[0])
			}
		})
	}
}

// TestASFFSweep maps an exposure and its resolution: one Id, the
// resolution archived and resolved, and later.
func TestASFFSweep(t *testing.T) {
	p22 := 22
	g := sweep.Group{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718", Name: "web", VPCID: "vpc-0a1b2c3d4e5f60718", Tags: map[string]string{"team": "web"}},
		Rules: []detect.Rule{{Direction: detect.Ingress, Protocol: "tcp", FromPort: &p22, ToPort: &p22, CIDRIPv4: "0.0.0.0/0", RuleID: "sgr-0c0ffee0c0ffee001"}}}
	found := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	exps := sweep.Exposures(g, "eu-west-1", "444455556666", found, detect.Scoring{})
	if len(exps) != 1 {
		t.Fatalf("%d exposures, want 1", len(exps))
	}
	fresh := exps[0]
	seen := fresh
	sw := *fresh.Sweep
	sw.FirstSeen, sw.Published = sw.FoundAt, sw.FoundAt // as the sweep remembers it
	seen.Sweep = &sw
	// Still open 40 days later: imported again, so that Security Hub keeps it.
	again := fresh
	sa := sw
	sa.FoundAt = found.Add(40 * 24 * time.Hour).Format(time.RFC3339)
	again.Sweep = &sa
	resolved := sweep.Resolve(seen, found.Add(3*time.Hour), detect.Scoring{})
	id := "sweep/444455556666/eu-west-1/" + fresh.Sweep.Key

	tests := []struct {
		name                    string
		f                       detect.Finding
		label, created, updated string
		state, status           string
		exposure                bool
		remediation             string
	}{
		{"new exposure", fresh, "CRITICAL", "2026-11-20T10:00:00.000Z", "2026-11-20T10:00:00.000Z", "ACTIVE", "NEW", true,
			"Undo: aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718 --security-group-rule-ids sgr-0c0ffee0c0ffee001"},
		{"resolved", resolved, "INFORMATIONAL", "2026-11-20T10:00:00.000Z", "2026-11-20T13:00:00.000Z", "ARCHIVED", "RESOLVED", false, ""},
		{"re-imported while open", again, "CRITICAL", "2026-11-20T10:00:00.000Z", "2026-12-30T10:00:00.000Z", "ACTIVE", "NEW", true,
			"Undo: aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718 --security-group-rule-ids sgr-0c0ffee0c0ffee001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ToASFF(tt.f, id, caller, fixed)
			checkLimits(t, a)
			text := ""
			if a.Remediation != nil {
				text = a.Remediation.Recommendation.Text
			}
			for _, c := range []struct{ got, want string }{
				{a.ID, "sgwatch/" + id},
				{a.GeneratorID, "sgwatch/exposure-sweep"},
				{a.AwsAccountID, "111122223333"},
				{a.Resources[0].ID, "arn:aws:ec2:eu-west-1:444455556666:security-group/sg-0a1b2c3d4e5f60718"},
				{a.Resources[0].Tags["team"], "web"},
				{a.Severity.Label, tt.label},
				{a.CreatedAt, tt.created}, {a.UpdatedAt, tt.updated},
				{a.RecordState, tt.state}, {a.Workflow.Status, tt.status},
				{a.ProductFields["sgwatch/ruleKey"], fresh.Sweep.Key},
				{a.ProductFields["sgwatch/accountId"], "444455556666"},
				{text, tt.remediation},
			} {
				if c.got != c.want {
					t.Errorf("got %q, want %q", c.got, c.want)
				}
			}
			if slices.Contains(a.Types, typeExposure) != tt.exposure {
				t.Errorf("types %q: exposure %v", a.Types, tt.exposure)
			}
			if a.UpdatedAt < a.CreatedAt {
				t.Errorf("updated %s before created %s", a.UpdatedAt, a.CreatedAt)
			}
		})
	}
}

// TestASFFTimes checks the timestamps: the event's (to the millisecond,
// in UTC), else now.
func TestASFFTimes(t *testing.T) {
	tests := []struct{ time, want string }{
		{"2026-11-20T10:03:11Z", "2026-11-20T10:03:11.000Z"},
		{"2026-11-20T11:03:11.123456+01:00", "2026-11-20T10:03:11.123Z"},
		{"yesterday", "2026-11-21T08:00:00.000Z"},
		{"", "2026-11-21T08:00:00.000Z"},
	}
	for _, tt := range tests {
		f := eventFinding(t, "authorize-ingress-world-ssh")
		f.Event.Time = tt.time
		a := ToASFF(f, "event/x/0", caller, fixed)
		if a.CreatedAt != tt.want || a.UpdatedAt != tt.want || a.FirstObservedAt != tt.want {
			t.Errorf("%q: created %s updated %s first %s, want %s", tt.time, a.CreatedAt, a.UpdatedAt, a.FirstObservedAt, tt.want)
		}
	}
}

// TestRemediation checks what the undo becomes: the command when it fits,
// else the note.
func TestRemediation(t *testing.T) {
	long := "aws ec2 revoke-security-group-ingress " + strings.Repeat("x", 600)
	tests := []struct {
		name      string
		undo      *detect.Undo
		groupID   string
		text, url string
		field     bool // the command is in ProductFields
	}{
		{"command", &detect.Undo{Command: "aws ec2 x", Note: "n"}, "sg-0a1b2c3d4e5f60718", "Undo: aws ec2 x",
			"https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#SecurityGroup:groupId=sg-0a1b2c3d4e5f60718", true},
		{"long command, note", &detect.Undo{Command: long, Note: "see\nthe \u202enote"}, "", "see?the ?note", "", true},
		{"long command alone", &detect.Undo{Command: long}, "", "The undo command is too long for this field: see the notification or the product field sgwatch/undo.", "", true},
		{"note alone", &detect.Undo{Note: "nothing to undo"}, "", "nothing to undo", "", false},
		{"nothing", nil, "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := detect.Finding{Action: detect.Modify, Severity: detect.Low, Undo: tt.undo,
				Event: detect.Event{Name: "AuthorizeSecurityGroupIngress", Region: "eu-west-1"}, SecurityGroup: detect.SecurityGroup{ID: tt.groupID}}
			a := ToASFF(f, "event/x/0", caller, fixed)
			var got asffRecommendation
			if a.Remediation != nil {
				got = a.Remediation.Recommendation
				if got == (asffRecommendation{}) {
					t.Error("empty remediation")
				}
			}
			if got.Text != tt.text || got.URL != tt.url {
				t.Errorf("got %+v, want text %q url %q", got, tt.text, tt.url)
			}
			if cmd, ok := a.ProductFields["sgwatch/undo"]; ok != tt.field || (ok && cmd != tt.undo.Command) {
				t.Errorf("product field sgwatch/undo %q (%v)", cmd, ok)
			}
		})
	}
}

// TestASFFHostile maps findings full of long hostile text: every field
// within its limit, every string cleaned, and the lists cut.
func TestASFFHostile(t *testing.T) {
	// 10 KB, or short for odd i, with line breaks, a bidi override and
	// invisible characters.
	evil := func(i int) string {
		s := fmt.Sprintf("%d\n\u202e<b>", i)
		if i%2 == 1 {
			return s
		}
		return s + strings.Repeat("é\r\x00\u200b", 2560)
	}
	rules := func(d detect.Direction) []detect.Rule {
		var out []detect.Rule
		for i := range 300 {
			out = append(out, detect.Rule{Direction: d, Protocol: evil(i), CIDRIPv4: evil(i), Description: evil(i), RuleID: evil(i), Exposure: evil(i)})
		}
		return out
	}
	tags := map[string]string{}
	for i := range 60 {
		tags[evil(i)] = evil(i)
	}
	base := detect.Finding{
		Severity: detect.Severity(evil(0)), Reasons: []string{evil(1), evil(2), evil(3), evil(4), evil(5), evil(6)},
		Event:         detect.Event{ID: evil(0), Name: evil(0), Time: evil(0), Region: evil(0), AccountID: evil(0), RequestID: evil(0)},
		Actor:         detect.Actor{Type: evil(0), ARN: evil(0), UserName: evil(0)},
		SecurityGroup: detect.SecurityGroup{ID: evil(0), Name: evil(0), VPCID: evil(0), Description: evil(0), Tags: tags},
		Rules:         append(rules(detect.Ingress), rules(detect.Egress)...),
		Error:         &detect.CallError{Code: evil(0), Message: evil(0)},
		Automation:    evil(0), Notes: []string{evil(0)},
		Undo: &detect.Undo{Command: evil(0), Note: evil(1)},
	}
	cloudtrail := base
	cloudtrail.Action, cloudtrail.Outcome = detect.Modify, detect.Succeeded
	opened := cloudtrail
	opened.Event.Name, opened.Event.Region, opened.Event.AccountID = "AuthorizeSecurityGroupIngress", "eu-west-1", "111122223333"
	exposure := base
	exposure.Action, exposure.Outcome = detect.Exposure, detect.Succeeded
	exposure.Sweep = &detect.Sweep{Key: evil(0), FoundAt: evil(0), FirstSeen: evil(0), Was: detect.Severity(evil(0))}
	resolved := exposure
	resolved.Action = detect.Resolved

	tests := []struct {
		name     string
		f        detect.Finding
		exposure bool
		region   string
	}{
		{"cloudtrail", cloudtrail, false, ""},
		{"opens ingress", opened, true, "eu-west-1"},
		{"exposure", exposure, true, ""},
		{"resolved", resolved, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ToASFF(tt.f, evil(0), caller, fixed)
			checkLimits(t, a)
			sg := a.Resources[len(a.Resources)-1].Details.AwsEc2SecurityGroup
			if len(sg.IPPermissions) != maxPermissions || len(sg.IPPermissionsEgress) != maxPermissions || len(a.Resources[0].Tags) != maxTags {
				t.Errorf("%d ingress, %d egress permissions, %d tags", len(sg.IPPermissions), len(sg.IPPermissionsEgress), len(a.Resources[0].Tags))
			}
			want := "left out 10 of 60 tags, 200 of 300 ingress permissions, 200 of 300 egress permissions (the notification summarises them)"
			if got := a.ProductFields["sgwatch/shortened"]; got != want {
				t.Errorf("shortened %q, want %q", got, want)
			}
			if _, ok := a.ProductFields["sgwatch/undo"]; ok {
				t.Error("a command too long for a product field is kept")
			}
			if a.Severity.Label != "HIGH" || a.Resources[0].Region != tt.region || slices.Contains(a.Types, typeExposure) != tt.exposure {
				t.Errorf("label %s, region %q, types %q", a.Severity.Label, a.Resources[0].Region, a.Types)
			}
			if a.CreatedAt != "2026-11-21T08:00:00.000Z" {
				t.Errorf("created %s, want now", a.CreatedAt)
			}
		})
	}
}

// TestASFFEverySample maps every sample finding within the limits, and
// measures the biggest.
func TestASFFEverySample(t *testing.T) {
	files, err := samples.Files("..")
	if err != nil {
		t.Fatal(err)
	}
	biggest, name, n := 0, "", 0
	for _, file := range files {
		data, err := os.ReadFile(file.Path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := detect.Parse(data, detect.Scoring{})
		fs := b.Findings
		for i, f := range fs {
			a := ToASFF(f, fmt.Sprintf("event/%s/%d", f.Event.ID, i), caller, fixed)
			checkLimits(t, a)
			b, _ := json.Marshal(a)
			if len(b) > biggest {
				biggest, name = len(b), file.Name
			}
			n++
		}
	}
	if n < 30 || biggest == 0 || biggest >= maxFinding {
		t.Fatalf("%d findings; biggest %s: %d bytes", n, name, biggest)
	}
	t.Logf("%d findings; biggest %s: %d bytes", n, name, biggest)
}

// checkLimits checks a against ASFF's limits and that every string in it
// is cleaned.
func checkLimits(t *testing.T, a ASFF) {
	t.Helper()
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) >= maxFinding {
		t.Errorf("finding of %d bytes", len(data))
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	walk(v, func(s string) {
		if clean.Line(s, len(s)) != s || utf8.RuneCountInString(s) > maxValue {
			t.Errorf("string not cleaned or too long: %.80q", s)
		}
	})
	r := a.Resources[len(a.Resources)-1] // the security group, after what an attach or list change acted on
	sg := r.Details.AwsEc2SecurityGroup
	for _, c := range []struct {
		what     string
		s        string
		min, max int
	}{
		{"Id", a.ID, 1, maxID}, {"GeneratorId", a.GeneratorID, 1, maxID}, {"Title", a.Title, 1, maxTitle},
		{"Description", a.Description, 1, maxDescription}, {"Severity.Original", a.Severity.Original, 1, 64},
		{"Resource.Id", r.ID, 1, maxValue}, {"Resource.Region", r.Region, 0, maxRegion},
		{"AwsAccountId", a.AwsAccountID, 12, 12},
	} {
		if n := utf8.RuneCountInString(c.s); n < c.min || n > c.max {
			t.Errorf("%s of %d characters, want %d to %d", c.what, n, c.min, c.max)
		}
	}
	if a.Remediation != nil && utf8.RuneCountInString(a.Remediation.Recommendation.Text) > maxRemediation {
		t.Errorf("remediation text of %d characters", utf8.RuneCountInString(a.Remediation.Recommendation.Text))
	}
	if len(a.ProductFields) > maxFields || len(r.Tags) > maxTags || len(a.Types) > 50 ||
		len(sg.IPPermissions) > maxPermissions || len(sg.IPPermissionsEgress) > maxPermissions {
		t.Errorf("%d product fields, %d tags, %d types, %d+%d permissions", len(a.ProductFields), len(r.Tags), len(a.Types),
			len(sg.IPPermissions), len(sg.IPPermissionsEgress))
	}
	for k := range a.ProductFields {
		if utf8.RuneCountInString(k) > 128 {
			t.Errorf("product field key %.40q too long", k)
		}
	}
	for k, v := range r.Tags {
		if utf8.RuneCountInString(k) > maxTagKey || utf8.RuneCountInString(v) > maxText {
			t.Errorf("tag %.40q too long", k)
		}
	}
	for _, ty := range a.Types {
		if ns, _, _ := strings.Cut(ty, "/"); !slices.Contains([]string{"Software and Configuration Checks", "TTPs", "Effects", "Unusual Behaviors"}, ns) {
			t.Errorf("type %q not in an ASFF namespace", ty)
		}
	}
}

func walk(v any, visit func(string)) {
	switch v := v.(type) {
	case string:
		visit(v)
	case []any:
		for _, e := range v {
			walk(e, visit)
		}
	case map[string]any:
		for k, e := range v {
			visit(k)
			walk(e, visit)
		}
	}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestASFFGolden compares the ASFF of the world SSH sample with its golden
// file; run "go test ./report -update" after a deliberate change.
func TestASFFGolden(t *testing.T) {
	f := eventFinding(t, "authorize-ingress-world-ssh")
	got, err := json.MarshalIndent(ToASFF(f, "event/"+f.Event.ID+"/0", caller, fixed), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "asff-authorize-ingress-world-ssh.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("ASFF differs from %s (run go test ./report -update and review the diff):\n%s", path, got)
	}
}

// Regressions a red-team review of the Security Hub sink found (now fixed);
// each fails if it returns.

// Security Hub deletes an ACTIVE finding 90 days after its UpdatedAt
// (https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-findings.html).
const retention = 90 * 24 * time.Hour

// TestExposureUpdatedAtIsFirstSeen (a regression): an exposure's UpdatedAt is
// its FirstSeen, not when it was found (imported). An exposure the policy
// held back for months (SUPPRESS, MIN_SEVERITY) and published now, when it
// is decided on again, is imported with an UpdatedAt already past Security
// Hub's 90-day retention: the open world exposure is deleted from Security
// Hub as soon as it arrives.
func TestExposureUpdatedAtIsFirstSeen(t *testing.T) {
	p22 := 22
	rule := detect.Rule{Direction: detect.Ingress, Protocol: "tcp", FromPort: &p22, ToPort: &p22, CIDRIPv4: "0.0.0.0/0", RuleID: "sgr-0c0ffee0c0ffee001"}
	found := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	f := detect.Finding{Action: detect.Exposure, Outcome: detect.Succeeded, Severity: detect.Critical,
		Event:         detect.Event{Name: detect.SweepCall, Time: found.Format(time.RFC3339), Region: "eu-west-1", AccountID: "111122223333"},
		SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718"}, Rules: []detect.Rule{rule},
		Sweep: &detect.Sweep{Key: detect.RuleKey("sg-0a1b2c3d4e5f60718", rule), FoundAt: found.Format(time.RFC3339)}}
	f.Sweep.FirstSeen = found.Add(-100 * 24 * time.Hour).Format(time.RFC3339) // held back since
	a := ToASFF(f, "sweep/111122223333/eu-west-1/"+f.Sweep.Key, caller, found)
	updated, err := time.Parse(stamp, a.UpdatedAt)
	if err != nil {
		t.Fatal(err)
	}
	if found.Sub(updated) >= retention {
		t.Errorf("exposure found (and imported) at %s has UpdatedAt %s: Security Hub deletes it at once (90 days after UpdatedAt)", found.Format(stamp), a.UpdatedAt)
	}
}

// nonEmpty is Security Hub's NonEmptyString pattern (.*\S.*), which every
// ASFF string has, including both sides of a FieldMap (Resource.Tags,
// ProductFields): botocore securityhub service-2.json.
var nonEmpty = regexp.MustCompile(`\S`)

// blankStrings returns the paths of the string values and map keys of the
// JSON of a that are empty or only spaces.
func blankStrings(a ASFF) []string {
	b, _ := json.Marshal(a)
	var v any
	json.Unmarshal(b, &v)
	var out []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case string:
			if !nonEmpty.MatchString(x) {
				out = append(out, fmt.Sprintf("%s = %q", path, x))
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case map[string]any:
			for k, e := range x {
				if !nonEmpty.MatchString(k) {
					out = append(out, fmt.Sprintf("%s key %q", path, k))
				}
				walk(path+"."+k, e)
			}
		}
	}
	walk("", v)
	return out
}

// TestEmptyTagValue (a regression): EC2 allows a tag with an empty value (and
// anyone with ec2:CreateTags can add one), but ASFF's Resource.Tags is a
// FieldMap of NonEmptyString: the value "" fails Security Hub's input
// validation, so every finding of that group (ENRICH=true, and every sweep
// exposure, which carries its tags) is rejected — a group owner can keep
// their world-open rule out of Security Hub with one empty tag. A group
// name of spaces does the same.
func TestEmptyTagValue(t *testing.T) {
	f := eventFinding(t, "authorize-ingress-world-ssh")
	f.SecurityGroup.Tags = map[string]string{"Name": "web", "kubernetes.io/role/elb": "", "owner": "  "}
	if bad := blankStrings(ToASFF(f, "event/x/0", caller, fixed)); len(bad) > 0 {
		t.Errorf("ASFF strings Security Hub rejects (pattern .*\\S.*): %q", bad)
	}
	g := eventFinding(t, "authorize-ingress-world-ssh")
	g.SecurityGroup.Name = "   "
	if bad := blankStrings(ToASFF(g, "event/x/0", caller, fixed)); len(bad) > 0 {
		t.Errorf("ASFF strings Security Hub rejects (pattern .*\\S.*): %q", bad)
	}
}

// TestASFFGroupOwner: a rule's referenced group of another account is
// described with its owner (UserId), only when the owner is an account id.
func TestASFFGroupOwner(t *testing.T) {
	for _, c := range []struct {
		owner string
		want  map[string]string
	}{
		{"", map[string]string{"GroupId": "sg-0fedcba9876543210"}},
		{"444455556666", map[string]string{"GroupId": "sg-0fedcba9876543210", "UserId": "444455556666"}},
		{"4444555566\u202e66", map[string]string{"GroupId": "sg-0fedcba9876543210"}},
	} {
		p, ok := permission(detect.Rule{Direction: detect.Ingress, Protocol: "tcp", ReferencedGroupID: "sg-0fedcba9876543210", ReferencedGroupOwnerID: c.owner})
		if !ok || len(p.UserIDGroupPairs) != 1 || !maps.Equal(p.UserIDGroupPairs[0], c.want) {
			t.Errorf("owner %q: pairs %v, want [%v]", c.owner, p.UserIDGroupPairs, c.want)
		}
	}
}

// TestASFFChangedResource: a prefix list change names the list, and an
// attach call the interface, before the security group resource.
func TestASFFChangedResource(t *testing.T) {
	for _, c := range []struct{ sample, typ, id string }{
		{"modify-managed-prefix-list-world", "Other", "pl-0a1b2c3d4e5f60718"},
		{"modify-network-interface-attribute-groups", "AwsEc2NetworkInterface", "eni-0f1e2d3c4b5a69788"},
		{"modify-instance-attribute-groups", "AwsEc2Instance", "i-0a1b2c3d4e5f60718"},
		{"authorize-ingress-world-ssh", "AwsEc2SecurityGroup", ""},
	} {
		data, err := os.ReadFile("../events/" + c.sample + ".json")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := detect.Parse(data, detect.Scoring{})
		a := ToASFF(b.Findings[0], "event/x/0", caller, fixed)
		if r := a.Resources[0]; r.Type != c.typ || c.id != "" && r.ID != c.id || len(a.Resources) != 1+btoi(c.id != "") {
			t.Errorf("%s: resources %+v, want %s %s first", c.sample, a.Resources, c.typ, c.id)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
