package sweep

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sgwatch/sgwatch/detect"
)

// A sweep of one target is a plan and its execution. The plan (plan,
// resolutions, settle) is pure: from what the memory remembered, what is
// open now, and what became of each publish (the policy's decision arrives
// as a publish's outcome: published, or held back), it says what to
// publish, resolve, hold, keep and forget, and what the memory holds next.
// The executor (Sweeper.target) only lists, looks up, publishes and
// imports as the plan says.

// outcome is what became of a publish (or an import).
type outcome int

const (
	notTried outcome = iota
	done             // published (or imported)
	heldBack         // the policy held it back
	failedTo         // it failed: tried again at the retry
)

// candidate is an exposure open now that may be published in this sweep.
type candidate struct {
	key    string
	f      detect.Finding
	lookUp bool   // its creator is to be looked up before it is published
	held   bool   // held back at an earlier sweep
	tried  string // when its creator was last looked up in vain
	result outcome
}

// pending is a finding to import once the notifications are out, and its
// key in the memory.
type pending struct {
	key    string
	f      detect.Finding
	result outcome
}

// goneOne is a remembered exposure that is no longer open, and what its
// resolution does.
type goneOne struct {
	key    string
	was    entry
	action resolution
	result outcome // of its publish, for action publishIt
}

// resolution is what becomes of a gone exposure.
type resolution int

const (
	// dropIt: its rule was changed in place and the new exposure is
	// published: that says enough; it is forgotten.
	dropIt resolution = iota
	// keepIt: not resolved now (its rule is still open, held back, or the
	// memory could not be marked): kept as it was.
	keepIt
	// importIt: its resolution was published; only its import is left.
	importIt
	// publishIt: its resolution is published now.
	publishIt
)

// plan is the work of one sweep of one target.
type plan struct {
	at time.Time
	// before is what the memory held; kept are the exposures still open
	// and published before, kept as they are.
	before, kept map[string]entry
	// reimport are kept exposures due to be imported into the sink again.
	reimport []pending
	// candidates are the exposures to decide on and publish: the new ones
	// first, in key order, then the held ones, the longest untried first.
	candidates []candidate
	// gone are the published exposures that are no longer open, in key
	// order; mark the keys among them to mark resolving before any
	// resolution is published.
	gone []goneOne
	mark []string
	// exposed are the rules (group/rule id) open to the whole internet
	// now, held back or not; published those whose exposure is published.
	exposed, published map[string]bool
}

// ruleOf names a rule of a group across keys: a rule changed in place has
// a new key but the same name. A rule without id has none.
func ruleOf(group string, r detect.Rule) string {
	if r.RuleID == "" {
		return ""
	}
	return group + "/" + r.RuleID
}

// newPlan plans the sweep at time at of a target that remembered before
// and has open now (by key); importing says whether the deployment imports
// into a sink.
func newPlan(before map[string]entry, open map[string]detect.Finding, importing bool, at time.Time, s detect.Scoring) *plan {
	p := &plan{at: at, before: before, kept: map[string]entry{}, exposed: map[string]bool{}, published: map[string]bool{}}
	for _, k := range slices.Sorted(maps.Keys(open)) {
		f := open[k]
		rule := ruleOf(f.SecurityGroup.ID, f.Rules[0])
		p.exposed[rule] = true
		m, ok := before[k]
		switch {
		case ok && m.State == statePublished: // published before, still open
			p.kept[k] = m
			p.published[rule] = true
			if importing && stale(m.Imported, at) {
				f.Sweep.FirstSeen, f.Sweep.Published = m.FirstSeen, m.Published
				p.reimport = append(p.reimport, pending{key: k, f: f})
			}
		case ok && m.State == stateHeld: // held back before: decide again
			f.Sweep.FirstSeen = m.FirstSeen
			if m.Creator != nil && m.Created != nil {
				Attribute(&f, *m.Creator, *m.Created, s)
				p.candidates = append(p.candidates, candidate{key: k, f: f, held: true})
				continue
			}
			p.candidates = append(p.candidates, candidate{key: k, f: f, lookUp: true, held: true, tried: m.Tried})
		default: // new, or open again while its resolution was under way
			p.candidates = append(p.candidates, candidate{key: k, f: f, lookUp: true})
		}
	}
	// Creators: the new exposures first, in key order, then held ones
	// whose creator was not found, the longest untried first.
	slices.SortStableFunc(p.candidates, func(a, b candidate) int {
		switch {
		case a.held != b.held && !a.held:
			return -1
		case a.held != b.held:
			return 1
		}
		return strings.Compare(a.tried, b.tried)
	})
	// Gone: a published exposure is resolved; a held one is forgotten.
	for _, k := range slices.Sorted(maps.Keys(before)) {
		m := before[k]
		if _, ok := open[k]; ok || m.State == stateHeld {
			continue
		}
		p.gone = append(p.gone, goneOne{key: k, was: m})
		if m.State == statePublished {
			p.mark = append(p.mark, k)
		}
	}
	return p
}

// marked is the memory to write before any resolution is published, so
// that an exposure open again before the memory is written again is
// published again, not taken for one still open.
func (p *plan) marked() map[string]entry {
	m := maps.Clone(p.before)
	for _, k := range p.mark {
		e := m[k]
		e.State = stateResolving
		m[k] = e
	}
	return m
}

// lookups returns the candidates whose creator is looked up in this
// sweep, at most MaxLookups; the others get a note that says so (a held
// one is looked up at a later sweep).
func (p *plan) lookups(t Target) []*candidate {
	var out []*candidate
	for i := range p.candidates {
		c := &p.candidates[i]
		if !c.lookUp {
			continue
		}
		if len(out) == MaxLookups {
			c.f.Notes = append(c.f.Notes, fmt.Sprintf("who created the rule was not looked up: more than %d new exposures in %s in this sweep", MaxLookups, t))
			c.lookUp = false
			continue
		}
		c.tried = p.at.Format(time.RFC3339)
		out = append(out, c)
	}
	return out
}

// resolutions says what becomes of each gone exposure, once the candidates
// are published (a rule changed in place whose new exposure is published
// needs no resolution); canResolve is false when the memory could not be
// marked (then nothing is resolved now).
func (p *plan) resolutions(canResolve bool) {
	for _, c := range p.candidates {
		if c.result == done {
			p.published[ruleOf(c.f.SecurityGroup.ID, c.f.Rules[0])] = true
		}
	}
	for i := range p.gone {
		g := &p.gone[i]
		switch rule := ruleOf(g.was.Group, g.was.Rule); {
		case rule != "" && p.published[rule]:
			g.action = dropIt // changed in place: its new exposure is published
		case rule != "" && p.exposed[rule]:
			// Changed in place and still open to the whole internet, but
			// held back now: not resolved (it is not), kept as it was.
			g.action = keepIt
		case !canResolve:
			g.action = keepIt // resolved by a later sweep
		case g.was.State == stateTold:
			g.action = importIt
		default:
			g.action = publishIt
		}
	}
}

// settle is the memory after the sweep: what was published is remembered,
// what failed is not (or is still resolving), what was imported is marked
// so, and a resolution imported is forgotten. imports are the imports
// done, with their outcomes.
func (p *plan) settle(importing bool, imports []pending) map[string]entry {
	after := maps.Clone(p.kept)
	for _, c := range p.candidates {
		first := c.f.Sweep.FirstSeen
		if first == "" {
			first = c.f.Sweep.FoundAt
		}
		m := remembered(c.f, first)
		switch c.result {
		case done:
			m.Published = c.f.Sweep.FoundAt
			after[c.key] = m
		case heldBack:
			m.State = stateHeld
			if c.f.Sweep.Created != nil {
				a := compactActor(c.f.Actor)
				m.Creator, m.Created = &a, c.f.Sweep.Created
			} else {
				m.Tried = c.tried
			}
			after[c.key] = m
		}
	}
	for _, g := range p.gone {
		m := g.was
		switch {
		case g.action == keepIt:
			after[g.key] = m
		case g.action == importIt && importing:
			after[g.key] = m
		case g.action == publishIt && g.result == failedTo:
			m.State = stateResolving
			after[g.key] = m // resolved again at the retry
		case g.action == publishIt && g.result == done && importing:
			m.State = stateTold
			after[g.key] = m // until it is imported
		}
	}
	for _, im := range imports {
		if im.result != done {
			continue
		}
		if im.f.Action == detect.Resolved {
			delete(after, im.key)
			continue
		}
		m, ok := after[im.key]
		if !ok {
			continue // no longer remembered (reverted): nothing to mark
		}
		m.Imported = p.at.Format(time.RFC3339)
		after[im.key] = m
	}
	return after
}

// stale reports whether a finding last imported at imported ("" for never)
// is to be imported again at now.
func stale(imported string, now time.Time) bool {
	t, err := time.Parse(time.RFC3339, imported)
	return err != nil || now.Sub(t) >= ReimportAfter
}
