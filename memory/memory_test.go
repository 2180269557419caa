package memory

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sgwatch/sgwatch/claim"
)

// fakeDB keeps one item and answers a conditional write as the memory asks
// it (attribute_not_exists(pk), or #version = :version); the end-to-end
// tests run the same against moto's DynamoDB.
type fakeDB struct {
	item map[string]types.AttributeValue
	err  error
}

func (f *fakeDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	ok := f.item == nil
	if v, has := in.ExpressionAttributeValues[":version"]; has && f.item != nil {
		ok = f.item["version"].(*types.AttributeValueMemberN).Value == v.(*types.AttributeValueMemberN).Value
	}
	if !ok {
		return nil, &types.ConditionalCheckFailedException{Message: aws.String("no")}
	}
	f.item = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

func (f *fakeDB) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{Item: f.item}, f.err
}

func (f *fakeDB) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, errors.New("not used")
}

func (f *fakeDB) DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return nil, errors.New("not used")
}

// TestRememberRecall: a scope remembered is recalled with its version;
// two sweeps that recalled the same version cannot both write; a memory
// with no version is an error, not an empty memory.
func TestRememberRecall(t *testing.T) {
	db := &fakeDB{}
	m := New(claim.New("tbl", func() claim.DynamoDB { return db }))
	ctx, now := context.Background(), time.Unix(1_800_000_000, 0)
	if data, v, err := m.Recall(ctx, "111122223333/eu-west-1"); data != nil || v != 0 || err != nil {
		t.Fatalf("nothing remembered: %q, %d, %v", data, v, err)
	}
	if err := m.Remember(ctx, "111122223333/eu-west-1", []byte("one"), 0, now); err != nil {
		t.Fatal(err)
	}
	if k := db.item["pk"].(*types.AttributeValueMemberS).Value; k != "memory/111122223333/eu-west-1" {
		t.Errorf("key %q", k)
	}
	data, v, err := m.Recall(ctx, "111122223333/eu-west-1")
	if string(data) != "one" || v != 1 || err != nil {
		t.Fatalf("recalled %q, %d, %v", data, v, err)
	}
	if err := m.Remember(ctx, "111122223333/eu-west-1", []byte("two"), v, now); err != nil {
		t.Fatal(err)
	}
	if err := m.Remember(ctx, "111122223333/eu-west-1", []byte("stale"), v, now); !errors.Is(err, ErrConflict) {
		t.Errorf("a second write from the same version: %v, want ErrConflict", err)
	}
	delete(db.item, "version")
	if _, _, err := m.Recall(ctx, "111122223333/eu-west-1"); err == nil {
		t.Error("a memory without a version was read as empty")
	}
	db.err = errors.New("throttled")
	if _, _, err := m.Recall(ctx, "111122223333/eu-west-1"); err == nil {
		t.Error("a failed read was read as empty")
	}
}
