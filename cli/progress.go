package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/sgwatch/sgwatch/scan"
)

// lines writes whole lines to stderr, clearing the progress line first
// when there is one.
type lines struct {
	mu       sync.Mutex
	w        io.Writer
	progress bool // a progress line is on the screen
}

func (l *lines) printf(format string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.progress {
		fmt.Fprint(l.w, "\r\x1b[K")
		l.progress = false
	}
	fmt.Fprintf(l.w, format, a...)
}

// status replaces the progress line.
func (l *lines) status(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprint(l.w, "\r\x1b[K"+s)
	l.progress = s != ""
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// progress shows the scan's progress on l every quarter second until the
// returned function is called, which clears it.
func progress(sc *scan.Scanner, l *lines, start time.Time) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				l.status("")
				return
			case now := <-t.C:
				l.status(progressLine(sc.Progress(), now.Sub(start)))
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// progressLine is one line of progress: sources, MB read, records per
// second, findings so far.
func progressLine(st scan.Stats, elapsed time.Duration) string {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(st.Records) / s
	}
	return fmt.Sprintf("sgwatch: %d sources, %.1f MB read, %.0f records/s, %d findings, %d errors",
		st.Sources, float64(st.Bytes)/1e6, rate, st.Findings, st.Errors)
}
