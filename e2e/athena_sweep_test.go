//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	athenasdk "github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sgwatch/sgwatch/emulate"
)

// TestScanAthenaSweepCreators is the sweep's look into the history table, issue 22:
// the sweep worker (cmd/sgwatch-sweep, template.yaml's SweepWorkerFunction)
// under the runtime emulator, with HISTORY_SOURCE, against moto's EC2 and
// Athena. A world-open SSH rule whose creator LookupEvents does not know
// (CloudTrail has no record of it in 90 days) is looked for in the history:
// the worker starts one query, for the rule's group, account and Region,
// and moto's Athena answers with the record that created the rule two years
// ago (seeded: moto runs no SQL); the notification names that record's
// author and says the history table found it. The event function, given the
// same environment, publishes the exposure with no author: it does not link
// the history. A HISTORY_SOURCE that is no source stops the worker at start.
func TestScanAthenaSweepCreators(t *testing.T) {
	ctx := context.Background()
	sub := subscribe(t)
	c := ec2.NewFromConfig(moto.Config())
	g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("old-ssh"), Description: aws.String("old-ssh")})
	if err != nil {
		t.Fatal(err)
	}
	group := aws.ToString(g.GroupId)
	out, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: []types.IpPermission{tcp(22, []string{"0.0.0.0/0"})}})
	if err != nil || len(out.SecurityGroupRules) != 1 {
		t.Fatalf("moto: %v, %d rules", err, len(out.SecurityGroupRules))
	}
	rule := aws.ToString(out.SecurityGroupRules[0].SecurityGroupRuleId)

	// The record that opened it, two years ago, by alice: the sample moved
	// to moto's group and rule, as a row of the history query.
	sample, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Detail map[string]any `json:"detail"`
	}
	if err := json.Unmarshal([]byte(strings.NewReplacer("sg-0a1b2c3d4e5f60718", group, "sgr-0c0ffee0c0ffee001", rule).Replace(string(sample))), &ev); err != nil {
		t.Fatal(err)
	}
	const alice = "arn:aws:iam::123456789012:user/alice"
	ev.Detail["eventTime"] = "2024-11-03T09:15:00Z"
	ev.Detail["userIdentity"] = map[string]any{"type": "IAMUser", "principalId": "AIDAEXAMPLEALICE0001", "arn": alice,
		"accountId": "123456789012", "userName": "alice", "accessKeyId": "AKIAEXAMPLEALICE0001"}
	rows, cols := cloudTrailHeader()
	seedAthena(t, append(rows, cloudTrailRow(ev.Detail)), cols)

	ct := &fakeCloudTrail{records: map[string][]string{}, lookups: map[string]int{}} // nothing in 90 days
	ctServer := httptest.NewServer(ct)
	defer ctServer.Close()
	env := []string{"SNS_TOPIC_ARN=" + sub.topic, "SWEEP=true", "NOTIFICATION_FORMAT=json",
		"AWS_ENDPOINT_URL_EC2=" + moto.Endpoint, "AWS_ENDPOINT_URL_CLOUDTRAIL=" + ctServer.URL, "AWS_ENDPOINT_URL_ATHENA=" + moto.Endpoint,
		"HISTORY_SOURCE=athena://primary/cloudtrail.logs"}
	sweepWith := func(bootstrap, execution string) (actor, notes string) {
		t.Helper()
		fn := startBootstrap(t, moto, bootstrap, env...)
		if res := invoke(t, fn, scheduleInput(t, execution)); res.Err != nil {
			t.Fatalf("sweep %s: %+v\n%s", execution, res.Err, fn.Output())
		}
		fn.Stop()
		ns := receive(t, sub.all)
		if len(ns) != 1 || !strings.Contains(ns[0].Message, rule) {
			t.Fatalf("%s published %d notifications, want the exposure of %s", bootstrap, len(ns), rule)
		}
		var f struct {
			Actor struct{ ARN string } `json:"actor"`
			Notes []string             `json:"notes"`
		}
		if err := json.Unmarshal([]byte(ns[0].Message), &f); err != nil {
			t.Fatalf("%v: %s", err, ns[0].Message)
		}
		return f.Actor.ARN, strings.Join(f.Notes, "\n")
	}

	actor, notes := sweepWith(*workerBin, "history-1")
	if actor != alice || !strings.Contains(notes, "found in the history table (AuthorizeSecurityGroupIngress at 2024-11-03T09:15:00Z)") || ct.lookups[group] != 1 {
		t.Errorf("the worker: actor %q, notes %q, %d LookupEvents of %s; want alice, from the history table, after one lookup", actor, notes, ct.lookups[group], group)
	}
	a := athenasdk.NewFromConfig(moto.Config())
	list, err := a.ListQueryExecutions(ctx, &athenasdk.ListQueryExecutionsInput{})
	if err != nil || len(list.QueryExecutionIds) != 1 {
		t.Fatalf("moto's Athena ran %v (%v), want one query", list, err)
	}
	q, err := a.GetQueryExecution(ctx, &athenasdk.GetQueryExecutionInput{QueryExecutionId: aws.String(list.QueryExecutionIds[0])})
	if err != nil {
		t.Fatal(err)
	}
	sql := aws.ToString(q.QueryExecution.Query)
	for _, want := range []string{`FROM "cloudtrail"."logs"`, "account IN ('" + rieAccount + "')", "region IN ('" + emulate.Region + "')", "LIKE '%" + group + "%'"} {
		if !strings.Contains(sql, want) {
			t.Errorf("the history query lacks %q:\n%s", want, sql)
		}
	}
	if wg := aws.ToString(q.QueryExecution.WorkGroup); wg != "primary" {
		t.Errorf("workgroup %q", wg)
	}

	// The event function does not look there (a fresh sweep id: no memory).
	actor, notes = sweepWith(*bootstrapBin, "history-2")
	if actor != "" || strings.Contains(notes, "history table") || !strings.Contains(notes, "who created the rule is not known") {
		t.Errorf("the event function: actor %q, notes %q; want no author and LookupEvents' note alone", actor, notes)
	}

	bad := startBootstrap(t, moto, *workerBin, append(env, "HISTORY_SOURCE=athena://primary/logs")...)
	if res := invoke(t, bad, scheduleInput(t, "history-3")); res.Err == nil || !strings.Contains(bad.Output(), "configuration: HISTORY_SOURCE: ") {
		t.Errorf("a bad HISTORY_SOURCE: %+v\n%s", res.Err, bad.Output())
	}
	t.Logf("sweep: history: the worker under the emulator found the creator of a world-open SSH rule that LookupEvents did not know in moto's Athena (one query naming the group, the account and the Region; the record of 2024-11-03 by alice); the event function published the same exposure without its author; a bad HISTORY_SOURCE stopped the worker at start")
}
