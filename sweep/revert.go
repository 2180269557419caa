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
	// Creators is true when who created an exposure decides its revert
	// (REVERT_EXEMPT, or trusted automation REVERT_INCLUDE does not name):
	// one due whose creator is not known is looked up first.
	Creators bool
}

// indirect says why an exposure open only through a prefix list or with
// other groups' rules is not reverted.
const indirect = "the rule is open to the whole internet only through a prefix list's entries, or together with other groups' rules on an interface: " +
	"revoking it would take more than the exposure, so narrow the list or the rules"

// lookupPage is how many events a page of LookupEvents holds at most.
const lookupPage = 50

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

// reverting is the revert's part of one sweep of target t at time at.
type reverting struct {
	s       *Sweeper
	t       Target
	l       Lister
	at      time.Time
	keyOf   func(action, k string) string
	st      *Stats
	dues    map[string]due // what the memory is to keep of each revert
	errs    []error
	revokes int // against MaxReverts
	tries   int // against maxTries
}

// reverts does the revert's part of one sweep of target t at time at,
// after the creators are looked up and before anything is published:
// each exposure gets its revert (the notification says it), those due
// and not approved are reverted and leave the plan (their reverted
// finding stands for their resolution), and a notice is published for
// each published before whose window starts now. It returns what the
// memory is to keep of each exposure's revert.
func (s *Sweeper) reverts(ctx context.Context, t Target, l Lister, p *plan, open map[string]detect.Finding, at time.Time, keyOf func(action, k string) string, publish Publish, st *Stats) (map[string]due, []error) {
	v := &reverting{s: s, t: t, l: l, at: at, keyOf: keyOf, st: st, dues: map[string]due{}}
	// The new and held exposures, with their creators.
	candidates := p.candidates[:0]
	for _, c := range p.candidates {
		if !v.judge(ctx, c.key, &c.f, p.before[c.key]) {
			candidates = append(candidates, c)
		}
	}
	p.candidates = candidates
	// Those published before: reverted when due, and a notice for each
	// whose window starts now; in an order that turns every hour, so that
	// rules whose revert keeps failing cannot hold the same others back.
	keys := slices.Sorted(maps.Keys(p.kept))
	if len(keys) > 0 {
		turn := int(at.Unix()/3600) % len(keys)
		keys = append(keys[turn:], keys[:turn]...)
	}
	for _, k := range keys {
		m, f := p.kept[k], open[k]
		if v.judge(ctx, k, &f, m) {
			v.forget(p, k, m)
			continue
		}
		if m.Due == "" && f.Revert != nil && f.Revert.Status == detect.RevertScheduled {
			f.Sweep.FirstSeen, f.Sweep.Published = m.FirstSeen, m.Published
			if _, err := publish(ctx, f, keyOf("revert-notice", k)); err != nil {
				v.errs = append(v.errs, err)
				delete(v.dues, k) // noticed again at the retry
			}
		}
	}
	return v.dues, v.errs
}

// judge decides on exposure f under key k, remembered as m (zero for a
// new one): its revert (in f.Revert), and whether it was reverted now.
func (v *reverting) judge(ctx context.Context, k string, f *detect.Finding, m entry) (reverted bool) {
	if m.Spared != "" && m.Creator != nil && m.Created != nil && f.Sweep.Created == nil {
		Attribute(f, *m.Creator, *m.Created, v.s.Scoring) // judged on its creator again
	}
	plan, rules := v.plan(*f)
	if plan == nil || plan.Status == detect.NotReverted {
		v.spare(k, f, plan)
		return false
	}
	when, approved := v.due(*f, m)
	v.dues[k] = due{At: when.UTC().Format(time.RFC3339)}
	if approved || when.After(v.at) {
		plan.Status, plan.At = detect.RevertScheduled, v.dues[k].At
		plan.Approve = detect.ApproveCommand(f.Event.Region, plan.Rules, when.Add(detect.ApproveFor))
		f.Revert = plan
		return false
	}
	if v.revokes >= MaxReverts || v.tries >= maxTries {
		v.s.log().Warn("revert due, but this sweep reverted (or tried) as many as it may; it waits for the next sweep", "target", v.t.String(), "ruleKey", k)
		return false
	}
	v.tries++
	if f.Sweep.Created == nil && v.s.Reverts.Creators {
		// Who made it decides REVERT_EXEMPT and trusted automation: looked
		// up now, and a lookup that fails, or that has more events than it
		// reads, waits for the next sweep rather than revert what may be
		// exempt.
		records, err := v.l.Events(ctx, f.SecurityGroup.ID, LookupPages)
		found := false
		if err == nil {
			found, _ = creatorIn(f, records, v.s.Scoring)
		}
		switch {
		case err != nil:
			v.s.log().Warn("revert due, but who created the rule could not be looked up; it waits for the next sweep", "target", v.t.String(), "ruleKey", k, "error", apiError(err))
			return false
		case !found && len(records) >= LookupPages*lookupPage:
			v.s.log().Warn("revert due, but who created the rule is not in the events LookupEvents gave (the group has more); it waits: approve it or revoke it by hand",
				"target", v.t.String(), "ruleKey", k)
			return false
		case found:
			if plan, rules = v.plan(*f); plan == nil || plan.Status == detect.NotReverted {
				v.spare(k, f, plan)
				return false
			}
		}
	}
	status, err := v.s.Reverts.Revert(ctx, *f, rules, v.keyOf("revert", k))
	if err != nil {
		v.errs = append(v.errs, err)
	}
	switch status {
	case detect.RevertDone:
		v.revokes++
		fallthrough
	case detect.RevertGone:
		delete(v.dues, k)
		v.st.Reverted++
		return true
	}
	return false
}

// plan is the revert's plan of exposure f: Reverts.Plan, and never for
// one open only through a prefix list or other groups' rules.
func (v *reverting) plan(f detect.Finding) (*detect.Revert, []detect.Rule) {
	plan, rules := v.s.Reverts.Plan(f)
	if plan != nil && plan.Status != detect.NotReverted && f.Sweep.Indirect {
		return &detect.Revert{Status: detect.NotReverted, Why: indirect}, nil
	}
	return plan, rules
}

// spare records that f, under key k, is not reverted (plan says why; nil
// when revert does not act on it): remembered with the creator it was
// decided on, when that is known and the reason is not one judged anew
// at every sweep without an AWS call.
func (v *reverting) spare(k string, f *detect.Finding, plan *detect.Revert) {
	f.Revert = plan
	if plan != nil && plan.Why != indirect && f.Sweep.Created != nil {
		a := compactActor(f.Actor)
		v.dues[k] = due{Spared: plan.Why, Creator: &a, Created: f.Sweep.Created}
	}
}

// due is when f's revert is due (its window, started when m was first
// judged, or now), and whether it is approved now. An approval of the
// rule that ran out ends its window: it had one (an approval follows a
// notification).
func (v *reverting) due(f detect.Finding, m entry) (when time.Time, approved bool) {
	when, err := time.Parse(time.RFC3339, m.Due)
	if err != nil { // its window starts now, to the next whole minute
		when = v.at.Add(max(v.s.Reverts.Window, RevertGrace)).Truncate(time.Minute).Add(time.Minute)
	}
	rule := detect.ApprovalOf(f.Sweep.RuleTags, v.at)
	approved = rule.Valid || detect.ApprovalOf(f.SecurityGroup.Tags, v.at).Valid
	if rule.Expired && !approved {
		when = v.at
	}
	return when, approved
}

// forget takes the reverted exposure k, published before (m), out of the
// plan: its reverted finding stands for its resolution, so none is
// published. The sink (Security Hub) gets the resolution, and until it
// has, the memory keeps it as told (imported, never published, at the
// next sweep).
func (v *reverting) forget(p *plan, k string, m entry) {
	p.reimport = slices.DeleteFunc(p.reimport, func(x pending) bool { return x.key == k })
	if v.s.Import == nil {
		delete(p.kept, k)
		return
	}
	m.State = stateTold
	p.kept[k] = m
	p.reimport = append(p.reimport, pending{key: k, f: Resolve(m.finding(v.t, k), v.at, v.s.Scoring)})
}
