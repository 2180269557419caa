package sweep

// The opt-in revert in the sweep (REVERT): an exposure the sweep finds is
// reverted once its window is over and it is not approved. The window
// starts when a sweep first lists the exposure with its revert (its
// notification, or a notice for one published before revert was on),
// and is at least RevertGrace, so that exposures open when revert is
// turned on are listed first, never reverted en masse. At most MaxReverts
// are reverted in one sweep of a target; the others wait for the next.

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/sgwatch/sgwatch/detect"
)

// Reverts is what the sweep reverts with; nil when revert is off.
type Reverts struct {
	// Plan is the revert's plan for exposure f (policy.PlanRevert, with
	// the policy's decision: one not published is not reverted); nil when
	// it does not act on it.
	Plan func(f detect.Finding) (*detect.Revert, []detect.Rule)
	// Revert reverts rules of f now, approvals counting, and publishes
	// what came of it under key; the status says what it did, the error
	// that it failed (its revert-failed finding published).
	Revert func(ctx context.Context, f detect.Finding, rules []detect.Rule, key string) (detect.RevertStatus, error)
	// Window is REVERT_AFTER.
	Window time.Duration
}

// indirect says why an exposure open only through a prefix list or with
// other groups' rules is not reverted.
const indirect = "the rule is open to the whole internet only through a prefix list's entries, or together with other groups' rules on an interface: " +
	"revoking it would take more than the exposure, so narrow the list or the rules"

// RevertGrace is the least time between the sweep listing an exposure
// with its revert and the revert: one sweep's interval.
const RevertGrace = time.Hour

// MaxReverts bounds the revokes of one target in one sweep, and maxTries
// the reverts it tries (one that finds the rule approved or changed
// revokes nothing), so that rules left open cannot hold the others back.
const (
	MaxReverts = 10
	maxTries   = 3 * MaxReverts
)

// due is what the memory keeps of an exposure's revert: when it is due
// (RFC 3339), or why it is spared, with the creator it was decided on
// (judged again at every sweep, so that a changed REVERT_EXEMPT or
// REVERT_INCLUDE applies).
type due struct {
	At, Spared string
	Creator    *detect.Actor
	Created    *detect.Created
}

// reverts does the revert's part of one sweep of target t at time at,
// after the creators are looked up and before anything is published:
// each exposure gets its revert (the notification says it), those due
// and not approved are reverted and leave the plan (their reverted
// finding stands for their resolution), and a notice is published for
// each published before whose window starts now. It returns what the
// memory is to keep of each exposure's revert.
func (s *Sweeper) reverts(ctx context.Context, t Target, l Lister, p *plan, open map[string]detect.Finding, at time.Time, keyOf func(action, k string) string, publish Publish, st *Stats) (map[string]due, []error) {
	r := s.Reverts
	dues := map[string]due{}
	var errs []error
	n, tries := 0, 0 // revokes, and reverts tried
	// judge decides on exposure f under key k, remembered as m (zero for
	// a new one): its revert plan, and whether it is reverted now.
	judge := func(k string, f *detect.Finding, m entry) (reverted bool) {
		if m.Spared != "" && m.Creator != nil && m.Created != nil && f.Sweep.Created == nil {
			Attribute(f, *m.Creator, *m.Created, s.Scoring) // judged on its creator again
		}
		plan, rules := r.Plan(*f)
		if plan != nil && plan.Status != detect.NotReverted && f.Sweep.Indirect {
			plan = &detect.Revert{Status: detect.NotReverted, Why: indirect}
		}
		switch {
		case plan == nil:
			return false
		case plan.Status == detect.NotReverted && plan.Why == indirect:
			f.Revert = plan // judged again at every sweep: no AWS call
			return false
		case plan.Status == detect.NotReverted:
			if f.Sweep.Created != nil { // decided with its creator known
				a := compactActor(f.Actor)
				dues[k] = due{Spared: plan.Why, Creator: &a, Created: f.Sweep.Created}
			}
			f.Revert = plan
			return false
		}
		when, err := time.Parse(time.RFC3339, m.Due)
		if err != nil { // its window starts now, to the next whole minute
			when = at.Add(max(r.Window, RevertGrace)).Truncate(time.Minute).Add(time.Minute)
		}
		// An approval of the rule that ran out ends its window: it had
		// one (an approval follows a notification).
		rule := detect.ApprovalOf(f.Sweep.RuleTags, at)
		approved := rule.Valid || detect.ApprovalOf(f.SecurityGroup.Tags, at).Valid
		if rule.Expired && !approved {
			when = at
		}
		dues[k] = due{At: when.UTC().Format(time.RFC3339)}
		if approved || when.After(at) {
			plan.Status, plan.At = detect.RevertScheduled, dues[k].At
			plan.Approve = detect.ApproveCommand(f.Event.Region, plan.Rules, when.Add(detect.ApproveFor))
			f.Revert = plan
			return false
		}
		if n >= MaxReverts || tries >= maxTries {
			s.log().Warn("revert due, but this sweep reverted (or tried) as many as it may; it waits for the next sweep", "target", t.String(), "ruleKey", k)
			return false
		}
		tries++
		if f.Sweep.Created == nil {
			// Who made it decides REVERT_EXEMPT and trusted automation:
			// looked up now, and a lookup that fails waits for the next
			// sweep rather than revert what may be exempt.
			records, err := l.Events(ctx, f.SecurityGroup.ID, LookupPages)
			if err != nil {
				s.log().Warn("revert due, but who created the rule could not be looked up; it waits for the next sweep", "target", t.String(), "ruleKey", k, "error", apiError(err))
				return false
			}
			if found, _ := creatorIn(f, records, s.Scoring); found {
				if plan, rules = r.Plan(*f); plan == nil || plan.Status == detect.NotReverted {
					if plan != nil {
						a := compactActor(f.Actor)
						dues[k] = due{Spared: plan.Why, Creator: &a, Created: f.Sweep.Created}
					}
					f.Revert = plan
					return false
				}
			}
		}
		status, err := r.Revert(ctx, *f, rules, keyOf("revert", k))
		if err != nil {
			errs = append(errs, err)
		}
		switch status {
		case detect.RevertDone:
			n++ // only a revoke counts against MaxReverts
			fallthrough
		case detect.RevertGone:
			delete(dues, k)
			st.Reverted++
			return true
		}
		return false
	}
	// The new and held exposures, with their creators.
	candidates := p.candidates[:0]
	for _, c := range p.candidates {
		if !judge(c.key, &c.f, p.before[c.key]) {
			candidates = append(candidates, c)
		}
	}
	p.candidates = candidates
	// Those published before: reverted when due, and a notice for each
	// whose window starts now.
	for _, k := range slices.Sorted(maps.Keys(p.kept)) {
		m := p.kept[k]
		f := open[k]
		if judge(k, &f, m) {
			// Its reverted finding stands for its resolution: none is
			// published. The sink (Security Hub) gets the resolution, and
			// until it has, the memory keeps it as told (imported, never
			// published, at the next sweep).
			p.reimport = slices.DeleteFunc(p.reimport, func(x pending) bool { return x.key == k })
			if s.Import == nil {
				delete(p.kept, k)
				continue
			}
			m.State = stateTold
			p.kept[k] = m
			p.reimport = append(p.reimport, pending{key: k, f: Resolve(m.finding(t, k), at, s.Scoring)})
			continue
		}
		if m.Due == "" && f.Revert != nil && f.Revert.Status == detect.RevertScheduled {
			f.Sweep.FirstSeen, f.Sweep.Published = m.FirstSeen, m.Published
			if _, err := publish(ctx, f, keyOf("revert-notice", k)); err != nil {
				errs = append(errs, err)
				delete(dues, k) // noticed again at the retry
			}
		}
	}
	return dues, errs
}
