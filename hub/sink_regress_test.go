package hub

// Regression tests of the chat format and the Security Hub sink: each
// reproduces a problem a red-team review of issue 13 found (now fixed),
// and fails if it returns.

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
)

// Security Hub deletes an ACTIVE finding 90 days after its UpdatedAt
// (https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-findings.html).
const retention = 90 * 24 * time.Hour

// TestRegressExposureUpdatedAtIsFirstSeen: an exposure's UpdatedAt is
// its FirstSeen, not when it was found (imported). An exposure the policy
// held back for months (SUPPRESS, MIN_SEVERITY) and published now, when it
// is decided on again, is imported with an UpdatedAt already past Security
// Hub's 90-day retention: the open world exposure is deleted from Security
// Hub as soon as it arrives.
func TestRegressExposureUpdatedAtIsFirstSeen(t *testing.T) {
	p22 := 22
	g := detect.Group{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718"},
		Rules: []detect.Rule{{Direction: detect.Ingress, Protocol: "tcp", FromPort: &p22, ToPort: &p22, CIDRIPv4: "0.0.0.0/0", RuleID: "sgr-0c0ffee0c0ffee001"}}}
	found := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	f := detect.Options{}.Exposures(g, "eu-west-1", "111122223333", found)[0]
	f.Sweep.FirstSeen = found.Add(-100 * 24 * time.Hour).Format(time.RFC3339) // held back since
	a := ASFF(f, "sweep/111122223333/eu-west-1/"+f.Sweep.Key, caller, found)
	updated, err := time.Parse(stamp, a.UpdatedAt)
	if err != nil {
		t.Fatal(err)
	}
	if found.Sub(updated) >= retention {
		t.Errorf("exposure found (and imported) at %s has UpdatedAt %s: Security Hub deletes it at once (90 days after UpdatedAt)", found.Format(stamp), a.UpdatedAt)
	}
}

// TestRegressImportEmptySuccess: a 2xx whose body does not say the
// finding was imported ({} or null, e.g. from a proxy or a misconfigured
// AWS_ENDPOINT_URL) counts as success: FailedCount is 0 by default, and
// SuccessCount is never checked. The finding is lost, yet logged
// "imported into Security Hub", and never retried.
func TestRegressImportEmptySuccess(t *testing.T) {
	for _, body := range []string{`{}`, `null`, `{"SuccessCount":0}`} {
		s := &server{replies: []reply{{200, body}}}
		h := newHub(t, s, "")
		if err := h.Import(context.Background(), sample(t, "authorize-ingress-world-ssh"), "event/x/0", caller); err == nil {
			t.Errorf("a 200 answer %s counts as an imported finding", body)
		}
	}
}

// nonEmpty is Security Hub's NonEmptyString pattern (.*\S.*), which every
// ASFF string has, including both sides of a FieldMap (Resource.Tags,
// ProductFields): botocore securityhub service-2.json.
var nonEmpty = regexp.MustCompile(`\S`)

// blankStrings returns the paths of the string values and map keys of the
// JSON of a that are empty or only spaces.
func blankStrings(a Finding) []string {
	b, _ := json.Marshal(a)
	var v any
	json.Unmarshal(b, &v)
	var out []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case string:
			if !nonEmpty.MatchString(x) {
				out = append(out, fmt.Sprintf("%s = %q", path, x))
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case map[string]any:
			for k, e := range x {
				if !nonEmpty.MatchString(k) {
					out = append(out, fmt.Sprintf("%s key %q", path, k))
				}
				walk(path+"."+k, e)
			}
		}
	}
	walk("", v)
	return out
}

// TestRegressEmptyTagValue: EC2 allows a tag with an empty value (and
// anyone with ec2:CreateTags can add one), but ASFF's Resource.Tags is a
// FieldMap of NonEmptyString: the value "" fails Security Hub's input
// validation, so every finding of that group (ENRICH=true, and every sweep
// exposure, which carries its tags) is rejected — a group owner can keep
// their world-open rule out of Security Hub with one empty tag. A group
// name of spaces does the same.
func TestRegressEmptyTagValue(t *testing.T) {
	f := sample(t, "authorize-ingress-world-ssh")
	f.SecurityGroup.Tags = map[string]string{"Name": "web", "kubernetes.io/role/elb": "", "owner": "  "}
	if bad := blankStrings(ASFF(f, "event/x/0", caller, fixed)); len(bad) > 0 {
		t.Errorf("ASFF strings Security Hub rejects (pattern .*\\S.*): %q", bad)
	}
	g := sample(t, "authorize-ingress-world-ssh")
	g.SecurityGroup.Name = "   "
	if bad := blankStrings(ASFF(g, "event/x/0", caller, fixed)); len(bad) > 0 {
		t.Errorf("ASFF strings Security Hub rejects (pattern .*\\S.*): %q", bad)
	}
}
