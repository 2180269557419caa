package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sgwatch/sgwatch/sweep"
)

const (
	testQueueURL = "https://sqs.eu-west-1.amazonaws.com/111122223333/sgwatch-sweep"
	deadURL      = "https://sqs.eu-west-1.amazonaws.com/111122223333/sgwatch-sweep-dead"
	queueARN     = "arn:aws:sqs:eu-west-1:111122223333:sgwatch-sweep"
	otherARN     = "arn:aws:sqs:eu-west-1:111122223333:someone-elses"
	memberOne    = "444455556666"
	memberTwo    = "777788889999"
)

// fakeQueue records what is sent; refuse makes SendMessageBatch refuse
// every entry.
type fakeQueue struct {
	mu      sync.Mutex
	batches int
	sent    []string // bodies, to the queue
	dead    []string // bodies, to the dead-letter queue
	refuse  bool
}

func (q *fakeQueue) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.batches++
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		if q.refuse {
			out.Failed = append(out.Failed, sqstypes.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InvalidMessageContents"), Message: aws.String("no")})
			continue
		}
		q.sent = append(q.sent, aws.ToString(e.MessageBody))
	}
	return out, nil
}

func (q *fakeQueue) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if aws.ToString(in.QueueUrl) != deadURL {
		return nil, errors.New("SendMessage to " + aws.ToString(in.QueueUrl))
	}
	q.dead = append(q.dead, aws.ToString(in.MessageBody))
	return &sqs.SendMessageOutput{}, nil
}

// fanOutHandler is sweepHandler with a queue.
func fanOutHandler(t *testing.T, l *groupLister) (*Handler, *lockedSNS, *fakeQueue) {
	t.Helper()
	cfg := SweepConfig{Enabled: true, Accounts: []string{memberOne, memberTwo}, Regions: []string{"eu-west-1", "us-east-1"}, Role: "sgwatch-sweep",
		Queue: testQueueURL, DeadLetter: deadURL, MaxReceives: 3}
	h, pub, _ := sweepHandler(t, cfg, l)
	q := &fakeQueue{}
	h.d.Sweep.Queue = q
	return h, pub, q
}

// sqsEvent is a batch of bodies from the queue, each received receives
// times.
func sqsEvent(t *testing.T, arn string, receives int, bodies ...string) []byte {
	t.Helper()
	var e events.SQSEvent
	for i, b := range bodies {
		e.Records = append(e.Records, events.SQSMessage{MessageId: fmt.Sprintf("m-%d", i), Body: b, EventSource: "aws:sqs", EventSourceARN: arn,
			Attributes: map[string]string{"ApproximateReceiveCount": fmt.Sprint(receives)}})
	}
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestSweepPlans: with a queue and other accounts, the scheduled sweep
// only plans: one message a target (3 accounts × 2 Regions), ten a batch,
// nothing swept, nothing published; the messages name no role.
func TestSweepPlans(t *testing.T) {
	l := &groupLister{}
	h, pub, q := fanOutHandler(t, l)
	if err := h.Handle(context.Background(), []byte(sweepPayload)); err != nil {
		t.Fatal(err)
	}
	if len(q.sent) != 6 || q.batches != 1 || len(l.targets) != 0 || len(pub.subjects()) != 0 {
		t.Fatalf("%d messages in %d batches, %d targets swept: want 6 messages, none swept", len(q.sent), q.batches, len(l.targets))
	}
	m, err := sweep.ParseTarget(q.sent[1])
	if err != nil || m.ID != "exec-1" || m.Account != "111122223333" || m.Region != "us-east-1" || strings.Contains(q.sent[1], "role") {
		t.Errorf("message %s: %+v %v", q.sent[1], m, err)
	}
	// SQS refuses: the invocation fails, naming it, so that it is retried.
	q.refuse = true
	var se *SweepError
	if err := h.Handle(context.Background(), []byte(sweepPayload)); !errors.As(err, &se) || !strings.Contains(err.Error(), "SQS refused 6 of 6 target messages (InvalidMessageContents: no)") {
		t.Errorf("refused: %v", err)
	}
	// The function's own account alone is swept in the invocation.
	own, pub2, q2 := fanOutHandler(t, &groupLister{})
	own.cfg.Sweep.Accounts = nil
	if err := own.Handle(context.Background(), []byte(sweepPayload)); err != nil || len(q2.sent) != 0 || len(pub2.subjects()) != 4 {
		t.Errorf("own account: %v, %d sent", err, len(q2.sent))
	}
}

// TestSweepBatch: each message's target is swept with the role the
// configuration names for its account (the message names none); a failing
// one is retried alone (partial batch response) until its last receive,
// when it goes to the dead-letter queue once, with why, and is not
// retried; a malformed message likewise; an SQS event from another queue,
// or a CloudTrail log's Records, is not a batch of targets.
func TestSweepBatch(t *testing.T) {
	l := &groupLister{fail: map[string]error{memberTwo: errors.New("AccessDenied: not authorized to perform sts:AssumeRole")}}
	h, pub, q := fanOutHandler(t, l)
	msgs := sweep.Messages(sweep.Request{ID: "exec-1"}, []sweep.Target{{Account: memberOne, Region: "eu-west-1"}, {Account: memberTwo, Region: "eu-west-1"}})
	var bodies []string
	for _, m := range msgs {
		b, _ := json.Marshal(m)
		bodies = append(bodies, string(b))
	}
	bodies = append(bodies, `{"sgwatch":"sweep-target","id":"exec-1","account":"x","region":"eu-west-1"}`)
	for receives, want := range map[int]string{1: `{"batchItemFailures":[{"itemIdentifier":"m-1"},{"itemIdentifier":"m-2"}]}`, 3: `{"batchItemFailures":[]}`} {
		l.targets, q.dead = nil, nil
		out, err := h.Invoke(context.Background(), sqsEvent(t, queueARN, receives, bodies...))
		if err != nil || string(out) != want {
			t.Errorf("receive %d: %s, %v; want %s", receives, out, err, want)
		}
		if len(l.targets) != 2 || l.targets[1].Role != "arn:aws:iam::"+memberTwo+":role/sgwatch-sweep" {
			t.Errorf("receive %d: targets %+v", receives, l.targets)
		}
		if receives == 3 {
			if len(q.dead) != 2 || !strings.Contains(q.dead[0], `"account":"`+memberTwo+`"`) || !strings.Contains(q.dead[0], `"reason":"sweep of `+memberTwo+`/eu-west-1: AccessDenied`) ||
				!strings.Contains(q.dead[1], "account is not an account id") {
				t.Errorf("dead letters %q", q.dead)
			}
		} else if len(q.dead) != 0 {
			t.Errorf("receive %d: dead letters %q before the last receive", receives, q.dead)
		}
	}
	if got := pub.subjects(); len(got) != 2 {
		t.Errorf("%d published, want the 2 exposures of the good member, once however often it is received (the claims)", len(got))
	}
	// An SQS batch from another queue, or to a function that consumes
	// none, is an error (retried, then kept), never a CloudTrail log of
	// other calls handled with success; a CloudTrail log's Records is one.
	var de *DecodeError
	off, _, _ := fanOutHandler(t, &groupLister{})
	off.cfg.Sweep.Queue = ""
	for _, c := range []struct {
		h *Handler
		p []byte
	}{{h, sqsEvent(t, otherARN, 1, bodies[0])}, {off, sqsEvent(t, queueARN, 1, bodies[0])}} {
		l.targets = nil
		if out, err := c.h.Invoke(context.Background(), c.p); !errors.As(err, &de) || out != nil || len(l.targets) != 0 {
			t.Errorf("%s: %s, %v, swept %+v; want a DecodeError", c.p[:60], out, err, l.targets)
		}
	}
	if out, err := h.Invoke(context.Background(), []byte(`{"Records":[{"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances"}]}`)); err != nil || out != nil {
		t.Errorf("a CloudTrail log: %s, %v", out, err)
	}
}

// TestSweepBatchTargets: a message naming an account or Region the
// configuration does not sweep is not swept (anyone who could send to the
// queue would choose where the function assumes its role), and ends on the
// dead-letter queue with why; an unreadable one keeps its body there.
func TestSweepBatchTargets(t *testing.T) {
	l := &groupLister{}
	h, _, q := fanOutHandler(t, l)
	body := func(account, region string) string {
		b, _ := json.Marshal(sweep.Messages(sweep.Request{ID: "exec-1"}, []sweep.Target{{Account: account, Region: region}})[0])
		return string(b)
	}
	out, err := h.Invoke(context.Background(), sqsEvent(t, queueARN, 3, body("999999999999", "eu-west-1"), body(memberOne, "ap-south-1"), "not json"))
	if err != nil || string(out) != `{"batchItemFailures":[]}` || len(l.targets) != 0 {
		t.Fatalf("%s, %v, swept %+v", out, err, l.targets)
	}
	if len(q.dead) != 3 || !strings.Contains(q.dead[0], "not an account this function sweeps (SWEEP_ACCOUNTS)") ||
		!strings.Contains(q.dead[1], "not a Region this function sweeps (SWEEP_REGIONS)") || !strings.Contains(q.dead[2], `"body":"not json"`) {
		t.Errorf("dead letters %q", q.dead)
	}
}
