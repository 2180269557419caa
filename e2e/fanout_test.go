//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sgwatch/sgwatch/sweep"
)

// denyRole is STS in front of moto, refusing AssumeRole into one account as
// AWS does when the role is missing (moto lets any role be assumed).
type denyRole struct {
	account string
	moto    *httputil.ReverseProxy
}

func (d denyRole) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	if form.Get("Action") == "AssumeRole" && strings.Contains(form.Get("RoleArn"), ":"+d.account+":") {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::%s:assumed-role/sgwatch/fn is not authorized to perform: sts:AssumeRole on resource: %s</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
			rieAccount, form.Get("RoleArn"))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	d.moto.ServeHTTP(w, r)
}

// TestSweepFanOut is issue 22's fan-out: a sweep of 50 member accounts × 3
// Regions (and the function's own account) under the runtime emulator,
// against moto over HTTP. The scheduled invocation only plans: one message
// a target on the queue. The test then drains the queue into the function
// as Lambda's event source mapping would (one target a batch; moto's
// mappings do not invoke a function here): a message that fails is made
// visible again at once, one that succeeds is deleted. Every world-open
// rule is published exactly once, and the account whose role is missing
// is retried, then put on the dead-letter queue with why, once per Region.
func TestSweepFanOut(t *testing.T) {
	ctx := context.Background()
	sub := subscribe(t) // resets moto
	onceTable(t, "sgwatch-fanout")
	regions := []string{"us-east-1", "eu-west-1", "ap-southeast-2"}
	var members []string
	for i := range 50 {
		members = append(members, fmt.Sprintf("2000000000%02d", i))
	}
	missing := members[len(members)-1]
	// Each member has one world-open SSH group in each Region.
	want := map[string]string{} // group id → account/Region
	for _, a := range members {
		for _, r := range regions {
			c := ec2.NewFromConfig(moto.ConfigFor(a, r))
			g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("world-ssh"), Description: aws.String("fan-out")})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: []types.IpPermission{tcp(22, []string{"0.0.0.0/0"})}}); err != nil {
				t.Fatal(err)
			}
			if a != missing {
				want[aws.ToString(g.GroupId)] = a + "/" + r
			}
		}
	}
	// The fan-out's queues, as template.yaml makes them.
	q := sqs.NewFromConfig(moto.Config())
	dead, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("sgwatch-sweep-dead")})
	if err != nil {
		t.Fatal(err)
	}
	arnOf := func(u *string) string {
		t.Helper()
		a, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: u, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		return a.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	}
	deadARN := arnOf(dead.QueueUrl)
	redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":3}`, deadARN)
	main, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("sgwatch-sweep"),
		Attributes: map[string]string{"VisibilityTimeout": "1800", "RedrivePolicy": redrive}})
	if err != nil {
		t.Fatal(err)
	}
	mainARN := arnOf(main.QueueUrl)

	target, _ := url.Parse(moto.Endpoint)
	sts := httptest.NewServer(denyRole{account: missing, moto: httputil.NewSingleHostReverseProxy(target)})
	defer sts.Close()
	ct := httptest.NewServer(&fakeCloudTrail{records: map[string][]string{}, lookups: map[string]int{}})
	defer ct.Close()
	fn := startFunction(t, moto, "SNS_TOPIC_ARN="+sub.topic, "SWEEP=true", "SWEEP_TABLE=sgwatch-fanout",
		"SWEEP_ACCOUNTS="+strings.Join(members, ","), "SWEEP_REGIONS="+strings.Join(regions, ","),
		"SWEEP_QUEUE_URL="+aws.ToString(main.QueueUrl), "SWEEP_DEAD_LETTER_URL="+aws.ToString(dead.QueueUrl), "SWEEP_MAX_RECEIVES=3",
		"AWS_ENDPOINT_URL_EC2="+moto.Endpoint, "AWS_ENDPOINT_URL_DYNAMODB="+moto.Endpoint, "AWS_ENDPOINT_URL_SQS="+moto.Endpoint,
		"AWS_ENDPOINT_URL_STS="+sts.URL, "AWS_ENDPOINT_URL_CLOUDTRAIL="+ct.URL)

	// The scheduled invocation plans, and sweeps nothing.
	start := time.Now()
	if res := invoke(t, fn, scheduleInput(t, "exec-fanout")); res.Err != nil {
		t.Fatalf("plan: %+v", res.Err)
	}
	planned := time.Since(start)
	targets := (len(members) + 1) * len(regions)
	if !strings.Contains(fn.Output(), fmt.Sprintf(`"targets":%d`, targets)) || strings.Contains(fn.Output(), `"msg":"swept"`) {
		t.Fatalf("the scheduled invocation did not only plan %d targets:\n%s", targets, fn.Output())
	}
	if got := receive(t, sub.all); len(got) != 0 {
		t.Fatalf("the plan published %d notifications", len(got))
	}

	// Drain the queue into the function, one target an invocation.
	var took []time.Duration
	invocations, retried := 0, 0
	for {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: main.QueueUrl, MaxNumberOfMessages: 10,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			attrs := map[string]string{}
			for k, v := range m.Attributes {
				attrs[k] = v
			}
			e := events.SQSEvent{Records: []events.SQSMessage{{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), Attributes: attrs, EventSource: "aws:sqs", EventSourceARN: mainARN, AWSRegion: "us-east-1"}}}
			payload, _ := json.Marshal(e)
			t0 := time.Now()
			res := invoke(t, fn, payload)
			took = append(took, time.Since(t0))
			invocations++
			var resp events.SQSEventResponse
			if res.Err != nil || json.Unmarshal(res.Body, &resp) != nil {
				t.Fatalf("batch: %+v %s", res.Err, res.Body)
			}
			if len(resp.BatchItemFailures) == 0 {
				if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: main.QueueUrl, ReceiptHandle: m.ReceiptHandle}); err != nil {
					t.Fatal(err)
				}
				continue
			}
			// What Lambda does after the visibility timeout, at once.
			retried++
			if _, err := q.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: main.QueueUrl, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Every world-open rule of the members that could be swept, once.
	seen := map[string]int{}
	for _, n := range receive(t, sub.all) {
		g := n.Attributes["securityGroupId"].Value
		seen[g]++
		if where := n.Attributes["accountId"].Value + "/" + n.Attributes["region"].Value; want[g] != where {
			t.Errorf("%s published in %s, want %q", g, where, want[g])
		}
	}
	for g, where := range want {
		if seen[g] != 1 {
			t.Errorf("%s (%s) published %d times, want once", g, where, seen[g])
		}
	}
	// The missing role's account: retried, then on the dead-letter queue,
	// once per Region, with why.
	var dl []string
	for {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dead.QueueUrl, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			dl = append(dl, aws.ToString(m.Body))
			if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: dead.QueueUrl, ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var deadRegions []string
	for _, b := range dl {
		m, err := sweep.ParseTarget(b)
		if err != nil || m.Account != missing || m.ID != "exec-fanout" || !strings.Contains(m.Reason, "AccessDenied") || !strings.Contains(m.Reason, "sts:AssumeRole") {
			t.Errorf("dead letter %s: %+v %v", b, m, err)
		}
		deadRegions = append(deadRegions, m.Region)
	}
	slices.Sort(deadRegions)
	if want := slices.Sorted(slices.Values(regions)); !slices.Equal(deadRegions, want) || retried != 2*len(regions) || invocations != targets+retried {
		t.Errorf("dead letters for %v, %d retries, %d invocations; want %v, %d retries (two a Region), %d invocations", deadRegions, retried, invocations, want, 2*len(regions), targets+2*len(regions))
	}
	slices.Sort(took)
	t.Logf("fan-out: %d members × %d Regions and the own account under the runtime emulator against moto: the plan sent %d messages in %d ms; %d invocations, one target each (median %d ms, p90 %d ms, max %d ms); %d world-open rules each published once; %s's missing role retried twice a Region, then on the dead-letter queue with why (%d messages)",
		len(members), len(regions), targets, planned.Milliseconds(), invocations, took[len(took)/2].Milliseconds(), took[len(took)*9/10].Milliseconds(), took[len(took)-1].Milliseconds(),
		len(want), missing, len(dl))
}
