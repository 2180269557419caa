package report

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sgwatch/sgwatch/detect"
)

// wide is a finding with n public IPv6 ranges in one call, a reason and a
// note for each: more than one SNS message can carry in either format.
func wide(n int) detect.Finding {
	f := detect.Finding{Action: detect.Modify, Outcome: detect.Succeeded, Severity: detect.Medium,
		Event:         detect.Event{ID: "00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f", Name: "AuthorizeSecurityGroupIngress", Region: "eu-west-1", AccountID: "111122223333"},
		Actor:         detect.Actor{Type: "IAMUser", UserName: "u", ARN: "arn:aws:iam::111122223333:user/u"},
		SecurityGroup: detect.SecurityGroup{ID: "sg-0123456789abcdef0"},
		Undo:          &detect.Undo{Note: "the undo command would be over 32 KiB"},
	}
	port := 443
	for i := range n {
		cidr := fmt.Sprintf("2600:1f%02x:%04x::/40", i%256, i)
		f.Rules = append(f.Rules, detect.Rule{Direction: detect.Ingress, Protocol: "tcp", FromPort: &port, ToPort: &port, CIDRIPv6: cidr})
		f.Reasons = append(f.Reasons, "ingress from "+cidr+" (public range broader than /48) to tcp/443")
		f.Notes = append(f.Notes, fmt.Sprintf("ipPermissions.items[%d].ipv6Ranges: description not understood", i))
	}
	return f
}

// hostileEverywhere sets every string of f, however deep, to s: the fields
// detect has today and any it adds later.
func hostileEverywhere(f *detect.Finding, s string) {
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			v.SetString(s)
		case reflect.Struct:
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		case reflect.Pointer:
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			fill(v.Elem())
		case reflect.Slice:
			if v.Len() == 0 {
				v.Set(reflect.MakeSlice(v.Type(), 3, 3))
			}
			for i := range v.Len() {
				fill(v.Index(i))
			}
		case reflect.Map:
			m := reflect.MakeMap(v.Type())
			for i := range 3 {
				e := reflect.New(v.Type().Elem()).Elem()
				fill(e)
				m.SetMapIndex(reflect.ValueOf(fmt.Sprint(i)+s), e)
			}
			v.Set(m)
		}
	}
	fill(reflect.ValueOf(f).Elem())
}

// TestFitsOneMessage renders findings too large for one SNS message: each
// fits whole (subject, body, attributes), says how many of each list it
// leaves out, and the JSON body still follows the schema.
func TestFitsOneMessage(t *testing.T) {
	sch := compileSchema(t)
	longText := strings.Repeat("<&\U0001F600", 200) // 6, 6 and 4 bytes in JSON
	hostile := wide(300)
	hostileEverywhere(&hostile, longText)
	for i := range 300 {
		hostile.SecurityGroup.Tags[fmt.Sprint(i)+longText] = longText
	}
	hostile.Undo.Command = "aws ec2 revoke-security-group-ingress " + strings.Repeat("x", 300_000)
	// The enumerations stay valid, so the schema can judge the rest.
	hostile.Action, hostile.Outcome, hostile.Severity, hostile.SeverityBeforeAutomation = detect.Modify, detect.Succeeded, detect.High, detect.Critical
	hostile.Actor.CredentialType = detect.Temporary
	hostile.Sweep.Was = detect.Critical
	// Built by detect from validated values, but for why and the re-read.
	hostile.Revert = &detect.Revert{Status: detect.RevertFailure, Rules: []string{"sgr-0123456789abcdef0"}, At: "2026-12-07T20:00:00Z", Why: longText, Reread: longText,
		Approve: "aws ec2 create-tags --region eu-west-1 --resources sgr-0123456789abcdef0 --tags Key=sgwatch:approved-until,Value=2026-12-08T20:00:00Z",
		Reopen:  `aws ec2 authorize-security-group-ingress --region eu-west-1 --group-id sg-0123456789abcdef0 --ip-permissions '[]'`}
	for i := range hostile.Rules {
		r := &hostile.Rules[i]
		r.Direction, r.CIDRIPv4, r.PrefixListID, r.ReferencedGroupID, r.RuleID = detect.Ingress, "", "", "", ""
	}

	cases := []struct {
		name string
		f    detect.Finding
		// what each list keeps in the text body (all but "… and N more")
		textKeeps [lists]int
		// the lists the JSON body must shorten
		jsonCuts []string
	}{
		{"1,500 IPv6 ranges, reasons and notes", wide(1500), [lists]int{100, 100, 100, 0}, []string{"rules", "reasons", "notes"}},
		{"3,000 rules with long descriptions", func() detect.Finding {
			f := wide(0)
			for range 3000 {
				f.Rules = append(f.Rules, detect.Rule{Direction: detect.Ingress, Protocol: "tcp", CIDRIPv4: "10.0.0.0/8", Description: strings.Repeat("d", 255)})
			}
			f.Reasons = []string{"adds or changes rules"}
			return f
		}(), [lists]int{100, 1, 0, 0}, []string{"rules"}},
		{"every field hostile and long, 300 tags, a 300 KB undo command", hostile, [lists]int{-1, -1, -1, -1}, []string{"rules", "reasons", "notes", "tags"}},
		{"100 of each: nothing left out", wide(100), [lists]int{100, 100, 100, 0}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, format := range []Format{Text, JSON} {
				n, err := Render(c.f, format)
				if err != nil {
					t.Fatalf("%s: %v", format, err)
				}
				if size := overhead(n) + len(n.Body); size > maxMessage {
					t.Errorf("%s: %d bytes, more than SNS's %d", format, size, maxMessage)
				}
				if huge := c.f.Undo != nil && len(c.f.Undo.Command) > maxMessage; huge != strings.Contains(n.Body, undoLeftOut) {
					t.Errorf("%s: undo command of %d bytes, body says it is left out: %v", format, len(c.f.Undo.Command), !huge)
				}
				if format == Text {
					checkTextLists(t, c.f, n.Body, c.textKeeps)
					continue
				}
				checkJSONLists(t, sch, c.f, n.Body, c.jsonCuts)
			}
		})
	}
}

// checkTextLists checks that each list of the text body shows keep lines
// (-1: any number) and counts the rest.
func checkTextLists(t *testing.T, f detect.Finding, body string, keep [lists]int) {
	t.Helper()
	total := [lists]int{len(f.Rules), len(f.Reasons), len(f.Notes), len(f.SecurityGroup.Tags)}
	more := [lists]string{"rules like these", "reasons like these", "notes like these", "tags"}
	for i := range lists {
		if keep[i] == -1 {
			if !strings.Contains(body, " more "+more[i]+"\n") {
				t.Errorf("text body does not count the %s it leaves out", listNames[i])
			}
			continue
		}
		line := "  … and " + thousands(total[i]-keep[i]) + " more " + more[i] + "\n"
		if got := strings.Contains(body, line); got != (keep[i] < total[i]) {
			t.Errorf("text body: line %q present %v, want %v", line, got, !got)
		}
	}
	if keep[rulesList] > 0 {
		if got := strings.Count(body, "\n  + ingress "); got != keep[rulesList] {
			t.Errorf("text body shows %d rules, want %d", got, keep[rulesList])
		}
	}
}

// checkJSONLists checks that the JSON body is valid, keeps the first items
// of each list and says how many of those in cuts it leaves out.
func checkJSONLists(t *testing.T, sch *jsonschema.Schema, f detect.Finding, body string, cuts []string) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("shortened JSON body breaks the schema: %v", err)
	}
	var back detect.Finding
	if err := json.Unmarshal([]byte(body), &back); err != nil {
		t.Fatal(err)
	}
	notes := back.Notes
	var summary string
	if len(cuts) > 0 && len(notes) > 0 {
		summary, notes = notes[len(notes)-1], notes[:len(notes)-1]
	}
	kept := map[string][2]int{
		"rules":   {len(back.Rules), len(f.Rules)},
		"reasons": {len(back.Reasons), len(f.Reasons)},
		"notes":   {len(notes), len(f.Notes)},
		"tags":    {len(back.SecurityGroup.Tags), len(f.SecurityGroup.Tags)},
	}
	for _, name := range listNames {
		k := kept[name]
		cut := strings.Contains(strings.Join(cuts, " "), name)
		if cut != (k[0] < k[1]) {
			t.Errorf("JSON body keeps %d of %d %s", k[0], k[1], name)
		}
		if cut && k[0] == 0 {
			t.Errorf("JSON body keeps none of its %d %s", k[1], name)
		}
		if want := fmt.Sprintf("%s of %s %s", thousands(k[1]-k[0]), thousands(k[1]), name); cut && !strings.Contains(summary, want) {
			t.Errorf("JSON body's last note %q does not say %q", summary, want)
		}
	}
	if len(back.Reasons) > 0 && len(f.Reasons) > 0 && back.Reasons[0] != sanitize(f).Reasons[0] {
		t.Errorf("JSON body does not keep the first reason: %q", back.Reasons[0])
	}
	// The room is used, not squandered: a shortened body is near the limit.
	if len(cuts) > 0 && len(body) < maxMessage-4096 {
		t.Errorf("shortened JSON body of %d bytes leaves more than 4 KiB unused", len(body))
	}
}

// TestFittingCleans gives every string of a finding too large for one
// message a right-to-left override: no body keeps one after fitting.
func TestFittingCleans(t *testing.T) {
	f := wide(1500)
	hostileEverywhere(&f, "evil\u202egnp.exe\u3164\n")
	f.Reasons[0] = "\u202e" + f.Reasons[0]
	for _, format := range []Format{Text, JSON} {
		n, err := Render(f, format)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"\u202e", `\u202e`, `\u202E`, "\u3164", `\n`} {
			if strings.Contains(n.Body, bad) {
				t.Errorf("%s body keeps %q", format, bad)
			}
		}
		if !strings.Contains(n.Body, "evil?gnp.exe??") {
			t.Errorf("%s body lost the cleaned text", format)
		}
	}
}

func TestShare(t *testing.T) {
	cases := []struct {
		name   string
		budget int
		sizes  [lists][]int
		want   [lists]int
	}{
		{"all fit", 100, [lists][]int{{10, 10}, {10}, nil, {5}}, [lists]int{2, 1, 0, 1}},
		{"equal parts", 60, [lists][]int{{10, 10, 10}, {10, 10, 10}, {10, 10, 10}, nil}, [lists]int{2, 2, 2, 0}},
		{"a small list passes the rest on, and so does rounding", 100, [lists][]int{{5}, {30, 30, 30}, {30, 30, 30}, nil}, [lists]int{1, 1, 2, 0}},
		{"a small list passes the rest on, more room", 125, [lists][]int{{5}, {30, 30, 30}, {30, 30, 30}, nil}, [lists]int{1, 2, 2, 0}},
		{"first items first, never skipping one", 50, [lists][]int{{40, 1, 1}, nil, nil, nil}, [lists]int{3, 0, 0, 0}},
		{"a big first item keeps none", 30, [lists][]int{{40, 1}, nil, nil, nil}, [lists]int{0, 0, 0, 0}},
		{"what the last list leaves goes round again", 105, [lists][]int{{30, 30, 30}, {20, 25, 100}, nil, nil}, [lists]int{2, 2, 0, 0}},
		{"no room", 0, [lists][]int{{1}, {1}, {1}, {1}}, [lists]int{}},
		{"less than none", -5, [lists][]int{{1}, nil, nil, nil}, [lists]int{}},
	}
	for _, c := range cases {
		if got := share(c.budget, c.sizes); got != c.want {
			t.Errorf("%s: share = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 1380: "1,380", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
