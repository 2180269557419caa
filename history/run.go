// Package history runs sgwatch's history query (package athena) on Amazon
// Athena: it starts the query, waits for it, pages through its results and
// rebuilds each row as the CloudTrail record it came from, for the scan's
// pipeline and for the sweep's look for who created a rule. Cancelling
// stops the query. It is the only package with the Athena client: the
// command line and the sweep worker (cmd/sgwatch-sweep) link it, the
// function that handles events does not, for its cold start.
package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/sgwatch/sgwatch/athena"
)

// API is the part of the Athena client a run uses.
type API interface {
	StartQueryExecution(ctx context.Context, in *sdk.StartQueryExecutionInput, opts ...func(*sdk.Options)) (*sdk.StartQueryExecutionOutput, error)
	GetQueryExecution(ctx context.Context, in *sdk.GetQueryExecutionInput, opts ...func(*sdk.Options)) (*sdk.GetQueryExecutionOutput, error)
	GetQueryResults(ctx context.Context, in *sdk.GetQueryResultsInput, opts ...func(*sdk.Options)) (*sdk.GetQueryResultsOutput, error)
	StopQueryExecution(ctx context.Context, in *sdk.StopQueryExecutionInput, opts ...func(*sdk.Options)) (*sdk.StopQueryExecutionOutput, error)
}

// Run is one query on Athena.
type Run struct {
	API       API
	Workgroup string
	Query     athena.Query
	// Wait waits d, or until ctx ends (nil: a timer); tests make it
	// return at once.
	Wait func(ctx context.Context, d time.Duration) error
	// State is told the state the query is seen in and the bytes it has
	// scanned so far, at every look (nil: nothing).
	State func(id string, state types.QueryExecutionState, scanned int64)
}

// Stats is what Athena says of a query that succeeded.
type Stats struct {
	ID           string
	BytesScanned int64
	Rows         int
}

// poll is how long Run waits between looks at a running query: from
// pollMin, doubling, to pollMax.
const (
	pollMin = 200 * time.Millisecond
	pollMax = 5 * time.Second
)

// Records runs the query and returns its rows as CloudTrail records (a
// CloudTrail log file's Records), in the query's order. A query that
// fails or is cancelled (by Athena, or by ctx: then it is stopped) is an
// error that names its id, its state and Athena's reason.
func (r Run) Records(ctx context.Context) ([]json.RawMessage, Stats, error) {
	sql, err := r.Query.SQL()
	if err != nil {
		return nil, Stats{}, err
	}
	layout, _ := r.Query.Layout() // SQL checked it
	start, err := r.API.StartQueryExecution(ctx, &sdk.StartQueryExecutionInput{QueryString: aws.String(sql),
		WorkGroup: aws.String(r.Workgroup), QueryExecutionContext: &types.QueryExecutionContext{Database: aws.String(r.Query.Database)}})
	if err != nil {
		return nil, Stats{}, fmt.Errorf("StartQueryExecution: %w", err)
	}
	st := Stats{ID: aws.ToString(start.QueryExecutionId)}
	wait := r.Wait
	if wait == nil {
		wait = sleep
	}
	for d := pollMin; ; d = min(2*d, pollMax) {
		out, err := r.API.GetQueryExecution(ctx, &sdk.GetQueryExecutionInput{QueryExecutionId: aws.String(st.ID)})
		if err == nil && out.QueryExecution != nil && out.QueryExecution.Status != nil {
			q := out.QueryExecution
			state := q.Status.State
			if q.Statistics != nil {
				st.BytesScanned = aws.ToInt64(q.Statistics.DataScannedInBytes)
			}
			if r.State != nil {
				r.State(st.ID, state, st.BytesScanned)
			}
			switch state {
			case types.QueryExecutionStateSucceeded:
				recs, err := r.results(ctx, layout, &st)
				return recs, st, err
			case types.QueryExecutionStateFailed, types.QueryExecutionStateCancelled:
				return nil, st, fmt.Errorf("query %s %s: %s", st.ID, state, reason(q.Status))
			}
		} else if err != nil && ctx.Err() == nil {
			return nil, st, fmt.Errorf("GetQueryExecution %s: %w", st.ID, err)
		}
		if err := wait(ctx, d); err != nil {
			// Cancelled here: stop the query, whatever it costs so far.
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			_, stopErr := r.API.StopQueryExecution(stopCtx, &sdk.StopQueryExecutionInput{QueryExecutionId: aws.String(st.ID)})
			cancel()
			return nil, st, errors.Join(fmt.Errorf("query %s cancelled: %w", st.ID, err), stopErr)
		}
	}
}

// reason is Athena's reason for a state, or that it gave none.
func reason(s *types.QueryExecutionStatus) string {
	why := aws.ToString(s.StateChangeReason)
	if s.AthenaError != nil && aws.ToString(s.AthenaError.ErrorMessage) != "" {
		why = aws.ToString(s.AthenaError.ErrorMessage)
	}
	if why == "" {
		return "Athena gave no reason"
	}
	return why
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// results pages through a succeeded query's rows (1,000 a page; the
// first row of the first page is the columns' names) and rebuilds each.
func (r Run) results(ctx context.Context, l athena.Layout, st *Stats) ([]json.RawMessage, error) {
	var out []json.RawMessage
	in := &sdk.GetQueryResultsInput{QueryExecutionId: aws.String(st.ID), MaxResults: aws.Int32(1000)}
	for page := 0; ; page++ {
		resp, err := r.API.GetQueryResults(ctx, in)
		if err != nil {
			return out, fmt.Errorf("GetQueryResults %s (page %d): %w", st.ID, page+1, err)
		}
		rows := resp.ResultSet.Rows
		if page == 0 && len(rows) > 0 && isHeader(l, rows[0]) {
			rows = rows[1:]
		}
		for _, row := range rows {
			rec, err := Record(l, row.Data)
			if err != nil {
				return out, fmt.Errorf("query %s, row %d: %w", st.ID, st.Rows+1, err)
			}
			out = append(out, rec)
			st.Rows++
		}
		if aws.ToString(resp.NextToken) == "" {
			return out, nil
		}
		in.NextToken = resp.NextToken
	}
}

// isHeader reports whether row is the names of l's columns.
func isHeader(l athena.Layout, row types.Row) bool {
	if len(row.Data) != len(l.Columns) {
		return false
	}
	for i, c := range l.Columns {
		if aws.ToString(row.Data[i].VarCharValue) != c.Name {
			return false
		}
	}
	return true
}

// Record rebuilds the CloudTrail record of a row of l's columns: each
// value at its field's path, as its Kind says, a null value left out.
func Record(l athena.Layout, data []types.Datum) (json.RawMessage, error) {
	if len(data) != len(l.Columns) {
		return nil, fmt.Errorf("%d values, want the query's %d columns", len(data), len(l.Columns))
	}
	rec := map[string]any{}
	for i, c := range l.Columns {
		v := data[i].VarCharValue
		if v == nil {
			continue
		}
		var val any = *v
		switch c.Kind {
		case athena.JSON:
			if json.Valid([]byte(*v)) {
				val = json.RawMessage(*v)
			}
		case athena.Millis:
			// Text that is no such time stays the text it was: the
			// finding shows it, never a time made up.
			if ms, err := strconv.ParseInt(*v, 10, 64); err == nil {
				val = time.UnixMilli(ms).UTC().Format(time.RFC3339)
			}
		}
		m := rec
		for _, k := range c.Path[:len(c.Path)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[c.Path[len(c.Path)-1]] = val
	}
	return json.Marshal(rec)
}

// Groups is the sweep's look into the history (sweep.History): the records
// of account and region that name any of groups, oldest first, from the
// query over r's table.
func (r Run) Groups(ctx context.Context, account, region string, groups []string) ([][]byte, error) {
	r.Query.Accounts, r.Query.Regions, r.Query.Groups = []string{account}, []string{region}, groups
	recs, _, err := r.Records(ctx)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(recs))
	for i, rec := range recs {
		out[i] = rec
	}
	return out, nil
}
