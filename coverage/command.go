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

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/scan"
)

// Usage is the command's usage text.
const Usage = `usage: sgwatch coverage -regions REGION,... (-stack NAME|ARN | -bus ARN | -function NAME|ARN,...)
                        [-accounts ID,... -assume-role NAME] [-format text|json]

Checks, for each account and Region, that sgwatch sees its security-group
calls: an enabled rule on the default event bus with sgwatch's pattern that
targets the central event bus (a forwarder) or sgwatch's function (the
central rule), and a CloudTrail trail covering the Region that is logging
and records write management events. Only sgwatch's own targets count:
name them with -stack (the central stack, whose FunctionArn and
CentralEventBusArn outputs are read), or with -bus and -function; one of
these is required. Prints one row per account and Region; exit status 1
when any is a BLIND SPOT (or the check cannot start), 0 when all are
covered, 2 for a usage error. Uses the caller's credentials (the AWS SDK's
default chain); without -accounts it checks the caller's own account, with
-accounts it assumes the role NAME in each account listed (the caller's own
account uses the caller's credentials).
`

// Options are the command's parsed arguments.
type Options struct {
	Regions   []string
	Accounts  []string   // empty: the caller's own account
	Role      string     // the role to assume in each account
	Bus       string     // the central event bus ARN forwarders must send to
	Functions []Function // sgwatch's function
	Stack     string     // the central stack's name or ARN, whose outputs name the bus and the function
	JSON      bool
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
	// A CloudFormation stack name, or a stack ARN (its id).
	stackRE = lazyRegexp(`^([A-Za-z][A-Za-z0-9-]{0,127}|arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:[0-9]{12}:stack/[A-Za-z][A-Za-z0-9-]{0,127}/[A-Za-z0-9-]{1,64})$`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// Parse parses the arguments (after "coverage").
func Parse(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("sgwatch coverage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, Usage); fs.PrintDefaults() }
	targets := AddTargetFlags(fs, "check")
	format := fs.String("format", "text", "output `format`: text (a table) or json (one cell per line)")
	bus := fs.String("bus", "", "the central event bus `ARN` (the central stack's CentralEventBusArn output): a forwarder counts only if it sends there")
	functions := fs.String("function", "", "sgwatch's function, comma-separated `names or ARNs` (the central stack's FunctionArn output): a rule that invokes a function counts only if it is this one")
	stack := fs.String("stack", "", "the central stack's `name or ARN` (the stack of template.yaml, in the caller's account): its FunctionArn and CentralEventBusArn outputs are read as -function and -bus")
	var o Options
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	bad := func(format string, a ...any) (Options, error) {
		err := fmt.Errorf(format, a...)
		fmt.Fprintf(stderr, "sgwatch coverage: %v\n", err)
		return o, err
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q", clean.Line(fs.Arg(0), 64))
	}
	t, err := targets.Parse()
	if err != nil {
		return bad("%v", err)
	}
	o.Regions, o.Accounts, o.Role = t.Regions, t.Accounts, t.Role
	switch {
	case *bus != "" && !busRE().MatchString(*bus):
		return bad("-bus: %q is not an event bus ARN (the central stack's CentralEventBusArn output)", clean.Line(*bus, 128))
	case *stack != "" && !stackRE().MatchString(*stack):
		return bad("-stack: %q is not a CloudFormation stack name or ARN", clean.Line(*stack, 128))
	}
	if *functions != "" {
		names, err := scan.ParseList(*functions, "a Lambda function name or ARN", func(s string) bool { _, ok := ParseFunction(s); return ok })
		if err != nil {
			return bad("-function: %v", err)
		}
		for _, n := range names {
			f, _ := ParseFunction(n)
			if f.Account == "" && len(o.Accounts) > 0 {
				// By name, a function of that name in any account checked
				// would count: a member account could make its own.
				return bad("-function: with -accounts, give sgwatch's function as an ARN, not the name %q: a function of that name in another account would count", clean.Line(n, 64))
			}
			o.Functions = append(o.Functions, f)
		}
	}
	o.Bus, o.Stack = *bus, *stack
	switch *format {
	case "text":
	case "json":
		o.JSON = true
	default:
		return bad("-format: %q is neither text nor json", clean.Line(*format, 64))
	}
	if *bus == "" && *functions == "" && *stack == "" {
		return bad("name sgwatch's own targets, which alone count: -stack NAME (the central stack), or -bus ARN and/or -function NAME|ARN")
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
	own, err := ownTargets(ctx, env, o)
	if err != nil {
		fmt.Fprintf(stderr, "sgwatch coverage: %s\n", clean.Line(err.Error(), maxMessage))
		return 1
	}
	cells := (&Checker{Env: env, Own: own}).Check(ctx, accounts, o.Regions)
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
	for _, u := range []struct {
		state RuleState
		what  string
	}{
		{RuleUnconfirmedFunction, "a Lambda function sgwatch cannot confirm is its own: pass -function or -stack"},
		{RuleUnconfirmedBus, "an event bus sgwatch cannot confirm is the central one: pass -bus or -stack"},
	} {
		if n := countRule(cells, u.state); n > 0 {
			cells := "cells send"
			if n == 1 {
				cells = "cell sends"
			}
			fmt.Fprintf(stderr, "sgwatch coverage: %d %s the calls to %s\n", n, cells, u.what)
		}
	}
	fmt.Fprintf(stderr, "sgwatch coverage: %d of %d cells (%d accounts × %d Regions) are blind spots\n",
		blind, len(cells), len(accounts), len(o.Regions))
	if blind > 0 {
		return 1
	}
	return 0
}

// countRule counts the cells whose rule is in state.
func countRule(cells []Cell, state RuleState) int {
	n := 0
	for _, c := range cells {
		if c.Rule == state {
			n++
		}
	}
	return n
}

// ownTargets is sgwatch's own targets: -bus and -function, and the outputs
// of the central stack (-stack), which must name a function.
func ownTargets(ctx context.Context, env Env, o Options) (Own, error) {
	own := Own{Functions: o.Functions}
	if o.Bus != "" {
		own.Buses = append(own.Buses, o.Bus)
	}
	if o.Stack == "" {
		return own, nil
	}
	outputs, err := env.StackOutputs(ctx, o.Stack)
	if err != nil {
		return own, err
	}
	fn, ok := ParseFunction(outputs[OutputFunction])
	if !ok || fn.Account == "" {
		return own, fmt.Errorf("stack %s: no %s output that is a Lambda function ARN: is it sgwatch's central stack (template.yaml)?", o.Stack, OutputFunction)
	}
	own.Functions = append(own.Functions, fn)
	if bus, ok := outputs[OutputBus]; ok { // only a stack that receives forwarded events has one
		if !busRE().MatchString(bus) {
			return own, fmt.Errorf("stack %s: its %s output %q is not an event bus ARN", o.Stack, OutputBus, clean.Line(bus, 128))
		}
		own.Buses = append(own.Buses, bus)
	}
	return own, nil
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
