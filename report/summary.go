package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// Summary counts findings for a scan's summary: by severity, action,
// account, Region and actor, with the critical and high ones listed.
type Summary struct {
	n        int
	counts   [5]map[string]int
	critical []listed
	more     int // critical and high findings past summaryList, counted
}

type listed struct {
	time, id, subject string
}

// summaryTop is how many rows a count table shows (the rest are summed up).
const summaryTop = 20

// A summary's memory is bounded, whatever the number of findings: at most
// summaryKeys distinct values per table (the rest count as one row) and
// summaryList critical and high findings listed (the rest counted).
const (
	summaryKeys = 10000
	summaryList = 1000
)

// summaryOthers is the row of a table's values past summaryKeys.
const summaryOthers = "(other values)"

var summaryTitles = [5]string{"severity", "action", "account", "Region", "actor"}

// Add counts one finding, with the subject of its notification.
func (s *Summary) Add(f detect.Finding, subject string) {
	if s.counts[0] == nil {
		for i := range s.counts {
			s.counts[i] = map[string]int{}
		}
	}
	s.n++
	actor := f.Actor.ARN
	if actor == "" {
		actor = cmp.Or(f.Actor.PrincipalID, f.Actor.Type, "unknown")
	}
	for i, k := range []string{string(f.Severity), string(f.Action), cmp.Or(f.Event.AccountID, "unknown"),
		cmp.Or(f.Event.Region, "unknown"), actor} {
		k = clean.Line(k, 120)
		if _, ok := s.counts[i][k]; !ok && len(s.counts[i]) >= summaryKeys {
			k = summaryOthers
		}
		s.counts[i][k]++
	}
	if f.Severity == detect.Critical || f.Severity == detect.High {
		if len(s.critical) == summaryList {
			s.more++
			return
		}
		s.critical = append(s.critical, listed{time: clean.Line(f.Event.Time, 40), id: clean.Line(f.Event.ID, 64), subject: subject})
	}
}

// Write prints the summary: a table per count, largest first (severities
// from critical down), then the critical and high findings by time, one
// per line (the first summaryList read; the rest counted).
func (s *Summary) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%d findings\n", s.n)
	for i, title := range summaryTitles {
		if s.n == 0 {
			break
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
	if len(s.critical) == 0 {
		return nil
	}
	slices.SortStableFunc(s.critical, func(a, b listed) int { return cmp.Or(strings.Compare(a.time, b.time), strings.Compare(a.id, b.id)) })
	fmt.Fprintf(w, "\ncritical and high (%d)\n", len(s.critical)+s.more)
	for _, c := range s.critical {
		if _, err := fmt.Fprintf(w, "  %s  %s  event %s\n", c.time, c.subject, c.id); err != nil {
			return err
		}
	}
	if s.more > 0 {
		_, err := fmt.Fprintf(w, "  and %d more, not listed (the first %d read are): -format json lists every one\n", s.more, summaryList)
		return err
	}
	return nil
}
