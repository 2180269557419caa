package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/sgwatch/sgwatch/detect"
)

// TestSummaryIsBounded: however many findings, a summary keeps at most
// summaryKeys values per table and summaryList listed findings, and says
// how many more there were.
func TestSummaryIsBounded(t *testing.T) {
	var s Summary
	n := summaryKeys + 500
	for i := range n {
		f := detect.Finding{Severity: detect.Critical, Action: detect.Modify,
			Event: detect.Event{ID: fmt.Sprint(i), Time: "2026-11-20T10:00:00Z", AccountID: "111122223333", Region: "eu-west-1"},
			Actor: detect.Actor{ARN: fmt.Sprintf("arn:aws:iam::111122223333:user/u%d", i)}}
		s.Add(f, "[CRITICAL] x")
	}
	if len(s.counts[4]) != summaryKeys+1 || s.counts[4][summaryOthers] != 500 {
		t.Errorf("actors: %d keys, %d in %q; want %d and 500", len(s.counts[4]), s.counts[4][summaryOthers], summaryOthers, summaryKeys+1)
	}
	if len(s.critical) != summaryList || s.more != n-summaryList {
		t.Errorf("listed %d, more %d; want %d and %d", len(s.critical), s.more, summaryList, n-summaryList)
	}
	var out bytes.Buffer
	if err := s.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{fmt.Sprintf("critical and high (%d)", n), fmt.Sprintf("and %d more, not listed", n-summaryList), fmt.Sprintf("%d findings\n", n)} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}
