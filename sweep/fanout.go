package sweep

// The sweep's fan-out: the scheduled invocation plans (one message a
// target, on the stack's queue), and the same function, through an SQS
// event source mapping, sweeps each target on its own, with its own
// timeout, memory and claims. SQS and Lambda do the scheduling: how many at
// once (the mapping's maximum concurrency), the retries (the visibility
// timeout), and what keeps failing (the dead-letter queue).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sgwatch/sgwatch/awsid"
)

// TargetKind marks a message that asks for the sweep of one target.
const TargetKind = "sweep-target"

// TargetMessage asks for the sweep of one target (account and Region), as
// part of the sweep Request names. The role to assume is not in it: the
// function works it out from its own configuration, so that a message can
// name nothing but an account and a Region.
//
//	{"sgwatch": "sweep-target", "id": "<sweep id>", "time": "…", "by": "…", "account": "111122223333", "region": "eu-west-1"}
type TargetMessage struct {
	Kind string `json:"sgwatch"`
	Request
	Account string `json:"account"`
	Region  string `json:"region"`
	// Reason is why the target failed for good, and Body, when the message
	// could not be read, what it was: set only on the copy the function
	// puts on the dead-letter queue.
	Reason string `json:"reason,omitempty"`
	Body   string `json:"body,omitempty"`
}

// Messages are the messages of a sweep's targets, one a target.
func Messages(req Request, targets []Target) []TargetMessage {
	out := make([]TargetMessage, len(targets))
	for i, t := range targets {
		out[i] = TargetMessage{Kind: TargetKind, Request: req, Account: t.Account, Region: t.Region}
	}
	return out
}

// ParseTarget reads a target message strictly: every field it has, and
// only those, with an account id, a Region and a sweep id that can be put
// in a key as they are.
func ParseTarget(body string) (TargetMessage, error) {
	var m TargetMessage
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("sweep target message: %w", err)
	}
	if dec.More() {
		return m, errors.New("sweep target message: more than one JSON value")
	}
	switch {
	case m.Kind != TargetKind:
		return m, fmt.Errorf("sweep target message: %q must be %q", Member, TargetKind)
	case !awsid.IsAccountID(m.Account):
		return m, errors.New("sweep target message: account is not an account id (12 digits)")
	case !awsid.IsRegion(m.Region):
		return m, errors.New("sweep target message: region is not a Region name")
	case !safeID(m.ID):
		return m, errors.New("sweep target message: id is not a sweep id")
	case len(m.Time) > 64 || len(m.By) > 2048 || len(m.Reason) > 4096 || len(m.Body) > 8192:
		return m, errors.New("sweep target message: time, by or reason is too long")
	}
	return m, nil
}

// Target is the target of m, with role the role to assume there ("" for
// the function's own account).
func (m TargetMessage) Target(role string) Target {
	return Target{Account: m.Account, Region: m.Region, Role: role}
}

// Queue is the part of the SQS client the fan-out uses.
type Queue interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// batchSize is the most messages one SendMessageBatch takes.
const batchSize = 10

// Send puts msgs on the queue at url, ten a request. An entry SQS refuses
// is an error that names how many, and why the first was; the others were
// sent all the same (sending them again is harmless: a target's sweep
// publishes nothing twice).
func Send(ctx context.Context, q Queue, url string, msgs []TargetMessage) error {
	var refused []string
	for start := 0; start < len(msgs); start += batchSize {
		batch := msgs[start:min(start+batchSize, len(msgs))]
		entries := make([]sqstypes.SendMessageBatchRequestEntry, len(batch))
		for i, m := range batch {
			body, err := json.Marshal(m)
			if err != nil {
				return err
			}
			entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(start + i)), MessageBody: aws.String(string(body))}
		}
		out, err := q.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil {
			return fmt.Errorf("SendMessageBatch (targets %d to %d of %d): %s", start+1, start+len(batch), len(msgs), apiError(err))
		}
		for _, f := range out.Failed {
			refused = append(refused, aws.ToString(f.Code)+": "+aws.ToString(f.Message))
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("SQS refused %d of %d target messages (%s)", len(refused), len(msgs), refused[0])
	}
	return nil
}

// DeadLetter puts m on the dead-letter queue at url with why the target
// failed for good: the report of that target for this sweep.
func DeadLetter(ctx context.Context, q Queue, url string, m TargetMessage, reason string) error {
	m.Reason = reason
	if len(m.Reason) > 4096 {
		m.Reason = m.Reason[:4096]
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(string(body))}); err != nil {
		return fmt.Errorf("SendMessage to the dead-letter queue: %s", apiError(err))
	}
	return nil
}
