package report

import (
	"os"
	"testing"

	"github.com/sgwatch/sgwatch/detect"
)

func benchFinding(b *testing.B) detect.Finding {
	data, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		b.Fatal(err)
	}
	batch, err := detect.Parse(data, detect.Scoring{})
	fs := batch.Findings
	if err != nil || len(fs) != 1 {
		b.Fatal(fs, err)
	}
	return fs[0]
}

// BenchmarkRender is the per-finding cost of building the notification.
func BenchmarkRender(b *testing.B) {
	f := benchFinding(b)
	for _, format := range []Format{Text, JSON} {
		b.Run(string(format), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Render(f, format); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRenderWide is the cost of fitting a finding too large for one
// SNS message: 1,500 rules, reasons and notes.
func BenchmarkRenderWide(b *testing.B) {
	f := wide(1500)
	for _, format := range []Format{Text, JSON} {
		b.Run(string(format), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n, err := Render(f, format)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(len(n.Body)), "body-bytes")
			}
		})
	}
}
