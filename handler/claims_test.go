package handler

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/claim"
	"github.com/sgwatch/sgwatch/report"
)

// fakeOnce is an idempotency table in memory, with the semantics of
// once.Table: a claim holds until Done or Release, and goes stale.
type fakeOnce struct {
	mu      sync.Mutex
	claimed map[string]time.Time
	done    map[string]bool
	err     error // every call fails with it
	calls   []string
}

func newFakeOnce() *fakeOnce {
	return &fakeOnce{claimed: map[string]time.Time{}, done: map[string]bool{}}
}

func (f *fakeOnce) Claim(_ context.Context, key string, now time.Time, stale time.Duration) (claim.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "claim "+key)
	switch {
	case f.err != nil:
		return claim.Claimed, f.err
	case f.done[key]:
		return claim.Published, nil
	}
	if at, ok := f.claimed[key]; ok && at.After(now.Add(-stale)) {
		return claim.Busy, nil
	}
	f.claimed[key] = now
	return claim.Claimed, nil
}

func (f *fakeOnce) Done(_ context.Context, key string, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "done "+key)
	if f.err != nil {
		return f.err
	}
	f.done[key] = true
	return nil
}

func (f *fakeOnce) Release(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "release "+key)
	if f.err != nil {
		return f.err
	}
	delete(f.claimed, key)
	return nil
}

// TestPublishedOnce: the same event delivered three times publishes once.
func TestPublishedOnce(t *testing.T) {
	pub := &fakeSNS{}
	h, logs := newHandler(t, report.Text, pub)
	o := newFakeOnce()
	h = with(h, func(d *Deps) { d.Claims = o })
	ev := event(t, "authorize-ingress-world-ssh")
	for i := range 3 {
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
	if len(pub.got) != 1 {
		t.Fatalf("%d publishes, want 1", len(pub.got))
	}
	key := "event/00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f/0"
	want := []string{"claim " + key, "done " + key, "claim " + key, "claim " + key}
	if strings.Join(o.calls, ",") != strings.Join(want, ",") {
		t.Errorf("table calls %q, want %q", o.calls, want)
	}
	if n := strings.Count(logs.String(), "already published; not published again"); n != 2 {
		t.Errorf("%d already-published log lines, want 2:\n%s", n, logs)
	}
}

// TestFailedPublishIsRetried: a publish that fails releases the claim, so
// the retry publishes; after it, nothing more.
func TestFailedPublishIsRetried(t *testing.T) {
	pub := &fakeSNS{err: errors.New("InternalError")}
	h, _ := newHandler(t, report.Text, pub)
	o := newFakeOnce()
	h = with(h, func(d *Deps) { d.Claims = o })
	ev := event(t, "authorize-ingress-world-ssh")
	var pe *PublishError
	if err := h.Handle(context.Background(), ev); !errors.As(err, &pe) {
		t.Fatalf("first attempt: %v, want a PublishError", err)
	}
	pub.err = nil
	for i := range 2 {
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatalf("retry %d: %v", i+1, err)
		}
	}
	if len(pub.got) != 2 { // the failed attempt and the one retry
		t.Errorf("%d publish attempts, want 2", len(pub.got))
	}
}

// TestTableUnavailable: when the table cannot be reached, the function
// still publishes (every time) and logs why.
func TestTableUnavailable(t *testing.T) {
	pub := &fakeSNS{}
	h, logs := newHandler(t, report.Text, pub)
	o := newFakeOnce()
	o.err = errors.New("dial tcp: connection refused")
	h = with(h, func(d *Deps) { d.Claims = o })
	ev := event(t, "authorize-ingress-world-ssh")
	for range 2 {
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if len(pub.got) != 2 {
		t.Errorf("%d publishes, want 2 (a duplicate is better than a silence)", len(pub.got))
	}
	if !strings.Contains(logs.String(), `"msg":"idempotency table unavailable; publishing anyway"`) ||
		!strings.Contains(logs.String(), "connection refused") {
		t.Errorf("log does not say why:\n%s", logs)
	}
}

// TestClaimedElsewhere: a claim younger than the stale time fails the
// invocation (Lambda retries it); an older one is taken over.
func TestClaimedElsewhere(t *testing.T) {
	pub := &fakeSNS{}
	h, _ := newHandler(t, report.Text, pub)
	o := newFakeOnce()
	h = with(h, func(d *Deps) { d.Claims = o })
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	h = with(h, func(d *Deps) { d.Now = func() time.Time { return now } })
	key := "event/00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f/0"
	o.claimed[key] = now.Add(-10 * time.Second) // another invocation, 10 s ago
	ev := event(t, "authorize-ingress-world-ssh")
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(30*time.Second))
	defer cancel()
	err := h.Handle(ctx, ev)
	if err == nil || !strings.Contains(err.Error(), "another invocation claimed it less than 30s ago; retry") || len(pub.got) != 0 {
		t.Fatalf("fresh claim: %v, %d publishes; want a retryable error and none", err, len(pub.got))
	}
	now = now.Add(25 * time.Second) // the claim is 35 s old: its invocation died
	ctx2, cancel2 := context.WithDeadline(context.Background(), now.Add(30*time.Second))
	defer cancel2()
	if err := h.Handle(ctx2, ev); err != nil || len(pub.got) != 1 {
		t.Fatalf("stale claim: %v, %d publishes; want it taken over", err, len(pub.got))
	}
}

// TestOnceKey: a finding's key is its event id and place; an event without
// a usable id is keyed by its bytes.
func TestOnceKey(t *testing.T) {
	h, _ := newHandler(t, report.Text, &fakeSNS{})
	o := newFakeOnce()
	h = with(h, func(d *Deps) { d.Claims = o })
	for _, ev := range []string{
		`{"detail":{"eventSource":"ec2.amazonaws.com","eventName":"DeleteSecurityGroup","requestParameters":{"groupId":"sg-1"}}}`,
		`{"detail":{"eventID":"a/b","eventSource":"ec2.amazonaws.com","eventName":"DeleteSecurityGroup","requestParameters":{"groupId":"sg-2"}}}`,
	} {
		if err := h.Handle(context.Background(), []byte(ev)); err != nil {
			t.Fatal(err)
		}
	}
	if len(o.calls) != 4 || !strings.HasPrefix(o.calls[0], "claim event/sha256:") || !strings.HasPrefix(o.calls[2], "claim event/sha256:") || o.calls[0] == o.calls[2] {
		t.Errorf("keys %q", o.calls)
	}
}

// TestIdempotencyTableConfig: IDEMPOTENCY_TABLE is a table name, and sam
// local (which makes no AWS call) ignores it.
func TestIdempotencyTableConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := ConfigFromEnv(env(map[string]string{"SNS_TOPIC_ARN": topic, "IDEMPOTENCY_TABLE": "sgwatch-Idempotency-1A2B"}), time.Now())
	if err != nil || c.IdempotencyTable != "sgwatch-Idempotency-1A2B" {
		t.Errorf("%+v, %v", c, err)
	}
	if _, err := ConfigFromEnv(env(map[string]string{"SNS_TOPIC_ARN": topic, "IDEMPOTENCY_TABLE": "arn:aws:dynamodb:x"}), time.Now()); err == nil ||
		!strings.Contains(err.Error(), "IDEMPOTENCY_TABLE") {
		t.Errorf("an ARN is not a table name: %v", err)
	}
	c, err = ConfigFromEnv(env(map[string]string{"SNS_TOPIC_ARN": "Topic", "AWS_SAM_LOCAL": "true", "IDEMPOTENCY_TABLE": "IdempotencyTable"}), time.Now())
	if err != nil || c.IdempotencyTable != "" {
		t.Errorf("sam local: %+v, %v", c, err)
	}
}

// TestEventBudget: under the template's 300 s timeout an event is still
// handled within eventBudget, so a claim of a dead invocation is stale by
// Lambda's first retry, a minute later.
func TestEventBudget(t *testing.T) {
	pub := &fakeSNS{}
	h, _ := newHandler(t, report.Text, pub)
	o := newFakeOnce()
	h = with(h, func(d *Deps) { d.Claims = o })
	start := time.Now()
	h = with(h, func(d *Deps) { d.Now = func() time.Time { return start } })
	key := "event/00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f/0"
	o.claimed[key] = start.Add(-60 * time.Second) // the invocation that died, a minute ago
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(300*time.Second))
	defer cancel()
	if err := h.Handle(ctx, event(t, "authorize-ingress-world-ssh")); err != nil || len(pub.got) != 1 {
		t.Fatalf("retry a minute later: %v, %d publishes; want the claim taken over", err, len(pub.got))
	}
	if want := start.Add(eventBudget - deadlineMargin); !pub.deadline.Equal(want) {
		t.Errorf("publish deadline %v, want %v (the event's budget, not the invocation's 300 s)", pub.deadline, want)
	}
}
