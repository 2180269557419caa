//go:build e2e

package e2e

import (
	"debug/buildinfo"
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sgwatch/sgwatch/emulate"
)

// The components, installed and passed in by "make e2e". A missing one
// fails the run: these tests never skip.
var (
	rieBin       = flag.String("rie", "", "aws-lambda-rie binary")
	motoBin      = flag.String("moto", "", "moto_server script")
	samBin       = flag.String("sam", "", "sam (AWS SAM CLI)")
	checkovBin   = flag.String("checkov", "", "checkov")
	bootstrapBin = flag.String("bootstrap", "", "bootstrap built for this host's architecture as sam build builds it")
	workerBin    = flag.String("worker", "", "the sweep worker's bootstrap (cmd/sgwatch-sweep), built as -bootstrap")
	cliBin       = flag.String("cli", "", "sgwatch built for this host as the command line (without the Lambda build's tags)")
	goflags      = flag.String("goflags", "", "the GOFLAGS the Lambda binary is built with (LAMBDA_GOFLAGS in the Makefile)")
)

// moto is the server shared by the tests; each test resets it.
var moto *emulate.Moto

func TestMain(m *testing.M) {
	flag.Parse()
	for name, path := range map[string]string{"-rie": *rieBin, "-moto": *motoBin, "-sam": *samBin, "-checkov": *checkovBin, "-bootstrap": *bootstrapBin, "-worker": *workerBin, "-cli": *cliBin} {
		if path == "" {
			fmt.Fprintf(os.Stderr, "e2e: %s not given; run the end-to-end tests with \"make e2e\"\n", name)
			os.Exit(2)
		}
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %s: %v\n", name, err)
			os.Exit(2)
		}
	}
	if !strings.Contains(*goflags, "-tags=lambda.norpc") {
		fmt.Fprintf(os.Stderr, "e2e: -goflags %q does not build with lambda.norpc\n", *goflags)
		os.Exit(2)
	}
	var err error
	if moto, err = emulate.StartMoto(*motoBin); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	code := m.Run()
	moto.Stop()
	os.Exit(code)
}

// zipLimit is the size sgwatch holds its deployment zip to (the project's
// standing budget): what users upload and Lambda fetches at a cold start.
// Lambda allows far more (50 MB zipped, 250 MB unzipped). The first
// invocation's budget is measured by bench/coldstart.sh.
const zipLimit = 6_000_000

// checkBootstrap checks that path is a Lambda bootstrap built as sgwatch
// ships it: a linux ELF for goarch, statically linked, stripped, built with
// CGO off, -trimpath and the lambda.norpc tag. It returns the file's size.
func checkBootstrap(t *testing.T, path, goarch string) int64 {
	t.Helper()
	machines := map[string]elf.Machine{"arm64": elf.EM_AARCH64, "amd64": elf.EM_X86_64}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	if want, ok := machines[goarch]; !ok || f.Machine != want {
		t.Errorf("%s: machine %v, want %s", path, f.Machine, goarch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s: dynamically linked (%v), want static", path, p.Type)
		}
	}
	for _, s := range []string{".symtab", ".debug_info", ".zdebug_info"} {
		if f.Section(s) != nil {
			t.Errorf("%s: has %s, want stripped", path, s)
		}
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: build info: %v", path, err)
	}
	got := map[string]string{}
	for _, s := range bi.Settings {
		got[s.Key] = s.Value
	}
	for key, want := range map[string]string{"GOOS": "linux", "GOARCH": goarch, "CGO_ENABLED": "0", "-trimpath": "true"} {
		if got[key] != want {
			t.Errorf("%s: built with %s=%q, want %q", path, key, got[key], want)
		}
	}
	if !strings.Contains(got["-tags"], "lambda.norpc") {
		t.Errorf("%s: built with -tags=%q, want lambda.norpc", path, got["-tags"])
	}
	// -ldflags=-s is checked above by the missing .symtab: with -trimpath,
	// Go leaves -ldflags out of the build info.
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
