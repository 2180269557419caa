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
	"slices"
	"sync"
	"time"

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
	Groups(ctx context.Context) ([]detect.Group, error)
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
	Options detect.Options
	Targets []Target
	// Lister returns the lister of a target (its clients, with an assumed
	// role for another account).
	Lister func(ctx context.Context, t Target) (Lister, error)
	// Memory is nil for none: then every exposure is new at every sweep.
	Memory Memory
	Log    *slog.Logger
	Now    func() time.Time
}

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
	Err                 error
}

// Run sweeps every target, Concurrency at a time, publishing with publish,
// and returns each target's stats in the order of Targets. The error joins
// the targets that failed; the others are swept all the same.
func (s *Sweeper) Run(ctx context.Context, id string, publish Publish) ([]Stats, error) {
	stats := make([]Stats, len(s.Targets))
	sem := make(chan struct{}, Concurrency)
	var wg sync.WaitGroup
	for i, t := range s.Targets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			defer func() {
				if p := recover(); p != nil {
					stats[i].Err = fmt.Errorf("panic: %v", p)
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

// remembered is the memory of one exposure: enough to publish its
// resolution.
type remembered struct {
	Group     string          `json:"g"`
	Name      string          `json:"n,omitempty"`
	VPC       string          `json:"v,omitempty"`
	Rule      detect.Rule     `json:"r"`
	Severity  detect.Severity `json:"s"`
	FirstSeen string          `json:"f"`
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
		for _, f := range s.Options.Exposures(g, t.Region, t.Account, at) {
			open[f.Sweep.Key] = f
		}
	}
	st.Open = len(open)

	var before map[string]remembered
	var version int64
	if s.Memory != nil {
		data, v, err := s.Memory.Recall(ctx, t.String())
		if err != nil {
			st.Err = err
			return st
		}
		if before, err = decode(data); err != nil {
			// Start again: every exposure is published anew (louder,
			// never quieter), and the memory is written over.
			s.log().Warn("the sweep's memory cannot be read; every exposure is published again", "target", t.String(), "error", err.Error())
			before = map[string]remembered{}
		}
		version = v
	}

	// New exposures, in a stable order, with their creators looked up.
	var fresh []detect.Finding
	stillOpen := map[string]bool{} // rule ids open now
	for _, k := range sortedKeys(open) {
		f := open[k]
		stillOpen[f.Rules[0].RuleID] = true
		if m, ok := before[k]; ok {
			f.Sweep.FirstSeen = m.FirstSeen
			open[k] = f
			continue
		}
		fresh = append(fresh, f)
	}
	for i := range fresh {
		if i >= MaxLookups {
			fresh[i].Notes = append(fresh[i].Notes, fmt.Sprintf("who created the rule was not looked up: more than %d new exposures in %s in this sweep", MaxLookups, t))
			continue
		}
		s.creator(ctx, l, &fresh[i])
	}

	after := map[string]remembered{}
	for k, m := range before {
		if _, ok := open[k]; ok {
			after[k] = m
		}
	}
	var errs []error
	for _, f := range fresh {
		ok, err := publish(ctx, f, key(id, t, "exposure", f.Sweep.Key))
		switch {
		case err != nil:
			errs = append(errs, err)
		case ok:
			st.New++
			after[f.Sweep.Key] = remembered{Group: f.SecurityGroup.ID, Name: f.SecurityGroup.Name, VPC: f.SecurityGroup.VPCID,
				Rule: f.Rules[0], Severity: f.Severity, FirstSeen: f.Sweep.FoundAt}
		default:
			st.Held++
		}
	}
	// Gone: published as resolved, unless the same rule is open with
	// other content (its new exposure says enough).
	for _, k := range sortedKeys(before) {
		m := before[k]
		if _, ok := open[k]; ok || stillOpen[m.Rule.RuleID] {
			continue
		}
		r := s.Options.Resolve(m.finding(t, k), at)
		ok, err := publish(ctx, r, key(id, t, "resolved", k))
		switch {
		case err != nil:
			errs = append(errs, err)
			after[k] = m // resolve it again next time
		case ok:
			st.Resolved++
		default:
			st.Held++
		}
	}
	if len(errs) > 0 {
		// Nothing is remembered: the retry of this sweep publishes what
		// failed (and, keyed by the sweep's id, nothing twice).
		st.Err = errors.Join(errs...)
		return st
	}
	if s.Memory != nil {
		data, err := encode(after)
		if err == nil {
			err = s.Memory.Remember(ctx, t.String(), data, version, at)
		}
		if err != nil {
			st.Err = err
		}
	}
	return st
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
		Sweep:         &detect.Sweep{Key: k, FirstSeen: m.FirstSeen},
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
	for _, rec := range records {
		b, err := s.Options.Parse(rec)
		if err != nil {
			continue
		}
		for _, c := range b.Findings {
			if s.Options.CreatedBy(f, c) {
				return
			}
		}
	}
	f.Notes = append(f.Notes, fmt.Sprintf("who created the rule is not known: none of the last %d CloudTrail events of %s (LookupEvents keeps 90 days) created it", len(records), f.SecurityGroup.ID))
}

// lookupTimeout bounds one creator lookup.
const lookupTimeout = 5 * time.Second

// key is the idempotency key of one finding of one sweep.
func key(id string, t Target, action, k string) string {
	return "sweep/" + id + "/" + t.String() + "/" + action + "/" + k
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// encode is the memory of a target, gzip-compressed JSON, at most
// MaxRemembered exposures (the first by key).
func encode(m map[string]remembered) ([]byte, error) {
	if len(m) > MaxRemembered {
		keep := map[string]remembered{}
		for _, k := range sortedKeys(m)[:MaxRemembered] {
			keep[k] = m[k]
		}
		m = keep
	}
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	if err := json.NewEncoder(z).Encode(m); err != nil {
		return nil, fmt.Errorf("encode the sweep's memory: %w", err)
	}
	if err := z.Close(); err != nil {
		return nil, fmt.Errorf("compress the sweep's memory: %w", err)
	}
	return b.Bytes(), nil
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
