package handler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/pipeline"
	"github.com/sgwatch/sgwatch/sweep"
)

// SweepConfig is the exposure sweep's configuration.
type SweepConfig struct {
	// Enabled is SWEEP: true to answer sweep requests (the template's
	// schedule). A sweep request is an error otherwise.
	Enabled bool
	// Table is SWEEP_TABLE: the DynamoDB table that remembers what each
	// sweep found and makes a retried sweep publish nothing twice; "" for
	// none (then every sweep publishes every exposure).
	Table string
	// Regions is SWEEP_REGIONS: the Regions to sweep; none for the
	// function's own (AWS_REGION).
	Regions []string
	// Accounts is SWEEP_ACCOUNTS: the other accounts to sweep, with the
	// role Role assumed in each; the function's own is always swept.
	Accounts []string
	// Organization is true when SWEEP_ACCOUNTS is "organization": every
	// active account of the organization (organizations:ListAccounts).
	Organization bool
	// Role is SWEEP_ROLE: the name of the role to assume in other
	// accounts (forwarder.yaml creates it); default sgwatch-sweep.
	Role string
}

// DefaultSweepRole is the name of the role the sweep assumes in other
// accounts unless SWEEP_ROLE says otherwise.
const DefaultSweepRole = "sgwatch-sweep"

func sweepFromEnv(getenv func(string) string) (SweepConfig, error) {
	var c SweepConfig
	var err error
	if c.Enabled, err = boolEnv(getenv, "SWEEP"); err != nil {
		return c, err
	}
	c.Table = strings.TrimSpace(getenv("SWEEP_TABLE"))
	if t := c.Table; t != "" && !tableName.MatchString(t) {
		return c, fmt.Errorf("SWEEP_TABLE %q is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)", clean.Line(t, 64))
	}
	for _, r := range split(getenv("SWEEP_REGIONS")) {
		if !awsid.IsRegion(r) {
			return c, fmt.Errorf("SWEEP_REGIONS: %q is not a Region name (eu-west-1)", clean.Line(r, 64))
		}
		c.Regions = append(c.Regions, r)
	}
	switch v := strings.TrimSpace(getenv("SWEEP_ACCOUNTS")); strings.ToLower(v) {
	case "organization":
		c.Organization = true
	default:
		for _, a := range split(v) {
			if !awsid.IsAccountID(a) {
				return c, fmt.Errorf("SWEEP_ACCOUNTS: %q is not an account id (12 digits) nor \"organization\"", clean.Line(a, 64))
			}
			c.Accounts = append(c.Accounts, a)
		}
	}
	c.Role = strings.TrimSpace(getenv("SWEEP_ROLE"))
	if c.Role == "" {
		c.Role = DefaultSweepRole
	}
	if !sweep.IsRoleName(c.Role) {
		return c, fmt.Errorf("SWEEP_ROLE %q is not an IAM role name", clean.Line(c.Role, 64))
	}
	return c, nil
}

func split(v string) []string {
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Sweeps are what a handler needs to sweep: the listers of the targets,
// the memory, the idempotency claims of its findings, and the accounts of
// the organization.
type Sweeps struct {
	// Lister returns a target's lister (sweep.Clients.Lister).
	Lister func(ctx context.Context, t sweep.Target) (sweep.Lister, error)
	// Memory and Once are the sweep's table (nil: none).
	Memory sweep.Memory
	Once   Once
	// Accounts lists the organization's accounts (SWEEP_ACCOUNTS=organization).
	Accounts func(ctx context.Context) ([]string, error)
}

// WithSweeps makes h answer sweep requests with s.
func (h *Handler) WithSweeps(s Sweeps) *Handler {
	h.sweeps = &s
	return h
}

// SweepError is the error of a sweep that could not cover every target or
// publish every finding; Lambda retries it, and the retry publishes nothing
// twice.
type SweepError struct{ Err error }

func (e *SweepError) Error() string { return e.Err.Error() }
func (e *SweepError) Unwrap() error { return e.Err }

// runSweep answers a sweep request.
func (h *Handler) runSweep(ctx context.Context, req sweep.Request, stale time.Duration) error {
	if !h.cfg.Sweep.Enabled || h.sweeps == nil || h.cfg.LocalOnly {
		h.log.Error("a sweep request, but this function does not sweep", "sweepId", req.ID, "localOnly", h.cfg.LocalOnly)
		return &DecodeError{errors.New("a sweep request, but SWEEP is not true (or the function runs under sam local, which makes no AWS call)")}
	}
	self, partition := functionAccount(ctx, h.cfg.TopicARN)
	others := h.cfg.Sweep.Accounts
	var prior error
	if h.cfg.Sweep.Organization {
		ids, err := h.sweeps.Accounts(ctx)
		if err != nil {
			// Sweep what is known all the same, and fail, so that it is retried.
			h.log.Error("cannot list the organization's accounts; sweeping the others", "error", clean.Line(err.Error(), 1024))
			prior = err
		}
		others = append(slices.Clip(others), ids...)
	}
	regions := h.cfg.Sweep.Regions
	if len(regions) == 0 {
		regions = []string{os.Getenv("AWS_REGION")}
	}
	role := func(account string) string {
		if account == self {
			return ""
		}
		return "arn:" + partition + ":iam::" + account + ":role/" + h.cfg.Sweep.Role
	}
	return h.sweepTargets(ctx, req, stale, sweep.Targets(append([]string{self}, others...), regions, role), prior)
}

func (h *Handler) sweepTargets(ctx context.Context, req sweep.Request, stale time.Duration, targets []sweep.Target, prior error) error {
	s := sweep.Sweeper{Scoring: h.cfg.Policy.Score, Targets: targets, Lister: h.sweeps.Lister,
		Memory: h.sweeps.Memory, Log: h.log, Now: h.now}
	if h.hub != nil && !h.cfg.LocalOnly {
		// One Security Hub finding per rule: its exposure creates it, and
		// its resolution updates it. The sweep imports after it has
		// published, and retries a failed import without publishing.
		s.Import = func(ctx context.Context, f detect.Finding) error {
			return h.importFinding(ctx, f, "sweep/"+f.Event.AccountID+"/"+f.Event.Region+"/"+f.Sweep.Key)
		}
	}
	// The sweep's findings are decided on and rendered as events' are;
	// they carry their own live context (no Enricher).
	p := pipeline.Pipeline{Policy: h.cfg.Policy, Format: h.cfg.Format, Accounts: h.accounts, Now: h.now}
	publish := func(ctx context.Context, f detect.Finding, key string) (bool, error) {
		r := p.Process(ctx, []detect.Finding{f})[0]
		if publish, err := h.decided(r); !publish || err != nil {
			return false, err
		}
		_, err := h.publishOnce(ctx, h.sweeps.Once, key, r.Finding, r.Notification, stale)
		return err == nil, err
	}
	start := h.now()
	stats, err := s.Run(ctx, req.ID, publish)
	for _, st := range stats {
		fields := []any{"sweepId", req.ID, "account", st.Account, "region", st.Region, "groups", st.Groups, "rules", st.Rules,
			"open", st.Open, "new", st.New, "resolved", st.Resolved, "held", st.Held, "imported", st.Imported}
		if st.Err != nil {
			h.log.Error("sweep failed", append(fields, "error", clean.Line(st.Err.Error(), 2048))...)
		} else {
			h.log.Info("swept", fields...)
		}
	}
	h.log.Info("sweep done", "sweepId", req.ID, "by", clean.Line(req.By, 256), "targets", len(stats), "ms", h.now().Sub(start).Milliseconds())
	if err = errors.Join(prior, err); err != nil {
		return &SweepError{err}
	}
	return nil
}

// functionAccount is the account and partition of the function handling
// this invocation (from its ARN in the Lambda context), else of the topic.
func functionAccount(ctx context.Context, topic string) (account, partition string) {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		if a, err := arn.Parse(lc.InvokedFunctionArn); err == nil && awsid.IsAccountID(a.AccountID) {
			return a.AccountID, a.Partition
		}
	}
	if a, err := arn.Parse(topic); err == nil && awsid.IsAccountID(a.AccountID) {
		return a.AccountID, a.Partition
	}
	return "", "aws"
}
