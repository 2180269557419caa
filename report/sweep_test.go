package report

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

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
		l := detect.Listed{ID: id, Protocol: "tcp", FromPort: n(from), ToPort: n(from), CIDRIPv4: cidr}
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
				checkJSONBody(t, sch, f)
			}
		})
	}
}

// checkJSONBody renders f as JSON and checks its subject's rules and that
// its body holds to the schema.
func checkJSONBody(t *testing.T, sch *jsonschema.Schema, f detect.Finding) {
	t.Helper()
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

// Regressions in the exposure sweep: each reproduces a problem a
// red-team review of issue 12 found (now fixed), and fails if it returns.

// TestSweepRenderFuzz renders random exposure and resolved findings
// whose account-controlled text is hostile: the subject stays valid, and no
// control, bidi or invisible character nor injected line reaches the body
// or the attributes.
func TestSweepRenderFuzz(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	pieces := []string{"a", "sg-0123456789abcdef0", "\n", "\r", "\u202e", "\u200b", "é", "[CRITICAL] ", "\x00", "\t", "💥", strings.Repeat("x", 120), " ", "\u2028", "\ufeff", "\x7f", "…"}
	gen := func(n int) string {
		var b strings.Builder
		for range rng.Intn(n) {
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		return b.String()
	}
	at := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	n := func(v int32) *int32 { return &v }
	for i := range 20000 {
		proto := []string{"tcp", "-1", "icmp", "50", gen(4)}[rng.Intn(5)]
		l := detect.Listed{ID: gen(3), Protocol: proto, FromPort: n(int32(rng.Intn(70000) - 2)), ToPort: n(int32(rng.Intn(70000) - 2)), CIDRIPv4: "0.0.0.0/0", Description: gen(6)}
		g := sweep.Group{SecurityGroup: detect.SecurityGroup{ID: gen(3), Name: gen(6), VPCID: gen(2), Description: gen(5), Tags: map[string]string{gen(3): gen(3)}}, Rules: []detect.Rule{l.Rule()}}
		fs := sweep.Exposures(g, gen(3), gen(3), at, detect.Scoring{})
		if len(fs) == 0 {
			continue
		}
		f := fs[0]
		if i%2 == 0 {
			f = sweep.Resolve(f, at, detect.Scoring{})
		}
		for _, format := range []Format{Text, JSON} {
			nn, err := Render(f, format)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if why := checkSubject(nn.Subject); why != "" {
				t.Fatalf("subject %q: %s", nn.Subject, why)
			}
			for _, bad := range []string{"\r", "\u202e", "\u200b", "\x00", "\u2028", "\ufeff", "\x7f"} {
				if strings.Contains(nn.Body, bad) {
					t.Fatalf("body has %q:\n%s", bad, nn.Body)
				}
			}
			for _, a := range nn.Attributes {
				for _, c := range []byte(a.Value) {
					if c < 0x20 || c > 0x7e {
						t.Fatalf("attribute %s=%q", a.Name, a.Value)
					}
				}
			}
			if format == Text {
				for _, line := range strings.Split(nn.Body, "\n") {
					if strings.HasPrefix(line, "[CRITICAL]") || strings.HasPrefix(line, "x") || strings.HasPrefix(line, "a") {
						t.Fatalf("injected line %q", line)
					}
				}
			}
		}
	}
}

// TestUnknownInterfacesNotNone: when the sweep cannot count the
// network interfaces of a group (DescribeNetworkInterfaces denied or
// throttled: AttachedInterfaces is nil and a note says why), the triage
// must not tell the responder that no interface uses the group: that
// reads as "nothing is exposed", the quieter reading of what the sweep
// could not see.
func TestUnknownInterfacesNotNone(t *testing.T) {
	n := func(v int32) *int32 { return &v }
	g := sweep.Group{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718", Name: "bastion"},
		Rules: []detect.Rule{detect.Listed{ID: "sgr-0c0ffee0c0ffee001", Protocol: "tcp", FromPort: n(22), ToPort: n(22), CIDRIPv4: "0.0.0.0/0"}.Rule()},
		Notes: []string{"the network interfaces that use the group could not be counted: UnauthorizedOperation"}}
	fs := sweep.Exposures(g, "eu-west-1", "111122223333", time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC), detect.Scoring{})
	if len(fs) != 1 {
		t.Fatalf("%d exposures", len(fs))
	}
	nn, err := Render(fs[0], Text)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(nn.Body, "No network interface uses the group now") {
		t.Errorf("the interfaces could not be counted, yet the triage says none uses the group:\n%s", nn.Body)
	}
}
