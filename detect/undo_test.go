package detect

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestUndo checks the undo of every sample event (issue 4, section 1).
func TestUndo(t *testing.T) {
	cases := []struct {
		event   string
		command string // exact; "" for none
		note    string // a substring of the note; "" for none
	}{
		{"authorize-ingress-world-ssh", "aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718 --security-group-rule-ids sgr-0c0ffee0c0ffee001", ""},
		{"authorize-ingress-internal", "aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718 --security-group-rule-ids sgr-0100000000000000a sgr-0100000000000000b sgr-0100000000000000c", ""},
		{"authorize-egress-world", "aws ec2 revoke-security-group-egress --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718 --security-group-rule-ids sgr-0300000000000000a", ""},
		{"authorize-ingress-ipv6-rdp-by-name", "aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0defa0170000000aa --security-group-rule-ids sgr-0200000000000000a", ""},
		{"root-authorize-ingress", `aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718 --ip-permissions '[{"IpProtocol":"tcp","FromPort":8080,"ToPort":8080,"IpRanges":[{"CidrIp":"192.0.2.0/24"}]}]'`, ""},
		{"revoke-ingress", `aws ec2 authorize-security-group-ingress --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718 --ip-permissions '[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]'`, "without their descriptions"},
		{"create-security-group", "aws ec2 delete-security-group --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718", ""},
		{"associate-security-group-vpc", "aws ec2 disassociate-security-group-vpc --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718 --vpc-id vpc-0aaaabbbbccccdddd", ""},
		{"disassociate-security-group-vpc", "aws ec2 associate-security-group-vpc --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718 --vpc-id vpc-0aaaabbbbccccdddd", ""},
		{"delete-security-group", "", "cannot be restored"},
		{"revoke-egress-by-rule-id", "", "revoked by rule id: the event does not say what the rules allowed; find them in AWS Config's history of sg-0a1b2c3d4e5f60718 or the CloudTrail events that created them, and list what is left with: aws ec2 describe-security-group-rules --region eu-west-1 --filters Name=group-id,Values=sg-0a1b2c3d4e5f60718"},
		{"modify-security-group-rules-world-db", "", "describe-security-group-rules --region eu-west-1 --filters Name=group-id,Values=sg-0a1b2c3d4e5f60718"},
		{"update-descriptions-ingress", "", "only descriptions changed"},
		{"update-descriptions-egress", "", "only descriptions changed"},
		{"dry-run", "", "dry run: nothing changed"},
		{"failed-unauthorized", "", "the call failed: nothing changed"},
		{"authorize-ingress-split-world", "aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718 --security-group-rule-ids sgr-0c0ffee0c0ffee011 sgr-0c0ffee0c0ffee012", ""},
		{"authorize-ingress-unreadable-port", "aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718 --security-group-rule-ids sgr-0c0ffee0c0ffee014", ""},
		{"authorize-ingress-duplicate", "", "the rule already existed before this call"},
		{"revoke-ingress-nothing-matched", "", "no rule matched; nothing changed"},
	}
	for _, c := range cases {
		t.Run(c.event, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "events", c.event+".json"))
			if err != nil {
				t.Fatal(err)
			}
			f := parseOne(t, data)
			if f == nil || f.Undo == nil {
				t.Fatal("no undo")
			}
			if f.Undo.Command != c.command {
				t.Errorf("command\n got %q\nwant %q", f.Undo.Command, c.command)
			}
			if (c.note == "") != (f.Undo.Note == "") || !strings.Contains(f.Undo.Note, c.note) {
				t.Errorf("note %q, want one containing %q", f.Undo.Note, c.note)
			}
		})
	}
}

// TestUndoRefusesOddValues: no command is built from a value that is not of
// its expected form, so nothing from a record reaches a shell unchecked.
func TestUndoRefusesOddValues(t *testing.T) {
	good := func() *Finding {
		return &Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: "AuthorizeSecurityGroupIngress", Region: "us-east-1"},
			SecurityGroup: SecurityGroup{ID: "sg-0123456789abcdef0"},
			Rules:         []Rule{rule(Ingress, "tcp", 22, 22, "0.0.0.0/0")}}
	}
	if u := undo(good(), byName["AuthorizeSecurityGroupIngress"], true); !strings.HasPrefix(u.Command, "aws ec2 revoke-security-group-ingress --region us-east-1 --group-id sg-0123456789abcdef0 --ip-permissions '") {
		t.Fatalf("the good finding gets %+v", u)
	}
	cases := map[string]func(f *Finding){
		"group id with a shell command": func(f *Finding) { f.SecurityGroup.ID = "sg-0123456789abcdef0; rm -rf ~" },
		"no group id":                   func(f *Finding) { f.SecurityGroup.ID = "" },
		"region with a quote":           func(f *Finding) { f.Event.Region = "us-east-1'" },
		"cidr with a quote":             func(f *Finding) { f.Rules[0].CIDRIPv4 = "0.0.0.0/0'" },
		"cidr not canonical":            func(f *Finding) { f.Rules[0].CIDRIPv4 = " 0.0.0.0/0" },
		"ipv6 in the ipv4 field":        func(f *Finding) { f.Rules[0].CIDRIPv4 = "::/0" },
		"protocol with a space":         func(f *Finding) { f.Rules[0].Protocol = "tcp x" },
		"group name as source": func(f *Finding) {
			f.Rules[0] = Rule{Direction: Ingress, Protocol: "tcp", ReferencedGroupID: "web'$(id)"}
		},
		"rule id with a newline": func(f *Finding) { f.Rules[0].CIDRIPv4 = ""; f.Rules[0].RuleID = "sgr-0123456789abcdef0\nx" },
		"no rules":               func(f *Finding) { f.Rules = nil },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			f := good()
			mutate(f)
			u := undo(f, byName[f.Event.Name], true)
			if u.Command != "" {
				t.Errorf("command %q built from an odd value", u.Command)
			}
			if u.Note == "" {
				t.Error("no note says why there is no command")
			}
		})
	}
}

// TestIPPermissionsRoundTrip parses the --ip-permissions JSON of every undo
// command back and compares it with the rules it came from: from the samples,
// the real records, and rules of every kind of source.
func TestIPPermissionsRoundTrip(t *testing.T) {
	var sets [][]Rule
	files, _ := filepath.Glob("../events/*.json")
	more, _ := filepath.Glob("../testdata/cloudtrail/*/*.json")
	for _, file := range append(files, more...) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		fs, err := parse(data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, f := range fs {
			if f.Undo != nil && strings.Contains(f.Undo.Command, "--ip-permissions") {
				sets = append(sets, f.Rules)
			}
		}
	}
	if len(sets) < 3 {
		t.Fatalf("only %d samples have an --ip-permissions undo", len(sets))
	}
	sets = append(sets, []Rule{
		rule(Ingress, "udp", 137, 139, "2600:1f00::/32"),
		{Direction: Ingress, Protocol: "all", PrefixListID: "pl-0123456789abcdef0"},
		{Direction: Ingress, Protocol: "icmp", FromPort: p(-1), ToPort: p(-1), ReferencedGroupID: "sg-0123456789abcdef0"},
		{Direction: Ingress, Protocol: "50", CIDRIPv4: "52.94.76.0/24"},
	})
	for i, rules := range sets {
		arg, ok := cliPermissions(rules)
		if !ok {
			t.Fatalf("set %d: no --ip-permissions for %+v", i, rules)
		}
		if !strings.HasPrefix(arg, "'") || !strings.HasSuffix(arg, "'") || strings.Count(arg, "'") != 2 {
			t.Fatalf("set %d: %s is not one single-quoted word", i, arg)
		}
		var perms []cliPermission
		if err := json.Unmarshal([]byte(arg[1:len(arg)-1]), &perms); err != nil {
			t.Fatalf("set %d: %v", i, err)
		}
		var back []Rule
		for _, pm := range perms {
			r := Rule{Protocol: protocol(pm.IPProtocol), FromPort: pm.FromPort, ToPort: pm.ToPort}
			for _, v := range pm.IPRanges {
				r.CIDRIPv4 = v.CidrIP
			}
			for _, v := range pm.IPv6Ranges {
				r.CIDRIPv6 = v.CidrIPv6
			}
			for _, v := range pm.PrefixListIDs {
				r.PrefixListID = v.PrefixListID
			}
			for _, v := range pm.UserIDGroupPairs {
				r.ReferencedGroupID = v.GroupID
			}
			back = append(back, r)
		}
		want := make([]Rule, len(rules))
		for j, r := range rules {
			want[j] = Rule{Protocol: r.Protocol, FromPort: r.FromPort, ToPort: r.ToPort, CIDRIPv4: r.CIDRIPv4,
				CIDRIPv6: r.CIDRIPv6, PrefixListID: r.PrefixListID, ReferencedGroupID: r.ReferencedGroupID}
		}
		if !reflect.DeepEqual(back, want) {
			t.Errorf("set %d: %s parses back to %+v, want %+v", i, arg, back, want)
		}
	}
}
