//go:build !lambda.norpc

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	sdkathena "github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/sgwatch/sgwatch/athena"
	"github.com/sgwatch/sgwatch/history"
)

// athenaRecords runs q in workgroup with the caller's credentials
// (AWS_ENDPOINT_URL_ATHENA for a local endpoint), saying on stderr each
// state the query is seen in and, at the end, its id and the bytes it
// scanned. The Lambda build leaves the Athena client out: the function
// never scans.
func athenaRecords(ctx context.Context, workgroup string, q athena.Query, stderr io.Writer) ([]json.RawMessage, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	// Each new state on a line of its own; on a terminal, a progress line
	// with the time and the bytes scanned so far, redrawn at every look.
	out := &lines{w: stderr}
	live := isTerminal(stderr)
	start := time.Now()
	last := types.QueryExecutionState("")
	run := history.Run{API: sdkathena.NewFromConfig(cfg), Workgroup: workgroup, Query: q, State: func(id string, s types.QueryExecutionState, scanned int64) {
		if s != last {
			out.printf("sgwatch: athena: query %s %s\n", id, s)
			last = s
		}
		if live {
			out.status(fmt.Sprintf("sgwatch: athena: %s, %.1f MB scanned, %s", s, float64(scanned)/1e6, time.Since(start).Round(time.Second)))
		}
	}}
	recs, st, err := run.Records(ctx)
	if live {
		out.status("")
	}
	if err == nil {
		out.printf("sgwatch: athena: query %s: %d records, %d bytes scanned\n", st.ID, st.Rows, st.BytesScanned)
	}
	return recs, err
}
