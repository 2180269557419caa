package hub

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/report"
	"github.com/sgwatch/sgwatch/sweep"
)

// request is what the test server received.
type request struct {
	method, path string
	header       http.Header
	body         []byte
}

// reply is one response of the test server.
type reply struct {
	status int
	body   string
}

var caller = report.Caller{Account: "111122223333", Partition: "aws", Region: "eu-west-1"}

// sample returns the first finding of events/name.json.
func sample(t *testing.T, name string) detect.Finding {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := detect.Parse(data, detect.Scoring{})
	if err != nil || len(b.Findings) == 0 {
		t.Fatalf("%s: %d findings, %v", name, len(b.Findings), err)
	}
	return b.Findings[0]
}

// server answers with replies in turn (the last one again when they run
// out) and records the requests; stall makes it wait for the client to
// give up instead.
type server struct {
	mu       sync.Mutex
	replies  []reply
	requests []request
	stall    bool
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, request{r.Method, r.URL.Path, r.Header.Clone(), body})
	n := len(s.requests)
	rep := s.replies[min(n, len(s.replies))-1]
	s.mu.Unlock()
	if s.stall {
		<-r.Context().Done()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

func (s *server) received() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

const ok = `{"FailedCount":0,"SuccessCount":1,"FailedFindings":[]}`

// newHub returns a Hub with the client main builds, for the test server s,
// found as main finds it (AWS_ENDPOINT_URL_SECURITYHUB, read by
// config.LoadDefaultConfig), that waits 1 ms between attempts.
func newHub(t *testing.T, s *server, token string) *Hub {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_SECURITYHUB": srv.URL, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET", "AWS_SESSION_TOKEN": token,
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_MAX_ATTEMPTS": "", "AWS_RETRY_MODE": ""} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	client := NewClient(cfg)
	fast := func(o *securityhub.Options) {
		o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, time.Millisecond)
	}
	return New(func() API { return fastAPI{client, fast} })
}

// fastAPI is the client with an option added to every call.
type fastAPI struct {
	c   *securityhub.Client
	opt func(*securityhub.Options)
}

func (f fastAPI) BatchImportFindings(ctx context.Context, in *securityhub.BatchImportFindingsInput, opts ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error) {
	return f.c.BatchImportFindings(ctx, in, append(opts, f.opt)...)
}

func (f fastAPI) BatchUpdateFindings(ctx context.Context, in *securityhub.BatchUpdateFindingsInput, opts ...func(*securityhub.Options)) (*securityhub.BatchUpdateFindingsOutput, error) {
	return f.c.BatchUpdateFindings(ctx, in, append(opts, f.opt)...)
}

// TestImportRequest checks the BatchImportFindings request on the wire.
func TestImportRequest(t *testing.T) {
	tests := []struct{ name, token string }{
		{"session token", "TOKEN"},
		{"long-term key", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &server{replies: []reply{{200, ok}}}
			h := newHub(t, s, tt.token)
			f := sample(t, "authorize-ingress-world-ssh")
			if err := h.Import(context.Background(), f, "event/x/0", caller); err != nil {
				t.Fatal(err)
			}
			reqs := s.received()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != http.MethodPost || r.path != "/findings/import" || r.header.Get("Content-Type") != "application/json" {
				t.Errorf("%s %s (%s)", r.method, r.path, r.header.Get("Content-Type"))
			}
			auth := r.header.Get("Authorization")
			if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKID/") || !strings.Contains(auth, "/eu-west-1/securityhub/aws4_request") ||
				!strings.Contains(auth, "SignedHeaders=") || !strings.Contains(auth, "Signature=") {
				t.Errorf("Authorization %q", auth)
			}
			if at, err := time.Parse("20060102T150405Z", r.header.Get("X-Amz-Date")); err != nil || time.Since(at).Abs() > time.Minute ||
				!strings.Contains(auth, "/"+at.Format("20060102")+"/") {
				t.Errorf("X-Amz-Date %q (%v), Authorization %q", r.header.Get("X-Amz-Date"), err, auth)
			}
			if got := r.header.Get("X-Amz-Security-Token"); got != tt.token {
				t.Errorf("X-Amz-Security-Token %q, want %q", got, tt.token)
			}
			var body struct{ Findings []report.ASFF }
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatal(err)
			}
			want := report.ToASFF(f, "event/x/0", caller, time.Now())
			if len(body.Findings) != 1 || js(body.Findings[0]) != js(want) {
				t.Errorf("body %s, want one finding %s", r.body, js(want))
			}
		})
	}
}

// TestImportErrors checks the answers Security Hub may give: what is
// retried, and what the error says.
func TestImportErrors(t *testing.T) {
	evil := "bad\n\u202e" + strings.Repeat("x", 10000)
	tests := []struct {
		name     string
		replies  []reply
		attempts int
		errs     []string // what the error says; none: no error
	}{
		{"success", []reply{{200, ok}}, 1, nil},
		{"failed finding", []reply{{200, `{"FailedCount":1,"SuccessCount":0,"FailedFindings":[{"Id":"sgwatch/event/x/0","ErrorCode":"InvalidInput","ErrorMessage":"Finding must contain at least one resource"}]}`}},
			1, []string{"BatchImportFindings", "InvalidInput", "Finding must contain at least one resource", "sgwatch/event/x/0"}},
		{"failed count alone", []reply{{200, `{"FailedCount":1,"SuccessCount":0}`}}, 1, []string{"unknown"}},
		{"throttled twice", []reply{{429, `{"__type":"TooManyRequestsException","message":"slow down"}`}, {429, `{}`}, {200, ok}}, 3, nil},
		{"limit exceeded code", []reply{{400, `{"Code":"LimitExceededException","Message":"rate"}`}, {200, ok}}, 2, nil},
		{"bad request", []reply{{400, `{"__type":"com.amazonaws.securityhub#InvalidInputException","message":"bad field"}`}, {200, ok}},
			1, []string{"BatchImportFindings", "StatusCode: 400", "InvalidInputException: bad field"}},
		{"not subscribed", []reply{{401, `{"Code":"InvalidAccessException","Message":"Account is not subscribed to AWS Security Hub"}`}},
			1, []string{"StatusCode: 401", "InvalidAccessException", "not subscribed"}},
		{"server error", []reply{{500, `{"__type":"InternalException:http://internal","message":"oops"}`}}, 3,
			[]string{"StatusCode: 500", "InternalException: oops", "maximum number of attempts, 3"}},
		{"hostile error", []reply{{403, `{"__type":"AccessDeniedException","message":` + js(evil) + `}`}}, 1, []string{"AccessDeniedException: bad??xxx"}},
		{"not JSON", []reply{{502, `<html>gateway</html>`}}, 3, []string{"StatusCode: 502", "maximum number of attempts, 3"}},
		{"unreadable success", []reply{{200, `{"FailedCount":`}}, 1, []string{"decode response"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &server{replies: tt.replies}
			h := newHub(t, s, "")
			err := h.Import(context.Background(), sample(t, "authorize-ingress-world-ssh"), "event/x/0", caller)
			if n := len(s.received()); n != tt.attempts {
				t.Errorf("%d attempts, want %d", n, tt.attempts)
			}
			checkError(t, err, tt.errs)
		})
	}
}

func checkError(t *testing.T, err error, want []string) {
	t.Helper()
	if (err != nil) != (len(want) > 0) {
		t.Fatalf("error %v, want one saying %q", err, want)
	}
	if err == nil {
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if msg := err.Error(); len(msg) > 2000 || strings.ContainsAny(msg, "\n\u202e") {
		t.Errorf("error of %d bytes, or not cleaned: %.200q", len(msg), msg)
	}
}

// TestAttemptTimeout checks that the client main builds gives up on an
// attempt after AttemptTimeout (the SDK then retries it).
func TestAttemptTimeout(t *testing.T) {
	c := NewClient(aws.Config{Region: "eu-west-1"})
	b, ok := c.Options().HTTPClient.(*awshttp.BuildableClient)
	if !ok || b.GetTimeout() != AttemptTimeout {
		t.Errorf("HTTP client %T, want the SDK's with a timeout of %v", c.Options().HTTPClient, AttemptTimeout)
	}
}

// TestImportResolved checks that a resolved finding is imported, then
// resolved with BatchUpdateFindings under the same Id and product ARN.
func TestImportResolved(t *testing.T) {
	p22 := 22
	g := sweep.Group{SecurityGroup: detect.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718"},
		Rules: []detect.Rule{{Direction: detect.Ingress, Protocol: "tcp", FromPort: &p22, ToPort: &p22, CIDRIPv4: "0.0.0.0/0", RuleID: "sgr-0c0ffee0c0ffee001"}}}
	found := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	exposure := sweep.Exposures(g, "eu-west-1", "111122223333", found, detect.Scoring{})[0]
	resolved := sweep.Resolve(exposure, found.Add(time.Hour), detect.Scoring{})
	id := "sweep/111122223333/eu-west-1/" + exposure.Sweep.Key
	const processed = `{"ProcessedFindings":[{"Id":"x","ProductArn":"y"}],"UnprocessedFindings":[]}`
	tests := []struct {
		name    string
		f       detect.Finding
		update  string // the BatchUpdateFindings response
		updates int
		errs    []string
	}{
		{"exposure", exposure, processed, 0, nil},
		{"resolved", resolved, processed, 1, nil},
		{"resolved, unprocessed", resolved, `{"ProcessedFindings":[],"UnprocessedFindings":[{"FindingIdentifier":{"Id":"x","ProductArn":"y"},"ErrorCode":"FindingNotFound","ErrorMessage":"no such finding"}]}`,
			1, []string{"BatchUpdateFindings", "FindingNotFound: no such finding"}},
		{"resolved, denied", resolved, `{"__type":"AccessDeniedException","message":"not allowed"}`, 1,
			[]string{"BatchUpdateFindings", "AccessDeniedException: not allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := 200
			if strings.Contains(tt.update, "__type") {
				status = 403
			}
			s := &server{replies: []reply{{200, ok}, {status, tt.update}}}
			h := newHub(t, s, "TOKEN")
			err := h.Import(context.Background(), tt.f, id, caller)
			checkError(t, err, tt.errs)
			reqs := s.received()
			if len(reqs) != 1+tt.updates {
				t.Fatalf("%d requests, want %d", len(reqs), 1+tt.updates)
			}
			var imported struct{ Findings []report.ASFF }
			if err := json.Unmarshal(reqs[0].body, &imported); err != nil || len(imported.Findings) != 1 {
				t.Fatalf("import body %s: %v", reqs[0].body, err)
			}
			a := imported.Findings[0]
			if a.ID != "sgwatch/"+id {
				t.Errorf("imported Id %q", a.ID)
			}
			if tt.updates == 0 {
				return
			}
			u := reqs[1]
			var body struct {
				FindingIdentifiers []struct{ Id, ProductArn string }
				Workflow           struct{ Status string }
			}
			if err := json.Unmarshal(u.body, &body); err != nil {
				t.Fatal(err)
			}
			if u.method != http.MethodPatch || u.path != "/findings/batchupdate" || u.header.Get("Content-Type") != "application/json" {
				t.Errorf("%s %s (%s)", u.method, u.path, u.header.Get("Content-Type"))
			}
			if len(body.FindingIdentifiers) != 1 || body.FindingIdentifiers[0].Id != a.ID || body.FindingIdentifiers[0].ProductArn != a.ProductArn ||
				body.Workflow.Status != "RESOLVED" {
				t.Errorf("update body %s, want Id %s and ProductArn %s", u.body, a.ID, a.ProductArn)
			}
		})
	}
}

// TestImportEmptySuccess (a regression): a 2xx whose body does not say the
// finding was imported ({} or null, e.g. from a proxy or a misconfigured
// AWS_ENDPOINT_URL) counts as success: FailedCount is 0 by default, and
// SuccessCount is never checked. The finding is lost, yet logged
// "imported into Security Hub", and never retried.
func TestImportEmptySuccess(t *testing.T) {
	for _, body := range []string{`{}`, `null`, `{"SuccessCount":0}`} {
		s := &server{replies: []reply{{200, body}}}
		h := newHub(t, s, "")
		if err := h.Import(context.Background(), sample(t, "authorize-ingress-world-ssh"), "event/x/0", caller); err == nil {
			t.Errorf("a 200 answer %s counts as an imported finding", body)
		}
	}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
