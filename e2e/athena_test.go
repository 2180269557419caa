//go:build e2e

package e2e

import (
	"bytes"
	"cmp"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/internal/samples"
	"github.com/sgwatch/sgwatch/scan"
)

// TestScanAthenaSQL is the meaning of issue 22's history query, executed
// for real: the query `sgwatch -format sql athena://…` prints (Athena's
// dialect, Trino) is transpiled by sqlglot to DuckDB and run over a table
// laid out as the CloudTrail table for Athena (e2e/testdata/athena_duckdb.py),
// loaded with every sample record (events/ and testdata/cloudtrail/), each
// in the partition of its account, Region and day, some a day late as
// CloudTrail may deliver them. For each set of -since, -until, -accounts
// and -regions it selects exactly the records for which the file scan
// (detect's parse and scan.Filter) reports a finding.
func TestScanAthenaSQL(t *testing.T) {
	python := filepath.Join(filepath.Dir(*motoBin), "python")
	files, err := samples.Files("..")
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Record    json.RawMessage `json:"record"`
		Account   string          `json:"account"`
		Region    string          `json:"region"`
		Timestamp string          `json:"timestamp"`
	}
	var rows []row
	var records [][]byte
	for i, f := range files {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, data) // as the file scan reads it
		var e struct {
			Account any             `json:"account"` // a string, or a sample's placeholder number
			Detail  json.RawMessage `json:"detail"`
		}
		if json.Unmarshal(data, &e) == nil && len(e.Detail) > 0 {
			data = e.Detail // an EventBridge event: its record
		}
		account, _ := e.Account.(string)
		var h struct {
			EventTime, AWSRegion, RecipientAccountID string
			UserIdentity                             struct{ AccountID string }
		}
		if err := json.Unmarshal(data, &h); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		// The account whose folder holds it: the scan's account of a
		// record (detect.Event.AccountID).
		h.RecipientAccountID = cmp.Or(h.RecipientAccountID, account, h.UserIdentity.AccountID)
		at, err := time.Parse(time.RFC3339, h.EventTime)
		if err != nil {
			// CloudTrail writes every eventTime in RFC 3339; a sample that
			// does not (a peer's normalised copy) is in no day's folder.
			records = records[:len(records)-1]
			continue
		}
		if i%3 == 0 {
			at = at.Add(scan.Late) // delivered the next day
		}
		rows = append(rows, row{Record: data, Account: h.RecipientAccountID, Region: h.AWSRegion, Timestamp: at.UTC().Format("2006/01/02")})
	}
	dir := t.TempDir()
	rowsFile := filepath.Join(dir, "rows.json")
	b, _ := json.Marshal(rows)
	if err := os.WriteFile(rowsFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// What the file scan reports of these records under a filter.
	reported := func(f scan.Filter) []string {
		var ids []string
		for _, rec := range records {
			batch, err := detect.Parse(rec, detect.Scoring{})
			if err != nil {
				continue
			}
			for _, fd := range batch.Findings {
				if f.Keep(fd) && !slices.Contains(ids, fd.Event.ID) {
					ids = append(ids, fd.Event.ID)
				}
			}
		}
		slices.Sort(ids)
		return ids
	}
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	var summary []string
	for _, c := range []struct {
		args   []string
		filter scan.Filter
	}{
		{nil, scan.Filter{}},
		{[]string{"-since", "2026-01-01"}, scan.Filter{Since: day("2026-01-01")}},
		{[]string{"-until", "2024-01-01"}, scan.Filter{Until: day("2024-01-01")}},
		{[]string{"-since", "2026-11-20", "-until", "2026-11-21"}, scan.Filter{Since: day("2026-11-20"), Until: day("2026-11-21")}},
		{[]string{"-regions", "eu-west-1,us-east-1"}, scan.Filter{Regions: []string{"eu-west-1", "us-east-1"}}},
		{[]string{"-accounts", "111122223333"}, scan.Filter{Accounts: []string{"111122223333"}}},
		{[]string{"-accounts", "111122223333", "-regions", "eu-west-1", "-since", "2026-11-01"}, scan.Filter{Accounts: []string{"111122223333"}, Regions: []string{"eu-west-1"}, Since: day("2026-11-01")}},
	} {
		code, sql, stderr := runCLI(t, nil, append(append([]string{"-format", "sql"}, c.args...), "athena://primary/cloudtrail.logs")...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, stderr)
		}
		queryFile := filepath.Join(dir, "query.sql")
		if err := os.WriteFile(queryFile, []byte(sql), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		cmd := exec.Command(python, "testdata/athena_duckdb.py", queryFile, rowsFile)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: DuckDB: %v\n%s\nquery:\n%s", c.args, err, errb.String(), sql)
		}
		got := strings.Fields(out.String())
		slices.Sort(got)
		got = slices.Compact(got)
		want := reported(c.filter)
		if !slices.Equal(got, want) {
			t.Errorf("%v: the query selects %d records, the file scan reports %d\nonly the query: %v\nonly the scan: %v",
				c.args, len(got), len(want), minus(got, want), minus(want, got))
		}
		summary = append(summary, strings.TrimSpace(strings.Join(c.args, " ")+" "+itoa(len(got))))
	}
	t.Logf("scan: athena: the history query, transpiled by sqlglot and run by DuckDB over %d sample records in the Athena layout, selects exactly what the file scan reports under %d filters (%s)",
		len(rows), len(summary), strings.Join(summary, "; "))
}

// minus is what a holds that b does not.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
