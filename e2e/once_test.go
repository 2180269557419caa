//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// onceTable creates, in moto's DynamoDB, the idempotency table as
// template.yaml declares it (key schema and attributes).
func onceTable(t *testing.T, name string) {
	t.Helper()
	p := readTemplate(t).Resources.IdempotencyTable.Properties
	in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: types.BillingModePayPerRequest}
	for _, a := range p.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(a.AttributeName), AttributeType: types.ScalarAttributeType(a.AttributeType)})
	}
	for _, k := range p.KeySchema {
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: types.KeyType(k.KeyType)})
	}
	if len(in.KeySchema) == 0 || p.TimeToLiveSpecification.AttributeName != "expires" {
		t.Fatalf("template.yaml's IdempotencyTable: key schema %+v, TTL attribute %q", p.KeySchema, p.TimeToLiveSpecification.AttributeName)
	}
	if _, err := dynamodb.NewFromConfig(moto.Config()).CreateTable(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// TestExactlyOnce: the real function under the runtime emulator, with the
// idempotency table in moto's DynamoDB over HTTP. The same event invoked
// three times publishes once; a publish that fails (the topic does not
// exist yet) then succeeds publishes once; with the table unreachable, the
// function publishes every time and logs why.
func TestExactlyOnce(t *testing.T) {
	ctx := context.Background()
	ev, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		t.Fatal(err)
	}
	dynamo := "AWS_ENDPOINT_URL_DYNAMODB=" + moto.Endpoint

	t.Run("three deliveries", func(t *testing.T) {
		sub := subscribe(t)
		onceTable(t, "sgwatch-once")
		fn := startFunction(t, moto, "SNS_TOPIC_ARN="+sub.topic, "IDEMPOTENCY_TABLE=sgwatch-once", dynamo)
		for i := range 3 {
			if res := invoke(t, fn, ev); res.Err != nil {
				t.Fatalf("delivery %d: %+v", i+1, res.Err)
			}
		}
		got := receive(t, sub.all)
		if len(got) != 1 {
			t.Fatalf("%d notifications for three deliveries, want 1", len(got))
		}
		if n := strings.Count(fn.Output(), "already published; not published again"); n != 2 {
			t.Errorf("%d already-published log lines, want 2", n)
		}
		item := onceItem(t, "sgwatch-once", "event/00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f/0")
		exp, _ := item["expires"].(*types.AttributeValueMemberN)
		if s, _ := item["state"].(*types.AttributeValueMemberS); s == nil || s.Value != "published" || exp == nil {
			t.Errorf("table item %v, want state published with expires", item)
		}
		t.Logf("once: 3 deliveries of one event, %d notification; table item state %q", len(got), item["state"].(*types.AttributeValueMemberS).Value)
	})

	t.Run("failed then retried", func(t *testing.T) {
		sub := subscribe(t)
		onceTable(t, "sgwatch-once")
		topic := strings.TrimSuffix(sub.topic, "sgwatch") + "sgwatch-later"
		fn := startFunction(t, moto, "SNS_TOPIC_ARN="+topic, "IDEMPOTENCY_TABLE=sgwatch-once", dynamo)
		if res := invoke(t, fn, ev); res.Err == nil || res.Err.Type != "PublishError" {
			t.Fatalf("publish to a missing topic: %+v, want a PublishError", res.Err)
		}
		// The topic appears (as after a fix); Lambda's retry, then a
		// re-delivery.
		if _, err := sns.NewFromConfig(moto.Config()).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("sgwatch-later")}); err != nil {
			t.Fatal(err)
		}
		q, err := moto.Queue(ctx, "later")
		if err != nil {
			t.Fatal(err)
		}
		if err := moto.Subscribe(ctx, topic, q, ""); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if res := invoke(t, fn, ev); res.Err != nil {
				t.Fatalf("retry %d: %+v", i+1, res.Err)
			}
		}
		if got := receive(t, q); len(got) != 1 {
			t.Fatalf("%d notifications after a failed publish and two retries, want 1", len(got))
		}
		t.Logf("once: a failed publish, then 2 retries: 1 notification")
	})

	t.Run("claimed by another invocation", func(t *testing.T) {
		sub := subscribe(t)
		onceTable(t, "sgwatch-once")
		fn := startFunction(t, moto, "SNS_TOPIC_ARN="+sub.topic, "IDEMPOTENCY_TABLE=sgwatch-once", dynamo)
		claim := func(age time.Duration) {
			now := time.Now()
			_, err := dynamodb.NewFromConfig(moto.Config()).PutItem(ctx, &dynamodb.PutItemInput{
				TableName: aws.String("sgwatch-once"),
				Item: map[string]types.AttributeValue{
					"pk":      &types.AttributeValueMemberS{Value: "event/00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f/0"},
					"state":   &types.AttributeValueMemberS{Value: "publishing"},
					"started": &types.AttributeValueMemberN{Value: fmt.Sprint(now.Add(-age).Unix())},
					"expires": &types.AttributeValueMemberN{Value: fmt.Sprint(now.Add(72 * time.Hour).Unix())},
				},
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		claim(5 * time.Second) // an invocation that may still be publishing
		if res := invoke(t, fn, ev); res.Err == nil || !strings.Contains(res.Err.Message, "another invocation claimed it") {
			t.Fatalf("a fresh claim: %+v, want an error so that Lambda retries", res.Err)
		}
		claim(40 * time.Second) // older than an event's 30 s budget: it died
		if res := invoke(t, fn, ev); res.Err != nil {
			t.Fatalf("a stale claim: %+v, want it taken over", res.Err)
		}
		if got := receive(t, sub.all); len(got) != 1 {
			t.Fatalf("%d notifications, want 1 (only after the stale claim)", len(got))
		}
		t.Logf("once: a claim 5 s old fails the invocation for a retry; one 40 s old (an event's budget is 30 s, the timeout 300 s) is taken over and published")
	})

	t.Run("table unreachable", func(t *testing.T) {
		sub := subscribe(t)
		closed := closedPort(t)
		fn := startFunction(t, moto, "SNS_TOPIC_ARN="+sub.topic, "IDEMPOTENCY_TABLE=sgwatch-once", "AWS_ENDPOINT_URL_DYNAMODB=http://"+closed)
		start := time.Now()
		for i := range 2 {
			if res := invoke(t, fn, ev); res.Err != nil {
				t.Fatalf("delivery %d: %+v", i+1, res.Err)
			}
		}
		took := time.Since(start)
		if got := receive(t, sub.all); len(got) != 2 {
			t.Fatalf("%d notifications with the table unreachable, want 2 (published anyway)", len(got))
		}
		if !strings.Contains(fn.Output(), "idempotency table unavailable; publishing anyway") {
			t.Errorf("the log does not say the table was unavailable:\n%s", fn.Output())
		}
		t.Logf("once: table unreachable: 2 deliveries, 2 notifications, %s in all", took.Round(time.Millisecond))
	})
}

func onceItem(t *testing.T, table, key string) map[string]types.AttributeValue {
	t.Helper()
	out, err := dynamodb.NewFromConfig(moto.Config()).GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key:       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: key}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
