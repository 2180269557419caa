// Package accounts names the AWS account a finding happened in
// (ACCOUNT_NAMES=true), with organizations:DescribeAccount. AWS
// Organizations answers only in the organization's management account and
// in a delegated administrator account, so that is where a deployment that
// names accounts runs.
//
// A lookup never holds a notification back. It has its own short timeout
// (Timeout), and when it fails the finding gets a note instead of a name.
// Names are cached for as long as the Lambda container lives, up to TTL,
// and concurrent lookups of one account make one call. When Organizations
// denies the lookup (the function does not run where Organizations answers,
// or lacks the permission), that lookup's finding says so, and then no
// lookup is made, and nothing is noted, for DeniedPause: every finding in
// between would say the same.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/smithy-go"

	"github.com/sgwatch/sgwatch/awsid"
)

// Organizations is the part of the AWS Organizations client the lookup
// uses.
type Organizations interface {
	DescribeAccount(ctx context.Context, in *organizations.DescribeAccountInput, opts ...func(*organizations.Options)) (*organizations.DescribeAccountOutput, error)
}

const (
	// Timeout bounds one lookup, retry included. It runs while EC2's
	// live context is looked up (2 s), so it adds no time of its own.
	Timeout = time.Second
	// TTL is how long an answer is kept: a name, or that the organization
	// has no such account. A renamed account shows its new name within
	// TTL; a container rarely lives much longer.
	TTL = time.Hour
	// DeniedPause is how long after a denial no lookup is made, so a
	// permission granted later is used within it.
	DeniedPause = 15 * time.Minute
	// maxCached bounds the cache: more accounts than an organization has
	// by default (10 can be raised to thousands), few enough to be small.
	maxCached = 10_000
)

// notePrefix starts every note the lookup adds to a finding.
const notePrefix = "account name: "

// Names looks account names up and caches them. It is safe for concurrent
// use.
type Names struct {
	client  func() Organizations // built on first use
	timeout time.Duration
	ttl     time.Duration
	pause   time.Duration
	now     func() time.Time

	mu          sync.Mutex
	cache       map[string]*entry
	deniedUntil time.Time
}

// entry is the answer for one account, or a lookup still running.
type entry struct {
	ready   chan struct{} // closed once name and note are set
	name    string
	note    string
	expires time.Time // set under Names.mu when the answer is kept
}

// New returns Names that build their client with newClient when they
// first need one, and only then: a cold start builds no Organizations
// client, and neither does a finding whose account id is not valid.
// newClient is called at most once, and must not return nil.
func New(newClient func() Organizations) *Names {
	return newNames(sync.OnceValue(newClient))
}

func newNames(client func() Organizations) *Names {
	return &Names{client: client, timeout: Timeout, ttl: TTL, pause: DeniedPause, now: time.Now, cache: map[string]*entry{}}
}

// NewOrganizations builds the Organizations client from the AWS
// configuration main loads (AWS_ENDPOINT_URL_ORGANIZATIONS for a local
// endpoint), retrying at most once: the timeout matters more than a second
// retry. Organizations is a global service: the SDK sends its calls to the
// partition's endpoint (us-east-1 for aws) from any Region.
func NewOrganizations(cfg aws.Config) *organizations.Client {
	return organizations.NewFromConfig(cfg, func(o *organizations.Options) { o.RetryMaxAttempts = 2 })
}

// AccountName returns the name of account id in the organization, or "" and
// a note saying why there is none (both "" while a denial pauses lookups).
// It returns within the timeout, however the lookup fares.
func (n *Names) AccountName(ctx context.Context, id string) (name, note string) {
	if !awsid.IsAccountID(id) {
		return "", notePrefix + "the event names no 12-digit account id to look up"
	}
	n.mu.Lock()
	now := n.now()
	if now.Before(n.deniedUntil) {
		n.mu.Unlock()
		return "", ""
	}
	if e, ok := n.cache[id]; ok && (e.expires.IsZero() || now.Before(e.expires)) {
		n.mu.Unlock() // answered, or being looked up: share it
		return n.wait(ctx, e)
	}
	if len(n.cache) >= maxCached {
		n.evict(now)
	}
	e := &entry{ready: make(chan struct{})}
	n.cache[id] = e
	n.mu.Unlock()

	r := n.lookup(ctx, id)
	e.name, e.note = r.name, r.note

	n.mu.Lock()
	switch {
	case r.keep:
		e.expires = n.now().Add(n.ttl)
	case n.cache[id] == e:
		delete(n.cache, id) // the next finding tries again
	}
	if r.denied {
		n.deniedUntil = n.now().Add(n.pause)
	}
	n.mu.Unlock()
	close(e.ready)
	return e.name, e.note
}

// wait returns the answer of e, waiting for it at most the timeout.
func (n *Names) wait(ctx context.Context, e *entry) (string, string) {
	select {
	case <-e.ready: // the common case: answered, no timer needed
		return e.name, e.note
	default:
	}
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	select {
	case <-e.ready:
		return e.name, e.note
	case <-ctx.Done():
		return "", notePrefix + "DescribeAccount timed out"
	}
}

// evict drops the expired answers, and every answer if none had expired:
// the cache stays bounded, and is refilled from what findings need.
// Lookups still running stay. n.mu is held.
func (n *Names) evict(now time.Time) {
	before := len(n.cache)
	for id, e := range n.cache {
		if !e.expires.IsZero() && !now.Before(e.expires) {
			delete(n.cache, id)
		}
	}
	if len(n.cache) < before {
		return
	}
	for id, e := range n.cache {
		if !e.expires.IsZero() {
			delete(n.cache, id)
		}
	}
}

// result is what one DescribeAccount call says.
type result struct {
	name, note string
	keep       bool // cache the answer for TTL
	denied     bool // pause lookups for DeniedPause
}

// The error codes Organizations answers with when this account may not
// look accounts up.
var deniedCodes = map[string]bool{
	"AccessDeniedException":             true, // no permission, or not the management or a delegated administrator account
	"AWSOrganizationsNotInUseException": true, // this account is in no organization
}

func (n *Names) lookup(ctx context.Context, id string) result {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	out, err := n.client().DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(id)})
	var api smithy.APIError
	switch {
	case err == nil:
		var name string
		if out.Account != nil {
			name = aws.ToString(out.Account.Name)
		}
		return result{name: name, keep: true}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return result{note: notePrefix + "DescribeAccount timed out"}
	case !errors.As(err, &api):
		return result{note: notePrefix + "DescribeAccount failed: " + err.Error()}
	case api.ErrorCode() == "AccountNotFoundException":
		return result{note: notePrefix + "account " + id + " is not in the organization (AccountNotFoundException)", keep: true}
	case deniedCodes[api.ErrorCode()]:
		return result{note: notePrefix + "DescribeAccount denied (" + api.ErrorCode() + ": " + api.ErrorMessage() +
			"): names are looked up only where Organizations answers (the management account or a delegated administrator) with organizations:DescribeAccount; no lookup for the next " +
			fmt.Sprintf("%g minutes", n.pause.Minutes()), denied: true}
	}
	return result{note: notePrefix + "DescribeAccount failed: " + api.ErrorCode() + ": " + api.ErrorMessage()}
}
