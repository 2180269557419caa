package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
)

// TestRevertFromEnv: revert is off unless REVERT names a severity; each
// value that cannot be meant is refused, naming the variable.
func TestRevertFromEnv(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want Revert
		err  string
	}{
		{map[string]string{}, Revert{}, ""},
		{map[string]string{"REVERT": "off"}, Revert{}, ""},
		{map[string]string{"REVERT": "Critical"}, Revert{Min: detect.Critical}, ""},
		{map[string]string{"REVERT": "high", "REVERT_AFTER": "15m"}, Revert{Min: detect.High, After: 15 * time.Minute}, ""},
		{map[string]string{"REVERT": "high", "REVERT_AFTER": "0"}, Revert{Min: detect.High}, ""},
		{map[string]string{"REVERT": "low", "REVERT_INCLUDE": "authorized-ports, trusted-automation"}, Revert{Min: detect.Low, Trusted: true, Authorized: true}, ""},
		{map[string]string{"REVERT": "high", "REVERT_EXEMPT": "arn:aws:iam::111122223333:role/breakglass"},
			Revert{Min: detect.High, Exempt: []string{"arn:aws:iam::111122223333:role/breakglass"}}, ""},
		{map[string]string{"REVERT": "info"}, Revert{}, "REVERT: \"info\": info findings are never reverted"},
		{map[string]string{"REVERT": "on"}, Revert{}, "REVERT: "},
		{map[string]string{"REVERT": "high", "REVERT_AFTER": "15"}, Revert{}, "REVERT_AFTER: \"15\" is not a duration"},
		{map[string]string{"REVERT": "high", "REVERT_AFTER": "25h"}, Revert{}, "outside 0 to 24h0m0s"},
		{map[string]string{"REVERT": "high", "REVERT_AFTER": "-5m"}, Revert{}, "outside"},
		{map[string]string{"REVERT": "high", "REVERT_AFTER": "30s"}, Revert{}, "under a minute"},
		{map[string]string{"REVERT": "high", "REVERT_EXEMPT": "arn:aws:iam::111122223333:root"}, Revert{}, "REVERT_EXEMPT: \"arn:aws:iam::111122223333:root\" is the root user"},
		{map[string]string{"REVERT": "high", "REVERT_EXEMPT": "arn:aws:iam::*:role/x"}, Revert{}, "REVERT_EXEMPT: "},
		{map[string]string{"REVERT": "high", "REVERT_INCLUDE": "everything"}, Revert{}, "REVERT_INCLUDE: \"everything\""},
		{map[string]string{"REVERT_AFTER": "15m"}, Revert{}, "need REVERT"},
		{map[string]string{"REVERT_EXEMPT": "arn:aws:iam::111122223333:role/breakglass"}, Revert{}, "need REVERT"},
	} {
		got, err := RevertFromEnv(env(c.env))
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%v: error %v, want %q", c.env, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%v: %v", c.env, err)
		case c.err == "" && fmt.Sprint(got) != fmt.Sprint(c.want):
			t.Errorf("%v: %+v, want %+v", c.env, got, c.want)
		}
	}
}

// TestPlanRevert: what the revert does about each kind of finding, and
// why it leaves one alone.
func TestPlanRevert(t *testing.T) {
	const (
		self  = "111122223333"
		group = "sg-0123456789abcdef0"
		id    = "sgr-0123456789abcdef0"
	)
	at := time.Date(2026, 12, 7, 20, 3, 20, 0, time.UTC)
	port := func(n int) *int { return &n }
	world := func(p int, rid string) detect.Rule {
		return detect.Rule{Direction: detect.Ingress, Protocol: "tcp", FromPort: port(p), ToPort: port(p), CIDRIPv4: "0.0.0.0/0", RuleID: rid}
	}
	admin := detect.Actor{Type: "AssumedRole", ARN: "arn:aws:sts::" + self + ":assumed-role/Admin/alice", SessionIssuerARN: "arn:aws:iam::" + self + ":role/Admin"}
	root := detect.Actor{Type: "Root", ARN: "arn:aws:iam::" + self + ":root"}
	change := func(mod func(*detect.Finding)) detect.Finding {
		f := detect.Finding{Action: detect.Modify, Outcome: detect.Succeeded, Event: detect.Event{Name: "AuthorizeSecurityGroupIngress", Region: "eu-west-1", AccountID: self},
			Actor: admin, SecurityGroup: detect.SecurityGroup{ID: group}, Rules: []detect.Rule{world(22, id)}}
		if mod != nil {
			mod(&f)
		}
		return f
	}
	on := Revert{Min: detect.High, After: 15 * time.Minute, Exempt: []string{"arn:aws:iam::" + self + ":role/BreakGlass"}}
	for _, c := range []struct {
		name   string
		r      Revert
		f      detect.Finding
		status detect.RevertStatus // "" for no plan
		due    string
		why    string
	}{
		{"off", Revert{}, change(nil), "", "", ""},
		{"scheduled, to the next whole minute", on, change(nil), detect.RevertScheduled, "2026-12-07T20:19:00Z", ""},
		{"at once", Revert{Min: detect.High}, change(nil), detect.RevertNow, "2026-12-07T20:03:20Z", ""},
		{"below REVERT", Revert{Min: detect.Critical}, change(func(f *detect.Finding) { f.Rules = []detect.Rule{world(443, id)} }), "", "", ""},
		{"a failed call", on, change(func(f *detect.Finding) { f.Outcome = detect.Failed }), "", "", ""},
		{"not a rule change", on, change(func(f *detect.Finding) { f.Event.Name = "ModifyNetworkInterfaceAttribute" }), "", "", ""},
		{"severe, but nothing world-open", on, change(func(f *detect.Finding) {
			f.Actor = root
			f.Rules = []detect.Rule{{Direction: detect.Ingress, Protocol: "tcp", FromPort: port(22), ToPort: port(22), CIDRIPv4: "10.0.0.0/8", RuleID: id}}
		}), detect.NotReverted, "", "no rule of it is open to the whole internet by itself"},
		{"no rule id", on, change(func(f *detect.Finding) { f.Rules[0].RuleID = "" }), detect.NotReverted, "", "only a rule named by its id"},
		{"another account", on, change(func(f *detect.Finding) { f.Event.AccountID = "444455556666" }), detect.NotReverted, "", "reverts only in its own"},
		{"exempt", on, change(func(f *detect.Finding) { f.Actor.SessionIssuerARN = "arn:aws:iam::" + self + ":role/BreakGlass" }), detect.NotReverted, "", "REVERT_EXEMPT"},
		{"trusted automation", Revert{Min: detect.High}, change(func(f *detect.Finding) { f.Automation = "arn:aws:iam::" + self + ":role/terraform" }), detect.NotReverted, "", "trusted automation"},
		{"trusted automation included", Revert{Min: detect.High, Trusted: true}, change(func(f *detect.Finding) { f.Automation = "arn:aws:iam::" + self + ":role/terraform" }), detect.RevertNow, "2026-12-07T20:03:20Z", ""},
		{"lowered from critical counts as critical", Revert{Min: detect.Critical}, change(func(f *detect.Finding) {
			f.Severity, f.SeverityBeforeAutomation, f.Automation = detect.High, detect.Critical, "arn:aws:iam::"+self+":role/terraform"
		}), detect.NotReverted, "", "trusted automation"},
		{"authorised port", on, change(func(f *detect.Finding) {
			f.Rules = []detect.Rule{world(8443, id)}
			f.SecurityGroup.Tags = map[string]string{detect.PublicTag: "tcp/8443"}
			f.Severity = detect.High
		}), detect.NotReverted, "", "authorised public ports"},
		{"authorised port included", Revert{Min: detect.High, Authorized: true}, change(func(f *detect.Finding) {
			f.Rules = []detect.Rule{world(8443, id)}
			f.SecurityGroup.Tags = map[string]string{detect.PublicTag: "tcp/8443"}
			f.Severity = detect.High
		}), detect.RevertNow, "2026-12-07T20:03:20Z", ""},
		{"root: at once whatever the window, and never exempt", Revert{Min: detect.High, After: time.Hour, Exempt: []string{"arn:aws:iam::" + self + ":role/Admin"}},
			change(func(f *detect.Finding) {
				f.Actor = root
				f.Actor.SessionIssuerARN = "arn:aws:iam::" + self + ":role/Admin"
			}), detect.RevertNow, "2026-12-07T20:03:20Z", ""},
		{"an unread identity counts as root", on, change(func(f *detect.Finding) { f.Actor = detect.Actor{Unread: true} }), detect.RevertNow, "2026-12-07T20:03:20Z", ""},
		{"the sweep's exposure", on, change(func(f *detect.Finding) { f.Action, f.Event.Name = detect.Exposure, detect.SweepCall }), detect.RevertScheduled, "2026-12-07T20:19:00Z", ""},
	} {
		p := Policy{Revert: c.r}
		f := c.f
		if f.Severity == "" {
			p.Score.Score(&f)
			if c.f.Automation != "" { // as trusted automation scored it
				f.Automation, f.Severity, f.SeverityBeforeAutomation = c.f.Automation, c.f.Severity, c.f.SeverityBeforeAutomation
				if f.Severity == "" {
					f.Severity = detect.Critical
				}
			}
		}
		plan, rules := p.PlanRevert(f, self, at)
		switch {
		case c.status == "" && plan != nil:
			t.Errorf("%s: plan %+v, want none", c.name, plan)
		case c.status == "":
		case plan == nil:
			t.Errorf("%s: no plan, want %s", c.name, c.status)
		case plan.Status != c.status || plan.At != c.due || !strings.Contains(plan.Why, c.why) || (c.why == "") != (plan.Why == ""):
			t.Errorf("%s: %+v; want %s at %q, why %q", c.name, plan, c.status, c.due, c.why)
		case c.status == detect.NotReverted && rules != nil:
			t.Errorf("%s: not reverted, yet rules %v", c.name, rules)
		case c.status != detect.NotReverted && (len(rules) != 1 || rules[0].RuleID != id || len(plan.Rules) != 1 || plan.Rules[0] != id):
			t.Errorf("%s: rules %v, plan's %v; want %s", c.name, rules, plan.Rules, id)
		case c.status == detect.RevertScheduled && !strings.Contains(plan.Approve, "Value=2026-12-08T20:19:00Z"):
			t.Errorf("%s: approve command %q, want one running 24 h past the due time", c.name, plan.Approve)
		case c.status == detect.RevertNow && plan.Approve != "":
			t.Errorf("%s: an approval command for a revert at once: %q", c.name, plan.Approve)
		}
	}
}

// TestPlanRevertMany: a call that opens more rules than a window's check
// holds is reverted at once.
func TestPlanRevertMany(t *testing.T) {
	var rules []detect.Rule
	for i := range MaxScheduled + 1 {
		p := 1000 + i
		rules = append(rules, detect.Rule{Direction: detect.Ingress, Protocol: "tcp", FromPort: &p, ToPort: &p, CIDRIPv4: "0.0.0.0/0", RuleID: fmt.Sprintf("sgr-%017x", i+1)})
	}
	f := detect.Finding{Action: detect.Modify, Outcome: detect.Succeeded, Event: detect.Event{Name: "AuthorizeSecurityGroupIngress", Region: "eu-west-1", AccountID: "111122223333"},
		SecurityGroup: detect.SecurityGroup{ID: "sg-0123456789abcdef0"}, Rules: rules}
	p := Policy{Revert: Revert{Min: detect.High, After: time.Hour}}
	p.Score.Score(&f)
	plan, got := p.PlanRevert(f, "111122223333", time.Now())
	if plan == nil || plan.Status != detect.RevertNow || len(got) != MaxScheduled+1 {
		t.Errorf("%d world rules: %+v, %d rules; want all reverted at once", MaxScheduled+1, plan, len(got))
	}
	f.Rules = rules[:MaxScheduled]
	if plan, _ := p.PlanRevert(f, "111122223333", time.Now()); plan == nil || plan.Status != detect.RevertScheduled {
		t.Errorf("%d world rules: %+v, want the window", MaxScheduled, plan)
	}
}

// TestApprovalAlwaysPublished: a change of the revert's approval is
// published whatever MIN_SEVERITY and SUPPRESS say: it keeps an exposure
// open.
func TestApprovalAlwaysPublished(t *testing.T) {
	f := detect.Finding{Action: detect.Modify, Outcome: detect.Succeeded, Severity: detect.Medium, Event: detect.Event{Name: "CreateTags", AccountID: "111122223333"},
		Actor: detect.Actor{ARN: "arn:aws:iam::111122223333:user/bob"},
		Tags:  &detect.TagChange{Resources: []string{"sgr-0123456789abcdef0"}, Tags: []detect.Tag{{Key: detect.ApprovedUntilTag, Value: "2026-12-08T20:00:00Z"}}}}
	p := Policy{MinSeverity: detect.Critical, Suppress: []Suppression{{Account: "111122223333", Until: now.Add(time.Hour), Reason: "quiet"}}}
	if d := p.Decide(f, now); !d.Publish || !strings.Contains(d.Why, "approval") {
		t.Errorf("approval: %+v, want published, saying why", d)
	}
	f.Event.Time = "2026-12-09T00:00:00Z"
	if d := p.Decide(f, now); d.Publish {
		t.Errorf("an approval that had run out when it was set: %+v, want held back", d)
	}
	f.Event.Time, f.Event.Name = "", "DeleteTags"
	if d := p.Decide(f, now); d.Publish {
		t.Errorf("an approval removed: %+v, want held back", d)
	}
	f.Event.Name, f.Tags.Tags[0].Key = "CreateTags", detect.PublicTag
	if d := p.Decide(f, now); d.Publish {
		t.Errorf("another sgwatch tag: %+v, want held back", d)
	}
}
