package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/sweep"
)

// sweepFindings are the sweep's findings the golden files show: a world
// SSH exposure whose creator CloudTrail still has, a world HTTPS one whose
// creator it does not, the two halves of a split world RDP rule pair, and
// the resolution of the first.
func sweepFindings(t *testing.T) map[string][]detect.Finding {
	t.Helper()
	at := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	n := func(v int32) *int32 { return &v }
	listed := func(id string, from int32, cidr string) detect.Rule {
		l := sweep.Listed{ID: id, Protocol: "tcp", FromPort: n(from), ToPort: n(from), CIDRIPv4: cidr}
		if strings.Contains(cidr, ":") {
			l.CIDRIPv4, l.CIDRIPv6 = "", cidr
		}
		return l.Rule()
	}
	three, none := 3, 0
	yes := false

	data, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := detect.Parse(data, detect.Scoring{})
	created := b.Findings
	if err != nil {
		t.Fatal(err)
	}
	ssh := sweep.Exposures(sweep.Group{
		SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718", Name: "bastion", VPCID: "vpc-0a1b2c3d4e5f60718", AttachedInterfaces: &three, IsDefault: &yes},
		Rules:         []detect.Rule{listed("sgr-0c0ffee0c0ffee001", 22, "0.0.0.0/0"), listed("sgr-0c0ffee0c0ffee002", 443, "10.0.0.0/8")},
	}, "eu-west-1", "111122223333", at, detect.Scoring{})
	if len(ssh) != 1 || !sweep.CreatedBy(&ssh[0], created[0], detect.Scoring{}) {
		t.Fatalf("world SSH: %d exposures, or the sample did not create its rule", len(ssh))
	}

	https := sweep.Exposures(sweep.Group{
		SecurityGroup: detect.SecurityGroup{ID: "sg-0b1b2c3d4e5f60718", Name: "web\u202e<!channel>\nSubject: spoof", Description: "public web",
			Tags: map[string]string{"owner": "team-web", "evil\n": "\u200b@here"}, AttachedInterfaces: &none},
		Rules: []detect.Rule{listed("sgr-0c0ffee0c0ffee003", 443, "::/0")},
	}, "eu-west-1", "111122223333", at, detect.Scoring{})
	https[0].Sweep.FirstSeen = "2026-11-20T06:00:00Z"
	https[0].Notes = append(https[0].Notes, "who created the rule is not known: none of the last 100 CloudTrail events of sg-0b1b2c3d4e5f60718 (LookupEvents keeps 90 days) created it")

	split := sweep.Exposures(sweep.Group{
		SecurityGroup: detect.SecurityGroup{ID: "sg-0c1b2c3d4e5f60718"},
		Rules:         []detect.Rule{listed("sgr-0c0ffee0c0ffee004", 3389, "0.0.0.0/1"), listed("sgr-0c0ffee0c0ffee005", 3389, "128.0.0.0/1")},
	}, "eu-west-1", "111122223333", at, detect.Scoring{})

	gone := ssh[0]
	sw := *gone.Sweep
	sw.FirstSeen = "2026-11-27T06:00:00Z"
	gone.Sweep = &sw
	resolved := sweep.Resolve(gone, at.Add(26*time.Hour), detect.Scoring{})
	return map[string][]detect.Finding{
		"sweep_exposure-world-ssh":   ssh,
		"sweep_exposure-world-https": https,
		"sweep_exposure-split-rdp":   split,
		"sweep_resolved":             {resolved},
	}
}

// TestSweepGolden compares the sweep's notifications with testdata/golden
// (go test ./report -update rewrites them), and checks their subjects and
// JSON bodies.
func TestSweepGolden(t *testing.T) {
	sch := compileSchema(t)
	for name, fs := range sweepFindings(t) {
		t.Run(name, func(t *testing.T) {
			text, js, chat := renderAll(t, fs)
			golden(t, filepath.Join("testdata", "golden", name+".txt"), text)
			golden(t, filepath.Join("testdata", "golden", name+".json"), js)
			golden(t, filepath.Join("testdata", "golden", name+".chat.json"), chat)
			for _, f := range fs {
				n, err := Render(f, JSON)
				if err != nil {
					t.Fatal(err)
				}
				if why := checkSubject(n.Subject); why != "" {
					t.Errorf("subject %q: %s", n.Subject, why)
				}
				var v any
				if err := json.Unmarshal([]byte(n.Body), &v); err != nil {
					t.Fatal(err)
				}
				if err := sch.Validate(v); err != nil {
					t.Errorf("JSON body breaks the schema: %v", err)
				}
			}
		})
	}
}

// TestSweepSubjects: the subject says what is exposed, and the account
// and Region whenever they fit; a long group name gives way, the group id
// last.
func TestSweepSubjects(t *testing.T) {
	fs := sweepFindings(t)
	long := fs["sweep_exposure-world-ssh"][0]
	long.SecurityGroup.Name = strings.Repeat("n", 300)
	short := fs["sweep_exposure-world-https"][0]
	short.SecurityGroup = detect.SecurityGroup{ID: "sg-0c1b2c3d"}
	noName := fs["sweep_exposure-world-ssh"][0]
	noName.SecurityGroup.Name, noName.Event.Region = "", "ap-southeast-1"
	cases := []struct {
		f    detect.Finding
		want string
	}{
		{fs["sweep_exposure-world-ssh"][0], "[CRITICAL] sg-0a1b2c3d4e5f60718 (bastion) exposes tcp/22 to the whole internet (found by sweep)"},
		{fs["sweep_resolved"][0], "[INFO] sg-0a1b2c3d4e5f60718 (bastion) no longer exposes tcp/22 to the internet (resolved by sweep)"},
		{fs["sweep_exposure-split-rdp"][0], "[CRITICAL] sg-0c1b2c3d4e5f60718 exposes tcp/3389 to the whole internet (found by sweep)"},
		{short, "[HIGH] sg-0c1b2c3d exposes tcp/443 to the whole internet in 111122223333/eu-west-1 (found by sweep)"},
		{long, "[CRITICAL] sg-0a1b2c3d4e5f60718 (nnnnnnnnn...) exposes tcp/22 to the whole internet (found by sweep)"},
		{noName, "[CRITICAL] sg-0a1b2c3d4e5f60718 exposes tcp/22 to the whole internet (found by sweep)"},
	}
	for _, c := range cases {
		got := subject(c.f)
		if got != c.want {
			t.Errorf("subject\n%q, want\n%q", got, c.want)
		}
		if why := checkSubject(got); why != "" {
			t.Errorf("subject %q: %s", got, why)
		}
	}
}
