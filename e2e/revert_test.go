//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/emulate"
)

// The opt-in revert (issue 23), each case through the function under the
// runtime emulator, against moto's EC2, SNS and EventBridge Scheduler
// over HTTP. moto stores a schedule but never fires it: the test invokes
// the function with the input the schedule stores, as Scheduler would.

// revertWorld is one test's world: a group in moto's default VPC, the
// subscriber of the function's topic, and the EC2 client.
type revertWorld struct {
	sub subscriber
	c   *ec2.Client
	vpc string
}

func newRevertWorld(t *testing.T) revertWorld {
	t.Helper()
	w := revertWorld{sub: subscribe(t), c: ec2.NewFromConfig(moto.Config())}
	vpcs, err := w.c.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
	if err != nil || len(vpcs.Vpcs) == 0 {
		t.Fatalf("moto VPCs: %v", err)
	}
	w.vpc = aws.ToString(vpcs.Vpcs[0].VpcId)
	return w
}

// group creates a group and authorizes perms on it, one rule each; it
// returns the group's id and the rules as EC2 made them.
func (w revertWorld) group(t *testing.T, name string, perms ...types.IpPermission) (string, []types.SecurityGroupRule) {
	t.Helper()
	ctx := context.Background()
	g, err := w.c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name), VpcId: aws.String(w.vpc)})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(g.GroupId)
	// One call a permission: moto's response to one call names one rule
	// only, where EC2's names each. The record the test sends names them
	// all, as EC2's would.
	var rules []types.SecurityGroupRule
	for _, p := range perms {
		out, err := w.c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []types.IpPermission{p}})
		if err != nil || len(out.SecurityGroupRules) != 1 {
			t.Fatalf("authorize on %s: %v", id, err)
		}
		rules = append(rules, out.SecurityGroupRules...)
	}
	return id, rules
}

// ingress are the ids of the group's ingress rules in moto now.
func (w revertWorld) ingress(t *testing.T, group string) []string {
	t.Helper()
	out, err := w.c.DescribeSecurityGroupRules(context.Background(), &ec2.DescribeSecurityGroupRulesInput{
		Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{group}}}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range out.SecurityGroupRules {
		if !aws.ToBool(r.IsEgress) {
			ids = append(ids, aws.ToString(r.SecurityGroupRuleId))
		}
	}
	slices.Sort(ids)
	return ids
}

// tag sets tags on a rule or group.
func (w revertWorld) tag(t *testing.T, resource string, kv ...string) {
	t.Helper()
	var tags []types.Tag
	for i := 0; i < len(kv); i += 2 {
		tags = append(tags, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	if _, err := w.c.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{resource}, Tags: tags}); err != nil {
		t.Fatal(err)
	}
}

// findings are the JSON findings the topic delivered since the last call.
func (w revertWorld) findings(t *testing.T) []detect.Finding {
	t.Helper()
	var out []detect.Finding
	for _, n := range receive(t, w.sub.all) {
		var f detect.Finding
		if err := json.Unmarshal([]byte(n.Message), &f); err != nil {
			t.Fatalf("not a JSON finding: %v: %s", err, n.Message)
		}
		out = append(out, f)
	}
	return out
}

// revertIdentities are the callers the records name.
var (
	revertAdmin = map[string]any{"type": "AssumedRole", "principalId": "AROAQXAMPLEROLEID123:mallory",
		"arn": "arn:aws:sts::" + rieAccount + ":assumed-role/Admin/mallory", "accountId": rieAccount, "accessKeyId": "ASIAQXAMPLE7EXAMPLE2",
		"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": "arn:aws:iam::" + rieAccount + ":role/Admin", "accountId": rieAccount}}}
	revertRoot = map[string]any{"type": "Root", "principalId": rieAccount, "arn": "arn:aws:iam::" + rieAccount + ":root", "accountId": rieAccount}
)

// revertEvent is the EventBridge event of a call by who (sampleEvent),
// made now, with an id of its own.
func revertEvent(t *testing.T, sample, name string, who map[string]any, request, response any) []byte {
	t.Helper()
	return sampleEvent(t, sample, name, request, response, func(d map[string]any) {
		d["userIdentity"] = who
		d["eventTime"] = time.Now().UTC().Format(time.RFC3339)
		d["eventID"] = fmt.Sprintf("%08x-0000-4000-8000-%012x", time.Now().UnixNano()&0xffffffff, time.Now().UnixNano()&0xffffffffffff)
	})
}

// authorizeEvent is the AuthorizeSecurityGroupIngress record that made
// rules on group, by who.
func authorizeEvent(t *testing.T, group string, rules []types.SecurityGroupRule, who map[string]any) []byte {
	t.Helper()
	var items, set []any
	for _, r := range rules {
		item := map[string]any{"ipProtocol": aws.ToString(r.IpProtocol), "fromPort": aws.ToInt32(r.FromPort), "toPort": aws.ToInt32(r.ToPort),
			"ipRanges": map[string]any{"items": []any{map[string]any{"cidrIp": aws.ToString(r.CidrIpv4)}}}}
		items = append(items, item)
		set = append(set, map[string]any{"groupId": group, "securityGroupRuleId": aws.ToString(r.SecurityGroupRuleId), "isEgress": false,
			"ipProtocol": aws.ToString(r.IpProtocol), "fromPort": aws.ToInt32(r.FromPort), "toPort": aws.ToInt32(r.ToPort), "cidrIpv4": aws.ToString(r.CidrIpv4)})
	}
	return revertEvent(t, "authorize-ingress-world-ssh.json", "AuthorizeSecurityGroupIngress", who,
		map[string]any{"groupId": group, "ipPermissions": map[string]any{"items": items}},
		map[string]any{"_return": true, "securityGroupRuleSet": map[string]any{"items": set}})
}

// tcpRule is one permission: tcp/port from cidr.
func tcpRule(port int32, cidr string) types.IpPermission {
	return types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port), IpRanges: []types.IpRange{{CidrIp: aws.String(cidr)}}}
}

// revertEnv is the function's environment with revert on at REVERT=high
// and env added.
func revertEnv(sub subscriber, env ...string) []string {
	return append([]string{"SNS_TOPIC_ARN=" + sub.topic, "NOTIFICATION_FORMAT=json", "REVERT=high", "AWS_ENDPOINT_URL_EC2=" + moto.Endpoint,
		"AWS_ENDPOINT_URL_SCHEDULER=" + moto.Endpoint}, env...)
}

// awsCallsRE reads the AWS calls a revert made from its log line.
var awsCallsRE = regexp.MustCompile(`"msg":"(reverted|revert failed|not reverted)".*?"awsCalls":([0-9]+)`)

// revertCalls are the AWS calls of each revert the function logged.
func revertCalls(fn *emulate.Function) []string {
	var out []string
	for _, m := range awsCallsRE.FindAllStringSubmatch(fn.Output(), -1) {
		out = append(out, m[1]+":"+m[2])
	}
	return out
}

// TestRevertAtOnce: REVERT_AFTER=0. A world-open SSH rule is revoked by
// its id within the invocation, and the reverted finding shows the re-read
// and the command that would open it again; of a call that adds a world
// rule and a private one, only the world rule is revoked; a critical
// change by the root user is reverted at once even with a window, and no
// schedule is made.
func TestRevertAtOnce(t *testing.T) {
	w := newRevertWorld(t)
	fn := startFunction(t, moto, revertEnv(w.sub)...)

	t.Run("at once", func(t *testing.T) {
		group, rules := w.group(t, "at-once", tcpRule(22, "0.0.0.0/0"))
		if res := invoke(t, fn, authorizeEvent(t, group, rules, revertAdmin)); res.Err != nil {
			t.Fatalf("invocation failed: %v", res.Err)
		}
		if got := w.ingress(t, group); len(got) != 0 {
			t.Errorf("rules left: %v, want none", got)
		}
		fs := w.findings(t)
		if len(fs) != 2 || fs[0].Revert == nil || fs[0].Revert.Status != detect.RevertNow || fs[1].Action != detect.Reverted {
			t.Fatalf("findings %s, want the change (revert now) then reverted", actions(fs))
		}
		r := fs[1]
		id := aws.ToString(rules[0].SecurityGroupRuleId)
		if r.Revert.Status != detect.RevertDone || !slices.Equal(r.Revert.Rules, []string{id}) || r.Actor.ARN != revertAdmin["arn"] ||
			!strings.Contains(r.Revert.Reread, "none of "+id) || !strings.HasPrefix(r.Revert.Reopen, "aws ec2 authorize-security-group-ingress --region us-east-1 --group-id "+group) {
			t.Errorf("reverted finding %+v, revert %+v", r, r.Revert)
		}
		if got := revertCalls(fn); len(got) == 0 || got[len(got)-1] != "reverted:4" {
			t.Errorf("revert's AWS calls %v, want reverted:4 (rules, group tags, revoke, re-read)", got)
		}
	})

	t.Run("mixed call", func(t *testing.T) {
		group, rules := w.group(t, "mixed", tcpRule(22, "0.0.0.0/0"), tcpRule(5432, "10.0.0.0/8"))
		if res := invoke(t, fn, authorizeEvent(t, group, rules, revertAdmin)); res.Err != nil {
			t.Fatalf("invocation failed: %v", res.Err)
		}
		private := ""
		for _, r := range rules {
			if aws.ToString(r.CidrIpv4) == "10.0.0.0/8" {
				private = aws.ToString(r.SecurityGroupRuleId)
			}
		}
		if got := w.ingress(t, group); !slices.Equal(got, []string{private}) {
			t.Errorf("rules left %v, want only the private one %s", got, private)
		}
		fs := w.findings(t)
		if len(fs) != 2 || fs[1].Action != detect.Reverted || len(fs[1].Rules) != 1 || fs[1].Rules[0].CIDRIPv4 != "0.0.0.0/0" {
			t.Errorf("findings %s, want the world rule alone reverted", actions(fs))
		}
	})

	t.Run("root at once", func(t *testing.T) {
		fn := startFunction(t, moto, revertEnv(w.sub, "REVERT_AFTER=15m", "SWEEP=true", "REVERT_SCHEDULE_GROUP=sgwatch",
			"REVERT_SCHEDULE_ROLE=arn:aws:iam::"+emulate.Account+":role/sgwatch-schedule", "REVERT_DEAD_LETTER_ARN=arn:aws:sqs:us-east-1:"+emulate.Account+":revert-dlq")...)
		group, rules := w.group(t, "root", tcpRule(3389, "0.0.0.0/0"))
		if res := invoke(t, fn, authorizeEvent(t, group, rules, revertRoot)); res.Err != nil {
			t.Fatalf("invocation failed: %v", res.Err)
		}
		if got := w.ingress(t, group); len(got) != 0 {
			t.Errorf("rules left: %v, want none (root's critical change, at once)", got)
		}
		fs := w.findings(t)
		if len(fs) != 2 || fs[0].Revert.Status != detect.RevertNow || fs[1].Action != detect.Reverted {
			t.Errorf("findings %s, want revert now then reverted", actions(fs))
		}
		out, err := scheduler.NewFromConfig(moto.Config()).ListSchedules(context.Background(), &scheduler.ListSchedulesInput{})
		if err != nil || len(out.Schedules) != 0 {
			t.Errorf("schedules %v (%v), want none", out, err)
		}
	})
}

// actions names findings by action and revert status, for messages.
func actions(fs []detect.Finding) string {
	var s []string
	for _, f := range fs {
		a := string(f.Action)
		if f.Revert != nil {
			a += "/" + string(f.Revert.Status)
		}
		s = append(s, a)
	}
	return fmt.Sprint(s)
}

// TestRevertWindow: REVERT_AFTER=15m. The change's notification says when
// it will be reverted and carries the create-tags command that approves
// it; the function schedules the check (at(...), deleted after it runs,
// with a dead-letter queue). Fired with the stored input: reverted. Fired
// after the rule was approved by tag: left alone, saying so, and the
// approval's CreateTags event is a finding naming who approved it; once the
// approval has run out, the sweep reverts it. A rule changed since the
// event is not reverted, saying so.
func TestRevertWindow(t *testing.T) {
	ctx := context.Background()
	w := newRevertWorld(t)
	sched := scheduler.NewFromConfig(moto.Config())
	if _, err := sched.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String("sgwatch-revert")}); err != nil {
		t.Fatal(err)
	}
	dlq, err := moto.Queue(ctx, "revert-dlq")
	if err != nil {
		t.Fatal(err)
	}
	role := "arn:aws:iam::" + emulate.Account + ":role/sgwatch-schedule"
	// moto has no LookupEvents: the sweep asks a stand-in who created a
	// rule, before it reverts one whose creator it did not know.
	trail := &fakeCloudTrail{records: map[string][]string{}, lookups: map[string]int{}}
	ct := httptest.NewServer(trail)
	t.Cleanup(ct.Close)
	fn := startFunction(t, moto, revertEnv(w.sub, "REVERT_AFTER=15m", "REVERT_SCHEDULE_GROUP=sgwatch-revert", "REVERT_SCHEDULE_ROLE="+role,
		"REVERT_DEAD_LETTER_ARN="+dlq.ARN, "SWEEP=true", "AWS_ENDPOINT_URL_CLOUDTRAIL="+ct.URL)...)

	// opened makes a world-open SSH rule on a new group, sends its event,
	// and returns the group, the rule and the schedule's stored input.
	opened := func(t *testing.T, name string) (group, rule string, input []byte) {
		t.Helper()
		group, rules := w.group(t, name, tcpRule(22, "0.0.0.0/0"))
		event := authorizeEvent(t, group, rules, revertAdmin)
		var e struct{ Detail json.RawMessage }
		if err := json.Unmarshal(event, &e); err != nil {
			t.Fatal(err)
		}
		trail.mu.Lock()
		trail.records[group] = []string{string(e.Detail)}
		trail.mu.Unlock()
		start := time.Now()
		if res := invoke(t, fn, event); res.Err != nil {
			t.Fatalf("invocation failed: %v", res.Err)
		}
		rule = aws.ToString(rules[0].SecurityGroupRuleId)
		fs := w.findings(t)
		if len(fs) != 1 || fs[0].Revert == nil || fs[0].Revert.Status != detect.RevertScheduled {
			t.Fatalf("findings %s, want one with its revert scheduled", actions(fs))
		}
		v := fs[0].Revert
		at, err := time.Parse(time.RFC3339, v.At)
		if err != nil || at.Before(start.Add(15*time.Minute)) || at.After(time.Now().Add(17*time.Minute)) {
			t.Errorf("due %q, want 15 to 17 minutes from now", v.At)
		}
		wantCmd := "aws ec2 create-tags --region us-east-1 --resources " + rule + " --tags Key=sgwatch:approved-until,Value="
		if !strings.HasPrefix(v.Approve, wantCmd) || !strings.Contains(v.Approve, "Key=sgwatch:approval-reason") {
			t.Errorf("approve command %q, want %s…", v.Approve, wantCmd)
		}
		if got := w.ingress(t, group); !slices.Equal(got, []string{rule}) {
			t.Errorf("rules %v before the window ends, want %s still there", got, rule)
		}
		// The schedule, as EventBridge Scheduler would run it. Its name is
		// the event's key's: found by listing.
		list, err := sched.ListSchedules(ctx, &scheduler.ListSchedulesInput{GroupName: aws.String("sgwatch-revert")})
		if err != nil {
			t.Fatal(err)
		}
		var name2 string
		for _, s := range list.Schedules {
			got, err := sched.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: s.Name, GroupName: aws.String("sgwatch-revert")})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(aws.ToString(got.Target.Input), rule) {
				name2, input = aws.ToString(s.Name), []byte(aws.ToString(got.Target.Input))
				if want := "at(" + at.UTC().Format("2006-01-02T15:04:05") + ")"; aws.ToString(got.ScheduleExpression) != want ||
					got.ActionAfterCompletion != "DELETE" || aws.ToString(got.Target.DeadLetterConfig.Arn) != dlq.ARN ||
					aws.ToString(got.Target.RoleArn) != role || !strings.Contains(aws.ToString(got.Target.Arn), ":function:") {
					t.Errorf("schedule %s: %s, %s, DLQ %s, role %s, target %s", name2, aws.ToString(got.ScheduleExpression), got.ActionAfterCompletion,
						aws.ToString(got.Target.DeadLetterConfig.Arn), aws.ToString(got.Target.RoleArn), aws.ToString(got.Target.Arn))
				}
			}
		}
		if input == nil || !strings.HasPrefix(name2, "sgwatch-revert-") {
			t.Fatalf("no schedule holds the check of %s", rule)
		}
		// A second delivery of the event schedules nothing new.
		if res := invoke(t, fn, event); res.Err != nil {
			t.Fatalf("second delivery failed: %v", res.Err)
		}
		w.findings(t)
		return group, rule, input
	}

	t.Run("window then revert", func(t *testing.T) {
		group, rule, input := opened(t, "window")
		if res := invoke(t, fn, input); res.Err != nil {
			t.Fatalf("check failed: %v", res.Err)
		}
		if got := w.ingress(t, group); len(got) != 0 {
			t.Errorf("rules left %v after the window, want none", got)
		}
		fs := w.findings(t)
		if len(fs) != 1 || fs[0].Action != detect.Reverted || fs[0].Revert.Status != detect.RevertDone || !slices.Equal(fs[0].Revert.Rules, []string{rule}) {
			t.Errorf("findings %s, want reverted", actions(fs))
		}
	})

	t.Run("approved by tag, then the approval runs out", func(t *testing.T) {
		group, rule, input := opened(t, "approved")
		until := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
		w.tag(t, rule, detect.ApprovedUntilTag, until, detect.ApprovalReasonTag, "vendor SSH for the migration, CHG-1234")
		// The approval's own event: who approved, until when, why.
		approval := revertEvent(t, "create-tags-sgwatch-public.json", "CreateTags", revertAdmin,
			map[string]any{"resourcesSet": map[string]any{"items": []any{map[string]any{"resourceId": rule}}},
				"tagSet": map[string]any{"items": []any{map[string]any{"key": detect.ApprovedUntilTag, "value": until},
					map[string]any{"key": detect.ApprovalReasonTag, "value": "vendor SSH for the migration, CHG-1234"}}}},
			map[string]any{"_return": true})
		if res := invoke(t, fn, approval); res.Err != nil {
			t.Fatalf("approval event failed: %v", res.Err)
		}
		fs := w.findings(t)
		if len(fs) != 1 || fs[0].Severity != detect.Medium || fs[0].Actor.ARN != revertAdmin["arn"] ||
			!slices.ContainsFunc(fs[0].Reasons, func(r string) bool { return strings.Contains(r, "until "+until) }) ||
			fs[0].Tags == nil || !slices.ContainsFunc(fs[0].Tags.Tags, func(t detect.Tag) bool { return strings.Contains(t.Value, "CHG-1234") }) {
			t.Errorf("approval finding %+v, want medium, by %s, until %s, with its reason", fs, revertAdmin["arn"], until)
		}
		if res := invoke(t, fn, input); res.Err != nil {
			t.Fatalf("check failed: %v", res.Err)
		}
		if got := w.ingress(t, group); !slices.Equal(got, []string{rule}) {
			t.Errorf("rules %v after an approved check, want %s kept", got, rule)
		}
		if fs := w.findings(t); len(fs) != 1 || fs[0].Revert.Status != detect.RevertKept || !strings.Contains(fs[0].Revert.Why, rule+": approved until "+until) {
			t.Errorf("an approved check published %s, want one saying the rule is kept open, approved until %s", actions(fs), until)
		}
		// The approval runs out; the sweep re-judges it and reverts.
		w.tag(t, rule, detect.ApprovedUntilTag, time.Now().Add(-time.Minute).UTC().Format(time.RFC3339))
		if res := invoke(t, fn, []byte(`{"sgwatch":"sweep","id":"revert-expired"}`)); res.Err != nil {
			t.Fatalf("sweep failed: %v", res.Err)
		}
		if got := w.ingress(t, group); len(got) != 0 {
			t.Errorf("rules %v after the sweep, want the expired approval's rule reverted", got)
		}
		var reverted []detect.Finding
		for _, f := range w.findings(t) {
			if f.Action == detect.Reverted {
				reverted = append(reverted, f)
			}
		}
		if len(reverted) != 1 || !slices.Equal(reverted[0].Revert.Rules, []string{rule}) || reverted[0].Actor.ARN != revertAdmin["arn"] {
			t.Errorf("sweep published reverted %s, want %s, opened by %s (LookupEvents)", actions(reverted), rule, revertAdmin["arn"])
		}
	})

	t.Run("changed since the event", func(t *testing.T) {
		group, rule, input := opened(t, "changed")
		if _, err := w.c.ModifySecurityGroupRules(ctx, &ec2.ModifySecurityGroupRulesInput{GroupId: aws.String(group),
			SecurityGroupRules: []types.SecurityGroupRuleUpdate{{SecurityGroupRuleId: aws.String(rule), SecurityGroupRule: &types.SecurityGroupRuleRequest{
				IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), CidrIpv4: aws.String("0.0.0.0/0")}}}}); err != nil {
			t.Fatal(err)
		}
		if res := invoke(t, fn, input); res.Err != nil {
			t.Fatalf("check failed: %v", res.Err)
		}
		if got := w.ingress(t, group); !slices.Equal(got, []string{rule}) {
			t.Errorf("rules %v, want %s, changed since the event, left alone", got, rule)
		}
		if fs := w.findings(t); len(fs) != 1 || fs[0].Revert.Status != detect.RevertKept || !strings.Contains(fs[0].Revert.Why, rule+": changed since the change that opened it") {
			t.Errorf("a check of a changed rule published %s, want one saying it is kept open, changed since", actions(fs))
		}
	})
}

// TestRevertRefused: moto refuses the revoke (the function's credentials
// are denied ec2:RevokeSecurityGroupIngress, with moto's IAM checks on):
// the revert-failed finding is published at critical with moto's reason,
// and the invocation fails, so that Lambda's retries and alarms apply.
func TestRevertRefused(t *testing.T) {
	ctx := context.Background()
	w := newRevertWorld(t)
	group, rules := w.group(t, "refused", tcpRule(22, "0.0.0.0/0"))
	// A user allowed everything but the revoke, with moto's IAM checks on
	// from here.
	c := iam.NewFromConfig(moto.Config())
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("sgwatch")}); err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},` +
		`{"Effect":"Deny","Action":"ec2:RevokeSecurityGroupIngress","Resource":"*"}]}`
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("sgwatch"), PolicyName: aws.String("all-but-revoke"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	key, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("sgwatch")})
	if err != nil {
		t.Fatal(err)
	}
	id, secret := aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)
	setAuth(t, "0")
	t.Cleanup(func() { setAuth(t, "inf") })

	fn := startFunction(t, moto, revertEnv(w.sub, "AWS_ACCESS_KEY_ID="+id, "AWS_SECRET_ACCESS_KEY="+secret)...)
	res := invoke(t, fn, authorizeEvent(t, group, rules, revertAdmin))
	if res.Err == nil || res.Err.Type != "RevertError" {
		t.Errorf("invocation error %v, want a RevertError", res.Err)
	}
	setAuth(t, "inf") // the test's own reads
	if got := w.ingress(t, group); len(got) != 1 {
		t.Errorf("rules %v, want the refused rule still there", got)
	}
	var failed []detect.Finding
	for _, f := range w.findings(t) {
		if f.Action == detect.RevertFailed {
			failed = append(failed, f)
		}
	}
	if len(failed) != 1 || failed[0].Severity != detect.Critical || !strings.Contains(failed[0].Revert.Why, "RevokeSecurityGroupIngress failed") ||
		failed[0].Undo == nil || !strings.Contains(failed[0].Undo.Command, "--security-group-rule-ids "+aws.ToString(rules[0].SecurityGroupRuleId)) {
		t.Errorf("revert-failed findings %+v, want one, critical, with the reason and the command to revoke by hand", failed)
	}
}

// setAuth sets how many more requests moto serves before it checks IAM.
func setAuth(t *testing.T, count string) {
	t.Helper()
	resp, err := http.Post(moto.Endpoint+"/moto-api/reset-auth", "text/plain", strings.NewReader(count))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("moto reset-auth: %s", resp.Status)
	}
}
