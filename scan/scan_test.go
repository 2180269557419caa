package scan

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sgwatch/sgwatch/cloudtrail"
	"github.com/sgwatch/sgwatch/pipeline"
	"github.com/sgwatch/sgwatch/report"
)

// sample is the record (the "detail") of the event file events/name, as
// a map to change fields of.
func sample(t testing.TB, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Detail map[string]any `json:"detail"`
	}
	if err := json.Unmarshal(data, &ev); err != nil || ev.Detail == nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev.Detail
}

// sgRecord is a security-group record (a world-open SSH ingress) with the
// event id, time, account and Region given.
func sgRecord(t testing.TB, id, at, account, region string) []byte {
	t.Helper()
	r := sample(t, "authorize-ingress-world-ssh.json")
	r["eventID"], r["eventTime"], r["recipientAccountId"], r["awsRegion"] = id, at, account, region
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// otherRecords are records of other calls: one that names security groups
// (DescribeSecurityGroups) and one that does not.
func otherRecords(t testing.TB, at, account, region string) [][]byte {
	t.Helper()
	r := sample(t, "not-security-group.json")
	r["eventTime"], r["recipientAccountId"], r["awsRegion"] = at, account, region
	describe, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	other := fmt.Sprintf(`{"eventVersion":"1.10","eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":%q,"recipientAccountId":%q,"eventID":"other"}`, at, region, account)
	return [][]byte{describe, []byte(other)}
}

// logOf is a CloudTrail log file of records.
func logOf(records ...[]byte) []byte {
	return []byte(`{"Records":[` + string(bytes.Join(records, []byte(","))) + `]}`)
}

func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// writeTree writes files (slash-separated path -> content) under dir.
func writeTree(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for p, data := range files {
		name := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var (
	accountDirs = []struct{ dir, account string }{
		{"AWSLogs/111122223333", "111122223333"},
		{"AWSLogs/o-abc123defg/444455556666", "444455556666"},
	}
	layoutRegions = []string{"eu-west-1", "us-east-1"}
	layoutDays    = []int{20, 21, 22, 23, 24, 25, 26}
)

// logKey is the path of the log file of an account, Region and day of
// November 2026 in the layout: delivered at 12:05, its records at 12:00.
func logKey(account, region string, day int) string {
	dir := accountDirs[0].dir
	if account != accountDirs[0].account {
		dir = accountDirs[1].dir
	}
	return fmt.Sprintf("%s/CloudTrail/%s/2026/11/%02d/%s_CloudTrail_%s_202611%02dT1205Z_AbCd1234.json.gz",
		dir, region, day, account, region, day)
}

func eventID(account, region string, day int) string {
	return fmt.Sprintf("%s-%s-%02d", account, region, day)
}

// layout is a bucket or folder in CloudTrail's layout: two accounts (one
// under an organization), two Regions, 2026-11-20 to 26, one log file
// each with one security-group record between two others; digest files,
// an Insights folder (whose file holds a security-group record, to show
// if it is read) and a README.
func layout(t testing.TB) map[string][]byte {
	t.Helper()
	files := map[string][]byte{"README.txt": []byte("copied with aws s3 sync\n")}
	for _, a := range accountDirs {
		for _, r := range layoutRegions {
			for _, d := range layoutDays {
				at := fmt.Sprintf("2026-11-%02dT12:00:00Z", d)
				other := otherRecords(t, at, a.account, r)
				files[logKey(a.account, r, d)] = gz(t, logOf(other[0], sgRecord(t, eventID(a.account, r, d), at, a.account, r), other[1]))
			}
			files[fmt.Sprintf("%s/CloudTrail-Digest/%s/2026/11/20/%s_CloudTrail-Digest_%s_trail_%s_20261120T1300Z.json.gz", a.dir, r, a.account, r, r)] =
				gz(t, []byte(`{"awsAccountId":"`+a.account+`","digestStartTime":"2026-11-20T12:00:00Z","logFiles":[]}`))
		}
	}
	files["AWSLogs/111122223333/CloudTrail-Insight/eu-west-1/2026/11/20/111122223333_CloudTrail-Insight_eu-west-1_20261120T1205Z_x.json.gz"] =
		gz(t, logOf(sgRecord(t, "insight", "2026-11-20T12:00:00Z", "111122223333", "eu-west-1")))
	return files
}

// layoutCase is a filter on the layout and what it reads: the log files of
// accounts × regions × read, and the findings of accounts × regions × kept.
type layoutCase struct {
	name                      string
	filter                    Filter
	accounts, regions         []string
	read, kept                []int
	filtered, digests, notLog int64
}

var (
	both      = []string{"111122223333", "444455556666"}
	allRegion = []string{"eu-west-1", "us-east-1"}
)

var layoutCases = []layoutCase{
	{name: "all", accounts: both, regions: allRegion, read: layoutDays, kept: layoutDays, digests: 2, notLog: 2},
	{
		// The account folder is pruned with the Insights folder in it.
		name: "accounts", filter: Filter{Accounts: []string{"444455556666"}},
		accounts: both[1:], regions: allRegion, read: layoutDays, kept: layoutDays,
		filtered: 1, digests: 1, notLog: 1,
	},
	{
		name: "regions", filter: Filter{Regions: []string{"us-east-1"}},
		accounts: both, regions: allRegion[1:], read: layoutDays, kept: layoutDays,
		filtered: 2, digests: 2, notLog: 2,
	},
	{
		// Days 20-23 are pruned (4 folders × 4 account-Regions).
		name: "since", filter: Filter{Since: date("2026-11-24T00:00:00Z")},
		accounts: both, regions: allRegion, read: []int{24, 25, 26}, kept: []int{24, 25, 26},
		filtered: 16, digests: 2, notLog: 2,
	},
	{
		// Until+Late is 22T06:00: the 22nd's folder is listed but its
		// file (12:05) is pruned; days 23-26 are pruned as folders. The
		// 21st's file is read, and its record (12:00) is after Until.
		name: "until", filter: Filter{Until: date("2026-11-21T06:00:00Z")},
		accounts: both, regions: allRegion, read: []int{20, 21}, kept: []int{20},
		filtered: 4 + 16, digests: 2, notLog: 2,
	},
	{
		// Pruned: the other account, us-east-1, days 20 and 21, the
		// 22nd's file (delivered 12:05, before Since), the 25th's file
		// (12:05, after Until+Late) and day 26. Records at Until are kept.
		name: "everything",
		filter: Filter{
			Since: date("2026-11-22T12:10:00Z"), Until: date("2026-11-24T12:00:00Z"),
			Accounts: []string{"111122223333"}, Regions: []string{"eu-west-1"},
		},
		accounts: both[:1], regions: allRegion[:1], read: []int{23, 24}, kept: []int{23, 24},
		filtered: 7, digests: 1, notLog: 2,
	},
}

// want returns the log files read (sorted) and the event ids found, in
// the order of the scan.
func (c layoutCase) want() (read, ids []string) {
	for _, a := range c.accounts {
		for _, r := range c.regions {
			for _, d := range c.read {
				read = append(read, logKey(a, r, d))
			}
			for _, d := range c.kept {
				ids = append(ids, eventID(a, r, d))
			}
		}
	}
	sort.Strings(read)
	return read, ids
}

// run runs a scan and returns its events and counts.
func run(t testing.TB, sc *Scanner, paths ...string) ([]Event, Stats) {
	t.Helper()
	if sc.Pipeline.Format == "" {
		sc.Pipeline = pipeline.Pipeline{Format: report.JSON}
	}
	var events []Event
	st := sc.Run(context.Background(), paths, func(e Event) { events = append(events, e) })
	return events, st
}

// findings returns the event ids of the findings in events, and their
// sources; it fails on an error or a note.
func findings(t testing.TB, events []Event) (ids, sources []string) {
	t.Helper()
	for _, e := range events {
		switch {
		case e.Err != nil:
			t.Errorf("%s: %v", e.Source, e.Err)
		case e.NoCalls:
			t.Errorf("%s: no calls", e.Source)
		case e.Result == nil:
			t.Errorf("%s: an event with nothing", e.Source)
		default:
			if e.Result.Err != nil {
				t.Errorf("%s: %v", e.Source, e.Result.Err)
			}
			ids = append(ids, e.Result.Finding.Event.ID)
			sources = append(sources, e.Source)
		}
	}
	return ids, sources
}

func checkLayout(t *testing.T, c layoutCase, events []Event, st Stats, source func(key string) string) {
	t.Helper()
	read, wantIDs := c.want()
	ids, sources := findings(t, events)
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("findings\n%q\nwant\n%q", ids, wantIDs)
	}
	keys := map[string]string{} // event id -> log file
	for _, a := range both {
		for _, r := range allRegion {
			for _, d := range layoutDays {
				keys[eventID(a, r, d)] = logKey(a, r, d)
			}
		}
	}
	for i, id := range ids {
		if want := source(keys[id]); sources[i] != want {
			t.Errorf("finding %s from %s, want %s", id, sources[i], want)
		}
	}
	want := Stats{
		Sources: int64(len(read)), Records: 3 * int64(len(read)), Calls: int64(len(read)),
		Findings: int64(len(wantIDs)), Digests: c.digests, NotLogs: c.notLog, Filtered: c.filtered,
	}
	st.Bytes = 0
	if st != want {
		t.Errorf("stats\n%+v\nwant\n%+v", st, want)
	}
}

// TestLayout scans a folder in CloudTrail's layout with each filter.
func TestLayout(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, layout(t))
	for _, c := range layoutCases {
		t.Run(c.name, func(t *testing.T) {
			events, st := run(t, &Scanner{Filter: c.filter, Workers: 4}, dir)
			if st.Bytes == 0 {
				t.Error("no bytes counted")
			}
			checkLayout(t, c, events, st, func(key string) string { return filepath.Join(dir, filepath.FromSlash(key)) })
			for _, e := range events {
				if e.Named {
					t.Errorf("%s: Named in a folder", e.Source)
				}
			}
		})
	}
}

// TestLayoutWithoutAWSLogs: in a copy of account folders without AWSLogs
// above them (ACCOUNT/CloudTrail/...), Region and date folders are
// pruned as in the layout, digest and Insights folders skipped; -accounts
// selects by the log files' names.
func TestLayoutWithoutAWSLogs(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{}
	for k, v := range layout(t) {
		if rest, ok := strings.CutPrefix(k, "AWSLogs/o-abc123defg/"); ok {
			files["copy/"+rest] = v
		} else if rest, ok := strings.CutPrefix(k, "AWSLogs/"); ok {
			files["copy/"+rest] = v
		}
	}
	writeTree(t, dir, files)
	late := Filter{Since: date("2026-11-25T00:00:00Z"), Regions: []string{"eu-west-1"}}
	tests := []struct {
		name   string
		filter Filter
		ids    []string
		// want.Sources, and the skips when checked (Digests not 0)
		want Stats
	}{
		{"none", Filter{}, nil, Stats{Sources: 28, Digests: 2, NotLogs: 1}},
		{
			// Per account: us-east-1 and days 20-24 pruned.
			"region and since", late,
			[]string{
				eventID("111122223333", "eu-west-1", 25), eventID("111122223333", "eu-west-1", 26),
				eventID("444455556666", "eu-west-1", 25), eventID("444455556666", "eu-west-1", 26),
			},
			Stats{Sources: 4, Digests: 2, NotLogs: 1, Filtered: 12},
		},
		{
			"account", Filter{Since: late.Since, Regions: late.Regions, Accounts: []string{"444455556666"}},
			[]string{eventID("444455556666", "eu-west-1", 25), eventID("444455556666", "eu-west-1", 26)},
			Stats{Sources: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, st := run(t, &Scanner{Filter: tt.filter, Workers: 2}, dir)
			ids, _ := findings(t, events)
			if tt.ids != nil && !slices.Equal(ids, tt.ids) {
				t.Errorf("findings %q, want %q", ids, tt.ids)
			}
			if len(ids) != int(st.Calls) || st.Sources != tt.want.Sources {
				t.Errorf("%d findings, %d calls, %d sources; want %d sources, one finding each", len(ids), st.Calls, st.Sources, tt.want.Sources)
			}
			if tt.want.Digests > 0 && (st.Digests != tt.want.Digests || st.NotLogs != tt.want.NotLogs || st.Filtered != tt.want.Filtered) {
				t.Errorf("skipped %d digest, %d not log, %d filtered; want %d, %d, %d",
					st.Digests, st.NotLogs, st.Filtered, tt.want.Digests, tt.want.NotLogs, tt.want.Filtered)
			}
		})
	}
}

// TestOrder: the events come in the order of the sources (in a folder,
// its files by name, then its folders by name) and, in each, of the
// records, whatever the number of workers.
func TestOrder(t *testing.T) {
	dir := t.TempDir()
	sg := func(id string) []byte { return sgRecord(t, id, "2026-11-20T12:00:00Z", "111122223333", "eu-west-1") }
	var big [][]byte
	big = append(big, sg("a1"))
	for range 3000 { // slow to read: the files after it finish first
		big = append(big, otherRecords(t, "2026-11-20T12:00:00Z", "111122223333", "eu-west-1")...)
	}
	big = append(big, sg("a2"), sg("a3"))
	writeTree(t, dir, map[string][]byte{
		"a.json":         logOf(big...),
		"b.json.gz":      gz(t, logOf(sg("b1"), sg("b2"), sg("b3"))),
		"c.jsonl":        bytes.Join([][]byte{sg("c1"), sg("c2")}, []byte("\n")),
		"d/e.json":       logOf(sg("e1")),
		"d/f/g.ndjson":   sg("g1"),
		"d/z.json":       logOf(sg("z1"), sg("z2")),
		"y.json":         logOf(sg("y1")),
		"d/f/h/i.json":   logOf(sg("i1")),
		"x/j.json.gz":    gz(t, logOf(sg("j1"))),
		"x/README.md":    []byte("#"),
		"x/k.json":       logOf(sg("k1"), sg("k2")),
		"x/.DS_Store":    {0},
		"d/f/h/m.jsonl":  sg("m1"),
		"d/f/h/n.json":   logOf(sg("n1")),
		"d/f/h/o/p.json": logOf(sg("p1")),
	})
	single := filepath.Join(dir, "y.json")
	want := []string{
		"a.json a1", "a.json a2", "a.json a3",
		"b.json.gz b1", "b.json.gz b2", "b.json.gz b3",
		"c.jsonl c1", "c.jsonl c2",
		"y.json y1",
		"d/e.json e1", "d/z.json z1", "d/z.json z2",
		"d/f/g.ndjson g1",
		"d/f/h/i.json i1", "d/f/h/m.jsonl m1", "d/f/h/n.json n1",
		"d/f/h/o/p.json p1",
		"x/j.json.gz j1", "x/k.json k1", "x/k.json k2",
		"y.json y1", // named again after the folder
	}
	for _, workers := range []int{1, 2, 8, 0} {
		for try := range 3 {
			t.Run(fmt.Sprintf("workers %d try %d", workers, try), func(t *testing.T) {
				events, st := run(t, &Scanner{Workers: workers}, dir, single)
				ids, sources := findings(t, events)
				var got []string
				for i := range ids {
					rel, err := filepath.Rel(dir, sources[i])
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, filepath.ToSlash(rel)+" "+ids[i])
				}
				if !slices.Equal(got, want) {
					t.Errorf("events\n%q\nwant\n%q", got, want)
				}
				if st.Sources != 14 || st.NotLogs != 2 || st.Findings != int64(len(want)) {
					t.Errorf("stats %+v", st)
				}
				if !events[len(events)-1].Named || events[0].Named {
					t.Error("Named is not true for the named file alone")
				}
			})
		}
	}
}

// TestErrors: a source or record that cannot be read is an event naming
// it (and the record), and the scan goes on.
func TestErrors(t *testing.T) {
	dir := t.TempDir()
	sg := func(id string) []byte { return sgRecord(t, id, "2026-11-20T12:00:00Z", "111122223333", "eu-west-1") }
	corrupt := gz(t, logOf(sg("never")))
	corrupt = append(corrupt[:12:12], bytes.Repeat([]byte{0xff}, 64)...)
	over := func(n int) []byte { // a record n bytes over the limit
		const head, tail = `{"eventName":"AuthorizeSecurityGroupIngress","x":"`, `"}`
		return []byte(head + strings.Repeat("A", cloudtrail.MaxRecord+n-len(head)-len(tail)) + tail)
	}
	writeTree(t, dir, map[string][]byte{
		// Balanced brackets, bad JSON, in a record that may be a call.
		"a-bad-record.json": logOf(sg("a1"), []byte(`{"eventName":"AuthorizeSecurityGroupIngress",}`), sg("a3")),
		"b-corrupt.json.gz": corrupt,
		"c-huge.json":       logOf(sg("c1"), over(1<<20), sg("c3")),
		// Just over the limit (within one read of it).
		"c-over.json": logOf(sg("o1"), over(1<<10), sg("o3")),
		"d-cut.json":  []byte(`{"Records":[` + string(sg("d1")) + `,{"eventName":"AuthorizeSecurityGroupIngress"`),
		// Bad JSON in a record that names no call is kept out of the
		// decoder (detect.Skim): unchecked, by choice (README).
		"e-unchecked.json": logOf(sg("e1"), []byte(`{"eventName":,}`), sg("e3")),
		"f-not-a-gzip.gz":  {0x1f, 0x8b, 0, 0},
	})
	missing := filepath.Join(dir, "missing.json.gz")
	src := func(name string) string { return filepath.Join(dir, name) }
	type want struct {
		source string
		id     string   // a finding's event id, or
		err    []string // what the error says
	}
	wants := []want{
		{source: src("a-bad-record.json"), id: "a1"},
		{source: src("a-bad-record.json"), err: []string{"record 2"}},
		{source: src("a-bad-record.json"), id: "a3"},
		{source: src("b-corrupt.json.gz"), err: []string{"gzip"}},
		{source: src("c-huge.json"), id: "c1"},
		{source: src("c-huge.json"), err: []string{"record 2 ", "exceeds", fmt.Sprint(cloudtrail.MaxRecord)}},
		{source: src("c-huge.json"), id: "c3"},
		{source: src("c-over.json"), id: "o1"},
		{source: src("c-over.json"), err: []string{"record 2 ", "exceeds"}},
		{source: src("c-over.json"), id: "o3"},
		{source: src("d-cut.json"), id: "d1"},
		{source: src("d-cut.json"), err: []string{"unexpected end of input", "after 1 values", "the rest is not read"}},
		{source: src("e-unchecked.json"), id: "e1"},
		{source: src("e-unchecked.json"), id: "e3"},
		{source: src("f-not-a-gzip.gz"), err: []string{"gzip"}},
		{source: missing, err: []string{"missing.json.gz", "no such file"}},
		// Named after the missing path: still read.
		{source: src("a-bad-record.json"), id: "a1"},
		{source: src("a-bad-record.json"), err: []string{"record 2"}},
		{source: src("a-bad-record.json"), id: "a3"},
	}
	var errs, found, sources int64
	for i, w := range wants {
		if w.err != nil {
			errs++
		} else {
			found++
		}
		if (i == 0 || wants[i-1].source != w.source) && w.source != missing {
			sources++
		}
	}
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprint("workers ", workers), func(t *testing.T) {
			events, st := run(t, &Scanner{Workers: workers}, dir, missing, src("a-bad-record.json"))
			if len(events) != len(wants) {
				t.Errorf("%d events, want %d", len(events), len(wants))
			}
			for i, e := range events[:min(len(events), len(wants))] {
				w := wants[i]
				if e.Source != w.source {
					t.Errorf("event %d from %s, want %s", i, e.Source, w.source)
				}
				switch {
				case w.err != nil && e.Err == nil:
					t.Errorf("event %d (%s): no error, want one saying %q", i, e.Source, w.err)
				case w.err != nil:
					for _, s := range w.err {
						if !strings.Contains(e.Err.Error(), s) {
							t.Errorf("event %d (%s): error %q does not say %q", i, e.Source, e.Err, s)
						}
					}
				case e.Err != nil || e.Result == nil:
					t.Errorf("event %d (%s): %v, want finding %s", i, e.Source, e.Err, w.id)
				case e.Result.Finding.Event.ID != w.id:
					t.Errorf("event %d (%s): finding %s, want %s", i, e.Source, e.Result.Finding.Event.ID, w.id)
				}
			}
			// missing is not counted as a source; the others are.
			if st.Errors != errs || st.Sources != sources || st.Findings != found {
				t.Errorf("%d errors, %d sources, %d findings; want %d, %d, %d", st.Errors, st.Sources, st.Findings, errs, sources, found)
			}
		})
	}
}

// TestNamed: standard input and files named on the command line.
func TestNamed(t *testing.T) {
	dir := t.TempDir()
	event, err := os.ReadFile(filepath.Join("..", "events", "authorize-ingress-world-ssh.json"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.ReadFile(filepath.Join("..", "events", "not-security-group.json"))
	if err != nil {
		t.Fatal(err)
	}
	old := logOf(sgRecord(t, "old", "2019-01-01T00:00:00Z", "111122223333", "eu-west-1"))
	writeTree(t, dir, map[string][]byte{
		"event.json":  event,
		"other.json":  other,
		"others.json": logOf(otherRecords(t, "2026-11-20T12:00:00Z", "111122223333", "eu-west-1")...),
		"empty.json":  nil,
		"blank.json":  []byte(" \n\t\n"),
		"empty.gz":    gz(t, nil),
		// Named files are read whatever their name: no pruning.
		"notes.txt": event,
		"111122223333_CloudTrail-Digest_eu-west-1_t_eu-west-1_20190101T0000Z.json.gz": gz(t, event),
		"111122223333_CloudTrail_eu-west-1_20190101T0000Z_x.json.gz":                  gz(t, old),
	})
	since := Filter{Since: date("2026-01-01T00:00:00Z")}
	tests := []struct {
		name     string
		path     string
		stdin    string
		filter   Filter
		id       string // the one finding, or
		noCalls  bool   // a NoCalls event, or
		err      string // an error, or none of them: no event
		readCall int64  // calls read
	}{
		{"stdin event", "-", string(event), Filter{}, "00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f", false, "", 1},
		{"stdin log", "-", string(old), Filter{}, "old", false, "", 1},
		{"stdin no call", "-", string(other), Filter{}, "", true, "", 0},
		{"stdin empty", "-", "", Filter{}, "", false, "empty input", 0},
		{"stdin broken", "-", `{"detail":`, Filter{}, "", false, "unexpected end of input", 0},
		// A whole input that is not CloudTrail says what it is.
		{"stdin not JSON", "-", "hello\n", Filter{}, "", false, "not JSON", 0},
		{"stdin bad JSON", "-", `{"detail":x}`, Filter{}, "", false, "invalid character", 0},
		{"stdin a list", "-", `[1,2]`, Filter{}, "", false, "input is a list", 0},
		{"stdin unknown", "-", `{"foo":1}`, Filter{}, "", false, "unrecognised input", 0},
		{"file event", "event.json", "", Filter{}, "00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f", false, "", 1},
		{"file no call", "other.json", "", Filter{}, "", true, "", 0},
		{"log no call", "others.json", "", Filter{}, "", true, "", 0},
		{"file empty", "empty.json", "", Filter{}, "", false, "empty input", 0},
		{"file blank", "blank.json", "", Filter{}, "", false, "empty input", 0},
		{"gzip empty", "empty.gz", "", Filter{}, "", false, "empty input", 0},
		{"any name", "notes.txt", "", Filter{}, "00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f", false, "", 1},
		{"digest name", "111122223333_CloudTrail-Digest_eu-west-1_t_eu-west-1_20190101T0000Z.json.gz", "", Filter{}, "00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f", false, "", 1},
		// Read though its name is before Since; its record is too, so
		// nothing is shown, not even NoCalls.
		{"outside filter", "111122223333_CloudTrail_eu-west-1_20190101T0000Z_x.json.gz", "", since, "", false, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path != "-" {
				path = filepath.Join(dir, path)
			}
			sc := &Scanner{Filter: tt.filter, Stdin: strings.NewReader(tt.stdin)}
			events, st := run(t, sc, path)
			if st.Sources != 1 || st.Calls != tt.readCall {
				t.Errorf("%d sources, %d calls; want 1, %d", st.Sources, st.Calls, tt.readCall)
			}
			if tt.id == "" && !tt.noCalls && tt.err == "" {
				if len(events) != 0 {
					t.Errorf("events %+v, want none", events)
				}
				return
			}
			if len(events) != 1 {
				t.Fatalf("%d events (%+v), want 1", len(events), events)
			}
			e := events[0]
			if e.Source != path || !e.Named {
				t.Errorf("source %q, named %v; want %q, true", e.Source, e.Named, path)
			}
			switch {
			case tt.err != "":
				if e.Err == nil || !strings.Contains(e.Err.Error(), tt.err) {
					t.Errorf("error %v, want one saying %q", e.Err, tt.err)
				}
				if st.Errors != 1 {
					t.Errorf("%d errors counted, want 1", st.Errors)
				}
			case tt.noCalls:
				if !e.NoCalls || e.Err != nil || e.Result != nil {
					t.Errorf("event %+v, want NoCalls", e)
				}
			default:
				if e.Err != nil || e.Result == nil || e.Result.Finding.Event.ID != tt.id {
					t.Errorf("event %+v, want the finding %s", e, tt.id)
				}
			}
		})
	}
}

// memTree is a bucket in memory: keys and their contents.
type memTree struct {
	bucket string
	files  map[string][]byte
	fail   map[string]error // List of these folders fails

	mu     sync.Mutex
	opened []string
}

func (m *memTree) List(_ context.Context, dir string) (dirs, files []string, err error) {
	if err := m.fail[dir]; err != nil {
		return nil, nil, err
	}
	keys := make([]string, 0, len(m.files))
	for k := range m.files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, dir)
		if !ok || rest == "" {
			continue
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			if d := dir + rest[:i+1]; len(dirs) == 0 || dirs[len(dirs)-1] != d {
				dirs = append(dirs, d)
			}
			continue
		}
		files = append(files, k)
	}
	return dirs, files, nil
}

func (m *memTree) Open(_ context.Context, file string) (io.ReadCloser, error) {
	data, ok := m.files[file]
	if !ok {
		return nil, fmt.Errorf("get %s: no such key", file)
	}
	m.mu.Lock()
	m.opened = append(m.opened, file)
	m.mu.Unlock()
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (m *memTree) Name(p string) string { return "s3://" + m.bucket + "/" + p }

// trees opens m for s3://BUCKET/PATH: PATH a folder, or one object when
// it is a key of m.
func (m *memTree) trees(_ context.Context, url string) (Tree, string, error) {
	rest, _ := strings.CutPrefix(url, "s3://")
	b, p, _ := strings.Cut(rest, "/")
	if b != m.bucket {
		return nil, "", fmt.Errorf("%s: no such bucket", url)
	}
	if _, ok := m.files[p]; !ok && p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return m, p, nil
}

func TestS3(t *testing.T) {
	t.Run("not in this build", func(t *testing.T) {
		events, st := run(t, &Scanner{}, "s3://bucket/AWSLogs/")
		if len(events) != 1 || events[0].Err == nil || events[0].Err.Error() != "S3 is not available in this build" ||
			events[0].Source != "s3://bucket/AWSLogs/" || !events[0].Named {
			t.Errorf("events %+v, want one error: S3 is not available in this build", events)
		}
		if st.Errors != 1 || st.Sources != 0 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("no bucket", func(t *testing.T) {
		m := &memTree{bucket: "trail-bucket", files: layout(t)}
		key := logKey("444455556666", "us-east-1", 26)
		events, st := run(t, &Scanner{S3: m.trees}, "s3://other-bucket/", "s3://trail-bucket/"+key)
		if len(events) != 2 || events[0].Err == nil || !strings.Contains(events[0].Err.Error(), "no such bucket") ||
			events[0].Source != "s3://other-bucket/" || !events[0].Named {
			t.Fatalf("events %+v, want an error naming the URL, then a finding", events)
		}
		// The next URL is read.
		if ids, _ := findings(t, events[1:]); !slices.Equal(ids, []string{eventID("444455556666", "us-east-1", 26)}) {
			t.Errorf("findings %q", ids)
		}
		if st.Errors != 1 || st.Sources != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	for _, c := range layoutCases {
		t.Run(c.name, func(t *testing.T) {
			m := &memTree{bucket: "trail-bucket", files: layout(t)}
			events, st := run(t, &Scanner{S3: m.trees, Filter: c.filter}, "s3://trail-bucket")
			checkLayout(t, c, events, st, func(key string) string { return "s3://trail-bucket/" + key })
			read, _ := c.want()
			sort.Strings(m.opened)
			if !slices.Equal(m.opened, read) {
				t.Errorf("opened\n%q\nwant\n%q", m.opened, read)
			}
		})
	}
	t.Run("prefix", func(t *testing.T) {
		m := &memTree{bucket: "trail-bucket", files: layout(t)}
		c := layoutCase{accounts: both[1:], regions: allRegion[1:], read: []int{25, 26}, kept: []int{25, 26}, filtered: 1 + 5}
		filter := Filter{Regions: []string{"us-east-1"}, Since: date("2026-11-25T00:00:00Z")}
		events, st := run(t, &Scanner{S3: m.trees, Filter: filter}, "s3://trail-bucket/AWSLogs/o-abc123defg/444455556666/CloudTrail")
		checkLayout(t, c, events, st, func(key string) string { return "s3://trail-bucket/" + key })
	})
	t.Run("object", func(t *testing.T) {
		m := &memTree{bucket: "trail-bucket", files: layout(t)}
		key := logKey("111122223333", "eu-west-1", 20)
		// Named: read although the filter rules its name out.
		events, st := run(t, &Scanner{S3: m.trees, Filter: Filter{Regions: []string{"us-east-1"}}}, "s3://trail-bucket/"+key)
		if len(events) != 0 || st.Sources != 1 || st.Calls != 1 || st.Findings != 0 {
			t.Errorf("events %+v, stats %+v", events, st)
		}
		events, _ = run(t, &Scanner{S3: m.trees}, "s3://trail-bucket/"+key)
		if ids, _ := findings(t, events); len(events) != 1 || !slices.Equal(ids, []string{eventID("111122223333", "eu-west-1", 20)}) ||
			events[0].Source != "s3://trail-bucket/"+key || !events[0].Named {
			t.Errorf("events %+v", events)
		}
	})
	t.Run("list error", func(t *testing.T) {
		denied := errors.New("access denied")
		m := &memTree{bucket: "trail-bucket", files: layout(t), fail: map[string]error{"AWSLogs/111122223333/": denied}}
		c := layoutCases[0]
		c.accounts, c.digests, c.notLog = both[1:], 1, 1
		events, st := run(t, &Scanner{S3: m.trees}, "s3://trail-bucket/")
		if len(events) == 0 || !errors.Is(events[0].Err, denied) || events[0].Source != "s3://trail-bucket/AWSLogs/111122223333/" || events[0].Named {
			t.Fatalf("first event %+v, want the listing's error", events[0])
		}
		if st.Errors != 1 {
			t.Errorf("%d errors, want 1", st.Errors)
		}
		st.Errors = 0
		checkLayout(t, c, events[1:], st, func(key string) string { return "s3://trail-bucket/" + key })
	})
}
