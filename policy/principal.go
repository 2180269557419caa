package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/sgwatch/sgwatch/awsid"
)

// principalTypes are the principal types a pattern may name, by service:
// the forms CloudTrail gives a caller's userIdentity.arn (iam user/, sts
// assumed-role/, sts federated-user/) and its sessionIssuer.arn (iam role/,
// or iam user/ for GetFederationToken). Nothing else ever calls EC2: groups,
// instance profiles and identity providers are not callers, and the root
// user (iam root) is never trusted nor suppressed. federated-user/ is
// listed so that its refusal says why (see checkChosen).
var principalTypes = map[string][]string{
	"iam": {"role/", "user/"},
	"sts": {"assumed-role/", "federated-user/"},
}

// partitionRE matches a written-out partition: aws, aws-cn, aws-us-gov,
// aws-iso-b…
var partitionRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^aws(-[a-z]+)*$`) })

// minNamed is how many characters besides * the first part of a pattern's
// principal name must have when it has a *.
const minNamed = 3

// wantPrincipal is the shape a refusal shows.
const wantPrincipal = "want e.g. arn:aws:iam::111122223333:role/terraform-* or arn:aws:sts::111122223333:assumed-role/ci/*"

// checkPrincipal is the one validator of principal patterns, for
// TRUSTED_PRINCIPALS and SUPPRESS rules alike. A pattern must be
// arn:PARTITION:SERVICE::ACCOUNT:TYPE/NAME, where SERVICE is iam or sts,
// ACCOUNT is one 12-digit account, TYPE is one of principalTypes[SERVICE]
// and NAME is not only wildcards. * (any run of characters, see
// detect.Match) may appear only in NAME, so everything the pattern can
// match lies in one account and is of one type, and no name a caller
// chooses for its own session decides the match (see checkChosen). The
// error quotes the pattern and says why it is refused.
func checkPrincipal(p string) error {
	for _, r := range p {
		if r <= ' ' || r > '~' {
			return fmt.Errorf("%q contains %q: a pattern is printable ASCII without spaces (%s)", p, r, wantPrincipal)
		}
	}
	if !strings.HasPrefix(p, "arn:") {
		return fmt.Errorf("%q is not an ARN pattern (%s)", p, wantPrincipal)
	}
	fields := strings.SplitN(p, ":", 6)
	// A wildcard before the principal type would reach other partitions,
	// services or accounts.
	for i, name := range []string{"partition", "service", "region", "account"} {
		if i+1 < len(fields) && strings.Contains(fields[i+1], "*") {
			return fmt.Errorf("%q has * in the %s: a pattern names exactly one account and a principal type, with * only after the type (%s)", p, name, wantPrincipal)
		}
	}
	if len(fields) < 6 {
		return fmt.Errorf("%q is not a complete ARN (%s)", p, wantPrincipal)
	}
	partition, service, region, account, resource := fields[1], fields[2], fields[3], fields[4], fields[5]
	types, ok := principalTypes[service]
	switch {
	case !partitionRE().MatchString(partition):
		return fmt.Errorf("%q: partition %q is not aws, aws-cn, aws-us-gov or another aws-… partition (%s)", p, partition, wantPrincipal)
	case !ok:
		return fmt.Errorf("%q: service %q is not iam or sts, the only services of a caller's ARN (%s)", p, service, wantPrincipal)
	case region != "":
		return fmt.Errorf("%q: iam and sts ARNs have no region, this one has %q (%s)", p, region, wantPrincipal)
	case !awsid.IsAccountID(account):
		return fmt.Errorf("%q: account %q is not a 12-digit account id (%s)", p, account, wantPrincipal)
	case resource == "root" || strings.HasPrefix(resource, "root*"):
		return fmt.Errorf("%q is the root user, which is never trusted nor suppressed", p)
	}
	i := slices.IndexFunc(types, func(t string) bool { return strings.HasPrefix(resource, t) })
	if i < 0 {
		if t, _, _ := strings.Cut(resource, "/"); strings.Contains(t, "*") {
			return fmt.Errorf("%q has * before the principal type: it would trust every principal of account %s (want %sNAME)", p, account, strings.Join(types, "NAME or "))
		}
		return fmt.Errorf("%q: %q is not a principal type of %s (want %sNAME)", p, resource, service, strings.Join(types, "NAME or "))
	}
	name := resource[len(types[i]):]
	if strings.Trim(name, "*/") == "" {
		return fmt.Errorf("%q names no principal after %s: it would trust every %s of account %s", p, types[i], strings.TrimSuffix(types[i], "/"), account)
	}
	// The name's first part (the role, user or path) must be named: "*e*"
	// or "*/i-*" would reach nearly every principal of the type.
	if seg, _, _ := strings.Cut(name, "/"); strings.Contains(seg, "*") && len(strings.ReplaceAll(seg, "*", "")) < minNamed {
		return fmt.Errorf("%q names too little: %q would match nearly every %s of account %s (want at least %d characters besides *, e.g. %sterraform-*)",
			p, seg, strings.TrimSuffix(types[i], "/"), account, minNamed, types[i])
	}
	return checkChosen(p, partition, account, types[i], name)
}

// checkChosen refuses a pattern that a caller could satisfy with a name of
// its own choosing. The last part of some principals' ARNs is chosen by
// whoever made the session, not by the account's administrators:
//
//   - federated-user/NAME: NAME is whatever the caller of
//     GetFederationToken passed, and any IAM user allowed that call can
//     make a session of any name. Such a pattern is refused; the IAM user
//     that issues the sessions (user/NAME, matched against the session's
//     issuer) is what to name.
//   - assumed-role/ROLE/SESSION: SESSION is whatever the caller of
//     AssumeRole passed. A pattern that names SESSION is sound only when
//     ROLE is written out: then only those allowed to assume that role can
//     match. A * in ROLE followed by anything but * and / lets the text
//     after it land in the session name ("assumed-role/ci-*/alice",
//     "assumed-role/*deploy"), and is refused; "assumed-role/ci-*" and
//     "assumed-role/ci-*/*" (every session of those roles) are not.
//
// iam role/ and user/ ARNs (a caller's, or a session's issuer) are named
// by the account's administrators only.
func checkChosen(p, partition, account, typ, name string) error {
	switch typ {
	case "federated-user/":
		return fmt.Errorf("%q names a federated user, whose name is chosen by whoever calls GetFederationToken: any IAM user allowed that call can make a session of that name; "+
			"name the IAM user that issues the sessions instead, arn:%s:iam::%s:user/NAME (it matches the session's issuer, and the user's own calls)", p, partition, account)
	case "assumed-role/":
		role, _, _ := strings.Cut(name, "/")
		k := strings.Index(role, "*")
		if k < 0 {
			return nil // the role is written out
		}
		if rest := name[k:]; strings.Trim(rest, "*/") != "" {
			end := ""
			if k >= minNamed {
				end = fmt.Sprintf(", end the pattern at the role (assumed-role/%s)", role[:k+1])
			}
			return fmt.Errorf("%q has text after a * in the role name, which can match the session name, and whoever assumes a role chooses its session name; "+
				"write the role out (assumed-role/ROLE/SESSION)%s, or name the roles, arn:%s:iam::%s:role/%s (it matches the session's issuer)",
				p, end, partition, account, role)
		}
	}
	return nil
}
