package scan

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/pipeline"
	"github.com/sgwatch/sgwatch/report"
)

// logFiles writes files log files of n records each into dir, about one
// in 33 a security-group call, from the repository's samples.
func logFiles(tb testing.TB, dir string, files, n int, gz bool) int64 {
	tb.Helper()
	var sg, other [][]byte
	paths, _ := filepath.Glob("../events/*.json")
	more, _ := filepath.Glob("../testdata/cloudtrail/*/*.json")
	for _, p := range append(paths, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		var v map[string]json.RawMessage
		if err := json.Unmarshal(data, &v); err != nil {
			tb.Fatal(err)
		}
		if d, ok := v["detail"]; ok {
			data = d
		}
		var c bytes.Buffer
		json.Compact(&c, data)
		if b, _ := detect.Parse(data, detect.Scoring{}); len(b.Findings) > 0 {
			sg = append(sg, c.Bytes())
		} else {
			other = append(other, c.Bytes())
		}
	}
	var total int64
	for i := range files {
		var b bytes.Buffer
		b.WriteString(`{"Records":[`)
		for j := range n {
			if j > 0 {
				b.WriteByte(',')
			}
			if (i*n+j)%33 == 0 {
				b.Write(sg[(i*n+j)/33%len(sg)])
			} else {
				b.Write(other[(i*n+j)%len(other)])
			}
		}
		b.WriteString("]}")
		total += int64(b.Len())
		name := filepath.Join(dir, fmt.Sprintf("111122223333_CloudTrail_eu-west-1_20260901T%02d%02dZ_x.json", i/60, i%60))
		data := b.Bytes()
		if gz {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(data)
			zw.Close()
			data, name = z.Bytes(), name+".gz"
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return total
}

func benchmarkScan(b *testing.B, gz bool) {
	dir := b.TempDir()
	size := logFiles(b, dir, 8, 5000, gz)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		sc := &Scanner{Pipeline: pipeline.Pipeline{Format: report.JSON}}
		st := sc.Run(context.Background(), []string{dir}, func(Event) {})
		if st.Errors > 0 || st.Calls == 0 {
			b.Fatalf("%+v", st)
		}
	}
}

// BenchmarkScanPlain and BenchmarkScanGzip: a whole scan of 8 log files of
// 5,000 records (3% security-group calls), rendered as JSON.
func BenchmarkScanPlain(b *testing.B) { benchmarkScan(b, false) }
func BenchmarkScanGzip(b *testing.B)  { benchmarkScan(b, true) }
