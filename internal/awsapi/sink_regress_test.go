package awsapi

// Regression tests of the chat format and the Security Hub sink: each
// reproduces a problem a red-team review of issue 13 found (now fixed),
// and fails if it returns.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// TestRegressZeroBackoff: Backoff is exported, and 0 (or any value that
// makes d <= 0) makes rand.N panic on the first retry: a throttled call
// crashes instead of retrying or failing.
func TestRegressZeroBackoff(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"__type":"ServiceUnavailable","message":"busy"}`))
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_SECURITYHUB", srv.URL)
	c := New(aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}, "securityhub")
	c.Backoff = 0
	c.Timeout = time.Second
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("Call panicked with Backoff 0: %v", p)
		}
	}()
	var out struct{}
	if err := c.Call(context.Background(), Request{Op: "BatchImportFindings", Method: http.MethodPost, Path: "/findings/import"}, map[string]any{}, &out); err == nil {
		t.Error("no error after three 503s")
	}
}
