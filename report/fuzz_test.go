package report

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/cloudtrail"
	"github.com/sgwatch/sgwatch/detect"
)

// FuzzRender feeds arbitrary bytes to the parser (package detect) and
// renders what it finds, seeded with every sample event and real record.
// Whatever the input, nothing panics, every finding carries valid enums and
// a shell-safe undo, and its notification keeps the subject rules and the
// body's layout.
func FuzzRender(f *testing.F) {
	for _, glob := range []string{"../events/*.json", "../testdata/cloudtrail/*/*.json"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(`{"Records":[{"eventSource":"ec2.amazonaws.com","eventName":"ModifySecurityGroupRules","requestParameters":{"ModifySecurityGroupRulesRequest":{"GroupId":"sg-1","SecurityGroupRule":[{"SecurityGroupRuleId":"sgr-1","SecurityGroupRule":{"IpProtocol":"tcp","FromPort":"22","ToPort":22,"CidrIpv4":"0.0.0.0/0","Description":"a\nb\u202e"}}]}}}]}`))
	// Issue 8's shapes: sources that cover the internet together, numbers
	// for protocols, fields that cannot be read, revokes that matched
	// nothing, an existing rule.
	for _, seed := range []string{
		`{"eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","requestParameters":{"groupId":"sg-0123456789abcdef0","ipPermissions":{"items":[{"ipProtocol":"06","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/1"},{"cidrIp":"128.0.0.0/1"}]},"ipv6Ranges":{"items":[{"cidrIpv6":"::ffff:0:0/96"},{"cidrIpv6":"2000::/3"}]}}]}}}`,
		`{"eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":"yes"}}},"eventTime":{},"requestParameters":{"groupId":"sg-0123456789abcdef0","ipPermissions":{"items":[{"ipProtocol":"-1","fromPort":70000,"ipRanges":{"items":["0.0.0.0/0",{"cidrIp":"0/0"},{"cidrIp":{"x":1}}]}}]}}}`,
		`{"eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupEgress","requestParameters":{"groupId":"sg-0123456789abcdef0","ipPermissions":"x"},"responseElements":[1]}`,
		`{"eventSource":"ec2.amazonaws.com","eventName":"RevokeSecurityGroupIngress","awsRegion":"eu-west-1","requestParameters":{"groupId":"sg-0123456789abcdef0","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"},{"cidrIp":"10.0.0.0/8"}]}}]}},"responseElements":{"_return":true,"unknownIpPermissionSet":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}}`,
		`{"eventSource":"ec2.amazonaws.com","eventName":"RevokeSecurityGroupEgress","awsRegion":"eu-west-1","requestParameters":{"groupId":"sg-0123456789abcdef0","securityGroupRuleIds":{"items":[{"securityGroupRuleId":"sgr-0123456789abcdef0"}]}},"responseElements":{"revokedSecurityGroupRuleSet":{"items":[{"securityGroupRuleId":"sgr-0123456789abcdef0","isEgress":true,"ipProtocol":"17","fromPort":53,"toPort":53,"cidrIpv6":"::/0"}]}}}`,
		`{"eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","errorCode":"Client.InvalidPermission.Duplicate","requestParameters":{"groupId":"sg-0123456789abcdef0","ipPermissions":{"items":[{"ipProtocol":"+6","fromPort":"22","toPort":"22","ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}}`,
	} {
		f.Add([]byte(seed))
	}
	// A forwarded event, and account ids that are not account ids.
	if data, err := os.ReadFile("../detect/testdata/forwarded-member-account.json"); err == nil {
		f.Add(data)
	} else {
		f.Fatal(err)
	}
	f.Add([]byte(`{"account":"111111111111;id","region":"eu-west-1","detail":{"eventSource":"ec2.amazonaws.com","eventName":"CreateSecurityGroup","recipientAccountId":"1111111111111","responseElements":{"groupId":"sg-0123456789abcdef0"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := detect.Parse(data, detect.Scoring{})
		findings := b.Findings
		// The scan's pre-filter never keeps out a value with a finding.
		if len(findings) > 0 {
			if src, err := cloudtrail.Decompress(bytes.NewReader(data)); err == nil {
				if plain, _ := io.ReadAll(src); !detect.MayBeCall(plain) {
					t.Fatalf("MayBeCall is false for an input with %d findings", len(findings))
				}
			}
		}
		// A security-group record is never a decode error, whatever its
		// fields hold: it gives its finding.
		var head struct {
			EventSource, EventName any
			Records, Detail        json.RawMessage
		}
		if json.Unmarshal(data, &head) == nil && head.Records == nil && head.Detail == nil && head.EventSource == detect.EventSource {
			// An attach call sets groups only with a groupSet: without one it is
			// another attribute's change, and no finding.
			name, _ := head.EventName.(string)
			c, _ := detect.Lookup(name)
			if slices.Contains(detect.Calls(), name) && (err != nil || len(findings) > 1 || len(findings) == 0 && !c.LiveOnly()) {
				t.Fatalf("a %s record gave %d findings and error %v", name, len(findings), err)
			}
		}
		for _, fd := range findings {
			if fd.Severity.Rank() < 0 {
				t.Fatalf("invalid severity %q", fd.Severity)
			}
			switch fd.Action {
			case detect.Create, detect.Modify, detect.Delete:
			default:
				t.Fatalf("invalid action %q", fd.Action)
			}
			if len(fd.Reasons) == 0 {
				t.Fatal("finding without reasons")
			}
			// The undo command is pasted into shells: it must be one line of
			// printable ASCII, an aws ec2 call, with at most one quoted word.
			// An undo never restores a rule that was not there.
			if fd.Undo != nil && fd.Undo.Command != "" && strings.HasPrefix(fd.Event.Name, "Revoke") {
				for _, r := range fd.Rules {
					if r.Unmatched && !slices.ContainsFunc(fd.Rules, func(o detect.Rule) bool { return !o.Unmatched }) {
						t.Fatalf("undo %q restores rules none of which existed", fd.Undo.Command)
					}
				}
			}
			if u := fd.Undo; u == nil || (u.Command == "" && u.Note == "") {
				t.Fatalf("finding without an undo command or note: %+v", u)
			} else if c := u.Command; c != "" {
				for _, r := range c {
					if r < ' ' || r > '~' {
						t.Fatalf("undo command has %q: %q", r, c)
					}
				}
				if !strings.HasPrefix(c, "aws ec2 ") || strings.Count(c, "'") > 2 || strings.ContainsAny(c, "`$;&|<>\\") {
					t.Fatalf("undo command is not a plain aws ec2 call: %q", c)
				}
			}
			// The account whose credentials to use is the event's, only a
			// 12-digit id, and named only when there is a command to run.
			if a := fd.Undo.Account; a != "" && (a != fd.Event.AccountID || !awsid.IsAccountID(a) ||
				(fd.Undo.Command == "" && !strings.Contains(fd.Undo.Note, "aws ec2 "))) {
				t.Fatalf("undo names account %q for event account %q: %+v", a, fd.Event.AccountID, fd.Undo)
			}
			for _, format := range []Format{Text, JSON, Chat} {
				n, err := Render(fd, format)
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if msg := checkSubject(n.Subject); msg != "" {
					t.Fatalf("subject %q: %s", n.Subject, msg)
				}
				if !utf8.ValidString(n.Body) {
					t.Fatal("body is not valid UTF-8")
				}
				if format != Text && strings.Contains(n.Body, "\n") {
					t.Fatal("JSON body spans lines")
				}
			}
		}
	})
}
