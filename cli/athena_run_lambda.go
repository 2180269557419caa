//go:build lambda.norpc

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/sgwatch/sgwatch/athena"
)

// athenaRecords is an error in the Lambda build: the function never scans,
// and leaves the Athena client out (see athena_run.go).
func athenaRecords(context.Context, string, athena.Query, io.Writer) ([]json.RawMessage, error) {
	return nil, errors.New("athena:// is read by the command line, not by the Lambda build")
}
