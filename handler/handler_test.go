package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/report"
)

const topic = "arn:aws:sns:eu-west-1:111122223333:sgwatch"

// fakeSNS records every publish and answers with err, or panics with panicMsg.
type fakeSNS struct {
	got      []*sns.PublishInput
	deadline time.Time
	err      error
	panicMsg string
}

func (f *fakeSNS) Publish(ctx context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	if f.panicMsg != "" {
		panic(f.panicMsg)
	}
	f.deadline, _ = ctx.Deadline()
	f.got = append(f.got, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sns.PublishOutput{MessageId: aws.String("msg-1")}, nil
}

func newHandler(t *testing.T, format report.Format, p Publisher) (*Handler, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	return New(Config{TopicARN: topic, Format: format}, Deps{SNS: p, Log: &logs}), &logs
}

func event(t *testing.T, name string) json.RawMessage {
	t.Helper()
	data, err := os.ReadFile("../events/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// logLines decodes the handler's JSON log lines.
func logLines(t *testing.T, logs *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func TestPublishesOneNotification(t *testing.T) {
	fake := &fakeSNS{}
	h, logs := newHandler(t, report.Text, fake)
	if err := h.Handle(context.Background(), event(t, "authorize-ingress-world-ssh")); err != nil {
		t.Fatal(err)
	}
	if len(fake.got) != 1 {
		t.Fatalf("%d publishes, want 1", len(fake.got))
	}
	in := fake.got[0]
	if aws.ToString(in.TopicArn) != topic {
		t.Errorf("topic %q", aws.ToString(in.TopicArn))
	}
	if sub := aws.ToString(in.Subject); sub != "[CRITICAL] sg-0a1b2c3d4e5f60718 modified by ops-admin in 111122223333/eu-west-1" {
		t.Errorf("subject %q", sub)
	}
	if msg := aws.ToString(in.Message); !strings.Contains(msg, "+ ingress tcp/22 from 0.0.0.0/0 (whole internet)") {
		t.Errorf("body lacks the rule line:\n%s", msg)
	}
	want := map[string]string{"severity": "critical", "action": "modify", "outcome": "succeeded",
		"eventName": "AuthorizeSecurityGroupIngress", "accountId": "111122223333", "region": "eu-west-1",
		"securityGroupId": "sg-0a1b2c3d4e5f60718", "actorType": "AssumedRole"}
	if len(in.MessageAttributes) != len(want) {
		t.Errorf("%d attributes, want %d", len(in.MessageAttributes), len(want))
	}
	for k, v := range want {
		a := in.MessageAttributes[k]
		if aws.ToString(a.DataType) != "String" || aws.ToString(a.StringValue) != v {
			t.Errorf("attribute %s = %s/%s, want String/%s", k, aws.ToString(a.DataType), aws.ToString(a.StringValue), v)
		}
	}
	lines := logLines(t, logs)
	last := lines[len(lines)-1]
	if last["msg"] != "published" || last["eventId"] != "00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f" ||
		last["severity"] != "critical" || last["action"] != "modify" || last["messageId"] != "msg-1" {
		t.Errorf("log line %v", last)
	}
}

func TestJSONFormat(t *testing.T) {
	fake := &fakeSNS{}
	h, _ := newHandler(t, report.JSON, fake)
	if err := h.Handle(context.Background(), event(t, "failed-unauthorized")); err != nil {
		t.Fatal(err)
	}
	var f struct {
		Severity string `json:"severity"`
		Event    struct {
			ID string `json:"id"`
		} `json:"event"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(fake.got[0].Message)), &f); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if f.Severity != "medium" || f.Event.ID != "0000000e-5c1e-4d6b-9a2f-3e4b5c6d7e8f" {
		t.Errorf("finding %+v", f)
	}
	if aws.ToString(fake.got[0].MessageAttributes["severity"].StringValue) != "medium" {
		t.Error("JSON format lost the attributes")
	}
}

func TestNotSecurityGroupSucceedsWithoutPublishing(t *testing.T) {
	fake := &fakeSNS{}
	h, logs := newHandler(t, report.Text, fake)
	if err := h.Handle(context.Background(), event(t, "not-security-group")); err != nil {
		t.Fatalf("got %v, want success", err)
	}
	if len(fake.got) != 0 {
		t.Fatalf("%d publishes, want none", len(fake.got))
	}
	l := logLines(t, logs)
	if len(l) != 1 || l[0]["eventName"] != "DescribeSecurityGroups" || !strings.Contains(l[0]["msg"].(string), "not a security-group change") {
		t.Errorf("log %v", l)
	}
}

func TestErrorPaths(t *testing.T) {
	cases := []struct {
		name  string
		event string
		sns   *fakeSNS
		want  string // in the returned error
		typ   any    // the error's type, which Lambda reports as errorType
	}{
		{"undecodable JSON", "{not json", &fakeSNS{}, "decode event", &DecodeError{}},
		{"truncated JSON", `{"detail":{"eventName":"CreateSecurityGroup"`, &fakeSNS{}, "decode event: decode input: byte 44: unexpected end of input", &DecodeError{}},
		{"empty payload", " ", &fakeSNS{}, "decode event: empty input", &DecodeError{}},
		{"not an event", `{"hello":"world"}`, &fakeSNS{}, "unrecognised input", &DecodeError{}},
		{"detail not a record", `{"detail-type":"AWS API Call via CloudTrail","detail":[1]}`, &fakeSNS{}, "detail is a list, want an object", &DecodeError{}},
		{"publish rejected", "", &fakeSNS{err: errors.New("InvalidParameter: Subject")}, "InvalidParameter", &PublishError{}},
		{"publish panics", "", &fakeSNS{panicMsg: "boom"}, "internal error while handling event: boom", &InternalError{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := json.RawMessage(c.event)
			if c.event == "" {
				ev = event(t, "authorize-ingress-world-ssh")
			}
			h, logs := newHandler(t, report.Text, c.sns)
			// Through Invoke, as the Lambda runtime calls it.
			out, err := h.Invoke(context.Background(), ev)
			if out != nil {
				t.Errorf("response body %q, want none", out)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if got, want := reflect.TypeOf(err), reflect.TypeOf(c.typ); got != want {
				t.Errorf("error type %v, want %v", got, want)
			}
			if c.sns.err == nil && len(c.sns.got) != 0 {
				t.Errorf("published %d messages for a bad event", len(c.sns.got))
			}
			lines := logLines(t, logs)
			if len(lines) == 0 || lines[len(lines)-1]["level"] != "ERROR" {
				t.Errorf("no error logged: %v", lines)
			}
		})
	}
}

func TestPublishErrorNamesTheEvent(t *testing.T) {
	fake := &fakeSNS{err: context.DeadlineExceeded}
	h, _ := newHandler(t, report.Text, fake)
	err := h.Handle(context.Background(), event(t, "create-security-group"))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "00000001-5c1e-4d6b-9a2f-3e4b5c6d7e8f") {
		t.Fatalf("error %v, want the wrapped cause and the event id", err)
	}
}

func TestRespectsTheInvocationDeadline(t *testing.T) {
	fake := &fakeSNS{}
	h, _ := newHandler(t, report.Text, fake)
	dl := time.Now().Add(3 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), dl)
	defer cancel()
	if err := h.Handle(ctx, event(t, "delete-security-group")); err != nil {
		t.Fatal(err)
	}
	if fake.deadline.IsZero() || !fake.deadline.Equal(dl.Add(-deadlineMargin)) {
		t.Errorf("publish deadline %v, want %v", fake.deadline, dl.Add(-deadlineMargin))
	}
}

func TestConfigFromEnv(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string // error substring; "" for success
	}{
		{map[string]string{"SNS_TOPIC_ARN": topic}, ""},
		{map[string]string{"SNS_TOPIC_ARN": "arn:aws-us-gov:sns:us-gov-west-1:111122223333:t", "NOTIFICATION_FORMAT": "json"}, ""},
		{map[string]string{}, "SNS_TOPIC_ARN is not set"},
		{map[string]string{"SNS_TOPIC_ARN": "  "}, "SNS_TOPIC_ARN is not set"},
		{map[string]string{"SNS_TOPIC_ARN": "sgwatch"}, "not an SNS topic ARN"},
		{map[string]string{"SNS_TOPIC_ARN": "arn:aws:sqs:eu-west-1:111122223333:q"}, "not an SNS topic ARN"},
		{map[string]string{"SNS_TOPIC_ARN": "arn:aws:sns:eu-west-1::t"}, "not an SNS topic ARN"},
		{map[string]string{"SNS_TOPIC_ARN": "arn:aws:sns:eu-west-1:111122223333:t:sub-id"}, "not an SNS topic ARN"},
		{map[string]string{"SNS_TOPIC_ARN": topic, "NOTIFICATION_FORMAT": "xml"}, "NOTIFICATION_FORMAT"},
		{map[string]string{"SNS_TOPIC_ARN": topic, "ENRICH": "true", "MIN_SEVERITY": "medium", "TRUSTED_SERVICES": "cloudformation.amazonaws.com=arn:aws:iam::111122223333:role/cfn-deployer"}, ""},
		{map[string]string{"SNS_TOPIC_ARN": topic, "TRUSTED_SERVICES": "cloudformation.amazonaws.com"}, `TRUSTED_SERVICES: "cloudformation.amazonaws.com" names no principal`},
		{map[string]string{"SNS_TOPIC_ARN": topic, "ENRICH": "yes"}, `ENRICH "yes": want true or false`},
		{map[string]string{"SNS_TOPIC_ARN": topic, "MIN_SEVERITY": "urgent"}, `MIN_SEVERITY: unknown severity "urgent"`},
		{map[string]string{"SNS_TOPIC_ARN": topic, "SUPPRESS": "[{}]"}, "SUPPRESS: rule 0 names no principal, account or group"},
		{map[string]string{"SNS_TOPIC_ARN": topic, "EXTRA_SENSITIVE_PORTS": "1-2-3"}, "EXTRA_SENSITIVE_PORTS"},
		{map[string]string{"SNS_TOPIC_ARN": topic, "TRUSTED_PRINCIPALS": "root"}, "TRUSTED_PRINCIPALS"},
		// The revert's window needs where to schedule its checks, and the sweep.
		{map[string]string{"SNS_TOPIC_ARN": topic, "REVERT": "high"}, ""},
		{map[string]string{"SNS_TOPIC_ARN": topic, "REVERT": "high", "REVERT_AFTER": "15m", "SWEEP": "true"}, "REVERT_SCHEDULE_GROUP"},
		{map[string]string{"SNS_TOPIC_ARN": topic, "REVERT": "high", "REVERT_AFTER": "15m", "SWEEP": "true", "REVERT_SCHEDULE_GROUP": "g",
			"REVERT_SCHEDULE_ROLE": "arn:aws:sqs:eu-west-1:111122223333:q", "REVERT_DEAD_LETTER_ARN": "arn:aws:sqs:eu-west-1:111122223333:q"}, "REVERT_SCHEDULE_ROLE"},
		{map[string]string{"SNS_TOPIC_ARN": topic, "REVERT": "high", "REVERT_AFTER": "15m", "SWEEP": "true", "REVERT_SCHEDULE_GROUP": "g",
			"REVERT_SCHEDULE_ROLE": "arn:aws:iam::111122223333:role/s", "REVERT_DEAD_LETTER_ARN": "https://sqs.eu-west-1.amazonaws.com/111122223333/q"}, "REVERT_DEAD_LETTER_ARN"},
		{map[string]string{"SNS_TOPIC_ARN": topic, "REVERT": "high", "REVERT_AFTER": "15m", "SWEEP": "true", "REVERT_SCHEDULE_GROUP": "g",
			"REVERT_SCHEDULE_ROLE": "arn:aws:iam::111122223333:role/s", "REVERT_DEAD_LETTER_ARN": "arn:aws:sqs:eu-west-1:111122223333:q"}, ""},
		{map[string]string{"SNS_TOPIC_ARN": topic, "REVERT": "high", "REVERT_AFTER": "15m", "REVERT_SCHEDULE_GROUP": "g",
			"REVERT_SCHEDULE_ROLE": "arn:aws:iam::111122223333:role/s", "REVERT_DEAD_LETTER_ARN": "arn:aws:sqs:eu-west-1:111122223333:q"}, "REVERT_AFTER needs SWEEP=true"},
	}
	for _, c := range cases {
		cfg, err := ConfigFromEnv(func(k string) string { return c.env[k] }, time.Now())
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v", c.env, err)
		case c.want == "" && cfg.TopicARN != c.env["SNS_TOPIC_ARN"]:
			t.Errorf("%v: topic %q", c.env, cfg.TopicARN)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: error %v, want %q", c.env, err, c.want)
		}
	}
}

func TestNewSNSHonoursEndpointVariable(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:1")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(NewSNS(cfg).Options().BaseEndpoint); got != "http://127.0.0.1:1" {
		t.Errorf("base endpoint %q, want the AWS_ENDPOINT_URL_SNS value", got)
	}
}

// fakeEnricher records what it was asked to enrich and adds a note.
type fakeEnricher struct{ got []string }

func (e *fakeEnricher) Enrich(_ context.Context, f *detect.Finding) {
	e.got = append(e.got, f.Event.Name)
	f.Notes = append(f.Notes, "live context looked up")
}

// TestPolicyInHandler: tuning, suppression and the minimum severity decide
// what is published; what is not is logged with why; only published
// findings are enriched.
func TestPolicyInHandler(t *testing.T) {
	// A SUPPRESS rule ends at most a year after the configuration is read.
	suppress := `[{"account":"111122223333","until":"` + time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339) + `","reason":"sandbox account"}]`
	cases := []struct {
		name     string
		env      map[string]string
		event    string
		publish  bool
		contains string // in the published body, or in the "not published" log reason
	}{
		{"trusted service", map[string]string{"TRUSTED_SERVICES": "cloudformation.amazonaws.com=arn:aws:iam::111122223333:role/cfn-deployer"}, "cloudformation-authorize-ingress-8443", true,
			"Automation: made by trusted automation cloudformation.amazonaws.com as arn:aws:iam::111122223333:role/cfn-deployer"},
		{"extra port", map[string]string{"EXTRA_SENSITIVE_PORTS": "8443"}, "cloudformation-authorize-ingress-8443", true, "EXTRA_SENSITIVE_PORTS (8443)"},
		{"below minimum", map[string]string{"MIN_SEVERITY": "medium"}, "create-security-group", false, "severity low is below MIN_SEVERITY medium"},
		{"suppressed", map[string]string{"SUPPRESS": suppress}, "create-security-group", false, "sandbox account"},
		{"critical not suppressed", map[string]string{"SUPPRESS": suppress}, "authorize-ingress-world-ssh", true, "CRITICAL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.env["SNS_TOPIC_ARN"] = topic
			cfg, err := ConfigFromEnv(func(k string) string { return c.env[k] }, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			sns, enr := &fakeSNS{}, &fakeEnricher{}
			h := New(cfg, Deps{SNS: sns, Log: &logs, Enricher: enr})
			if err := h.Handle(context.Background(), event(t, c.event)); err != nil {
				t.Fatal(err)
			}
			if !c.publish {
				if len(sns.got)+len(enr.got) != 0 {
					t.Fatalf("published %d, enriched %d, want neither", len(sns.got), len(enr.got))
				}
				lines := logLines(t, &logs)
				last := lines[len(lines)-1]
				if last["msg"] != "not published" || !strings.Contains(last["reason"].(string), c.contains) {
					t.Errorf("log %v, want not published with reason %q", last, c.contains)
				}
				return
			}
			if len(sns.got) != 1 || len(enr.got) != 1 {
				t.Fatalf("published %d, enriched %d, want 1 and 1", len(sns.got), len(enr.got))
			}
			body := aws.ToString(sns.got[0].Message)
			if !strings.Contains(body, c.contains) || !strings.Contains(body, "live context looked up") {
				t.Errorf("body does not show %q and the enricher's note:\n%s", c.contains, body)
			}
		})
	}
}

// TestUnreadableFieldIsPublished: a security-group record with a field the
// parser cannot read is not a decode error (issue 8, item 2): it is
// published, louder, with a note, and the invocation succeeds.
func TestUnreadableFieldIsPublished(t *testing.T) {
	f := &fakeSNS{}
	h, _ := newHandler(t, report.Text, f)
	ev := `{"detail-type":"AWS API Call via CloudTrail","region":"eu-west-1","account":"111122223333","detail":{"eventSource":"ec2.amazonaws.com",
"eventName":"AuthorizeSecurityGroupIngress","eventID":"e-70000","requestParameters":{"groupId":"sg-0123456789abcdef0",
"ipPermissions":{"items":[{"ipProtocol":"-1","fromPort":70000,"toPort":70000,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}}}`
	if err := h.Handle(context.Background(), json.RawMessage(ev)); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if len(f.got) != 1 {
		t.Fatalf("%d publishes, want 1", len(f.got))
	}
	in := f.got[0]
	if !strings.HasPrefix(aws.ToString(in.Subject), "[CRITICAL] ") ||
		!strings.Contains(aws.ToString(in.Message), "not understood: requestParameters\u2024ipPermissions[0]\u2024fromPort: port 70000 is out of range") { // defanged: a note quotes the record
		t.Errorf("published %q:\n%s", aws.ToString(in.Subject), aws.ToString(in.Message))
	}
}

// with returns h with its dependencies changed by set: a handler's
// dependencies are given once, at construction, so a test that changes one
// builds the handler again.
func with(h *Handler, set func(*Deps)) *Handler {
	d := h.d
	set(&d)
	return New(h.cfg, d)
}

// TestUnsupportedPartition: a function started in a partition sgwatch is
// not built for says so once, at start; one in a supported partition says
// nothing.
func TestUnsupportedPartition(t *testing.T) {
	for region, warn := range map[string]bool{"us-iso-east-1": true, "eusc-de-east-1": true, "eu-west-1": false, "cn-north-1": false} {
		var logs bytes.Buffer
		New(Config{TopicARN: topic, Region: region}, Deps{Log: &logs})
		if got := strings.Contains(logs.String(), "not one sgwatch is built and tested for"); got != warn {
			t.Errorf("%s: warned %v, want %v: %s", region, got, warn, logs.String())
		}
	}
}
