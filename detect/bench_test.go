package detect

import (
	"github.com/sgwatch/sgwatch/cloudtrail"

	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func benchInput(b *testing.B, path string) []byte {
	b.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkParse is the per-invocation cost of detection: an EventBridge
// event with a critical finding, and a record of another call, dropped.
func BenchmarkParse(b *testing.B) {
	for _, c := range []struct {
		name, path string
		findings   int
	}{
		{"event", "../events/authorize-ingress-world-ssh.json", 1},
		{"not-security-group", "../testdata/cloudtrail/stratus-red-team/RunInstances-1.json", 0},
	} {
		b.Run(c.name, func(b *testing.B) {
			data := benchInput(b, c.path)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if fs, err := parse(data); err != nil || len(fs) != c.findings {
					b.Fatal(fs, err)
				}
			}
		})
	}
}

// BenchmarkParseLogFile is the batch mode: a gzip CloudTrail log file of
// 1,000 records, every real record in testdata repeated.
func BenchmarkParseLogFile(b *testing.B) {
	files, _ := filepath.Glob("../testdata/cloudtrail/*/*.json")
	var recs [][]byte
	for _, f := range files {
		recs = append(recs, benchInput(b, f))
	}
	var log bytes.Buffer
	log.WriteString(`{"Records":[`)
	for i := 0; i < 1000; i++ {
		if i > 0 {
			log.WriteByte(',')
		}
		log.Write(recs[i%len(recs)])
	}
	log.WriteString("]}")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(log.Bytes())
	zw.Close()
	b.SetBytes(int64(log.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse(gz.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/record")
}

// BenchmarkManyRules is one authorize of 20,000 rules with their ids in the
// response: matching request and response rules is linear (issue 8, item 5).
func BenchmarkManyRules(b *testing.B) {
	data := manyRules(20000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if fs, err := parse(data); err != nil || len(fs[0].Rules) != 20000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkWholeInternetSplit is one authorize of the whole IPv4 internet
// in 65,536 /16s: measuring it and naming each rule's partners is linear.
func BenchmarkWholeInternetSplit(b *testing.B) {
	var ranges []string
	for i := range 1 << 16 {
		ranges = append(ranges, fmt.Sprintf(`{"cidrIp":"%d.%d.0.0/16"}`, i>>8, i&255))
	}
	data := []byte(`{"eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","requestParameters":{"groupId":"sg-0123456789abcdef0",
"ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[` + strings.Join(ranges, ",") + `]}}]}}}`)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if fs, err := parse(data); err != nil || fs[0].Severity != Critical {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecord is the scan's cost per security-group call: each record
// read as a log file's record (decode, analyze, score). "samples" are the
// sample events (built to show hard cases), "public" the public records.
func BenchmarkRecord(b *testing.B) {
	for _, c := range []struct{ name, glob string }{
		{"samples", "../events/*.json"},
		{"public", "../testdata/cloudtrail/*/*.json"},
	} {
		b.Run(c.name, func(b *testing.B) {
			files, _ := filepath.Glob(c.glob)
			var recs [][]byte
			for _, f := range files {
				data := benchInput(b, f)
				var top struct{ Detail json.RawMessage }
				if err := json.Unmarshal(data, &top); err != nil {
					b.Fatal(err)
				}
				if top.Detail == nil {
					top.Detail = data
				}
				if fs, _ := parse(data); len(fs) > 0 {
					recs = append(recs, top.Detail)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, r := range recs {
					in, _ := cloudtrail.ReadBytes(r, nil)
					rec, err := in.Next()
					if err != nil {
						b.Fatal(err)
					}
					if _, ok := Analyze(&rec, Scoring{}); !ok {
						b.Fatal("no finding")
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
		})
	}
}

// BenchmarkReader is the scan's cost per byte of a log file that holds no
// security-group call: splitting it into records and the pre-filter.
func BenchmarkReader(b *testing.B) {
	var log bytes.Buffer
	log.WriteString(`{"Records":[`)
	files, _ := filepath.Glob("../testdata/cloudtrail/*/*.json")
	for i := 0; log.Len() < 32<<20; i++ {
		data := benchInput(b, files[i%len(files)])
		if fs, _ := parse(data); len(fs) > 0 {
			continue
		}
		if i > 0 {
			log.WriteByte(',')
		}
		json.Compact(&log, data)
	}
	log.WriteString("]}")
	b.SetBytes(int64(log.Len()))
	for b.Loop() {
		in, _ := cloudtrail.ReadBytes(log.Bytes(), MayBeCall)
		for {
			rec, err := in.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if !rec.Skip {
				b.Fatal("a call")
			}
		}
	}
}
