package handler

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sgwatch/sgwatch/enrich"
)

// stallingSNS stalls its first request with stall, until the client gives
// up on it (or 10 s pass), and answers every later one. When sent is set,
// it answers no request before the client has sent all of it (see
// bodySent).
type stallingSNS struct {
	mu       sync.Mutex
	requests int
	stall    func(w http.ResponseWriter)
	sent     chan struct{}
}

func (s *stallingSNS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s.mu.Lock()
	s.requests++
	n := s.requests
	s.mu.Unlock()
	if s.sent != nil {
		select {
		case <-s.sent:
		case <-r.Context().Done():
			return
		}
	}
	if n == 1 {
		s.stall(w)
		select {
		case <-r.Context().Done(): // the client closed the connection
		case <-time.After(10 * time.Second):
		}
		return
	}
	writeSNS(w, http.StatusOK, "", n)
}

func (s *stallingSNS) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// TestPublishAttemptTimeout: an attempt that stalls, before the response or
// in the middle of its body, is abandoned after the attempt timeout and
// retried, and the publish succeeds with the second attempt. The
// invocation's own deadline still ends everything: a stall past it is not
// retried.
func TestPublishAttemptTimeout(t *testing.T) {
	const attemptTimeout = 300 * time.Millisecond
	nothing := func(http.ResponseWriter) {}
	halfBody := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>`)
		w.(http.Flusher).Flush()
	}
	cases := []struct {
		name         string
		stall        func(http.ResponseWriter)
		ctxTimeout   time.Duration // 0: none
		wantAttempts int
		wantErr      bool
	}{
		{"stalled before the response", nothing, 0, 2, false},
		{"stalled in the body", halfBody, 0, 2, false},
		{"invocation deadline first", nothing, attemptTimeout / 2, 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Answering while the client's transport still reads the
			// request body (its check for EOF) makes the transport drop the
			// connection at once when the SDK closes the body: a retryable
			// error, but not the timeout this test is about. So the server
			// answers only once the body is sent.
			sent := make(chan struct{}, 4)
			srv := &stallingSNS{stall: c.stall, sent: sent}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			cfg := awsConfigFor(t, ts.URL)
			cfg.APIOptions = append(cfg.APIOptions, bodySent(sent))
			client := newSNS(cfg, attemptTimeout)
			ctx := context.Background()
			if c.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.ctxTimeout)
				defer cancel()
			}
			start := time.Now()
			out, err := client.Publish(ctx, publishInput())
			elapsed := time.Since(start)
			t.Logf("%d attempts in %v, error %v", srv.count(), elapsed.Round(time.Millisecond), err)
			if n := srv.count(); n != c.wantAttempts {
				t.Errorf("%d attempts, want %d", n, c.wantAttempts)
			}
			if c.wantErr {
				if err == nil || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("error %v, want the invocation's deadline", err)
				}
				if elapsed > attemptTimeout {
					t.Errorf("took %v, want to end at the invocation's deadline (%v)", elapsed, c.ctxTimeout)
				}
				return
			}
			if err != nil {
				t.Fatalf("publish failed: %v", err)
			}
			if got := aws.ToString(out.MessageId); got != "m-2" {
				t.Errorf("MessageId %q, want the second attempt's", got)
			}
			if elapsed < attemptTimeout || elapsed > attemptTimeout+2*time.Second {
				t.Errorf("took %v, want the attempt timeout (%v) and a quick retry", elapsed, attemptTimeout)
			}
		})
	}
}

// TestNewSNSAppliesTheAttemptTimeout checks that the client NewSNS builds
// carries publishAttemptTimeout and publishMaxAttempts, without changing the
// HTTP client of the configuration it shares with the EC2 client.
func TestNewSNSAppliesTheAttemptTimeout(t *testing.T) {
	cfg := awsConfigFor(t, "http://127.0.0.1:1")
	o := NewSNS(cfg).Options()
	c, ok := o.HTTPClient.(*awshttp.BuildableClient)
	if !ok || c.GetTimeout() != publishAttemptTimeout {
		t.Errorf("HTTP client %T, want an SDK client with the %v attempt timeout", o.HTTPClient, publishAttemptTimeout)
	}
	if shared, ok := cfg.HTTPClient.(*awshttp.BuildableClient); !ok || shared.GetTimeout() != 0 {
		t.Errorf("the shared configuration's HTTP client %T was changed", cfg.HTTPClient)
	}
	if publishMaxAttempts != attemptsPerPublish {
		t.Errorf("publishMaxAttempts is %d; the README and the throttling tests say %d", publishMaxAttempts, attemptsPerPublish)
	}
	if n := o.Retryer.MaxAttempts(); n != publishMaxAttempts {
		t.Errorf("retryer makes %d attempts, want %d", n, publishMaxAttempts)
	}
}

// TestPublishBudget: the worst publish (every attempt timing out, the
// throttle backoff at its longest) and the enrichment before it fit in an
// event's budget (eventBudget; the function's timeout is longer) less the
// handler's margin.
func TestPublishBudget(t *testing.T) {
	const functionTimeout = eventBudget
	throttleBackoff := time.Duration(0)
	for retry := 1; retry < publishMaxAttempts; retry++ {
		throttleBackoff += time.Second << (retry - 1) // rand × 1 s × 2^(retry-1)
	}
	worst := publishMaxAttempts*publishAttemptTimeout + throttleBackoff
	if budget := functionTimeout - deadlineMargin - enrich.Timeout; worst > budget {
		t.Errorf("a publish may take %v, more than the %v left of the function timeout", worst, budget)
	}
	if publishAttemptTimeout < time.Second || publishAttemptTimeout > 10*time.Second {
		t.Errorf("attempt timeout %v, want a few seconds", publishAttemptTimeout)
	}
}

// TestNewSNSMakesNoNetworkCall: building the client is free; the first
// request is the first Publish.
func TestNewSNSMakesNoNetworkCall(t *testing.T) {
	srv := &wireSNS{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	client := NewSNS(awsConfigFor(t, ts.URL))
	if n := srv.count(); n != 0 {
		t.Fatalf("NewSNS made %d requests", n)
	}
	if _, err := client.Publish(context.Background(), publishInput()); err != nil || srv.count() != 1 {
		t.Fatalf("publish: %d requests, error %v", srv.count(), err)
	}
}

// bodySent signals on sent each time the HTTP transport has read a
// request's body to its end: it wraps the body last, after signing, so
// that what the transport reads is what it wraps.
func bodySent(sent chan<- struct{}) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("bodySent", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				if body := req.GetStream(); body != nil {
					in.Request, _ = req.SetStream(&eofSignal{r: body, sent: sent})
				}
			}
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
	}
}

// eofSignal signals on sent when its reader reaches its end.
type eofSignal struct {
	r    io.Reader
	sent chan<- struct{}
	done bool
}

func (e *eofSignal) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF && !e.done {
		e.done = true
		e.sent <- struct{}{}
	}
	return n, err
}
