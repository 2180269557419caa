package report

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sgwatch/sgwatch/detect"
)

func TestDefang(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://evil.example/x", "https[:]//evil․example/x"},
		{"www.evil.example", "www․evil․example"},
		{"<!channel> <@U123> @here", "＜!channel＞ ＜＠U123＞ ＠here"},
		{"[click](http://evil.example)", "[click］(http[:]//evil․example)"},
		{"mail alice@corp.example", "mail alice＠corp․example"},
		// Host names in any script, and UNC paths that mail clients open.
		{"see пример.рф and 例子.测试", "see пример․рф and 例子․测试"},
		{`open \\10.0.0.5\share now`, `open ＼＼10.0.0.5\share now`},
		// Addresses, ranges, versions and paths keep their dots and brackets.
		{"aws-cli/2.17.0 Python/3.11.8 from 203.0.113.0/24 and 2001:db8::/32", "aws-cli/2.17.0 Python/3.11.8 from 203.0.113.0/24 and 2001:db8::/32"},
		{"ipPermissions[0]: port 70000", "ipPermissions[0]: port 70000"},
		{"", ""},
	}
	for _, c := range cases {
		if got := defang(c.in); got != c.want {
			t.Errorf("defang(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestTextDefangs: in the text body (what e-mail shows), the text an
// attacker chooses (a user agent, a group's name and description, a rule's
// description, tags, an error message, the account's name, notes) forms no
// link, host name, mention or markdown link; the ARN, ids and the console
// links sgwatch builds stay whole. Once the text body showed them verbatim,
// and mail clients made them clickable.
func TestTextDefangs(t *testing.T) {
	const evil = "<!channel> @here https://evil.example/x www.evil.example [click](http://evil.example)"
	f := eventFinding(t, "authorize-ingress-world-ssh")
	arn := "arn:aws:sts::111122223333:assumed-role/Admin/alice@corp.example"
	f.Actor.ARN, f.Actor.UserAgent = arn, evil
	f.SecurityGroup.Name, f.SecurityGroup.Description = evil, evil
	f.SecurityGroup.Tags = map[string]string{"owner": evil, evil: "x"}
	f.Rules = append([]detect.Rule(nil), f.Rules...)
	f.Rules[0].Description = evil
	f.Error = &detect.CallError{Code: "Client.InvalidPermission.Duplicate", Message: evil}
	f.Event.AccountName = evil
	f.Notes = []string{"not understood: userAgent: got " + evil}
	body := textOf(t, f)
	rest := body
	for _, l := range links(f) {
		if !strings.Contains(body, l.url) {
			t.Errorf("body lacks the console link %s", l.url)
		}
		rest = strings.ReplaceAll(rest, l.url, "")
	}
	for _, keep := range []string{"ARN:            " + arn, "Event ID:       " + f.Event.ID, "sg-0a1b2c3d4e5f60718", "Client.InvalidPermission.Duplicate"} {
		if !strings.Contains(body, keep) {
			t.Errorf("body lacks %q whole", keep)
		}
	}
	rest = strings.ReplaceAll(rest, arn, "")
	for _, bad := range []*regexp.Regexp{bareURL, slackControl, mdLink, regexp.MustCompile(`(?i)www\.|evil\.example|@here`)} {
		if m := bad.FindAllString(rest, -1); m != nil {
			t.Errorf("body holds %q:\n%s", m, body)
		}
	}
	if n := strings.Count(body, "https[:]//evil․example/x"); n < 8 {
		t.Errorf("the hostile text shows defanged %d times, want each of 8 fields:\n%s", n, body)
	}
}
