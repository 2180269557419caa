package coverage

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/sgwatch/sgwatch/awsid"
)

// The outputs of the central stack (template.yaml) the check reads with
// -stack: sgwatch's function, and the central event bus forwarders send to
// (only when the stack receives forwarded events).
const (
	OutputFunction = "FunctionArn"
	OutputBus      = "CentralEventBusArn"
)

// Own is what sgwatch's own targets are. A rule's target counts only if it
// is one of them: any other Lambda function or event bus (a do-nothing
// function put in place of the forwarder's bus) delivers nothing to
// sgwatch.
type Own struct {
	// Buses are central event bus ARNs, compared exactly.
	Buses []string
	// Functions are sgwatch's function, by name or by ARN.
	Functions []Function
}

// Function is sgwatch's function as given with -function or read from the
// central stack. By name it is that function in the account and Region of
// the rule that targets it; by ARN, that function exactly. A target's
// version or alias qualifier is ignored (an alias of sgwatch's function
// runs sgwatch), but the function's own name must match: an alias named
// like sgwatch's function on another function does not.
type Function struct {
	Name string
	// Set when given as an ARN.
	Partition, Region, Account string
}

// ParseFunction reads a -function value: a function name (1 to 64 of A-Z
// a-z 0-9 _ -) or a function ARN, arn:PARTITION:lambda:REGION:ACCOUNT:
// function:NAME, with or without a :VERSION or :ALIAS qualifier (which is
// dropped).
func ParseFunction(s string) (Function, bool) {
	if !strings.HasPrefix(s, "arn:") {
		return Function{Name: s}, isFunctionName(s)
	}
	a, err := arn.Parse(s)
	if err != nil {
		return Function{}, false
	}
	name, ok := functionName(a)
	if !ok || a.Service != "lambda" || !strings.HasPrefix(a.Partition, "aws") || !awsid.IsSafeName(a.Partition, 32, "-") ||
		!awsid.IsRegion(a.Region) || !awsid.IsAccountID(a.AccountID) {
		return Function{}, false
	}
	return Function{Name: name, Partition: a.Partition, Region: a.Region, Account: a.AccountID}, true
}

func isFunctionName(s string) bool { return awsid.IsSafeName(s, 64, "_-") }

// functionName is the name of the function a Lambda ARN's resource names,
// function:NAME or function:NAME:QUALIFIER, and whether it is one.
func functionName(a arn.ARN) (string, bool) {
	parts := strings.Split(a.Resource, ":")
	if parts[0] != "function" || len(parts) < 2 || len(parts) > 3 || !isFunctionName(parts[1]) {
		return "", false
	}
	if len(parts) == 3 && parts[2] != "$LATEST" && !awsid.IsSafeName(parts[2], 128, "_-") {
		return "", false
	}
	return parts[1], true
}

// matches reports whether the Lambda target t, on a rule in account and
// region, is this function.
func (f Function) matches(t arn.ARN, account, region string) bool {
	name, ok := functionName(t)
	if !ok || t.Service != "lambda" || name != f.Name {
		return false
	}
	if f.Account == "" { // by name: the rule's own account and Region
		return t.AccountID == account && t.Region == region
	}
	return t.Partition == f.Partition && t.Region == f.Region && t.AccountID == f.Account
}
