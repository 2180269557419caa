package coverage

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"regexp"
	"sync"
	"text/tabwriter"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/scan"
)

// Usage is the command's usage text.
const Usage = `usage: sgwatch coverage -regions REGION,... [-accounts ID,... -assume-role NAME] [-format text|json]

Checks, for each account and Region, that sgwatch sees its security-group
calls: an enabled rule on the default event bus with sgwatch's pattern that
targets an event bus (a forwarder) or a Lambda function (the central rule),
and a CloudTrail trail covering the Region that is logging and records write
management events. Prints one row per account and Region; exit status 1 when
any is a BLIND SPOT (or the check cannot start), 0 when all are covered, 2
for a usage error. Uses the caller's credentials (the AWS SDK's default
chain); without -accounts it checks the caller's own account, with -accounts
it assumes the role NAME in each account listed (the caller's own account
uses the caller's credentials).
`

// Options are the command's parsed arguments.
type Options struct {
	Regions  []string
	Accounts []string // empty: the caller's own account
	Role     string   // the role to assume in each account
	Bus      string   // the central event bus ARN forwarders must send to; "": any bus
	JSON     bool
}

// Connect makes the Env for a run; Main calls it only when the arguments
// are valid.
type Connect func(ctx context.Context, o Options) (Env, error)

// The forms of the arguments, compiled on first use: not when the Lambda
// function, which never runs this command, starts.
var (
	// An IAM role name, with an optional path.
	roleRE = lazyRegexp(`^([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)
	busRE  = lazyRegexp(`^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._/-]{1,256}$`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// Parse parses the arguments (after "coverage").
func Parse(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("sgwatch coverage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, Usage); fs.PrintDefaults() }
	regions := fs.String("regions", "", "comma-separated `Regions` to check (required)")
	accounts := fs.String("accounts", "", "comma-separated account `ids` to check (default: the caller's own account)")
	role := fs.String("assume-role", "", "the role `NAME` to assume in each account of -accounts, e.g. OrganizationAccountAccessRole")
	format := fs.String("format", "text", "output `format`: text (a table) or json (one cell per line)")
	bus := fs.String("bus", "", "the central event bus `ARN` (the central stack's CentralEventBusArn output): a forwarder counts only if it sends there (default: any event bus)")
	var o Options
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	bad := func(format string, a ...any) (Options, error) {
		err := fmt.Errorf(format, a...)
		fmt.Fprintf(stderr, "sgwatch coverage: %v\n", err)
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q", clean.Line(fs.Arg(0), 64))
	case *regions == "":
		fs.Usage()
		return bad("-regions is required")
	case *role != "" && *accounts == "":
		return bad("-assume-role needs -accounts")
	case *accounts != "" && *role == "":
		return bad("-accounts needs -assume-role (the role to assume in each account)")
	case *role != "" && !roleRE().MatchString(*role):
		return bad("-assume-role: %q is not a role name", clean.Line(*role, 64))
	case *bus != "" && !busRE().MatchString(*bus):
		return bad("-bus: %q is not an event bus ARN (the central stack's CentralEventBusArn output)", clean.Line(*bus, 128))
	}
	var err error
	if o.Regions, err = scan.ParseList(*regions, "a Region", awsid.IsRegion); err != nil {
		return bad("-regions: %v", err)
	}
	if *accounts != "" {
		if o.Accounts, err = scan.ParseList(*accounts, "an account id (12 digits)", awsid.IsAccountID); err != nil {
			return bad("-accounts: %v", err)
		}
	}
	o.Role, o.Bus = *role, *bus
	switch *format {
	case "text":
	case "json":
		o.JSON = true
	default:
		return bad("-format: %q is neither text nor json", clean.Line(*format, 64))
	}
	return o, nil
}

// Main runs "sgwatch coverage" with args (those after "coverage") and
// returns the exit status: 0 when every cell is covered, 1 when any is a
// blind spot or the check cannot start (no credentials), 2 for a usage
// error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, connect Connect) int {
	o, err := Parse(args, stderr)
	if err != nil {
		return 2
	}
	env, err := connect(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "sgwatch coverage: %s\n", clean.Line(err.Error(), maxMessage))
		return 1
	}
	// Who the caller is comes first: it names the account to check without
	// -accounts, and the Env learns its partition from it.
	self, err := env.Caller(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "sgwatch coverage: %s\n", clean.Line(err.Error(), maxMessage))
		return 1
	}
	accounts := o.Accounts
	if len(accounts) == 0 {
		accounts = []string{self}
	}
	cells := (&Checker{Env: env, Bus: o.Bus}).Check(ctx, accounts, o.Regions)
	out := bufio.NewWriter(stdout)
	if o.JSON {
		err = WriteJSON(out, cells)
	} else {
		err = WriteText(out, cells)
	}
	if err == nil {
		err = out.Flush()
	}
	if err != nil {
		fmt.Fprintf(stderr, "sgwatch coverage: write: %v\n", err)
		return 1
	}
	blind := 0
	for _, c := range cells {
		if c.Verdict == BlindSpot {
			blind++
		}
		if o.JSON { // the JSON lines carry the messages themselves
			continue
		}
		errs := []*CallError{c.RuleError}
		if c.TrailError != c.RuleError { // a login error is both, shown once
			errs = append(errs, c.TrailError)
		}
		for _, e := range errs {
			if e != nil {
				fmt.Fprintf(stderr, "sgwatch coverage: %s %s: %s\n", c.Account, c.Region, e.Message)
			}
		}
	}
	fmt.Fprintf(stderr, "sgwatch coverage: %d of %d cells (%d accounts × %d Regions) are blind spots\n",
		blind, len(cells), len(accounts), len(o.Regions))
	if blind > 0 {
		return 1
	}
	return 0
}

// WriteText writes the cells as a table, one row each.
func WriteText(w io.Writer, cells []Cell) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tREGION\tRULE\tTRAIL\tVERDICT")
	for _, c := range cells {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Account, c.Region,
			column(string(c.Rule), c.RuleName, c.RuleError), column(string(c.Trail), c.TrailName, c.TrailError), c.Verdict)
	}
	return tw.Flush()
}

// column is a table cell: the state, then the failed call or the name.
func column(state, name string, err *CallError) string {
	switch {
	case err != nil:
		return state + ": " + err.String()
	case name != "":
		return state + " (" + name + ")"
	}
	return state
}

// WriteJSON writes the cells as JSON, one per line.
func WriteJSON(w io.Writer, cells []Cell) error {
	enc := json.NewEncoder(w)
	for _, c := range cells {
		if err := enc.Encode(c); err != nil {
			return err
		}
	}
	return nil
}
