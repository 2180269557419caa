//go:build !lambda.norpc

package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/coverage"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/pipeline"
	"github.com/sgwatch/sgwatch/policy"
	"github.com/sgwatch/sgwatch/sweep"
)

// sweepUsage is the usage text of "sgwatch sweep".
const sweepUsage = `usage: sgwatch sweep -regions REGION,... [-accounts ID,... -assume-role NAME]
                     [-format text|json|chat|summary]

Lists, with your AWS credentials, every security group and rule of each
account and Region, and prints an exposure finding for each ingress rule
open to the whole internet now, judged and scored as the function's sweep
judges them, in the formats of a scan. Read-only: it remembers nothing,
publishes nothing, and does not look up in CloudTrail who created a rule.
Without -accounts it sweeps the caller's own account; with -accounts it
assumes the role NAME in each account listed (the caller's own account
uses the caller's credentials). AWS_ENDPOINT_URL* as usual.

The function's tuning is read from the environment as the function reads
it: EXTRA_SENSITIVE_PORTS, TRUSTED_PRINCIPALS, TRUSTED_SERVICES, SUPPRESS,
MIN_SEVERITY; an exposure they hold back is named on standard error, not
printed. Exit status: 0 when nothing is open, 1 when an exposure is printed
or an account and Region could not be listed (named on standard error; the
others are still swept), 2 for a usage or configuration error.

Flags:
`

// sweepEnv is what "sgwatch sweep" reads AWS with.
type sweepEnv struct {
	// Caller returns the caller's account and partition.
	Caller func(ctx context.Context) (account, partition string, err error)
	// Lister returns the lister of a target.
	Lister func(ctx context.Context, t sweep.Target) (sweep.Lister, error)
}

// sweepConnect makes the sweepEnv of a run over regions; it is called only
// when the arguments are valid.
type sweepConnect func(ctx context.Context, regions []string) (sweepEnv, error)

// runSweep runs "sgwatch sweep" against AWS. The Lambda build (-tags
// lambda.norpc) leaves it out (sweep_lambda.go): the function sweeps on
// its schedule, never from its arguments.
func runSweep(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	return sweepMain(context.Background(), args, getenv, stdout, stderr, awsSweep)
}

// awsSweep is the sweepConnect of the real command: the caller's
// credentials, Region and endpoints from the SDK's default chain
// (environment, shared files, AWS_ENDPOINT_URL…), and the function's
// listers (sweep.Clients).
func awsSweep(ctx context.Context, regions []string) (sweepEnv, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return sweepEnv{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" { // STS needs one; the first swept will do
		cfg.Region = regions[0]
	}
	clients := &sweep.Clients{Config: cfg}
	return sweepEnv{
		Caller: func(ctx context.Context) (string, string, error) { return sweep.Caller(ctx, sts.NewFromConfig(cfg)) },
		Lister: clients.Lister,
	}, nil
}

// swept is what the listing of one target found.
type swept struct {
	groups, rules int
	exposures     []detect.Finding
	err           error
}

// sweepMain runs "sgwatch sweep" with args (those after "sweep") and
// returns the exit status.
func sweepMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, connect sweepConnect) int {
	fs := flag.NewFlagSet("sgwatch sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, sweepUsage); fs.PrintDefaults() }
	flags := coverage.AddTargetFlags(fs, "sweep")
	format := fs.String("format", "text", formatUsage)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	errw := &lines{w: stderr}
	usage := func(format string, a ...any) int {
		errw.printf("sgwatch sweep: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", clean.Line(fs.Arg(0), 64))
	}
	t, err := flags.Parse()
	if err != nil {
		return usage("%v", err)
	}
	out, err := newOutput(stdout, *format)
	if err != nil {
		return usage("-format: %v", err)
	}
	now := time.Now()
	pol, err := policy.FromEnv(getenv, now)
	if err != nil {
		return usage("configuration: %v", err)
	}
	failed := func(err error) int {
		errw.printf("sgwatch sweep: %s\n", clean.Line(err.Error(), 2048))
		return 1
	}
	env, err := connect(ctx, t.Regions)
	if err != nil {
		return failed(err)
	}
	self, partition, err := env.Caller(ctx)
	if err != nil {
		return failed(err)
	}
	accounts := t.Accounts
	if len(accounts) == 0 {
		accounts = []string{self}
	}
	targets := sweep.Targets(accounts, t.Regions, func(account string) string {
		if account == self {
			return ""
		}
		return awsid.RoleARN(partition, account, t.Role)
	})
	found := sweepAll(ctx, env.Lister, targets, pol.Score)

	// Each exposure is decided on and rendered as the function's are, in
	// the order of the targets, of the groups (by id) and of their rules.
	p := pipeline.Pipeline{Policy: pol, Format: out.format, Now: func() time.Time { return now }}
	var shown, held, unlisted, groups, rules, notShown int
	var writeErr error
	for i, tg := range targets {
		s := found[i]
		if s.err != nil {
			unlisted++
			errw.printf("sgwatch sweep: %s: %s\n", tg, clean.Line(s.err.Error(), 2048))
			continue
		}
		groups, rules = groups+s.groups, rules+s.rules
		for _, r := range p.Process(ctx, s.exposures) {
			f := r.Finding
			what := fmt.Sprintf("%s: %s exposure of %s (%s)", tg, f.Severity, clean.Line(f.SecurityGroup.ID, 64), clean.Line(detect.Target(f.Rules[0]), 64))
			switch {
			case !r.Decision.Publish:
				held++
				errw.printf("sgwatch sweep: %s not shown: %s\n", what, clean.Line(r.Decision.Why, 512))
				continue
			case r.Err != nil:
				notShown++
				errw.printf("sgwatch sweep: %s cannot be shown: %s\n", what, clean.Line(r.Err.Error(), 512))
				continue
			case r.Decision.Why != "":
				errw.printf("sgwatch sweep: %s: %s\n", what, clean.Line(r.Decision.Why, 512))
			}
			shown++
			if writeErr == nil {
				writeErr = out.add(r)
			}
		}
	}
	if err := out.close(writeErr == nil); err != nil && writeErr == nil {
		writeErr = err
	}
	errw.printf("sgwatch sweep: %d exposed to the whole internet (%d held back by the policy) in %d groups, %d rules of %d targets (%d accounts × %d Regions); %d targets could not be listed\n",
		shown+notShown, held, groups, rules, len(targets), len(accounts), len(t.Regions), unlisted)
	if writeErr != nil {
		errw.printf("sgwatch sweep: write: %v\n", writeErr)
		return 1
	}
	if shown+notShown > 0 || unlisted > 0 {
		return 1
	}
	return 0
}

// sweepAll lists every target, sweep.Concurrency at a time, and judges
// its groups' ingress rules under s, each group's and those its network
// interfaces apply together (sweep.Judge); the results are in the order of
// targets.
func sweepAll(ctx context.Context, lister func(context.Context, sweep.Target) (sweep.Lister, error), targets []sweep.Target, s detect.Scoring) []swept {
	found := make([]swept, len(targets))
	sem := make(chan struct{}, sweep.Concurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			found[i] = sweepOne(ctx, lister, t, s)
		})
	}
	wg.Wait()
	return found
}

// sweepOne lists one target and judges what it has.
func sweepOne(ctx context.Context, lister func(context.Context, sweep.Target) (sweep.Lister, error), t sweep.Target, s detect.Scoring) swept {
	_, groups, found, err := sweep.List(ctx, lister, t, time.Now(), s)
	if err != nil {
		return swept{err: err}
	}
	out := swept{exposures: found}
	for _, g := range groups {
		out.groups++
		out.rules += len(g.Rules)
	}
	return out
}
