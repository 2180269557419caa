//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"
)

// hubFindings are the findings moto's Security Hub holds (GetFindings).
func hubFindings(t *testing.T) []types.AwsSecurityFinding {
	t.Helper()
	c := securityhub.NewFromConfig(moto.Config(), func(o *securityhub.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
	out, err := c.GetFindings(context.Background(), &securityhub.GetFindingsInput{MaxResults: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Findings
}

// TestSecurityHub: the function under the runtime emulator with
// SECURITY_HUB=true imports each published finding into moto's Security
// Hub over HTTP, with the SDK's Security Hub client: the mapped fields are
// there; the same event twice is one finding and one notification; and an
// import that fails neither stops nor repeats the SNS notification, and is
// imported on the retry.
func TestSecurityHub(t *testing.T) {
	ev, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t)
	onceTable(t, "sgwatch-once")
	env := []string{"SNS_TOPIC_ARN=" + sub.topic, "SECURITY_HUB=true", "IDEMPOTENCY_TABLE=sgwatch-once", "AWS_ENDPOINT_URL_DYNAMODB=" + moto.Endpoint}

	// Security Hub unreachable: the notification is published, the
	// invocation fails as ImportError, and its retry publishes nothing.
	down := startFunction(t, moto, append(env, "AWS_ENDPOINT_URL_SECURITYHUB=http://"+closedPort(t))...)
	for i := range 2 {
		res := invoke(t, down, ev)
		if res.Err == nil || res.Err.Type != "ImportError" || !strings.Contains(res.Err.Message, "Security Hub") {
			t.Fatalf("attempt %d with Security Hub down: %+v, want an ImportError", i+1, res.Err)
		}
	}
	if got := receive(t, sub.all); len(got) != 1 {
		t.Fatalf("%d notifications while Security Hub was down (2 attempts), want 1", len(got))
	}
	if got := hubFindings(t); len(got) != 0 {
		t.Fatalf("%d findings imported while Security Hub was down", len(got))
	}

	// Security Hub back: Lambda's next retry imports, and publishes
	// nothing again; a re-delivery changes nothing.
	up := startFunction(t, moto, append(env, "AWS_ENDPOINT_URL_SECURITYHUB="+moto.Endpoint)...)
	for i := range 2 {
		if res := invoke(t, up, ev); res.Err != nil {
			t.Fatalf("delivery %d: %+v", i+1, res.Err)
		}
	}
	if got := receive(t, sub.all); len(got) != 0 {
		t.Fatalf("%d notifications after Security Hub came back, want none (published before)", len(got))
	}
	got := hubFindings(t)
	if len(got) != 1 {
		t.Fatalf("%d findings for one event delivered three times, want 1", len(got))
	}
	f := got[0]
	b, _ := json.Marshal(f)
	for _, want := range []string{
		`"Id":"sgwatch/event/00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f/0"`,
		`"SchemaVersion":"2018-10-08"`,
		`"GeneratorId":"sgwatch/AuthorizeSecurityGroupIngress"`,
		`"Label":"CRITICAL"`,
		`"Effects/Data Exposure"`,
		`"Type":"AwsEc2SecurityGroup"`,
		`"Id":"arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0a1b2c3d4e5f60718"`,
		`"IpProtocol":"tcp"`, `"FromPort":22`, `"ToPort":22`, `"IpRanges":[{"CidrIp":"0.0.0.0/0"}]`, // a map: keys sorted
		`"Text":"Undo: aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-0a1b2c3d4e5f60718 --security-group-rule-ids sgr-0c0ffee0c0ffee001"`,
		`"SourceUrl":"https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f"`,
		`"ProductArn":"arn:aws:securityhub:us-east-1:` + rieAccount + `:product/` + rieAccount + `/default"`,
		`"AwsAccountId":"` + rieAccount + `"`,
		`"RecordState":"ACTIVE"`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the imported finding lacks %s:\n%s", want, b)
		}
	}
	t.Logf("securityhub: 2 attempts with Security Hub down: 1 notification, ImportError each; then 2 deliveries: imported once (%d finding in moto), no notification again", len(got))
}
