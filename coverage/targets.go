package coverage

import (
	"errors"
	"flag"
	"fmt"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/scan"
)

// Targets are the accounts and Regions a command reads with the caller's
// credentials, as -regions, -accounts and -assume-role name them. "sgwatch
// coverage" and "sgwatch sweep" share the three flags and their checks.
type Targets struct {
	Regions  []string
	Accounts []string // empty: the caller's own account
	Role     string   // the role to assume in each account of Accounts
}

// TargetFlags are -regions, -accounts and -assume-role on a flag set; Parse
// reads them once the set is parsed.
type TargetFlags struct {
	fs                      *flag.FlagSet
	regions, accounts, role *string
}

// AddTargetFlags defines -regions, -accounts and -assume-role on fs; verb
// is what the command does in each Region ("check", "sweep").
func AddTargetFlags(fs *flag.FlagSet, verb string) TargetFlags {
	return TargetFlags{
		fs:       fs,
		regions:  fs.String("regions", "", "comma-separated `Regions` to "+verb+" (required)"),
		accounts: fs.String("accounts", "", "comma-separated account `ids` to "+verb+" (default: the caller's own account)"),
		role:     fs.String("assume-role", "", "the role `NAME` to assume in each account of -accounts, e.g. OrganizationAccountAccessRole"),
	}
}

// errNoRegions is Parse's error when -regions is not given; the flag set's
// usage has been shown.
var errNoRegions = errors.New("-regions is required")

// Parse checks the flags' values: -regions is required, -accounts and
// -assume-role go together, and each value is what it should be. The error
// starts with the flag it is about; when -regions is missing, the flag
// set's usage is shown first.
func (f TargetFlags) Parse() (Targets, error) {
	var t Targets
	switch {
	case *f.regions == "":
		f.fs.Usage()
		return t, errNoRegions
	case *f.role != "" && *f.accounts == "":
		return t, errors.New("-assume-role needs -accounts")
	case *f.accounts != "" && *f.role == "":
		return t, errors.New("-accounts needs -assume-role (the role to assume in each account)")
	case *f.role != "" && !roleRE().MatchString(*f.role):
		return t, fmt.Errorf("-assume-role: %q is not a role name", clean.Line(*f.role, 64))
	}
	var err error
	if t.Regions, err = scan.ParseList(*f.regions, "a Region", awsid.IsRegion); err != nil {
		return t, fmt.Errorf("-regions: %w", err)
	}
	if *f.accounts != "" {
		if t.Accounts, err = scan.ParseList(*f.accounts, "an account id (12 digits)", awsid.IsAccountID); err != nil {
			return t, fmt.Errorf("-accounts: %w", err)
		}
	}
	t.Role = *f.role
	return t, nil
}
