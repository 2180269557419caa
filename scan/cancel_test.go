package scan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/pipeline"
	"github.com/sgwatch/sgwatch/report"
)

// TestCancelEnds: a scan whose context is cancelled from its own emit (the
// command line does so when stdout fails) returns, every time.
func TestCancelEnds(t *testing.T) {
	dir := t.TempDir()
	for i := range 20 {
		rec := sgRecord(t, fmt.Sprint(i), "2026-11-20T12:00:00Z", "111122223333", "eu-west-1")
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d.json", i)), logOf(rec), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for run := range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := &Scanner{Pipeline: pipeline.Pipeline{Format: report.JSON}, Workers: 1 + run%3}
			sc.Run(ctx, []string{dir}, func(Event) { cancel() })
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d: Run did not return after its context was cancelled", run)
		}
		cancel()
	}
}
