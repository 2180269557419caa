package report

// Regression tests of the exposure sweep: each reproduces a problem a
// red-team review of issue 12 found (now fixed), and fails if it returns.

import (
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/sweep"
)

// TestRegressSweepRenderFuzz renders random exposure and resolved findings
// whose account-controlled text is hostile: the subject stays valid, and no
// control, bidi or invisible character nor injected line reaches the body
// or the attributes.
func TestRegressSweepRenderFuzz(t *testing.T) {
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
		l := sweep.Listed{ID: gen(3), Protocol: proto, FromPort: n(int32(rng.Intn(70000) - 2)), ToPort: n(int32(rng.Intn(70000) - 2)), CIDRIPv4: "0.0.0.0/0", Description: gen(6)}
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

// TestRegressUnknownInterfacesNotNone: when the sweep cannot count the
// network interfaces of a group (DescribeNetworkInterfaces denied or
// throttled: AttachedInterfaces is nil and a note says why), the triage
// must not tell the responder that no interface uses the group: that
// reads as "nothing is exposed", the quieter reading of what the sweep
// could not see.
func TestRegressUnknownInterfacesNotNone(t *testing.T) {
	n := func(v int32) *int32 { return &v }
	g := sweep.Group{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718", Name: "bastion"},
		Rules: []detect.Rule{sweep.Listed{ID: "sgr-0c0ffee0c0ffee001", Protocol: "tcp", FromPort: n(22), ToPort: n(22), CIDRIPv4: "0.0.0.0/0"}.Rule()},
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
