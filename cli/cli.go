// Package cli is sgwatch's command-line mode: it prints the notification
// each CloudTrail event in a file would produce, without any AWS account;
// "sgwatch coverage" and "sgwatch sweep" read AWS with the caller's
// credentials.
package cli

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"time"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/pipeline"
	"github.com/sgwatch/sgwatch/policy"
	"github.com/sgwatch/sgwatch/scan"
)

const usage = `usage: sgwatch [flags] PATH...
       sgwatch coverage -regions REGION,... (-stack NAME|ARN | -bus ARN | -function NAME|ARN,...)
                        [-accounts ID,... -assume-role NAME] [-format text|json]
       sgwatch sweep -regions REGION,... [-accounts ID,... -assume-role NAME]
                     [-format text|json|chat|summary]

Prints the notification sgwatch would publish for each security-group change
in CloudTrail history. Each PATH is a file (an EventBridge event, a
CloudTrail record or a log file, plain or gzip; records one after another or
one per line too), a directory (read recursively: CloudTrail's layout or
any other; digest files and files that are not .json, .json.gz, .gz, .jsonl
or .ndjson are skipped and counted), "-" (standard input), or
s3://BUCKET[/PREFIX] (read with your AWS credentials; AWS_ENDPOINT_URL_S3 as
usual). In CloudTrail's layout (AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/
YYYY/MM/DD/) -since, -until, -accounts and -regions skip whole folders and
files before reading; every record is then checked against them too.
A single athena://WORKGROUP/DATABASE.TABLE runs one query on Amazon Athena
over a CloudTrail table partitioned by account, region and day, with those
flags in its partitions, and scans its records; -format sql prints the query
instead (docs/scan.md).

The function's tuning is read from the environment as the function reads
it: EXTRA_SENSITIVE_PORTS, TRUSTED_PRINCIPALS, TRUSTED_SERVICES, SUPPRESS,
MIN_SEVERITY. Exit status: 0 when everything was read, 1 when a source or a
record could not be (the others are still read), 2 for a usage or
configuration error.

"sgwatch coverage" checks, with your AWS credentials, that every account
and Region listed sends its security-group calls to sgwatch ("sgwatch
coverage -h" for more). "sgwatch sweep" prints, with your AWS credentials,
what is open to the whole internet now ("sgwatch sweep -h"). A file named
coverage or sweep is read as ./coverage or ./sweep.

Flags:
`

// Run runs the command line with args (without the program name) and the
// environment getenv, and returns the exit status: 0 when every source was
// read, 1 when any source or record could not be read or shown (the others
// are still processed), 2 for a usage or configuration error.
//
// "coverage" as the first argument runs the coverage check instead (package
// coverage), and "sweep" the exposure sweep (sweep.go): these two talk to
// AWS, with the caller's credentials.
func Run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "coverage":
			return runCoverage(args[1:], stdout, stderr)
		case "sweep":
			return runSweep(args[1:], getenv, stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("sgwatch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	format := fs.String("format", "text", formatUsage)
	since := fs.String("since", "", "only records from this `time` on: RFC 3339, a date (2026-08-01) or an age (90d, 12h)")
	until := fs.String("until", "", "only records up to this `time` (same forms)")
	accounts := fs.String("accounts", "", "only these `account ids` (comma-separated)")
	regions := fs.String("regions", "", "only these `Regions` (comma-separated)")
	workers := fs.Int("workers", 0, "sources read at the same time (`n`); 0 is one per CPU, 16 for S3")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	now := time.Now()
	var filter scan.Filter
	args = fs.Args()
	if len(args) == 1 && strings.HasPrefix(args[0], "athena://") {
		// The query's records, scanned as standard input is.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		log, done, code := athenaSource(ctx, args[0], *format, *since, *until, *accounts, *regions, now, stdout, stderr)
		stop()
		if done {
			return code
		}
		args, stdin = []string{"-"}, bytes.NewReader(log)
	}
	out, err := newOutput(stdout, *format)
	for _, p := range []struct {
		name string
		err  error
	}{
		{"-format", err},
		{"-since", parseTime(*since, now, &filter.Since)},
		{"-until", parseTime(*until, now, &filter.Until)},
		{"-accounts", parseList(*accounts, "an account id", awsid.IsAccountID, &filter.Accounts)},
		{"-regions", parseList(*regions, "a Region", awsid.IsRegion, &filter.Regions)},
	} {
		if p.err != nil {
			fmt.Fprintf(stderr, "sgwatch: %s: %v\n", p.name, p.err)
			return 2
		}
	}
	if !filter.Since.IsZero() && !filter.Until.IsZero() && filter.Until.Before(filter.Since) {
		fmt.Fprintf(stderr, "sgwatch: -until %s is before -since %s\n", filter.Until.Format(time.RFC3339), filter.Since.Format(time.RFC3339))
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	pol, err := policy.FromEnv(getenv, now)
	if err != nil {
		fmt.Fprintf(stderr, "sgwatch: configuration: %v\n", err)
		return 2
	}
	if getenv("GOGC") == "" && getenv("GOMEMLIMIT") == "" {
		// A scan allocates fast and keeps little: collect a fifth as often
		// (10% faster on bench/scan.sh), within a memory limit that keeps
		// the process under 64 MiB.
		defer debug.SetGCPercent(debug.SetGCPercent(400))
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(scanMemoryLimit))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errw := &lines{w: stderr}
	sc := &scan.Scanner{
		Pipeline: pipeline.Pipeline{Policy: pol, Format: out.format, Now: func() time.Time { return now }},
		Filter:   filter,
		Workers:  *workers,
		S3:       s3Trees,
		Stdin:    stdin,
	}
	if isTerminal(stderr) && !isTerminal(stdout) {
		// Not when the findings go to the same terminal: the line would
		// be drawn over them.
		stop := progress(sc, errw, now)
		defer stop()
	}
	var (
		unshown      int
		firstUnshown string
		writeErr     error
		offline      int // findings live context would judge otherwise
	)
	st := sc.Run(ctx, args, func(e scan.Event) {
		name := clean.Line(e.Source, 1024)
		if e.Err == nil && !e.NoCalls && e.Result.Finding.NeedsContext() {
			offline++
		}
		switch {
		case e.Err != nil:
			errw.printf("sgwatch: %s: %s\n", name, clean.Line(e.Err.Error(), 2048))
		case e.NoCalls:
			errw.printf("sgwatch: %s: not a security-group change; no notification\n", name)
		case !e.Result.Decision.Publish:
			fd := e.Result.Finding
			why := fmt.Sprintf("%s finding for %s not published: %s", fd.Severity, clean.Line(fd.Event.Name, 64), clean.Line(e.Result.Decision.Why, 512))
			if e.Named {
				errw.printf("sgwatch: %s: %s\n", name, why)
				return
			}
			if unshown == 0 {
				firstUnshown = name + ": " + why
			}
			unshown++
		case e.Result.Err != nil:
			// One finding that cannot be shown does not stop the others.
			fd := e.Result.Finding
			errw.printf("sgwatch: %s: %s finding for event %s: %s\n", name, fd.Severity,
				clean.Line(fd.Event.ID, 128), clean.Line(e.Result.Err.Error(), 512))
			writeErr = cmp.Or(writeErr, errNotShown)
		default:
			r := e.Result
			if r.Decision.Why != "" {
				errw.printf("sgwatch: %s: %s finding for %s: %s\n", name, r.Finding.Severity,
					clean.Line(r.Finding.Event.Name, 64), clean.Line(r.Decision.Why, 512))
			}
			if writeErr == nil || writeErr == errNotShown {
				if err := out.add(*r); err != nil {
					writeErr = err
					cancel()
				}
			}
		}
	})
	if err := out.close(writeErr == nil); err != nil && writeErr == nil {
		writeErr = err
	}
	if unshown > 0 {
		errw.printf("sgwatch: %d findings not shown by the policy; the first: %s\n", unshown, firstUnshown)
	}
	if offline > 0 {
		// The findings say it too: judged offline, they have no "context".
		errw.printf("sgwatch: %d findings judged offline, on their call's rules alone: with live context (the function's ENRICH=true) the group's other rules, the other groups of its interfaces and prefix list entries count too (docs/exposure.md)\n", offline)
	}
	if skipped := st.Digests + st.NotLogs + st.Filtered; skipped > 0 {
		errw.printf("sgwatch: read %d sources; skipped %d digest, %d not log, %d outside the filter\n", st.Sources, st.Digests, st.NotLogs, st.Filtered)
	}
	if writeErr != nil && writeErr != errNotShown {
		errw.printf("sgwatch: write: %v\n", writeErr)
		return 1
	}
	if st.Errors > 0 || writeErr != nil {
		return 1
	}
	return 0
}

var errNotShown = errors.New("a finding could not be shown")

// scanMemoryLimit is the heap the scan's garbage collector aims to stay
// under (GOMEMLIMIT); the process's peak is about 50 MiB.
const scanMemoryLimit = 40 << 20

func parseTime(s string, now time.Time, dst *time.Time) (err error) {
	if s != "" {
		*dst, err = scan.ParseTime(s, now)
	}
	return err
}

func parseList(s, what string, valid func(string) bool, dst *[]string) (err error) {
	*dst, err = scan.ParseList(s, what, valid)
	return err
}
