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
	fs, err := detect.Parse(data)
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
