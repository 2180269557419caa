package sweep

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// batchQueue records SendMessageBatch and SendMessage calls.
type batchQueue struct {
	batches [][]string
	single  []string
}

func (q *batchQueue) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	var b []string
	for _, e := range in.Entries {
		b = append(b, aws.ToString(e.MessageBody))
	}
	q.batches = append(q.batches, b)
	return &sqs.SendMessageBatchOutput{}, nil
}

func (q *batchQueue) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	q.single = append(q.single, aws.ToString(in.MessageBody))
	return &sqs.SendMessageOutput{}, nil
}

// TestSendTargets: 25 targets go in batches of 10, 10 and 5, each message
// read back as its target; the dead-letter copy says why.
func TestSendTargets(t *testing.T) {
	var targets []Target
	for i := range 25 {
		targets = append(targets, Target{Account: fmt.Sprintf("1111222233%02d", i), Region: "eu-west-1", Role: "arn:aws:iam::x:role/r"})
	}
	q := &batchQueue{}
	if err := Send(context.Background(), q, "url", Messages(Request{ID: "exec-1", By: "schedule"}, targets)); err != nil {
		t.Fatal(err)
	}
	if len(q.batches) != 3 || len(q.batches[0]) != 10 || len(q.batches[2]) != 5 {
		t.Fatalf("batches of %d, %d, %d", len(q.batches[0]), len(q.batches[1]), len(q.batches[2]))
	}
	m, err := ParseTarget(q.batches[2][4])
	if err != nil || m.Target("role") != (Target{Account: "111122223324", Region: "eu-west-1", Role: "role"}) || m.ID != "exec-1" || m.By != "schedule" {
		t.Errorf("%+v, %v", m, err)
	}
	if err := DeadLetter(context.Background(), q, "dead", m, "AccessDenied: <not authorized>"); err != nil {
		t.Fatal(err)
	}
	if back, err := ParseTarget(q.single[0]); err != nil || back.Reason != "AccessDenied: <not authorized>" || back.Account != m.Account {
		t.Errorf("dead letter %s: %+v %v", q.single[0], back, err)
	}
}

// TestParseTarget: a target message is read strictly.
func TestParseTarget(t *testing.T) {
	good := TargetMessage{Kind: TargetKind, Request: Request{ID: "exec-1"}, Account: "111122223333", Region: "eu-west-1"}
	b, _ := json.Marshal(good)
	for _, c := range []struct{ body, err string }{
		{string(b), ""},
		{strings.Replace(string(b), `"sweep-target"`, `"sweep"`, 1), `must be "sweep-target"`},
		{strings.Replace(string(b), `"111122223333"`, `"11112222333"`, 1), "account is not an account id"},
		{strings.Replace(string(b), `"eu-west-1"`, `"moon-1"`, 1), "region is not a Region name"},
		{strings.Replace(string(b), `"exec-1"`, `"a b"`, 1), "id is not a sweep id"},
		{strings.Replace(string(b), `}`, `,"role":"arn:aws:iam::999999999999:role/x"}`, 1), `unknown field "role"`},
		{string(b) + string(b), "more than one JSON value"},
		{`[]`, "cannot unmarshal"},
	} {
		_, err := ParseTarget(c.body)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %v, want %q", c.body, err, c.err)
		}
	}
}
