package history

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/sgwatch/sgwatch/athena"
	"github.com/sgwatch/sgwatch/detect"
)

// fakeAthena answers a query through states, then pages of rows.
type fakeAthena struct {
	states  []types.QueryExecutionState
	reason  string
	pages   [][]types.Row
	looks   int
	stopped bool
	sql     string
}

func (f *fakeAthena) StartQueryExecution(_ context.Context, in *sdk.StartQueryExecutionInput, _ ...func(*sdk.Options)) (*sdk.StartQueryExecutionOutput, error) {
	f.sql = aws.ToString(in.QueryString)
	return &sdk.StartQueryExecutionOutput{QueryExecutionId: aws.String("q-1")}, nil
}

func (f *fakeAthena) GetQueryExecution(context.Context, *sdk.GetQueryExecutionInput, ...func(*sdk.Options)) (*sdk.GetQueryExecutionOutput, error) {
	s := f.states[min(f.looks, len(f.states)-1)]
	f.looks++
	return &sdk.GetQueryExecutionOutput{QueryExecution: &types.QueryExecution{
		Status:     &types.QueryExecutionStatus{State: s, StateChangeReason: aws.String(f.reason)},
		Statistics: &types.QueryExecutionStatistics{DataScannedInBytes: aws.Int64(12345)}}}, nil
}

func (f *fakeAthena) GetQueryResults(_ context.Context, in *sdk.GetQueryResultsInput, _ ...func(*sdk.Options)) (*sdk.GetQueryResultsOutput, error) {
	i := 0
	if t := aws.ToString(in.NextToken); t != "" {
		i = int(t[0] - '0')
	}
	out := &sdk.GetQueryResultsOutput{ResultSet: &types.ResultSet{Rows: f.pages[i]}}
	if i+1 < len(f.pages) {
		out.NextToken = aws.String(string(rune('0' + i + 1)))
	}
	return out, nil
}

func (f *fakeAthena) StopQueryExecution(context.Context, *sdk.StopQueryExecutionInput, ...func(*sdk.Options)) (*sdk.StopQueryExecutionOutput, error) {
	f.stopped = true
	return &sdk.StopQueryExecutionOutput{}, nil
}

// row is a record as the query's row.
func row(t *testing.T, record string) types.Row {
	t.Helper()
	var rec map[string]any
	if err := json.Unmarshal([]byte(record), &rec); err != nil {
		t.Fatal(err)
	}
	var r types.Row
	for _, c := range athena.CloudTrail.Columns {
		var v any = rec
		for _, k := range c.Path {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		switch x := v.(type) {
		case nil:
			r.Data = append(r.Data, types.Datum{})
		case string:
			r.Data = append(r.Data, types.Datum{VarCharValue: aws.String(x)})
		default:
			b, _ := json.Marshal(x)
			r.Data = append(r.Data, types.Datum{VarCharValue: aws.String(string(b))})
		}
	}
	return r
}

func header() types.Row {
	var r types.Row
	for _, c := range athena.CloudTrail.Columns {
		r.Data = append(r.Data, types.Datum{VarCharValue: aws.String(c.Name)})
	}
	return r
}

const world = `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice","accountId":"111122223333",
"sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/Admin"},"attributes":{"mfaAuthenticated":"true"}}},
"eventTime":"2026-11-20T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","awsRegion":"eu-west-1",
"sourceIPAddress":"198.51.100.23","userAgent":"aws-cli","requestParameters":{"groupId":"sg-0123456789abcdef0","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}},
"responseElements":{"_return":true},"requestID":"r-1","eventID":"e-1","eventType":"AwsApiCall","recipientAccountId":"111122223333"}`

// TestRun: a query is waited for through its states, its pages read
// (the header row left out), and each row rebuilt as the record it came
// from, judged as the record itself is; a failed or cancelled query is an
// error naming its state and reason; a run cancelled while the query runs
// stops it.
func TestRun(t *testing.T) {
	q := athena.Query{Database: "cloudtrail", Table: "logs"}
	noWait := func(context.Context, time.Duration) error { return nil }
	second := strings.Replace(world, `"e-1"`, `"e-2"`, 1)
	f := &fakeAthena{states: []types.QueryExecutionState{types.QueryExecutionStateQueued, types.QueryExecutionStateRunning, types.QueryExecutionStateSucceeded},
		pages: [][]types.Row{{header(), row(t, world)}, {row(t, second)}}}
	var seen []types.QueryExecutionState
	recs, st, err := Run{API: f, Workgroup: "primary", Query: q, Wait: noWait, State: func(_ string, s types.QueryExecutionState, scanned int64) {
		if scanned == 12345 {
			seen = append(seen, s)
		}
	}}.Records(context.Background())
	if err != nil || len(recs) != 2 || st.ID != "q-1" || st.BytesScanned != 12345 || st.Rows != 2 || len(seen) != 3 || !strings.Contains(f.sql, `FROM "cloudtrail"."logs"`) {
		t.Fatalf("%d records, %+v, states %v, %v", len(recs), st, seen, err)
	}
	want, _ := detect.Parse([]byte(world), detect.Scoring{})
	got, err := detect.Parse(recs[0], detect.Scoring{})
	g, _ := json.Marshal(got.Findings)
	w, _ := json.Marshal(want.Findings)
	if err != nil || len(got.Findings) != 1 || string(g) != string(w) {
		t.Errorf("rebuilt record judged\n%s\nwant\n%s (%v)", g, w, err)
	}
	for _, c := range []struct {
		state types.QueryExecutionState
		want  string
	}{
		{types.QueryExecutionStateFailed, "query q-1 FAILED: TABLE_NOT_FOUND: cloudtrail.logs"},
		{types.QueryExecutionStateCancelled, "query q-1 CANCELLED: TABLE_NOT_FOUND"},
	} {
		f := &fakeAthena{states: []types.QueryExecutionState{c.state}, reason: "TABLE_NOT_FOUND: cloudtrail.logs"}
		if _, _, err := (Run{API: f, Workgroup: "primary", Query: q, Wait: noWait}).Records(context.Background()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.state, err)
		}
	}
	running := &fakeAthena{states: []types.QueryExecutionState{types.QueryExecutionStateRunning}}
	ctx, cancel := context.WithCancel(context.Background())
	stop := func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }
	if _, _, err := (Run{API: running, Workgroup: "primary", Query: q, Wait: stop}).Records(ctx); !errors.Is(err, context.Canceled) || !running.stopped || !strings.Contains(err.Error(), "query q-1 cancelled") {
		t.Errorf("cancelled: %v, stopped %v", err, running.stopped)
	}
}

// TestRecordSecurityLake: a row of Security Lake's table, written by hand
// as the OCSF mapping puts the world record's fields (the time in
// milliseconds, MFA a boolean, the session issuer its ARN alone), is
// rebuilt as a record judged as the world record itself is; a time that is
// not milliseconds stays the text it was, which the finding shows.
func TestRecordSecurityLake(t *testing.T) {
	ocsf := map[string]string{
		"eventversion": "1.09", "type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/Admin/alice", "useraccountid": "111122223333",
		"sessionissuer": "arn:aws:iam::111122223333:role/Admin", "mfaauthenticated": "true", "eventtime": "1795168800000",
		"eventsource": "ec2.amazonaws.com", "eventname": "AuthorizeSecurityGroupIngress", "awsregion": "eu-west-1",
		"sourceipaddress": "198.51.100.23", "useragent": "aws-cli",
		"requestparameters": `{"groupId":"sg-0123456789abcdef0","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}`,
		"responseelements":  `{"_return":true}`, "requestid": "r-1", "eventid": "e-1", "eventtype": "AwsApiCall", "recipientaccountid": "111122223333",
	}
	row := func(m map[string]string) []types.Datum {
		var d []types.Datum
		for _, c := range athena.SecurityLake.Columns {
			if v, ok := m[c.Name]; ok {
				d = append(d, types.Datum{VarCharValue: aws.String(v)})
			} else {
				d = append(d, types.Datum{})
			}
		}
		return d
	}
	rec, err := Record(athena.SecurityLake, row(ocsf))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := detect.Parse([]byte(world), detect.Scoring{})
	got, err := detect.Parse(rec, detect.Scoring{})
	g, _ := json.Marshal(got.Findings)
	w, _ := json.Marshal(want.Findings)
	if err != nil || len(got.Findings) != 1 || string(g) != string(w) {
		t.Errorf("rebuilt record %s\njudged\n%s\nwant\n%s (%v)", rec, g, w, err)
	}
	ocsf["eventtime"] = "2026-11-20 10:00:00.000"
	rec, err = Record(athena.SecurityLake, row(ocsf))
	if b, perr := detect.Parse(rec, detect.Scoring{}); err != nil || perr != nil || len(b.Findings) != 1 || b.Findings[0].Event.Time != ocsf["eventtime"] {
		t.Errorf("a time not in milliseconds: %s, %v, %v", rec, err, perr)
	}
	if _, err := Record(athena.SecurityLake, row(ocsf)[1:]); err == nil {
		t.Error("a row short of a column was rebuilt")
	}
}
