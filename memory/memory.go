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
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sgwatch/sgwatch/claim"
)

// Table is the sweep's memory, in the idempotency table t.
type Table struct{ t *claim.Table }

// New returns the sweep's memory in the idempotency table t.
func New(t *claim.Table) *Table { return &Table{t: t} }

// TTL is how long the sweep's memory of a scope is kept after the
// last sweep that wrote it: sweeps that stop for longer forget what they
// notified, and notify it again.
const TTL = 30 * 24 * time.Hour

// ErrConflict is the error of a Remember whose scope another sweep wrote
// since it was recalled.
var ErrConflict = errors.New("another sweep wrote it since it was read")

// Recall returns what the sweep last remembered for scope (an account and
// Region) and the version to pass to Remember: nil and 0 when nothing.
func (m *Table) Recall(ctx context.Context, scope string) (data []byte, version int64, err error) {
	item, err := m.t.Get(ctx, key(scope))
	if err != nil {
		return nil, 0, fmt.Errorf("read the sweep's memory of %s in table %s: %w", scope, m.t.Name(), err)
	}
	if item == nil {
		return nil, 0, nil
	}
	b, ok1 := item["data"].(*types.AttributeValueMemberB)
	v, ok2 := item["version"].(*types.AttributeValueMemberN)
	if !ok1 || !ok2 {
		return nil, 0, fmt.Errorf("the sweep's memory of %s in table %s has no data or version", scope, m.t.Name())
	}
	if version, err = strconv.ParseInt(v.Value, 10, 64); err != nil {
		return nil, 0, fmt.Errorf("the sweep's memory of %s in table %s: version %q: %w", scope, m.t.Name(), v.Value, err)
	}
	return b.Value, version, nil
}

// Remember stores data as the sweep's memory of scope at now, if no other
// sweep wrote it since Recall returned version (ErrConflict otherwise).
func (m *Table) Remember(ctx context.Context, scope string, data []byte, version int64, now time.Time) error {
	item := claim.Key(key(scope))
	item["data"] = &types.AttributeValueMemberB{Value: data}
	item["version"], item["expires"] = claim.Number(version+1), claim.Number(now.Add(TTL).Unix())
	in := &dynamodb.PutItemInput{Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}
	if version != 0 {
		in.ConditionExpression = aws.String("#version = :version")
		in.ExpressionAttributeNames = map[string]string{"#version": "version"}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":version": claim.Number(version)}
	}
	err := m.t.Put(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return fmt.Errorf("remember the sweep of %s in table %s: %w", scope, m.t.Name(), ErrConflict)
	case err != nil:
		return fmt.Errorf("remember the sweep of %s in table %s: %w", scope, m.t.Name(), err)
	}
	return nil
}

// key is the key of the sweep's memory of scope; event keys start with
// "event/" and sweep claims with "sweep/".
func key(scope string) string { return "memory/" + scope }
