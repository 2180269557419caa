// Package claim makes each notification published once, however often its
// event is delivered or retried: it keeps, in a DynamoDB table (the
// idempotency table), a record of each notification sgwatch is publishing
// or has published. A key is claimed with a conditional write before
// publishing and marked published after; a failed publish releases it, and
// a claim older than the function's timeout (its invocation died) is taken
// over.
package claim

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// State is what a claim found.
type State int

const (
	// Claimed: the caller holds the key and must publish, then call Done
	// (or Release if the publish failed).
	Claimed State = iota
	// Published: the notification was published before; nothing to do.
	Published
	// Busy: another invocation claimed the key less than the stale time
	// ago and may be publishing now; retry later.
	Busy
)

// TTL is how long a record is kept: longer than Lambda's retries of an
// asynchronous event (6 hours) and EventBridge's (24 hours).
const TTL = 3 * 24 * time.Hour

// CallTimeout bounds each call to the table: an unreachable table costs
// the invocation at most this, and then it publishes anyway.
const CallTimeout = 2 * time.Second

// DynamoDB is the part of the DynamoDB client a Table uses.
type DynamoDB interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Table is the idempotency table: its key attribute is "pk" (a string);
// "state" is "publishing" or "published", "started" the claim's Unix time,
// and "expires" the Unix time DynamoDB's TTL deletes it after. Event keys
// start with "event/" and the sweep's with "sweep/"; the sweep's memory
// (package memory) shares the table under "memory/".
type Table struct {
	api  func() DynamoDB
	name string
}

// New returns the table name, whose client is built by client on first
// use (not during the cold start).
func New(name string, client func() DynamoDB) *Table {
	return &Table{api: sync.OnceValue(client), name: name}
}

// Name is the table's name.
func (t *Table) Name() string { return t.name }

// Key is the key of the item k.
func Key(k string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: k}}
}

// Number is a number attribute.
func Number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// Get reads the item k, consistently, within CallTimeout: nil when there
// is none. The sweep's memory (package memory) reads its items with it.
func (t *Table) Get(ctx context.Context, k string) (map[string]types.AttributeValue, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	out, err := t.api().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.name), Key: Key(k), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// Put writes in to the table within CallTimeout. The sweep's memory
// (package memory) writes its items with it.
func (t *Table) Put(ctx context.Context, in *dynamodb.PutItemInput) error {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	in.TableName = aws.String(t.name)
	_, err := t.api().PutItem(ctx, in)
	return err
}

const (
	publishing = "publishing"
	published  = "published"
)

// Claim claims key at now for a publish, unless it is published, or
// claimed by another invocation less than stale ago. An error means the
// table could not say (unreachable, throttled, denied): the caller
// publishes anyway, since a duplicate is better than a silence.
func (t *Table) Claim(ctx context.Context, key string, now time.Time, stale time.Duration) (State, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout) // the whole claim, a read included
	defer cancel()
	item := Key(key)
	item["state"] = &types.AttributeValueMemberS{Value: publishing}
	item["started"], item["expires"] = Number(now.Unix()), Number(now.Add(TTL).Unix())
	err := t.Put(ctx, &dynamodb.PutItemInput{
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(pk) OR (#state = :publishing AND #started < :stale)"),
		ExpressionAttributeNames: map[string]string{"#state": "state", "#started": "started"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":publishing": &types.AttributeValueMemberS{Value: publishing},
			":stale":      Number(now.Add(-stale).Unix()),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return Claimed, nil
	case !errors.As(err, &ccf):
		return Claimed, fmt.Errorf("claim %s in table %s: %w", key, t.name, err)
	}
	old := ccf.Item
	if old == nil { // not every DynamoDB returns the old item: read it
		if old, err = t.Get(ctx, key); err != nil {
			return Claimed, fmt.Errorf("read %s in table %s: %w", key, t.name, err)
		}
	}
	if s, ok := old["state"].(*types.AttributeValueMemberS); ok && s.Value == published {
		return Published, nil
	}
	return Busy, nil
}

// Done marks key published.
func (t *Table) Done(ctx context.Context, key string, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	_, err := t.api().UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.name), Key: Key(key),
		UpdateExpression:         aws.String("SET #state = :published, #expires = :expires"),
		ExpressionAttributeNames: map[string]string{"#state": "state", "#expires": "expires"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":published": &types.AttributeValueMemberS{Value: published},
			":expires":   Number(now.Add(TTL).Unix()),
		},
	})
	if err != nil {
		return fmt.Errorf("mark %s published in table %s: %w", key, t.name, err)
	}
	return nil
}

// Release gives up a claim whose publish failed, so that the retry
// publishes. It never removes a published record.
func (t *Table) Release(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	_, err := t.api().DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(t.name), Key: Key(key),
		ConditionExpression:       aws.String("#state = :publishing"),
		ExpressionAttributeNames:  map[string]string{"#state": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":publishing": &types.AttributeValueMemberS{Value: publishing}},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("release %s in table %s: %w", key, t.name, err)
	}
	return nil
}

// NewDynamoDB returns the DynamoDB client of cfg, with at most two attempts
// per call (the table is never worth more than a few seconds of an
// invocation).
func NewDynamoDB(cfg aws.Config) DynamoDB {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.RetryMaxAttempts = 2 })
}
