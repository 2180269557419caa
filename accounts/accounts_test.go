package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"
)

// fakeOrgs answers DescribeAccount from names, or with err; block makes a
// call wait for its context, gate for gate to close.
type fakeOrgs struct {
	names map[string]string
	err   error
	block bool
	gate  chan struct{}

	mu    sync.Mutex
	calls map[string]int
}

func (f *fakeOrgs) DescribeAccount(ctx context.Context, in *organizations.DescribeAccountInput, _ ...func(*organizations.Options)) (*organizations.DescribeAccountOutput, error) {
	id := aws.ToString(in.AccountId)
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[id]++
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return nil, fmt.Errorf("operation error Organizations: DescribeAccount: %w", ctx.Err())
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	return &organizations.DescribeAccountOutput{Account: &types.Account{Id: in.AccountId, Name: aws.String(f.names[id])}}, nil
}

func (f *fakeOrgs) count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id]
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func withClock(n *Names) *clock {
	c := &clock{t: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	n.now = c.now
	return c
}

const member = "111111111111"

func TestNameIsCached(t *testing.T) {
	fake := &fakeOrgs{names: map[string]string{member: "prod-payments"}}
	n := newFor(fake)
	clk := withClock(n)
	for i := range 2 {
		name, note := n.AccountName(context.Background(), member)
		if name != "prod-payments" || note != "" {
			t.Fatalf("lookup %d: %q, %q", i, name, note)
		}
		clk.add(TTL / 2)
	}
	if got := fake.count(member); got != 1 {
		t.Errorf("%d calls within the TTL, want 1", got)
	}
	// After the TTL the name is looked up again: a renamed account shows
	// its new name.
	fake.names[member] = "prod-payments-eu"
	if name, _ := n.AccountName(context.Background(), member); name != "prod-payments-eu" || fake.count(member) != 2 {
		t.Errorf("after the TTL: %q, %d calls", name, fake.count(member))
	}
}

// TestConcurrentLookups: lookups of one account at the same time make one
// call and all get its answer; other accounts are looked up on their own.
func TestConcurrentLookups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ids := []string{"111111111111", "222222222222", "333333333333"}
		fake := &fakeOrgs{names: map[string]string{}, gate: make(chan struct{})}
		for i, id := range ids {
			fake.names[id] = fmt.Sprintf("account-%d", i)
		}
		n := newFor(fake)
		var wg sync.WaitGroup
		var wrong atomic.Int32
		for i := range 60 {
			wg.Go(func() {
				id := ids[i%len(ids)]
				if name, note := n.AccountName(context.Background(), id); name != fake.names[id] || note != "" {
					wrong.Add(1)
				}
			})
		}
		// Every lookup waits: on the fake, one per account, or on the
		// pending answer of its account. Then the fake answers.
		synctest.Wait()
		close(fake.gate)
		wg.Wait()
		if wrong.Load() != 0 {
			t.Errorf("%d lookups got another answer", wrong.Load())
		}
		for _, id := range ids {
			if got := fake.count(id); got != 1 {
				t.Errorf("%s: %d calls, want 1", id, got)
			}
		}
	})
}

// TestTimeout: a lookup that does not answer gives up after the timeout
// with a note, and is not cached.
func TestTimeout(t *testing.T) {
	fake := &fakeOrgs{block: true}
	n := newFor(fake)
	n.timeout = 50 * time.Millisecond
	start := time.Now()
	name, note := n.AccountName(context.Background(), member)
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %v with a timeout of %v", took, n.timeout)
	}
	if name != "" || note != "account name: DescribeAccount timed out" {
		t.Errorf("%q, %q", name, note)
	}
	n.AccountName(context.Background(), member)
	if fake.count(member) != 2 {
		t.Errorf("%d calls: a timeout was cached", fake.count(member))
	}
}

// TestWaiterTimesOut: a lookup waiting for another one's answer gives up
// after its own timeout too.
func TestWaiterTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeOrgs{names: map[string]string{member: "x"}, gate: make(chan struct{})}
		defer close(fake.gate)
		n := newFor(fake)
		n.timeout = 50 * time.Millisecond
		go n.AccountName(context.Background(), member)
		synctest.Wait() // the first lookup waits on the fake
		if name, note := n.AccountName(context.Background(), member); name != "" || !strings.Contains(note, "timed out") {
			t.Errorf("%q, %q", name, note)
		}
		if fake.count(member) != 1 {
			t.Errorf("%d calls, want 1 (the waiter shares the pending one)", fake.count(member))
		}
	})
}

// TestDenied: the first denial is a note that says where names can be
// looked up; then nothing is looked up or noted until the pause ends.
func TestDenied(t *testing.T) {
	for _, err := range []error{
		&types.AccessDeniedException{Message: aws.String("You don't have permissions to access this resource.")},
		&smithy.GenericAPIError{Code: "AccessDeniedException", Message: "denied"},
		&types.AWSOrganizationsNotInUseException{Message: aws.String("Your account is not a member of an organization.")},
	} {
		t.Run(fmt.Sprintf("%T", err), func(t *testing.T) {
			fake := &fakeOrgs{err: fmt.Errorf("operation error Organizations: DescribeAccount: %w", err)}
			n := newFor(fake)
			clk := withClock(n)
			name, note := n.AccountName(context.Background(), member)
			if name != "" || !strings.HasPrefix(note, "account name: DescribeAccount denied (") ||
				!strings.Contains(note, "the management account or a delegated administrator") || !strings.Contains(note, "next 15 minutes") {
				t.Fatalf("%q, %q", name, note)
			}
			for _, id := range []string{member, "222222222222"} {
				if name, note := n.AccountName(context.Background(), id); name != "" || note != "" {
					t.Errorf("after a denial %s: %q, %q, want nothing", id, name, note)
				}
			}
			if fake.count(member) != 1 || fake.count("222222222222") != 0 {
				t.Errorf("calls %v during the pause", fake.calls)
			}
			clk.add(DeniedPause)
			fake.err = nil
			fake.names = map[string]string{member: "prod"}
			if name, _ := n.AccountName(context.Background(), member); name != "prod" {
				t.Errorf("after the pause: %q", name)
			}
		})
	}
}

// TestNotInOrganization: an account the organization does not have is
// noted, and that answer is cached like a name.
func TestNotInOrganization(t *testing.T) {
	fake := &fakeOrgs{err: &types.AccountNotFoundException{Message: aws.String("not found")}}
	n := newFor(fake)
	for range 2 {
		name, note := n.AccountName(context.Background(), member)
		if name != "" || note != "account name: account 111111111111 is not in the organization (AccountNotFoundException)" {
			t.Errorf("%q, %q", name, note)
		}
	}
	if fake.count(member) != 1 {
		t.Errorf("%d calls, want 1", fake.count(member))
	}
}

// TestOtherErrors are notes with the error, and are not cached.
func TestOtherErrors(t *testing.T) {
	fake := &fakeOrgs{err: &types.TooManyRequestsException{Message: aws.String("slow down")}}
	n := newFor(fake)
	name, note := n.AccountName(context.Background(), member)
	if name != "" || note != "account name: DescribeAccount failed: TooManyRequestsException: slow down" {
		t.Errorf("%q, %q", name, note)
	}
	fake.err = errors.New("dial tcp: connection refused")
	if _, note := n.AccountName(context.Background(), member); note != "account name: DescribeAccount failed: dial tcp: connection refused" {
		t.Errorf("note %q", note)
	}
	if fake.count(member) != 2 {
		t.Errorf("%d calls: a failure was cached", fake.count(member))
	}
}

// TestLazyAndNoAccountID: the client is built on the first lookup, once,
// and never for an account id that is not one (which gets a note).
func TestLazyAndNoAccountID(t *testing.T) {
	var built atomic.Int32
	fake := &fakeOrgs{names: map[string]string{member: "prod"}}
	n := New(func() Organizations { built.Add(1); return fake })
	for _, bad := range []string{"", "12345", "11111111111x", "111111111111\n"} {
		if name, note := n.AccountName(context.Background(), bad); name != "" || note != "account name: the event names no 12-digit account id to look up" {
			t.Errorf("%q: %q, %q", bad, name, note)
		}
	}
	if built.Load() != 0 {
		t.Fatal("client built without a lookup")
	}
	for _, id := range []string{member, "222222222222", member} {
		n.AccountName(context.Background(), id)
	}
	if built.Load() != 1 {
		t.Errorf("client built %d times, want 1", built.Load())
	}
}

// TestCacheIsBounded: a full cache drops its expired answers first, and
// all its answers if none has expired.
func TestCacheIsBounded(t *testing.T) {
	fake := &fakeOrgs{names: map[string]string{}}
	n := newFor(fake)
	clk := withClock(n)
	for i := range maxCached {
		n.AccountName(context.Background(), fmt.Sprintf("%012d", i))
		if i == maxCached/2 {
			clk.add(TTL) // the first half expire
		}
	}
	n.AccountName(context.Background(), "999999999999")
	if got := len(n.cache); got != maxCached/2 {
		t.Errorf("%d cached after dropping the expired ones, want %d", got, maxCached/2)
	}
	for i := range maxCached {
		n.AccountName(context.Background(), fmt.Sprintf("9%011d", i))
	}
	if got := len(n.cache); got > maxCached {
		t.Errorf("%d cached, more than %d", got, maxCached)
	}
}

// newFor is New with a client that is already built.
func newFor(c Organizations) *Names { return New(func() Organizations { return c }) }
