package coverage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.yaml.in/yaml/v3"

	"github.com/sgwatch/sgwatch/detect"
)

const (
	acct  = "111111111111"
	acct2 = "222222222222"
)

// without returns sgCalls() without name.
func without(name string) []string {
	return slices.DeleteFunc(sgCalls(), func(c string) bool { return c == name })
}

func TestMatchesPattern(t *testing.T) {
	calls := sgCalls()
	sg := detect.Calls()
	for _, c := range []struct {
		name    string
		pattern string
		want    bool
	}{
		{"sgwatch's pattern", sgPattern(calls), true},
		{"calls in another order", sgPattern(reversed(calls)), true},
		{"more calls and more sources", `{"source":["aws.ec2","aws.rds"],"detail-type":["AWS API Call via CloudTrail","x"],
			"detail":{"eventSource":["ec2.amazonaws.com","rds.amazonaws.com"],"eventName":` + jsonList(append(calls, "RunInstances")) + `}}`, true},
		{"one list, no tag calls", `{"source":["aws.ec2"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["ec2.amazonaws.com"],"eventName":` + jsonList(sg) + `}}`, false},
		{"the tag calls unfiltered (wider)", `{"source":["aws.ec2"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["ec2.amazonaws.com"],"$or":[{"eventName":` + jsonList(calls) + `}]}}`, true},
		{"the tag filter on a security-group call", strings.Replace(sgPattern(calls), `{"eventName":["CreateTags","DeleteTags"]`, `{"eventName":["CreateTags","DeleteTags","CreateSecurityGroup"]`, 1), true},
		{"a security-group call only in the filtered branch", strings.Replace(sgPattern(without("CreateSecurityGroup")), `{"eventName":["CreateTags","DeleteTags"]`, `{"eventName":["CreateTags","DeleteTags","CreateSecurityGroup"]`, 1), false},
		{"another tag filter", strings.Replace(sgPattern(calls), `"prefix":"sgwatch:"`, `"prefix":"sgwatch:public"`, 1), false},
		{"one call missing", sgPattern(without("AssociateSecurityGroupVpc")), false},
		{"a tag call missing", sgPattern(without("DeleteTags")), false},
		{"no call", sgPattern(nil), false},
		{"calls in lower case", sgPattern([]string{strings.ToLower(strings.Join(calls, ""))}), false},
		{"calls as a prefix", `{"source":["aws.ec2"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["ec2.amazonaws.com"],"eventName":[{"prefix":""}]}}`, false},
		{"extra detail key narrows it", strings.Replace(sgPattern(calls), `"eventSource"`, `"errorCode":[{"exists":false}],"eventSource"`, 1), false},
		{"extra top-level key narrows it", strings.Replace(sgPattern(calls), `"source"`, `"account":["111111111111"],"source"`, 1), false},
		{"other source", strings.Replace(sgPattern(calls), `["aws.ec2"]`, `["aws.rds"]`, 1), false},
		{"other detail-type", strings.Replace(sgPattern(calls), `AWS API Call via CloudTrail`, `AWS Service Event via CloudTrail`, 1), false},
		{"other eventSource", strings.Replace(sgPattern(calls), `["ec2.amazonaws.com"]`, `["rds.amazonaws.com"]`, 1), false},
		{"source as a string, not a list", strings.Replace(sgPattern(calls), `["aws.ec2"]`, `"aws.ec2"`, 1), false},
		{"$or", `{"$or":[` + sgPattern(calls) + `]}`, false},
		{"not JSON", `source: aws.ec2`, false},
		{"empty", ``, false},
	} {
		if got := MatchesPattern(c.pattern, calls); got != c.want {
			t.Errorf("%s: MatchesPattern = %v, want %v\n%s", c.name, got, c.want, c.pattern)
		}
	}
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

func jsonList(s []string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestTemplatePatternMatches: the pattern of the function's rule in
// template.yaml is what the check looks for.
func TestTemplatePatternMatches(t *testing.T) {
	data, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources struct {
			Function struct {
				Properties struct {
					Events struct {
						Change struct {
							Properties struct {
								Pattern map[string]any `yaml:"Pattern"`
							} `yaml:"Properties"`
						} `yaml:"SecurityGroupChange"`
					} `yaml:"Events"`
				} `yaml:"Properties"`
			} `yaml:"SgwatchFunction"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(data, &tpl); err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(tpl.Resources.Function.Properties.Events.Change.Properties.Pattern)
	if err != nil {
		t.Fatal(err)
	}
	if !MatchesPattern(string(p), sgCalls()) {
		t.Errorf("template.yaml's SecurityGroupChange pattern does not match: %s", p)
	}
}

// checkOne checks one cell (acct, eu-west-1) of the account a.
func checkOne(t *testing.T, a *fakeAccount) Cell {
	t.Helper()
	env := &fakeEnv{accounts: map[string]*fakeAccount{acct: a}}
	cells := (&Checker{Env: env, Own: sgwatchOwn()}).Check(context.Background(), []string{acct}, []string{"eu-west-1"})
	if len(cells) != 1 {
		t.Fatalf("%d cells, want 1", len(cells))
	}
	return cells[0]
}

func TestRule(t *testing.T) {
	calls := sgCalls()
	good := sgPattern(calls)
	denied := apiErr("EventBridge", "ListRules", "AccessDeniedException", "not authorized")
	for _, c := range []struct {
		name    string
		rules   []ebtypes.Rule
		targets map[string][]ebtypes.Target
		errs    map[string]error
		page    int
		want    RuleState
		rule    string // the name shown
		err     string // CallError.String()
	}{
		{name: "forwarder", rules: []ebtypes.Rule{rule("fwd", good, ebtypes.RuleStateEnabled)},
			targets: map[string][]ebtypes.Target{"fwd": targetsTo(busARN)}, want: RuleForwarder, rule: "fwd"},
		{name: "central", rules: []ebtypes.Rule{rule("central", good, ebtypes.RuleStateEnabled)},
			targets: map[string][]ebtypes.Target{"central": targetsTo(lambdaARN)}, want: RuleCentral, rule: "central"},
		{name: "enabled with all CloudTrail management events", rules: []ebtypes.Rule{rule("fwd", good, ebtypes.RuleStateEnabledWithAllCloudtrailManagementEvents)},
			targets: map[string][]ebtypes.Target{"fwd": targetsTo(busARN)}, want: RuleForwarder, rule: "fwd"},
		{name: "no rule", want: RuleMissing},
		{name: "only unrelated rules", rules: []ebtypes.Rule{
			rule("guardduty", `{"source":["aws.guardduty"]}`, ebtypes.RuleStateEnabled),
			rule("schedule", "", ebtypes.RuleStateEnabled)},
			targets: map[string][]ebtypes.Target{"guardduty": targetsTo(busARN)}, want: RuleMissing},
		{name: "another tool's rule on the calls, to a queue", rules: []ebtypes.Rule{rule("other", sgPattern([]string{"AuthorizeSecurityGroupIngress"}), ebtypes.RuleStateEnabled)},
			targets: map[string][]ebtypes.Target{"other": targetsTo(queueARN)}, want: RuleMissing},
		{name: "disabled", rules: []ebtypes.Rule{rule("fwd", good, ebtypes.RuleStateDisabled)},
			targets: map[string][]ebtypes.Target{"fwd": targetsTo(busARN)}, want: RuleDisabled, rule: "fwd"},
		{name: "old forwarder without a call", rules: []ebtypes.Rule{rule("fwd", sgPattern(without("DisassociateSecurityGroupVpc")), ebtypes.RuleStateEnabled)},
			targets: map[string][]ebtypes.Target{"fwd": targetsTo(busARN)}, want: RuleWrongPattern, rule: "fwd"},
		{name: "central rule narrowed to successful calls", rules: []ebtypes.Rule{rule("c", strings.Replace(good, `"eventSource"`, `"errorCode":[{"exists":false}],"eventSource"`, 1), ebtypes.RuleStateEnabled)},
			targets: map[string][]ebtypes.Target{"c": targetsTo(lambdaARN)}, want: RuleWrongPattern, rule: "c"},
		{name: "right pattern, queue target", rules: []ebtypes.Rule{rule("q", good, ebtypes.RuleStateEnabled)},
			targets: map[string][]ebtypes.Target{"q": targetsTo(queueARN)}, want: RuleNoTarget, rule: "q"},
		{name: "right pattern, no target", rules: []ebtypes.Rule{rule("q", good, ebtypes.RuleStateEnabled)}, want: RuleNoTarget, rule: "q"},
		{name: "a working rule beats a disabled one", rules: []ebtypes.Rule{
			rule("old", good, ebtypes.RuleStateDisabled), rule("wrong", sgPattern(calls[:3]), ebtypes.RuleStateEnabled), rule("fwd", good, ebtypes.RuleStateEnabled)},
			targets: map[string][]ebtypes.Target{"old": targetsTo(busARN), "wrong": targetsTo(busARN), "fwd": targetsTo(queueARN, busARN)},
			want:    RuleForwarder, rule: "fwd"},
		{name: "disabled beats wrong pattern", rules: []ebtypes.Rule{
			rule("wrong", sgPattern(calls[:3]), ebtypes.RuleStateEnabled), rule("old", good, ebtypes.RuleStateDisabled)},
			targets: map[string][]ebtypes.Target{"old": targetsTo(busARN), "wrong": targetsTo(busARN)},
			want:    RuleDisabled, rule: "old"},
		{name: "forwarder on the third page", page: 1, rules: []ebtypes.Rule{
			rule("a", `{"source":["aws.s3"]}`, ebtypes.RuleStateEnabled), rule("b", "", ebtypes.RuleStateEnabled), rule("fwd", good, ebtypes.RuleStateEnabled)},
			targets: map[string][]ebtypes.Target{"fwd": targetsTo(busARN)}, want: RuleForwarder, rule: "fwd"},
		{name: "ListRules refused", errs: map[string]error{"ListRules": denied},
			want: RuleError, err: "ListRules AccessDeniedException"},
		{name: "opt-in Region not enabled", errs: map[string]error{"ListRules": apiErr("EventBridge", "ListRules", "UnrecognizedClientException", "The security token included in the request is invalid.")},
			want: RuleError, err: "ListRules UnrecognizedClientException"},
		{name: "ListTargetsByRule refused", rules: []ebtypes.Rule{rule("fwd", good, ebtypes.RuleStateEnabled)},
			errs: map[string]error{"ListTargetsByRule": apiErr("EventBridge", "ListTargetsByRule", "AccessDeniedException", "no")},
			want: RuleError, rule: "fwd", err: "ListTargetsByRule AccessDeniedException"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := coveredAccount(acct)
			a.rules = map[string][]ebtypes.Rule{"eu-west-1": c.rules}
			a.targets, a.errs, a.pageSize = c.targets, c.errs, c.page
			cell := checkOne(t, a)
			if cell.Rule != c.want || cell.RuleName != c.rule {
				t.Errorf("rule %q (%q), want %q (%q)", cell.Rule, cell.RuleName, c.want, c.rule)
			}
			gotErr := ""
			if cell.RuleError != nil {
				gotErr = cell.RuleError.String()
			}
			if gotErr != c.err {
				t.Errorf("rule error %q, want %q", gotErr, c.err)
			}
			if cell.Trail != TrailLogging {
				t.Errorf("trail %q, want logging", cell.Trail)
			}
			wantVerdict := BlindSpot
			if c.want == RuleForwarder || c.want == RuleCentral {
				wantVerdict = Covered
			}
			if cell.Verdict != wantVerdict {
				t.Errorf("verdict %q, want %q", cell.Verdict, wantVerdict)
			}
		})
	}
}

func field(name string, equals ...string) cttypes.AdvancedFieldSelector {
	return cttypes.AdvancedFieldSelector{Field: aws.String(name), Equals: equals}
}

func advanced(fields ...cttypes.AdvancedFieldSelector) cttypes.AdvancedEventSelector {
	return cttypes.AdvancedEventSelector{Name: aws.String("s"), FieldSelectors: fields}
}

func TestTrail(t *testing.T) {
	mgmt := field("eventCategory", "Management")
	classic := func(rw cttypes.ReadWriteType, include *bool, exclude ...string) *cloudtrail.GetEventSelectorsOutput {
		return &cloudtrail.GetEventSelectorsOutput{EventSelectors: []cttypes.EventSelector{
			{ReadWriteType: rw, IncludeManagementEvents: include, ExcludeManagementEventSources: exclude}}}
	}
	adv := func(s ...cttypes.AdvancedEventSelector) *cloudtrail.GetEventSelectorsOutput {
		return &cloudtrail.GetEventSelectorsOutput{AdvancedEventSelectors: s}
	}
	org := trail("org", "999999999999", "us-east-1", true)
	org.IsOrganizationTrail = aws.Bool(true)
	multi := trail("multi", acct, "us-east-1", true)
	for _, c := range []struct {
		name      string
		trails    []cttypes.Trail
		stopped   []string // names
		selectors *cloudtrail.GetEventSelectorsOutput
		errs      map[string]error
		want      TrailState
		trail     string
		err       string
	}{
		{name: "multi-Region trail homed elsewhere", trails: []cttypes.Trail{multi}, want: TrailLogging, trail: "multi"},
		{name: "organization trail of the management account", trails: []cttypes.Trail{org}, want: TrailLogging, trail: "org"},
		{name: "single-Region trail homed here", trails: []cttypes.Trail{trail("local", acct, "eu-west-1", false)}, want: TrailLogging, trail: "local"},
		{name: "single-Region trail of another Region", trails: []cttypes.Trail{trail("far", acct, "us-east-1", false)}, want: TrailNone},
		{name: "no trail", want: TrailNone},
		{name: "stopped", trails: []cttypes.Trail{multi}, stopped: []string{"multi"}, want: TrailNotLogging, trail: "multi"},
		{name: "a logging trail beats a stopped one", trails: []cttypes.Trail{trail("a", acct, "eu-west-1", false), multi},
			stopped: []string{"a"}, want: TrailLogging, trail: "multi"},
		{name: "classic, all events", trails: []cttypes.Trail{multi}, selectors: classic(cttypes.ReadWriteTypeAll, aws.Bool(true)), want: TrailLogging, trail: "multi"},
		{name: "classic, write-only", trails: []cttypes.Trail{multi}, selectors: classic(cttypes.ReadWriteTypeWriteOnly, aws.Bool(true)), want: TrailLogging, trail: "multi"},
		{name: "classic, defaults left out", trails: []cttypes.Trail{multi}, selectors: classic("", nil), want: TrailLogging, trail: "multi"},
		{name: "classic, read-only", trails: []cttypes.Trail{multi}, selectors: classic(cttypes.ReadWriteTypeReadOnly, aws.Bool(true)), want: TrailNoManagement, trail: "multi"},
		{name: "classic, data events only", trails: []cttypes.Trail{multi}, selectors: classic(cttypes.ReadWriteTypeAll, aws.Bool(false)), want: TrailNoManagement, trail: "multi"},
		{name: "classic, EC2 excluded", trails: []cttypes.Trail{multi}, selectors: classic(cttypes.ReadWriteTypeAll, aws.Bool(true), "ec2.amazonaws.com"), want: TrailNoManagement, trail: "multi"},
		{name: "classic, KMS excluded", trails: []cttypes.Trail{multi}, selectors: classic(cttypes.ReadWriteTypeAll, aws.Bool(true), "kms.amazonaws.com"), want: TrailLogging, trail: "multi"},
		{name: "no selectors", trails: []cttypes.Trail{multi}, selectors: &cloudtrail.GetEventSelectorsOutput{}, want: TrailNoManagement, trail: "multi"},
		{name: "advanced, management events", trails: []cttypes.Trail{multi}, selectors: adv(advanced(mgmt)), want: TrailLogging, trail: "multi"},
		{name: "advanced, write management events", trails: []cttypes.Trail{multi}, selectors: adv(advanced(mgmt, field("readOnly", "false"))), want: TrailLogging, trail: "multi"},
		{name: "advanced, read-only management events", trails: []cttypes.Trail{multi}, selectors: adv(advanced(mgmt, field("readOnly", "true"))), want: TrailNoManagement, trail: "multi"},
		{name: "advanced, KMS left out", trails: []cttypes.Trail{multi},
			selectors: adv(advanced(mgmt, cttypes.AdvancedFieldSelector{Field: aws.String("eventSource"), NotEquals: []string{"kms.amazonaws.com", "rdsdata.amazonaws.com"}})), want: TrailLogging, trail: "multi"},
		{name: "advanced, EC2 left out", trails: []cttypes.Trail{multi},
			selectors: adv(advanced(mgmt, cttypes.AdvancedFieldSelector{Field: aws.String("eventSource"), NotEquals: []string{"ec2.amazonaws.com"}})), want: TrailNoManagement, trail: "multi"},
		{name: "advanced, some calls only", trails: []cttypes.Trail{multi},
			selectors: adv(advanced(mgmt, cttypes.AdvancedFieldSelector{Field: aws.String("eventName"), StartsWith: []string{"Authorize"}})), want: TrailNoManagement, trail: "multi"},
		{name: "advanced, names ending in a pattern they all share", trails: []cttypes.Trail{multi},
			selectors: adv(advanced(mgmt, cttypes.AdvancedFieldSelector{Field: aws.String("eventName"), NotEndsWith: []string{"Instances"}})), want: TrailLogging, trail: "multi"},
		{name: "advanced, data events only", trails: []cttypes.Trail{multi},
			selectors: adv(advanced(field("eventCategory", "Data"), field("resources.type", "AWS::S3::Object"))), want: TrailNoManagement, trail: "multi"},
		{name: "advanced, no eventCategory", trails: []cttypes.Trail{multi}, selectors: adv(advanced(field("readOnly", "false"))), want: TrailNoManagement, trail: "multi"},
		{name: "advanced, a field it does not know", trails: []cttypes.Trail{multi}, selectors: adv(advanced(mgmt, field("userIdentity.arn", "x"))), want: TrailNoManagement, trail: "multi"},
		{name: "advanced, read-only and data selectors, then a write one", trails: []cttypes.Trail{multi},
			selectors: adv(advanced(mgmt, field("readOnly", "true")), advanced(field("eventCategory", "Data")), advanced(mgmt, field("readOnly", "false"))), want: TrailLogging, trail: "multi"},
		{name: "DescribeTrails refused", trails: []cttypes.Trail{multi}, errs: map[string]error{"DescribeTrails": apiErr("CloudTrail", "DescribeTrails", "AccessDeniedException", "no")},
			want: TrailError, err: "DescribeTrails AccessDeniedException"},
		{name: "GetTrailStatus refused", trails: []cttypes.Trail{multi}, errs: map[string]error{"GetTrailStatus": apiErr("CloudTrail", "GetTrailStatus", "AccessDeniedException", "no")},
			want: TrailError, trail: "multi", err: "GetTrailStatus AccessDeniedException"},
		{name: "GetEventSelectors refused", trails: []cttypes.Trail{multi}, errs: map[string]error{"GetEventSelectors": apiErr("CloudTrail", "GetEventSelectors", "AccessDeniedException", "no")},
			want: TrailError, trail: "multi", err: "GetEventSelectors AccessDeniedException"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := coveredAccount(acct, "eu-west-1")
			a.trails, a.errs, a.stopped = c.trails, c.errs, map[string]bool{}
			for _, tr := range c.trails {
				if slices.Contains(c.stopped, aws.ToString(tr.Name)) {
					a.stopped[aws.ToString(tr.TrailARN)] = true
				}
				if c.selectors != nil {
					a.selectors = map[string]*cloudtrail.GetEventSelectorsOutput{aws.ToString(tr.TrailARN): c.selectors}
				}
			}
			cell := checkOne(t, a)
			gotErr := ""
			if cell.TrailError != nil {
				gotErr = cell.TrailError.String()
			}
			if cell.Trail != c.want || cell.TrailName != c.trail || gotErr != c.err {
				t.Errorf("trail %q (%q, error %q), want %q (%q, error %q)", cell.Trail, cell.TrailName, gotErr, c.want, c.trail, c.err)
			}
			if wantOK := c.want == TrailLogging; (cell.Verdict == Covered) != wantOK {
				t.Errorf("verdict %q with trail %q", cell.Verdict, cell.Trail)
			}
			// A shadow or organization trail is only found by its ARN.
			a.statusNames.Range(func(k, _ any) bool {
				if !strings.HasPrefix(k.(string), "arn:") {
					t.Errorf("GetTrailStatus asked for %q, not an ARN", k)
				}
				return true
			})
		})
	}
}

// TestCells: cells come in order (accounts, then Regions, as given) while
// being checked at most Parallel at once; a login that fails makes its
// account's cells blind spots and leaves the others alone; GetEventSelectors
// is asked once per trail.
func TestCells(t *testing.T) {
	// The calls take time on the bubble's fake clock, so that the checks
	// overlap as they would against AWS, without a real wait.
	synctest.Test(t, func(t *testing.T) {
		regions := []string{"eu-west-1", "us-east-1", "ap-southeast-2", "sa-east-1", "eu-central-1"}
		accounts := []string{acct, acct2, "333333333333", "444444444444"}
		env := &fakeEnv{
			accounts: map[string]*fakeAccount{},
			loginErr: map[string]error{"333333333333": fmt.Errorf("assume role: %w",
				apiErr("STS", "AssumeRole", "AccessDenied", "not authorized to perform sts:AssumeRole"))},
		}
		for _, a := range accounts {
			env.accounts[a] = coveredAccount(a, regions...)
			env.accounts[a].delay = 2 * time.Millisecond
		}
		delete(env.accounts[acct2].rules, "sa-east-1")
		cells := (&Checker{Env: env, Own: sgwatchOwn(), Parallel: 3}).Check(context.Background(), accounts, regions)
		if len(cells) != len(accounts)*len(regions) {
			t.Fatalf("%d cells", len(cells))
		}
		var blind []string
		for i, c := range cells {
			if c.Account != accounts[i/len(regions)] || c.Region != regions[i%len(regions)] {
				t.Errorf("cell %d is %s/%s", i, c.Account, c.Region)
			}
			if c.Verdict == BlindSpot {
				blind = append(blind, c.Account+"/"+c.Region)
			}
			if c.Account == "333333333333" && (c.Rule != RuleError || c.Trail != TrailError || c.RuleError.String() != "AssumeRole AccessDenied") {
				t.Errorf("%s/%s after a failed login: %+v", c.Account, c.Region, c)
			}
		}
		want := []string{acct2 + "/sa-east-1"}
		for _, r := range regions {
			want = append(want, "333333333333/"+r)
		}
		slices.Sort(want)
		slices.Sort(blind)
		if !slices.Equal(blind, want) {
			t.Errorf("blind spots %v, want %v", blind, want)
		}
		if m := env.active.max.Load(); m > 3 || m < 2 {
			t.Errorf("%d calls at once, want at most Parallel (3) and more than one", m)
		}
		for _, a := range []string{acct, acct2, "444444444444"} {
			if n := env.accounts[a].selectorCalls.Load(); n != 1 {
				t.Errorf("%s: GetEventSelectors asked %d times for its one trail, want once", a, n)
			}
		}
		env.active.max.Store(0)
		(&Checker{Env: env, Own: sgwatchOwn()}).Check(context.Background(), accounts, regions)
		if m := env.active.max.Load(); m > 8 || m < 4 {
			t.Errorf("%d calls at once by default, want at most 8 and more than 3", m)
		}
	})
}

func TestCallError(t *testing.T) {
	badGateway := &smithy.OperationError{ServiceID: "CloudTrail", OperationName: "DescribeTrails", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 502}}, Err: errors.New("not JSON")}}}
	for _, c := range []struct {
		err  error
		want string
	}{
		{apiErr("EventBridge", "ListRules", "AccessDeniedException", "no"), "ListRules AccessDeniedException"},
		{fmt.Errorf("wrapped: %w", apiErr("STS", "AssumeRole", "AccessDenied", "no")), "AssumeRole AccessDenied"},
		{badGateway, "DescribeTrails HTTP502"},
		{context.DeadlineExceeded, "Timeout"},
		{errors.New("dial tcp: lookup events.xx-east-9.amazonaws.com: no such host"), "RequestError"},
		{errTooManyPages, "TooManyPages"},
	} {
		if got := newCallError(c.err).String(); got != c.want {
			t.Errorf("%v: %q, want %q", c.err, got, c.want)
		}
	}
}

// TestRuleTargetsThatDeliverNothing (found by a red-team pass): a target
// that rewrites the event, or a bus other than the central one given with
// -bus, sends sgwatch nothing; such a cell is a blind spot. A bus the check
// cannot compare with the central one is not vouched for either.
func TestRuleTargetsThatDeliverNothing(t *testing.T) {
	good := sgPattern(sgCalls())
	other := "arn:aws:events:eu-west-1:" + acct + ":event-bus/some-other-bus"
	for _, c := range []struct {
		name   string
		target ebtypes.Target
		own    Own
		want   RuleState
	}{
		{"the central bus", ebtypes.Target{Id: aws.String("t"), Arn: aws.String(busARN)}, sgwatchOwn(), RuleForwarder},
		{"another bus, no -bus", ebtypes.Target{Id: aws.String("t"), Arn: aws.String(other)}, Own{Functions: sgwatchOwn().Functions}, RuleUnconfirmedBus},
		{"another bus than -bus", ebtypes.Target{Id: aws.String("t"), Arn: aws.String(other)}, sgwatchOwn(), RuleOtherTarget},
		{"the bus, with Input", ebtypes.Target{Id: aws.String("t"), Arn: aws.String(busARN), Input: aws.String(`{"hello":"world"}`)}, sgwatchOwn(), RuleNoTarget},
		{"the bus, with InputPath", ebtypes.Target{Id: aws.String("t"), Arn: aws.String(busARN), InputPath: aws.String("$.detail.userAgent")}, sgwatchOwn(), RuleNoTarget},
		{"the function, with an InputTransformer", ebtypes.Target{Id: aws.String("t"), Arn: aws.String(lambdaARN),
			InputTransformer: &ebtypes.InputTransformer{InputTemplate: aws.String(`"x"`)}}, sgwatchOwn(), RuleNoTarget},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := coveredAccount(acct)
			a.rules = map[string][]ebtypes.Rule{"eu-west-1": {rule("fwd", good, ebtypes.RuleStateEnabled)}}
			a.targets = map[string][]ebtypes.Target{"fwd": {c.target}}
			env := &fakeEnv{accounts: map[string]*fakeAccount{acct: a}}
			cells := (&Checker{Env: env, Own: c.own}).Check(context.Background(), []string{acct}, []string{"eu-west-1"})
			if len(cells) != 1 || cells[0].Rule != c.want {
				t.Errorf("cells %+v, want rule %q", cells, c.want)
			}
		})
	}
}

// TestRuleTargetIsSgwatchs: a rule with sgwatch's pattern covers a cell only
// if it invokes sgwatch's function (by name: in the rule's own account and
// Region; by ARN: exactly, whatever the target's version or alias) or sends
// to the central bus. Any other function, a do-nothing one a member account
// put in place of its forwarder, is a blind spot; so is a function when the
// check was not told which is sgwatch's.
func TestRuleTargetIsSgwatchs(t *testing.T) {
	const member = "111122223333"
	fn := func(region, account, resource string) string {
		return "arn:aws:lambda:" + region + ":" + account + ":function:" + resource
	}
	doNothing := fn("eu-west-1", member, "do-nothing")
	byName := func(names ...string) Own {
		var o Own
		for _, n := range names {
			f, ok := ParseFunction(n)
			if !ok {
				t.Fatalf("ParseFunction(%q) refused", n)
			}
			o.Functions = append(o.Functions, f)
		}
		return o
	}
	for _, c := range []struct {
		name    string
		targets []string
		own     Own
		want    RuleState
	}{
		{"a do-nothing function, sgwatch's given by ARN", []string{doNothing}, sgwatchOwn(), RuleOtherTarget},
		{"a do-nothing function, sgwatch's given by name", []string{doNothing}, byName("sgwatch-SgwatchFunction-abc"), RuleOtherTarget},
		{"a do-nothing function, no function given", []string{doNothing}, Own{Buses: []string{busARN}}, RuleUnconfirmedFunction},
		{"sgwatch's function by ARN", []string{lambdaARN}, sgwatchOwn(), RuleCentral},
		{"sgwatch's function by name, here", []string{fn("eu-west-1", member, "sgwatch-fn")}, byName("sgwatch-fn"), RuleCentral},
		{"the name in another account", []string{fn("eu-west-1", "444455556666", "sgwatch-fn")}, byName("sgwatch-fn"), RuleOtherTarget},
		{"the name in another Region", []string{fn("us-east-1", member, "sgwatch-fn")}, byName("sgwatch-fn"), RuleOtherTarget},
		{"a longer name", []string{fn("eu-west-1", member, "sgwatch-fn-2")}, byName("sgwatch-fn"), RuleOtherTarget},
		{"an alias of sgwatch's function", []string{fn("eu-west-1", member, "sgwatch-fn:live")}, byName("sgwatch-fn"), RuleCentral},
		{"a version of sgwatch's function, given by ARN", []string{lambdaARN + ":7"}, sgwatchOwn(), RuleCentral},
		{"$LATEST of sgwatch's function", []string{lambdaARN + ":$LATEST"}, sgwatchOwn(), RuleCentral},
		{"an alias named like sgwatch's function, of another function", []string{fn("eu-west-1", member, "do-nothing:sgwatch-fn")}, byName("sgwatch-fn"), RuleOtherTarget},
		{"an alias of another function named like sgwatch's, given by ARN", []string{fn("us-east-1", "999999999999", "do-nothing:sgwatch-SgwatchFunction-abc")}, sgwatchOwn(), RuleOtherTarget},
		{"sgwatch's function given with a qualifier", []string{fn("eu-west-1", member, "sgwatch-fn")}, byName(fn("eu-west-1", member, "sgwatch-fn:live")), RuleCentral},
		{"the same ARN in another partition", []string{strings.Replace(lambdaARN, "arn:aws:", "arn:aws-us-gov:", 1)}, sgwatchOwn(), RuleOtherTarget},
		{"one of two functions given", []string{fn("eu-west-1", member, "b")}, byName("a", "b"), RuleCentral},
		{"a do-nothing function beside the central bus", []string{doNothing, busARN}, sgwatchOwn(), RuleForwarder},
		{"a do-nothing function beside sgwatch's", []string{doNothing, lambdaARN}, sgwatchOwn(), RuleCentral},
		{"a do-nothing function and a queue", []string{doNothing, queueARN}, sgwatchOwn(), RuleOtherTarget},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := coveredAccount(member)
			a.rules = map[string][]ebtypes.Rule{"eu-west-1": {rule("sgwatch-forwarder", sgPattern(sgCalls()), ebtypes.RuleStateEnabled)}}
			a.targets = map[string][]ebtypes.Target{"sgwatch-forwarder": targetsTo(c.targets...)}
			env := &fakeEnv{accounts: map[string]*fakeAccount{member: a}}
			cells := (&Checker{Env: env, Own: c.own}).Check(context.Background(), []string{member}, []string{"eu-west-1"})
			if len(cells) != 1 || cells[0].Rule != c.want || cells[0].Trail != TrailLogging {
				t.Fatalf("cells %+v, want rule %q", cells, c.want)
			}
			if wantOK := c.want == RuleCentral || c.want == RuleForwarder; (cells[0].Verdict == Covered) != wantOK {
				t.Errorf("verdict %q for rule %q", cells[0].Verdict, cells[0].Rule)
			}
		})
	}
}

func TestParseFunction(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Function
		ok   bool
	}{
		{"sgwatch-SgwatchFunction-AbC_1", Function{Name: "sgwatch-SgwatchFunction-AbC_1"}, true},
		{lambdaARN, Function{Name: "sgwatch-SgwatchFunction-abc", Partition: "aws", Region: "us-east-1", Account: "999999999999"}, true},
		{lambdaARN + ":live", Function{Name: "sgwatch-SgwatchFunction-abc", Partition: "aws", Region: "us-east-1", Account: "999999999999"}, true},
		{"arn:aws-cn:lambda:cn-north-1:111122223333:function:f:$LATEST", Function{Name: "f", Partition: "aws-cn", Region: "cn-north-1", Account: "111122223333"}, true},
		{"", Function{}, false},
		{"sg watch", Function{}, false},
		{strings.Repeat("f", 65), Function{}, false},
		{"arn:aws:lambda:us-east-1:999999999999:function:", Function{}, false},
		{"arn:aws:lambda:us-east-1:999999999999:function:f:live:x", Function{}, false},
		{"arn:aws:lambda:us-east-1:999999999999:function:f:li ve", Function{}, false},
		{"arn:aws:lambda:us-east-1:9999:function:f", Function{}, false},
		{"arn:aws:lambda:moon:999999999999:function:f", Function{}, false},
		{"arn:aws:lambda:us-east-1:999999999999:layer:f", Function{}, false},
		{"arn:aws:sqs:us-east-1:999999999999:function:f", Function{}, false},
		{"arn:xyz:lambda:us-east-1:999999999999:function:f", Function{}, false},
	} {
		got, ok := ParseFunction(c.in)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("ParseFunction(%q) = %+v, %v; want %+v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// TestTemplateOutputs: the central stack has the outputs -stack reads.
func TestTemplateOutputs(t *testing.T) {
	data, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Outputs map[string]yaml.Node `yaml:"Outputs"`
	}
	if err := yaml.Unmarshal(data, &tpl); err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{OutputFunction, OutputBus} {
		if _, ok := tpl.Outputs[o]; !ok {
			t.Errorf("template.yaml has no %s output", o)
		}
	}
}
