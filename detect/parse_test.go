package detect

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// want is what a test expects of the one finding an input yields.
type want struct {
	action   Action
	outcome  Outcome
	severity Severity
	group    string
	vpc      string
	rules    int
	ruleIDs  []string // in order, "" for a rule without id
}

func parseOne(t *testing.T, data []byte) *Finding {
	t.Helper()
	fs, err := parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	switch len(fs) {
	case 0:
		return nil
	case 1:
		return &fs[0]
	}
	t.Fatalf("Parse returned %d findings, want at most 1", len(fs))
	return nil
}

func check(t *testing.T, f *Finding, w *want) {
	t.Helper()
	if w == nil {
		if f != nil {
			t.Fatalf("got a %s finding for %s, want none", f.Severity, f.Event.Name)
		}
		return
	}
	if f == nil {
		t.Fatal("got no finding, want one")
	}
	if f.Action != w.action || f.Outcome != w.outcome || f.Severity != w.severity {
		t.Errorf("got %s/%s/%s, want %s/%s/%s (reasons %q)", f.Action, f.Outcome, f.Severity, w.action, w.outcome, w.severity, f.Reasons)
	}
	if f.SecurityGroup.ID != w.group {
		t.Errorf("group id = %q, want %q", f.SecurityGroup.ID, w.group)
	}
	if f.SecurityGroup.VPCID != w.vpc {
		t.Errorf("vpc id = %q, want %q", f.SecurityGroup.VPCID, w.vpc)
	}
	if len(f.Rules) != w.rules {
		t.Errorf("got %d rules, want %d: %+v", len(f.Rules), w.rules, f.Rules)
	}
	if w.ruleIDs != nil {
		var ids []string
		for _, r := range f.Rules {
			ids = append(ids, r.RuleID)
		}
		if !slices.Equal(ids, w.ruleIDs) {
			t.Errorf("rule ids = %q, want %q", ids, w.ruleIDs)
		}
	}
	if len(f.Reasons) == 0 {
		t.Error("no reasons")
	}
}

const sg = "sg-0a1b2c3d4e5f60718"

// TestEvents covers every sample event shipped for sam local invoke.
func TestEvents(t *testing.T) {
	cases := map[string]*want{
		"associate-security-group-vpc":          {Modify, Succeeded, Low, sg, "vpc-0aaaabbbbccccdddd", 0, nil},
		"authorize-egress-world":                {Modify, Succeeded, Medium, sg, "", 1, []string{"sgr-0300000000000000a"}},
		"authorize-ingress-internal":            {Modify, Succeeded, Low, sg, "", 3, []string{"sgr-0100000000000000a", "sgr-0100000000000000b", "sgr-0100000000000000c"}},
		"authorize-ingress-ipv6-rdp-by-name":    {Modify, Succeeded, Critical, "sg-0defa0170000000aa", "", 1, []string{"sgr-0200000000000000a"}},
		"authorize-ingress-public-ssh":          {Modify, Succeeded, Medium, sg, "", 1, []string{"sgr-0c0ffee0c0ffee021"}},
		"cloudformation-authorize-ingress-8443": {Modify, Succeeded, High, sg, "", 1, []string{"sgr-0c0ffee0c0ffee020"}},
		"root-access-key-create-security-group": {Create, Succeeded, Critical, sg, "vpc-0123456789abcdef0", 0, nil},
		"authorize-ingress-world-ssh":           {Modify, Succeeded, Critical, sg, "", 1, []string{"sgr-0c0ffee0c0ffee001"}},
		"create-security-group":                 {Create, Succeeded, Low, sg, "vpc-0123456789abcdef0", 0, nil},
		"delete-security-group":                 {Delete, Succeeded, Low, "sg-0fedcba9876543210", "", 0, nil},
		"disassociate-security-group-vpc":       {Modify, Succeeded, Low, sg, "vpc-0aaaabbbbccccdddd", 0, nil},
		"dry-run":                               {Modify, DryRun, Info, sg, "", 1, []string{""}},
		"failed-unauthorized":                   {Modify, Failed, Medium, sg, "", 1, []string{""}},
		"modify-security-group-rules-world-db":  {Modify, Succeeded, Critical, sg, "", 1, []string{"sgr-0100000000000000a"}},
		"not-security-group":                    nil,
		// Offline an attach call is not judged (info, not published), and a
		// prefix list call is judged on the entries its record holds.
		"modify-network-interface-attribute-groups": {Modify, Succeeded, Info, "", "", 0, nil},
		"modify-instance-attribute-groups":          {Modify, Succeeded, Info, "", "", 0, nil},
		"create-managed-prefix-list":                {Create, Succeeded, Low, "", "", 0, nil},
		"modify-managed-prefix-list-world":          {Modify, Succeeded, High, "", "", 0, nil},
		"restore-managed-prefix-list-version":       {Modify, Succeeded, Medium, "", "", 0, nil},
		// Offline a Block Public Access change is judged on its record.
		"modify-vpc-block-public-access-off":       {Modify, Succeeded, High, "", "", 0, nil},
		"create-vpc-block-public-access-exclusion": {Create, Succeeded, High, "", "", 0, nil},
		// A change of sgwatch:public is reported with who set it: setting a
		// port is medium, removing it low.
		"create-tags-sgwatch-public":        {Modify, Succeeded, Medium, sg, "", 0, nil},
		"delete-tags-sgwatch-public":        {Modify, Succeeded, Low, sg, "", 0, nil},
		"authorize-ingress-split-world":     {Modify, Succeeded, Critical, sg, "", 2, []string{"sgr-0c0ffee0c0ffee011", "sgr-0c0ffee0c0ffee012"}},
		"authorize-ingress-duplicate":       {Modify, Failed, High, sg, "", 1, []string{""}},
		"authorize-ingress-unreadable-port": {Modify, Succeeded, Critical, sg, "", 1, []string{"sgr-0c0ffee0c0ffee014"}},
		"revoke-ingress-nothing-matched":    {Modify, Succeeded, Info, "", "", 1, []string{""}},
		"revoke-egress-by-rule-id":          {Modify, Succeeded, Info, sg, "", 1, []string{"sgr-0300000000000000a"}},
		"revoke-ingress":                    {Modify, Succeeded, Info, sg, "", 1, []string{"sgr-0c0ffee0c0ffee001"}},
		"root-authorize-ingress":            {Modify, Succeeded, High, sg, "", 1, []string{""}},
		"update-descriptions-egress":        {Modify, Succeeded, Info, sg, "", 1, []string{"sgr-0300000000000000a"}},
		"update-descriptions-ingress":       {Modify, Succeeded, Info, sg, "", 1, []string{""}},
	}
	files, _ := filepath.Glob("../events/*.json")
	if len(files) != len(cases) {
		t.Errorf("events/ holds %d files, the table %d: give every event an expectation", len(files), len(cases))
	}
	seen := map[string]bool{}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			w, ok := cases[name]
			if !ok {
				t.Fatalf("no expectation for events/%s.json", name)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f := parseOne(t, data)
			check(t, f, w)
			if f != nil {
				seen[f.Event.Name] = true
				if f.Event.Region != "eu-west-1" || f.Event.AccountID != "111122223333" || f.Event.ID == "" || f.Event.Time == "" {
					t.Errorf("event fields incomplete: %+v", f.Event)
				}
			}
		})
	}
	for _, c := range Calls() {
		if !seen[c] {
			t.Errorf("no sample event in events/ for %s", c)
		}
	}
}

// TestRealRecords runs every public record in testdata/cloudtrail and checks
// that a finding appears exactly for the records the provenance table marks
// as security-group changes, with the expected severity.
func TestRealRecords(t *testing.T) {
	severity := map[string]Severity{
		"netflix-historical/AuthorizeSecurityGroupIngress-1.json":   Low,      // tcp 0-65535 from a group
		"nuvibit-website/AuthorizeSecurityGroupIngress-1.json":      Critical, // 0.0.0.0/0 tcp 0-65535
		"panther-analysis/AuthorizeSecurityGroupEgress-1.json":      Medium,   // egress all to 0.0.0.0/0
		"panther-analysis/AuthorizeSecurityGroupIngress-1.json":     Low,      // 0.0.0.0/16 is not /0
		"panther-analysis/AuthorizeSecurityGroupIngress-2.json":     Critical, // 0.0.0.0/0 tcp/22
		"panther-analysis/AuthorizeSecurityGroupIngress-3.json":     Medium,   // UnauthorizedOperation
		"panther-analysis/AuthorizeSecurityGroupIngress-4.json":     Low,
		"panther-analysis/AuthorizeSecurityGroupIngress-5.json":     Info, // failed, RequestExpired
		"panther-analysis/CreateSecurityGroup-1.json":               Low,
		"reflexivesecurity/AuthorizeSecurityGroupIngress-1.json":    High, // world to tcp/55
		"reflexivesecurity/CreateSecurityGroup-1.json":              Low,
		"stratus-red-team/AuthorizeSecurityGroupIngress-1.json":     Critical, // 208.236.235.254/0, legacy flat form
		"streamalert/AuthorizeSecurityGroupIngress-1.json":          Critical, // -1 from 0.0.0.0/0 and ::/0
		"streamalert/AuthorizeSecurityGroupIngress-2.json":          Low,
		"watch-security-group/AuthorizeSecurityGroupIngress-1.json": Critical,
		"watch-security-group/AuthorizeSecurityGroupIngress-2.json": Critical,
		"watch-security-group/AuthorizeSecurityGroupIngress-3.json": Low,
	}
	table := provenance(t)
	files, _ := filepath.Glob("../testdata/cloudtrail/*/*.json")
	if len(files) == 0 || len(files) != len(table) {
		t.Fatalf("testdata/cloudtrail holds %d records, its provenance table lists %d", len(files), len(table))
	}
	for file, isSG := range table {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("../testdata/cloudtrail", file))
			if err != nil {
				t.Fatal(err)
			}
			f := parseOne(t, data)
			if (f != nil) != isSG {
				t.Fatalf("finding: %v, provenance says security-group change: %v", f != nil, isSG)
			}
			if f == nil {
				return
			}
			w, ok := severity[file]
			if !ok {
				t.Fatalf("no expected severity for %s (got %s)", file, f.Severity)
			}
			if f.Severity != w {
				t.Errorf("severity %s, want %s (reasons %q)", f.Severity, w, f.Reasons)
			}
		})
	}
}

// provenance reads the table in testdata/cloudtrail/README.md: file → whether
// its authors' record is a security-group change.
func provenance(t *testing.T) map[string]bool {
	t.Helper()
	fh, err := os.Open("../testdata/cloudtrail/README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "|")
		if len(cols) < 5 || !strings.HasSuffix(strings.TrimSpace(cols[1]), ".json") {
			continue
		}
		out[strings.TrimSpace(cols[1])] = strings.TrimSpace(cols[3]) == "yes"
	}
	return out
}

func TestGzipLogFile(t *testing.T) {
	var log bytes.Buffer
	log.WriteString(`{"Records":[`)
	for i, path := range []string{
		"../testdata/cloudtrail/stratus-red-team/AuthorizeSecurityGroupIngress-1.json",
		"../testdata/cloudtrail/stratus-red-team/CreateUser-1.json",
		"../testdata/cloudtrail/panther-analysis/CreateSecurityGroup-1.json",
	} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			log.WriteByte(',')
		}
		log.Write(data)
	}
	log.WriteString(`]}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(log.Bytes())
	zw.Close()
	for name, data := range map[string][]byte{"plain": log.Bytes(), "gzip": gz.Bytes()} {
		t.Run(name, func(t *testing.T) {
			fs, err := parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != 2 || fs[0].Severity != Critical || fs[1].Action != Create {
				t.Fatalf("got %d findings %+v, want the critical ingress and the create", len(fs), fs)
			}
		})
	}
}

func TestLogFileKeepsGoodRecords(t *testing.T) {
	data := []byte(`{"Records":[
		{"eventSource":"ec2.amazonaws.com","eventName":"DeleteSecurityGroup","requestParameters":{"groupId":"sg-1"}},
		"not a record",
		{"eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","requestParameters":{"groupId":"sg-2","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":"ssh","ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}}
	]}`)
	fs, err := parse(data)
	if err == nil || !strings.Contains(err.Error(), "record 2: record is a string") {
		t.Fatalf("error %v, want one naming record 2 and what it is", err)
	}
	if len(fs) != 2 || fs[0].SecurityGroup.ID != "sg-1" || fs[1].SecurityGroup.ID != "sg-2" {
		t.Fatalf("findings %+v, want both security-group records'", fs)
	}
	// The unreadable port is a note, and the rule counts as every port.
	if f := fs[1]; f.Severity != Critical || len(f.Notes) != 1 || !strings.Contains(f.Notes[0], `fromPort: want a port number, got "ssh"`) {
		t.Errorf("record 2: severity %s, notes %q", f.Severity, f.Notes)
	}
}

// TestShapes feeds every record shape facts.md lists as seen in real records.
func TestShapes(t *testing.T) {
	rec := func(name, params, response, extra string) string {
		if response == "" {
			response = `{"_return":true}`
		}
		return `{"eventSource":"ec2.amazonaws.com","eventName":"` + name + `","eventID":"e1","awsRegion":"us-east-1",` +
			`"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"},` + extra +
			`"requestParameters":` + params + `,"responseElements":` + response + `}`
	}
	port := func(n int) *int { return &n }
	cases := []struct {
		name string
		in   string
		rule Rule // the first rule
		sev  Severity
		sg   string
	}{
		{"ports as strings",
			rec("AuthorizeSecurityGroupIngress", `{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":"443","toPort":"443","ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]},"ipv6Ranges":{},"prefixListIds":{},"groups":{}}]}}`, "", ""),
			Rule{Direction: Ingress, Protocol: "tcp", FromPort: port(443), ToPort: port(443), CIDRIPv4: "0.0.0.0/0"}, High, "sg-1"},
		{"items as one object",
			rec("AuthorizeSecurityGroupIngress", `{"groupId":"sg-1","ipPermissions":{"items":{"ipProtocol":"6","fromPort":22,"toPort":22,"ipRanges":{"items":{"cidrIp":"10.0.0.0/8"}}}}}`, "", ""),
			Rule{Direction: Ingress, Protocol: "tcp", FromPort: port(22), ToPort: port(22), CIDRIPv4: "10.0.0.0/8"}, Low, "sg-1"},
		{"items as a bare list",
			rec("AuthorizeSecurityGroupEgress", `{"groupId":"sg-1","ipPermissions":[{"ipProtocol":"udp","fromPort":53,"toPort":53,"ipv6Ranges":[{"cidrIpv6":"2001:db8::/32"}]}]}`, "", ""),
			Rule{Direction: Egress, Protocol: "udp", FromPort: port(53), ToPort: port(53), CIDRIPv6: "2001:db8::/32"}, Low, "sg-1"},
		{"legacy flat form",
			rec("AuthorizeSecurityGroupIngress", `{"groupId":"sg-1","ipPermissions":{},"cidrIp":"0.0.0.0/0","ipProtocol":"tcp","fromPort":3389,"toPort":3389}`, "", ""),
			Rule{Direction: Ingress, Protocol: "tcp", FromPort: port(3389), ToPort: port(3389), CIDRIPv4: "0.0.0.0/0"}, Critical, "sg-1"},
		{"legacy flat form with a source group",
			rec("AuthorizeSecurityGroupIngress", `{"groupName":"web","sourceSecurityGroupName":"lb","sourceSecurityGroupOwnerId":"1"}`, "", ""),
			Rule{Direction: Ingress, ReferencedGroupID: "lb", ReferencedGroupOwnerID: "1"}, Low, ""},
		{"capitalised ModifySecurityGroupRules, list",
			rec("ModifySecurityGroupRules", `{"ModifySecurityGroupRulesRequest":{"GroupId":"sg-1","SecurityGroupRule":[{"SecurityGroupRuleId":"sgr-1","SecurityGroupRule":{"IpProtocol":"-1","CidrIpv6":"::/0"}},{"SecurityGroupRuleId":"sgr-2","SecurityGroupRule":{"IpProtocol":"tcp","FromPort":80,"ToPort":80,"ReferencedGroupId":"sg-2"}}]}}`, `{"ModifySecurityGroupRulesResponse":{"return":true}}`, ""),
			Rule{Protocol: "all", CIDRIPv6: "::/0", RuleID: "sgr-1"}, Critical, "sg-1"},
		{"groupName-only call resolved from the response rule set",
			rec("AuthorizeSecurityGroupIngress", `{"groupName":"default","ipPermissions":{"items":[{"ipProtocol":"icmp","fromPort":8,"toPort":0,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}`,
				`{"_return":true,"securityGroupRuleSet":{"items":[{"groupId":"sg-9","securityGroupRuleId":"sgr-9","isEgress":"false","ipProtocol":"icmp","fromPort":8,"toPort":0,"cidrIpv4":"0.0.0.0/0"}]}}`, ""),
			Rule{Direction: Ingress, Protocol: "icmp", FromPort: port(8), ToPort: port(0), CIDRIPv4: "0.0.0.0/0", RuleID: "sgr-9"}, High, "sg-9"},
		{"rules only in the response",
			rec("AuthorizeSecurityGroupEgress", `{"groupName":"default"}`,
				`{"_return":true,"securityGroupRuleSet":{"items":{"groupId":"sg-9","securityGroupRuleId":"sgr-9","isEgress":true,"ipProtocol":"-1","fromPort":-1,"toPort":-1,"prefixListId":"pl-1"}}}`, ""),
			Rule{Direction: Egress, Protocol: "all", PrefixListID: "pl-1", RuleID: "sgr-9"}, Low, "sg-9"},
		{"null responseElements",
			rec("DeleteSecurityGroup", `{"groupId":"sg-1"}`, "null", ""),
			Rule{}, Low, "sg-1"},
		{"missing responseElements and requestParameters",
			`{"eventSource":"ec2.amazonaws.com","eventName":"DeleteSecurityGroup"}`,
			Rule{}, Low, ""},
		{"_return as a string",
			rec("DeleteSecurityGroup", `{"groupId":"sg-1"}`, `{"_return":"true"}`, ""),
			Rule{}, Low, "sg-1"},
		{"lower-case userIdentity keys, Root",
			`{"eventsource":"ec2.amazonaws.com","eventname":"RevokeSecurityGroupIngress","useridentity":{"type":"Root","accountid":"1","sessioncontext":{"attributes":{"mfaauthenticated":"True"}}},"requestparameters":{"groupid":"sg-1","securityGroupRuleIds":{"items":[{"securityGroupRuleId":"sgr-1"}]}}}`,
			Rule{Direction: Ingress, RuleID: "sgr-1"}, High, "sg-1"},
		{"icmp all types",
			rec("AuthorizeSecurityGroupIngress", `{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"icmpv6","fromPort":-1,"toPort":-1,"ipv6Ranges":{"items":[{"cidrIpv6":"::/0"}]}}]}}`, "", ""),
			Rule{Direction: Ingress, Protocol: "icmpv6", FromPort: port(-1), ToPort: port(-1), CIDRIPv6: "::/0"}, High, "sg-1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := parseOne(t, []byte(c.in))
			if f == nil {
				t.Fatal("no finding")
			}
			if f.Severity != c.sev {
				t.Errorf("severity %s, want %s (%q)", f.Severity, c.sev, f.Reasons)
			}
			if f.SecurityGroup.ID != c.sg {
				t.Errorf("group %q, want %q", f.SecurityGroup.ID, c.sg)
			}
			if c.rule == (Rule{}) {
				if len(f.Rules) != 0 {
					t.Errorf("rules %+v, want none", f.Rules)
				}
				return
			}
			if len(f.Rules) == 0 {
				t.Fatal("no rules")
			}
			if got := f.Rules[0]; !reflect.DeepEqual(got, c.rule) {
				t.Errorf("rule\n got %s\nwant %s", show(got), show(c.rule))
			}
		})
	}
}

func TestActor(t *testing.T) {
	data, err := os.ReadFile("../testdata/cloudtrail/panther-analysis/AuthorizeSecurityGroupIngress-1.json")
	if err != nil {
		t.Fatal(err)
	}
	f := parseOne(t, data)
	a := f.Actor
	if a.Type != "AssumedRole" || a.ARN != "arn:aws:sts::112233445566:assumed-role/TestAdmin/alan" ||
		a.PrincipalID != "ARORJ4ULULLE0EEJAAKDO:alan" || a.AccessKeyID != "ASIASWJRT64Z7ZLFLJNI" ||
		a.SessionIssuerARN != "arn:aws:iam::112233445566:role/TestAdmin" || a.AccountID != "112233445566" ||
		a.MFAAuthenticated == nil || !*a.MFAAuthenticated || a.SourceIP != "136.25.37.134" ||
		a.UserAgent != "console.ec2.amazonaws.com" {
		t.Errorf("actor from lower-case keys: %+v", a)
	}
	data, err = os.ReadFile("../testdata/cloudtrail/reflexivesecurity/CreateSecurityGroup-1.json")
	if err != nil {
		t.Fatal(err)
	}
	f = parseOne(t, data)
	if f.Actor.InvokedBy != "signin.amazonaws.com" || f.Actor.UserName != "test" || f.SecurityGroup.Name != "test-security-group" ||
		f.SecurityGroup.Description != "testingec2rule" || f.SecurityGroup.VPCID != "vpc-0000000e" {
		t.Errorf("create: actor %+v group %+v", f.Actor, f.SecurityGroup)
	}
}

func TestEnvelopeFillsRedactedRecord(t *testing.T) {
	in := `{"account":12345,"region":"eu-north-1","time":"2026-01-01T00:00:00Z","detail-type":"AWS API Call via CloudTrail",
		"detail":{"eventSource":"ec2.amazonaws.com","eventName":"DeleteSecurityGroup","requestParameters":{"groupId":"sg-1"}}}`
	f := parseOne(t, []byte(in))
	if f.Event.AccountID != "12345" || f.Event.Region != "eu-north-1" || f.Event.Time != "2026-01-01T00:00:00Z" {
		t.Errorf("event %+v, want the envelope's account, region and time", f.Event)
	}
}

func TestNotSecurityGroup(t *testing.T) {
	for _, in := range []string{
		`{"eventSource":"rds.amazonaws.com","eventName":"AuthorizeDBSecurityGroupIngress","requestParameters":{"dBSecurityGroupName":"x"}}`,
		`{"eventSource":"ec2.amazonaws.com","eventName":"DescribeSecurityGroups","requestParameters":{"groupId":{"weird":1}}}`,
		`{"eventSource":"ec2.amazonaws.com","eventName":"CreateTags","requestParameters":{"resourcesSet":{"items":[{"resourceId":"sg-1"}]}}}`,
		`{"eventSource":"ec2.amazonaws.com","eventName":"RunInstances","userIdentity":{"arn":{"odd":1}},"errorCode":[1]}`,
		`{"detail":{"eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":"maybe"}}}}}`,
		`{"Records":[{"eventSource":"iam.amazonaws.com","eventName":"CreateUser","userIdentity":[]}]}`,
		`{"version":"0","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`,
		`{"detail-type":"x","detail":null}`,
		`{"Records":[]}`,
	} {
		fs, err := parse([]byte(in))
		if err != nil || len(fs) != 0 {
			t.Errorf("parse(%s) = %v, %v; want nothing and no error", in, fs, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "empty input"},
		{"   \n", "empty input"},
		{"[]", "input is a list"},
		{`"x"`, "input is a string"},
		{"{not json", "decode input"},
		{`{"foo":1}`, "unrecognised input"},
		{`{"detail":"x"}`, "detail is a string"},
		{`{"Records":{"a":1}}`, "Records"},
		{`{"Records":[1]}`, "record 1: record is a number"},
		{`{"Records":[{"eventName":"x"},{"eventName":`, "decode input"},
		{"\x1f\x8bnot gzip", "gzip"},
	}
	for _, c := range cases {
		_, err := parse([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parse(%q) error = %v, want one containing %q", c.in, err, c.want)
		}
	}
}

func show(r Rule) string {
	return fmt.Sprintf("%s %s %s %s %s %s", r.Direction, r.Protocol, Target(r), r.Source(), r.RuleID, r.Description)
}

// parse is Parse with the default Scoring: the findings, and the error.
func parse(data []byte) ([]Finding, error) {
	b, err := Parse(data, Scoring{})
	return b.Findings, err
}
