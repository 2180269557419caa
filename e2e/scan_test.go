//go:build e2e

package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sgwatch/sgwatch/emulate"
)

// The bucket of the scan test: an organization trail's logs, in
// CloudTrail's layout, for two member accounts.
const (
	scanBucket   = "sgwatch-scan-trail"
	scanCorrupt  = "sgwatch-scan-corrupt" // a few good logs and a corrupt one
	scanMissing  = "no-such-bucket-sgwatch"
	scanOrg      = "o-abc123defg"
	scanAccount  = "111122223333"
	scanRegion   = "eu-west-1"
	scanAccount2 = "444455556666"
	scanRegion2  = "us-east-1"
)

// scanLog is one log object the test puts in a bucket.
type scanLog struct {
	account, region string
	day             int    // of November 2026: the delivery's and the record's
	key, eventID    string // the object and its security-group record
}

// TestScanS3 runs the real command line (bin/sgwatch) on s3:// sources
// against moto over HTTP, through a reverse proxy that counts object GETs
// and ListObjectsV2 calls: a whole bucket in CloudTrail's layout (one
// finding per log object; digests and a file that is not a log never
// fetched), -since/-until/-accounts/-regions pruning (only the objects of
// the days that can hold selected records fetched: the window and the one
// day of scan.Late after -until), a missing bucket and a corrupt gzip object
// (exit 1, the s3:// source named, the other findings still printed), and
// one object named by its URL.
func TestScanS3(t *testing.T) {
	start := time.Now()
	if err := moto.Reset(); err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(moto.Config(), func(o *s3.Options) { o.UsePathStyle = true })
	sg, other := scanRecords(t)

	// The main bucket: account 1 in eu-west-1 on 20-26 November, account 2
	// in us-east-1 on two of those days; digests; a note that is no log.
	var logs []scanLog
	for day := 20; day <= 26; day++ {
		logs = append(logs, scanNewLog(scanAccount, scanRegion, day, 12))
	}
	for _, day := range []int{23, 24} {
		logs = append(logs, scanNewLog(scanAccount2, scanRegion2, day, 12))
	}
	scanCreateBucket(t, client, scanBucket)
	for _, l := range logs {
		scanPut(t, client, scanBucket, l.key, scanLogFile(t, l, sg, other))
	}
	var never []string // objects that are not logs: never fetched
	for day := 20; day <= 26; day++ {
		key := fmt.Sprintf("AWSLogs/%s/%s/CloudTrail-Digest/%s/2026/11/%02d/%s_CloudTrail-Digest_%s_%s_%s_202611%02dT1300Z.json.gz",
			scanOrg, scanAccount, scanRegion, day, scanAccount, scanRegion, "org-trail", scanRegion, day)
		scanPut(t, client, scanBucket, key, scanGzip(t, []byte(`{"awsAccountId":"`+scanAccount+`","logFiles":[]}`)))
		never = append(never, key)
	}
	notes := fmt.Sprintf("AWSLogs/%s/%s/CloudTrail/%s/2026/11/20/notes.txt", scanOrg, scanAccount, scanRegion)
	scanPut(t, client, scanBucket, notes, []byte("rotated the trail's KMS key on 2026-11-19\n"))
	never = append(never, notes)

	// The second bucket: account 1's logs of 20-22 November, and on the
	// 21st, after the good log, an object that is gzip only by its header.
	var good []scanLog
	for day := 20; day <= 22; day++ {
		good = append(good, scanNewLog(scanAccount, scanRegion, day, 12))
	}
	corrupt := scanNewLog(scanAccount, scanRegion, 21, 13)
	scanCreateBucket(t, client, scanCorrupt)
	for _, l := range good {
		scanPut(t, client, scanCorrupt, l.key, scanLogFile(t, l, sg, other))
	}
	// A gzip header, then a deflate block of the reserved type.
	scanPut(t, client, scanCorrupt, corrupt.key, append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, bytes.Repeat([]byte{0xff}, 64)...))

	proxy := newScanProxy(t)
	since := filterLogs(logs, func(l scanLog) bool { return l.account == scanAccount && l.day >= 23 && l.day <= 25 })
	window := filterLogs(since, func(l scanLog) bool { return l.day <= 24 })
	one := logs[2]
	dayPrefix := func(day int) string {
		return fmt.Sprintf("AWSLogs/%s/%s/CloudTrail/%s/2026/11/%02d/", scanOrg, scanAccount, scanRegion, day)
	}
	cases := []struct {
		name      string
		args      []string
		bucket    []scanLog // the log objects of the bucket scanned
		code      int
		findings  []scanLog // whose findings, in this order
		fetched   []scanLog // the objects fetched, each once; no other
		stderr    []string  // lines stderr must hold
		errorOf   string    // an s3:// URL stderr must report an error for
		notListed []string  // prefixes never listed (nor anything under them)
	}{
		{
			name: "whole bucket", args: []string{"s3://" + scanBucket},
			bucket: logs, code: 0, findings: logs, fetched: logs,
			stderr: []string{"sgwatch: read 9 sources; skipped 1 digest, 1 not log, 0 outside the filter"},
		},
		{
			name: "-since pruning",
			args: []string{"-since", "2026-11-23", "-until", "2026-11-24T23:59:59Z", "-accounts", scanAccount, "-regions", scanRegion,
				"s3://" + scanBucket + "/AWSLogs/"},
			bucket: logs, code: 0, findings: window, fetched: since,
			// Pruned: the other account, the digests, 20-22 and 26 November.
			stderr: []string{"sgwatch: read 3 sources; skipped 1 digest, 0 not log, 5 outside the filter"},
			notListed: []string{"AWSLogs/" + scanOrg + "/" + scanAccount2 + "/", "AWSLogs/" + scanOrg + "/" + scanAccount + "/CloudTrail-Digest/",
				dayPrefix(20), dayPrefix(21), dayPrefix(22), dayPrefix(26)},
		},
		{
			name: "missing bucket", args: []string{"s3://" + scanMissing},
			code: 1, errorOf: "s3://" + scanMissing,
		},
		{
			name: "corrupt gzip object", args: []string{"s3://" + scanCorrupt},
			bucket: append(slices.Clone(good), corrupt), code: 1, findings: good, fetched: append(slices.Clone(good), corrupt),
			errorOf: "s3://" + scanCorrupt + "/" + corrupt.key,
		},
		{
			name: "one object", args: []string{"s3://" + scanBucket + "/" + one.key},
			bucket: logs, code: 0, findings: []scanLog{one}, fetched: []scanLog{one},
			notListed: []string{""}, // nothing listed at all
		},
	}
	for _, c := range cases {
		proxy.reset()
		code, stdout, stderr := runScan(t, proxy.URL, c.args...)
		gets, listings := proxy.counts()
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("%s: sgwatch %s: %s\nstdout:\n%sstderr:\n%s", c.name, strings.Join(c.args, " "), fmt.Sprintf(format, args...), stdout, stderr)
		}
		if code != c.code {
			fail("exit %d, want %d", code, c.code)
		}
		if strings.Contains(stderr, "panic:") || strings.Contains(stderr, "goroutine ") {
			fail("panicked")
		}

		// The findings: one per log, by event ID, account and Region, in order.
		var got, want []string
		for _, l := range c.findings {
			want = append(want, l.eventID+" "+l.account+" "+l.region)
		}
		for line := range strings.Lines(stdout) {
			var f struct {
				Event struct {
					ID        string `json:"id"`
					Region    string `json:"region"`
					AccountID string `json:"accountId"`
				} `json:"event"`
			}
			if err := json.Unmarshal([]byte(line), &f); err != nil {
				fail("output line %q is not a JSON finding: %v", line, err)
				continue
			}
			got = append(got, f.Event.ID+" "+f.Event.AccountID+" "+f.Event.Region)
		}
		if !slices.Equal(got, want) {
			fail("findings (event ID, account, Region)\n%q\nwant\n%q", got, want)
		}

		// What was fetched: exactly the objects the filter lets through, each once.
		wantGets := map[string]int{}
		for _, l := range c.fetched {
			wantGets[l.key]++
		}
		if !maps.Equal(gets, wantGets) {
			fail("object GETs %v, want %v", gets, wantGets)
		}
		for _, k := range never {
			if gets[k] > 0 {
				fail("fetched %s, which is not a log", k)
			}
		}
		for _, l := range listings {
			for _, p := range c.notListed {
				if strings.HasPrefix(l, p) {
					fail("listed %q (under the pruned %q)", l, p)
				}
			}
		}

		// stderr is sgwatch's own: its errors and notes, nothing of the SDK's.
		var foreign []string
		for line := range strings.Lines(stderr) {
			if !strings.HasPrefix(line, "sgwatch: ") {
				foreign = append(foreign, strings.TrimSuffix(line, "\n"))
			}
		}
		if len(foreign) > 0 {
			fail("%d lines on stderr are not sgwatch's (the first: %q)", len(foreign), foreign[0])
		}
		for _, s := range c.stderr {
			if !slices.Contains(strings.Split(stderr, "\n"), s) {
				fail("stderr does not say %q", s)
			}
		}
		if c.errorOf != "" && scanErrorLine(stderr, c.errorOf) == "" {
			fail("no error line for %s on stderr", c.errorOf)
		}
		if c.errorOf == "" && strings.Contains(stderr, "sgwatch: s3://") {
			fail("an error on stderr")
		}
		if c.name == "corrupt gzip object" && !strings.Contains(scanErrorLine(stderr, c.errorOf), "gzip") {
			fail("the error for %s does not say gzip", c.errorOf)
		}
		n := 0
		for _, v := range gets {
			n += v
		}
		t.Logf("scan: %s: %d of %d log objects fetched, %d listings; exit %d, %d findings", c.name, n, len(c.bucket), len(listings), code, len(got))
	}
	t.Logf("scan: %d runs of bin/sgwatch against moto's S3 over HTTP in %s", len(cases), time.Since(start).Round(time.Millisecond))
}

// scanRecords reads the records the logs are made of: the detail of the
// sample world-SSH ingress event, and two records of other calls.
func scanRecords(t *testing.T) (sg map[string]any, other []map[string]any) {
	t.Helper()
	detail := func(name string) map[string]any {
		t.Helper()
		data, err := os.ReadFile("../events/" + name)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Detail map[string]any `json:"detail"`
		}
		if err := json.Unmarshal(data, &e); err != nil || e.Detail == nil {
			t.Fatalf("events/%s: no detail (%v)", name, err)
		}
		return e.Detail
	}
	sg = detail("authorize-ingress-world-ssh.json")
	describe := detail("not-security-group.json")
	list := detail("not-security-group.json")
	list["eventSource"], list["eventName"], list["requestParameters"] = "s3.amazonaws.com", "ListBuckets", nil
	return sg, []map[string]any{describe, list}
}

// scanNewLog names a log object of account and region delivered on the day
// of November 2026 at hour, as CloudTrail names it.
func scanNewLog(account, region string, day, hour int) scanLog {
	stamp := fmt.Sprintf("202611%02dT%02d00Z", day, hour)
	return scanLog{
		account: account, region: region, day: day,
		key: fmt.Sprintf("AWSLogs/%s/%s/CloudTrail/%s/2026/11/%02d/%s_CloudTrail_%s_%s_%s%02d.json.gz",
			scanOrg, account, region, day, account, region, stamp, "Ab12Cd34Ef56Gh", hour),
		eventID: fmt.Sprintf("5ca1%02d%02d-0000-4000-8000-%s", day, hour, account),
	}
}

// scanLogFile is l's gzip log file: {"Records":[…]} with the security-group
// record between the two others, all of l's account and Region, on its day
// before its delivery.
func scanLogFile(t *testing.T, l scanLog, sg map[string]any, other []map[string]any) []byte {
	t.Helper()
	record := func(base map[string]any, id string, minute int) map[string]any {
		r := maps.Clone(base)
		r["eventID"], r["requestID"] = id, "req-"+id
		r["eventTime"] = fmt.Sprintf("2026-11-%02dT10:%02d:11Z", l.day, minute)
		r["recipientAccountId"], r["awsRegion"] = l.account, l.region
		return r
	}
	records := []map[string]any{
		record(other[0], "0ther001"+l.eventID[8:], 1),
		record(sg, l.eventID, 3),
		record(other[1], "0ther002"+l.eventID[8:], 5),
	}
	data, err := json.Marshal(map[string]any{"Records": records})
	if err != nil {
		t.Fatal(err)
	}
	return scanGzip(t, data)
}

func scanGzip(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func scanCreateBucket(t *testing.T, c *s3.Client, name string) {
	t.Helper()
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("moto (%s): create bucket %s: %v", emulate.Region, name, err)
	}
}

func scanPut(t *testing.T, c *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("moto: put s3://%s/%s: %v", bucket, key, err)
	}
}

func filterLogs(logs []scanLog, keep func(scanLog) bool) []scanLog {
	var out []scanLog
	for _, l := range logs {
		if keep(l) {
			out = append(out, l)
		}
	}
	return out
}

// scanProxy is a reverse proxy in front of moto that counts, for the
// path-style requests of the S3 client, the GETs of each object and the
// prefixes of ListObjectsV2 calls.
type scanProxy struct {
	*httptest.Server
	mu       sync.Mutex
	gets     map[string]int
	listings []string
}

func newScanProxy(t *testing.T) *scanProxy {
	t.Helper()
	target, err := url.Parse(moto.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &scanProxy{gets: map[string]int{}}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host // as the client signed it
	}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
			q := r.URL.Query()
			p.mu.Lock()
			switch {
			case q.Get("list-type") == "2" || q.Has("delimiter"):
				p.listings = append(p.listings, q.Get("prefix"))
			case key != "":
				p.gets[key]++
			}
			p.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *scanProxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gets, p.listings = map[string]int{}, nil
}

func (p *scanProxy) counts() (map[string]int, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.gets), slices.Clone(p.listings)
}

// runScan runs bin/sgwatch -format json with args, with the proxy as its S3
// endpoint and nothing of this machine's AWS configuration, and returns its
// exit status and output.
func runScan(t *testing.T, endpoint string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLI(t, []string{"AWS_ENDPOINT_URL_S3=" + endpoint, "AWS_REGION=" + emulate.Region}, append([]string{"-format", "json"}, args...)...)
}

// scanErrorLine is the stderr line that reports an error for the source
// url (the URL itself, or its folder form with a trailing "/"), or "".
func scanErrorLine(stderr, url string) string {
	for line := range strings.Lines(stderr) {
		if rest, ok := strings.CutPrefix(line, "sgwatch: "+url); ok && (strings.HasPrefix(rest, ": ") || strings.HasPrefix(rest, "/: ")) {
			return line
		}
	}
	return ""
}
