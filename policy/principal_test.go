package policy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
)

// refusedPrincipals are patterns no variable accepts, with the reason the
// refusal must give.
var refusedPrincipals = []struct{ pattern, want string }{
	// Everything, or every account.
	{"arn:*", `"arn:*" has * in the partition`},
	{"arn:aws:*", `"arn:aws:*" has * in the service`},
	{"arn:aws:iam::*", `"arn:aws:iam::*" has * in the account`},
	{"arn:aws:iam:*", "has * in the region"},
	{"arn:*:iam::111122223333:role/x", "has * in the partition"},
	{"arn:aws*:iam::111122223333:role/x", "has * in the partition"},
	{"arn:aws:i*:111122223333:role/x", "has * in the service"},
	{"arn:aws:*:*:111122223333:role/x", "has * in the service"},
	{"arn:aws:iam:*:111122223333:role/x", "has * in the region"},
	{"arn:aws:iam::*:role/terraform", "has * in the account"},
	{"arn:aws:iam::11112222333*:role/x", "has * in the account"},
	{"arn:aws:iam::*111122223333:role/x", "has * in the account"},
	// Account-wide: no principal type, or a wildcard before it.
	{"arn:aws:iam::111122223333:*", `"arn:aws:iam::111122223333:*" has * before the principal type: it would trust every principal of account 111122223333`},
	{"arn:aws:sts::111122223333:*", "has * before the principal type"},
	{"arn:aws:iam::111122223333:role*", "has * before the principal type"},
	{"arn:aws:iam::111122223333:*role/x", "has * before the principal type"},
	{"arn:aws:iam::111122223333:r*/x", "has * before the principal type"},
	{"arn:aws:iam::111122223333:*/x", "has * before the principal type"},
	{"arn:aws:iam::111122223333:role/*", "names no principal after role/: it would trust every role of account 111122223333"},
	{"arn:aws:iam::111122223333:role/**", "names no principal after role/"},
	// Names that are nearly all * (found by a red-team pass).
	{"arn:aws:iam::111122223333:role/*e*", `"*e*" would match nearly every role of account 111122223333`},
	{"arn:aws:iam::111122223333:role/*-*", "names too little"},
	{"arn:aws:sts::111122223333:assumed-role/*/i-*", `"*" would match nearly every assumed-role`},
	{"arn:aws:sts::111122223333:assumed-role/*/*@*", "names too little"},
	{"arn:aws:sts::111122223333:federated-user/*a*", "names too little"},
	{"arn:aws:iam::111122223333:user/ab*", "names too little"},
	{"arn:aws:iam::111122223333:role/*/*", "names no principal after role/"},
	{"arn:aws:iam::111122223333:user/", "names no principal after user/"},
	{"arn:aws:sts::111122223333:assumed-role/*", "names no principal after assumed-role/"},
	{"arn:aws:sts::111122223333:federated-user/*", "names no principal after federated-user/"},
	// The root user.
	{"arn:aws:iam::111122223333:root", `"arn:aws:iam::111122223333:root" is the root user, which is never trusted nor suppressed`},
	{"arn:aws:iam::111122223333:root*", "is the root user"},
	{"arn:aws-us-gov:iam::111122223333:root", "is the root user"},
	{"arn:aws:iam::111122223333:ro*t", "has * before the principal type"},
	// Not a principal type, or the other service's.
	{"arn:aws:iam::111122223333:group/admins", `"group/admins" is not a principal type of iam (want role/NAME or user/NAME)`},
	{"arn:aws:iam::111122223333:instance-profile/web", "is not a principal type of iam"},
	{"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com", "is not a principal type of iam"},
	{"arn:aws:iam::111122223333:assumed-role/ci/x", "is not a principal type of iam"},
	{"arn:aws:sts::111122223333:role/ci", "is not a principal type of sts (want assumed-role/NAME or federated-user/NAME)"},
	{"arn:aws:iam::111122223333:role", "is not a principal type of iam"},
	{"arn:aws:iam::111122223333:Role/x", "is not a principal type of iam"},
	// A name the caller chooses (found by a red-team pass): GetFederationToken's
	// name, and AssumeRole's session name under a role that is not written out.
	{"arn:aws:sts::111122223333:federated-user/bob", `"arn:aws:sts::111122223333:federated-user/bob" names a federated user, whose name is chosen by whoever calls GetFederationToken: ` +
		`any IAM user allowed that call can make a session of that name; name the IAM user that issues the sessions instead, arn:aws:iam::111122223333:user/NAME`},
	{"arn:aws:sts::111122223333:federated-user/deploy-*", "names a federated user"},
	{"arn:aws-cn:sts::111122223333:federated-user/bob", "arn:aws-cn:iam::111122223333:user/NAME"},
	{"arn:aws:sts::111122223333:assumed-role/ci-*/alice", `"arn:aws:sts::111122223333:assumed-role/ci-*/alice" has text after a * in the role name, which can match the session name, ` +
		`and whoever assumes a role chooses its session name; write the role out (assumed-role/ROLE/SESSION), end the pattern at the role (assumed-role/ci-*), ` +
		`or name the roles, arn:aws:iam::111122223333:role/ci-* (it matches the session's issuer)`},
	{"arn:aws:sts::111122223333:assumed-role/*deploy", `(assumed-role/ROLE/SESSION), or name the roles, arn:aws:iam::111122223333:role/*deploy`},
	{"arn:aws:sts::111122223333:assumed-role/*terraform*", "has text after a * in the role name"},
	{"arn:aws:sts::111122223333:assumed-role/ci*ops", "has text after a * in the role name"},
	{"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_*/alice@example.com", "end the pattern at the role (assumed-role/AWSReservedSSO_*)"},
	{"arn:aws:sts::111122223333:assumed-role/ci-*/deploy-*", "has text after a * in the role name"},
	// Spelling: case, whitespace, look-alikes, other services and fields.
	{"ARN:aws:iam::111122223333:role/x", "is not an ARN pattern"},
	{"Arn:aws:iam::111122223333:role/x", "is not an ARN pattern"},
	{"terraform", `"terraform" is not an ARN pattern`},
	{"*", "is not an ARN pattern"},
	{"*:role/x", "is not an ARN pattern"},
	{"arn:AWS:iam::111122223333:role/x", `partition "AWS" is not aws`},
	{"arn:amazon:iam::111122223333:role/x", `partition "amazon" is not aws`},
	{"arn::iam::111122223333:role/x", `partition "" is not aws`},
	{"arn:aws:IAM::111122223333:role/x", `service "IAM" is not iam or sts`},
	{"arn:aws:ec2::111122223333:role/x", `service "ec2" is not iam or sts`},
	{"arn:aws:iam:us-east-1:111122223333:role/x", `iam and sts ARNs have no region, this one has "us-east-1"`},
	{"arn:aws:iam::aws:role/x", `account "aws" is not a 12-digit account id`},
	{"arn:aws:iam::11112222333:role/x", "is not a 12-digit account id"},
	{"arn:aws:iam::1111222233334:role/x", "is not a 12-digit account id"},
	{"arn:aws:iam::111122223333", "is not a complete ARN"},
	{"arn:aws:iam:::role/x", `account "" is not a 12-digit account id`},
	{"arn:aws:iam::111122223333: role/x", `contains ' ': a pattern is printable ASCII without spaces`},
	{"arn:aws:iam::111122223333:role/\tx", `contains '\t'`},
	{"arn:aws:iam::111122223333:role/x\u200b", `contains '\u200b'`},
	{"arn:aws:iam::111122223333:role/\uff58", `contains 'ｘ'`},
}

// acceptedPrincipals are patterns every variable accepts.
var acceptedPrincipals = []string{
	"arn:aws:iam::111122223333:role/terraform-*",
	"arn:aws:iam::111122223333:role/terraform",
	"arn:aws:iam::111122223333:role/*terraform*",
	"arn:aws:iam::111122223333:role/service-role/*-deploy",
	"arn:aws:iam::111122223333:user/alice",
	"arn:aws:iam::111122223333:user/ci@example.com",
	"arn:aws:sts::111122223333:assumed-role/ci/*",
	"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com",
	"arn:aws:sts::111122223333:assumed-role/ci/deploy-*",
	"arn:aws:sts::111122223333:assumed-role/ci-*",
	"arn:aws:sts::111122223333:assumed-role/ci-*/*",
	"arn:aws:sts::111122223333:assumed-role/terraform-*/**",
	"arn:aws-cn:sts::111122223333:assumed-role/deploy/*",
	"arn:aws-us-gov:iam::111122223333:role/aws-service-role/x",
	"arn:aws-iso-b:iam::111122223333:role/x",
}

// suppressWith is a SUPPRESS value whose rule 1 has principal p.
func suppressWith(p string) string {
	q, _ := json.Marshal(p)
	return `[{"group":"sg-0123456789abcdef0","until":"2027-01-31T00:00:00Z","reason":"r"},` +
		`{"principal":` + string(q) + `,"until":"2027-01-31T00:00:00Z","reason":"r"}]`
}

// TestPrincipalPatterns: one validator, the same verdict and reason in
// TRUSTED_PRINCIPALS and in a SUPPRESS rule's principal, naming the
// variable (and the rule).
func TestPrincipalPatterns(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, c := range refusedPrincipals {
		t.Run("refused "+c.pattern, func(t *testing.T) {
			_, err := FromEnv(env(map[string]string{"TRUSTED_PRINCIPALS": "arn:aws:iam::111122223333:role/ok," + c.pattern}), now)
			if err == nil || !strings.HasPrefix(err.Error(), "TRUSTED_PRINCIPALS: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("TRUSTED_PRINCIPALS: error %v, want one containing %q", err, c.want)
			}
			_, err = FromEnv(env(map[string]string{"SUPPRESS": suppressWith(c.pattern)}), now)
			if err == nil || !strings.HasPrefix(err.Error(), "SUPPRESS: rule 1 principal ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("SUPPRESS: error %v, want one starting %q and containing %q", err, "SUPPRESS: rule 1 principal ", c.want)
			}
		})
	}
	for _, p := range acceptedPrincipals {
		t.Run("accepted "+p, func(t *testing.T) {
			pol, err := FromEnv(env(map[string]string{"TRUSTED_PRINCIPALS": p}), now)
			if err != nil || len(pol.Score.TrustedPrincipals) != 1 || pol.Score.TrustedPrincipals[0] != p {
				t.Errorf("TRUSTED_PRINCIPALS: %v, %v", pol.Score.TrustedPrincipals, err)
			}
			pol, err = FromEnv(env(map[string]string{"SUPPRESS": suppressWith(p)}), now)
			if err != nil || len(pol.Suppress) != 2 || pol.Suppress[1].Principal != p {
				t.Errorf("SUPPRESS: %+v, %v", pol.Suppress, err)
			}
		})
	}
}

// FuzzPrincipalReach: whatever a pattern the validator accepts matches is
// in the pattern's account, of its principal type, and never the root user.
func FuzzPrincipalReach(f *testing.F) {
	arns := []string{
		"arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:role/terraform-x",
		"arn:aws:iam::111122223333:role/terraform-x", "arn:aws:sts::111122223333:assumed-role/ci/s",
		"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:role/x:root",
		"arn:aws:sts::111122223333:federated-user/bob", "arn:aws:sts::111122223333:assumed-role/ci-x/alice",
	}
	for _, c := range refusedPrincipals {
		f.Add(c.pattern, arns[0])
	}
	for i, p := range acceptedPrincipals {
		for _, a := range arns {
			f.Add(p, a)
		}
		f.Add(p, strings.ReplaceAll(p, "*", "x"+arns[i%len(arns)]))
	}
	f.Fuzz(func(t *testing.T, pattern, arn string) {
		if checkPrincipal(pattern) != nil || !detect.Match(pattern, arn) {
			return
		}
		pf, af := strings.SplitN(pattern, ":", 6), strings.SplitN(arn, ":", 6)
		if len(af) != 6 || strings.Join(af[:5], ":") != strings.Join(pf[:5], ":") {
			t.Fatalf("accepted %q matches %q, outside its partition, service or account", pattern, arn)
		}
		typ, _, _ := strings.Cut(pf[5], "/")
		if !strings.HasPrefix(af[5], typ+"/") {
			t.Fatalf("accepted %q matches %q, not a %s", pattern, arn, typ)
		}
		if af[5] == "root" {
			t.Fatalf("accepted %q matches the root user %q", pattern, arn)
		}
		// A name the caller chose never decides the match: no federated
		// user, and a session matches only for its role's name (a role
		// whose name starts with a byte no pattern has matches none).
		if typ == "federated-user" {
			t.Fatalf("accepted %q matches the federated user %q", pattern, arn)
		}
		if typ == "assumed-role" && detect.Match(pattern, strings.Replace(arn, ":assumed-role/", ":assumed-role/\x00", 1)) {
			t.Fatalf("accepted %q matches %q, and the same session of another role", pattern, arn)
		}
	})
}
