package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/sgwatch/sgwatch/athena"
	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/clean"
)

// athenaSQL answers "sgwatch -format sql athena://WORKGROUP/DATABASE.TABLE":
// it prints the history query (package athena) with the scan's bounds, for
// the Athena console. Running it from here is not built yet.
func athenaSQL(src, format, since, until, accounts, regions string, now time.Time, stdout, stderr io.Writer) int {
	_, q, err := athena.ParseSource(src)
	if err == nil && format != "sql" {
		err = fmt.Errorf("-format %q: an athena:// source takes -format sql (print the query, to run in the Athena console); sgwatch does not run it on Athena yet", clean.Line(format, 32))
	}
	for _, e := range []error{err, parseTime(since, now, &q.Since), parseTime(until, now, &q.Until),
		parseList(accounts, "an account id", awsid.IsAccountID, &q.Accounts), parseList(regions, "a Region", awsid.IsRegion, &q.Regions)} {
		if e != nil {
			fmt.Fprintf(stderr, "sgwatch: %s\n", clean.Line(e.Error(), 1024))
			return 2
		}
	}
	sql, err := q.SQL()
	if err != nil {
		fmt.Fprintf(stderr, "sgwatch: %s\n", clean.Line(err.Error(), 1024))
		return 2
	}
	fmt.Fprintln(stdout, sql+";")
	return 0
}
