package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestAdversarialInputs runs the command line over every row of
// testdata/adversarial/README.md: inputs that once made a critical change
// quiet, each with what the output must and must not hold.
func TestAdversarialInputs(t *testing.T) {
	rows := adversarialRows(t)
	if len(rows) == 0 {
		t.Fatal("testdata/adversarial/README.md has no rows")
	}
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.file] = true
		t.Run(r.file+"/"+r.format, func(t *testing.T) {
			env := []string{"AWS_LAMBDA_RUNTIME_API="}
			env = append(env, strings.Fields(r.env)...)
			out, errs, code := sgwatch(t, env, "-format", r.format, filepath.Join("testdata", "adversarial", r.file))
			all := out + errs
			if code != r.exit {
				t.Errorf("exit %d, want %d; stderr %q", code, r.exit, errs)
			}
			for _, s := range r.contains {
				if !strings.Contains(all, s) {
					t.Errorf("output lacks %q:\n%s", s, clip(all))
				}
			}
			for _, s := range r.lacks {
				if strings.Contains(all, s) {
					t.Errorf("output holds %q:\n%s", s, clip(all))
				}
			}
		})
	}
	// Every input in the folder has a row, so none is kept untested.
	files, err := os.ReadDir(filepath.Join("testdata", "adversarial"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Name() != "README.md" && !seen[f.Name()] {
			t.Errorf("testdata/adversarial/%s has no row in README.md", f.Name())
		}
	}
}

type adversarialRow struct {
	file, env, format string
	exit              int
	contains, lacks   []string
}

var quoted = regexp.MustCompile("`([^`]+)`")

func adversarialRows(t *testing.T) []adversarialRow {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "adversarial", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []adversarialRow
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		line := s.Text()
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| file ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 7 {
			t.Fatalf("README row has %d cells, want 7: %s", len(cells), line)
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		code, err := strconv.Atoi(cells[3])
		if err != nil {
			t.Fatalf("README row exit %q: %v", cells[3], err)
		}
		r := adversarialRow{file: cells[0], env: cells[1], format: cells[2], exit: code}
		for _, m := range quoted.FindAllStringSubmatch(cells[4], -1) {
			r.contains = append(r.contains, m[1])
		}
		for _, m := range quoted.FindAllStringSubmatch(cells[5], -1) {
			r.lacks = append(r.lacks, m[1])
		}
		if len(r.contains) == 0 {
			t.Fatalf("README row checks nothing: %s", line)
		}
		rows = append(rows, r)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}
