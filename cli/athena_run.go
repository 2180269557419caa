//go:build !lambda.norpc

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/config"
	sdkathena "github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/sgwatch/sgwatch/athena"
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
	last := types.QueryExecutionState("")
	run := athena.Run{API: sdkathena.NewFromConfig(cfg), Workgroup: workgroup, Query: q, State: func(id string, s types.QueryExecutionState) {
		if s != last {
			fmt.Fprintf(stderr, "sgwatch: athena: query %s %s\n", id, s)
			last = s
		}
	}}
	recs, st, err := run.Records(ctx)
	if err == nil {
		fmt.Fprintf(stderr, "sgwatch: athena: query %s: %d records, %d bytes scanned\n", st.ID, st.Rows, st.BytesScanned)
	}
	return recs, err
}
