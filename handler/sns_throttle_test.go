package handler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// wireSNS answers Publish over HTTP in SNS's query protocol. answer decides
// each response from the request's number (1-based, across the server's
// life); nil answer accepts.
type wireSNS struct {
	mu       sync.Mutex
	requests int
	answer   func(n int) (status int, code string)
}

func (s *wireSNS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "Publish" {
		http.Error(w, "want a Publish form", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests++
	n, answer := s.requests, s.answer
	s.mu.Unlock()
	status, code := http.StatusOK, ""
	if answer != nil {
		status, code = answer(n)
	}
	writeSNS(w, status, code, n)
}

// writeSNS writes a Publish response: a MessageId, or SNS's error document
// (Sender for 4xx, Receiver for 5xx).
func writeSNS(w http.ResponseWriter, status int, code string, n int) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	if status == http.StatusOK {
		fmt.Fprintf(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-%d</MessageId></PublishResult><ResponseMetadata><RequestId>r-%d</RequestId></ResponseMetadata></PublishResponse>`, n, n)
		return
	}
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	fmt.Fprintf(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>%s</Type><Code>%s</Code><Message>%s from the test server</Message></Error><RequestId>r-%d</RequestId></ErrorResponse>`, typ, code, code, n)
}

func (s *wireSNS) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *wireSNS) setAnswer(f func(n int) (int, string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = f
}

// awsConfigFor loads the AWS configuration as main does, with test
// credentials and SNS at url.
func awsConfigFor(t *testing.T, url string) aws.Config {
	t.Helper()
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_ENDPOINT_URL_SNS", url)
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_MAX_ATTEMPTS", "")
	t.Setenv("AWS_RETRY_MODE", "")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatalf("load AWS configuration: %v", err)
	}
	return cfg
}

// attemptsPerPublish is what the README promises: the first attempt and two
// retries (publishMaxAttempts; a literal here so that this file also runs
// against the code before the fix, to measure it).
const attemptsPerPublish = 3

func publishInput() *sns.PublishInput {
	return &sns.PublishInput{TopicArn: aws.String(topic), Subject: aws.String("s"), Message: aws.String("m")}
}

// noSleep wraps the client's own retryer for one call: every decision (is
// it retryable, is it throttling, what it costs, the quota) is the
// production retryer's; only the backoff it chooses is recorded instead of
// slept, so that 500 throttled publishes take a second, not ten minutes.
type noSleep struct {
	aws.RetryerV2
	mu     sync.Mutex
	delays []time.Duration
}

func (n *noSleep) RetryDelay(attempt int, err error) (time.Duration, error) {
	d, err := n.RetryerV2.RetryDelay(attempt, err)
	n.mu.Lock()
	n.delays = append(n.delays, d)
	n.mu.Unlock()
	return 0, err
}

func (n *noSleep) option(t *testing.T) func(*sns.Options) {
	return func(o *sns.Options) {
		r, ok := o.Retryer.(aws.RetryerV2)
		if !ok {
			t.Fatalf("retryer %T is not an aws.RetryerV2", o.Retryer)
		}
		n.RetryerV2 = r
		o.Retryer = n
	}
}

// attemptRun summarises attempts per publish, e.g. "3×17, 2×1, 1×482".
func attemptRun(attempts []int) string {
	var parts []string
	for i := 0; i < len(attempts); {
		j := i
		for j < len(attempts) && attempts[j] == attempts[i] {
			j++
		}
		parts = append(parts, fmt.Sprintf("%d×%d", attempts[i], j-i))
		i = j
	}
	return strings.Join(parts, ", ")
}

// TestRetryQuotaUnderThrottling publishes 500 times, one after the other,
// through one client built by NewSNS (one Lambda container), against an SNS
// that fails every attempt, and counts the attempts of each publish.
//
// Throttling (Throttled, KMSThrottling) must be retried as throttling: every
// publish gets its 3 attempts, with the throttle backoff (a 1 s base, so some
// delay above the 100 ms the generic backoff never exceeds), and the quota is
// left for other errors: afterwards a 500 is still retried. Before the fix
// they were generic retryable errors costing 14 of the 500-token quota per
// retry, so retries stopped at publish 18. A 5xx still draws on the quota
// and stops being retried at publish 18: the quota guards a failing SNS.
func TestRetryQuotaUnderThrottling(t *testing.T) {
	const publishes = 500
	cases := []struct {
		status     int
		code       string
		firstShort int // first publish with fewer than 3 attempts; 0: none
		throttle   bool
	}{
		{http.StatusBadRequest, "Throttled", 0, true},
		{http.StatusBadRequest, "KMSThrottling", 0, true},
		{http.StatusInternalServerError, "InternalError", 18, false},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			srv := &wireSNS{}
			srv.setAnswer(func(int) (int, string) { return c.status, c.code })
			ts := httptest.NewServer(srv)
			defer ts.Close()
			client := NewSNS(awsConfigFor(t, ts.URL))
			ns := &noSleep{}

			attempts := make([]int, publishes)
			for i := range attempts {
				before := srv.count()
				_, err := client.Publish(context.Background(), publishInput(), ns.option(t))
				attempts[i] = srv.count() - before
				if err == nil || !strings.Contains(err.Error(), c.code) {
					t.Fatalf("publish %d: error %v, want %s", i+1, err, c.code)
				}
			}
			firstShort := 0
			for i, n := range attempts {
				if n < attemptsPerPublish {
					firstShort = i + 1
					break
				}
			}
			if firstShort != c.firstShort {
				t.Errorf("retries stop at publish %d, want %d (0: never); attempts %s", firstShort, c.firstShort, attemptRun(attempts))
			}
			if c.firstShort != 0 && attempts[publishes-1] != 1 {
				t.Errorf("last publish made %d attempts, want 1 once the quota is spent", attempts[publishes-1])
			}

			var longest time.Duration
			for _, d := range ns.delays {
				longest = max(longest, d)
			}
			t.Logf("%s: attempts per publish over %d publishes: %s; first publish not retried fully: %d (0: none); longest of %d backoffs: %v",
				c.code, publishes, attemptRun(attempts), firstShort, len(ns.delays), longest.Round(time.Millisecond))
			// The standard backoff is rand × base × 2^(retry-1): at most
			// 50 ms and 100 ms for ordinary errors, 1 s and 2 s for throttling.
			switch {
			case c.throttle && (longest <= 100*time.Millisecond || longest > 2*time.Second):
				t.Errorf("longest backoff %v over %d retries, want the throttle backoff (up to 1 s, then 2 s)", longest, len(ns.delays))
			case !c.throttle && longest > 100*time.Millisecond:
				t.Errorf("longest backoff %v, want the ordinary backoff (at most 100 ms)", longest)
			}

			if c.throttle {
				// The same container, after the burst: a transient 500 is
				// still retried, because throttling left the quota alone.
				start := srv.count()
				srv.setAnswer(func(n int) (int, string) {
					if n == start+1 {
						return http.StatusInternalServerError, "InternalError"
					}
					return http.StatusOK, ""
				})
				out, err := client.Publish(context.Background(), publishInput(), ns.option(t))
				if err != nil || srv.count()-start != 2 {
					t.Fatalf("after the burst a 500 was not retried: %d attempts, error %v", srv.count()-start, err)
				}
				if got := aws.ToString(out.MessageId); got != fmt.Sprintf("m-%d", start+2) {
					t.Errorf("MessageId %q, want the retry's", got)
				}
			}
		})
	}
}

// TestThrottledPublishFailsWithTheCause checks what the handler gets when
// every attempt is throttled: an error that names the throttling and says
// the attempts ran out, not a quota error.
func TestThrottledPublishFailsWithTheCause(t *testing.T) {
	srv := &wireSNS{answer: func(int) (int, string) { return http.StatusBadRequest, "Throttled" }}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	ns := &noSleep{}
	_, err := NewSNS(awsConfigFor(t, ts.URL)).Publish(context.Background(), publishInput(), ns.option(t))
	var apiErr interface{ ErrorCode() string }
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "Throttled" ||
		!strings.Contains(err.Error(), fmt.Sprintf("exceeded maximum number of attempts, %d", attemptsPerPublish)) {
		t.Errorf("error %v, want Throttled after %d attempts", err, attemptsPerPublish)
	}
	if n := srv.count(); n != attemptsPerPublish {
		t.Errorf("%d attempts, want %d", n, attemptsPerPublish)
	}
}
