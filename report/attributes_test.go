package report

import (
	"os"
	"slices"
	"testing"

	"github.com/sgwatch/sgwatch/detect"
)

// automationFinding is the finding of testdata/adversarial/NAME.json, a
// record of CloudFormation acting as a principal, scored with CloudFormation
// trusted as the stack role cfn-deployer.
func automationFinding(t *testing.T, name string) detect.Finding {
	t.Helper()
	data, err := os.ReadFile("../testdata/adversarial/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	o := detect.Scoring{TrustedServices: []detect.TrustedService{{Service: "cloudformation.amazonaws.com", Principal: "arn:aws:iam::111122223333:role/cfn-deployer"}}}
	b, err := detect.Parse(data, o)
	if err != nil || len(b.Findings) != 1 {
		t.Fatalf("%s: %d findings, %v", name, len(b.Findings), err)
	}
	return b.Findings[0]
}

// TestAttributeSeverityBeforeAutomation: world SSH opened by a trusted
// stack role is scored high, and a subscription filtering on the
// attributes can still tell it was critical: severityBeforeAutomation is
// added when, and only when, trusted automation lowered the severity.
func TestAttributeSeverityBeforeAutomation(t *testing.T) {
	for _, c := range []struct {
		file, severity, before string
	}{
		{"cloudformation-service-role-world-ssh", "high", "critical"},
		{"cloudformation-caller-world-ssh", "critical", ""}, // not the bound role: not lowered
	} {
		t.Run(c.file, func(t *testing.T) {
			n, err := Render(automationFinding(t, c.file), JSON)
			if err != nil {
				t.Fatal(err)
			}
			get := func(name string) string {
				if i := slices.IndexFunc(n.Attributes, func(a Attribute) bool { return a.Name == name }); i >= 0 {
					return n.Attributes[i].Value
				}
				return ""
			}
			if get("severity") != c.severity || get("severityBeforeAutomation") != c.before {
				t.Errorf("attributes %v: want severity %q, severityBeforeAutomation %q", n.Attributes, c.severity, c.before)
			}
		})
	}
}
