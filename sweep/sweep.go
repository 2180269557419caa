// Package sweep finds what is exposed now, whatever events were missed: it
// lists every security-group rule of each account and Region it covers
// (DescribeSecurityGroupRules), evaluates the ingress rules with package
// detect's address-space and port model, and compares what is open to the
// whole internet with what the last sweep remembered. A new exposure is
// published once, with who created its rule when CloudTrail still has the
// event (LookupEvents); one that is gone is published once as resolved.
//
// A target (account and Region) whose rules cannot all be listed is
// reported and left as it was: no exposure it had is resolved on a partial
// listing. The other targets are swept all the same.
package sweep

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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

// Memory keeps what the last sweep of each target found (package once's
// table).
type Memory interface {
	Recall(ctx context.Context, scope string) (data []byte, version int64, err error)
	Remember(ctx context.Context, scope string, data []byte, version int64, now time.Time) error
}

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
	Log    *slog.Logger
	Now    func() time.Time
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

// MaxRemembered is how many exposures the memory of one target holds (a
// DynamoDB item holds 400 KB). Exposures beyond it are not remembered, so
// they are published again at every sweep: louder, never quieter.
const MaxRemembered = 2000

// Stats is what one target's sweep found.
type Stats struct {
	Target
	Groups, Rules int
	// Open is how many exposures there are now; New and Resolved how many
	// findings were published for the ones that appeared and went.
	Open, New, Resolved int
	Held                int // findings the policy held back
	Imported            int // findings imported into the sink
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
					s.log().Error("panic while sweeping", "target", t.String(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
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

// remembered is the memory of one exposure: enough to publish its
// resolution, and, for one the policy held back, to decide on it again
// without looking its creator up again.
type remembered struct {
	Group     string          `json:"g"`
	Name      string          `json:"n,omitempty"`
	VPC       string          `json:"v,omitempty"`
	Rule      detect.Rule     `json:"r"`
	Severity  detect.Severity `json:"s"`
	FirstSeen string          `json:"f"`
	// Held: the policy held it back; it was not published, has no
	// resolution, and is decided on again at every sweep.
	Held bool `json:"h,omitempty"`
	// Resolving: it is gone and its resolution is being published; should
	// it be open again, it is published again as new.
	Resolving bool `json:"x,omitempty"`
	// LookedUp says its creator was found (held ones only): Creator and
	// Created; Tried when it was last looked up without finding it (it is
	// looked up again, after the new exposures, the longest untried first).
	LookedUp bool   `json:"l,omitempty"`
	Tried    string `json:"t,omitempty"`
	// Published is when it was published (not held ones); Imported when it
	// was last imported into the sink (Security Hub), "" for not yet: it
	// is imported, not published, again at the next sweep, and every
	// ReimportAfter while it is open (the sink forgets findings not
	// updated for 90 days). Told is set on a resolving one whose
	// resolution was published but not yet imported.
	Published string          `json:"p,omitempty"`
	Imported  string          `json:"i,omitempty"`
	Told      bool            `json:"o,omitempty"`
	Creator   *detect.Actor   `json:"c,omitempty"`
	Created   *detect.Created `json:"e,omitempty"`
}

// candidate is an exposure open now that may be published in this sweep.
type candidate struct {
	f      detect.Finding
	lookUp bool   // its creator is still to be looked up
	held   bool   // held back at an earlier sweep
	tried  string // when its creator was last looked up in vain
}

func (s *Sweeper) target(ctx context.Context, t Target, id string, publish Publish) Stats {
	st := Stats{Target: t}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	at := now().UTC()
	l, err := s.Lister(ctx, t)
	if err != nil {
		st.Err = err
		return st
	}
	groups, err := l.Groups(ctx)
	if err != nil {
		st.Err = fmt.Errorf("list rules: %w", err)
		return st
	}
	open := map[string]detect.Finding{}
	for _, g := range groups {
		st.Groups++
		st.Rules += len(g.Rules)
		for _, f := range Exposures(g, t.Region, t.Account, at, s.Scoring) {
			open[f.Sweep.Key] = f
		}
	}
	st.Open = len(open)

	// The memory cannot be read: every exposure is published (louder,
	// never quieter), nothing is resolved, and nothing is written.
	var errs []error
	mem := memory{s: s, scope: t.String(), at: at}
	before, err := mem.recall(ctx)
	if err != nil {
		errs = append(errs, err)
		before, mem.broken = map[string]remembered{}, true
	}
	after := map[string]remembered{}
	// published are the rules (group and rule id) whose exposure is
	// published: a gone exposure of the same rule was changed in place,
	// and the new one says enough.
	published := map[string]bool{}
	exposed := map[string]bool{} // the rules open to the whole internet now, held back or not
	rule := func(group string, r detect.Rule) string {
		if r.RuleID == "" {
			return "" // no id: never taken for the same rule
		}
		return group + "/" + r.RuleID
	}
	var candidates []candidate
	var imports []pending // what to import once the notifications are out
	for _, k := range sortedKeys(open) {
		f := open[k]
		exposed[rule(f.SecurityGroup.ID, f.Rules[0])] = true
		m, ok := before[k]
		switch {
		case ok && !m.Held && !m.Resolving: // published before, still open
			after[k] = m
			published[rule(f.SecurityGroup.ID, f.Rules[0])] = true
			if s.Import != nil && stale(m.Imported, at) {
				f.Sweep.FirstSeen, f.Sweep.Published = m.FirstSeen, m.Published
				imports = append(imports, pending{k, f})
			}
			continue
		case ok && m.Held: // held back before: decide again
			f.Sweep.FirstSeen = m.FirstSeen
			if m.LookedUp && m.Creator != nil && m.Created != nil {
				Attribute(&f, *m.Creator, *m.Created, s.Scoring)
				candidates = append(candidates, candidate{f: f, held: true})
				continue
			}
			candidates = append(candidates, candidate{f: f, lookUp: true, held: true, tried: m.Tried})
			continue
		}
		candidates = append(candidates, candidate{f: f, lookUp: true})
	}

	// Gone: a published exposure is resolved; a held one is forgotten.
	var gone []string
	for _, k := range sortedKeys(before) {
		if _, ok := open[k]; !ok && !before[k].Held {
			gone = append(gone, k)
		}
	}
	// Before any resolution is published, the memory says so, so that an
	// exposure reopened before the memory is written again is published
	// again, not taken for one still open.
	var flag []string
	for _, k := range gone {
		if !before[k].Resolving {
			flag = append(flag, k)
		}
	}
	resolve := true
	if len(flag) > 0 {
		marked := maps.Clone(before)
		for _, k := range flag {
			m := marked[k]
			m.Resolving = true
			marked[k] = m
		}
		if err := mem.remember(ctx, marked); err != nil {
			// Not now: the exposures are published all the same.
			errs = append(errs, err)
			resolve = false
		}
	}

	// Creators: the new exposures first, in key order, then held ones
	// whose creator was not found, the longest untried first.
	slices.SortStableFunc(candidates, func(a, b candidate) int {
		switch {
		case a.held != b.held && !a.held:
			return -1
		case a.held != b.held:
			return 1
		}
		return strings.Compare(a.tried, b.tried)
	})
	lookups := 0
	for i := range candidates {
		c := &candidates[i]
		if !c.lookUp {
			continue
		}
		if lookups == MaxLookups {
			c.f.Notes = append(c.f.Notes, fmt.Sprintf("who created the rule was not looked up: more than %d new exposures in %s in this sweep", MaxLookups, t))
			c.lookUp = false // looked up at a later sweep, if still held
			continue
		}
		lookups++
		s.creator(ctx, l, &c.f)
		c.tried = at.Format(time.RFC3339)
	}

	for _, c := range candidates {
		f := c.f
		ok, err := publish(ctx, f, key(id, mem.version, t, "exposure", f.Sweep.Key))
		first := f.Sweep.FirstSeen
		if first == "" {
			first = f.Sweep.FoundAt
		}
		m := remember(f, first)
		switch {
		case err != nil:
			errs = append(errs, err) // not remembered: published at the retry
		case ok:
			st.New++
			m.Published = f.Sweep.FoundAt
			after[f.Sweep.Key] = m
			published[rule(f.SecurityGroup.ID, f.Rules[0])] = true
			if s.Import != nil {
				f.Sweep.Published = m.Published
				imports = append(imports, pending{f.Sweep.Key, f})
			}
		default:
			st.Held++
			m.Held = true
			if f.Sweep.Created != nil {
				a := compactActor(f.Actor)
				m.LookedUp, m.Creator, m.Created = true, &a, f.Sweep.Created
			} else {
				m.Tried = c.tried
			}
			after[f.Sweep.Key] = m
		}
	}
	for _, k := range gone {
		m := before[k]
		switch id := rule(m.Group, m.Rule); {
		case id != "" && published[id]:
			continue // changed in place: its new exposure is published
		case id != "" && exposed[id]:
			// Changed in place and still open to the whole internet, but
			// held back now: not resolved (it is not), kept as it was.
			after[k] = m
			continue
		}
		if !resolve {
			after[k] = m // resolved by a later sweep
			continue
		}
		r := Resolve(m.finding(t, k), at, s.Scoring)
		if m.Told { // published before; only its import is left, if any
			if s.Import != nil {
				after[k] = m
				imports = append(imports, pending{k, r})
			}
			continue
		}
		ok, err := publish(ctx, r, key(id, mem.version, t, "resolved", k))
		switch {
		case err != nil:
			errs = append(errs, err)
			m.Resolving = true
			after[k] = m // resolved again at the retry
		case ok:
			st.Resolved++
			if s.Import != nil {
				m.Resolving, m.Told = true, true
				after[k] = m // until it is imported
				imports = append(imports, pending{k, r})
			}
		default:
			st.Held++
		}
	}
	// The second sink, once the notifications are out.
	for _, p := range imports {
		if err := s.Import(ctx, p.f); err != nil {
			errs = append(errs, err)
			continue
		}
		st.Imported++
		if p.f.Action == detect.Resolved {
			delete(after, p.key)
			continue
		}
		m := after[p.key]
		m.Imported = at.Format(time.RFC3339)
		after[p.key] = m
	}
	// The memory is written whatever failed: what was published is
	// remembered, what failed is not (or is still resolving), and the
	// retry, keyed by the sweep's id and the memory's version, publishes
	// only that.
	// Written even when the target's time ran out, so that what was
	// published is remembered.
	if err := mem.remember(context.WithoutCancel(ctx), after); err != nil {
		errs = append(errs, err)
	}
	st.Err = errors.Join(errs...)
	return st
}

// pending is a finding to import, and its key in the memory.
type pending struct {
	key string
	f   detect.Finding
}

// stale reports whether a finding last imported at imported ("" for never)
// is to be imported again at now.
func stale(imported string, now time.Time) bool {
	t, err := time.Parse(time.RFC3339, imported)
	return err != nil || now.Sub(t) >= ReimportAfter
}

// remember is what the memory keeps of exposure f, first seen at first:
// the group's id, its name cut short, and the rule without its description
// (text the account chooses, which would fill the item).
func remember(f detect.Finding, first string) remembered {
	r := f.Rules[0]
	r.Description, r.Exposure = "", ""
	return remembered{Group: f.SecurityGroup.ID, Name: cut(f.SecurityGroup.Name, 64), VPC: f.SecurityGroup.VPCID,
		Rule: r, Severity: f.Severity, FirstSeen: first}
}

// compactActor is what the memory keeps of a creator: what the policy and
// the score read.
func compactActor(a detect.Actor) detect.Actor {
	return detect.Actor{Type: cut(a.Type, 64), ARN: cut(a.ARN, 256), AccountID: cut(a.AccountID, 16), UserName: cut(a.UserName, 64),
		AccessKeyID: cut(a.AccessKeyID, 32), CredentialType: a.CredentialType, SessionIssuerARN: cut(a.SessionIssuerARN, 256),
		MFAAuthenticated: a.MFAAuthenticated, InvokedBy: cut(a.InvokedBy, 128), Console: a.Console}
}

// cut is s in at most n bytes, whole runes.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// memory is the memory of one target during one sweep: its version is the
// one recalled, then the one written.
type memory struct {
	s       *Sweeper
	scope   string
	at      time.Time
	version int64
	broken  bool // it could not be read
}

func (m *memory) recall(ctx context.Context) (map[string]remembered, error) {
	if m.s.Memory == nil {
		return map[string]remembered{}, nil
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
		return map[string]remembered{}, nil
	}
	return before, nil
}

func (m *memory) remember(ctx context.Context, r map[string]remembered) error {
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

// finding is the exposure m remembers, as the resolution starts from.
func (m remembered) finding(t Target, k string) detect.Finding {
	return detect.Finding{
		Action: detect.Exposure, Severity: m.Severity,
		Event:         detect.Event{Name: detect.SweepCall, Region: t.Region, AccountID: t.Account},
		SecurityGroup: detect.SecurityGroup{ID: m.Group, Name: m.Name, VPCID: m.VPC},
		Rules:         []detect.Rule{m.Rule},
		Sweep:         &detect.Sweep{Key: k, FirstSeen: m.FirstSeen, Published: m.Published},
	}
}

// creator looks up who created f's rule, best effort: a failed or fruitless
// lookup is a note on f.
func (s *Sweeper) creator(ctx context.Context, l Lister, f *detect.Finding) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	records, err := l.Events(ctx, f.SecurityGroup.ID, LookupPages)
	switch {
	case err != nil:
		f.Notes = append(f.Notes, "who created the rule could not be looked up in CloudTrail: "+err.Error())
		return
	case records == nil:
		return // not looked up in this deployment
	}
	var other *detect.Finding // the newest event that set the rule to something else
	for _, rec := range records {
		b, err := detect.Parse(rec, s.Scoring)
		if err != nil {
			continue
		}
		for _, c := range b.Findings {
			if CreatedBy(f, c, s.Scoring) {
				return
			}
			if other == nil && Touches(*f, c) {
				other = &c
			}
		}
	}
	if other != nil {
		f.Notes = append(f.Notes, fmt.Sprintf("who made the rule what it is now is not known: the last CloudTrail event that set it (%s at %s) made it allow something else",
			other.Event.Name, other.Event.Time))
		return
	}
	f.Notes = append(f.Notes, fmt.Sprintf("who created the rule is not known: none of the last %d CloudTrail events of %s (LookupEvents keeps 90 days) created it", len(records), f.SecurityGroup.ID))
}

// lookupTimeout bounds one creator lookup.
const lookupTimeout = 5 * time.Second

// key is the idempotency key of one finding of one sweep: the sweep's id
// and the version of the target's memory it started from, so that a retry
// of the sweep publishes nothing twice, while a sweep that reuses an id
// after the memory changed publishes afresh.
func key(id string, version int64, t Target, action, k string) string {
	return "sweep/" + id + "/" + t.String() + "/v" + strconv.FormatInt(version, 10) + "/" + action + "/" + k
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// maxMemory bounds the encoded memory of one target, below DynamoDB's
// 400 KB item.
const maxMemory = 350_000

// encode is the memory of a target, gzip-compressed JSON, at most
// MaxRemembered exposures and maxMemory bytes: the first by key. Those left
// out are published again at the next sweep (louder, never quieter).
func encode(m map[string]remembered) ([]byte, error) {
	keys := sortedKeys(m)
	n := min(len(keys), MaxRemembered)
	for {
		keep := make(map[string]remembered, n)
		for _, k := range keys[:n] {
			keep[k] = m[k]
		}
		var b bytes.Buffer
		z := gzip.NewWriter(&b)
		if err := json.NewEncoder(z).Encode(keep); err != nil {
			return nil, fmt.Errorf("encode the sweep's memory: %w", err)
		}
		if err := z.Close(); err != nil {
			return nil, fmt.Errorf("compress the sweep's memory: %w", err)
		}
		if b.Len() <= maxMemory || n == 0 {
			return b.Bytes(), nil
		}
		n = min(n-1, int(float64(n)*maxMemory/float64(b.Len())*0.95))
	}
}

func decode(data []byte) (map[string]remembered, error) {
	m := map[string]remembered{}
	if len(data) == 0 {
		return m, nil
	}
	z, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(z, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return m, nil
}
