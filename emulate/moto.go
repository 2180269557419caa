package emulate

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Region and Account are where moto's resources live: its default account,
// and the Region every client here uses.
const (
	Region  = "us-east-1"
	Account = "123456789012"
)

// Moto is a running moto server.
type Moto struct {
	*Process
	Endpoint string // http://127.0.0.1:PORT
}

// StartMoto starts bin (moto_server) on a free loopback port and waits until
// it answers.
func StartMoto(bin string) (*Moto, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(addr)
	p, err := start("moto_server", bin, []string{"-H", host, "-p", port}, baseEnv())
	if err != nil {
		return nil, err
	}
	m := &Moto{Process: p, Endpoint: "http://" + addr}
	err = p.waitFor(60*time.Second, func() error {
		resp, err := http.Get(m.Endpoint + "/moto-api/data.json")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /moto-api/data.json: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		p.Stop()
		return nil, err
	}
	return m, nil
}

// Reset drops every resource moto holds.
func (m *Moto) Reset() error {
	resp, err := http.Post(m.Endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: %s", resp.Status)
	}
	return nil
}

// Config is an AWS SDK configuration whose clients talk to this server.
func (m *Moto) Config() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(m.Endpoint),
	}
}

// FunctionEnv is the environment that points the function's SNS client at
// this server, with credentials moto accepts.
func (m *Moto) FunctionEnv() []string {
	return []string{
		"AWS_ENDPOINT_URL_SNS=" + m.Endpoint,
		// Elastic Load Balancing has no other endpoint here: a function that
		// grades reachability reads it from moto.
		"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2=" + m.Endpoint,
		"AWS_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
	}
}

// Topic creates an SNS topic and returns its ARN.
func (m *Moto) Topic(ctx context.Context, name string) (string, error) {
	out, err := sns.NewFromConfig(m.Config()).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("create topic %s: %w", name, err)
	}
	return aws.ToString(out.TopicArn), nil
}

// Queue is an SQS queue on the server.
type Queue struct {
	URL, ARN string
	sqs      *sqs.Client
}

// Queue creates an SQS queue.
func (m *Moto) Queue(ctx context.Context, name string) (*Queue, error) {
	c := sqs.NewFromConfig(m.Config())
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("create queue %s: %w", name, err)
	}
	return &Queue{
		URL: aws.ToString(out.QueueUrl),
		ARN: fmt.Sprintf("arn:aws:sqs:%s:%s:%s", Region, Account, name),
		sqs: c,
	}, nil
}

// Subscribe subscribes q to the topic. A non-empty filterPolicy (JSON) is
// applied to the message attributes, as a subscriber's would be.
func (m *Moto) Subscribe(ctx context.Context, topicARN string, q *Queue, filterPolicy string) error {
	in := &sns.SubscribeInput{TopicArn: aws.String(topicARN), Protocol: aws.String("sqs"), Endpoint: aws.String(q.ARN)}
	if filterPolicy != "" {
		in.Attributes = map[string]string{"FilterPolicy": filterPolicy}
	}
	if _, err := sns.NewFromConfig(m.Config()).Subscribe(ctx, in); err != nil {
		return fmt.Errorf("subscribe %s to %s: %w", q.ARN, topicARN, err)
	}
	return nil
}

// Drain receives and deletes every message in the queue and returns their
// bodies, oldest first.
func (q *Queue) Drain(ctx context.Context) ([]string, error) {
	var bodies []string
	for {
		out, err := q.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10})
		if err != nil {
			return bodies, fmt.Errorf("receive from %s: %w", q.URL, err)
		}
		if len(out.Messages) == 0 {
			return bodies, nil
		}
		for _, msg := range out.Messages {
			bodies = append(bodies, aws.ToString(msg.Body))
			if _, err := q.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.URL), ReceiptHandle: msg.ReceiptHandle}); err != nil {
				return bodies, fmt.Errorf("delete from %s: %w", q.URL, err)
			}
		}
	}
}

// Notification is an SNS message as an SQS subscriber receives it (the
// envelope SNS wraps around it when raw delivery is off).
type Notification struct {
	Type       string                       `json:"Type"`
	TopicArn   string                       `json:"TopicArn"`
	Subject    string                       `json:"Subject"`
	Message    string                       `json:"Message"`
	Attributes map[string]NotificationValue `json:"MessageAttributes"`
}

// NotificationValue is one message attribute in a Notification.
type NotificationValue struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// DecodeNotification decodes an SQS message body that SNS delivered.
func DecodeNotification(body string) (Notification, error) {
	var n Notification
	if err := json.Unmarshal([]byte(body), &n); err != nil {
		return n, fmt.Errorf("not an SNS notification: %w", err)
	}
	if n.Type != "Notification" {
		return n, fmt.Errorf("not an SNS notification: Type %q", n.Type)
	}
	return n, nil
}
