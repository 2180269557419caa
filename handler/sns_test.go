package handler

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sgwatch/sgwatch/report"
)

// snsServer speaks the SNS query protocol for Publish: it answers the first
// `throttle` requests with a Throttled error, then accepts, keeping the forms.
type snsServer struct {
	mu       sync.Mutex
	throttle int
	code     string
	forms    []url.Values
}

func (s *snsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forms = append(s.forms, r.PostForm)
	w.Header().Set("Content-Type", "text/xml")
	if len(s.forms) <= s.throttle {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>slow down</Message></Error><RequestId>r</RequestId></ErrorResponse>`, s.code)
		return
	}
	fmt.Fprintf(w, `<PublishResponse><PublishResult><MessageId>m-%d</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>`, len(s.forms))
}

func sdkAgainst(t *testing.T, srv *snsServer) *Handler {
	t.Helper()
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	h, _ := newHandler(t, report.Text, NewSNS(awsConfigFor(t, ts.URL)))
	return h
}

// TestSDKPublishOverHTTP runs the real SDK client against an HTTP server
// speaking SNS's wire protocol: the request carries the subject, the body and
// all eight attributes, and throttling errors are retried (after the real
// throttle backoff, up to 1 s).
func TestSDKPublishOverHTTP(t *testing.T) {
	for _, code := range throttleCodes {
		t.Run(code, func(t *testing.T) {
			srv := &snsServer{throttle: 1, code: code}
			h := sdkAgainst(t, srv)
			if err := h.Handle(context.Background(), event(t, "authorize-ingress-world-ssh")); err != nil {
				t.Fatal(err)
			}
			if len(srv.forms) != 2 {
				t.Fatalf("%d requests, want a throttled one and its retry", len(srv.forms))
			}
			f := srv.forms[1]
			if f.Get("Action") != "Publish" || f.Get("TopicArn") != topic ||
				!strings.HasPrefix(f.Get("Subject"), "[CRITICAL] ") || !strings.Contains(f.Get("Message"), "tcp/22") {
				t.Errorf("form %v", f)
			}
			attrs := map[string]string{}
			for i := 1; f.Get(fmt.Sprintf("MessageAttributes.entry.%d.Name", i)) != ""; i++ {
				attrs[f.Get(fmt.Sprintf("MessageAttributes.entry.%d.Name", i))] = f.Get(fmt.Sprintf("MessageAttributes.entry.%d.Value.StringValue", i))
			}
			if len(attrs) != 8 || attrs["severity"] != "critical" || attrs["securityGroupId"] != "sg-0a1b2c3d4e5f60718" {
				t.Errorf("attributes %v", attrs)
			}
		})
	}
}

// TestSDKPublishRejected checks that an error SNS returns (not retried) fails
// the invocation.
func TestSDKPublishRejected(t *testing.T) {
	srv := &snsServer{throttle: 100, code: "InvalidParameter"}
	h := sdkAgainst(t, srv)
	err := h.Handle(context.Background(), event(t, "delete-security-group"))
	if err == nil || !strings.Contains(err.Error(), "InvalidParameter") {
		t.Fatalf("error %v, want the InvalidParameter rejection", err)
	}
	if len(srv.forms) != 1 {
		t.Errorf("%d requests: a rejected publish must not be retried", len(srv.forms))
	}
}
