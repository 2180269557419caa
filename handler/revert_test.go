package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/revert"
	"github.com/sgwatch/sgwatch/sweep"
)

// fnARN is the function's ARN in the Lambda context: the account of the
// sample events.
const fnARN = "arn:aws:lambda:eu-west-1:111122223333:function:sgwatch"

// sshKey is the idempotency key of the sample world SSH event's finding.
const sshKey = "event/00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f/0"

// revertNow is the handler's clock in these tests: five minutes after the
// sample event.
var revertNow = time.Date(2026, 11, 20, 10, 5, 20, 0, time.UTC)

// invoked is a context as Lambda gives one, with the function's ARN.
func invoked() context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{InvokedFunctionArn: fnARN})
}

// windowEnv are the variables a deployment with an approval window sets.
var windowEnv = map[string]string{"REVERT_SCHEDULE_GROUP": "sgwatch-revert", "REVERT_SCHEDULE_ROLE": "arn:aws:iam::111122223333:role/sgwatch-scheduler",
	"REVERT_DEAD_LETTER_ARN": "arn:aws:sqs:eu-west-1:111122223333:sgwatch-revert-dlq", "SWEEP": "true"}

type revertCall struct {
	f          detect.Finding
	rules      []string
	approvable bool
	now        time.Time
	published  int // notifications published before it
}

type scheduleCall struct {
	target    string
	c         revert.Check
	published int // notifications published before it
}

// fakeReverter answers each Revert with the next of results (the last
// again once they run out; RevertDone for none) and each Schedule with
// schedErr, and records them with how many notifications were published
// before each.
type fakeReverter struct {
	mu        sync.Mutex
	published func() int
	results   []detect.RevertStatus
	schedErr  error
	onRevoke  func() // run when a revert revokes
	reverts   []revertCall
	schedules []scheduleCall
}

func (r *fakeReverter) Revert(_ context.Context, f detect.Finding, rules []detect.Rule, approvable bool, now time.Time) revert.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, rule := range rules {
		ids = append(ids, rule.RuleID)
	}
	r.reverts = append(r.reverts, revertCall{f: f, rules: ids, approvable: approvable, now: now, published: r.published()})
	st := detect.RevertDone
	if n := len(r.results); n > 0 {
		st = r.results[min(len(r.reverts), n)-1]
	}
	res := revert.Result{Status: st, Calls: 4}
	switch st {
	case detect.RevertDone:
		res.Revoked = rules
		res.Reread = "DescribeSecurityGroupRules of " + f.SecurityGroup.ID + " lists 0 rules, none of " + strings.Join(ids, ", ")
		if r.onRevoke != nil {
			r.onRevoke()
		}
	case detect.RevertFailure:
		res.Why = "RevokeSecurityGroupIngress failed: UnauthorizedOperation: not authorized"
	case detect.RevertApproved:
		res.Left = []string{ids[0] + ": approved until 2026-11-21T10:00:00Z"}
	case detect.RevertChanged:
		res.Left = []string{ids[0] + ": changed since the change that opened it, so left alone (its own change is judged)"}
	}
	return res
}

func (r *fakeReverter) Schedule(_ context.Context, target string, c revert.Check) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.schedules = append(r.schedules, scheduleCall{target: target, c: c, published: r.published()})
	return r.schedErr
}

// revertHandler is a handler configured by env (with the topic), on
// revertNow's clock, publishing to a fakeSNS, reverting with a
// fakeReverter.
func revertHandler(t *testing.T, env map[string]string) (*Handler, *fakeSNS, *fakeReverter) {
	t.Helper()
	all := map[string]string{"SNS_TOPIC_ARN": topic}
	for k, v := range env {
		all[k] = v
	}
	cfg, err := ConfigFromEnv(func(k string) string { return all[k] }, revertNow)
	if err != nil {
		t.Fatal(err)
	}
	pub := &fakeSNS{}
	r := &fakeReverter{published: func() int { return len(pub.got) }}
	var logs bytes.Buffer
	return New(cfg, Deps{SNS: pub, Log: &logs, Reverter: r, Now: func() time.Time { return revertNow }}), pub, r
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func subjects(pub *fakeSNS) []string {
	var out []string
	for _, in := range pub.got {
		out = append(out, aws.ToString(in.Subject))
	}
	return out
}

// rootEvent is the sample world SSH event made by the root user.
func rootEvent(t *testing.T) json.RawMessage {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(event(t, "authorize-ingress-world-ssh"), &ev); err != nil {
		t.Fatal(err)
	}
	ev["detail"].(map[string]any)["userIdentity"] = map[string]any{"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestRevertAtOnce: with REVERT=high and no window, a world SSH change by
// a role is published, then reverted (approvals counting) by exactly its
// rule, then its reverted notification is published, in that order; with a
// window, a root user's critical change is reverted at once all the same,
// with no approval counting and nothing scheduled.
func TestRevertAtOnce(t *testing.T) {
	for _, c := range []struct {
		name       string
		env        map[string]string
		event      func(*testing.T) json.RawMessage
		approvable bool
		by         string
	}{
		{"no window", map[string]string{"REVERT": "high", "REVERT_AFTER": "0"},
			func(t *testing.T) json.RawMessage { return event(t, "authorize-ingress-world-ssh") }, true, "ops-admin"},
		{"root user, window", merge(windowEnv, map[string]string{"REVERT": "high", "REVERT_AFTER": "15m"}), rootEvent, false, "root"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, pub, r := revertHandler(t, c.env)
			if err := h.Handle(invoked(), c.event(t)); err != nil {
				t.Fatal(err)
			}
			if len(r.reverts) != 1 || len(r.schedules) != 0 {
				t.Fatalf("%d reverts, %d schedules; want one revert and no schedule", len(r.reverts), len(r.schedules))
			}
			rc := r.reverts[0]
			if rc.approvable != c.approvable || strings.Join(rc.rules, ",") != "sgr-0c0ffee0c0ffee001" || !rc.now.Equal(revertNow) || rc.published != 1 {
				t.Errorf("revert of %q approvable %v at %v after %d publishes; want sgr-0c0ffee0c0ffee001, approvable %v, at %v, after the change's",
					rc.rules, rc.approvable, rc.now, rc.published, c.approvable, revertNow)
			}
			got := subjects(pub)
			if len(got) != 2 || !strings.Contains(got[0], " modified by "+c.by) || !strings.Contains(got[1], " REVERTED, opened by "+c.by) {
				t.Fatalf("published %q, want the change then its revert", got)
			}
			first, second := aws.ToString(pub.got[0].Message), aws.ToString(pub.got[1].Message)
			if !strings.Contains(first, "being reverted now: sgr-0c0ffee0c0ffee001") {
				t.Errorf("the change does not say it is being reverted:\n%s", first)
			}
			if !strings.Contains(second, "revoked at 2026-11-20T10:05:20Z: sgr-0c0ffee0c0ffee001") ||
				!strings.Contains(second, "authorize-security-group-ingress --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718") {
				t.Errorf("the reverted notification lacks the revoke or the command that reopens:\n%s", second)
			}
		})
	}
}

// TestRevertScheduled: with a window, the check is scheduled to invoke the
// function before the change is published; the notification says when it
// will be reverted and gives the create-tags command, and nothing is
// reverted. The scheduled check, when it fires, reverts with approvals
// counting and publishes the reverted notification.
func TestRevertScheduled(t *testing.T) {
	h, pub, r := revertHandler(t, merge(windowEnv, map[string]string{"REVERT": "high", "REVERT_AFTER": "15m"}))
	if err := h.Handle(invoked(), event(t, "authorize-ingress-world-ssh")); err != nil {
		t.Fatal(err)
	}
	if len(r.schedules) != 1 || len(r.reverts) != 0 || len(pub.got) != 1 {
		t.Fatalf("%d schedules, %d reverts, %d publishes; want one schedule, no revert, one notification", len(r.schedules), len(r.reverts), len(pub.got))
	}
	s := r.schedules[0]
	// 10:05:20 + 15 m, to the next whole minute.
	const due = "2026-11-20T10:21:00Z"
	switch {
	case s.published != 0:
		t.Errorf("scheduled after %d publishes, want before the notification", s.published)
	case s.target != fnARN:
		t.Errorf("the check invokes %q, want the function %q", s.target, fnARN)
	case s.c.Kind != revert.CheckKind || s.c.Key != sshKey:
		t.Errorf("check kind %q key %q", s.c.Kind, s.c.Key)
	case s.c.Finding.Revert == nil || s.c.Finding.Revert.Status != detect.RevertScheduled || s.c.Finding.Revert.At != due:
		t.Errorf("check's revert %+v, want scheduled at %s", s.c.Finding.Revert, due)
	case len(s.c.Finding.Rules) != 1 || s.c.Finding.Rules[0].RuleID != "sgr-0c0ffee0c0ffee001" || s.c.Finding.Rules[0].Description != "":
		t.Errorf("check's rules %+v, want the world SSH rule without its description", s.c.Finding.Rules)
	}
	body := aws.ToString(pub.got[0].Message)
	for _, want := range []string{"will be reverted at " + due + " unless approved: sgr-0c0ffee0c0ffee001",
		"aws ec2 create-tags --region eu-west-1 --resources sgr-0c0ffee0c0ffee001 --tags Key=sgwatch:approved-until,Value=2026-11-21T10:21:00Z"} {
		if !strings.Contains(body, want) {
			t.Errorf("notification lacks %q:\n%s", want, body)
		}
	}

	// The schedule fires with its input.
	input, err := json.Marshal(s.c)
	if err != nil {
		t.Fatal(err)
	}
	later := revertNow.Add(16 * time.Minute)
	h = with(h, func(d *Deps) { d.Now = func() time.Time { return later } })
	if err := h.Handle(invoked(), input); err != nil {
		t.Fatal(err)
	}
	if len(r.reverts) != 1 || !r.reverts[0].approvable || strings.Join(r.reverts[0].rules, ",") != "sgr-0c0ffee0c0ffee001" {
		t.Fatalf("the check: reverts %+v, want one of the rule with approvals counting", r.reverts)
	}
	if len(pub.got) != 2 || !strings.Contains(aws.ToString(pub.got[1].Subject), "REVERTED") ||
		!strings.Contains(aws.ToString(pub.got[1].Message), "approval window ended at "+due) {
		t.Errorf("the check published %q, want the reverted notification saying the window ended", subjects(pub))
	}
}

// TestRevertScheduleFails: a check that cannot be scheduled is not waited
// for (no window without its check): the notification says why and that
// the rules are reverted at once, and they are, with approvals counting;
// without the Lambda context (no function to invoke) the same.
func TestRevertScheduleFails(t *testing.T) {
	for _, c := range []struct {
		name     string
		ctx      context.Context
		schedErr error
		cause    string
	}{
		{"refused", invoked(), errors.New("AccessDeniedException: scheduler:CreateSchedule"), "AccessDeniedException"},
		{"no Lambda context", context.Background(), nil, "function's ARN is not known"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, pub, r := revertHandler(t, merge(windowEnv, map[string]string{"REVERT": "high", "REVERT_AFTER": "15m"}))
			r.schedErr = c.schedErr
			if err := h.Handle(c.ctx, event(t, "authorize-ingress-world-ssh")); err != nil {
				t.Fatalf("error %v, want the revert at once to succeed", err)
			}
			if len(pub.got) != 2 || len(r.reverts) != 1 || !r.reverts[0].approvable {
				t.Fatalf("%d publishes, reverts %+v; want the change, then the revert at once (approvals counting)", len(pub.got), r.reverts)
			}
			first := aws.ToString(pub.got[0].Message)
			for _, want := range []string{"being reverted now", "could not be scheduled", c.cause} {
				if !strings.Contains(first, want) {
					t.Errorf("notification lacks %q:\n%s", want, first)
				}
			}
			if strings.Contains(first, "will be reverted at") || strings.Contains(first, "aws ec2 create-tags") {
				t.Errorf("notification still offers the window:\n%s", first)
			}
			if !strings.Contains(aws.ToString(pub.got[1].Subject), "REVERTED") {
				t.Errorf("second notification %q, want the reverted one", aws.ToString(pub.got[1].Subject))
			}
		})
	}
}

// TestRevertFailedAtOnce: a revert that fails publishes a critical
// revert-failed notification after the change, with the reason, and the
// invocation fails with a RevertError.
func TestRevertFailedAtOnce(t *testing.T) {
	h, pub, r := revertHandler(t, map[string]string{"REVERT": "high"})
	r.results = []detect.RevertStatus{detect.RevertFailure}
	err := h.Handle(invoked(), event(t, "authorize-ingress-world-ssh"))
	var re *RevertError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "UnauthorizedOperation") {
		t.Fatalf("error %v, want a RevertError with the reason", err)
	}
	got := subjects(pub)
	if len(got) != 2 || !strings.HasPrefix(got[1], "[CRITICAL] ") || !strings.Contains(got[1], "REVERT FAILED") {
		t.Fatalf("published %q, want the change then a critical REVERT FAILED", got)
	}
	if body := aws.ToString(pub.got[1].Message); !strings.Contains(body, "FAILED at 2026-11-20T10:05:20Z: sgr-0c0ffee0c0ffee001: RevokeSecurityGroupIngress failed") {
		t.Errorf("revert-failed notification lacks the reason:\n%s", body)
	}
}

// sshCheck is the check of the sample world SSH change, due at due, in
// account (the event's own when "").
func sshCheck(t *testing.T, account, due string) json.RawMessage {
	t.Helper()
	b, err := detect.Parse(event(t, "authorize-ingress-world-ssh"), detect.Scoring{})
	if err != nil || len(b.Findings) != 1 {
		t.Fatalf("parse: %d findings, %v", len(b.Findings), err)
	}
	f := b.Findings[0]
	if account != "" {
		f.Event.AccountID = account
	}
	f.Revert = &detect.Revert{Status: detect.RevertScheduled, Rules: []string{"sgr-0c0ffee0c0ffee001"}, At: due}
	data, err := json.Marshal(revert.NewCheck(f, f.Rules, sshKey))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestRevertCheck: a scheduled check reverts its rules with approvals
// counting; every outcome answers the notification that announced it: a
// revert that revoked (or found them gone) publishes reverted, one that
// left them approved or changed says so (not reverted) and succeeds, one
// that failed publishes revert-failed and fails; a check for another account
// than the function's, or a malformed one, is a DecodeError and reverts
// nothing; with revert off since, a check reverts nothing and says so.
func TestRevertCheck(t *testing.T) {
	const due = "2026-11-20T10:05:00Z"
	for _, c := range []struct {
		name    string
		env     map[string]string
		payload func(*testing.T) json.RawMessage
		result  detect.RevertStatus
		reverts int
		subject string // of the one notification published; "" for none
		err     any    // the error's type; nil for none
	}{
		{"reverted", nil, func(t *testing.T) json.RawMessage { return sshCheck(t, "", due) }, detect.RevertDone, 1, "REVERTED", nil},
		{"gone", nil, func(t *testing.T) json.RawMessage { return sshCheck(t, "", due) }, detect.RevertGone, 1, "GONE BEFORE REVERT", nil},
		{"approved", nil, func(t *testing.T) json.RawMessage { return sshCheck(t, "", due) }, detect.RevertApproved, 1, "NOT REVERTED", nil},
		{"changed", nil, func(t *testing.T) json.RawMessage { return sshCheck(t, "", due) }, detect.RevertChanged, 1, "NOT REVERTED", nil},
		{"failed", nil, func(t *testing.T) json.RawMessage { return sshCheck(t, "", due) }, detect.RevertFailure, 1, "REVERT FAILED", &RevertError{}},
		{"another account", nil, func(t *testing.T) json.RawMessage { return sshCheck(t, "444455556666", due) }, detect.RevertDone, 0, "", &DecodeError{}},
		{"no key", nil, func(t *testing.T) json.RawMessage {
			return json.RawMessage(strings.Replace(string(sshCheck(t, "", due)), `"key":"`+sshKey+`"`, `"key":""`, 1))
		}, detect.RevertDone, 0, "", &DecodeError{}},
		{"revert off", map[string]string{"REVERT": "off"}, func(t *testing.T) json.RawMessage { return sshCheck(t, "", due) }, detect.RevertDone, 0, "NOT REVERTED", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := c.env
			if env == nil {
				env = map[string]string{"REVERT": "high"}
			}
			h, pub, r := revertHandler(t, env)
			r.results = []detect.RevertStatus{c.result}
			err := h.Handle(invoked(), c.payload(t))
			switch want := c.err.(type) {
			case nil:
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
			case *RevertError:
				if !errors.As(err, &want) {
					t.Fatalf("error %v (%T), want a RevertError", err, err)
				}
			case *DecodeError:
				if !errors.As(err, &want) {
					t.Fatalf("error %v (%T), want a DecodeError", err, err)
				}
			}
			if len(r.reverts) != c.reverts {
				t.Fatalf("%d reverts, want %d", len(r.reverts), c.reverts)
			}
			if c.reverts == 1 && (!r.reverts[0].approvable || strings.Join(r.reverts[0].rules, ",") != "sgr-0c0ffee0c0ffee001") {
				t.Errorf("revert of %q approvable %v; want the check's rule, approvals counting", r.reverts[0].rules, r.reverts[0].approvable)
			}
			got := subjects(pub)
			switch {
			case c.subject == "" && len(got) != 0:
				t.Errorf("published %q, want nothing", got)
			case c.subject != "" && (len(got) != 1 || !strings.Contains(got[0], c.subject)):
				t.Errorf("published %q, want one %q", got, c.subject)
			}
		})
	}
}

// TestRevertOnce: the same event delivered twice, with the idempotency
// table, publishes the change once and the revert's notification once
// (the second revert finds the rule gone, under the same key); with a
// window, both deliveries schedule the same check (one schedule name).
func TestRevertOnce(t *testing.T) {
	for _, c := range []struct {
		name      string
		env       map[string]string
		published []string // subjects, in order
		reverts   int
		schedules int
	}{
		{"at once", map[string]string{"REVERT": "high"},
			[]string{"[CRITICAL] sg-0a1b2c3d4e5f60718 modified by ops-admin in 111122223333/eu-west-1",
				"[CRITICAL] sg-0a1b2c3d4e5f60718 REVERTED, opened by ops-admin in 111122223333/eu-west-1"}, 2, 0},
		{"window", merge(windowEnv, map[string]string{"REVERT": "high", "REVERT_AFTER": "15m"}),
			[]string{"[CRITICAL] sg-0a1b2c3d4e5f60718 modified by ops-admin in 111122223333/eu-west-1"}, 0, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, pub, r := revertHandler(t, c.env)
			r.results = []detect.RevertStatus{detect.RevertDone, detect.RevertGone}
			o := newFakeOnce()
			h = with(h, func(d *Deps) { d.Claims = o })
			for i := range 2 {
				if err := h.Handle(invoked(), event(t, "authorize-ingress-world-ssh")); err != nil {
					t.Fatalf("delivery %d: %v", i+1, err)
				}
			}
			if got := subjects(pub); strings.Join(got, "\n") != strings.Join(c.published, "\n") {
				t.Errorf("published\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.published, "\n"))
			}
			if len(r.reverts) != c.reverts || len(r.schedules) != c.schedules {
				t.Errorf("%d reverts, %d schedules; want %d and %d", len(r.reverts), len(r.schedules), c.reverts, c.schedules)
			}
			if c.reverts > 0 && !o.done[sshKey+"/revert"] {
				t.Errorf("the revert's notification is not recorded under %s/revert: %q", sshKey, o.calls)
			}
			if c.schedules == 2 && revert.ScheduleName(r.schedules[0].c.Key) != revert.ScheduleName(r.schedules[1].c.Key) {
				t.Errorf("the two deliveries schedule %q and %q, want the same check", r.schedules[0].c.Key, r.schedules[1].c.Key)
			}
		})
	}
}

// TestSweepReverts: with REVERT on, the sweep lists an exposure with its
// revert an hour ahead, reverts it (approvals counting) at the first
// sweep past that, publishes the reverted notification, and publishes no
// resolution once the rule is gone; with REVERT off it never reverts.
func TestSweepReverts(t *testing.T) {
	for _, c := range []struct {
		name   string
		revert string
		want   int // reverts
	}{
		{"on", "high", 1},
		{"off", "off", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			pub := &lockedSNS{}
			h, _, r := revertHandler(t, map[string]string{"REVERT": c.revert})
			l := &rtLister{open: true}
			r.published = func() int { pub.mu.Lock(); defer pub.mu.Unlock(); return len(pub.got) }
			r.onRevoke = func() { l.mu.Lock(); l.open = false; l.mu.Unlock() }
			now := time.Date(2026, 11, 27, 6, 0, 10, 0, time.UTC)
			h.cfg.Sweep = SweepConfig{Enabled: true}
			h.cfg.Region = "eu-west-1"
			h = with(h, func(d *Deps) {
				d.SNS = pub
				d.Now = func() time.Time { return now }
				d.Sweep = &Sweeps{Lister: func(context.Context, sweep.Target) (sweep.Lister, error) { return l, nil },
					Memory: &rtMemory{data: map[string][]byte{}, version: map[string]int64{}}, Claims: newFakeOnce()}
			})
			run := func(id string) []string {
				t.Helper()
				if err := h.Handle(context.Background(), []byte(`{"sgwatch":"sweep","id":"`+id+`"}`)); err != nil {
					t.Fatalf("sweep %s: %v", id, err)
				}
				var out []string
				pub.mu.Lock()
				defer pub.mu.Unlock()
				for _, in := range pub.got {
					out = append(out, aws.ToString(in.Subject)+"\n"+aws.ToString(in.Message))
				}
				pub.got = nil
				return out
			}
			got := run("exec-1")
			if len(got) != 1 || !strings.HasPrefix(got[0], "[CRITICAL] sg-00000000000000001 exposes tcp/22") {
				t.Fatalf("first sweep published %q, want the exposure", got)
			}
			if listed := strings.Contains(got[0], "will be reverted at 2026-11-27T07:01:00Z unless approved"); listed != (c.want == 1) {
				t.Errorf("revert %s: the exposure says it will be reverted: %v\n%s", c.revert, listed, got[0])
			}
			now = now.Add(2 * time.Hour)
			got = run("exec-2")
			if len(r.reverts) != c.want {
				t.Fatalf("%d reverts, want %d", len(r.reverts), c.want)
			}
			if c.want == 0 {
				if len(got) != 0 {
					t.Errorf("revert off: published %q", got)
				}
				return
			}
			if rc := r.reverts[0]; !rc.approvable || strings.Join(rc.rules, ",") != "sgr-00000000000000011" {
				t.Errorf("revert of %q approvable %v, want the exposure's rule, approvals counting", rc.rules, rc.approvable)
			}
			if len(got) != 1 || !strings.Contains(got[0], "REVERTED") {
				t.Errorf("past the due time: published %q, want the reverted notification", got)
			}
			now = now.Add(time.Hour)
			if got := run("exec-3"); len(got) != 0 {
				t.Errorf("after the revert: published %q, want no resolution", got)
			}
		})
	}
}

// TestRevertCheckJudgedAgain: a check is judged again as the deployment
// judges now: one whose change the policy spares since (REVERT_EXEMPT,
// REVERT raised), or a forged one, reverts nothing and says why.
func TestRevertCheckJudgedAgain(t *testing.T) {
	for _, c := range []struct {
		name, why string
		env       map[string]string
	}{
		{"exempt since", "REVERT_EXEMPT", map[string]string{"REVERT": "high", "REVERT_EXEMPT": "arn:aws:iam::111122223333:role/Admin"}},
		{"not a change it reverts", "no longer covers it", map[string]string{"REVERT": "high"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, pub, r := revertHandler(t, c.env)
			payload := sshCheck(t, "", "2026-11-20T10:05:00Z")
			if c.name == "not a change it reverts" {
				payload = json.RawMessage(strings.Replace(string(payload), `"name":"AuthorizeSecurityGroupIngress"`, `"name":"RevokeSecurityGroupIngress"`, 1))
			}
			if err := h.Handle(invoked(), payload); err != nil {
				t.Fatal(err)
			}
			got := subjects(pub)
			if len(r.reverts) != 0 || len(got) != 1 || !strings.Contains(got[0], "NOT REVERTED") || !strings.Contains(aws.ToString(pub.got[0].Message), c.why) {
				t.Errorf("%d reverts, published %q; want none, and one saying why (%s)", len(r.reverts), got, c.why)
			}
		})
	}
}

// TestRevertCheckWebPort: a world tcp/443 on a host the internet reaches,
// scheduled with its reachability known, is reverted at its check; one
// whose reachability was not known (it may be a load balancer's, whose
// web ports AUTHORIZED_PUBLIC_PORTS authorises) is not.
func TestRevertCheckWebPort(t *testing.T) {
	for _, c := range []struct {
		name    string
		reach   *detect.Reachability
		reverts int
	}{
		{"reachable", &detect.Reachability{Grade: detect.GradeInternet, Why: "public IP routed to an internet gateway"}, 1},
		{"not known", nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := detect.Parse(event(t, "authorize-ingress-world-ssh"), detect.Scoring{})
			if err != nil || len(b.Findings) != 1 {
				t.Fatalf("parse: %v", err)
			}
			f := b.Findings[0]
			web := 443
			f.Rules[0].FromPort, f.Rules[0].ToPort = &web, &web
			f.Severity, f.Reachability = detect.Critical, c.reach
			f.Revert = &detect.Revert{Status: detect.RevertScheduled, Rules: []string{"sgr-0c0ffee0c0ffee001"}, At: "2026-11-20T10:05:00Z"}
			data, err := json.Marshal(revert.NewCheck(f, f.Rules, sshKey))
			if err != nil {
				t.Fatal(err)
			}
			h, _, r := revertHandler(t, map[string]string{"REVERT": "high"})
			if err := h.Handle(invoked(), data); err != nil {
				t.Fatal(err)
			}
			if len(r.reverts) != c.reverts {
				t.Errorf("%d reverts, want %d", len(r.reverts), c.reverts)
			}
		})
	}
}

// TestRevertOffUnderSAMLocal: sam local makes no AWS call, so the revert
// is off there, as live context is, whatever REVERT says: a notification
// never announces a revert that will not come.
func TestRevertOffUnderSAMLocal(t *testing.T) {
	env := map[string]string{"AWS_SAM_LOCAL": "true", "SNS_TOPIC_ARN": SAMLocalTopic, "REVERT": "high", "REVERT_AFTER": "0"}
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] }, time.Now())
	if err != nil || !cfg.LocalOnly || cfg.Policy.Revert.On() {
		t.Errorf("local %v, revert on %v, error %v; want local, revert off", cfg.LocalOnly, cfg.Policy.Revert.On(), err)
	}
}
