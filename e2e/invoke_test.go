//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sgwatch/sgwatch/emulate"
	"github.com/sgwatch/sgwatch/internal/samples"
)

// input is one event the function is invoked with.
type input struct {
	stem    string // the golden-file stem report's tests give it
	payload []byte // an EventBridge event
}

// inputs are every sample event in events/ and every real CloudTrail record
// in testdata/cloudtrail, the bare records wrapped in the EventBridge event
// that would carry them.
func inputs(t *testing.T) []input {
	t.Helper()
	files, err := samples.Files("..")
	if err != nil {
		t.Fatal(err)
	}
	var out []input
	for _, file := range files {
		data, err := os.ReadFile(file.Path)
		if err != nil {
			t.Fatal(err)
		}
		in := input{stem: file.Name, payload: data}
		if !isEvent(data) {
			if in.payload, err = wrap(data); err != nil {
				t.Fatalf("%s: %v", file.Path, err)
			}
		}
		out = append(out, in)
	}
	return out
}

// isEvent reports whether data is already an EventBridge event (some of the
// real records were published in that form).
func isEvent(data []byte) bool {
	var e struct {
		DetailType string          `json:"detail-type"`
		Detail     json.RawMessage `json:"detail"`
	}
	return json.Unmarshal(data, &e) == nil && e.DetailType != "" && len(e.Detail) > 0
}

// wrap puts a CloudTrail record in the EventBridge event that delivers it:
// source aws.SERVICE, the record as detail, and the envelope's account,
// Region and time taken from the record.
func wrap(record []byte) ([]byte, error) {
	var r struct {
		EventSource  string `json:"eventSource"`
		EventTime    string `json:"eventTime"`
		AWSRegion    string `json:"awsRegion"`
		Recipient    string `json:"recipientAccountId"`
		UserIdentity struct {
			AccountID string `json:"accountId"`
		} `json:"userIdentity"`
	}
	if err := json.Unmarshal(record, &r); err != nil {
		return nil, fmt.Errorf("not a CloudTrail record: %w", err)
	}
	account := r.Recipient
	if account == "" {
		account = r.UserIdentity.AccountID
	}
	return json.Marshal(map[string]any{
		"version":     "0",
		"id":          "e2e-" + r.EventTime,
		"detail-type": "AWS API Call via CloudTrail",
		"source":      "aws." + strings.TrimSuffix(r.EventSource, ".amazonaws.com"),
		"account":     account,
		"time":        r.EventTime,
		"region":      r.AWSRegion,
		"resources":   []string{},
		"detail":      json.RawMessage(record),
	})
}

// goldenDir holds the reviewed notification of every sample with findings
// (report's golden files): NAME.txt the subject, attributes and text body,
// NAME.json the JSON body. A sample without a file yields no notification.
const goldenDir = "../report/testdata/golden"

// attributeOrder is the order the golden files list message attributes in.
var attributeOrder = []string{"severity", "action", "outcome", "eventName", "accountId", "region", "securityGroupId", "actorType"}

// asGolden writes delivered notifications in the golden .txt layout.
func asGolden(t *testing.T, ns []emulate.Notification) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, n := range ns {
		b.WriteString("Subject: " + n.Subject + "\n")
		if len(n.Attributes) != len(attributeOrder) {
			t.Errorf("%d message attributes, want %d: %v", len(n.Attributes), len(attributeOrder), n.Attributes)
		}
		for _, name := range attributeOrder {
			a := n.Attributes[name]
			if a.Type != "String" {
				t.Errorf("attribute %s has type %q, want String", name, a.Type)
			}
			b.WriteString("Attribute " + name + ": " + a.Value + "\n")
		}
		b.WriteString("\n" + n.Message)
	}
	return b.Bytes()
}

// subscriber is a topic with two SQS subscriptions: every notification, and
// only high and critical ones (a filter policy on the severity attribute).
type subscriber struct {
	topic       string
	all, urgent *emulate.Queue
}

func subscribe(t *testing.T) subscriber {
	t.Helper()
	ctx := context.Background()
	if err := moto.Reset(); err != nil {
		t.Fatal(err)
	}
	var s subscriber
	var err error
	if s.topic, err = moto.Topic(ctx, "sgwatch"); err != nil {
		t.Fatal(err)
	}
	if s.all, err = moto.Queue(ctx, "all"); err != nil {
		t.Fatal(err)
	}
	if s.urgent, err = moto.Queue(ctx, "urgent"); err != nil {
		t.Fatal(err)
	}
	if err := moto.Subscribe(ctx, s.topic, s.all, ""); err != nil {
		t.Fatal(err)
	}
	if err := moto.Subscribe(ctx, s.topic, s.urgent, `{"severity":["high","critical"]}`); err != nil {
		t.Fatal(err)
	}
	return s
}

// receive drains q and decodes what SNS delivered.
func receive(t *testing.T, q *emulate.Queue) []emulate.Notification {
	t.Helper()
	bodies, err := q.Drain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ns []emulate.Notification
	for _, b := range bodies {
		n, err := emulate.DecodeNotification(b)
		if err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		ns = append(ns, n)
	}
	return ns
}

// startFunction runs the host bootstrap under the emulator with env added to
// moto's, and stops it when the test ends. It is given the template's
// timeout, so the function sees the deadline it would have in Lambda.
func startFunction(t *testing.T, m *emulate.Moto, env ...string) *emulate.Function {
	t.Helper()
	return startBootstrap(t, m, *bootstrapBin, env...)
}

// startBootstrap is startFunction with another build of the function (the
// sweep worker's).
func startBootstrap(t *testing.T, m *emulate.Moto, bootstrap string, env ...string) *emulate.Function {
	t.Helper()
	env = append(append(m.FunctionEnv(), "AWS_LAMBDA_FUNCTION_TIMEOUT=300"), env...)
	fn, err := emulate.StartFunction(*rieBin, bootstrap, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		fn.Stop()
		if t.Failed() {
			t.Logf("aws-lambda-rie output:\n%s", fn.Output())
		}
	})
	return fn
}

func invoke(t *testing.T, fn *emulate.Function, payload []byte) emulate.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := fn.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestInvocation is point 1: every sample and real record through the real
// runtime, to a real SNS topic, to SQS subscribers, compared with the
// reviewed golden notifications.
func TestInvocation(t *testing.T) {
	size := checkBootstrap(t, *bootstrapBin, runtime.GOARCH) // no size limit: this one is not deployed
	t.Logf("host bootstrap %s (linux/%s): %d bytes", *bootstrapBin, runtime.GOARCH, size)
	all := inputs(t)
	if len(all) < 50 {
		t.Fatalf("only %d inputs", len(all))
	}
	schema := compileSchema(t, "finding")
	chatSchema := compileSchema(t, "chat")

	for _, format := range []string{"text", "json", "chat"} {
		t.Run(format, func(t *testing.T) {
			sub := subscribe(t)
			fn := startFunction(t, moto, "SNS_TOPIC_ARN="+sub.topic, "NOTIFICATION_FORMAT="+format)
			var published, urgent, silent int
			for _, in := range all {
				t.Run(in.stem, func(t *testing.T) {
					res := invoke(t, fn, in.payload)
					if res.Err != nil {
						t.Fatalf("invocation failed: %v", res.Err)
					}
					got, gotUrgent := receive(t, sub.all), receive(t, sub.urgent)
					published += len(got)
					urgent += len(gotUrgent)
					txt, err := os.ReadFile(filepath.Join(goldenDir, in.stem+".txt"))
					if errors.Is(err, fs.ErrNotExist) {
						silent++
						if len(got)+len(gotUrgent) != 0 {
							t.Fatalf("not a security-group change, yet %d+%d notifications were delivered", len(got), len(gotUrgent))
						}
						return
					} else if err != nil {
						t.Fatal(err)
					}
					if want := bytes.Count(txt, []byte("\nSubject: ")) + 1; len(got) != want {
						t.Fatalf("%d notifications delivered, want exactly %d", len(got), want)
					}
					wantUrgent := bytes.Count(txt, []byte("Attribute severity: high\n")) + bytes.Count(txt, []byte("Attribute severity: critical\n"))
					if len(gotUrgent) != wantUrgent {
						t.Errorf("the high/critical subscription got %d notifications, want %d", len(gotUrgent), wantUrgent)
					}
					for _, n := range gotUrgent {
						if s := n.Attributes["severity"].Value; s != "high" && s != "critical" {
							t.Errorf("the high/critical subscription got a %s notification", s)
						}
					}
					switch format {
					case "text":
						if g := asGolden(t, got); !bytes.Equal(g, txt) {
							t.Errorf("delivered notification differs from %s.txt:\n%s", in.stem, g)
						}
					case "json":
						checkJSON(t, schema, in.stem+".json", got)
					case "chat":
						checkJSON(t, chatSchema, in.stem+".chat.json", got)
					}
				})
			}
			t.Logf("%s: %d invocations succeeded: %d notifications delivered (%d to the high/critical subscription), %d events published nothing",
				format, len(all), published, urgent, silent)
			if published < 30 || urgent == 0 || silent == 0 {
				t.Errorf("want at least 30 notifications, some urgent and some events that publish nothing")
			}
		})
	}
}

// checkJSON compares JSON bodies with the golden file name and validates
// each against schema (the finding's or the chat notification's).
func checkJSON(t *testing.T, schema *jsonschema.Schema, name string, got []emulate.Notification) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join(goldenDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, n := range got {
		if err := json.Indent(&b, []byte(n.Message), "", "  "); err != nil {
			t.Fatalf("JSON body does not parse: %v\n%s", err, n.Message)
		}
		b.WriteByte('\n')
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(n.Message))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(v); err != nil {
			t.Errorf("body does not validate against its schema: %v", err)
		}
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("delivered JSON differs from %s:\n%s", name, b.Bytes())
	}
}

func compileSchema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	s, err := jsonschema.NewCompiler().Compile("../schema/" + name + ".schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFailurePaths is point 2: what must fail through the real runtime does,
// and says why.
func TestFailurePaths(t *testing.T) {
	event, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		setup    func(t *testing.T, sub subscriber) *emulate.Function
		payload  []byte
		wantType string // errorType; "" for a failed start, which has none
		want     string // in the error message, or in the output for a failed start
	}{
		{
			name: "malformed event",
			setup: func(t *testing.T, sub subscriber) *emulate.Function {
				return startFunction(t, moto, "SNS_TOPIC_ARN="+sub.topic)
			},
			payload:  []byte(`{"detail":{"eventName":"AuthorizeSecurityGroupIngress",`),
			wantType: "DecodeError",
			want:     "decode event: decode input: byte 55: unexpected end of input",
		},
		{
			name: "SNS rejects the publish",
			setup: func(t *testing.T, sub subscriber) *emulate.Function {
				return startFunction(t, moto, "SNS_TOPIC_ARN="+sub.topic+"-gone")
			},
			payload:  event,
			wantType: "PublishError",
			want:     "NotFound",
		},
		{
			name: "SNS unreachable",
			setup: func(t *testing.T, sub subscriber) *emulate.Function {
				gone, err := emulate.StartMoto(*motoBin)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(gone.Stop)
				topic, err := gone.Topic(context.Background(), "sgwatch")
				if err != nil {
					t.Fatal(err)
				}
				fn := startFunction(t, gone, "SNS_TOPIC_ARN="+topic)
				gone.Stop()
				return fn
			},
			payload:  event,
			wantType: "PublishError",
			want:     "connection refused",
		},
		{
			name: "SNS_TOPIC_ARN missing",
			setup: func(t *testing.T, sub subscriber) *emulate.Function {
				return startFunction(t, moto)
			},
			payload: event,
			want:    "sgwatch: configuration: SNS_TOPIC_ARN is not set",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sub := subscribe(t)
			fn := c.setup(t, sub)
			res := invoke(t, fn, c.payload)
			if res.Err == nil {
				t.Fatalf("invocation succeeded (status %d, body %q), want it to fail", res.Status, res.Body)
			}
			why := res.Err.Error()
			if c.wantType == "" {
				i := strings.Index(fn.Output(), c.want)
				if i < 0 {
					t.Fatalf("function failed (%v) but its output does not say %q", res.Err, c.want)
				}
				line, _, _ := strings.Cut(fn.Output()[i:], "\n")
				why = "at start: " + line
			} else {
				if res.Err.Type != c.wantType || !strings.Contains(res.Err.Message, c.want) {
					t.Errorf("error %v, want a %s containing %q", res.Err, c.wantType, c.want)
				}
			}
			if n := len(receive(t, sub.all)); n != 0 {
				t.Errorf("%d notifications delivered, want none", n)
			}
			t.Logf("%s: failed as it must: %s", c.name, why)
		})
	}
}
