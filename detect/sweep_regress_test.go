package detect

// Regression tests of the exposure sweep: each reproduces a problem a
// red-team review of issue 12 found (now fixed), and fails if it returns.

import (
	"os"
	"strings"
	"testing"
)

// TestRegressCreatorContentMismatch: CreatedBy matches an event to an
// exposure by rule id alone. The newest event that names the rule is taken
// as who "created" it even when it set the rule to something else: Alice
// added sgr-… as 10.0.0.0/8 (private); Mallory's ModifySecurityGroupRules
// that widened it to 0.0.0.0/0 is not (yet) in LookupEvents (CloudTrail's
// event history lags minutes; the sweep runs hourly) or not among the
// events listed under the group. Alice is named as the creator of the
// world SSH rule ("Ask Alice, who created the rule, why; if they did not,
// treat their credentials as compromised").
func TestRegressCreatorContentMismatch(t *testing.T) {
	data, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		t.Fatal(err)
	}
	private := strings.ReplaceAll(string(data), `"0.0.0.0/0"`, `"10.0.0.0/8"`)
	b, err := Options{}.Parse([]byte(private))
	if err != nil || len(b.Findings) != 1 || b.Findings[0].Rules[0].CIDRIPv4 != "10.0.0.0/8" || b.Findings[0].Rules[0].RuleID != "sgr-0c0ffee0c0ffee001" {
		t.Fatalf("parse: %v %+v", err, b.Findings)
	}
	c := b.Findings[0]
	g := Group{SecurityGroup: SecurityGroup{ID: c.SecurityGroup.ID}, Rules: []Rule{sweepRule("sgr-0c0ffee0c0ffee001", Ingress, "tcp", 22, 22, "0.0.0.0/0")}}
	f := Options{}.Exposures(g, "eu-west-1", "111122223333", sweepAt)[0]
	if (Options{}).CreatedBy(&f, c) {
		t.Errorf("an event that added the rule as 10.0.0.0/8 was taken as the creator of its 0.0.0.0/0 exposure: actor %s", f.Actor.ARN)
	}
}
