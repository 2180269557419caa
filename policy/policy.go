// Package policy is a deployment's tuning and noise control, read from the
// environment by the Lambda function and the command line alike:
//
//	EXTRA_SENSITIVE_PORTS  ports or ranges added to the sensitive-port catalogue, each
//	                       optionally /tcp or /udp (none: both): 8443/tcp,53/udp,9000-9100
//	TRUSTED_PRINCIPALS     ARN patterns (* = any run of characters) of automation, comma-separated
//	TRUSTED_SERVICES       invokedBy services of automation, each bound to the principal it
//	                       acts as: cloudformation.amazonaws.com=arn:aws:iam::111122223333:role/StackRole
//	SUPPRESS               JSON list of suppressions, each ending within a year
//	MIN_SEVERITY           findings below it are logged, not published (default info)
//	AUTHORIZED_PUBLIC_PORTS ports meant to be public on an internet-facing load balancer's
//	                       group (default tcp/80,tcp/443; none for none): tcp/443,udp/4500
//
// Every principal pattern, trusted (TRUSTED_PRINCIPALS, TRUSTED_SERVICES)
// or suppressed, names exactly one account and a principal type, and no
// name a caller chooses for its own session decides it (see
// checkPrincipal); the root user's ARN is refused.
// Trusted automation is scored one level lower (see detect.Scoring);
// suppressed and below-minimum findings are not published but logged with
// why. No configuration silences a change by the root user, nor one that
// was critical before trusted automation lowered it.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/detect"
)

// Variables are the environment variables FromEnv reads.
var Variables = []string{"EXTRA_SENSITIVE_PORTS", "TRUSTED_PRINCIPALS", "TRUSTED_SERVICES", "SUPPRESS", "MIN_SEVERITY", "AUTHORIZED_PUBLIC_PORTS",
	"REVERT", "REVERT_AFTER", "REVERT_EXEMPT", "REVERT_INCLUDE"}

// DefaultAuthorizedPorts is AUTHORIZED_PUBLIC_PORTS when it is not set:
// the web, on an internet-facing load balancer.
const DefaultAuthorizedPorts = "tcp/80,tcp/443"

// Policy is the parsed configuration.
type Policy struct {
	Score       detect.Scoring
	Suppress    []Suppression
	MinSeverity detect.Severity
	// Revert is the opt-in revert (REVERT, REVERT_*).
	Revert Revert
}

// Suppression keeps matching findings from being published until Until,
// which is at most one year after the configuration was read. Every field
// that is set must match: Principal (an ARN pattern, tried on the actor's
// ARN and its session issuer's), Account (the event's account) and Group
// (the security group id).
type Suppression struct {
	Principal string    `json:"principal,omitempty"`
	Account   string    `json:"account,omitempty"`
	Group     string    `json:"group,omitempty"`
	Until     time.Time `json:"until"`
	Reason    string    `json:"reason"`
}

var (
	serviceRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$`) })
	portRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([0-9]+)(?:\s*-\s*([0-9]+))?(?:\s*/\s*([^/]*))?$`) })
)

// FromEnv reads the policy through getenv (os.Getenv in production) at time
// now (time.Now in production), which bounds the SUPPRESS rules' until. An
// invalid value is an error that names the variable and what is wrong.
func FromEnv(getenv func(string) string, now time.Time) (Policy, error) {
	var p Policy
	var err error
	if p.Score.ExtraPorts, err = parsePorts(getenv("EXTRA_SENSITIVE_PORTS")); err != nil {
		return p, fmt.Errorf("EXTRA_SENSITIVE_PORTS: %w", err)
	}
	switch v := strings.TrimSpace(getenv("AUTHORIZED_PUBLIC_PORTS")); v {
	case "none":
	case "":
		p.Score.AuthorizedPorts, _ = detect.ParsePublicTag(DefaultAuthorizedPorts)
	default:
		if p.Score.AuthorizedPorts, err = detect.ParsePublicTag(v); err != nil {
			return p, fmt.Errorf("AUTHORIZED_PUBLIC_PORTS: %w (or none)", err)
		}
	}
	if p.Score.TrustedPrincipals, err = parsePrincipals(getenv("TRUSTED_PRINCIPALS")); err != nil {
		return p, fmt.Errorf("TRUSTED_PRINCIPALS: %w", err)
	}
	if p.Score.TrustedServices, err = parseServices(getenv("TRUSTED_SERVICES")); err != nil {
		return p, fmt.Errorf("TRUSTED_SERVICES: %w", err)
	}
	if p.Suppress, err = parseSuppress(getenv("SUPPRESS"), now); err != nil {
		return p, fmt.Errorf("SUPPRESS: %w", err)
	}
	if p.Revert, err = RevertFromEnv(getenv); err != nil {
		return p, err
	}
	p.MinSeverity = detect.Info
	if v := strings.TrimSpace(getenv("MIN_SEVERITY")); v != "" {
		if p.MinSeverity, err = detect.ParseSeverity(v); err != nil {
			return p, fmt.Errorf("MIN_SEVERITY: %w", err)
		}
	}
	return p, nil
}

// list splits a comma-separated value and trims blanks around items. An
// empty or blank value is no items; an empty item (a stray comma) is an
// error, so that a list is never read otherwise than it was meant.
func list(v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	items := strings.Split(v, ",")
	for i := range items {
		if items[i] = strings.TrimSpace(items[i]); items[i] == "" {
			return nil, fmt.Errorf("item %d of %d is empty: a stray comma?", i+1, len(items))
		}
	}
	return items, nil
}

// parsePorts reads EXTRA_SENSITIVE_PORTS: PORT or FROM-TO, each with an
// optional /tcp or /udp (no suffix: both protocols).
func parsePorts(v string) ([]detect.PortRange, error) {
	items, err := list(v)
	if err != nil {
		return nil, err
	}
	var out []detect.PortRange
	for _, item := range items {
		m := portRE().FindStringSubmatch(item)
		if m == nil {
			return nil, fmt.Errorf("%q is not a port or a range (want e.g. 8443, 9000-9100 or 53/udp)", item)
		}
		from, err1 := strconv.Atoi(m[1])
		to, err2 := from, error(nil)
		if m[2] != "" {
			to, err2 = strconv.Atoi(m[2])
		}
		proto := strings.ToLower(m[3])
		switch {
		case err1 != nil || err2 != nil || to > 65535:
			return nil, fmt.Errorf("%q is outside 0-65535", item)
		case from > to:
			return nil, fmt.Errorf("%q ends before it starts", item)
		case strings.Contains(item, "/") && proto != "tcp" && proto != "udp":
			return nil, fmt.Errorf("%q: protocol %q is not tcp or udp (leave it out for both)", item, m[3])
		}
		out = append(out, detect.PortRange{From: from, To: to, Proto: proto, Name: "EXTRA_SENSITIVE_PORTS"})
	}
	return out, nil
}

// parsePrincipals reads TRUSTED_PRINCIPALS: comma-separated patterns, each
// accepted by checkPrincipal.
func parsePrincipals(v string) ([]string, error) {
	out, err := list(v)
	if err != nil {
		return nil, err
	}
	for _, p := range out {
		if err := checkPrincipal(p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// wantService is the shape a refused TRUSTED_SERVICES item shows.
const wantService = "want SERVICE=PRINCIPAL, e.g. cloudformation.amazonaws.com=arn:aws:iam::111122223333:role/StackRole for stacks with that service role, " +
	"or cloudformation.amazonaws.com=arn:aws:sts::111122223333:assumed-role/deploy/* for stacks without one, which act as whoever creates or updates them"

// parseServices reads TRUSTED_SERVICES: comma-separated SERVICE=PRINCIPAL
// items, SERVICE an invokedBy service principal and PRINCIPAL a pattern
// accepted by checkPrincipal, matched against the actor the service acted
// as: a stack's service role, or, without one, whoever creates or updates
// the stack.
// A service alone (the syntax before principals were required) is refused:
// it would trust anyone able to make the service act for them.
func parseServices(v string) ([]detect.TrustedService, error) {
	items, err := list(v)
	if err != nil {
		return nil, err
	}
	var out []detect.TrustedService
	for _, item := range items {
		service, principal, bound := strings.Cut(item, "=")
		service, principal = strings.TrimSpace(service), strings.TrimSpace(principal)
		switch {
		case !serviceRE().MatchString(service):
			return nil, fmt.Errorf("%q is not a service principal followed by =PRINCIPAL (%s)", item, wantService)
		case !bound:
			return nil, fmt.Errorf("%q names no principal: it would trust everyone able to make %s act for them (for CloudFormation, anyone who can create a stack); "+
				"bind it to the principal the service acts as (%s)", item, service, wantService)
		}
		if err := checkPrincipal(principal); err != nil {
			return nil, fmt.Errorf("%s= principal %w", service, err)
		}
		out = append(out, detect.TrustedService{Service: service, Principal: principal})
	}
	return out, nil
}

// parseSuppress reads SUPPRESS at time now: a JSON list of rules, each
// with a reason, an until at most one year after now, and at least one of
// a principal (accepted by checkPrincipal), an account and a group.
func parseSuppress(v string, now time.Time) ([]Suppression, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(v)))
	dec.DisallowUnknownFields()
	var rules []Suppression
	if err := dec.Decode(&rules); err != nil {
		return nil, fmt.Errorf("not a JSON list of {principal, account, group, until, reason}: %w", err)
	}
	if dec.More() {
		return nil, errors.New("text after the JSON list")
	}
	limit := now.AddDate(1, 0, 0)
	for i, r := range rules {
		var err error
		switch {
		case r.Principal == "" && r.Account == "" && r.Group == "":
			err = errors.New("names no principal, account or group, so it would suppress everything")
		case r.Account != "" && !awsid.IsAccountID(r.Account):
			err = fmt.Errorf("account %q is not a 12-digit account id", r.Account)
		case r.Group != "" && !awsid.IsGroupID(r.Group):
			err = fmt.Errorf("group %q is not a security group id (sg-...)", r.Group)
		case r.Until.IsZero():
			err = errors.New("has no until (RFC 3339 time): every suppression must end")
		case r.Until.After(limit):
			err = fmt.Errorf("until %s is more than one year from now (latest %s): every suppression must end within a year",
				r.Until.Format(time.RFC3339Nano), limit.UTC().Format(time.RFC3339))
		case strings.TrimSpace(r.Reason) == "":
			err = errors.New("has no reason")
		case r.Principal != "":
			if perr := checkPrincipal(r.Principal); perr != nil {
				err = fmt.Errorf("principal %w", perr)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("rule %d %w", i, err)
		}
	}
	return rules, nil
}

// Decision says whether to publish a finding, and why.
type Decision struct {
	Publish bool
	// Why says why a finding is not published; for one published only
	// because it can never be suppressed (see Decide), what that overrode.
	// Empty otherwise.
	Why string
}

// Decide applies SUPPRESS and MIN_SEVERITY to a scored finding at time now.
// A resolved exposure is not held back by MIN_SEVERITY: the sweep resolves
// only exposures it published, and whoever got one gets its end.
// Whatever they say, a finding is published when it is critical, when it
// was critical before trusted automation lowered it
// (SeverityBeforeAutomation), or when the root user made the change.
func (p Policy) Decide(f detect.Finding, now time.Time) Decision {
	why := ""
	for i, s := range p.Suppress {
		if now.Before(s.Until) && s.matches(f) {
			why = fmt.Sprintf("suppressed by SUPPRESS rule %d until %s: %s", i, s.Until.Format(time.RFC3339), s.Reason)
			break
		}
	}
	if why == "" && f.Severity.Rank() < p.MinSeverity.Rank() && f.Action != detect.Resolved {
		why = fmt.Sprintf("severity %s is below MIN_SEVERITY %s", f.Severity, p.MinSeverity)
	}
	if why == "" {
		why = unjudged(f)
	}
	if why == "" {
		return Decision{Publish: true}
	}
	if always := alwaysPublished(f); always != "" {
		return Decision{Publish: true, Why: fmt.Sprintf("published although %s: %s", why, always)}
	}
	return Decision{Why: why}
}

// unjudged says why an attach call that succeeded is not published:
// offline it is not judged at all (its record holds no rule), and with live
// context one that opens nothing to the whole internet is not news. "" for
// other findings.
func unjudged(f detect.Finding) string {
	c, ok := detect.Lookup(f.Event.Name)
	switch {
	case !ok || !c.LiveOnly() || f.Outcome != detect.Succeeded:
		// A failed attach changed nothing, and is judged as other failed
		// calls are (a denied one is a medium finding).
	case f.Live == nil:
		return f.Event.Name + " is judged only with live context (ENRICH=true), and there was none"
	case f.Severity == detect.Info:
		return "the groups set open nothing to the whole internet"
	}
	return ""
}

// alwaysPublished says why no configuration may keep f from being
// published, or returns "".
func alwaysPublished(f detect.Finding) string {
	switch {
	case f.Actor.IsRoot():
		return "a change by the root user is never suppressed"
	case f.Severity == detect.Critical:
		return "a critical finding is never suppressed"
	case f.WasCritical():
		return fmt.Sprintf("it was critical before trusted automation lowered it to %s, and a critical finding is never suppressed", f.Severity)
	case approves(f):
		return "an approval of the revert (" + detect.ApprovedUntilTag + ") keeps an exposure open, and is never suppressed"
	}
	return ""
}

// approves reports whether f sets an approval of the revert that runs
// past the call's time: one that keeps, or will keep, an exposure open.
func approves(f detect.Finding) bool {
	if f.Tags == nil || f.Event.Name == "DeleteTags" {
		return false
	}
	at, err := time.Parse(time.RFC3339, f.Event.Time)
	for _, t := range f.Tags.Tags {
		until, uerr := time.Parse(time.RFC3339, strings.TrimSpace(t.Value))
		if t.Key == detect.ApprovedUntilTag && uerr == nil && (err != nil || until.After(at)) {
			return true
		}
	}
	return false
}

func (s Suppression) matches(f detect.Finding) bool {
	if s.Account != "" && s.Account != f.Event.AccountID {
		return false
	}
	if s.Group != "" && slices.ContainsFunc(f.Groups(), func(g string) bool { return g != s.Group }) {
		return false
	}
	return s.Principal == "" || f.Actor.Matches(s.Principal) != ""
}
