package scan

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/sgwatch/sgwatch/pipeline"
	"github.com/sgwatch/sgwatch/report"
)

// TestLinksAndSpecialFiles: in a walked directory, a link to a folder is
// followed (a loop of links ends), and a dangling link or a named pipe
// with a log's name is an error, never a silence nor a hang.
func TestLinksAndSpecialFiles(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "real", "sub")
	if err := os.MkdirAll(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(real, "a.json"), logOf(sgRecord(t, "linked", "2026-11-20T12:00:00Z", "111122223333", "eu-west-1")), 0o644); err != nil {
		t.Fatal(err)
	}
	walked := filepath.Join(root, "walked")
	os.MkdirAll(walked, 0o755)
	for _, l := range []struct{ target, name string }{
		{filepath.Join(root, "real"), "AWSLogs"}, // a folder, through a link
		{walked, "loop"},                         // a loop back to the walked folder
		{filepath.Join(root, "gone"), "x.json"},  // leads nowhere
	} {
		if err := os.Symlink(l.target, filepath.Join(walked, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(walked, "pipe.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	sc := &Scanner{Pipeline: pipeline.Pipeline{Format: report.JSON}}
	var ids, errs []string
	st := sc.Run(context.Background(), []string{walked}, func(e Event) {
		switch {
		case e.Err != nil:
			errs = append(errs, filepath.Base(e.Source)+": "+e.Err.Error())
		case e.Result != nil:
			ids = append(ids, e.Result.Finding.Event.ID)
		}
	})
	sort.Strings(errs)
	if len(ids) != 1 || ids[0] != "linked" {
		t.Errorf("findings %q, want the one through the link, once", ids)
	}
	if len(errs) != 2 || !strings.HasPrefix(errs[0], "pipe.json: not a regular file") || !strings.HasPrefix(errs[1], "x.json: ") {
		t.Errorf("errors %q, want the pipe and the dangling link", errs)
	}
	if st.Errors != 2 {
		t.Errorf("Stats.Errors %d, want 2", st.Errors)
	}
}
