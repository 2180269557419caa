//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/sgwatch/sgwatch/emulate"
)

// The accounts and Regions of the organization test: the central (security)
// account in its home Region, and a member account in another Region.
const (
	centralAccount = emulate.Account // moto's default account
	centralRegion  = emulate.Region
	memberAccount  = "111111111111"
	memberRegion   = "eu-west-1"
)

// TestOrganization deploys forwarder.yaml with moto's CloudFormation into a
// member account and Region, creates the central bus and its rule with the
// template's pattern in the central account, and puts events on the
// member's default bus: a security-group change must reach the central
// rule's target, another call must not. The real function then handles the
// forwarded event under the runtime emulator, and its notification must
// name the member account and Region.
//
// moto cannot run Lambda targets, so the central rule delivers to an SQS
// queue, and the test invokes the function with what arrived. moto does not
// enforce the bus policy or the forwarder's role (unit tests check those
// documents), and re-puts a forwarded event with the central Region in its
// envelope: the function takes account and Region from the CloudTrail record,
// which arrives unchanged.
func TestOrganization(t *testing.T) {
	ctx := context.Background()
	if err := moto.Reset(); err != nil {
		t.Fatal(err)
	}
	pattern := string(templatePattern(t))

	// The central side, as template.yaml defines it: a bus of its own and a
	// rule on it with the same pattern.
	central := eventbridge.NewFromConfig(moto.ConfigFor(centralAccount, centralRegion))
	bus, err := central.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("sgwatch-central")})
	if err != nil {
		t.Fatalf("create the central bus: %v", err)
	}
	q, err := moto.Queue(ctx, "central-target")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := central.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("sgwatch-central"), EventBusName: aws.String("sgwatch-central"), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatalf("central rule with the template's pattern: %v", err)
	}
	if _, err := central.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("sgwatch-central"), EventBusName: aws.String("sgwatch-central"),
		Targets: []types.Target{{Id: aws.String("function"), Arn: aws.String(q.ARN)}}}); err != nil {
		t.Fatal(err)
	}

	// The member side: forwarder.yaml through moto's CloudFormation.
	tpl, err := os.ReadFile("../forwarder.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cf := cloudformation.NewFromConfig(moto.ConfigFor(memberAccount, memberRegion))
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName:    aws.String("sgwatch-forwarder"),
		TemplateBody: aws.String(string(tpl)),
		Parameters:   []cftypes.Parameter{{ParameterKey: aws.String("CentralEventBusArn"), ParameterValue: bus.EventBusArn}},
		Capabilities: []cftypes.Capability{cftypes.CapabilityCapabilityIam},
	}); err != nil {
		t.Fatalf("create the forwarder stack in %s/%s: %v", memberAccount, memberRegion, err)
	}
	if status := stackStatus(t, cf, "sgwatch-forwarder"); status != cftypes.StackStatusCreateComplete {
		t.Fatalf("forwarder stack: %s", status)
	}

	// A security-group change and another call, on the member's default bus.
	member := eventbridge.NewFromConfig(moto.ConfigFor(memberAccount, memberRegion))
	sample, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Source     string          `json:"source"`
		DetailType string          `json:"detail-type"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(sample, &ev); err != nil {
		t.Fatal(err)
	}
	// The record of a call made in the member account and Region.
	detail := strings.NewReplacer(`"111122223333"`, `"`+memberAccount+`"`, `"eu-west-1"`, `"`+memberRegion+`"`,
		"arn:aws:sts::111122223333:", "arn:aws:sts::"+memberAccount+":").Replace(string(ev.Detail))
	other := strings.Replace(detail, `"AuthorizeSecurityGroupIngress"`, `"RunInstances"`, 1)
	for _, d := range []string{detail, other} {
		out, err := member.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			Source: aws.String(ev.Source), DetailType: aws.String(ev.DetailType), Detail: aws.String(d),
		}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents on the member's default bus: %v %+v", err, out)
		}
	}
	bodies, err := q.Drain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 1 {
		t.Fatalf("%d events reached the central rule's target, want only the security-group change: %q", len(bodies), bodies)
	}
	var got struct {
		Detail struct {
			EventName          string `json:"eventName"`
			RecipientAccountID string `json:"recipientAccountId"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(bodies[0]), &got); err != nil || got.Detail.EventName != "AuthorizeSecurityGroupIngress" || got.Detail.RecipientAccountID != memberAccount {
		t.Fatalf("forwarded event %v: %s", err, bodies[0])
	}

	// The central function on the forwarded event.
	sub := subscribe(t) // resets moto: everything above is done with
	fn := startFunction(t, moto, "SNS_TOPIC_ARN="+sub.topic, "NOTIFICATION_FORMAT=text")
	if res := invoke(t, fn, []byte(bodies[0])); res.Err != nil {
		t.Fatalf("invocation failed: %v", res.Err)
	}
	ns := receive(t, sub.all)
	if len(ns) != 1 {
		t.Fatalf("%d notifications, want 1", len(ns))
	}
	n := ns[0]
	where := memberAccount + "/" + memberRegion
	switch {
	case !strings.HasSuffix(n.Subject, " in "+where):
		t.Errorf("subject %q does not end with the member account and Region %s", n.Subject, where)
	case n.Attributes["accountId"].Value != memberAccount || n.Attributes["region"].Value != memberRegion:
		t.Errorf("attributes accountId %q region %q, want %s and %s", n.Attributes["accountId"].Value, n.Attributes["region"].Value, memberAccount, memberRegion)
	case !strings.Contains(n.Message, "--region "+memberRegion+" ") || !strings.Contains(n.Message, "https://"+memberRegion+".console.aws.amazon.com/"):
		t.Errorf("the undo command and console links are not for %s:\n%s", memberRegion, n.Message)
	case !strings.Contains(n.Message, "credentials for account "+memberAccount) || !strings.Contains(n.Message, "sign in to account "+memberAccount):
		t.Errorf("the undo and the links do not say to use the member account:\n%s", n.Message)
	}
	t.Logf("organization: forwarder.yaml deployed by moto's CloudFormation in %s/%s; a security-group change put there reached the central rule in %s/%s (another call did not); the function's notification says %q",
		memberAccount, memberRegion, centralAccount, centralRegion, n.Subject)
}

// stackStatus waits, with CloudFormation's waiter, for a stack to be
// created, and returns its status (logged with its reason when creation
// failed).
func stackStatus(t *testing.T, cf *cloudformation.Client, name string) cftypes.StackStatus {
	t.Helper()
	in := &cloudformation.DescribeStacksInput{StackName: aws.String(name)}
	w := cloudformation.NewStackCreateCompleteWaiter(cf, func(o *cloudformation.StackCreateCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	})
	werr := w.Wait(context.Background(), in, 30*time.Second)
	out, err := cf.DescribeStacks(context.Background(), in)
	if err != nil || len(out.Stacks) != 1 {
		t.Fatalf("describe stack %s: %v", name, err)
	}
	s := out.Stacks[0].StackStatus
	if werr != nil {
		t.Logf("stack %s: %s: %s (%v)", name, s, aws.ToString(out.Stacks[0].StackStatusReason), werr)
	}
	return s
}
