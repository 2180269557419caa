// Package awsid knows the forms of the AWS identifiers sgwatch reads from
// records and configuration (account ids, Regions, security group, rule,
// VPC and prefix-list ids, CloudTrail event ids, role and table names), and
// the partitions AWS runs in, in one table.
//
// Everything built from a record (an undo command, a console link, an ARN)
// is built only from values these functions accept, so that no text an
// attacker wrote reaches a shell or a link. The checks are written out
// rather than as regular expressions: they run on every finding, and
// compiling expressions would cost every cold start.
package awsid

// IsAccountID reports whether s is an AWS account id: 12 digits.
func IsAccountID(s string) bool { return len(s) == 12 && digits(s) }

// IsRegion reports whether s has the form of an AWS Region name: a
// lower-case prefix of 2 letters (or eusc, the European Sovereign Cloud's),
// one or more lower-case words, and a number of 1 or 2 digits, joined by
// "-" (eu-west-1, us-gov-west-1, eusc-de-east-1). It does not say the
// Region exists: one AWS opens later has this form too.
func IsRegion(s string) bool {
	words := split(s)
	if len(words) < 3 {
		return false
	}
	last := words[len(words)-1]
	if len(last) < 1 || len(last) > 2 || !digits(last) {
		return false
	}
	if p := words[0]; (len(p) != 2 || !lower(p)) && p != "eusc" {
		return false
	}
	for _, w := range words[1 : len(words)-1] {
		if len(w) == 0 || !lower(w) {
			return false
		}
	}
	return true
}

// IsGroupID reports whether s is a security group id: sg- and 8 to 17
// lower-case hexadecimal digits.
func IsGroupID(s string) bool { return prefixedHex(s, "sg-") }

// IsRuleID reports whether s is a security group rule id (sgr-…).
func IsRuleID(s string) bool { return prefixedHex(s, "sgr-") }

// IsVPCID reports whether s is a VPC id (vpc-…).
func IsVPCID(s string) bool { return prefixedHex(s, "vpc-") }

// IsSubnetID reports whether s is a subnet id (subnet-…).
func IsSubnetID(s string) bool { return prefixedHex(s, "subnet-") }

// IsNetworkInterfaceID reports whether s is a network interface id (eni-…).
func IsNetworkInterfaceID(s string) bool { return prefixedHex(s, "eni-") }

// IsInstanceID reports whether s is an instance id (i-…).
func IsInstanceID(s string) bool { return prefixedHex(s, "i-") }

// IsPrefixListID reports whether s is a managed prefix list id (pl-…).
func IsPrefixListID(s string) bool { return prefixedHex(s, "pl-") }

// IsEventID reports whether s has the form of a CloudTrail event id: 8 to
// 64 hexadecimal digits and dashes (a UUID).
func IsEventID(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '-' && !isHex(c) && !('A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// IsRoleName reports whether s is an IAM role name: 1 to 64 of A-Z a-z 0-9
// and + = , . @ _ -.
func IsRoleName(s string) bool { return only(s, 1, 64, "+=,.@_-") }

// IsTableName reports whether s is a DynamoDB table name: 3 to 255 of A-Z
// a-z 0-9 _ . -.
func IsTableName(s string) bool { return only(s, 3, 255, "_.-") }

// IsSafeName reports whether s is 1 to max ASCII letters, digits and bytes
// of extra: a name that can be put in a key or a command as it is.
func IsSafeName(s string, max int, extra string) bool { return only(s, 1, max, extra) }

func only(s string, min, max int, extra string) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || indexByte(extra, c)) {
			return false
		}
	}
	return true
}

func prefixedHex(s, prefix string) bool {
	if len(s) < len(prefix)+8 || len(s) > len(prefix)+17 || s[:len(prefix)] != prefix {
		return false
	}
	for i := len(prefix); i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func lower(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

func indexByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// split cuts s at each "-".
func split(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
