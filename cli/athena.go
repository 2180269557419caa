package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/sgwatch/sgwatch/athena"
	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/clean"
)

// athenaSource reads an athena://WORKGROUP/DATABASE.TABLE source with the
// scan's flags. With -format sql it prints the history query (package
// athena), for the Athena console, and done is true; otherwise it runs the
// query (athenaRecords) and returns its records as a CloudTrail log, to be
// scanned as standard input is. code is the exit status when done.
func athenaSource(ctx context.Context, src, format, since, until, accounts, regions string, now time.Time, stdout, stderr io.Writer) (log []byte, done bool, code int) {
	wg, q, err := athena.ParseSource(src)
	for _, e := range []error{err, parseTime(since, now, &q.Since), parseTime(until, now, &q.Until),
		parseList(accounts, "an account id", awsid.IsAccountID, &q.Accounts), parseList(regions, "a Region", awsid.IsRegion, &q.Regions)} {
		if e != nil {
			fmt.Fprintf(stderr, "sgwatch: %s\n", clean.Line(e.Error(), 1024))
			return nil, true, 2
		}
	}
	if format == "sql" {
		sql, err := q.SQL()
		if err != nil {
			fmt.Fprintf(stderr, "sgwatch: %s\n", clean.Line(err.Error(), 1024))
			return nil, true, 2
		}
		fmt.Fprintln(stdout, sql+";")
		return nil, true, 0
	}
	if _, err := newOutput(io.Discard, format); err != nil {
		fmt.Fprintf(stderr, "sgwatch: -format: %v\n", err)
		return nil, true, 2
	}
	recs, err := athenaRecords(ctx, wg, q, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sgwatch: %s: %s\n", clean.Line(src, 512), clean.Line(err.Error(), 2048))
		return nil, true, 1
	}
	log, err = json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		fmt.Fprintf(stderr, "sgwatch: %s: %v\n", clean.Line(src, 512), err)
		return nil, true, 1
	}
	return log, false, 0
}
