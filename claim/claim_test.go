package claim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// fakeDB answers each call with the next scripted answer and records the
// requests. The conditions themselves are DynamoDB's (tested against
// moto's DynamoDB by the end-to-end tests); this checks what the table asks
// and how it reads the answers.
type fakeDB struct {
	put  []error                         // PutItem's answers, in turn
	item map[string]types.AttributeValue // GetItem's answer
	puts []*dynamodb.PutItemInput        // what was asked
	gets int
	upd  []*dynamodb.UpdateItemInput
	del  []*dynamodb.DeleteItemInput
	err  error // of UpdateItem and DeleteItem
}

func (f *fakeDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.puts = append(f.puts, in)
	err := f.put[0]
	f.put = f.put[1:]
	return &dynamodb.PutItemOutput{}, err
}

func (f *fakeDB) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.gets++
	return &dynamodb.GetItemOutput{Item: f.item}, nil
}

func (f *fakeDB) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	f.upd = append(f.upd, in)
	return &dynamodb.UpdateItemOutput{}, f.err
}

func (f *fakeDB) DeleteItem(_ context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	f.del = append(f.del, in)
	return &dynamodb.DeleteItemOutput{}, f.err
}

func state(s string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "k"}, "state": &types.AttributeValueMemberS{Value: s}}
}

func TestClaim(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	failed := func(old map[string]types.AttributeValue) error {
		return &types.ConditionalCheckFailedException{Message: aws.String("no"), Item: old}
	}
	cases := []struct {
		name  string
		put   error
		item  map[string]types.AttributeValue // what a read finds
		want  State
		gets  int
		isErr bool
	}{
		{"free", nil, nil, Claimed, 0, false},
		{"published, the old item returned", failed(state(published)), nil, Published, 0, false},
		{"being published, the old item returned", failed(state(publishing)), nil, Busy, 0, false},
		{"published, the old item read", failed(nil), state(published), Published, 1, false},
		{"the table unreachable", errors.New("dial tcp: connection refused"), nil, Claimed, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := &fakeDB{put: []error{c.put}, item: c.item}
			got, err := New("tbl", func() DynamoDB { return db }).Claim(context.Background(), "event/e/0", now, 30*time.Second)
			if got != c.want || (err != nil) != c.isErr || db.gets != c.gets {
				t.Fatalf("%v, %v after %d reads; want %v, error %v, %d reads", got, err, db.gets, c.want, c.isErr, c.gets)
			}
			in := db.puts[0]
			if aws.ToString(in.TableName) != "tbl" || !strings.Contains(aws.ToString(in.ConditionExpression), "attribute_not_exists(pk)") ||
				in.ExpressionAttributeValues[":stale"].(*types.AttributeValueMemberN).Value != "1799999970" ||
				in.Item["expires"].(*types.AttributeValueMemberN).Value != "1800259200" {
				t.Errorf("claim asked %+v", in)
			}
		})
	}
}

func TestDoneAndRelease(t *testing.T) {
	db := &fakeDB{}
	tbl := New("tbl", func() DynamoDB { return db })
	if err := tbl.Done(context.Background(), "k", time.Unix(0, 0)); err != nil || len(db.upd) != 1 ||
		db.upd[0].ExpressionAttributeValues[":published"].(*types.AttributeValueMemberS).Value != published {
		t.Errorf("Done: %v, %+v", err, db.upd)
	}
	db.err = &types.ConditionalCheckFailedException{}
	if err := tbl.Release(context.Background(), "k"); err != nil || !strings.Contains(aws.ToString(db.del[0].ConditionExpression), ":publishing") {
		t.Errorf("Release of a published key: %v (a published record is never removed, and that is no error)", err)
	}
	db.err = errors.New("throttled")
	if err := tbl.Release(context.Background(), "k"); err == nil || !strings.Contains(err.Error(), "release k in table tbl") {
		t.Errorf("Release: %v", err)
	}
}
