package awsid

import (
	"regexp"
	"testing"
)

// The forms as regular expressions, which the written-out checks must
// agree with on every case below (and on every prefix of each case).
var forms = []struct {
	name string
	re   *regexp.Regexp
	is   func(string) bool
}{
	{"account", regexp.MustCompile(`^[0-9]{12}$`), IsAccountID},
	{"region", regexp.MustCompile(`^([a-z]{2}|eusc)(-[a-z]+)+-[0-9]{1,2}$`), IsRegion},
	{"group", regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`), IsGroupID},
	{"rule", regexp.MustCompile(`^sgr-[0-9a-f]{8,17}$`), IsRuleID},
	{"vpc", regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`), IsVPCID},
	{"prefix list", regexp.MustCompile(`^pl-[0-9a-f]{8,17}$`), IsPrefixListID},
	{"event", regexp.MustCompile(`^[0-9a-fA-F-]{8,64}$`), IsEventID},
	{"role", regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`), IsRoleName},
	{"table", regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`), IsTableName},
}

var samples = []string{
	"", "123456789012", "12345678901", "1234567890123", "12345678901a", " 123456789012",
	"eu-west-1", "us-gov-west-1", "eusc-de-east-1", "us-isob-east-1", "cn-north-1", "ap-southeast-10",
	"eu-west-100", "EU-west-1", "e-west-1", "europe-west-1", "abcd-x-1", "eus-de-east-1", "eu--1", "eu-west-", "eu-1", "eu-west-1\n",
	"sg-0123456789abcdef0", "sg-01234567", "sg-0123456", "sg-0123456789abcdef01", "sg-0123456789ABCDEF0",
	"sgr-0123456789abcdef0", "sgr-0a", "vpc-0123abcd", "pl-0123abcd", "pl-0123abcdX",
	"d3b1c1f0-1234-4abc-9def-0123456789ab", "D3B1C1F0-1234", "zzzzzzzz", "--------",
	"role", "my-role+=,.@_", "role/path", "ünïcode", "tab\tname",
	"tbl", "ab", "sgwatch-idempotency_1.0",
}

func TestFormsAgreeWithTheirExpressions(t *testing.T) {
	for _, f := range forms {
		for _, s := range samples {
			for i := 0; i <= len(s); i++ {
				in := s[:i]
				if got, want := f.is(in), f.re.MatchString(in); got != want {
					t.Errorf("%s(%q) = %v, want %v", f.name, in, got, want)
				}
			}
		}
	}
}

func TestPartitions(t *testing.T) {
	cases := []struct {
		region, id, console, suffix string
		supported                   bool
	}{
		{"us-east-1", "aws", "us-east-1.console.aws.amazon.com", "amazonaws.com", true},
		{"eu-west-1", "aws", "eu-west-1.console.aws.amazon.com", "amazonaws.com", true},
		{"cn-north-1", "aws-cn", "cn-north-1.console.amazonaws.cn", "amazonaws.com.cn", true},
		{"us-gov-west-1", "aws-us-gov", "console.amazonaws-us-gov.com", "amazonaws.com", true},
		{"us-iso-east-1", "aws-iso", "", "c2s.ic.gov", false},
		{"us-isob-east-1", "aws-iso-b", "", "sc2s.sgov.gov", false},
		{"us-isof-south-1", "aws-iso-f", "", "csp.hci.ic.gov", false},
		{"eu-isoe-west-1", "aws-iso-e", "", "cloud.adc-e.uk", false},
		{"eusc-de-east-1", "aws-eusc", "", "amazonaws.eu", false},
		{"not a region", "aws", "", "amazonaws.com", true},
	}
	for _, c := range cases {
		p := PartitionOf(c.region)
		if p.ID != c.id || ConsoleHost(c.region) != c.console || p.DNSSuffix != c.suffix || p.Supported != c.supported {
			t.Errorf("%s: partition %s, console %q, suffix %s, supported %v; want %s, %q, %s, %v",
				c.region, p.ID, ConsoleHost(c.region), p.DNSSuffix, p.Supported, c.id, c.console, c.suffix, c.supported)
		}
	}
}

func TestARNs(t *testing.T) {
	if got := GroupARN("us-gov-east-1", "123456789012", "sg-0123456789abcdef0"); got != "arn:aws-us-gov:ec2:us-gov-east-1:123456789012:security-group/sg-0123456789abcdef0" {
		t.Errorf("GroupARN = %s", got)
	}
	for _, bad := range [][3]string{{"us-east-1", "12345", "sg-0123456789abcdef0"}, {"x", "123456789012", "sg-0123456789abcdef0"}, {"us-east-1", "123456789012", "sg-x"}} {
		if got := GroupARN(bad[0], bad[1], bad[2]); got != "" {
			t.Errorf("GroupARN(%q) = %s, want none", bad, got)
		}
	}
	if got := RoleARN("aws-cn", "123456789012", "sgwatch-sweep"); got != "arn:aws-cn:iam::123456789012:role/sgwatch-sweep" {
		t.Errorf("RoleARN = %s", got)
	}
}
