package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// Summary counts findings for a scan's summary: by severity, action,
// account, Region and actor, with the critical and high ones listed,
// critical first. Repeated identical calls that changed nothing (failed
// calls and dry runs) are listed on one line with their count.
//
// Its memory is bounded whatever the number of findings: the listed ones
// are kept in four tiers (critical changes, critical calls that changed
// nothing, high changes, high calls that changed nothing), each of at
// most summaryList lines, the rest of each counted. A finding competes for
// a line only within its tier, so no number of high findings, or of calls
// that changed nothing, can keep a critical change from being listed.
type Summary struct {
	n      int
	counts [6]map[string]int
	tiers  [tiers]tier
}

// tiers are the tiers of listed findings: by severity (critical, high), then
// whether the call changed something.
const tiers = 4

// tier is one tier of listed findings.
type tier struct {
	rows  []*listed
	byKey map[[sha256.Size]byte]*listed // lines of calls that changed nothing, by identity
	more  int                           // findings past summaryList lines, counted
}

// listed is one line of the list: a finding, or identical calls that
// changed nothing.
type listed struct {
	time, id, subject string
	n                 int    // findings it stands for
	last              string // the latest time among them
	code              string // their error code
}

// summaryTop is how many rows a count table shows (the rest are summed up).
const summaryTop = 20

// A summary's memory is bounded, whatever the number of findings: at most
// summaryKeys distinct values per table (the rest count as one row) and
// summaryList lines per tier of listed findings (the rest counted).
const (
	summaryKeys = 10000
	summaryList = 1000
)

// summaryOthers is the row of a table's values past summaryKeys.
const summaryOthers = "(other values)"

// summaryTitles name the tables; the last, reachability, counts only the
// findings live context graded, and is left out when there are none.
var summaryTitles = [6]string{"severity", "action", "account", "Region", "actor", "reachability"}

// Add counts one finding, with the subject of its notification.
func (s *Summary) Add(f detect.Finding, subject string) {
	if s.counts[0] == nil {
		for i := range s.counts {
			s.counts[i] = map[string]int{}
		}
	}
	s.n++
	keys := []string{string(f.Severity), string(f.Action), cmp.Or(f.Event.AccountID, "unknown"),
		cmp.Or(f.Event.Region, "unknown"), actorOf(f.Actor)}
	if r := f.Reachability; r != nil {
		keys = append(keys, string(r.Grade))
	}
	for i, k := range keys {
		k = clean.Line(k, 120)
		if _, ok := s.counts[i][k]; !ok && len(s.counts[i]) >= summaryKeys {
			k = summaryOthers
		}
		s.counts[i][k]++
	}
	t := 0 // critical, or critical before trusted automation lowered it
	switch {
	case f.WasCritical():
	case f.Severity == detect.High:
		t = 2
	default:
		return
	}
	nothing := f.Outcome == detect.Failed || f.Outcome == detect.DryRun
	if nothing {
		t++
	}
	s.tiers[t].add(f, subject, nothing)
}

// add lists f in the tier, or counts it when the tier is full. A call that
// changed nothing joins the line of an identical one (sameCall).
func (t *tier) add(f detect.Finding, subject string, nothing bool) {
	time, id := clean.Line(f.Event.Time, 40), clean.Line(f.Event.ID, 64)
	var key [sha256.Size]byte
	if nothing {
		key = sameCall(f)
		if l, ok := t.byKey[key]; ok {
			l.n++
			if time < l.time || time == l.time && id < l.id {
				l.time, l.id = time, id
			}
			l.last = max(l.last, time)
			return
		}
	}
	if len(t.rows) == summaryList {
		t.more++
		return
	}
	l := &listed{time: time, id: id, subject: subject, n: 1, last: time}
	if nothing {
		if f.Error != nil {
			l.code = clean.Line(f.Error.Code, 64)
		}
		if t.byKey == nil {
			t.byKey = map[[sha256.Size]byte]*listed{}
		}
		t.byKey[key] = l
	}
	t.rows = append(t.rows, l)
}

// sameCall is the identity of a call that changed nothing: two such calls
// are identical when they have the same severity, call, outcome, error
// code, actor, account, Region, group (id and name) and rules (every field
// of every rule, in order). Their times, event and request ids, source
// addresses, user agents and error messages may differ.
func sameCall(f detect.Finding) [sha256.Size]byte {
	code := ""
	if f.Error != nil {
		code = f.Error.Code
	}
	b, err := json.Marshal([]any{f.Severity, f.Event.Name, f.Outcome, code, actorOf(f.Actor), f.Event.AccountID,
		f.Event.Region, f.SecurityGroup.ID, f.SecurityGroup.Name, f.Rules})
	if err != nil { // strings, numbers and booleans only: cannot fail
		panic(fmt.Sprintf("summary: encode a call's identity: %v", err))
	}
	return sha256.Sum256(b)
}

// actorOf names the actor in the summary: the ARN, else the principal id,
// else the identity type.
func actorOf(a detect.Actor) string {
	return cmp.Or(a.ARN, a.PrincipalID, a.Type, "unknown")
}

// Write prints the summary: a table per count, largest first (severities
// from critical down), then the critical and high findings, critical
// first, then by time, one per line (identical calls that changed nothing
// on one line, with their count); what a tier could not list is counted.
func (s *Summary) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%d findings\n", s.n)
	for i, title := range summaryTitles {
		if s.n == 0 {
			break
		}
		if len(s.counts[i]) == 0 {
			continue // no finding was graded
		}
		fmt.Fprintf(tw, "\nby %s\tfindings\n", title)
		type row struct {
			k string
			n int
		}
		var rows []row
		for k, n := range s.counts[i] {
			rows = append(rows, row{k, n})
		}
		slices.SortFunc(rows, func(a, b row) int {
			if i == 0 {
				return cmp.Compare(detect.Severity(b.k).Rank(), detect.Severity(a.k).Rank())
			}
			return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.k, b.k))
		})
		rest := 0
		for j, r := range rows {
			if j >= summaryTop {
				rest += r.n
				continue
			}
			fmt.Fprintf(tw, "  %s\t%d\n", r.k, r.n)
		}
		if rest > 0 {
			fmt.Fprintf(tw, "  (%d more)\t%d\n", len(rows)-summaryTop, rest)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	total := 0
	for _, t := range s.tiers {
		total += t.more
		for _, l := range t.rows {
			total += l.n
		}
	}
	if total == 0 {
		return nil
	}
	// The critical tiers' lines first, then the high ones', each by time.
	var all []*listed
	for i := 0; i < tiers; i += 2 {
		rows := append(slices.Clone(s.tiers[i].rows), s.tiers[i+1].rows...)
		slices.SortStableFunc(rows, func(a, b *listed) int {
			return cmp.Or(strings.Compare(a.time, b.time), strings.Compare(a.id, b.id))
		})
		all = append(all, rows...)
	}
	fmt.Fprintf(w, "\ncritical and high (%d)\n", total)
	for _, l := range all {
		same := ""
		if l.n > 1 {
			same = fmt.Sprintf("  (%s identical calls, %s, the last at %s)", thousands(l.n), orText(l.code, "no error code"), l.last)
		}
		if _, err := fmt.Fprintf(w, "  %s  %s  event %s%s\n", l.time, l.subject, l.id, same); err != nil {
			return err
		}
	}
	for i, t := range s.tiers {
		if t.more == 0 {
			continue
		}
		what := [tiers]string{"critical findings", "critical findings of calls that changed nothing",
			"high findings", "high findings of calls that changed nothing"}[i]
		if _, err := fmt.Fprintf(w, "  and %s more %s, not listed (the first %s lines read are): -format json lists every one\n",
			thousands(t.more), what, thousands(summaryList)); err != nil {
			return err
		}
	}
	return nil
}
