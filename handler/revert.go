package handler

// The opt-in revert (REVERT): what the handler does with a finding's
// revert plan (policy.PlanRevert, in the pipeline), and with the
// scheduled check of one that has an approval window.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/pipeline"
	"github.com/sgwatch/sgwatch/report"
	"github.com/sgwatch/sgwatch/revert"
	"github.com/sgwatch/sgwatch/sweep"
)

// Reverter is what the handler reverts with (package revert).
type Reverter interface {
	Revert(ctx context.Context, f detect.Finding, rules []detect.Rule, approvable bool, now time.Time) revert.Result
	Schedule(ctx context.Context, target string, c revert.Check) error
}

// deliverEvent delivers the result r of an event under key, and does what
// its revert plan says: the check of a window is scheduled before the
// notification that announces it is published (a retry finds it
// scheduled), and a revert at once follows the notification. A check that
// cannot be scheduled is not waited for: the rules are reverted at once,
// and the notification says why.
func (h *Handler) deliverEvent(ctx context.Context, key string, r pipeline.Result, stale time.Duration) error {
	f := r.Finding
	if f.Revert != nil && f.Revert.Status == detect.RevertScheduled {
		if err := h.schedule(ctx, key, f, r.Revert); err != nil {
			// Never a window without its check: reverted at once (fail
			// closed), and the notification says why.
			h.log.Error("cannot schedule the revert check: reverting at once", append(logFields(f), "error", err)...)
			plan := *f.Revert
			plan.Status, plan.At, plan.Approve = detect.RevertNow, h.d.Now().UTC().Format(time.RFC3339), ""
			plan.Why = "its approval window's check could not be scheduled (" + clean.Line(err.Error(), 256) + "), so it is reverted at once"
			f.Revert = &plan
			n, rerr := report.Render(f, h.cfg.Format)
			if rerr != nil {
				return fmt.Errorf("render %s finding for event %s: %w", f.Severity, clean.Line(f.Event.ID, 128), rerr)
			}
			r.Notification = n
		}
	}
	if err := h.deliver(ctx, h.d.Claims, key, key, f, r.Notification, stale); err != nil {
		return err
	}
	if f.Revert != nil && f.Revert.Status == detect.RevertNow {
		_, err := h.revert(ctx, h.d.Claims, key, f, r.Revert, !f.Unapprovable(), stale)
		return err
	}
	return nil
}

// schedule schedules the check of f's revert.
func (h *Handler) schedule(ctx context.Context, key string, f detect.Finding, rules []detect.Rule) error {
	if h.d.Reverter == nil {
		return errors.New("revert is on, but this function has no reverter")
	}
	target := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		target = lc.InvokedFunctionArn
	}
	if target == "" {
		return errors.New("the function's ARN is not known (no Lambda context): nothing to schedule the check to invoke")
	}
	if err := h.d.Reverter.Schedule(ctx, target, revert.NewCheck(f, rules, key)); err != nil {
		return err
	}
	h.log.Info("revert check scheduled", append(logFields(f), "due", f.Revert.At, "schedule", revert.ScheduleName(key))...)
	return nil
}

// revert reverts rules of f now, and publishes what came of it under
// key, claimed in c: reverted, revert-failed (then the error, so that
// Lambda retries and its alarms fire), or the rules kept open (approved,
// or changed since).
func (h *Handler) revert(ctx context.Context, c Claims, key string, f detect.Finding, rules []detect.Rule, approvable bool, stale time.Duration) (detect.RevertStatus, error) {
	if h.d.Reverter == nil {
		return "", &RevertError{errors.New("revert is on, but this function has no reverter")}
	}
	now := h.d.Now()
	res := h.d.Reverter.Revert(ctx, f, rules, approvable, now)
	fields := append(logFields(f), "revert", res.Status, "awsCalls", res.Calls)
	if res.Status == detect.RevertApproved || res.Status == detect.RevertChanged {
		h.log.Info("not reverted", append(fields, "left", res.Left)...)
	}
	perr := h.publishOutcome(ctx, c, key, revert.Outcome(f, res, now), stale)
	if res.Status == detect.RevertFailure {
		h.log.Error("revert failed", append(fields, "why", res.Why)...)
		return res.Status, &RevertError{errors.Join(fmt.Errorf("revert of %s: %s", clean.Line(f.SecurityGroup.ID, 64), res.Why), perr)}
	}
	h.log.Info("reverted", fields...)
	return res.Status, perr
}

// publishOutcome publishes g, what a revert under key came to, once, in
// c. A failure has a key of its own: a revert that failed and then,
// retried, worked publishes both; every other outcome is published once,
// whatever a second delivery of the event finds.
func (h *Handler) publishOutcome(ctx context.Context, c Claims, key string, g detect.Finding, stale time.Duration) error {
	n, err := report.Render(g, h.cfg.Format)
	if err != nil {
		return fmt.Errorf("render the revert's notification: %w", err)
	}
	k := key + "/revert"
	if g.Action == detect.RevertFailed {
		k += "-failed"
	}
	return h.deliver(ctx, c, k, k, g, n, stale)
}

// sweepReverts are the sweep's reverts in this function's account self,
// at stale; nil when revert is off.
func (h *Handler) sweepReverts(self string, stale time.Duration) *sweep.Reverts {
	if !h.cfg.Policy.Revert.On() || h.d.Reverter == nil {
		return nil
	}
	return &sweep.Reverts{
		Plan: func(f detect.Finding) (*detect.Revert, []detect.Rule) {
			if !h.cfg.Policy.Decide(f, h.d.Now()).Publish {
				return nil, nil // not published, so not reverted
			}
			return h.cfg.Policy.PlanRevert(f, self, h.d.Now())
		},
		Revert: func(ctx context.Context, f detect.Finding, rules []detect.Rule, key string) (detect.RevertStatus, error) {
			return h.revert(ctx, h.d.Sweep.Claims, key, f, rules, true, stale)
		},
		Window: h.cfg.Policy.Revert.After,
		Creators: len(h.cfg.Policy.Revert.Exempt) > 0 ||
			!h.cfg.Policy.Revert.Trusted && (len(h.cfg.Policy.Score.TrustedPrincipals) > 0 || len(h.cfg.Policy.Score.TrustedServices) > 0),
	}
}

// check answers a scheduled revert check: the rules are re-read, with
// their approvals, and reverted unless approved.
func (h *Handler) check(ctx context.Context, c revert.Check, stale time.Duration) error {
	f := c.Finding
	self, _ := functionAccount(ctx, h.cfg.TopicARN)
	due, _ := time.Parse(time.RFC3339, f.Revert.At)
	switch {
	case f.Event.AccountID != self:
		return &DecodeError{fmt.Errorf("revert check for account %s, not this function's (%s)", f.Event.AccountID, self)}
	case h.d.Now().Before(due.Add(-time.Minute)):
		// Only the schedule, and whoever may invoke the function, can
		// send a check: it acts when it comes, and says so.
		h.log.Warn("revert check before its due time", append(logFields(f), "due", f.Revert.At)...)
	}
	// Judged again as the deployment judges now: a check made under other
	// settings (revert off since, REVERT raised, a principal exempt since)
	// never reverts what the policy spares now, and still answers the
	// notification that announced it. (Whoever may invoke the function can
	// send a check of their own making; that is the function's privilege.)
	if plan, rules := h.cfg.Policy.PlanRevert(f, self, h.d.Now()); plan == nil || plan.Status == detect.NotReverted || len(rules) < len(f.Rules) {
		why := "the deployment's revert no longer covers it (revert off, below REVERT, or not a change it reverts)"
		if plan != nil && plan.Why != "" {
			why = plan.Why
		}
		h.log.Warn("revert check not acted on", append(logFields(f), "why", why)...)
		g := f
		g.Revert = &detect.Revert{Status: detect.RevertKept, Rules: f.Revert.Rules, At: h.d.Now().UTC().Format(time.RFC3339), Why: why}
		g.Undo = detect.ExposureUndo(&g)
		return h.publishOutcome(ctx, h.d.Claims, c.Key, g, stale)
	}
	_, err := h.revert(ctx, h.d.Claims, c.Key, f, f.Rules, true, stale)
	return err
}
