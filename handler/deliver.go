package handler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/claim"
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/report"
)

// eventBudget bounds the handling of one event: its claims go stale, and
// it stops publishing, this long after it starts. Lambda retries a failed
// invocation a minute later at the soonest, so the retry of one that died
// finds its claims stale and publishes.
const eventBudget = 30 * time.Second

// defaultStale is the stale time of a sweep's claims when the invocation
// has no deadline (not under Lambda).
const defaultStale = eventBudget

// deliver publishes n once (key) and imports f into Security Hub (id), when
// the deployment does. A failed import is an ImportError, so that Lambda
// retries the invocation, which then publishes nothing again and imports;
// unless the idempotency table does not record the publish (none, or
// unreachable), when a retry would publish the notification again: then
// the failure is only logged.
func (h *Handler) deliver(ctx context.Context, c Claims, key, id string, f detect.Finding, n report.Notification, stale time.Duration) error {
	recorded, err := h.publishOnce(ctx, c, key, f, n, stale)
	if err != nil || h.d.Hub == nil || h.cfg.LocalOnly {
		return err
	}
	err = h.importFinding(ctx, f, id)
	switch {
	case err == nil:
		return nil
	case !recorded:
		h.log.Error("cannot import into Security Hub; not retried, as the idempotency table does not record the publish and a retry would publish the notification again",
			append(logFields(f), "error", err)...)
		return nil
	}
	h.log.Error("cannot import into Security Hub; failing so that Lambda retries (the notification is not published again)",
		append(logFields(f), "error", err)...)
	return &ImportError{err}
}

// importFinding imports f into Security Hub under id. A panic in the sink
// is an error: it must not stop the notifications.
func (h *Handler) importFinding(ctx context.Context, f detect.Finding, id string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("panic while importing into Security Hub", "panic", fmt.Sprint(p), "stack", stack())
			err = fmt.Errorf("panic while importing into Security Hub: %v", p)
		}
	}()
	account, partition := functionAccount(ctx, h.cfg.TopicARN)
	if err := h.d.Hub.Import(ctx, f, id, report.Caller{Account: account, Partition: partition, Region: h.cfg.Region}); err != nil {
		return fmt.Errorf("import %s finding %s into Security Hub: %w", f.Severity, clean.Line(id, 256), err)
	}
	h.log.Info("imported into Security Hub", logFields(f)...)
	return nil
}

// publishOnce publishes n unless the idempotency table says it was. An
// unreachable table does not stop the publish (a duplicate is better than a
// silence); a failed publish releases the claim, so the retry publishes.
// recorded reports whether the table holds the notification as published,
// so that a retry will not publish it again.
func (h *Handler) publishOnce(ctx context.Context, c Claims, key string, f detect.Finding, n report.Notification, stale time.Duration) (recorded bool, err error) {
	if c == nil || h.cfg.LocalOnly {
		return false, h.publish(ctx, f, n)
	}
	st, err := c.Claim(ctx, key, h.d.Now(), stale)
	switch {
	case err != nil:
		h.log.Warn("idempotency table unavailable; publishing anyway", append(logFields(f), "error", err)...)
		return false, h.publish(ctx, f, n)
	case st == claim.Published:
		h.log.Info("already published; not published again", logFields(f)...)
		return true, nil
	case st == claim.Busy:
		h.log.Warn("another invocation is publishing this finding; failing so that Lambda retries", logFields(f)...)
		return false, fmt.Errorf("%s finding for event %s: another invocation claimed it less than %s ago; retry", f.Severity, clean.Line(f.Event.ID, 128), stale.Round(time.Second))
	}
	if err := h.publish(ctx, f, n); err != nil {
		if rerr := c.Release(ctx, key); rerr != nil {
			h.log.Error("cannot release the idempotency claim; a retry waits until it is stale", append(logFields(f), "error", rerr)...)
		}
		return false, err
	}
	if err := c.Done(ctx, key, h.d.Now()); err != nil {
		h.log.Warn("cannot mark the finding published; a retry would publish it again", append(logFields(f), "error", err)...)
		return false, nil
	}
	return true, nil
}

// claimKey is a finding's key in the idempotency table: its event's id and
// its place among the event's findings. An event without a usable id is
// keyed by a hash of its bytes.
func claimKey(f detect.Finding, i int, event []byte) string {
	id := f.Event.ID
	if id == "" || len(id) > 256 || strings.ContainsAny(id, "/\x00") {
		sum := sha256.Sum256(event)
		id = "sha256:" + hex.EncodeToString(sum[:])
	}
	return fmt.Sprintf("event/%s/%d", id, i)
}

// publish sends n to the topic (or, under sam local without one, to Out).
func (h *Handler) publish(ctx context.Context, f detect.Finding, n report.Notification) error {
	if h.cfg.LocalOnly {
		return h.writeLocal(f, n)
	}
	in := &sns.PublishInput{
		TopicArn:          aws.String(h.cfg.TopicARN),
		Subject:           aws.String(n.Subject),
		Message:           aws.String(n.Body),
		MessageAttributes: make(map[string]types.MessageAttributeValue, len(n.Attributes)),
	}
	for _, a := range n.Attributes {
		in.MessageAttributes[a.Name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(a.Value)}
	}
	out, err := h.d.SNS.Publish(ctx, in)
	if err != nil {
		h.log.Error("publish failed", append(logFields(f), "error", err)...)
		return fmt.Errorf("publish %s finding for event %s: %w", f.Severity, clean.Line(f.Event.ID, 128), err)
	}
	h.log.Info("published", append(logFields(f), "messageId", aws.ToString(out.MessageId))...)
	return nil
}

// functionAccount is the account and partition of the function handling
// this invocation (from its ARN in the Lambda context), else of the topic.
func functionAccount(ctx context.Context, topic string) (account, partition string) {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		if a, err := arn.Parse(lc.InvokedFunctionArn); err == nil && awsid.IsAccountID(a.AccountID) {
			return a.AccountID, a.Partition
		}
	}
	if a, err := arn.Parse(topic); err == nil && awsid.IsAccountID(a.AccountID) {
		return a.AccountID, a.Partition
	}
	return "", "aws"
}
