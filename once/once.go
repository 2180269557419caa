// Package once keeps, in a DynamoDB table, a record of each notification
// sgwatch is publishing or has published, so that a change is published once
// however often its event is delivered or retried. A key is claimed with a
// conditional write before publishing and marked published after; a failed
// publish releases it, and a claim older than the function's timeout (its
// invocation died) is taken over.
package once

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

// callTimeout bounds each call to the table: an unreachable table costs
// the invocation at most this, and then it publishes anyway.
const callTimeout = 2 * time.Second

// DynamoDB is the part of the DynamoDB client a Table uses.
type DynamoDB interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Table is the idempotency table: its key attribute is "pk" (a string);
// "state" is "publishing" or "published", "started" the claim's Unix time,
// and "expires" the Unix time DynamoDB's TTL deletes it after.
type Table struct {
	api  func() DynamoDB
	name string
}

// New returns the table name, whose client is built by client on first
// use (not during the cold start).
func New(name string, client func() DynamoDB) *Table {
	return &Table{api: sync.OnceValue(client), name: name}
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
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := t.api().PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.name),
		Item: map[string]types.AttributeValue{
			"pk":      &types.AttributeValueMemberS{Value: key},
			"state":   &types.AttributeValueMemberS{Value: publishing},
			"started": number(now.Unix()),
			"expires": number(now.Add(TTL).Unix()),
		},
		ConditionExpression:      aws.String("attribute_not_exists(pk) OR (#state = :publishing AND #started < :stale)"),
		ExpressionAttributeNames: map[string]string{"#state": "state", "#started": "started"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":publishing": &types.AttributeValueMemberS{Value: publishing},
			":stale":      number(now.Add(-stale).Unix()),
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
	item := ccf.Item
	if item == nil { // not every DynamoDB returns the old item: read it
		out, err := t.api().GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(t.name),
			Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: key}},
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return Claimed, fmt.Errorf("read %s in table %s: %w", key, t.name, err)
		}
		item = out.Item
	}
	if s, ok := item["state"].(*types.AttributeValueMemberS); ok && s.Value == published {
		return Published, nil
	}
	return Busy, nil
}

// Done marks key published.
func (t *Table) Done(ctx context.Context, key string, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := t.api().UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(t.name),
		Key:                      map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: key}},
		UpdateExpression:         aws.String("SET #state = :published, #expires = :expires"),
		ExpressionAttributeNames: map[string]string{"#state": "state", "#expires": "expires"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":published": &types.AttributeValueMemberS{Value: published},
			":expires":   number(now.Add(TTL).Unix()),
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
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := t.api().DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(t.name),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: key}},
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

// MemoryTTL is how long the sweep's memory of a scope is kept after the
// last sweep that wrote it: sweeps that stop for longer forget what they
// notified, and notify it again.
const MemoryTTL = 30 * 24 * time.Hour

// ErrConflict is the error of a Remember whose scope another sweep wrote
// since it was recalled.
var ErrConflict = errors.New("another sweep wrote it since it was read")

// Recall returns what the sweep last remembered for scope (an account and
// Region) and the version to pass to Remember: nil and 0 when nothing.
func (t *Table) Recall(ctx context.Context, scope string) (data []byte, version int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := t.api().GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(t.name),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: memoryKey(scope)}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read the sweep's memory of %s in table %s: %w", scope, t.name, err)
	}
	if out.Item == nil {
		return nil, 0, nil
	}
	b, ok1 := out.Item["data"].(*types.AttributeValueMemberB)
	v, ok2 := out.Item["version"].(*types.AttributeValueMemberN)
	if !ok1 || !ok2 {
		return nil, 0, fmt.Errorf("the sweep's memory of %s in table %s has no data or version", scope, t.name)
	}
	if version, err = strconv.ParseInt(v.Value, 10, 64); err != nil {
		return nil, 0, fmt.Errorf("the sweep's memory of %s in table %s: version %q: %w", scope, t.name, v.Value, err)
	}
	return b.Value, version, nil
}

// Remember stores data as the sweep's memory of scope at now, if no other
// sweep wrote it since Recall returned version (ErrConflict otherwise).
func (t *Table) Remember(ctx context.Context, scope string, data []byte, version int64, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	in := &dynamodb.PutItemInput{
		TableName: aws.String(t.name),
		Item: map[string]types.AttributeValue{
			"pk":      &types.AttributeValueMemberS{Value: memoryKey(scope)},
			"data":    &types.AttributeValueMemberB{Value: data},
			"version": number(version + 1),
			"expires": number(now.Add(MemoryTTL).Unix()),
		},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}
	if version != 0 {
		in.ConditionExpression = aws.String("#version = :version")
		in.ExpressionAttributeNames = map[string]string{"#version": "version"}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":version": number(version)}
	}
	_, err := t.api().PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return fmt.Errorf("remember the sweep of %s in table %s: %w", scope, t.name, ErrConflict)
	case err != nil:
		return fmt.Errorf("remember the sweep of %s in table %s: %w", scope, t.name, err)
	}
	return nil
}

// memoryKey is the key of the sweep's memory of scope; event keys start
// with "event/" and sweep claims with "sweep/".
func memoryKey(scope string) string { return "memory/" + scope }

func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// NewDynamoDB returns the DynamoDB client of cfg, with at most two attempts
// per call (the table is never worth more than a few seconds of an
// invocation).
func NewDynamoDB(cfg aws.Config) DynamoDB {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.RetryMaxAttempts = 2 })
}
