package sweep

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sgwatch/sgwatch/detect"
)

// TestPrefixLists: a rule that names a customer-managed prefix list is
// judged on the list's entries now; an AWS-managed list is AWS's ranges;
// a list that cannot be read fails closed.
func TestPrefixLists(t *testing.T) {
	rule := func(id, group string, port int32, list string) types.SecurityGroupRule {
		return types.SecurityGroupRule{SecurityGroupRuleId: aws.String(id), GroupId: aws.String(group), IsEgress: aws.Bool(false),
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port), PrefixListId: aws.String(list)}
	}
	api := &fakeEC2{
		groups: []types.SecurityGroup{{GroupId: aws.String("sg-1")}, {GroupId: aws.String("sg-2")}},
		rules: []types.SecurityGroupRule{
			rule("sgr-1", "sg-1", 22, "pl-00000000000000001"),   // widened: holds 0.0.0.0/0
			rule("sgr-2", "sg-1", 5432, "pl-00000000000000002"), // office ranges only
			rule("sgr-3", "sg-2", 443, "pl-00000000000000003"),  // AWS-managed
			rule("sgr-4", "sg-2", 3389, "pl-00000000000000004"), // cannot be read
			rule("sgr-5", "sg-2", 3306, "pl-00000000000000005"), // IPv6, split over pages
		},
		lists: map[string]fakeList{
			"pl-00000000000000001": {name: "partners", owner: "111122223333", entries: []string{"198.51.100.0/24", "10.0.0.0/8", "0.0.0.0/0"}},
			"pl-00000000000000002": {name: "office", owner: "111122223333", entries: []string{"10.0.0.0/8", "192.168.0.0/16"}},
			"pl-00000000000000003": {name: "com.amazonaws.global.cloudfront.origin-facing", owner: "AWS"},
			"pl-00000000000000005": {name: "v6", owner: "111122223333", entries: []string{"2001:db8::/32", "fd00::/8", "2600::/13", "2001:8000::/19"}},
		},
		calls: map[string]int{},
	}
	groups, err := AWS{EC2: api}.Groups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range Judge(groups, "eu-west-1", "111122223333", time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC), detect.Scoring{}) {
		r := f.Rules[0]
		got = append(got, strings.Join([]string{string(f.Severity), f.SecurityGroup.ID, r.RuleID, r.Source(), r.Description}, " | "))
	}
	want := []string{
		"critical | sg-1 | sgr-1 | 0.0.0.0/0 | entry of prefix list pl-00000000000000001 partners",
		"critical | sg-2 | sgr-4 |  | prefix list pl-00000000000000004 could not be read (DescribeManagedPrefixLists: api error InvalidPrefixListID.NotFound: The prefix list ID 'pl-00000000000000004' does not exist)",
		"critical | sg-2 | sgr-5 | 2600::/13 | entry of prefix list pl-00000000000000005 v6",
		"critical | sg-2 | sgr-5 | 2001:8000::/19 | entry of prefix list pl-00000000000000005 v6",
	}
	if !slices.Equal(got, want) {
		t.Errorf("exposures\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if api.calls["lists"] != 5 || api.calls["entries"] != 2+1+2 { // pages of two entries
		t.Errorf("calls %v: want each list described once, and only the customer lists' entries read", api.calls)
	}
}
