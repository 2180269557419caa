// Command gen writes CloudTrail log files for the scan benchmark
// (bench/scan.sh): FILES files of RECORDS records each, about 3% of them
// security-group calls, built from the repository's sample events and
// public records (events/, testdata/cloudtrail/) with fresh ids and times,
// compact as CloudTrail writes them; plain (.json) or gzip (.json.gz).
//
//	go run ./bench/gen -out DIR [-files 40] [-records 5000] [-sg 0.03] [-gzip] [-seed 1]
//	go run ./bench/gen -jq   (the jq filter for the same calls)
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/sgwatch/sgwatch/detect"
)

func main() {
	out := flag.String("out", "", "output `directory`")
	files := flag.Int("files", 40, "log files")
	records := flag.Int("records", 5000, "records per file")
	share := flag.Float64("sg", 0.03, "share of security-group calls")
	gz := flag.Bool("gzip", false, "write .json.gz")
	seed := flag.Uint64("seed", 1, "random seed")
	root := flag.String("repo", ".", "the repository, for its samples")
	jq := flag.Bool("jq", false, "print the jq filter that selects the security-group calls a scan prints, and exit")
	flag.Parse()
	if *jq {
		// The calls are detect's: one home for the list. An attach call is
		// judged only with live context, so a scan of files prints none.
		var printed []string
		for _, name := range detect.Calls() {
			if c, _ := detect.Lookup(name); !c.LiveOnly() {
				printed = append(printed, name)
			}
		}
		names, _ := json.Marshal(printed)
		fmt.Printf(".Records[] | select(.eventSource == %q and (.eventName | IN(%s[])))\n", detect.EventSource, names)
		return
	}
	if *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	sg, other, err := templates(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	r := rand.New(rand.NewPCG(*seed, 7))
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	for i := range *files {
		delivered := start.Add(time.Duration(i) * 5 * time.Minute)
		name := fmt.Sprintf("111122223333_CloudTrail_eu-west-1_%s_%016x.json", delivered.Format("20060102T1504Z"), r.Uint64())
		if *gz {
			name += ".gz"
		}
		if err := write(filepath.Join(*out, name), *gz, func(w io.Writer) error {
			if _, err := io.WriteString(w, `{"Records":[`); err != nil {
				return err
			}
			for j := range *records {
				t := sg
				if r.Float64() >= *share {
					t = other
				}
				rec := t[r.IntN(len(t))]
				rec["eventID"] = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff)
				rec["eventTime"] = delivered.Add(-time.Duration(r.IntN(300)) * time.Second).Format(time.RFC3339)
				// CloudTrail does not escape <, > and & as \u003c….
				var buf bytes.Buffer
				enc := json.NewEncoder(&buf)
				enc.SetEscapeHTML(false)
				if err := enc.Encode(rec); err != nil {
					return err
				}
				b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
				if j > 0 {
					w.Write([]byte(","))
				}
				if _, err := w.Write(b); err != nil {
					return err
				}
				n++
			}
			_, err := io.WriteString(w, "]}")
			return err
		}); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
	fmt.Fprintf(os.Stderr, "gen: %d records in %d files under %s\n", n, *files, *out)
}

func write(path string, gz bool, body func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var w io.Writer = bw
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(bw)
		w = zw
	}
	err = body(w)
	if zw != nil && err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// templates reads the samples: the records of security-group calls and of
// other calls (EventBridge events are unwrapped to their record).
func templates(root string) (sg, other []map[string]any, err error) {
	var paths []string
	for _, g := range []string{"events/*.json", "testdata/cloudtrail/*/*.json"} {
		m, _ := filepath.Glob(filepath.Join(root, g))
		paths = append(paths, m...)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		var v map[string]any
		if err := json.NewDecoder(bytes.NewReader(data)).Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		if d, ok := v["detail"].(map[string]any); ok {
			v = d
		}
		b, _ := detect.Parse(data, detect.Scoring{})
		fs := b.Findings
		if len(fs) > 0 {
			sg = append(sg, v)
		} else {
			other = append(other, v)
		}
	}
	if len(sg) == 0 || len(other) == 0 {
		return nil, nil, fmt.Errorf("no samples under %s", root)
	}
	return sg, other, nil
}
