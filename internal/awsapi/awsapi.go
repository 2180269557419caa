// Package awsapi calls one operation of an AWS JSON API (REST-JSON or JSON
// 1.1) without the SDK's client for the service: it signs the request with
// SigV4 (the SDK's signer and credentials), retries throttling, and reads
// the service's error. sgwatch uses it where a service's SDK client would
// cost far more binary than the one or two calls it makes (Security Hub,
// CloudTrail's LookupEvents).
package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sgwatch/sgwatch/clean"
)

// Client calls one service.
type Client struct {
	Config aws.Config
	// Service is the signing name and endpoint prefix ("securityhub").
	Service string
	// Endpoint is where requests go (see New).
	Endpoint string
	// Timeout bounds each attempt; Backoff is the wait before the second
	// attempt, doubled before the third (jittered).
	Timeout, Backoff time.Duration

	client interface {
		Do(*http.Request) (*http.Response, error)
	}
	signer *v4.Signer
}

// Request says how an operation is sent.
type Request struct {
	Op          string // the operation's name, for errors
	Method      string
	Path        string
	ContentType string // "application/json" when ""
	Target      string // X-Amz-Target (JSON 1.1 APIs), or ""
}

const (
	attempts    = 3
	maxResponse = 1 << 20 // bytes of a response read
	maxError    = 512     // characters of an error code or message quoted
)

// New returns a client of service with cfg's credentials, Region and HTTP
// client; no network call. Its endpoint is AWS_ENDPOINT_URL_<SERVICE>, else
// cfg.BaseEndpoint (AWS_ENDPOINT_URL), unless
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true; else the service's endpoint in
// cfg's Region.
func New(cfg aws.Config, service string) *Client {
	c := &Client{Config: cfg, Service: service, Endpoint: endpoint(cfg, service), Timeout: 5 * time.Second,
		Backoff: 200 * time.Millisecond, client: noRedirects, signer: v4.NewSigner()}
	if cfg.HTTPClient != nil {
		c.client = cfg.HTTPClient
	}
	return c
}

// noRedirects follows no redirect: a signed request (and its session
// token) goes to the endpoint only.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func endpoint(cfg aws.Config, service string) string {
	if !strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		if e := os.Getenv("AWS_ENDPOINT_URL_" + strings.ToUpper(service)); e != "" {
			return strings.TrimRight(e, "/")
		}
		if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
			return strings.TrimRight(*cfg.BaseEndpoint, "/")
		}
	}
	// The partitions sgwatch runs in: aws, aws-cn and aws-us-gov (where
	// AWS_USE_FIPS_ENDPOINT=true picks the FIPS endpoint).
	suffix := ".amazonaws.com"
	if strings.HasPrefix(cfg.Region, "cn-") {
		suffix += ".cn"
	}
	if strings.EqualFold(os.Getenv("AWS_USE_FIPS_ENDPOINT"), "true") {
		service += "-fips"
	}
	return "https://" + service + "." + cfg.Region + suffix
}

// Call sends in as JSON and decodes a 2xx response into out, with at most 3
// attempts: again after a network error, a timeout, HTTP 429 or 5xx, or a
// throttling error code.
func (c *Client) Call(ctx context.Context, r Request, in, out any) error {
	op := c.Service + " " + r.Op
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: encode request: %w", op, err)
	}
	if c.Config.Credentials == nil || c.Config.Region == "" {
		return fmt.Errorf("%s: no credentials or Region configured", op)
	}
	creds, err := c.Config.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("%s: retrieve credentials: %w", op, err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	var last error
	for i := range attempts {
		if i > 0 {
			d := max(c.Backoff<<(i-1), time.Millisecond)
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w (gave up after %d attempts: %w)", last, i, ctx.Err())
			case <-time.After(d/2 + rand.N(d)): // jittered: d on average
			}
		}
		status, data, err := c.attempt(ctx, r, body, hash, creds)
		retry := true
		switch {
		case err != nil:
			last = fmt.Errorf("%s: %w", op, err)
		case status/100 == 2:
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("%s: decode response (HTTP %d): %w", op, status, err)
			}
			return nil
		default:
			code, msg := apiError(data)
			last = fmt.Errorf("%s: HTTP %d: %s: %s", op, status, code, msg)
			retry = status == http.StatusTooManyRequests || status >= 500 || throttled(code)
		}
		if !retry || ctx.Err() != nil {
			return last
		}
	}
	return fmt.Errorf("%w (after %d attempts)", last, attempts)
}

// attempt signs and sends one request, and reads its response.
func (c *Client) attempt(ctx context.Context, r Request, body []byte, hash string, creds aws.Credentials) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, c.Endpoint+r.Path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	ct := r.ContentType
	if ct == "" {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	if r.Target != "" {
		req.Header.Set("X-Amz-Target", r.Target)
	}
	if err := c.signer.SignHTTP(ctx, creds, req, hash, c.Service, c.Config.Region, time.Now()); err != nil {
		return 0, nil, fmt.Errorf("sign request: %w", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return 0, nil, fmt.Errorf("read response (HTTP %d): %w", resp.StatusCode, err)
	}
	return resp.StatusCode, data, nil
}

// apiError returns the error code and message of an error response body,
// cleaned and bounded.
func apiError(data []byte) (string, string) {
	var e struct {
		Type    string `json:"__type"`
		Code    string // "code" too: encoding/json ignores case
		Message string // "message" too
	}
	if err := json.Unmarshal(data, &e); err != nil {
		e.Message = "unreadable error response: " + string(data)
	}
	code := e.Code
	if code == "" {
		code = e.Type
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 { // "namespace#Code"
		code = code[i+1:]
	}
	code, _, _ = strings.Cut(code, ":") // "Code:http://…"
	if code == "" {
		code = "no error code"
	}
	return clean.Line(code, maxError), clean.Line(e.Message, maxError)
}

// throttled reports whether code says the request was throttled.
func throttled(code string) bool {
	switch code {
	case "ThrottlingException", "TooManyRequestsException", "LimitExceededException":
		return true
	}
	return false
}
