package revert

// EventBridge Scheduler's CreateSchedule over its HTTP API, signed with
// Signature Version 4 by the AWS SDK's signer. The SDK's Scheduler client
// is not linked: it made the event function's first invocation 0.13 to
// 0.15 slower relative to the minimal function (1.32 to 1.36 against 1.18
// to 1.26 without it, four runs of 31 rounds each), past the cold-start
// budget; this one call is all the function needs of it.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sgwatch/sgwatch/awsid"
)

// Schedule is a one-time schedule: CreateSchedule's request.
type Schedule struct {
	Name                       string         `json:"-"`
	GroupName                  string         `json:"GroupName"`
	ScheduleExpression         string         `json:"ScheduleExpression"`
	ScheduleExpressionTimezone string         `json:"ScheduleExpressionTimezone"`
	FlexibleTimeWindow         flexibleWindow `json:"FlexibleTimeWindow"`
	ActionAfterCompletion      string         `json:"ActionAfterCompletion"`
	Description                string         `json:"Description,omitempty"`
	ClientToken                string         `json:"ClientToken,omitempty"`
	Target                     Target         `json:"Target"`
}

type flexibleWindow struct {
	Mode string `json:"Mode"`
}

// Target is what a schedule invokes, with what.
type Target struct {
	Arn              string           `json:"Arn"`
	RoleArn          string           `json:"RoleArn"`
	Input            string           `json:"Input"`
	DeadLetterConfig deadLetterConfig `json:"DeadLetterConfig"`
	RetryPolicy      retryPolicy      `json:"RetryPolicy"`
}

type deadLetterConfig struct {
	Arn string `json:"Arn"`
}

type retryPolicy struct {
	MaximumRetryAttempts     int `json:"MaximumRetryAttempts"`
	MaximumEventAgeInSeconds int `json:"MaximumEventAgeInSeconds"`
}

// APIError is an error EventBridge Scheduler answered with.
type APIError struct {
	Status        int
	Code, Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// Conflict reports whether err says a schedule of that name exists.
func Conflict(err error) bool {
	var api *APIError
	return errors.As(err, &api) && api.Code == "ConflictException"
}

// SchedulerHTTP is the Scheduler client: the function's AWS configuration
// (credentials, Region, endpoints; AWS_ENDPOINT_URL_SCHEDULER for a local
// one).
type SchedulerHTTP struct {
	Config aws.Config
}

// schedulerTimeout bounds one CreateSchedule.
const schedulerTimeout = 10 * time.Second

// attempts is how often CreateSchedule is tried when Scheduler answers
// that it is busy or failed (429, 5xx) or cannot be reached, backoff
// after the first failure and doubled after each.
const (
	attempts = 3
	backoff  = 200 * time.Millisecond
)

// CreateSchedule creates s.
func (c SchedulerHTTP) CreateSchedule(ctx context.Context, s Schedule) error {
	ctx, cancel := context.WithTimeout(ctx, schedulerTimeout)
	defer cancel()
	body, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode schedule: %w", err)
	}
	base, err := c.endpoint(ctx)
	if err != nil {
		return err
	}
	endpoint := strings.TrimSuffix(base, "/") + "/schedules/" + url.PathEscape(s.Name)
	wait := backoff
	for try := 1; ; try++ {
		retry, err := c.create(ctx, endpoint, body)
		if !retry || try == attempts {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
			wait *= 2
		}
	}
}

// create makes one CreateSchedule request; retry reports whether its
// failure is worth another.
func (c SchedulerHTTP) create(ctx context.Context, endpoint string, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("schedule request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.Config.Credentials == nil {
		return false, errors.New("no AWS credentials to sign the schedule request with")
	}
	creds, err := c.Config.Credentials.Retrieve(ctx)
	if err != nil {
		return false, fmt.Errorf("credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "scheduler", c.Config.Region, time.Now()); err != nil {
		return false, fmt.Errorf("sign schedule request: %w", err)
	}
	var client interface {
		Do(*http.Request) (*http.Response, error)
	} = http.DefaultClient
	if c.Config.HTTPClient != nil {
		client = c.Config.HTTPClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return true, fmt.Errorf("CreateSchedule: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, apiErrorOf(resp, data)
}

// apiErrorOf reads a REST-JSON error: its code from the X-Amzn-ErrorType
// header or the body's __type, up to a colon or a #.
func apiErrorOf(resp *http.Response, data []byte) error {
	var b struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
		Msg     string `json:"Message"`
	}
	_ = json.Unmarshal(data, &b)
	code := resp.Header.Get("X-Amzn-Errortype")
	if code == "" {
		code = b.Type
	}
	if i := strings.IndexAny(code, ":"); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndex(code, "#"); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = resp.Status
	}
	msg := b.Message
	if msg == "" {
		msg = b.Msg
	}
	return &APIError{Status: resp.StatusCode, Code: code, Message: msg}
}

// endpoint is Scheduler's endpoint: a service-specific one the
// configuration names (AWS_ENDPOINT_URL_SCHEDULER), else its base
// endpoint (AWS_ENDPOINT_URL), else the Region's.
func (c SchedulerHTTP) endpoint(ctx context.Context) (string, error) {
	for _, src := range c.Config.ConfigSources {
		if p, ok := src.(interface {
			GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
		}); ok {
			if v, found, err := p.GetServiceBaseEndpoint(ctx, "Scheduler"); err == nil && found && v != "" {
				return v, nil
			}
		}
	}
	if e := aws.ToString(c.Config.BaseEndpoint); e != "" {
		return e, nil
	}
	region := c.Config.Region
	if !awsid.IsRegion(region) {
		return "", fmt.Errorf("no Region to reach EventBridge Scheduler in (%q)", region)
	}
	return "https://scheduler." + region + "." + awsid.PartitionOf(region).DNSSuffix, nil
}
