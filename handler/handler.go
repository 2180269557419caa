// Package handler is the Lambda side of sgwatch: it turns each invocation
// into the pipeline's work (package pipeline) and its deliveries, and maps
// what fails to Lambda's errors. An EventBridge event gives a notification
// per security-group change; a sweep request (package sweep) gives what
// changed in what is open to the internet. Whatever it cannot decode or
// deliver ends as an error, so Lambda retries the invocation and its
// dead-letter target keeps it.
package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/claim"
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/pipeline"
	"github.com/sgwatch/sgwatch/report"
	"github.com/sgwatch/sgwatch/revert"
	"github.com/sgwatch/sgwatch/sweep"
)

// Publisher is the part of the SNS client the handler uses.
type Publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Hub imports published findings into AWS Security Hub (package hub).
type Hub interface {
	Import(ctx context.Context, f detect.Finding, id string, c report.Caller) error
}

// Claims is the idempotency table (package claim): it lets a notification
// be published once however often its event is delivered.
type Claims interface {
	Claim(ctx context.Context, key string, now time.Time, stale time.Duration) (claim.State, error)
	Done(ctx context.Context, key string, now time.Time) error
	Release(ctx context.Context, key string) error
}

// Sweeps are what a handler needs to sweep: the listers of the targets,
// the memory, the idempotency claims of its findings, and the accounts of
// the organization.
type Sweeps struct {
	// Lister returns a target's lister (sweep.Clients.Lister).
	Lister func(ctx context.Context, t sweep.Target) (sweep.Lister, error)
	// Memory and Claims are the sweep's table (nil: none).
	Memory sweep.Memory
	Claims Claims
	// Accounts lists the organization's accounts (SWEEP_ACCOUNTS=organization).
	Accounts func(ctx context.Context) ([]string, error)
	// Queue sends the fan-out's messages (SWEEP_QUEUE_URL); nil for none.
	Queue sweep.Queue
	// History looks for the creators LookupEvents does not find
	// (HISTORY_SOURCE, in the sweep worker); nil for nowhere.
	History sweep.History
}

// Deps are what a handler works with, each given once, at construction.
// Only Log is required; a nil dependency is a feature turned off.
type Deps struct {
	// SNS publishes notifications; nil only under sam local without a
	// topic (Config.LocalOnly).
	SNS Publisher
	// Enricher adds live context to the findings that will be published.
	Enricher pipeline.Enricher
	// Accounts names the account of the findings that will be published.
	Accounts pipeline.AccountNamer
	// Claims publish each notification once.
	Claims Claims
	// Sweep answers sweep requests.
	Sweep *Sweeps
	// Hub imports each published finding into Security Hub.
	Hub Hub
	// Reverter reverts and schedules revert checks (REVERT); nil when
	// revert is off.
	Reverter Reverter
	// Log is where the handler's log lines go (JSON, one per line; every
	// attribute cleaned, package clean).
	Log io.Writer
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Out is where LocalOnly writes notifications; nil is os.Stdout.
	Out io.Writer
}

// Handler handles one invocation at a time.
type Handler struct {
	cfg Config
	d   Deps
	log *slog.Logger
}

// New returns a handler of cfg working with d.
func New(cfg Config, d Deps) *Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Out == nil {
		d.Out = os.Stdout
	}
	if d.Log == nil {
		d.Log = io.Discard
	}
	h := &Handler{cfg: cfg, d: d, log: slog.New(slog.NewJSONHandler(d.Log, &slog.HandlerOptions{ReplaceAttr: clean.Attr}))}
	if p := awsid.PartitionOf(cfg.Region); cfg.Region != "" && !p.Supported {
		h.log.Warn("this Region's partition is not one sgwatch is built and tested for: findings are published, but console links are left out and the template's features may be missing",
			"region", cfg.Region, "partition", p.ID)
	}
	return h
}

// deadlineMargin is kept back from the invocation deadline, so that a slow
// publish ends as a logged error rather than a killed invocation.
const deadlineMargin = 500 * time.Millisecond

// Handle decodes the event and publishes a notification for each finding in
// it. An event that is not a security-group change is logged and succeeds;
// an undecodable event and a failed publish are errors.
func (h *Handler) Handle(ctx context.Context, event json.RawMessage) (err error) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("panic while handling event", "panic", fmt.Sprint(p), "stack", stack())
			err = &InternalError{fmt.Errorf("%v", p)}
		}
	}()
	if c, ok, err := revert.ParseCheck(event); ok {
		ctx, cancel, stale := h.budget(ctx, eventBudget)
		defer cancel()
		if err != nil {
			h.log.Error("cannot decode revert check", "error", err, "bytes", len(event))
			return &DecodeError{err}
		}
		return h.check(ctx, c, stale)
	}
	req, isSweep, err := sweep.ParseRequest(event)
	// A claim on the idempotency table older than stale belongs to an
	// invocation that died. An event is handled within eventBudget (or the
	// invocation's deadline, if sooner), so that Lambda's first retry, a
	// minute later, takes over the claim of one that died; a sweep has the
	// whole invocation.
	limit := eventBudget
	if isSweep {
		limit = 0
	}
	ctx, cancel, stale := h.budget(ctx, limit)
	defer cancel()

	switch {
	case err != nil:
		h.log.Error("cannot decode sweep request", "error", err, "bytes", len(event))
		return &DecodeError{err}
	case isSweep:
		return h.runSweep(ctx, req, stale)
	}

	p := h.pipeline(h.enricher())
	p.Self, _ = functionAccount(ctx, h.cfg.TopicARN)
	out, err := p.Run(ctx, event)
	if err != nil {
		h.log.Error("cannot decode event", "error", err, "bytes", len(event))
		return &DecodeError{err}
	}
	if len(out.Results) == 0 {
		h.log.Info("not a security-group change; nothing published", "eventName", out.Other.Name, "eventSource", out.Other.Source)
		return nil
	}
	var errs []error
	for i, r := range out.Results {
		f := r.Finding
		switch publish, err := h.decided(r); {
		case err != nil:
			errs = append(errs, fmt.Errorf("event %s: %w", clean.Line(f.Event.ID, 128), err))
		case publish:
			if err := h.deliverEvent(ctx, claimKey(f, i, event), r, stale); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return failed(errs)
}

// pipeline is the handler's pipeline, with enricher (nil for none: the
// sweep's findings carry their own live context).
func (h *Handler) pipeline(enricher pipeline.Enricher) pipeline.Pipeline {
	return pipeline.Pipeline{Policy: h.cfg.Policy, Format: h.cfg.Format, Enricher: enricher, Accounts: h.d.Accounts, Now: h.d.Now}
}

// decided logs what the pipeline decided for r and reports whether to
// publish it; the error is a notification that could not be rendered.
func (h *Handler) decided(r pipeline.Result) (publish bool, err error) {
	f := r.Finding
	switch {
	case !r.Decision.Publish:
		h.log.Info("not published", append(logFields(f), "reason", r.Decision.Why)...)
		return false, nil
	case r.Err != nil:
		h.log.Error("cannot render notification", append(logFields(f), "error", r.Err)...)
		return false, r.Err
	case r.Decision.Why != "":
		// Published although the configuration would have held it back
		// (a critical or root change): say so.
		h.log.Warn("configuration overridden", append(logFields(f), "reason", r.Decision.Why)...)
	}
	return true, nil
}

// logFields identify a finding in the log.
func logFields(f detect.Finding) []any {
	fields := []any{"eventId", f.Event.ID, "eventName", f.Event.Name, "action", f.Action, "outcome", f.Outcome,
		"severity", f.Severity, "securityGroupId", f.SecurityGroup.ID}
	if f.Automation != "" {
		fields = append(fields, "automation", f.Automation)
	}
	if f.Sweep != nil {
		fields = append(fields, "accountId", f.Event.AccountID, "region", f.Event.Region, "ruleKey", f.Sweep.Key)
	}
	return fields
}

// stack is the stack of a panic, a line a frame.
func stack() []string { return strings.Split(strings.TrimSpace(string(debug.Stack())), "\n") }

// budget is the context of one piece of work: the invocation's deadline,
// or limit from now if that is sooner (0: no limit), less deadlineMargin;
// and the age after which a claim on the idempotency table is stale (the
// work's time, defaultStale with no deadline).
func (h *Handler) budget(ctx context.Context, limit time.Duration) (context.Context, context.CancelFunc, time.Duration) {
	dl, ok := ctx.Deadline()
	if end := h.d.Now().Add(limit); limit > 0 && (!ok || end.Before(dl)) {
		dl, ok = end, true
	}
	if !ok {
		return ctx, func() {}, defaultStale
	}
	stale := dl.Sub(h.d.Now())
	ctx, cancel := context.WithDeadline(ctx, dl.Add(-deadlineMargin))
	return ctx, cancel, stale
}

// Invoke is the entry point for lambda.Start. It takes the payload as it
// arrives, so that a payload that is not JSON reaches Handle and fails as a
// DecodeError that says what is wrong, rather than as the runtime library's
// bare "unexpected EOF". The function has no response body.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if batch, ok, err := h.targetBatch(payload); ok {
		return h.sweepBatch(ctx, batch)
	} else if err != nil {
		// An SQS batch this function does not consume: an error, so that
		// it is retried and kept, never deleted as handled.
		h.log.Error("an SQS batch that is not the sweep's", "error", err.Error(), "bytes", len(payload))
		return nil, &DecodeError{err}
	}
	return nil, h.Handle(ctx, payload)
}
