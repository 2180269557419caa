package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/sgwatch/sgwatch/detect"
)

// summaryOf writes s.
func summaryOf(t *testing.T, s *Summary) string {
	t.Helper()
	var out bytes.Buffer
	if err := s.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// listedLines are the lines under "critical and high".
func listedLines(out string) []string {
	_, list, _ := strings.Cut(out, "\ncritical and high (")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	return lines[1:]
}

// duplicate is the failed authorize of events/authorize-ingress-duplicate
// (high, nothing changed) as call i of a run: its own event id and time.
func duplicate(t *testing.T, i int) detect.Finding {
	if dup.Event.ID == "" {
		dup = eventFinding(t, "authorize-ingress-duplicate")
	}
	f := dup
	f.Event.ID = fmt.Sprintf("%08x-5c1e-4d6b-9a2f-3e4b5c6d7e8f", i)
	f.Event.Time = fmt.Sprintf("2026-11-20T10:%02d:%02dZ", i/60%60, i%60)
	return f
}

var dup detect.Finding // read once

// TestSummaryIsBounded: however many findings, a summary keeps at most
// summaryKeys values per table and summaryList lines per tier, and says
// how many more there were.
func TestSummaryIsBounded(t *testing.T) {
	var s Summary
	n := summaryKeys + 500
	for i := range n {
		f := detect.Finding{Severity: detect.Critical, Action: detect.Modify, Outcome: detect.Succeeded,
			Event: detect.Event{ID: fmt.Sprint(i), Time: "2026-11-20T10:00:00Z", AccountID: "111122223333", Region: "eu-west-1"},
			Actor: detect.Actor{ARN: fmt.Sprintf("arn:aws:iam::111122223333:user/u%d", i)}}
		s.Add(f, "[CRITICAL] x")
	}
	if len(s.counts[4]) != summaryKeys+1 || s.counts[4][summaryOthers] != 500 {
		t.Errorf("actors: %d keys, %d in %q; want %d and 500", len(s.counts[4]), s.counts[4][summaryOthers], summaryOthers, summaryKeys+1)
	}
	if c := s.tiers[0]; len(c.rows) != summaryList || c.more != n-summaryList {
		t.Errorf("listed %d, more %d; want %d and %d", len(c.rows), c.more, summaryList, n-summaryList)
	}
	// Distinct failed calls: each its own line, up to the cap, and the
	// index of identical calls never outgrows the lines.
	for i := range n {
		f := duplicate(t, i)
		f.Actor.ARN = fmt.Sprintf("arn:aws:iam::111122223333:user/u%d", i)
		s.Add(f, "[HIGH] y")
	}
	if h := s.tiers[3]; len(h.rows) != summaryList || len(h.byKey) != summaryList || h.more != n-summaryList {
		t.Errorf("failed calls: %d lines, %d keys, %d more; want %d, %d and %d", len(h.rows), len(h.byKey), h.more, summaryList, summaryList, n-summaryList)
	}
	out := summaryOf(t, &s)
	for _, want := range []string{fmt.Sprintf("critical and high (%d)", 2*n),
		fmt.Sprintf("and %s more critical findings, not listed", thousands(n-summaryList)),
		fmt.Sprintf("and %s more high findings of calls that changed nothing, not listed", thousands(n-summaryList)),
		fmt.Sprintf("%d findings\n", 2*n)} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

// TestSummaryCriticalNotBuried: 1,000 failed InvalidPermission.Duplicate
// calls (each high, each changing nothing) read before one succeeded
// world-SSH authorize: the critical change is the first line listed, and
// the failures are one line with their count and time span. Once the
// 1,000 failures took every line and the critical change was "1 more".
func TestSummaryCriticalNotBuried(t *testing.T) {
	var s Summary
	for i := range 1000 {
		f := duplicate(t, i)
		s.Add(f, subject(f))
	}
	crit := eventFinding(t, "authorize-ingress-world-ssh")
	crit.Event.Time = "2026-11-20T10:20:00Z"
	if crit.Severity != detect.Critical {
		t.Fatalf("the world-SSH sample is %s", crit.Severity)
	}
	s.Add(crit, subject(crit))
	out := summaryOf(t, &s)
	lines := listedLines(out)
	if len(lines) != 2 {
		t.Fatalf("want 2 lines listed, got %d:\n%s", len(lines), out)
	}
	if !strings.Contains(lines[0], "[CRITICAL] sg-0a1b2c3d4e5f60718 modified by ops-admin") || !strings.Contains(lines[0], crit.Event.ID) {
		t.Errorf("first line is not the critical change: %q", lines[0])
	}
	want := "  2026-11-20T10:00:00Z  [HIGH] sg-0a1b2c3d4e5f60718 modify FAILED by ops-admin in 111122223333/eu-west-1  event 00000000-5c1e-4d6b-9a2f-3e4b5c6d7e8f" +
		"  (1,000 identical calls, Client.InvalidPermission.Duplicate, the last at 2026-11-20T10:16:39Z)"
	if lines[1] != want {
		t.Errorf("failures line\n got %q\nwant %q", lines[1], want)
	}
	if !strings.Contains(out, "critical and high (1001)") || strings.Contains(out, "more") {
		t.Errorf("summary:\n%s", out)
	}
}

// TestSummaryNeverDropsCritical: with every line of the high findings
// taken, by changes and by failed calls, critical changes read after them
// are still listed, and first; a change is never displaced by failures.
func TestSummaryNeverDropsCritical(t *testing.T) {
	var s Summary
	high := eventFinding(t, "authorize-ingress-duplicate")
	high.Outcome, high.Error = detect.Succeeded, nil
	for i := range summaryList + 10 {
		f := high
		f.Event.ID, f.Event.Time = fmt.Sprint("h", i), "2026-11-20T09:00:00Z"
		s.Add(f, "[HIGH] change")
		g := duplicate(t, i)
		g.Rules = append([]detect.Rule(nil), g.Rules...)
		g.Rules[0].Description = fmt.Sprint("try ", i) // each call distinct
		s.Add(g, "[HIGH] failed")
	}
	late := eventFinding(t, "authorize-ingress-world-ssh")
	late.Event.Time = "2026-11-20T23:00:00Z"
	s.Add(late, "[CRITICAL] late")
	// Critical before trusted automation lowered it: listed with the critical.
	lowered := late
	lowered.Event.ID, lowered.Event.Time = "lowered", "2026-11-20T23:30:00Z"
	lowered.Severity, lowered.SeverityBeforeAutomation = detect.High, detect.Critical
	s.Add(lowered, "[HIGH] lowered")
	out := summaryOf(t, &s)
	lines := listedLines(out)
	if !strings.Contains(lines[0], "[CRITICAL] late") || !strings.Contains(lines[1], "[HIGH] lowered") {
		t.Errorf("first lines %q, want the critical change, then the one automation lowered", lines[:2])
	}
	for _, want := range []string{"and 10 more high findings, not listed", "and 10 more high findings of calls that changed nothing, not listed"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

// TestSummaryIdenticalCalls: which calls that changed nothing share a line.
func TestSummaryIdenticalCalls(t *testing.T) {
	cases := []struct {
		name   string
		change func(*detect.Finding)
		same   bool
	}{
		{"another time, event, request, address, agent and message", func(f *detect.Finding) {
			f.Event.RequestID, f.Actor.SourceIP, f.Actor.UserAgent = "r2", "203.0.113.9", "Boto3/1.34.0"
			f.Error = &detect.CallError{Code: f.Error.Code, Message: "another message"}
		}, true},
		{"another actor", func(f *detect.Finding) { f.Actor.ARN = "arn:aws:sts::111122223333:assumed-role/Admin/eve" }, false},
		{"another group", func(f *detect.Finding) { f.SecurityGroup.ID = "sg-0ffffffffffffffff" }, false},
		{"another port", func(f *detect.Finding) {
			f.Rules = append([]detect.Rule(nil), f.Rules...)
			p := 3389
			f.Rules[0].FromPort, f.Rules[0].ToPort = &p, &p
		}, false},
		{"another error code", func(f *detect.Finding) { f.Error = &detect.CallError{Code: "Client.InvalidGroup.NotFound"} }, false},
		{"another Region", func(f *detect.Finding) { f.Event.Region = "us-east-1" }, false},
		{"a change", func(f *detect.Finding) { f.Outcome, f.Error = detect.Succeeded, nil }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s Summary
			a, b := duplicate(t, 1), duplicate(t, 2)
			c.change(&b)
			s.Add(a, subject(a))
			s.Add(b, subject(b))
			lines := listedLines(summaryOf(t, &s))
			if got := len(lines) == 1; got != c.same {
				t.Errorf("%d lines, want one: %v\n%s", len(lines), c.same, strings.Join(lines, "\n"))
			}
		})
	}
}
