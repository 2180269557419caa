package main

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// layers is the shape of sgwatch, lowest first: each package imports
// only packages of lower layers (the standard library and modules aside).
// A new package must be placed here: the test fails on one it does not
// know. docs/architecture.md describes each.
var layers = [][]string{
	// Leaf packages: shared facts, importing nothing of sgwatch.
	{"awsid", "clean", "addrspace"},
	// The one reader of CloudTrail input.
	{"cloudtrail"},
	// What a call did: the calls table, findings, scoring, undo.
	{"detect"},
	// Decide, add live context, render; the stores.
	{"policy", "enrich", "accounts", "report", "claim"},
	// One path from input to notification; the sinks and the sweep.
	{"pipeline", "hub", "sweep", "memory", "revert"},
	// The adapters: the Lambda handler and the scan of history.
	{"handler", "scan"},
	{"function"},
	{"bucket", "coverage", "athena"},
	{"history"},
	{"cli"},
	// Commands: wiring only.
	{"", "cmd/sgwatch-local", "cmd/sgwatch-sweep", "bench/gen", "bench/coldstart/hellosns"},
}

// testSupport are the packages only tests and development commands use;
// they import nothing of sgwatch, and no production package imports them.
var testSupport = []string{"emulate", "emulate/dockerproxy", "internal/samples", "e2e"}

const module = "github.com/sgwatch/sgwatch"

// TestLayers holds every package of the module to its layer, with go list:
// the leaf packages import nothing of sgwatch, the reader neither scoring
// nor rendering, and no package imports one above it.
func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	layer := map[string]int{}
	for i, l := range layers {
		for _, p := range l {
			layer[p] = i
		}
	}
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		var own []string
		for _, imp := range fields[1:] {
			if imp == module || strings.HasPrefix(imp, module+"/") {
				own = append(own, strings.TrimPrefix(strings.TrimPrefix(imp, module), "/"))
			}
		}
		if slices.Contains(testSupport, pkg) {
			if len(own) > 0 {
				t.Errorf("test support package %s imports %q: it must import nothing of sgwatch", fields[0], own)
			}
			continue
		}
		seen++
		at, ok := layer[pkg]
		if !ok {
			t.Errorf("package %s is in no layer: add it to layers in layers_test.go (and to docs/architecture.md)", fields[0])
			continue
		}
		for _, imp := range own {
			if slices.Contains(testSupport, imp) && pkg != "cmd/sgwatch-local" {
				t.Errorf("%s imports the test support package %s", fields[0], imp)
				continue
			}
			if il, ok := layer[imp]; ok && il >= at {
				t.Errorf("%s (layer %d) imports %s (layer %d): a package imports only lower layers", fields[0], at, imp, il)
			}
		}
	}
	if seen < 20 {
		t.Errorf("go list listed %d packages of sgwatch: want them all", seen)
	}
}
