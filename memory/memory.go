// Package memory is the exposure sweep's memory: what the last sweep of
// each account and Region found open, so that the next one publishes only
// what changed. It is one item per scope in the idempotency table (package
// claim), under "memory/SCOPE", written with a version so that two sweeps
// of one scope cannot overwrite each other.
package memory

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

	"github.com/sgwatch/sgwatch/claim"
)

// DynamoDB is the part of the DynamoDB client a Table uses.
type DynamoDB interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Table is the sweep's memory in the table name.
type Table struct {
	api  func() DynamoDB
	name string
}

// New returns the memory in table name, whose client is built by client
// on first use (not during the cold start).
func New(name string, client func() DynamoDB) *Table {
	return &Table{api: sync.OnceValue(client), name: name}
}

// TTL is how long the sweep's memory of a scope is kept after the
// last sweep that wrote it: sweeps that stop for longer forget what they
// notified, and notify it again.
const TTL = 30 * 24 * time.Hour

// ErrConflict is the error of a Remember whose scope another sweep wrote
// since it was recalled.
var ErrConflict = errors.New("another sweep wrote it since it was read")

// Recall returns what the sweep last remembered for scope (an account and
// Region) and the version to pass to Remember: nil and 0 when nothing.
func (t *Table) Recall(ctx context.Context, scope string) (data []byte, version int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, claim.CallTimeout)
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
	ctx, cancel := context.WithTimeout(ctx, claim.CallTimeout)
	defer cancel()
	in := &dynamodb.PutItemInput{
		TableName: aws.String(t.name),
		Item: map[string]types.AttributeValue{
			"pk":      &types.AttributeValueMemberS{Value: memoryKey(scope)},
			"data":    &types.AttributeValueMemberB{Value: data},
			"version": number(version + 1),
			"expires": number(now.Add(TTL).Unix()),
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
