package report

import (
	"strings"
	"testing"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// TestTriage checks the steps for each kind of finding: what comes first,
// what must be said, and what must not.
func TestTriage(t *testing.T) {
	p22 := 22
	world := detect.Rule{Direction: detect.Ingress, Protocol: "tcp", FromPort: &p22, ToPort: &p22, CIDRIPv4: "0.0.0.0/0"}
	split := detect.Rule{Direction: detect.Ingress, Protocol: "tcp", FromPort: &p22, ToPort: &p22, CIDRIPv4: "0.0.0.0/1", Exposure: "the whole IPv4 internet, together with 128.0.0.0/1"}
	undo := &detect.Undo{Command: "aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-1 --security-group-rule-ids sgr-1"}
	role := detect.Actor{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/Admin/ops", AccessKeyID: "ASIAEXAMPLE0000001", CredentialType: detect.Temporary,
		SessionIssuerARN: "arn:aws:iam::111122223333:role/Admin", SourceIP: "198.51.100.23"}
	user := detect.Actor{Type: "IAMUser", UserName: "dev", AccessKeyID: "AKIAEXAMPLE0000002", CredentialType: detect.LongTerm}
	console := detect.Actor{Type: "IAMUser", UserName: "alice", Console: true, MFAAuthenticated: new(bool)}
	rootKey := detect.Actor{Type: "Root", AccessKeyID: "AKIAEXAMPLEROOT0003", CredentialType: detect.LongTerm, SourceIP: "203.0.113.77"}
	rootConsole := detect.Actor{Type: "Root", Console: true}
	authorize := detect.Event{Name: "AuthorizeSecurityGroupIngress", Time: "2026-11-20T10:03:11Z"}
	finding := func(sev detect.Severity, out detect.Outcome, a detect.Actor, rules ...detect.Rule) detect.Finding {
		return detect.Finding{Action: detect.Modify, Outcome: out, Severity: sev, Event: authorize, Actor: a, Rules: rules}
	}

	cases := []struct {
		name  string
		f     detect.Finding
		first string   // the start of step 1
		want  []string // in some step
		not   []string // in no step
	}{
		{"dry run", finding(detect.Info, detect.DryRun, role, world), "Low urgency: a dry run changes nothing; ops from 198.51.100.23",
			[]string{"real change is planned and approved"}, []string{"Now:", "rotate"}},
		{"failed call", func() detect.Finding {
			f := finding(detect.Info, detect.Failed, user, world)
			f.Error = &detect.CallError{Code: "RequestExpired"}
			return f
		}(), "Low urgency: the call failed (RequestExpired)", []string{"retried"}, []string{"Now:", "rotate"}},
		{"denied", func() detect.Finding {
			f := finding(detect.Medium, detect.Failed, role, world)
			f.Error = &detect.CallError{Code: "Client.UnauthorizedOperation"}
			return f
		}(), "Find who tried: ops from 198.51.100.23, denied with Client.UnauthorizedOperation",
			[]string{"what else access key ASIAEXAMPLE0000001 tried around 2026-11-20T10:03:11Z", "should change security groups at all"},
			[]string{"Low urgency", "Now:"}},
		{"world-open critical with an undo command", func() detect.Finding {
			f := finding(detect.Critical, detect.Succeeded, role, world)
			f.Undo = undo
			return f
		}(), "Now: run the undo command above", []string{"Then find out who made it and why: ask ops from 198.51.100.23",
			"Temporary credentials ASIAEXAMPLE0000001 (a session of arn:aws:iam::111122223333:role/Admin)"}, []string{"Low urgency"}},
		{"world-open critical in halves, no undo command", finding(detect.Critical, detect.Succeeded, role, split),
			"Now: remove the rules open to the whole internet", []string{"Then find out who"}, nil},
		{"world-open critical lowered by automation", func() detect.Finding {
			f := finding(detect.High, detect.Succeeded, role, world)
			f.SeverityBeforeAutomation, f.Automation, f.Undo = detect.Critical, "cloudformation.amazonaws.com", undo
			return f
		}(), "Now: run the undo command above", []string{"Made by trusted automation cloudformation.amazonaws.com", "change request"},
			[]string{"Then find out who"}},
		{"automation", func() detect.Finding {
			f := finding(detect.Low, detect.Succeeded, role, detect.Rule{Direction: detect.Ingress, Protocol: "tcp", CIDRIPv4: "10.0.0.0/8"})
			f.Automation = "arn:aws:iam::111122223333:role/terraform-ci"
			return f
		}(), "Made by trusted automation arn:aws:iam::111122223333:role/terraform-ci: find the pipeline run or stack",
			[]string{"change request", "someone used the automation's credentials"}, []string{"Now:", "Confirm with"}},
		{"high world-open, not critical", finding(detect.High, detect.Succeeded, role, world), "Confirm with ops", nil, []string{"Now:"}},
		{"revoke of a world-open rule", func() detect.Finding {
			f := finding(detect.Critical, detect.Succeeded, role, world)
			f.Event.Name = "RevokeSecurityGroupIngress"
			return f
		}(), "Confirm with ops", nil, []string{"Now:"}},
		{"world-open rule that matched nothing, beside one that did", func() detect.Finding {
			r := world
			r.Unmatched = true
			return finding(detect.Critical, detect.Succeeded, role, r, detect.Rule{Direction: detect.Ingress, Protocol: "tcp", CIDRIPv4: "10.0.0.0/8"})
		}(), "Confirm with ops", nil, []string{"Now:", "Low urgency"}},
		{"revoke that matched nothing", func() detect.Finding {
			r := world
			r.Unmatched = true
			f := finding(detect.Info, detect.Succeeded, role, r)
			f.Event.Name = "RevokeSecurityGroupIngress"
			return f
		}(), "Low urgency: the revoke matched no rule", []string{"which rule they meant to remove", "Temporary credentials"}, []string{"Now:", "Confirm with"}},
		{"root with an access key", finding(detect.Critical, detect.Succeeded, rootKey), "Lock down the root user",
			[]string{"check that it has MFA", "who holds its credentials and who used it from 203.0.113.77",
				"Delete the root access key AKIAEXAMPLEROOT0003"}, []string{"Confirm with", "Long-term access key"}},
		{"root in the console, world-open", func() detect.Finding {
			f := finding(detect.Critical, detect.Succeeded, rootConsole, world)
			f.Undo = undo
			return f
		}(), "Now: run the undo command above", []string{"Lock down the root user", "Check that the root user has no access keys"},
			[]string{"Then find out who", "Console use"}},
		{"root dry run", finding(detect.Info, detect.DryRun, rootConsole), "Low urgency", []string{"Lock down the root user"}, nil},
		{"console user", finding(detect.Low, detect.Succeeded, console), "Confirm with alice",
			[]string{"Console use: review alice's sign-in", "whether it used MFA (no)"}, []string{"access key"}},
		{"long-term access key", finding(detect.Low, detect.Succeeded, user), "Confirm with dev",
			[]string{"Long-term access key AKIAEXAMPLE0000002: if the change was not expected, deactivate and rotate it"}, []string{"Console use"}},
		{"no credential recorded", finding(detect.Low, detect.Succeeded, detect.Actor{Type: "AWSService", InvokedBy: "ec2.amazonaws.com"}),
			"Confirm with ec2.amazonaws.com", []string{"Review the other calls of ec2.amazonaws.com in CloudTrail around 2026-11-20T10:03:11Z"}, nil},
	}
	for _, c := range cases {
		steps := triage(c.f)
		all := strings.Join(steps, "\n")
		if len(steps) == 0 || !strings.HasPrefix(steps[0], c.first) {
			t.Errorf("%s: steps start %q, want %q", c.name, steps, c.first)
		}
		for _, w := range c.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: no step says %q:\n%s", c.name, w, all)
			}
		}
		for _, w := range c.not {
			if strings.Contains(all, w) {
				t.Errorf("%s: a step says %q:\n%s", c.name, w, all)
			}
		}
	}
}

// TestTriageClean gives every field of each kind of finding hostile text:
// every step stays one clean line.
func TestTriageClean(t *testing.T) {
	const evil = "x\u202e\n2. Ignore this alert\u3164"
	for _, kind := range []struct {
		out  detect.Outcome
		code string
		root bool
	}{{detect.Succeeded, "", false}, {detect.Succeeded, "", true}, {detect.Failed, "AccessDenied", false}, {detect.Failed, "Other", false}, {detect.DryRun, "", false}} {
		f := detect.Finding{}
		hostileEverywhere(&f, evil)
		f.Outcome, f.Severity, f.Error.Code = kind.out, detect.Critical, kind.code+evil
		f.Actor.CredentialType = detect.LongTerm
		if kind.root {
			f.Actor.Type = "Root"
		}
		for _, s := range triage(f) {
			if strings.ContainsAny(s, "\n\u202e\u3164") || clean.Line(s, len(s)) != s {
				t.Errorf("%s/%v: unclean step %q", kind.out, kind.root, s)
			}
		}
	}
}
