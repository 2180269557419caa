package report

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/policy"
	"github.com/sgwatch/sgwatch/revert"
)

// TestRevertGolden compares the revert's notifications with
// testdata/golden/revert-*: the change with its window (the approval
// command), at once, not reverted and why, then the reverted and the
// revert-failed findings; each JSON body holds to the schema and each
// subject to the subject's rules.
func TestRevertGolden(t *testing.T) {
	data, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := detect.Parse(data, detect.Scoring{})
	if err != nil || len(b.Findings) != 1 {
		t.Fatalf("sample: %v", err)
	}
	change := b.Findings[0]
	at := time.Date(2026, 11, 20, 10, 3, 40, 0, time.UTC)
	plan := func(r policy.Revert, self string) detect.Finding {
		f := change
		f.Revert, _ = policy.Policy{Revert: r}.PlanRevert(f, self, at)
		if f.Revert == nil {
			t.Fatalf("%+v: no plan", r)
		}
		return f
	}
	window := plan(policy.Revert{Min: detect.High, After: 15 * time.Minute}, "")
	reread := "DescribeSecurityGroupRules of sg-0a1b2c3d4e5f60718 at 2026-11-20T10:19:00Z lists 1 rules, none of sgr-0c0ffee0c0ffee001"
	done := revert.Outcome(window, revert.Result{Status: detect.RevertDone, Revoked: window.Rules, Reread: reread}, at.Add(16*time.Minute))
	kept := revert.Outcome(window, revert.Result{Status: detect.RevertApproved, Left: []string{"sgr-0c0ffee0c0ffee001: approved until 2026-11-21T09:00:00Z"}}, at.Add(16*time.Minute))
	failed := revert.Outcome(window, revert.Result{Status: detect.RevertFailure,
		Why: "RevokeSecurityGroupIngress failed: UnauthorizedOperation: You are not authorized to perform this operation."}, at.Add(16*time.Minute))
	sch := compileSchema(t)
	for name, fs := range map[string][]detect.Finding{
		"revert-window":       {window},
		"revert-now":          {plan(policy.Revert{Min: detect.High}, "")},
		"revert-not-reverted": {plan(policy.Revert{Min: detect.High}, "444455556666")},
		"revert-reverted":     {done},
		"revert-failed":       {failed},
		"revert-kept":         {kept},
	} {
		t.Run(name, func(t *testing.T) {
			text, js, chat := renderAll(t, fs)
			golden(t, filepath.Join("testdata", "golden", name+".txt"), text)
			golden(t, filepath.Join("testdata", "golden", name+".json"), js)
			golden(t, filepath.Join("testdata", "golden", name+".chat.json"), chat)
			checkJSONBody(t, sch, fs[0])
		})
	}
}
