package handler

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/policy"
	"github.com/sgwatch/sgwatch/report"
	"github.com/sgwatch/sgwatch/revert"
)

// Config is the function's configuration, from its environment.
type Config struct {
	TopicARN string        // SNS_TOPIC_ARN, required
	Format   report.Format // NOTIFICATION_FORMAT: text (default), json or chat
	Policy   policy.Policy // EXTRA_SENSITIVE_PORTS, TRUSTED_*, SUPPRESS, MIN_SEVERITY
	// Region is AWS_REGION: the function's own Region, which Lambda sets.
	Region string
	Enrich bool // ENRICH: true to look up live context (default false)
	// AccountNames is ACCOUNT_NAMES: true to look the account's name up in
	// AWS Organizations (default false).
	AccountNames bool
	// IdempotencyTable is IDEMPOTENCY_TABLE: the DynamoDB table that makes
	// each notification published once; "" for none.
	IdempotencyTable string
	// LocalOnly is true under "sam local" (AWS_SAM_LOCAL=true) when
	// SNS_TOPIC_ARN is exactly SAMLocalTopic, the value sam local passes
	// for the template's topic it cannot create: each notification is
	// written to the log instead of published, and no AWS call is made (no
	// live context or account name either). Any other value that is not a
	// topic ARN, empty included, is an error at start, AWS_SAM_LOCAL or not.
	LocalOnly bool
	// Sweep configures the exposure sweep (SWEEP, SWEEP_*).
	Sweep SweepConfig
	// SecurityHub is SECURITY_HUB: true to import each published finding
	// into AWS Security Hub (default false).
	SecurityHub bool
	// Schedules is where the checks of a revert's approval window are
	// scheduled (REVERT_SCHEDULE_GROUP, REVERT_SCHEDULE_ROLE,
	// REVERT_DEAD_LETTER_ARN), required with REVERT_AFTER.
	Schedules revert.Schedules
}

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
	// function's own (Config.Region).
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
	// Queue is SWEEP_QUEUE_URL: the stack's queue of targets. With it, a
	// sweep of more than the function's own account fans out: the
	// scheduled invocation sends one message a target, and the function
	// sweeps each from the queue ("" for none: one invocation sweeps all).
	Queue string
	// DeadLetter is SWEEP_DEAD_LETTER_URL: where a target that failed
	// MaxReceives times is put, with why (required with Queue).
	DeadLetter string
	// MaxReceives is SWEEP_MAX_RECEIVES: the queue's maxReceiveCount
	// (default DefaultMaxReceives); the receive that reaches it is the
	// target's last attempt.
	MaxReceives int
	// History is HISTORY_SOURCE: the history table (athena://WORKGROUP/
	// DATABASE.TABLE) where the sweep worker (cmd/sgwatch-sweep, which
	// checks it at start) looks for a creator LookupEvents does not find;
	// "" for none. The function that handles events does not read it.
	History string
}

// DefaultMaxReceives is how often a target's message is received before
// it is given up: the template's redrive policy says the same.
const DefaultMaxReceives = 3

// The values sam local passes for the template's resources it does not
// create: a !Ref of a resource resolves to its logical id. Only these
// engage local mode (SNS_TOPIC_ARN) or drop a table (IDEMPOTENCY_TABLE,
// SWEEP_TABLE), and only with AWS_SAM_LOCAL=true: a function deployed with
// AWS_SAM_LOCAL=true and an empty or wrong topic fails at start instead of
// logging its critical findings where no one reads them.
const (
	SAMLocalTopic = "Topic"            // template.yaml's topic
	SAMLocalTable = "IdempotencyTable" // template.yaml's table
)

// DefaultSweepRole is the name of the role the sweep assumes in other
// accounts unless SWEEP_ROLE says otherwise.
const DefaultSweepRole = "sgwatch-sweep"

// ConfigFromEnv reads the configuration through getenv (os.Getenv in
// production) at time now (time.Now, which bounds SUPPRESS rules) and
// reports the first variable that is missing or wrong.
func ConfigFromEnv(getenv func(string) string, now time.Time) (Config, error) {
	var c Config
	samLocal := getenv("AWS_SAM_LOCAL") == "true"
	topic := strings.TrimSpace(getenv("SNS_TOPIC_ARN"))
	a, err := arn.Parse(topic)
	hint := ""
	if samLocal {
		hint = fmt.Sprintf("; AWS_SAM_LOCAL is true, but local mode needs %q, the value sam local passes for the template's topic", SAMLocalTopic)
	}
	switch {
	case err == nil && a.Service == "sns" && a.Region != "" && a.AccountID != "" && a.Resource != "" && !strings.Contains(a.Resource, ":"):
	case samLocal && topic == SAMLocalTopic:
		c.LocalOnly = true
	case topic == "":
		return c, fmt.Errorf("SNS_TOPIC_ARN is not set: set it to the ARN of the topic to publish to%s", hint)
	default:
		return c, fmt.Errorf("SNS_TOPIC_ARN %q is not an SNS topic ARN (want arn:aws:sns:REGION:ACCOUNT:TOPIC)%s", clean.Line(topic, 256), hint)
	}
	c.TopicARN = topic
	c.Region = strings.TrimSpace(getenv("AWS_REGION"))
	if c.Format, err = report.ParseFormat(getenv("NOTIFICATION_FORMAT")); err != nil {
		return c, fmt.Errorf("NOTIFICATION_FORMAT: %w", err)
	}
	if c.Policy, err = policy.FromEnv(getenv, now); err != nil {
		return c, err
	}
	if c.Enrich, err = boolEnv(getenv, "ENRICH"); err != nil {
		return c, err
	}
	if c.AccountNames, err = boolEnv(getenv, "ACCOUNT_NAMES"); err != nil {
		return c, err
	}
	c.IdempotencyTable = strings.TrimSpace(getenv("IDEMPOTENCY_TABLE"))
	if t := c.IdempotencyTable; t != "" && !awsid.IsTableName(t) {
		return c, fmt.Errorf("IDEMPOTENCY_TABLE %q is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)", clean.Line(t, 64))
	}
	if c.Sweep, err = sweepFromEnv(getenv); err != nil {
		return c, err
	}
	if c.SecurityHub, err = boolEnv(getenv, "SECURITY_HUB"); err != nil {
		return c, err
	}
	if c.Schedules, err = schedulesFromEnv(getenv, c.Policy.Revert.After > 0); err != nil {
		return c, err
	}
	if c.Policy.Revert.After > 0 && !c.Sweep.Enabled {
		// An approval that runs out is judged again by the sweep only.
		return c, errors.New("REVERT_AFTER needs SWEEP=true: the sweep judges again what an approval that ran out leaves open (or set REVERT_AFTER=0)")
	}
	if c.LocalOnly { // sam local makes no AWS call
		c.Enrich, c.AccountNames, c.SecurityHub = false, false, false
		c.Policy.Revert = policy.Revert{}
	}
	if samLocal {
		// sam local creates no table: the variable holds its logical id.
		if c.IdempotencyTable == SAMLocalTable {
			c.IdempotencyTable = ""
		}
		if c.Sweep.Table == SAMLocalTable {
			c.Sweep.Table = ""
		}
	}
	return c, nil
}

func sweepFromEnv(getenv func(string) string) (SweepConfig, error) {
	var c SweepConfig
	var err error
	if c.Enabled, err = boolEnv(getenv, "SWEEP"); err != nil {
		return c, err
	}
	c.Table = strings.TrimSpace(getenv("SWEEP_TABLE"))
	if t := c.Table; t != "" && !awsid.IsTableName(t) {
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
	c.Queue, c.DeadLetter = strings.TrimSpace(getenv("SWEEP_QUEUE_URL")), strings.TrimSpace(getenv("SWEEP_DEAD_LETTER_URL"))
	for _, u := range []struct{ name, v string }{{"SWEEP_QUEUE_URL", c.Queue}, {"SWEEP_DEAD_LETTER_URL", c.DeadLetter}} {
		if u.v != "" && !queueURL(u.v) {
			return c, fmt.Errorf("%s %q is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)", u.name, clean.Line(u.v, 128))
		}
	}
	if (c.Queue == "") != (c.DeadLetter == "") {
		return c, errors.New("SWEEP_QUEUE_URL and SWEEP_DEAD_LETTER_URL go together: set both or neither")
	}
	c.MaxReceives = DefaultMaxReceives
	if v := strings.TrimSpace(getenv("SWEEP_MAX_RECEIVES")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return c, fmt.Errorf("SWEEP_MAX_RECEIVES %q is not a whole number from 1 to 1000", clean.Line(v, 32))
		}
		c.MaxReceives = n
	}
	c.History = strings.TrimSpace(getenv("HISTORY_SOURCE"))
	c.Role = strings.TrimSpace(getenv("SWEEP_ROLE"))
	if c.Role == "" {
		c.Role = DefaultSweepRole
	}
	if !awsid.IsRoleName(c.Role) {
		return c, fmt.Errorf("SWEEP_ROLE %q is not an IAM role name", clean.Line(c.Role, 64))
	}
	return c, nil
}

// schedulesFromEnv reads where a revert's checks are scheduled; needed
// reports whether they must be (REVERT_AFTER is not 0).
func schedulesFromEnv(getenv func(string) string, needed bool) (revert.Schedules, error) {
	s := revert.Schedules{Group: strings.TrimSpace(getenv("REVERT_SCHEDULE_GROUP")), Role: strings.TrimSpace(getenv("REVERT_SCHEDULE_ROLE")),
		DeadLetter: strings.TrimSpace(getenv("REVERT_DEAD_LETTER_ARN"))}
	if s == (revert.Schedules{}) && !needed {
		return s, nil
	}
	role, rerr := arn.Parse(s.Role)
	queue, qerr := arn.Parse(s.DeadLetter)
	switch {
	case !awsid.IsSafeName(s.Group, 64, "-_."):
		return s, fmt.Errorf("REVERT_SCHEDULE_GROUP %q is not a schedule group name (1 to 64 of A-Z a-z 0-9 - _ .), and REVERT_AFTER needs one", clean.Line(s.Group, 64))
	case rerr != nil || role.Service != "iam" || !strings.HasPrefix(role.Resource, "role/") || !awsid.IsAccountID(role.AccountID):
		return s, fmt.Errorf("REVERT_SCHEDULE_ROLE %q is not an IAM role ARN, and REVERT_AFTER needs the role EventBridge Scheduler invokes the function with", clean.Line(s.Role, 128))
	case qerr != nil || queue.Service != "sqs" || !awsid.IsAccountID(queue.AccountID) || queue.Resource == "":
		return s, fmt.Errorf("REVERT_DEAD_LETTER_ARN %q is not an SQS queue ARN, and REVERT_AFTER needs the queue that keeps a check Scheduler could not deliver", clean.Line(s.DeadLetter, 128))
	}
	return s, nil
}

// queueURL reports whether u is an SQS queue URL: http(s), a host, and a
// path of an account id and a queue name.
func queueURL(u string) bool {
	rest, ok := strings.CutPrefix(u, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(u, "http://")
	}
	host, path, _ := strings.Cut(rest, "/")
	account, name, _ := strings.Cut(path, "/")
	return ok && host != "" && awsid.IsAccountID(account) && awsid.IsSafeName(name, 80, "-_")
}

// boolEnv reads a true/false variable, any case, empty for false.
func boolEnv(getenv func(string) string, name string) (bool, error) {
	switch v := strings.ToLower(strings.TrimSpace(getenv(name))); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, fmt.Errorf("%s %q: want true or false", name, clean.Line(v, 64))
	}
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
