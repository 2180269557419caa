package revert

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/sgwatch/sgwatch/detect"
)

const (
	group  = "sg-0123456789abcdef0"
	world  = "sgr-00000000000000001"
	wide   = "sgr-00000000000000002"
	inside = "sgr-00000000000000003"
)

// fakeEC2 is a group's rules, with tags, that a revoke removes.
type fakeEC2 struct {
	rules     []types.SecurityGroupRule
	groupTags []types.Tag
	calls     []string
	revoked   [][]string
	// refuse fails the revoke; stays keeps the rules listed after it;
	// listErr fails every listing; groupErr fails the group's read.
	refuse, stays, listErr, groupErr error
	// vanish removes the rules just before the revoke (someone else did),
	// groupGone before the group's read fails.
	vanish, groupGone bool
}

func (f *fakeEC2) DescribeSecurityGroupRules(_ context.Context, in *ec2.DescribeSecurityGroupRulesInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error) {
	f.calls = append(f.calls, "DescribeSecurityGroupRules")
	if f.listErr != nil {
		return nil, f.listErr
	}
	if len(in.Filters) != 1 || aws.ToString(in.Filters[0].Name) != "group-id" || !slices.Equal(in.Filters[0].Values, []string{group}) {
		return nil, errors.New("want the group-id filter of the group")
	}
	return &ec2.DescribeSecurityGroupRulesOutput{SecurityGroupRules: slices.Clone(f.rules)}, nil
}

func (f *fakeEC2) DescribeSecurityGroups(_ context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	f.calls = append(f.calls, "DescribeSecurityGroups")
	if f.groupGone {
		f.rules = nil
	}
	if f.groupErr != nil {
		return nil, f.groupErr
	}
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: []types.SecurityGroup{{GroupId: aws.String(group), Tags: f.groupTags}}}, nil
}

func (f *fakeEC2) RevokeSecurityGroupIngress(_ context.Context, in *ec2.RevokeSecurityGroupIngressInput, _ ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error) {
	f.calls = append(f.calls, "RevokeSecurityGroupIngress")
	if aws.ToString(in.GroupId) != group || len(in.IpPermissions) > 0 {
		return nil, errors.New("want the group, by rule ids only")
	}
	f.revoked = append(f.revoked, in.SecurityGroupRuleIds)
	if f.vanish {
		f.rules = nil
	}
	if f.refuse != nil {
		return nil, f.refuse
	}
	if f.stays == nil {
		f.rules = slices.DeleteFunc(f.rules, func(r types.SecurityGroupRule) bool {
			return slices.Contains(in.SecurityGroupRuleIds, aws.ToString(r.SecurityGroupRuleId))
		})
	}
	return &ec2.RevokeSecurityGroupIngressOutput{Return: aws.Bool(true)}, nil
}

// listed is a rule as EC2 lists it.
func listed(id string, port int32, cidr string, egress bool, tags ...types.Tag) types.SecurityGroupRule {
	return types.SecurityGroupRule{SecurityGroupRuleId: aws.String(id), GroupId: aws.String(group), IsEgress: aws.Bool(egress), IpProtocol: aws.String("tcp"),
		FromPort: aws.Int32(port), ToPort: aws.Int32(port), CidrIpv4: aws.String(cidr), Tags: tags}
}

// asCalled is a rule as the finding names it.
func asCalled(id string, port int, cidr string) detect.Rule {
	return detect.Rule{Direction: detect.Ingress, Protocol: "tcp", FromPort: &port, ToPort: &port, CIDRIPv4: cidr, RuleID: id}
}

func tag(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

// TestRevert: what a revert revokes, what it leaves alone and why, and
// the AWS calls it makes.
func TestRevert(t *testing.T) {
	now := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	soon, past := now.Add(time.Hour).Format(time.RFC3339), now.Add(-time.Minute).Format(time.RFC3339)
	f := detect.Finding{Event: detect.Event{Region: "eu-west-1", AccountID: "111122223333"}, SecurityGroup: detect.SecurityGroup{ID: group}}
	ssh := asCalled(world, 22, "0.0.0.0/0")
	api := &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."}
	notThere := &smithy.GenericAPIError{Code: "InvalidPermission.NotFound", Message: "The specified rule does not exist in this security group."}
	noGroup := &smithy.GenericAPIError{Code: "InvalidGroup.NotFound", Message: "The security group does not exist."}
	approvedNow := []types.Tag{tag(detect.ApprovedUntilTag, soon), tag(detect.ApprovalReasonTag, "CHG-1")}
	selfApproved := &detect.TagChange{Resources: []string{world}, Tags: []detect.Tag{{Key: detect.ApprovedUntilTag, Value: soon}}}
	for _, c := range []struct {
		name       string
		ec2        fakeEC2
		own        *detect.TagChange // the change's own tags
		rules      []detect.Rule
		approvable bool
		status     detect.RevertStatus
		revoked    []string
		calls      int
		note, why  string
	}{
		{"revoked, the private rule stays", fakeEC2{rules: []types.SecurityGroupRule{listed(world, 22, "0.0.0.0/0", false), listed(inside, 22, "10.0.0.0/8", false)}}, nil,
			[]detect.Rule{ssh}, true, detect.RevertDone, []string{world}, 4, "", ""},
		{"no approval read for the root user", fakeEC2{rules: []types.SecurityGroupRule{listed(world, 22, "0.0.0.0/0", false, tag(detect.ApprovedUntilTag, soon), tag(detect.ApprovalReasonTag, "x"))}}, nil,
			[]detect.Rule{ssh}, false, detect.RevertDone, []string{world}, 3, "", ""},
		{"approved on the rule", fakeEC2{rules: []types.SecurityGroupRule{listed(world, 22, "0.0.0.0/0", false, tag(detect.ApprovedUntilTag, soon), tag(detect.ApprovalReasonTag, "CHG-1"))}}, nil,
			[]detect.Rule{ssh}, true, detect.RevertApproved, nil, 2, "approved until", ""},
		{"approved on the group", fakeEC2{rules: []types.SecurityGroupRule{listed(world, 22, "0.0.0.0/0", false)}, groupTags: []types.Tag{tag(detect.ApprovedUntilTag, soon), tag(detect.ApprovalReasonTag, "CHG-1")}}, nil,
			[]detect.Rule{ssh}, true, detect.RevertApproved, nil, 2, "approved until", ""},
		{"an approval that ran out", fakeEC2{rules: []types.SecurityGroupRule{listed(world, 22, "0.0.0.0/0", false, tag(detect.ApprovedUntilTag, past), tag(detect.ApprovalReasonTag, "CHG-1"))}}, nil,
			[]detect.Rule{ssh}, true, detect.RevertDone, []string{world}, 4, "", ""},
		{"gone", fakeEC2{}, nil, []detect.Rule{ssh}, true, detect.RevertGone, nil, 1, "gone already", ""},
		{"changed since", fakeEC2{rules: []types.SecurityGroupRule{listed(world, 443, "0.0.0.0/0", false)}}, nil, []detect.Rule{ssh}, true, detect.RevertChanged, nil, 1, "changed since", ""},
		// A /5 is less than a sixteenth of the public IPv4 space, two of
		// them more: the whole internet only together.
		{"no longer world-open: its other half is gone", fakeEC2{rules: []types.SecurityGroupRule{listed(wide, 22, "80.0.0.0/5", false)}}, nil,
			[]detect.Rule{asCalled(wide, 22, "80.0.0.0/5"), asCalled(world, 22, "88.0.0.0/5")}, true, detect.RevertChanged, nil, 1, "no longer open", ""},
		{"halves together, both revoked", fakeEC2{rules: []types.SecurityGroupRule{listed(wide, 22, "80.0.0.0/5", false), listed(world, 22, "88.0.0.0/5", false)}}, nil,
			[]detect.Rule{asCalled(wide, 22, "80.0.0.0/5"), asCalled(world, 22, "88.0.0.0/5")}, true, detect.RevertDone, []string{wide, world}, 4, "", ""},
		{"egress now", fakeEC2{rules: []types.SecurityGroupRule{listed(world, 22, "0.0.0.0/0", true)}}, nil, []detect.Rule{ssh}, true, detect.RevertChanged, nil, 1, "changed since", ""},
		{"refused", fakeEC2{rules: []types.SecurityGroupRule{listed(world, 22, "0.0.0.0/0", false)}, refuse: api}, nil,
			[]detect.Rule{ssh}, true, detect.RevertFailure, []string{world}, 3, "", "RevokeSecurityGroupIngress failed: UnauthorizedOperation: You are not authorized"},
		{"still listed after", fakeEC2{rules: []types.SecurityGroupRule{listed(world, 22, "0.0.0.0/0", false)}, stays: errors.New("stays")}, nil,
			[]detect.Rule{ssh}, true, detect.RevertFailure, []string{world}, 4, "", "still lists " + world},
		{"the group deleted since", fakeEC2{rules: []types.SecurityGroupRule{listed(world, 22, "0.0.0.0/0", false)}, groupErr: noGroup, groupGone: true}, nil,
			[]detect.Rule{ssh}, true, detect.RevertGone, nil, 3, "", ""},
		{"the group not found, its rules still listed", fakeEC2{rules: []types.SecurityGroupRule{listed(world, 22, "0.0.0.0/0", false)}, groupErr: noGroup}, nil,
			[]detect.Rule{ssh}, true, detect.RevertFailure, nil, 3, "", "InvalidGroup.NotFound"},
		{"revoked by someone else meanwhile, by rule id", fakeEC2{rules: []types.SecurityGroupRule{listed(world, 22, "0.0.0.0/0", false)}, vanish: true,
			refuse: &smithy.GenericAPIError{Code: "InvalidSecurityGroupRuleId.NotFound", Message: "not found"}}, nil,
			[]detect.Rule{ssh}, true, detect.RevertGone, []string{world}, 4, "gone when revoked", ""},
		{"revoked by someone else meanwhile", fakeEC2{rules: []types.SecurityGroupRule{listed(world, 22, "0.0.0.0/0", false)}, vanish: true, refuse: notThere}, nil,
			[]detect.Rule{ssh}, true, detect.RevertGone, []string{world}, 4, "gone when revoked", ""},
		{"an approval the change set on its own rule does not count", fakeEC2{rules: []types.SecurityGroupRule{listed(world, 22, "0.0.0.0/0", false, approvedNow...)}}, selfApproved,
			[]detect.Rule{ssh}, true, detect.RevertDone, []string{world}, 4, "", ""},
		{"one set again later does", fakeEC2{rules: []types.SecurityGroupRule{listed(world, 22, "0.0.0.0/0", false, tag(detect.ApprovedUntilTag, now.Add(2*time.Hour).Format(time.RFC3339)), tag(detect.ApprovalReasonTag, "CHG-1"))}}, selfApproved,
			[]detect.Rule{ssh}, true, detect.RevertApproved, nil, 2, "approved until", ""},
		{"cannot list", fakeEC2{listErr: errors.New("timeout")}, nil, []detect.Rule{ssh}, true, detect.RevertFailure, nil, 1, "", "could not be read before revoking"},
	} {
		e := c.ec2
		r := Reverter{EC2: func() EC2 { return &e }}
		f := f
		f.Tags = c.own
		res := r.Revert(context.Background(), f, c.rules, c.approvable, now)
		var revoked []string
		for _, ids := range e.revoked {
			revoked = append(revoked, ids...)
		}
		switch {
		case res.Status != c.status:
			t.Errorf("%s: %s (%s), want %s", c.name, res.Status, res.Why, c.status)
		case !slices.Equal(revoked, c.revoked):
			t.Errorf("%s: revoked %v, want %v", c.name, revoked, c.revoked)
		case res.Calls != c.calls || len(e.calls) != c.calls:
			t.Errorf("%s: %d calls counted, %d made (%v); want %d", c.name, res.Calls, len(e.calls), e.calls, c.calls)
		case !strings.Contains(res.Why, c.why) || (c.why == "") != (res.Why == ""):
			t.Errorf("%s: why %q, want %q", c.name, res.Why, c.why)
		case c.note != "" && !slices.ContainsFunc(res.Left, func(s string) bool { return strings.Contains(s, c.note) }):
			t.Errorf("%s: left %q, want %q", c.name, res.Left, c.note)
		case c.status == detect.RevertDone && !strings.Contains(res.Reread, "none of "+strings.Join(c.revoked, ", ")):
			t.Errorf("%s: re-read %q", c.name, res.Reread)
		}
	}
}

// TestOutcome: the finding a revert publishes says what it did; a failure
// is critical and says how to revoke by hand.
func TestOutcome(t *testing.T) {
	now := time.Date(2026, 12, 7, 20, 15, 0, 0, time.UTC)
	f := detect.Finding{Action: detect.Modify, Severity: detect.High, Event: detect.Event{Name: "AuthorizeSecurityGroupIngress", Region: "eu-west-1", AccountID: "111122223333"},
		SecurityGroup: detect.SecurityGroup{ID: group}, Rules: []detect.Rule{asCalled(world, 22, "0.0.0.0/0")},
		Revert: &detect.Revert{Status: detect.RevertScheduled, At: "2026-12-07T20:15:00Z"}, Undo: &detect.Undo{Command: "x"}}
	done := Outcome(f, Result{Status: detect.RevertDone, Revoked: f.Rules, Reread: "lists 0 rules"}, now)
	if done.Action != detect.Reverted || done.Severity != detect.High || done.Undo != nil || done.Revert.Status != detect.RevertDone ||
		!strings.HasPrefix(done.Revert.Reopen, "aws ec2 authorize-security-group-ingress --region eu-west-1 --group-id "+group) ||
		!slices.Equal(done.Revert.Rules, []string{world}) || !slices.ContainsFunc(done.Reasons, func(s string) bool { return strings.Contains(s, "window ended at 2026-12-07T20:15:00Z") }) {
		t.Errorf("reverted: %+v, revert %+v", done, done.Revert)
	}
	failed := Outcome(f, Result{Status: detect.RevertFailure, Why: "RevokeSecurityGroupIngress failed"}, now)
	if failed.Action != detect.RevertFailed || failed.Severity != detect.Critical || failed.Undo == nil ||
		failed.Undo.Command != "aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id "+group+" --security-group-rule-ids "+world || failed.Revert.Reopen != "" {
		t.Errorf("revert-failed: %+v, undo %+v", failed, failed.Undo)
	}
}

// TestCheck: a check's payload names a scheduled revert of rules by id;
// anything else is refused, and other payloads are not checks.
func TestCheck(t *testing.T) {
	f := detect.Finding{Action: detect.Modify, Severity: detect.Critical, Event: detect.Event{Name: "AuthorizeSecurityGroupIngress", Region: "eu-west-1", AccountID: "111122223333"},
		SecurityGroup: detect.SecurityGroup{ID: group, Description: "long text", Tags: map[string]string{"a": "b"}}, Notes: []string{"n"},
		Rules:  []detect.Rule{asCalled(world, 22, "0.0.0.0/0"), asCalled(inside, 22, "10.0.0.0/8")},
		Revert: &detect.Revert{Status: detect.RevertScheduled, At: "2026-12-07T20:15:00Z", Rules: []string{world}}}
	f.Rules[0].Description = "temporary"
	f.Actor.Unread = true // never exempt: kept, though not in the finding's JSON
	c := NewCheck(f, f.Rules[:1], "event/abc/0")
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := ParseCheck(data)
	if !ok || err != nil || got.Key != "event/abc/0" || len(got.Finding.Rules) != 1 || got.Finding.Rules[0].Description != "" ||
		got.Finding.SecurityGroup.Description != "" || got.Finding.Notes != nil || got.Finding.Revert.At != f.Revert.At || !got.Finding.Actor.Unread {
		t.Fatalf("round trip: %+v, %v, %v", got, ok, err)
	}
	for _, other := range []string{`{"sgwatch":"sweep"}`, `{"detail-type":"AWS API Call via CloudTrail"}`, `[1]`, `nonsense`} {
		if _, ok, _ := ParseCheck([]byte(other)); ok {
			t.Errorf("%s read as a check", other)
		}
	}
	for name, mod := range map[string]func(*Check){
		"no key":        func(c *Check) { c.Key = "" },
		"no revert":     func(c *Check) { c.Finding.Revert = nil },
		"not scheduled": func(c *Check) { c.Finding.Revert.Status = detect.RevertNow },
		"bad group":     func(c *Check) { c.Finding.SecurityGroup.ID = "sg-x; rm" },
		"bad account":   func(c *Check) { c.Finding.Event.AccountID = "me" },
		"bad rule id":   func(c *Check) { c.Finding.Rules[0].RuleID = "sgr-zz" },
		"no rules":      func(c *Check) { c.Finding.Rules = nil },
		"bad due":       func(c *Check) { c.Finding.Revert.At = "soon" },
	} {
		var bad Check
		if err := json.Unmarshal(data, &bad); err != nil {
			t.Fatal(err)
		}
		mod(&bad)
		b, _ := json.Marshal(bad)
		if _, ok, err := ParseCheck(b); !ok || err == nil {
			t.Errorf("%s: ok %v, error %v; want a check refused", name, ok, err)
		}
	}
}

// TestSchedule: the one-time schedule invokes the function with the check
// at its due time, is deleted after, keeps a dead letter, and is named by
// the key, so a second delivery of the event is no error; the request is
// signed for Scheduler and goes to the endpoint the configuration names.
func TestSchedule(t *testing.T) {
	var got []*http.Request
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r)
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		bodies = append(bodies, m)
		if len(got) > 1 {
			w.Header().Set("X-Amzn-Errortype", "ConflictException:http://internal.amazon.com/coral/com.amazonaws.chronos/")
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"Message":"Schedule already exists."}`))
			return
		}
		_, _ = w.Write([]byte(`{"ScheduleArn":"arn:aws:scheduler:eu-west-1:111122223333:schedule/g/n"}`))
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	r := Reverter{Scheduler: func() Scheduler { return SchedulerHTTP{Config: cfg} },
		Schedules: Schedules{Group: "sgwatch-revert", Role: "arn:aws:iam::111122223333:role/s", DeadLetter: "arn:aws:sqs:eu-west-1:111122223333:dlq"}}
	f := detect.Finding{Event: detect.Event{Region: "eu-west-1", AccountID: "111122223333"}, SecurityGroup: detect.SecurityGroup{ID: group},
		Rules: []detect.Rule{asCalled(world, 22, "0.0.0.0/0")}, Revert: &detect.Revert{Status: detect.RevertScheduled, At: "2026-12-07T20:15:00Z", Rules: []string{world}}}
	c := NewCheck(f, f.Rules, "event/abc/0")
	target := "arn:aws:lambda:eu-west-1:111122223333:function:sgwatch"
	for i := range 2 {
		if err := r.Schedule(context.Background(), target, c); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
	req, body := got[0], bodies[0]
	if req.Method != http.MethodPost || req.URL.Path != "/schedules/"+ScheduleName("event/abc/0") || !strings.Contains(req.Header.Get("Authorization"), "/eu-west-1/scheduler/aws4_request") {
		t.Errorf("request %s %s, authorization %q", req.Method, req.URL.Path, req.Header.Get("Authorization"))
	}
	tgt, _ := body["Target"].(map[string]any)
	input, _ := tgt["Input"].(string)
	back, ok, err := ParseCheck([]byte(input))
	if body["ScheduleExpression"] != "at(2026-12-07T20:15:00)" || body["ScheduleExpressionTimezone"] != "UTC" || body["ActionAfterCompletion"] != "DELETE" ||
		body["GroupName"] != "sgwatch-revert" || tgt["Arn"] != target || tgt["RoleArn"] != r.Schedules.Role ||
		tgt["DeadLetterConfig"].(map[string]any)["Arn"] != r.Schedules.DeadLetter || !ok || err != nil || back.Key != c.Key {
		t.Errorf("schedule %v", body)
	}
	if n := ScheduleName("event/abc/0"); len(n) > 64 || ScheduleName("event/abc/1") == n {
		t.Errorf("schedule name %q: over 64 characters, or not one a key", n)
	}
	// A refusal other than a conflict is an error naming it.
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"ValidationException","Message":"bad role"}`))
	})
	if err := r.Schedule(context.Background(), target, c); err == nil || !strings.Contains(err.Error(), "ValidationException: bad role") || Conflict(err) {
		t.Errorf("refused schedule: %v", err)
	}
	// A check too large for a schedule's input is refused before any call.
	big := c
	for range 100 {
		big.Finding.Rules = append(big.Finding.Rules, asCalled(world, 22, "0.0.0.0/0"))
	}
	if err := r.Schedule(context.Background(), target, big); !errors.Is(err, errTooLarge) {
		t.Errorf("oversized check: %v", err)
	}
}

// TestSchedulerEndpoint: the Region's endpoint in its partition, unless
// the configuration names one.
func TestSchedulerEndpoint(t *testing.T) {
	for region, want := range map[string]string{"eu-west-1": "https://scheduler.eu-west-1.amazonaws.com", "cn-north-1": "https://scheduler.cn-north-1.amazonaws.com.cn"} {
		if got, err := (SchedulerHTTP{Config: aws.Config{Region: region}}).endpoint(context.Background()); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", region, got, err, want)
		}
	}
	if _, err := (SchedulerHTTP{}).endpoint(context.Background()); err == nil {
		t.Error("no Region: no error")
	}
}

// TestScheduleRetries: a busy or failing Scheduler (429, 5xx) is tried
// again, at most attempts times; a refusal is not.
func TestScheduleRetries(t *testing.T) {
	for _, c := range []struct {
		name   string
		codes  []int
		calls  int
		failed bool
	}{
		{"throttled, then made", []int{429, 200}, 2, false},
		{"failing throughout", []int{500, 503, 500, 200}, attempts, true},
		{"refused", []int{400, 200}, 1, true},
	} {
		calls := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(c.codes[calls])
			calls++
			_, _ = w.Write([]byte(`{"Message":"x"}`))
		}))
		cfg := aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
		err := SchedulerHTTP{Config: cfg}.CreateSchedule(context.Background(), Schedule{Name: "n"})
		srv.Close()
		if calls != c.calls || (err != nil) != c.failed {
			t.Errorf("%s: %d calls, error %v; want %d calls, failed %v", c.name, calls, err, c.calls, c.failed)
		}
	}
}

// TestParseCheckSkipsEvents: an event that does not name a check's kind
// is not decoded at all (every event passes ParseCheck first); one that
// names it elsewhere than the top-level member is no check.
func TestParseCheckSkipsEvents(t *testing.T) {
	for _, data := range []string{
		`{"detail-type":"AWS API Call via CloudTrail","detail":{"userAgent":"x"}}`,
		`{"detail":{"userAgent":"revert-check"}, "sgwatch": "sweep"}`,
		`not JSON at all, so it would fail to decode`,
	} {
		if _, ok, err := ParseCheck([]byte(data)); ok || err != nil {
			t.Errorf("%s: read as a check (%v, %v)", data, ok, err)
		}
	}
}
