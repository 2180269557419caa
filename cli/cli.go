// Package cli is sgwatch's command-line mode: it prints the notification
// each CloudTrail event in a file would produce, without any AWS account.
package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/pipeline"
	"github.com/sgwatch/sgwatch/policy"
	"github.com/sgwatch/sgwatch/report"
)

const usage = `usage: sgwatch [-format text|json] FILE...
       sgwatch coverage -regions REGION,... [-accounts ID,... -assume-role NAME] [-format text|json]

Prints the notification sgwatch would publish for each security-group change
in each FILE: an EventBridge event, a CloudTrail record, or a CloudTrail log
file (plain or gzip). "-" reads standard input. The function's tuning is read
from the environment as the function reads it: EXTRA_SENSITIVE_PORTS,
TRUSTED_PRINCIPALS, TRUSTED_SERVICES, SUPPRESS, MIN_SEVERITY.

"sgwatch coverage" checks, with your AWS credentials, that every account
and Region listed sends its security-group calls to sgwatch ("sgwatch
coverage -h" for more). A file named coverage is read as ./coverage.
`

// Run runs the command line with args (without the program name) and the
// environment getenv, and returns the exit status: 0 when every file was
// read, 1 when any could not be read or parsed (the others are still
// processed), 2 for a usage or configuration error.
//
// "coverage" as the first argument runs the coverage check instead (package
// coverage), which alone talks to AWS.
func Run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "coverage" {
		return runCoverage(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("sgwatch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	format := fs.String("format", "text", "output `format`: text (subject and body) or json (one finding per line)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		fmt.Fprintf(stderr, "sgwatch: -format: %v\n", err)
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	now := time.Now()
	pol, err := policy.FromEnv(getenv, now)
	if err != nil {
		fmt.Fprintf(stderr, "sgwatch: configuration: %v\n", err)
		return 2
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	p := pipeline.Pipeline{Policy: pol, Format: f, Now: func() time.Time { return now }}
	status := 0
	printed := 0
	for _, name := range fs.Args() {
		data, err := read(name, stdin)
		if err != nil {
			fmt.Fprintf(stderr, "sgwatch: %s: %v\n", name, err)
			status = 1
			continue
		}
		res, err := p.Run(context.Background(), data)
		for _, r := range res.Results {
			fd := r.Finding
			switch {
			case !r.Decision.Publish:
				fmt.Fprintf(stderr, "sgwatch: %s: %s finding for %s not published: %s\n", name, fd.Severity,
					report.Clean(fd.Event.Name, 64), report.Clean(r.Decision.Why, 512))
			case r.Err != nil:
				// One finding that cannot be shown does not stop the others.
				fmt.Fprintf(stderr, "sgwatch: %s: %s finding for event %s: %s\n", name, fd.Severity,
					report.Clean(fd.Event.ID, 128), report.Clean(r.Err.Error(), 512))
				status = 1
			default:
				if r.Decision.Why != "" {
					fmt.Fprintf(stderr, "sgwatch: %s: %s finding for %s: %s\n", name, fd.Severity,
						report.Clean(fd.Event.Name, 64), report.Clean(r.Decision.Why, 512))
				}
				if err := write(out, r.Notification, f, printed); err != nil {
					fmt.Fprintf(stderr, "sgwatch: write: %v\n", err)
					return 1
				}
				printed++
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "sgwatch: %s: %s\n", name, report.Clean(err.Error(), 2048))
			status = 1
			continue
		}
		if len(res.Results) == 0 {
			fmt.Fprintf(stderr, "sgwatch: %s: not a security-group change; no notification\n", name)
		}
	}
	return status
}

func read(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(stdin, detect.MaxInput))
	}
	return os.ReadFile(name)
}

// write prints what the function would publish: the JSON body on one line,
// or the subject and text body.
func write(w io.Writer, n report.Notification, f report.Format, printed int) error {
	if f == report.JSON {
		_, err := fmt.Fprintln(w, n.Body)
		return err
	}
	if printed > 0 {
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintf(w, "Subject: %s\n\n%s", n.Subject, n.Body)
	return err
}
