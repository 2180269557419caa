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
				if fs, _ := parse(data); len(fs) > 0 || MayBeCall(data) {
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
// security-group call, nor the name of one: splitting it into records and
// the pre-filter.
func BenchmarkReader(b *testing.B) {
	var log bytes.Buffer
	log.WriteString(`{"Records":[`)
	files, _ := filepath.Glob("../testdata/cloudtrail/*/*.json")
	for i := 0; log.Len() < 32<<20; i++ {
		data := benchInput(b, files[i%len(files)])
		if fs, _ := parse(data); len(fs) > 0 || MayBeCall(data) {
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

// BenchmarkScoreLive is the cost of judging one change with live context
// at its largest: a call's public rule against a group of 60 rules on
// 1,000 network interfaces, each with four other groups of 60 rules (200
// distinct sets), and a prefix list of 1,000 entries named by one of them;
// every rule on the call's port (worst), or each on a port of its own.
func BenchmarkScoreLive(b *testing.B) {
	for _, c := range []struct {
		name string
		port func(i int) int
	}{{"same-port", func(int) int { return 22 }}, {"own-ports", func(i int) int { return 1024 + i }}} {
		b.Run(c.name, func(b *testing.B) { benchScoreLive(b, c.port) })
	}
}

func benchScoreLive(b *testing.B, portOf func(i int) int) {
	port := 22
	rule := func(i int, group string) Rule {
		p := portOf(i)
		return Rule{Direction: Ingress, Protocol: "tcp", FromPort: &p, ToPort: &p,
			CIDRIPv4: fmt.Sprintf("%d.%d.0.0/16", 11+i%200, i/200), RuleID: fmt.Sprintf("sgr-%017x", i), Description: group}
	}
	const group = "sg-00000000000000000"
	live := &Live{Groups: map[string][]Rule{}, Lists: map[string]PrefixList{}}
	for i := range 60 {
		live.Rules = append(live.Rules, rule(i, group))
	}
	var entries []string
	for i := range 1000 {
		entries = append(entries, fmt.Sprintf("100.%d.%d.0/24", i/250, i%250))
	}
	live.Lists["pl-00000000000000001"] = PrefixList{ID: "pl-00000000000000001", Name: "partners", Entries: entries}
	for g := range 200 {
		id := fmt.Sprintf("sg-%017x", g+1)
		for i := range 60 {
			live.Groups[id] = append(live.Groups[id], rule(g*60+i, id))
		}
	}
	live.Groups["sg-00000000000000001"][0] = Rule{Direction: Ingress, Protocol: "tcp", FromPort: &port, ToPort: &port, PrefixListID: "pl-00000000000000001"}
	for n := range 1000 {
		live.Interfaces = append(live.Interfaces, NetworkInterface{ID: fmt.Sprintf("eni-%017x", n),
			Groups: []string{group, fmt.Sprintf("sg-%017x", n%200+1), fmt.Sprintf("sg-%017x", (n+1)%200+1), fmt.Sprintf("sg-%017x", (n+2)%200+1), fmt.Sprintf("sg-%017x", (n+3)%200+1)}})
	}
	f := Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: "AuthorizeSecurityGroupIngress"}, SecurityGroup: SecurityGroup{ID: group},
		Rules: []Rule{{Direction: Ingress, Protocol: "tcp", FromPort: &port, ToPort: &port, CIDRIPv4: "80.0.0.0/5", RuleID: "sgr-0000000000000ffff"}}, Live: live}
	b.ReportAllocs()
	for b.Loop() {
		g := f
		Scoring{}.Score(&g)
	}
}

// BenchmarkMayBeCallManyNames is the pre-filter on a record that names an
// attach call 8,000 times without a groupSet (a DescribeInstances filter,
// say): it looks for the groupSet once, not once per name (4 s an op when
// each name rescanned the record).
func BenchmarkMayBeCallManyNames(b *testing.B) {
	raw := []byte(`{"eventName":"DescribeInstances","requestParameters":{"filterSet":[` +
		strings.Repeat(`"ModifyInstanceAttribute",`, 8000) + `"x"]}}`)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if MayBeCall(raw) {
			b.Fatal("MayBeCall is true for a record with no groupSet")
		}
	}
}
