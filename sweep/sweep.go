// Package sweep finds what is exposed now, whatever events were missed: it
// lists every security-group rule of each account and Region it covers
// (DescribeSecurityGroupRules), evaluates the ingress rules with the event
// path's model (package detect's scoring, package addrspace's address
// space), and compares what is open to the
// whole internet with what the last sweep remembered. A new exposure is
// published once, with who created its rule when CloudTrail still has the
// event (LookupEvents); one that is gone is published once as resolved.
//
// A target (account and Region) whose rules cannot all be listed is
// reported and left as it was: no exposure it had is resolved on a partial
// listing. The other targets are swept all the same. What one sweep of a
// target does is a plan (plan.go), worked out without AWS; this file is its
// executor.
package sweep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go"
	"github.com/sgwatch/sgwatch/detect"
)

// Target is one account and Region to sweep.
type Target struct {
	Account, Region string
	// Role is the ARN of the role to assume there; "" for the function's
	// own account.
	Role string
}

func (t Target) String() string { return t.Account + "/" + t.Region }

// Lister lists what a target has now.
type Lister interface {
	// Groups returns every security group of the target with all its
	// rules; an error means the listing is incomplete.
	Groups(ctx context.Context) ([]Group, error)
	// Events returns CloudTrail records (LookupEvents) that name the
	// resource id, newest first, at most pages pages; nil when the
	// deployment does not look creators up.
	Events(ctx context.Context, resource string, pages int) ([][]byte, error)
}

// Memory keeps what the last sweep of each target found (package memory).
type Memory interface {
	Recall(ctx context.Context, scope string) (data []byte, version int64, err error)
	Remember(ctx context.Context, scope string, data []byte, version int64, now time.Time) error
}

// History finds CloudTrail records older than LookupEvents keeps (90
// days): those of target t that name any of groups, in time order, oldest
// first (package athena, over the history table a deployment names).
type History func(ctx context.Context, t Target, groups []string) ([][]byte, error)

// Publish publishes one finding under key (unique to this sweep, the
// target and the finding); published is false when the policy held it
// back. It must be safe to call from several goroutines.
type Publish func(ctx context.Context, f detect.Finding, key string) (published bool, err error)

// Sweeper sweeps its targets.
type Sweeper struct {
	Scoring detect.Scoring
	Targets []Target
	// Lister returns the lister of a target (its clients, with an assumed
	// role for another account).
	Lister func(ctx context.Context, t Target) (Lister, error)
	// Memory is nil for none: then every exposure is new at every sweep.
	Memory Memory
	// Import sends a published finding to a second sink (Security Hub);
	// nil for none. It runs after the target's notifications are
	// published, so a slow sink cannot hold them back, and a failure is
	// retried by the next sweep (or the retry of this one) without
	// publishing the notification again.
	Import func(ctx context.Context, f detect.Finding) error
	// History is where a creator LookupEvents does not find is looked for,
	// once a target for all of them; nil for nowhere.
	History History
	// Reverts reverts what is due (REVERT); nil when revert is off.
	Reverts *Reverts
	Log     *slog.Logger
	Now     func() time.Time
}

// ReimportAfter is how often an exposure still open is imported again into
// the sink, so that Security Hub, which deletes a finding 90 days after its
// last update, keeps it.
const ReimportAfter = 30 * 24 * time.Hour

// Concurrency is how many targets are swept at once.
const Concurrency = 4

// MaxLookups is how many new exposures of one target get their creator
// looked up in one sweep, and LookupPages how many pages of 50 events each
// lookup reads: CloudTrail answers LookupEvents twice a second per account
// and Region.
const (
	MaxLookups  = 5
	LookupPages = 2
)

// Stats is what one target's sweep found.
type Stats struct {
	Target
	Groups, Rules int
	// Open is how many exposures there are now; New and Resolved how many
	// findings were published for the ones that appeared and went.
	Open, New, Resolved int
	Held                int // findings the policy held back
	Imported            int // findings imported into the sink
	Reverted            int // exposures reverted
	Err                 error
}

// Run sweeps every target, Concurrency at a time, publishing with publish,
// and returns each target's stats in the order of Targets. The error joins
// the targets that failed; the others are swept all the same.
func (s *Sweeper) Run(ctx context.Context, id string, publish Publish) ([]Stats, error) {
	stats := make([]Stats, len(s.Targets))
	sem := make(chan struct{}, Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	pending := len(s.Targets)
	for i, t := range s.Targets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			mu.Lock()
			ctx, cancel := budget(ctx, pending)
			pending--
			mu.Unlock()
			defer cancel()
			defer func() {
				if p := recover(); p != nil {
					s.log().Error("panic while sweeping", "target", t.String(), "panic", fmt.Sprint(p), "stack", strings.Split(strings.TrimSpace(string(debug.Stack())), "\n"))
					stats[i] = Stats{Target: t, Err: fmt.Errorf("panic: %v", p)}
				}
			}()
			stats[i] = s.target(ctx, t, id, publish)
		})
	}
	wg.Wait()
	var errs []error
	for _, st := range stats {
		if st.Err != nil {
			errs = append(errs, fmt.Errorf("sweep of %s: %w", st.Target, st.Err))
		}
	}
	return stats, errors.Join(errs...)
}

// budget is the context of one target's sweep, when pending targets (this
// one included) are still to be swept Concurrency at a time: a share of
// the time left, so that slow or hung accounts cannot starve the others,
// and at least minBudget.
func budget(ctx context.Context, pending int) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	rounds := (pending + Concurrency - 1) / Concurrency
	share := max(time.Until(dl)/time.Duration(max(rounds, 1)), minBudget)
	return context.WithTimeout(ctx, share)
}

// minBudget is the least time a target is given.
const minBudget = 10 * time.Second

func (s *Sweeper) target(ctx context.Context, t Target, id string, publish Publish) Stats {
	st := Stats{Target: t}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	at := now().UTC()
	l, groups, found, err := List(ctx, s.Lister, t, at, s.Scoring)
	if err != nil {
		st.Err = err
		return st
	}
	open := map[string]detect.Finding{}
	for _, g := range groups {
		st.Groups++
		st.Rules += len(g.Rules)
	}
	for _, f := range found {
		open[f.Sweep.Key] = f
	}
	st.Open = len(open)

	// The memory cannot be read: every exposure is published (louder,
	// never quieter), nothing is resolved, and nothing is written.
	var errs []error
	mem := targetMemory{s: s, scope: t.String(), at: at}
	before, err := mem.recall(ctx)
	if err != nil {
		errs = append(errs, err)
		before, mem.broken = map[string]entry{}, true
	}
	if slices.ContainsFunc(groups, func(g Group) bool { return g.InterfacesUnlisted }) {
		// What the interfaces' groups open together is not known: the
		// union exposures remembered stay open, never resolved on a
		// partial listing.
		for k, e := range before {
			if _, ok := open[k]; !ok && strings.HasSuffix(k, unionKey) {
				open[k] = e.finding(t, k)
			}
		}
	}
	p := newPlan(before, open, s.Import != nil, at, s.Scoring)
	canResolve := true
	if len(p.mark) > 0 {
		if err := mem.remember(ctx, p.marked()); err != nil {
			// Not now: the exposures are published all the same.
			errs = append(errs, err)
			canResolve = false
		}
	}
	// The history is asked about new exposures only: one held back at an
	// earlier sweep was asked when it was new, and is looked up again in
	// LookupEvents alone.
	var unknown []*detect.Finding // creators LookupEvents did not find
	for _, c := range p.lookups(t) {
		if s.creator(ctx, l, &c.f) && !c.held {
			unknown = append(unknown, &c.f)
		}
	}
	s.fromHistory(ctx, t, unknown)
	var dues map[string]due
	if s.Reverts != nil {
		var rerrs []error
		keyOf := func(action, k string) string { return key(id, mem.version, t, action, k) }
		dues, rerrs = s.reverts(ctx, t, l, p, open, at, keyOf, publish, &st)
		errs = append(errs, rerrs...)
	}
	imports := slices.Clone(p.reimport) // what to import once the notifications are out
	for i := range p.candidates {
		c := &p.candidates[i]
		ok, err := publish(ctx, c.f, key(id, mem.version, t, "exposure", c.key))
		switch {
		case err != nil:
			errs = append(errs, err) // not remembered: published at the retry
			c.result = failedTo
		case ok:
			st.New++
			c.result = done
			if s.Import != nil {
				f := c.f
				f.Sweep.Published = f.Sweep.FoundAt
				imports = append(imports, pending{key: c.key, f: f})
			}
		default:
			st.Held++
			c.result = heldBack
		}
	}
	p.resolutions(canResolve)
	for i := range p.gone {
		g := &p.gone[i]
		switch g.action {
		case importIt: // published before; only its import is left, if any
			if s.Import != nil {
				imports = append(imports, pending{key: g.key, f: Resolve(g.was.finding(t, g.key), at, s.Scoring)})
			}
		case publishIt:
			r := Resolve(g.was.finding(t, g.key), at, s.Scoring)
			ok, err := publish(ctx, r, key(id, mem.version, t, "resolved", g.key))
			switch {
			case err != nil:
				errs = append(errs, err)
				g.result = failedTo
			case ok:
				st.Resolved++
				g.result = done
				if s.Import != nil {
					imports = append(imports, pending{key: g.key, f: r})
				}
			default:
				st.Held++
				g.result = heldBack
			}
		}
	}
	// The second sink, once the notifications are out.
	for i := range imports {
		if err := s.Import(ctx, imports[i].f); err != nil {
			errs = append(errs, err)
			imports[i].result = failedTo
			continue
		}
		st.Imported++
		imports[i].result = done
	}
	// The memory is written whatever failed: what was published is
	// remembered, what failed is not (or is still resolving), and the
	// retry, keyed by the sweep's id and the memory's version, publishes
	// only that. Written even when the target's time ran out, so that what
	// was published is remembered.
	if err := mem.remember(context.WithoutCancel(ctx), withDues(p.settle(s.Import != nil, imports), dues)); err != nil {
		errs = append(errs, err)
	}
	st.Err = errors.Join(errs...)
	return st
}

// List lists target t through lister at time at and judges what it has
// under s (Judge): the function's sweep and the command line's alike. It
// returns the lister (for the creators' lookups), the groups and what is
// open.
func List(ctx context.Context, lister func(context.Context, Target) (Lister, error), t Target, at time.Time, s detect.Scoring) (Lister, []Group, []detect.Finding, error) {
	l, err := lister(ctx, t)
	if err != nil {
		return nil, nil, nil, err
	}
	groups, err := l.Groups(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("list rules: %w", err)
	}
	return l, groups, Judge(groups, t.Region, t.Account, at, s), nil
}

// withDues is the memory after with what it keeps of each exposure's
// revert: none for one the revert did not judge (revert off), so that
// turning it on again starts every window afresh.
func withDues(after map[string]entry, dues map[string]due) map[string]entry {
	for k, e := range after {
		d := dues[k]
		e.Due, e.Spared = d.At, d.Spared
		if d.Spared != "" {
			e.Creator, e.Created = d.Creator, d.Created
		}
		after[k] = e
	}
	return after
}

// targetMemory is the memory of one target during one sweep: its version
// is the one recalled, then the one written.
type targetMemory struct {
	s       *Sweeper
	scope   string
	at      time.Time
	version int64
	broken  bool // it could not be read
}

func (m *targetMemory) recall(ctx context.Context) (map[string]entry, error) {
	if m.s.Memory == nil {
		return map[string]entry{}, nil
	}
	data, v, err := m.s.Memory.Recall(ctx, m.scope)
	if err != nil {
		return nil, err
	}
	m.version = v
	before, err := decode(data)
	if err != nil {
		// Start again: every exposure is published anew (louder, never
		// quieter), and the memory is written over.
		m.s.log().Warn("the sweep's memory cannot be read; every exposure is published again", "target", m.scope, "error", err.Error())
		return map[string]entry{}, nil
	}
	return before, nil
}

func (m *targetMemory) remember(ctx context.Context, r map[string]entry) error {
	switch {
	case m.s.Memory == nil:
		return nil
	case m.broken:
		return nil // not read (its error is reported), so not written over
	}
	data, err := encode(r)
	if err != nil {
		return err
	}
	if err := m.s.Memory.Remember(ctx, m.scope, data, m.version, m.at); err != nil {
		return err
	}
	m.version++
	return nil
}

func (s *Sweeper) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// creator looks up who created f's rule in LookupEvents, best effort: a
// failed or fruitless lookup is a note on f. ask is true when the history
// may know what LookupEvents did not: the lookup failed, or none of the
// events it returned touched the rule (when one set it to something else,
// the history's older records cannot say more).
func (s *Sweeper) creator(ctx context.Context, l Lister, f *detect.Finding) (ask bool) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	records, err := l.Events(ctx, f.SecurityGroup.ID, LookupPages)
	switch {
	case err != nil:
		f.Notes = append(f.Notes, "who created the rule could not be looked up in CloudTrail: "+apiError(err))
		return true
	case records == nil:
		return true // not looked up in this deployment
	}
	found, other := creatorIn(f, records, s.Scoring)
	switch {
	case found:
		return false
	case other != nil:
		f.Notes = append(f.Notes, fmt.Sprintf("who made the rule what it is now is not known: the last CloudTrail event that set it (%s at %s) made it allow something else",
			other.Event.Name, other.Event.Time))
		return false
	}
	f.Notes = append(f.Notes, fmt.Sprintf("who created the rule is not known: none of the last %d CloudTrail events of %s (LookupEvents keeps 90 days) created it", len(records), f.SecurityGroup.ID))
	return true
}

// creatorIn makes the creator of f's rule the newest of records (newest
// first) that set it to what it is now (found); when none did, other is the
// newest that set it to something else.
func creatorIn(f *detect.Finding, records [][]byte, s detect.Scoring) (found bool, other *detect.Finding) {
	for _, rec := range records {
		b, err := detect.Parse(rec, s)
		if err != nil {
			continue
		}
		for _, c := range b.Findings {
			if CreatedBy(f, c, s) {
				return true, nil
			}
			if other == nil && Touches(*f, c) {
				other = &c
			}
		}
	}
	return false, other
}

// fromHistory looks for the creators of findings in the history, with one
// query for the target; each finding says what came of it.
func (s *Sweeper) fromHistory(ctx context.Context, t Target, findings []*detect.Finding) {
	if s.History == nil || len(findings) == 0 {
		return
	}
	var groups []string
	for _, f := range findings {
		if !slices.Contains(groups, f.SecurityGroup.ID) {
			groups = append(groups, f.SecurityGroup.ID)
		}
	}
	// At most half the time left: the findings are still to be published.
	wait := HistoryTimeout
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl)/2)
	}
	if wait < minHistory {
		for _, f := range findings {
			f.Notes = append(f.Notes, "who created the rule was not looked up in the history table: too little of this sweep's time was left")
		}
		return
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	records, err := s.History(ctx, t, groups)
	slices.Reverse(records) // newest first, as LookupEvents answers
	for _, f := range findings {
		if err != nil {
			f.Notes = append(f.Notes, "who created the rule could not be looked up in the history table: "+apiError(err))
			continue
		}
		switch found, other := creatorIn(f, records, s.Scoring); {
		case found:
			// The history answers what LookupEvents could not: its
			// note goes.
			f.Notes = slices.DeleteFunc(f.Notes, func(n string) bool { return strings.HasPrefix(n, "who created the rule ") })
			f.Notes = append(f.Notes, fmt.Sprintf("who created the rule was found in the history table (%s at %s), past what LookupEvents keeps",
				f.Sweep.Created.EventName, f.Sweep.Created.Time))
		case other != nil:
			f.Notes = append(f.Notes, fmt.Sprintf("who made the rule what it is now is not known: the last event in the history table that set it (%s at %s) made it allow something else",
				other.Event.Name, other.Event.Time))
		default:
			// CloudTrail names rule ids only since rules had them (2021):
			// a rule created before cannot be matched to its record.
			f.Notes = append(f.Notes, fmt.Sprintf("who created the rule is not in the history table either: none of its %d records of %s created it (records from before rules had ids cannot say)", len(records), f.SecurityGroup.ID))
		}
	}
}

// lookupTimeout bounds one creator lookup in LookupEvents, and
// HistoryTimeout the query in the history for a target's creators (an
// Athena query takes seconds to minutes; one that runs out is stopped),
// which also has at most half of what is left of the target's time.
const (
	lookupTimeout  = 5 * time.Second
	HistoryTimeout = 2 * time.Minute
)

// minHistory is the least time a query in the history is worth starting
// with: at most half of what is left of a target's sweep.
const minHistory = 10 * time.Second

// key is the idempotency key of one finding of one sweep: the sweep's id
// and the version of the target's memory it started from, so that a retry
// of the sweep publishes nothing twice, while a sweep that reuses an id
// after the memory changed publishes afresh.
func key(id string, version int64, t Target, action, k string) string {
	return "sweep/" + id + "/" + t.String() + "/v" + strconv.FormatInt(version, 10) + "/" + action + "/" + k
}

// apiError names an AWS error by the service's code and message, which say
// what went wrong, when the service answered; else it is the error's text.
func apiError(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	return err.Error()
}
