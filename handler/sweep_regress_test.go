package handler

// Regression tests of the exposure sweep: each reproduces a problem a
// red-team review of issue 12 found (now fixed), and fails if it returns.

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/once"
	"github.com/sgwatch/sgwatch/report"
	"github.com/sgwatch/sgwatch/sweep"
)

// rtMemory is the sweep's memory in the table, with its version check.
type rtMemory struct {
	mu      sync.Mutex
	data    map[string][]byte
	version map[string]int64
}

func (m *rtMemory) Recall(_ context.Context, scope string) ([]byte, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data[scope], m.version[scope], nil
}

func (m *rtMemory) Remember(_ context.Context, scope string, data []byte, version int64, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.version[scope] != version {
		return once.ErrConflict
	}
	m.data[scope], m.version[scope] = data, version+1
	return nil
}

// rtLister lists one group whose world SSH rule can be opened and closed.
type rtLister struct {
	mu   sync.Mutex
	open bool
}

func (l *rtLister) Groups(context.Context) ([]sweep.Group, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := sweep.Group{SecurityGroup: detect.SecurityGroup{ID: "sg-00000000000000001"}}
	if l.open {
		n := func(v int32) *int32 { return &v }
		g.Rules = []detect.Rule{sweep.Listed{ID: "sgr-00000000000000011", Protocol: "tcp", FromPort: n(22), ToPort: n(22), CIDRIPv4: "0.0.0.0/0"}.Rule()}
	}
	return []sweep.Group{g}, nil
}

func (l *rtLister) Events(context.Context, string, int) ([][]byte, error) { return [][]byte{}, nil }

// TestRegressReusedSweepID: the claims are keyed by the sweep's id alone.
// A request whose id repeats an earlier sweep's (a bare or constant-id
// manual request, whose id becomes the same digest every time, or a
// payload redriven from FailedInvocationQueue as the README says to) finds
// the earlier sweep's claim "published" for a rule that was resolved and
// re-opened since. The handler then counts the exposure as published and
// the sweep remembers it: the re-opened world SSH rule is never notified.
func TestRegressReusedSweepID(t *testing.T) {
	for name, first := range map[string]string{
		"bare manual request": `{"sgwatch":"sweep"}`,
		"redriven payload":    sweepPayload,
	} {
		t.Run(name, func(t *testing.T) {
			pub := &lockedSNS{}
			h, _ := newHandler(t, report.Text, pub)
			h.cfg.Sweep = SweepConfig{Enabled: true}
			l := &rtLister{open: true}
			h.WithSweeps(Sweeps{Lister: func(context.Context, sweep.Target) (sweep.Lister, error) { return l, nil },
				Memory: &rtMemory{data: map[string][]byte{}, version: map[string]int64{}}, Once: newFakeOnce()})
			t.Setenv("AWS_REGION", "eu-west-1")
			run := func(payload string) []string {
				t.Helper()
				if err := h.Handle(context.Background(), []byte(payload)); err != nil {
					t.Fatal(err)
				}
				return pub.subjects()
			}
			if got := run(first); len(got) != 1 || !strings.HasPrefix(got[0], "[CRITICAL]") {
				t.Fatalf("first sweep: %q", got)
			}
			l.open = false
			if got := run(`{"sgwatch":"sweep","id":"exec-2"}`); len(got) != 1 || !strings.HasPrefix(got[0], "[INFO]") {
				t.Fatalf("after the revoke: %q", got)
			}
			l.open = true // opened again
			got := run(first)
			got = append(got, run(`{"sgwatch":"sweep","id":"exec-3"}`)...)
			if len(got) != 1 || !strings.HasPrefix(got[0], "[CRITICAL]") {
				t.Errorf("the re-opened world SSH rule: published %q, want it once", got)
			}
		})
	}
}

// rtRootLister lists one group whose world tcp/443 rule the root user
// created (LookupEvents has the record), and can close it.
type rtRootLister struct {
	rtLister
	record []byte
}

func (l *rtRootLister) Groups(context.Context) ([]sweep.Group, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := sweep.Group{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718"}}
	if l.open {
		n := func(v int32) *int32 { return &v }
		g.Rules = []detect.Rule{sweep.Listed{ID: "sgr-0c0ffee0c0ffee001", Protocol: "tcp", FromPort: n(443), ToPort: n(443), CIDRIPv4: "0.0.0.0/0"}.Rule()}
	}
	return []sweep.Group{g}, nil
}

func (l *rtRootLister) Events(context.Context, string, int) ([][]byte, error) {
	return [][]byte{l.record}, nil
}

// TestRegressRootExposureResolution: "a resolution reaches whoever its
// exposure reached" holds only for MIN_SEVERITY. An exposure published
// because it can never be suppressed (made by the root user, or critical
// before trusted automation lowered it) is remembered with its lowered or
// plain severity, and its resolution is then held back by MIN_SEVERITY:
// the responders who got "[HIGH] … exposes tcp/443" never hear it closed.
func TestRegressRootExposureResolution(t *testing.T) {
	data := event(t, "authorize-ingress-world-ssh")
	rec := string(data)
	rec = rec[strings.Index(rec, `"detail": {`)+len(`"detail": `):]
	rec = rec[:strings.LastIndex(rec, "}")] // the bare CloudTrail record
	rec = strings.ReplaceAll(rec, `"fromPort": 22`, `"fromPort": 443`)
	rec = strings.ReplaceAll(rec, `"toPort": 22`, `"toPort": 443`)
	i, j := strings.Index(rec, `"userIdentity"`), strings.Index(rec, `"eventTime"`)
	rec = rec[:i] + `"userIdentity": {"type": "Root", "principalId": "111122223333", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"}, ` + rec[j:]

	pub := &lockedSNS{}
	h, _ := newHandler(t, report.Text, pub)
	h.cfg.Sweep = SweepConfig{Enabled: true}
	h.cfg.Policy.MinSeverity = detect.Critical
	l := &rtRootLister{rtLister: rtLister{open: true}, record: []byte(rec)}
	h.WithSweeps(Sweeps{Lister: func(context.Context, sweep.Target) (sweep.Lister, error) { return l, nil },
		Memory: &rtMemory{data: map[string][]byte{}, version: map[string]int64{}}, Once: newFakeOnce()})
	t.Setenv("AWS_REGION", "eu-west-1")
	if err := h.Handle(context.Background(), []byte(`{"sgwatch":"sweep","id":"exec-1"}`)); err != nil {
		t.Fatal(err)
	}
	if got := pub.subjects(); len(got) != 1 || !strings.HasPrefix(got[0], "[HIGH]") {
		t.Fatalf("the root user's world 443 rule: published %q, want it (root is never suppressed)", got)
	}
	l.open = false
	if err := h.Handle(context.Background(), []byte(`{"sgwatch":"sweep","id":"exec-2"}`)); err != nil {
		t.Fatal(err)
	}
	if got := pub.subjects(); len(got) != 1 || !strings.HasPrefix(got[0], "[INFO]") {
		t.Errorf("its resolution: published %q; the exposure reached the responders, its end did not", got)
	}
}
