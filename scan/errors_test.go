package scan

import (
	"context"
	"strings"
	"testing"

	"github.com/sgwatch/sgwatch/pipeline"
	"github.com/sgwatch/sgwatch/report"
)

// TestNothingLostAfterBadValues: values that are not CloudTrail before a
// record do not keep it from being read; a source shows at most maxErrors
// errors and counts the rest.
func TestNothingLostAfterBadValues(t *testing.T) {
	rec := string(sgRecord(t, "after", "2026-11-20T12:00:00Z", "111122223333", "eu-west-1"))
	for _, c := range []struct {
		name, in string
		errs     int // error events shown
		counted  int64
	}{
		{"a list, then a record", "[]\n" + rec, 1, 1},
		{"a timestamp prefix", "2026-11-20 " + rec, 1, 1},
		{"words", strings.Repeat("word ", 25) + rec, maxErrors + 1, 25},
		{"duplicate Records", `{"Records":[],"Records":[` + rec + `]}`, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			sc := &Scanner{Pipeline: pipeline.Pipeline{Format: report.JSON}, Stdin: strings.NewReader(c.in)}
			var ids []string
			errs := 0
			last := ""
			st := sc.Run(context.Background(), []string{"-"}, func(e Event) {
				switch {
				case e.Err != nil:
					errs++
					last = e.Err.Error()
				case e.Result != nil:
					ids = append(ids, e.Result.Finding.Event.ID)
				}
			})
			if len(ids) != 1 || ids[0] != "after" {
				t.Errorf("findings %q, want the record after the bad values", ids)
			}
			if errs != c.errs || st.Errors != c.counted {
				t.Errorf("%d errors shown, %d counted; want %d and %d", errs, st.Errors, c.errs, c.counted)
			}
			if c.counted > maxErrors && last != "15 more errors in this source" {
				t.Errorf("last error %q", last)
			}
		})
	}
}

// TestEmptyLogIsAnError: CloudTrail never writes an empty log; one in a
// walked folder (empty, or gzip of nothing) is reported like a named one.
func TestEmptyLogIsAnError(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string][]byte{
		"111111111111_CloudTrail_us-east-1_20260801T1005Z_x.json.gz": {},
		"b.json.gz": gz(t, nil),
		"c.json":    logOf(sgRecord(t, "c", "2026-11-20T12:00:00Z", "111122223333", "eu-west-1")),
	})
	sc := &Scanner{Pipeline: pipeline.Pipeline{Format: report.JSON}}
	var errs []string
	found := 0
	sc.Run(context.Background(), []string{dir}, func(e Event) {
		if e.Err != nil {
			errs = append(errs, e.Err.Error())
		}
		if e.Result != nil {
			found++
		}
	})
	if len(errs) != 2 || !strings.Contains(errs[0], "empty input") || !strings.Contains(errs[1], "empty input") || found != 1 {
		t.Errorf("errors %q, %d findings; want two empty inputs and one finding", errs, found)
	}
}
