package scan

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// Late is how long after a record's time its log file may be delivered and
// still be read by a scan that ends (-until) before the delivery: CloudTrail
// delivers a log file within minutes of its records, and "a log file
// delivered at a specific time can contain records written at any point
// before that time".
const Late = 24 * time.Hour

// Filter selects records by time, account and Region. Its zero value
// selects everything. The scan applies it twice: to CloudTrail's layout of
// folders and log file names, to read only what can hold selected records,
// and to each finding's own time, account and Region.
type Filter struct {
	Since, Until time.Time // zero: no bound
	Accounts     []string  // none: every account
	Regions      []string  // none: every Region
}

// ParseTime reads a -since or -until value: RFC 3339, a date (YYYY-MM-DD,
// midnight UTC), or a time before now: a number and a unit, d (days), h,
// m or s ("90d", "12h").
func ParseTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if m := relative().FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		unit := map[string]time.Duration{"d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second}[m[2]]
		if err == nil && time.Duration(n) <= maxAge/unit {
			return now.Add(-time.Duration(n) * unit), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: want RFC 3339 (2026-08-01T00:00:00Z), a date (2026-08-01) or an age (90d, 12h, 30m)", s)
}

// maxAge bounds an age: 100 years (366-day).
const maxAge = 100 * 366 * 24 * time.Hour

var relative = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([0-9]{1,6})([dhms])$`) })

// ParseList reads a comma-separated list of account ids or Regions (a flag's
// value), each checked by valid, repeats dropped; "" is none. The error
// names the first item that is not what, cleaned for the terminal.
func ParseList(s, what string, valid func(string) bool) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		v = strings.TrimSpace(v)
		if !valid(v) {
			return nil, fmt.Errorf("%q is not %s", clean.Line(v, 64), what)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// Keep reports whether a finding is selected by its own time, account and
// Region. What the record does not say is kept, since a scan that cannot
// tell fails loud, not quiet: a time that cannot be read, no Region, and an
// account known only as the caller's (no recipientAccountId: the change may
// be in another account). Regions compare in any case.
func (f Filter) Keep(fd detect.Finding) bool {
	e := fd.Event
	if len(f.Accounts) > 0 && e.AccountID != "" && !e.CallerAccount && !slices.Contains(f.Accounts, e.AccountID) {
		return false
	}
	if len(f.Regions) > 0 && e.Region != "" && !slices.ContainsFunc(f.Regions, func(r string) bool { return strings.EqualFold(r, e.Region) }) {
		return false
	}
	if f.Since.IsZero() && f.Until.IsZero() {
		return true
	}
	t, err := time.Parse(time.RFC3339, strings.ToUpper(e.Time))
	if err != nil {
		return true
	}
	return !(!f.Since.IsZero() && t.Before(f.Since)) && !(!f.Until.IsZero() && t.After(f.Until))
}

// delivered reports whether a log file delivered in [from, to) can hold a
// selected record: its records are from before its delivery, and from
// no more than Late before it when the scan has an end.
func (f Filter) delivered(from, to time.Time) bool {
	if !f.Since.IsZero() && !to.After(f.Since) {
		return false
	}
	return f.Until.IsZero() || !from.After(f.Until.Add(Late))
}
