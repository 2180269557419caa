// Package policy is a deployment's tuning and noise control, read from the
// environment by the Lambda function and the command line alike:
//
//	EXTRA_SENSITIVE_PORTS  ports or ranges added to the sensitive-port catalogue: 8443,9000-9100
//	TRUSTED_PRINCIPALS     ARN patterns (* = any run of characters) of automation, comma-separated
//	TRUSTED_SERVICES       invokedBy values of automation: cloudformation.amazonaws.com
//	SUPPRESS               JSON list of time-boxed suppressions
//	MIN_SEVERITY           findings below it are logged, not published (default info)
//
// Trusted automation is scored one level lower (see detect.Options);
// suppressed and below-minimum findings are not published but logged with
// why. A critical finding is never suppressed.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sgwatch/sgwatch/detect"
)

// Variables are the environment variables FromEnv reads.
var Variables = []string{"EXTRA_SENSITIVE_PORTS", "TRUSTED_PRINCIPALS", "TRUSTED_SERVICES", "SUPPRESS", "MIN_SEVERITY"}

// Policy is the parsed configuration.
type Policy struct {
	Score       detect.Options
	Suppress    []Suppression
	MinSeverity detect.Severity
}

// Suppression keeps matching findings from being published until Until.
// Every field that is set must match: Principal (an ARN pattern, tried on
// the actor's ARN and its session issuer's), Account (the event's account)
// and Group (the security group id).
type Suppression struct {
	Principal string    `json:"principal,omitempty"`
	Account   string    `json:"account,omitempty"`
	Group     string    `json:"group,omitempty"`
	Until     time.Time `json:"until"`
	Reason    string    `json:"reason"`
}

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	serviceRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$`)
)

// FromEnv reads the policy through getenv (os.Getenv in production). An
// invalid value is an error that names the variable and what is wrong.
func FromEnv(getenv func(string) string) (Policy, error) {
	var p Policy
	var err error
	if p.Score.ExtraPorts, err = parsePorts(getenv("EXTRA_SENSITIVE_PORTS")); err != nil {
		return p, fmt.Errorf("EXTRA_SENSITIVE_PORTS: %w", err)
	}
	if p.Score.TrustedPrincipals, err = parsePrincipals(getenv("TRUSTED_PRINCIPALS")); err != nil {
		return p, fmt.Errorf("TRUSTED_PRINCIPALS: %w", err)
	}
	for _, s := range list(getenv("TRUSTED_SERVICES")) {
		if !serviceRE.MatchString(s) {
			return p, fmt.Errorf("TRUSTED_SERVICES: %q is not a service principal (want e.g. cloudformation.amazonaws.com)", s)
		}
		p.Score.TrustedServices = append(p.Score.TrustedServices, s)
	}
	if p.Suppress, err = parseSuppress(getenv("SUPPRESS")); err != nil {
		return p, fmt.Errorf("SUPPRESS: %w", err)
	}
	p.MinSeverity = detect.Info
	if v := strings.TrimSpace(getenv("MIN_SEVERITY")); v != "" {
		if p.MinSeverity, err = detect.ParseSeverity(v); err != nil {
			return p, fmt.Errorf("MIN_SEVERITY: %w", err)
		}
	}
	return p, nil
}

// list splits a comma-separated value, dropping blanks around items.
func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func parsePorts(v string) ([]detect.PortRange, error) {
	var out []detect.PortRange
	for _, item := range list(v) {
		lo, hi, isRange := strings.Cut(item, "-")
		from, err1 := strconv.Atoi(strings.TrimSpace(lo))
		to, err2 := from, error(nil)
		if isRange {
			to, err2 = strconv.Atoi(strings.TrimSpace(hi))
		}
		switch {
		case err1 != nil || err2 != nil:
			return nil, fmt.Errorf("%q is not a port or a range (want e.g. 8443 or 9000-9100)", item)
		case from < 0 || to > 65535:
			return nil, fmt.Errorf("%q is outside 0-65535", item)
		case from > to:
			return nil, fmt.Errorf("%q ends before it starts", item)
		}
		out = append(out, detect.PortRange{From: from, To: to, Name: "EXTRA_SENSITIVE_PORTS"})
	}
	return out, nil
}

func parsePrincipals(v string) ([]string, error) {
	var out []string
	for _, p := range list(v) {
		if !strings.HasPrefix(p, "arn:") {
			return nil, fmt.Errorf("%q is not an ARN pattern (want e.g. arn:aws:iam::111122223333:role/terraform-*)", p)
		}
		if strings.Trim(p, "*:") == "arn" {
			return nil, fmt.Errorf("%q would trust every principal", p)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseSuppress(v string) ([]Suppression, error) {
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
	for i, r := range rules {
		var err error
		switch {
		case r.Principal == "" && r.Account == "" && r.Group == "":
			err = errors.New("names no principal, account or group, so it would suppress everything")
		case r.Principal != "" && !strings.HasPrefix(r.Principal, "arn:"):
			err = fmt.Errorf("principal %q is not an ARN pattern", r.Principal)
		case r.Account != "" && !accountRE.MatchString(r.Account):
			err = fmt.Errorf("account %q is not a 12-digit account id", r.Account)
		case r.Group != "" && !detect.IsGroupID(r.Group):
			err = fmt.Errorf("group %q is not a security group id (sg-...)", r.Group)
		case r.Until.IsZero():
			err = errors.New("has no until (RFC 3339 time): every suppression must end")
		case strings.TrimSpace(r.Reason) == "":
			err = errors.New("has no reason")
		}
		if err != nil {
			return nil, fmt.Errorf("rule %d %w", i, err)
		}
	}
	return rules, nil
}

// Decision says whether to publish a finding, and if not, why.
type Decision struct {
	Publish bool
	Why     string
}

// Decide applies SUPPRESS and MIN_SEVERITY to a scored finding at time now.
func (p Policy) Decide(f detect.Finding, now time.Time) Decision {
	if f.Severity == detect.Critical {
		return Decision{Publish: true}
	}
	for i, s := range p.Suppress {
		if now.Before(s.Until) && s.matches(f) {
			return Decision{Why: fmt.Sprintf("suppressed by SUPPRESS rule %d until %s: %s", i, s.Until.Format(time.RFC3339), s.Reason)}
		}
	}
	if f.Severity.Rank() < p.MinSeverity.Rank() {
		return Decision{Why: fmt.Sprintf("severity %s is below MIN_SEVERITY %s", f.Severity, p.MinSeverity)}
	}
	return Decision{Publish: true}
}

func (s Suppression) matches(f detect.Finding) bool {
	if s.Account != "" && s.Account != f.Event.AccountID {
		return false
	}
	if s.Group != "" && s.Group != f.SecurityGroup.ID {
		return false
	}
	return s.Principal == "" || f.Actor.Matches(s.Principal) != ""
}
