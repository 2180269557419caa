// Package handler is the Lambda side of sgwatch: it reads its configuration,
// turns each EventBridge event into findings, and publishes one SNS
// notification per finding. Whatever it cannot decode or publish ends as an
// error, so Lambda retries the event and its dead-letter target keeps it.
package handler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"

	"github.com/sgwatch/sgwatch/once"
	"github.com/sgwatch/sgwatch/pipeline"
	"github.com/sgwatch/sgwatch/policy"
	"github.com/sgwatch/sgwatch/report"
	"github.com/sgwatch/sgwatch/sweep"
)

// Publisher is the part of the SNS client the handler uses.
type Publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Enricher adds live context to a finding before it is published (see
// pipeline.Enricher).
type Enricher = pipeline.Enricher

// AccountNamer names the account a finding happened in (see
// pipeline.AccountNamer).
type AccountNamer = pipeline.AccountNamer

// Hub imports published findings into AWS Security Hub (package hub).
type Hub interface {
	Import(ctx context.Context, f detect.Finding, id string, c report.Caller) error
}

// Once is the idempotency table (package once): it lets a notification be
// published once however often its event is delivered.
type Once interface {
	Claim(ctx context.Context, key string, now time.Time, stale time.Duration) (once.State, error)
	Done(ctx context.Context, key string, now time.Time) error
	Release(ctx context.Context, key string) error
}

// Config is the function's configuration, from its environment.
type Config struct {
	TopicARN string        // SNS_TOPIC_ARN, required
	Format   report.Format // NOTIFICATION_FORMAT: text (default) or json
	Policy   policy.Policy // EXTRA_SENSITIVE_PORTS, TRUSTED_*, SUPPRESS, MIN_SEVERITY
	Enrich   bool          // ENRICH: true to look up live context (default false)
	// AccountNames is ACCOUNT_NAMES: true to look the account's name up in
	// AWS Organizations (default false).
	AccountNames bool
	// IdempotencyTable is IDEMPOTENCY_TABLE: the DynamoDB table that makes
	// each notification published once; "" for none.
	IdempotencyTable string
	// LocalOnly is true under "sam local" (AWS_SAM_LOCAL=true) when
	// SNS_TOPIC_ARN is not a topic ARN (SAM's unresolved logical id): each
	// notification is written to the log instead of published, and no AWS
	// call is made (no live context or account name either).
	LocalOnly bool
	// Sweep configures the exposure sweep (SWEEP, SWEEP_*).
	Sweep SweepConfig
	// SecurityHub is SECURITY_HUB: true to import each published finding
	// into AWS Security Hub (default false).
	SecurityHub bool
}

// ConfigFromEnv reads the configuration through getenv (os.Getenv in
// production) at time now (time.Now, which bounds SUPPRESS rules) and
// reports the first variable that is missing or wrong.
func ConfigFromEnv(getenv func(string) string, now time.Time) (Config, error) {
	var c Config
	topic := strings.TrimSpace(getenv("SNS_TOPIC_ARN"))
	a, err := arn.Parse(topic)
	switch {
	case err == nil && a.Service == "sns" && a.Region != "" && a.AccountID != "" && a.Resource != "" && !strings.Contains(a.Resource, ":"):
	case getenv("AWS_SAM_LOCAL") == "true":
		c.LocalOnly = true
	case topic == "":
		return c, errors.New("SNS_TOPIC_ARN is not set: set it to the ARN of the topic to publish to")
	default:
		return c, fmt.Errorf("SNS_TOPIC_ARN %q is not an SNS topic ARN (want arn:aws:sns:REGION:ACCOUNT:TOPIC)", clean.Line(topic, 256))
	}
	c.TopicARN = topic
	if c.Format, err = report.ParseFormat(getenv("NOTIFICATION_FORMAT")); err != nil {
		return c, fmt.Errorf("NOTIFICATION_FORMAT: %w", err)
	}
	if c.Policy, err = policy.FromEnv(getenv, now); err != nil {
		return c, err
	}
	if c.Enrich, err = boolEnv(getenv, "ENRICH"); err != nil {
		return c, err
	}
	if c.AccountNames, err = boolEnv(getenv, "ACCOUNT_NAMES"); err != nil {
		return c, err
	}
	c.IdempotencyTable = strings.TrimSpace(getenv("IDEMPOTENCY_TABLE"))
	if t := c.IdempotencyTable; t != "" && !tableName.MatchString(t) {
		return c, fmt.Errorf("IDEMPOTENCY_TABLE %q is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)", clean.Line(t, 64))
	}
	if c.Sweep, err = sweepFromEnv(getenv); err != nil {
		return c, err
	}
	if c.SecurityHub, err = boolEnv(getenv, "SECURITY_HUB"); err != nil {
		return c, err
	}
	if c.LocalOnly { // sam local makes no AWS call
		c.Enrich, c.AccountNames, c.SecurityHub = false, false, false
	}
	if getenv("AWS_SAM_LOCAL") == "true" {
		// sam local creates no table (the variable holds its logical id).
		c.IdempotencyTable, c.Sweep.Table = "", ""
	}
	return c, nil
}

var tableName = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)

// boolEnv reads a true/false variable, any case, empty for false.
func boolEnv(getenv func(string) string, name string) (bool, error) {
	switch v := strings.ToLower(strings.TrimSpace(getenv(name))); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, fmt.Errorf("%s %q: want true or false", name, clean.Line(v, 64))
	}
}

// Handler handles one EventBridge event per invocation.
type Handler struct {
	cfg      Config
	sns      Publisher
	enrich   Enricher     // nil: no live context
	accounts AccountNamer // nil: no account names
	once     Once         // nil: no idempotency table
	sweeps   *Sweeps      // nil: no sweep
	hub      Hub          // nil: no Security Hub
	log      *slog.Logger
	now      func() time.Time
	out      io.Writer // where LocalOnly writes notifications
}

// New returns a handler that publishes with p and logs to log.
func New(cfg Config, p Publisher, log *slog.Logger) *Handler {
	return &Handler{cfg: cfg, sns: p, log: log, now: time.Now, out: os.Stdout}
}

// WithEnricher makes h add e's live context to every finding it publishes.
func (h *Handler) WithEnricher(e Enricher) *Handler {
	h.enrich = e
	return h
}

// WithAccountNames makes h name the account of every finding it publishes
// with n.
func (h *Handler) WithAccountNames(n AccountNamer) *Handler {
	h.accounts = n
	return h
}

// WithHub makes h import every finding it publishes into Security Hub
// with hb.
func (h *Handler) WithHub(hb Hub) *Handler {
	h.hub = hb
	return h
}

// WithOnce makes h publish each notification once, with o recording what
// it published.
func (h *Handler) WithOnce(o Once) *Handler {
	h.once = o
	return h
}

// The errors Handle returns. Lambda reports an error's type name as its
// errorType, so failed invocations can be told apart in logs and in the
// failure queue: DecodeError (the event is malformed; retrying will not help),
// PublishError (SNS did not take the notification), ImportError (Security
// Hub did not take a finding whose notification was published; the retry
// imports it and publishes nothing again), InternalError (a bug).
type (
	DecodeError   struct{ Err error }
	PublishError  struct{ Err error }
	ImportError   struct{ Err error }
	InternalError struct{ Err error }
)

func (e *DecodeError) Error() string  { return "decode event: " + e.Err.Error() }
func (e *DecodeError) Unwrap() error  { return e.Err }
func (e *PublishError) Error() string { return e.Err.Error() }
func (e *PublishError) Unwrap() error { return e.Err }
func (e *ImportError) Error() string  { return e.Err.Error() }
func (e *ImportError) Unwrap() error  { return e.Err }
func (e *InternalError) Error() string {
	return "internal error while handling event: " + e.Err.Error()
}
func (e *InternalError) Unwrap() error { return e.Err }

// deadlineMargin is kept back from the invocation deadline, so that a slow
// publish ends as a logged error rather than a killed invocation.
const deadlineMargin = 500 * time.Millisecond

// Handle decodes the event and publishes a notification for each finding in
// it. An event that is not a security-group change is logged and succeeds;
// an undecodable event and a failed publish are errors.
func (h *Handler) Handle(ctx context.Context, event json.RawMessage) (err error) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("panic while handling event", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = &InternalError{fmt.Errorf("%v", p)}
		}
	}()
	req, isSweep, err := sweep.ParseRequest(event)
	// A claim on the idempotency table older than stale belongs to an
	// invocation that died. An event is handled within eventBudget (or the
	// invocation's deadline, if sooner), so that Lambda's first retry, a
	// minute later, takes over the claim of one that died; a sweep has the
	// whole invocation.
	stale := defaultStale
	dl, hasDeadline := ctx.Deadline()
	if budget := h.now().Add(eventBudget); !isSweep && (!hasDeadline || budget.Before(dl)) {
		dl, hasDeadline = budget, true
	}
	if hasDeadline {
		stale = dl.Sub(h.now())
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-deadlineMargin))
		defer cancel()
	}

	switch {
	case err != nil:
		h.log.Error("cannot decode sweep request", "error", clean.Line(err.Error(), 1024), "bytes", len(event))
		return &DecodeError{err}
	case isSweep:
		return h.runSweep(ctx, req, stale)
	}

	p := pipeline.Pipeline{Policy: h.cfg.Policy, Format: h.cfg.Format, Enricher: h.enrich, Accounts: h.accounts, Now: h.now}
	out, err := p.Run(ctx, event)
	if err != nil {
		h.log.Error("cannot decode event", "error", clean.Line(err.Error(), 1024), "bytes", len(event))
		return &DecodeError{err}
	}
	if len(out.Results) == 0 {
		h.log.Info("not a security-group change; nothing published",
			"eventName", clean.Line(out.Other.Name, 128), "eventSource", clean.Line(out.Other.Source, 128))
		return nil
	}
	var errs []error
	for i, r := range out.Results {
		f := r.Finding
		switch publish, err := h.decided(r); {
		case err != nil:
			errs = append(errs, fmt.Errorf("event %s: %w", clean.Line(f.Event.ID, 128), err))
		case publish:
			key := onceKey(f, i, event)
			if err := h.deliver(ctx, h.once, key, key, f, r.Notification, stale); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return failed(errs)
}

// decided logs what the pipeline decided for r and reports whether to
// publish it; the error is a notification that could not be rendered.
func (h *Handler) decided(r pipeline.Result) (publish bool, err error) {
	f := r.Finding
	switch {
	case !r.Decision.Publish:
		h.log.Info("not published", append(logFields(f), "reason", clean.Line(r.Decision.Why, 512))...)
		return false, nil
	case r.Err != nil:
		h.log.Error("cannot render notification", append(logFields(f), "error", clean.Line(r.Err.Error(), 1024))...)
		return false, r.Err
	case r.Decision.Why != "":
		// Published although the configuration would have held it back
		// (a critical or root change): say so.
		h.log.Warn("configuration overridden", append(logFields(f), "reason", clean.Line(r.Decision.Why, 512))...)
	}
	return true, nil
}

// failed is the error of an invocation whose deliveries failed with errs:
// an ImportError when only Security Hub failed, else a PublishError.
func failed(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	for _, err := range errs {
		var ie *ImportError
		if !errors.As(err, &ie) {
			return &PublishError{errors.Join(errs...)}
		}
	}
	return &ImportError{errors.Join(errs...)}
}

// deliver publishes n once (key) and imports f into Security Hub (id), when
// the deployment does. A failed import is an ImportError, so that Lambda
// retries the invocation, which then publishes nothing again and imports;
// unless the idempotency table does not record the publish (none, or
// unreachable), when a retry would publish the notification again: then
// the failure is only logged.
func (h *Handler) deliver(ctx context.Context, o Once, key, id string, f detect.Finding, n report.Notification, stale time.Duration) error {
	recorded, err := h.publishOnce(ctx, o, key, f, n, stale)
	if err != nil || h.hub == nil || h.cfg.LocalOnly {
		return err
	}
	err = h.importFinding(ctx, f, id)
	switch {
	case err == nil:
		return nil
	case !recorded:
		h.log.Error("cannot import into Security Hub; not retried, as the idempotency table does not record the publish and a retry would publish the notification again",
			append(logFields(f), "error", clean.Line(err.Error(), 1024))...)
		return nil
	}
	h.log.Error("cannot import into Security Hub; failing so that Lambda retries (the notification is not published again)",
		append(logFields(f), "error", clean.Line(err.Error(), 1024))...)
	return &ImportError{err}
}

// importFinding imports f into Security Hub under id. A panic in the sink
// is an error: it must not stop the notifications.
func (h *Handler) importFinding(ctx context.Context, f detect.Finding, id string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("panic while importing into Security Hub", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic while importing into Security Hub: %v", p)
		}
	}()
	account, partition := functionAccount(ctx, h.cfg.TopicARN)
	if err := h.hub.Import(ctx, f, id, report.Caller{Account: account, Partition: partition, Region: os.Getenv("AWS_REGION")}); err != nil {
		return fmt.Errorf("import %s finding %s into Security Hub: %w", f.Severity, clean.Line(id, 256), err)
	}
	h.log.Info("imported into Security Hub", logFields(f)...)
	return nil
}

// eventBudget bounds the handling of one event: its claims go stale, and
// it stops publishing, this long after it starts. Lambda retries a failed
// invocation a minute later at the soonest, so the retry of one that died
// finds its claims stale and publishes.
const eventBudget = 30 * time.Second

// defaultStale is the stale time of a sweep's claims when the invocation
// has no deadline (not under Lambda).
const defaultStale = eventBudget

// publishOnce publishes n unless the idempotency table says it was. An
// unreachable table does not stop the publish (a duplicate is better than a
// silence); a failed publish releases the claim, so the retry publishes.
// recorded reports whether the table holds the notification as published,
// so that a retry will not publish it again.
func (h *Handler) publishOnce(ctx context.Context, o Once, key string, f detect.Finding, n report.Notification, stale time.Duration) (recorded bool, err error) {
	if o == nil || h.cfg.LocalOnly {
		return false, h.publish(ctx, f, n)
	}
	st, err := o.Claim(ctx, key, h.now(), stale)
	switch {
	case err != nil:
		h.log.Warn("idempotency table unavailable; publishing anyway", append(logFields(f), "error", clean.Line(err.Error(), 1024))...)
		return false, h.publish(ctx, f, n)
	case st == once.Published:
		h.log.Info("already published; not published again", logFields(f)...)
		return true, nil
	case st == once.Busy:
		h.log.Warn("another invocation is publishing this finding; failing so that Lambda retries", logFields(f)...)
		return false, fmt.Errorf("%s finding for event %s: another invocation claimed it less than %s ago; retry", f.Severity, clean.Line(f.Event.ID, 128), stale.Round(time.Second))
	}
	if err := h.publish(ctx, f, n); err != nil {
		if rerr := o.Release(ctx, key); rerr != nil {
			h.log.Error("cannot release the idempotency claim; a retry waits until it is stale", append(logFields(f), "error", clean.Line(rerr.Error(), 1024))...)
		}
		return false, err
	}
	if err := o.Done(ctx, key, h.now()); err != nil {
		h.log.Warn("cannot mark the finding published; a retry would publish it again", append(logFields(f), "error", clean.Line(err.Error(), 1024))...)
		return false, nil
	}
	return true, nil
}

// onceKey is a finding's key in the idempotency table: its event's id and
// its place among the event's findings. An event without a usable id is
// keyed by a hash of its bytes.
func onceKey(f detect.Finding, i int, event []byte) string {
	id := f.Event.ID
	if id == "" || len(id) > 256 || strings.ContainsAny(id, "/\x00") {
		sum := sha256.Sum256(event)
		id = "sha256:" + hex.EncodeToString(sum[:])
	}
	return fmt.Sprintf("event/%s/%d", id, i)
}

func (h *Handler) publish(ctx context.Context, f detect.Finding, n report.Notification) error {
	if h.cfg.LocalOnly {
		return h.writeLocal(f, n)
	}
	id := clean.Line(f.Event.ID, 128)
	in := &sns.PublishInput{
		TopicArn:          aws.String(h.cfg.TopicARN),
		Subject:           aws.String(n.Subject),
		Message:           aws.String(n.Body),
		MessageAttributes: make(map[string]types.MessageAttributeValue, len(n.Attributes)),
	}
	for _, a := range n.Attributes {
		in.MessageAttributes[a.Name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(a.Value)}
	}
	out, err := h.sns.Publish(ctx, in)
	if err != nil {
		h.log.Error("publish failed", append(logFields(f), "error", clean.Line(err.Error(), 1024))...)
		return fmt.Errorf("publish %s finding for event %s: %w", f.Severity, id, err)
	}
	h.log.Info("published", append(logFields(f), "messageId", aws.ToString(out.MessageId))...)
	return nil
}

// logFields identify a finding in the log, its text cleaned.
func logFields(f detect.Finding) []any {
	fields := []any{"eventId", clean.Line(f.Event.ID, 128), "eventName", clean.Line(f.Event.Name, 64),
		"action", f.Action, "outcome", f.Outcome, "severity", f.Severity,
		"securityGroupId", clean.Line(f.SecurityGroup.ID, 64)}
	if f.Automation != "" {
		fields = append(fields, "automation", clean.Line(f.Automation, 256))
	}
	if f.Sweep != nil {
		fields = append(fields, "accountId", clean.Line(f.Event.AccountID, 16), "region", clean.Line(f.Event.Region, 32), "ruleKey", clean.Line(f.Sweep.Key, 64))
	}
	return fields
}

// Invoke is the entry point for lambda.Start. It takes the payload as it
// arrives, so that a payload that is not JSON reaches Handle and fails as a
// DecodeError that says what is wrong, rather than as the runtime library's
// bare "unexpected EOF". The function has no response body.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return nil, h.Handle(ctx, payload)
}
