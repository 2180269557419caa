package handler

// The sweep's fan-out (package sweep, fanout.go): the scheduled invocation
// plans, and each target's message, delivered by the SQS event source
// mapping, is swept on its own.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/sweep"
)

// fansOut reports whether a sweep fans out: a queue is configured and the
// sweep covers other accounts (SWEEP_ACCOUNTS). The function's own account
// alone, in any number of Regions, is swept in the scheduled invocation:
// sweep.Concurrency targets at a time fit its timeout, and it needs no
// queue.
func (h *Handler) fansOut() bool {
	return h.fansOutConfigured() && (len(h.cfg.Sweep.Accounts) > 0 || h.cfg.Sweep.Organization)
}

// plan sends one message a target to the queue. prior is why some targets
// may be missing (the organization's accounts could not be listed): the
// others are sent, and the invocation fails so that it is retried (a
// target sent twice is swept twice, publishing nothing twice).
func (h *Handler) plan(ctx context.Context, req sweep.Request, targets []sweep.Target, prior error) error {
	start := h.d.Now()
	err := sweep.Send(ctx, h.d.Sweep.Queue, h.cfg.Sweep.Queue, sweep.Messages(req, targets))
	h.log.Info("sweep planned", "sweepId", req.ID, "by", req.By, "targets", len(targets), "ms", h.d.Now().Sub(start).Milliseconds(), "error", errText(err))
	if err = errors.Join(prior, err); err != nil {
		return &SweepError{err}
	}
	return nil
}

// errText is err's text, "" for none.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// targetBatch reports whether payload is a batch of the fan-out's messages:
// an SQS event whose every record comes from the configured queue. An SQS
// event that is not (another queue, or none configured) is an error: it
// must not reach Handle, which would take its Records for a CloudTrail log
// of other calls and succeed. Anything else (an EventBridge event, a
// CloudTrail log's "Records") is left to Handle.
func (h *Handler) targetBatch(payload []byte) (events.SQSEvent, bool, error) {
	var e events.SQSEvent
	if !bytes.Contains(payload, []byte(`"aws:sqs"`)) || json.Unmarshal(payload, &e) != nil || len(e.Records) == 0 ||
		slices.ContainsFunc(e.Records, func(r events.SQSMessage) bool { return r.EventSource != "aws:sqs" }) {
		return e, false, nil
	}
	if !h.fansOutConfigured() {
		return e, false, errors.New("an SQS batch, but this function consumes no queue (SWEEP_QUEUE_URL)")
	}
	want := queueARNSuffix(h.cfg.Sweep.Queue)
	for _, r := range e.Records {
		if !strings.HasSuffix(r.EventSourceARN, want) {
			return e, false, fmt.Errorf("an SQS batch from %s, not from SWEEP_QUEUE_URL's queue", clean.Line(r.EventSourceARN, 256))
		}
	}
	return e, true, nil
}

// fansOutConfigured reports whether the function consumes a queue.
func (h *Handler) fansOutConfigured() bool {
	return h.cfg.Sweep.Enabled && h.cfg.Sweep.Queue != "" && h.d.Sweep != nil && h.d.Sweep.Queue != nil
}

// queueARNSuffix is how the ARN of the queue at url ends: ":ACCOUNT:NAME".
func queueARNSuffix(url string) string {
	parts := strings.Split(url, "/")
	if len(parts) < 2 {
		return "\x00" // matches nothing
	}
	return ":" + parts[len(parts)-2] + ":" + parts[len(parts)-1]
}

// sweepBatch sweeps the target of each message, one after the other, and
// answers with the messages to retry (partial batch responses). A message
// on its last receive that fails, or cannot be read, is put on the
// dead-letter queue with why, once, and not retried; if even that fails,
// it is retried, and the queue's redrive policy keeps it.
func (h *Handler) sweepBatch(ctx context.Context, batch events.SQSEvent) ([]byte, error) {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	self, partition := functionAccount(ctx, h.cfg.TopicARN)
	for _, r := range batch.Records {
		err := h.sweepMessage(ctx, r.Body, self, partition)
		if err == nil {
			continue
		}
		received, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
		fields := []any{"messageId", clean.Line(r.MessageId, 64), "receives", received, "error", err.Error()}
		if received >= h.cfg.Sweep.MaxReceives {
			m, perr := sweep.ParseTarget(r.Body)
			if perr != nil {
				// What was sent, as evidence, cut.
				m = sweep.TargetMessage{Kind: sweep.TargetKind, Body: clean.Line(r.Body, 2048)}
			}
			if dlErr := sweep.DeadLetter(ctx, h.d.Sweep.Queue, h.cfg.Sweep.DeadLetter, m, err.Error()); dlErr == nil {
				h.log.Error("sweep target failed for good; on the dead-letter queue", append(fields, "account", m.Account, "region", m.Region, "sweepId", m.ID)...)
				continue
			} else {
				fields = append(fields, "deadLetterError", dlErr.Error())
			}
		}
		h.log.Error("sweep target failed; retried", fields...)
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
	}
	return json.Marshal(resp)
}

// sweepMessage sweeps the target body names, with the role configured
// for its account, under the invocation's deadline.
func (h *Handler) sweepMessage(ctx context.Context, body, self, partition string) error {
	m, err := sweep.ParseTarget(body)
	if err != nil {
		return err
	}
	if err := h.configuredTarget(m, self); err != nil {
		return err
	}
	role := ""
	if m.Account != self {
		role = awsid.RoleARN(partition, m.Account, h.cfg.Sweep.Role)
	}
	ctx, cancel, stale := h.budget(ctx, 0)
	defer cancel()
	// The error names the target (sweep.Sweeper.Run).
	return h.sweepTargets(ctx, m.Request, stale, []sweep.Target{m.Target(role)}, nil)
}

// configuredTarget checks that m names a target of the configuration: a
// Region it sweeps, and the function's own account or one of
// SWEEP_ACCOUNTS (with organization, any account: the queue takes
// messages from the function's role only, and the role is assumed only
// where forwarder.yaml made it trust this function).
func (h *Handler) configuredTarget(m sweep.TargetMessage, self string) error {
	regions := h.cfg.Sweep.Regions
	if len(regions) == 0 {
		regions = []string{h.cfg.Region}
	}
	switch {
	case !slices.Contains(regions, m.Region):
		return fmt.Errorf("sweep target %s/%s: not a Region this function sweeps (SWEEP_REGIONS)", m.Account, m.Region)
	case m.Account != self && !h.cfg.Sweep.Organization && !slices.Contains(h.cfg.Sweep.Accounts, m.Account):
		return fmt.Errorf("sweep target %s/%s: not an account this function sweeps (SWEEP_ACCOUNTS)", m.Account, m.Region)
	}
	return nil
}
