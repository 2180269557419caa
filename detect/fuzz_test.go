package detect_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/report"
)

// FuzzParse feeds arbitrary bytes to the parser, seeded with every sample
// event and real record. Whatever the input, Parse must not panic, every
// finding must carry valid enums and a shell-safe undo, and its notification
// must keep the subject rules and the body's layout.
func FuzzParse(f *testing.F) {
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
	f.Fuzz(func(t *testing.T, data []byte) {
		findings, _ := detect.Parse(data)
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
			for _, format := range []report.Format{report.Text, report.JSON} {
				n, err := report.Render(fd, format)
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if msg := report.CheckSubject(n.Subject); msg != "" {
					t.Fatalf("subject %q: %s", n.Subject, msg)
				}
				if !utf8.ValidString(n.Body) {
					t.Fatal("body is not valid UTF-8")
				}
				if format == report.JSON && strings.Contains(n.Body, "\n") {
					t.Fatal("JSON body spans lines")
				}
			}
		}
	})
}
