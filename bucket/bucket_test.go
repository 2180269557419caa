package bucket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sgwatch/sgwatch/pipeline"
	"github.com/sgwatch/sgwatch/report"
	"github.com/sgwatch/sgwatch/scan"
)

func TestParse(t *testing.T) {
	long := strings.Repeat("a", 63)
	tests := []struct {
		url, bucket, path string
		err               bool
	}{
		{"s3://bucket", "bucket", "", false},
		{"s3://bucket/", "bucket", "", false},
		{"s3://bucket/AWSLogs", "bucket", "AWSLogs/", false},
		{"s3://bucket/AWSLogs/", "bucket", "AWSLogs/", false},
		{"s3://bucket/AWSLogs/o-abc123defg/111122223333", "bucket", "AWSLogs/o-abc123defg/111122223333/", false},
		{"s3://bucket/x/y.json.gz", "bucket", "x/y.json.gz", false},
		{"s3://bucket/y.json", "bucket", "y.json", false},
		{"s3://bucket/x/y.JSON", "bucket", "x/y.JSON", false},
		{"s3://bucket/x/y.jsonl", "bucket", "x/y.jsonl", false},
		{"s3://bucket/x/y.ndjson", "bucket", "x/y.ndjson", false},
		{"s3://bucket/x/y.gz", "bucket", "x/y.gz", false},
		{"s3://bucket/logs.json/", "bucket", "logs.json/", false},
		{"s3://bucket/x/README.txt", "bucket", "x/README.txt/", false},
		{"s3://my.trail-bucket-1/AWSLogs", "my.trail-bucket-1", "AWSLogs/", false},
		{"s3://abc", "abc", "", false},
		{"s3://" + long, long, "", false},
		{"s3://ab", "", "", true},
		{"s3://" + long + "a", "", "", true},
		{"s3://Bucket", "", "", true},
		{"s3://my_bucket/x", "", "", true},
		{"s3://-bucket", "", "", true},
		{"s3://bucket-", "", "", true},
		{"s3://", "", "", true},
		{"s3:///AWSLogs/", "", "", true},
		{"S3://bucket", "", "", true},
		{"s3:/bucket", "", "", true},
		{"https://bucket.s3.amazonaws.com/AWSLogs/", "", "", true},
		{"bucket/AWSLogs", "", "", true},
		{"/tmp/AWSLogs", "", "", true},
		{"", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			b, p, err := Parse(tt.url)
			if tt.err {
				if err == nil {
					t.Fatalf("Parse(%q) = %q, %q; want an error", tt.url, b, p)
				}
				if !strings.Contains(err.Error(), strconv.Quote(tt.url)) {
					t.Errorf("error %q does not name %q", err, tt.url)
				}
				return
			}
			if err != nil || b != tt.bucket || p != tt.path {
				t.Errorf("Parse(%q) = %q, %q, %v; want %q, %q", tt.url, b, p, err, tt.bucket, tt.path)
			}
		})
	}
}

// fakeS3 is a bucket in memory behind the S3 API: ListObjectsV2 with
// Prefix, Delimiter and pages of size keys and common prefixes, and
// GetObject.
type fakeS3 struct {
	t       *testing.T
	bucket  string
	objects map[string]string
	size    int
	// failAt makes the call to ListObjectsV2 number failAt (from 1) fail
	// with err; err alone makes GetObject fail.
	failAt int
	err    error

	mu     sync.Mutex
	lists  []*s3.ListObjectsV2Input
	closed int
}

func (f *fakeS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	f.mu.Lock()
	f.lists = append(f.lists, in)
	n := len(f.lists)
	f.mu.Unlock()
	if aws.ToString(in.Bucket) != f.bucket || aws.ToString(in.Delimiter) != "/" {
		f.t.Errorf("ListObjectsV2 of bucket %q with delimiter %q", aws.ToString(in.Bucket), aws.ToString(in.Delimiter))
	}
	if n == f.failAt {
		return nil, f.err
	}
	prefix := aws.ToString(in.Prefix)
	keys := make([]string, 0, len(f.objects))
	for k := range f.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// What S3 returns, in order: each object directly under the prefix,
	// and each common prefix once.
	type entry struct {
		name string
		dir  bool
	}
	var all []entry
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if i := strings.Index(rest, "/"); i >= 0 {
			d := prefix + rest[:i+1]
			if len(all) == 0 || all[len(all)-1].name != d {
				all = append(all, entry{d, true})
			}
			continue
		}
		all = append(all, entry{k, false})
	}
	from := 0
	if in.ContinuationToken != nil {
		var err error
		if from, err = strconv.Atoi(*in.ContinuationToken); err != nil || from <= 0 || from >= len(all) {
			return nil, fmt.Errorf("bad continuation token %q", *in.ContinuationToken)
		}
	}
	to := min(from+f.size, len(all))
	out := &s3.ListObjectsV2Output{IsTruncated: aws.Bool(to < len(all))}
	if to < len(all) {
		out.NextContinuationToken = aws.String(strconv.Itoa(to))
	}
	for _, e := range all[from:to] {
		if e.dir {
			out.CommonPrefixes = append(out.CommonPrefixes, types.CommonPrefix{Prefix: aws.String(e.name)})
		} else {
			out.Contents = append(out.Contents, types.Object{Key: aws.String(e.name)})
		}
	}
	return out, nil
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if aws.ToString(in.Bucket) != f.bucket {
		f.t.Errorf("GetObject of bucket %q", aws.ToString(in.Bucket))
	}
	if f.err != nil && f.failAt == 0 {
		return nil, f.err
	}
	data, ok := f.objects[aws.ToString(in.Key)]
	if !ok {
		return nil, &types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	}
	return &s3.GetObjectOutput{Body: &body{Reader: strings.NewReader(data), f: f}}, nil
}

type body struct {
	io.Reader
	f *fakeS3
}

func (b *body) Close() error {
	b.f.mu.Lock()
	b.f.closed++
	b.f.mu.Unlock()
	return nil
}

var keys = []string{
	"AWSLogs/", // a folder marker
	"AWSLogs/111122223333/",
	"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/111122223333_CloudTrail_eu-west-1_20261120T1205Z_a.json.gz",
	"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/111122223333_CloudTrail_eu-west-1_20261120T1210Z_b.json.gz",
	"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/111122223333_CloudTrail_eu-west-1_20261120T1215Z_c.json.gz",
	"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/111122223333_CloudTrail_eu-west-1_20261120T1220Z_d.json.gz",
	"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/111122223333_CloudTrail_eu-west-1_20261120T1225Z_e.json.gz",
	"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/111122223333_CloudTrail_us-east-1_20261120T1205Z_a.json.gz",
	"AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/11/20/111122223333_CloudTrail-Digest_eu-west-1_t_eu-west-1_20261120T1300Z.json.gz",
	"AWSLogs/111122223333/CloudTrail-Insight/eu-west-1/2026/11/20/x.json.gz",
	"AWSLogs/o-abc123defg/444455556666/CloudTrail/eu-west-1/2026/11/20/444455556666_CloudTrail_eu-west-1_20261120T1205Z_a.json.gz",
	"AWSLogs/x.json",
	"AWSLogs0",
	"README.txt",
	"a.json",
}

func newFake(t *testing.T) *fakeS3 {
	objects := map[string]string{}
	for _, k := range keys {
		objects[k] = "content of " + k
	}
	return &fakeS3{t: t, bucket: "trail-bucket", objects: objects, size: 2}
}

func TestList(t *testing.T) {
	const day = "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/"
	tests := []struct {
		dir         string
		dirs, files []string
		pages       int
	}{
		{"", []string{"AWSLogs/"}, []string{"AWSLogs0", "README.txt", "a.json"}, 2},
		{"AWSLogs/", []string{"AWSLogs/111122223333/", "AWSLogs/o-abc123defg/"}, []string{"AWSLogs/x.json"}, 2},
		{"AWSLogs/111122223333/", []string{
			"AWSLogs/111122223333/CloudTrail-Digest/", "AWSLogs/111122223333/CloudTrail-Insight/", "AWSLogs/111122223333/CloudTrail/",
		}, nil, 2},
		{"AWSLogs/111122223333/CloudTrail/", []string{
			"AWSLogs/111122223333/CloudTrail/eu-west-1/", "AWSLogs/111122223333/CloudTrail/us-east-1/",
		}, nil, 1},
		{day, nil, []string{
			day + "111122223333_CloudTrail_eu-west-1_20261120T1205Z_a.json.gz",
			day + "111122223333_CloudTrail_eu-west-1_20261120T1210Z_b.json.gz",
			day + "111122223333_CloudTrail_eu-west-1_20261120T1215Z_c.json.gz",
			day + "111122223333_CloudTrail_eu-west-1_20261120T1220Z_d.json.gz",
			day + "111122223333_CloudTrail_eu-west-1_20261120T1225Z_e.json.gz",
		}, 3},
		{"AWSLogs/999999999999/", nil, nil, 1},
	}
	for _, tt := range tests {
		t.Run("/"+tt.dir, func(t *testing.T) {
			f := newFake(t)
			dirs, files, err := Tree{API: f, Bucket: "trail-bucket"}.List(context.Background(), tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(dirs, tt.dirs) || !slices.Equal(files, tt.files) {
				t.Errorf("List(%q) =\n%q\n%q\nwant\n%q\n%q", tt.dir, dirs, files, tt.dirs, tt.files)
			}
			if len(f.lists) != tt.pages {
				t.Errorf("%d pages, want %d", len(f.lists), tt.pages)
			}
			for i, in := range f.lists {
				if aws.ToString(in.Prefix) != tt.dir || (i == 0) != (in.ContinuationToken == nil) {
					t.Errorf("call %d: prefix %q, token %v", i, aws.ToString(in.Prefix), in.ContinuationToken)
				}
			}
		})
	}
}

func TestListError(t *testing.T) {
	denied := errors.New("AccessDenied: Access Denied")
	for _, at := range []int{1, 2, 3} { // the first page, or a later one
		t.Run(fmt.Sprint("page ", at), func(t *testing.T) {
			f := newFake(t)
			f.failAt, f.err = at, denied
			dirs, files, err := Tree{API: f, Bucket: "trail-bucket"}.List(context.Background(), "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/")
			if !errors.Is(err, denied) || dirs != nil || files != nil {
				t.Fatalf("List = %q, %q, %v; want only the error", dirs, files, err)
			}
			if want := "list s3://trail-bucket/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/: AccessDenied"; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q, want it to begin %q", err, want)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	f := newFake(t)
	tr := Tree{API: f, Bucket: "trail-bucket"}
	rc, err := tr.Open(context.Background(), "AWSLogs/x.json")
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	if err != nil || string(data) != "content of AWSLogs/x.json" {
		t.Errorf("read %q, %v", data, err)
	}
	if err := rc.Close(); err != nil || f.closed != 1 {
		t.Errorf("Close: %v, %d bodies closed", err, f.closed)
	}

	var missing *types.NoSuchKey
	if _, err := tr.Open(context.Background(), "AWSLogs/none.json"); !errors.As(err, &missing) || !strings.HasPrefix(err.Error(), "get: ") {
		t.Errorf("Open of a missing key: %v", err)
	}
	f.err = errors.New("boom")
	if _, err := tr.Open(context.Background(), "AWSLogs/x.json"); !errors.Is(err, f.err) {
		t.Errorf("Open: %v, want boom", err)
	}
}

func TestName(t *testing.T) {
	tr := Tree{Bucket: "trail-bucket"}
	for p, want := range map[string]string{
		"":                            "s3://trail-bucket/",
		"AWSLogs/":                    "s3://trail-bucket/AWSLogs/",
		"AWSLogs/111122223333/x.json": "s3://trail-bucket/AWSLogs/111122223333/x.json",
	} {
		if got := tr.Name(p); got != want {
			t.Errorf("Name(%q) = %q, want %q", p, got, want)
		}
	}
}

// TestScan: a scan of a bucket through Tree, listed page by page, is
// pruned by the layout and the filter.
func TestScan(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "events", "authorize-ingress-world-ssh.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Detail map[string]any `json:"detail"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	f := newFake(t)
	for k := range f.objects {
		if strings.HasSuffix(k, "/") {
			continue
		}
		// Each object: a log file whose one record has its key for id.
		r := ev.Detail
		r["eventID"], r["awsRegion"] = k, "eu-west-1"
		if strings.Contains(k, "us-east-1") {
			r["awsRegion"] = "us-east-1"
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		f.objects[k] = `{"Records":[` + string(b) + `]}`
	}
	trees := func(_ context.Context, url string) (scan.Tree, string, error) {
		b, p, err := Parse(url)
		return Tree{API: f, Bucket: b}, p, err
	}
	sc := &scan.Scanner{
		Pipeline: pipeline.Pipeline{Format: report.JSON},
		Filter:   scan.Filter{Regions: []string{"eu-west-1"}, Accounts: []string{"111122223333"}},
		Workers:  3,
		S3:       trees,
	}
	var got []string
	st := sc.Run(context.Background(), []string{"s3://trail-bucket/AWSLogs"}, func(e scan.Event) {
		if e.Err != nil || e.Result == nil {
			t.Errorf("%s: %v", e.Source, e.Err)
			return
		}
		if id := e.Result.Finding.Event.ID; e.Source != "s3://trail-bucket/"+id {
			t.Errorf("finding %s from %s", id, e.Source)
		}
		got = append(got, e.Source)
	})
	const day = "s3://trail-bucket/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/"
	want := []string{
		"s3://trail-bucket/AWSLogs/x.json", // outside the layout
		day + "111122223333_CloudTrail_eu-west-1_20261120T1205Z_a.json.gz",
		day + "111122223333_CloudTrail_eu-west-1_20261120T1210Z_b.json.gz",
		day + "111122223333_CloudTrail_eu-west-1_20261120T1215Z_c.json.gz",
		day + "111122223333_CloudTrail_eu-west-1_20261120T1220Z_d.json.gz",
		day + "111122223333_CloudTrail_eu-west-1_20261120T1225Z_e.json.gz",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings from\n%q\nwant\n%q", got, want)
	}
	// Pruned: o-…/444455556666 and us-east-1; skipped: the digest and
	// Insights folders.
	if st.Sources != 6 || st.Filtered != 2 || st.Digests != 1 || st.NotLogs != 1 || st.Errors != 0 {
		t.Errorf("stats %+v", st)
	}
	if f.closed != 6 {
		t.Errorf("%d bodies closed, want 6", f.closed)
	}
	var listed []string
	for _, in := range f.lists {
		if in.ContinuationToken == nil {
			listed = append(listed, aws.ToString(in.Prefix))
		}
	}
	for _, p := range listed {
		if strings.Contains(p, "us-east-1") || strings.Contains(p, "444455556666") || strings.Contains(p, "CloudTrail-") {
			t.Errorf("listed %s, which the scan prunes", p)
		}
	}
	if !slices.Contains(listed, strings.TrimPrefix(day, "s3://trail-bucket/")) {
		t.Errorf("listed %q, not the day's folder", listed)
	}
}
