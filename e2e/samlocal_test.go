//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/emulate"
)

// The markers the function writes around a notification under "sam local"
// without a topic (handler/local.go).
const (
	localBegin = "----- sgwatch notification (sam local: NOT published) -----\n"
	localEnd   = "----- end of sgwatch notification -----\n"
)

// TestSAMLocalInvoke runs "sam local invoke -e events/NAME.json" on every
// sample event, as a user would, with no env file: under Docker (a dockerd
// of the test's own unless one answers), from the bootstrap sam build makes
// for the template's architecture (arm64 under qemu on other hosts). SAM
// resolves the topic to its logical id, so the function runs in its local
// mode: each notification it prints must equal the reviewed golden one,
// and the event that is not a security-group change prints none, as do
// the attach calls (sam local makes no AWS call, so no live context). SAM exits
// 0 even when the function fails, so the output is what is judged.
func TestSAMLocalInvoke(t *testing.T) {
	var bins [3]string
	for i, name := range []string{"dockerd", "docker", "busybox"} {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s is not installed (make docker-tools installs docker.io and busybox-static): %v", name, err)
		}
		bins[i] = p
	}
	dockerd, docker, busybox := bins[0], bins[1], bins[2]
	arch := readTemplate(t).Resources.Function.Properties.Architectures[0]
	goarch := map[string]string{"arm64": "arm64", "x86_64": "amd64"}[arch]
	if goarch == "arm64" && runtime.GOARCH != "arm64" {
		if _, err := os.Stat("/proc/sys/fs/binfmt_misc/qemu-aarch64"); err != nil {
			t.Fatalf("the template is arm64 and this host %s: qemu-aarch64 is not registered in binfmt_misc (make docker-tools registers it): %v", runtime.GOARCH, err)
		}
	}

	start := time.Now()
	// Our dockerd's userland proxy waits for the emulator in a container
	// to listen (emulate/dockerproxy): Docker's own closes a connection
	// that comes sooner, and SAM gives it about 0.7 s.
	proxy := filepath.Join(t.TempDir(), "dockerproxy")
	if out, err := exec.Command("go", "build", "-o", proxy, "../emulate/dockerproxy").CombinedOutput(); err != nil {
		t.Fatalf("build emulate/dockerproxy: %v\n%s", err, out)
	}
	d, err := emulate.StartDocker(dockerd, t.TempDir(), emulate.LambdaBaseImage(arch), proxy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	if err := d.ImportLambdaBase(docker, busybox, "/etc/ssl/certs/ca-certificates.crt", arch); err != nil {
		t.Fatal(err)
	}
	ready := time.Since(start)

	build := t.TempDir()
	tool(t, []string{"CGO_ENABLED=0", "GOFLAGS=" + *goflags}, *samBin, "build", "--template-file", "template.yaml", "--build-dir", build)
	events, err := filepath.Glob("../events/*.json")
	if err != nil || len(events) < 20 {
		t.Fatalf("%d sample events, %v", len(events), err)
	}
	// The first invoke builds SAM's runtime image; the others run two at a
	// time (the machine has two cores).
	outs := make([]string, len(events))
	took := make([]time.Duration, len(events))
	errs := make([]error, len(events))
	invoke := func(i int) {
		t0 := time.Now()
		outs[i], errs[i] = samLocalInvoke(d, build, events[i])
		took[i] = time.Since(t0)
	}
	invoke(0)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				invoke(i)
			}
		}()
	}
	for i := 1; i < len(events); i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	printed := 0
	for i, path := range events {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		out := outs[i]
		if errs[i] != nil {
			t.Errorf("events/%s.json: %v\ndockerd (its last 30 lines):\n%s", name, errs[i], lastLines(d.Output(), 30))
			continue
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("events/%s.json: %s\nsam local invoke printed:\n%s", name, fmt.Sprintf(format, args...), out)
		}
		for _, bad := range []string{"Runtime exited with error", "Invoke Error", `"errorType"`, "Sandbox.Failure"} {
			if strings.Contains(out, bad) {
				fail("the function failed (%s)", bad)
			}
		}
		if !strings.Contains(out, "END RequestId:") {
			fail("no END line: the invocation did not finish")
		}
		golden, err := os.ReadFile(filepath.Join("..", "report", "testdata", "golden", "events_"+name+".txt"))
		switch {
		case os.IsNotExist(err): // not a security-group change, or an attach call (judged only with live context)
			if strings.Contains(out, localBegin) || !strings.Contains(out, "not a security-group change; nothing published") &&
				!strings.Contains(out, "is judged only with live context (ENRICH=true), and there was none") {
				fail("want no notification and the log line that says why")
			}
		case err != nil:
			t.Fatal(err)
		case strings.Count(out, localBegin) != 1 || !strings.Contains(out, localBegin+string(golden)+localEnd):
			fail("want exactly one notification, equal to report/testdata/golden/events_%s.txt", name)
		case !strings.Contains(out, "sam local: nothing was published") || !strings.Contains(out, "--parameter-overrides ExistingTopicArn="):
			fail("no log line saying nothing was published and how to publish")
		default:
			printed++
		}
	}
	var later time.Duration
	for _, d := range took[1:] {
		later += d
	}
	t.Logf("sam local: %d events invoked with sam local invoke under Docker (linux/%s, no env file): %d notifications equal to the golden ones, %d printed none; docker and image ready in %.1f s, first invoke %.1f s, later %.1f s on average (two at a time), %.0f s in all",
		len(events), goarch, printed, len(events)-printed, ready.Seconds(), took[0].Seconds(), later.Seconds()/float64(len(took)-1), time.Since(start).Seconds())
}

// samNoResponse is what SAM logs when its three requests to the emulator
// in the container (within about 0.7 s of starting it) all failed, and
// then hangs until killed. Our dockerd's proxy (emulate/dockerproxy) waits
// for the emulator, so this means the container never answered.
const samNoResponse = "No response from invoke container"

// samLocalInvoke runs sam local invoke on one event with the built
// template, and returns everything it printed; it stops SAM as soon as SAM
// says it had no response from the container, an error.
func samLocalInvoke(d *emulate.Docker, build, event string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, *samBin, "local", "invoke", "SgwatchFunction", "--template", filepath.Join(build, "template.yaml"),
		"--event", filepath.Join("events", filepath.Base(event)), "--skip-pull-image", "--region", "eu-west-1")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "SAM_CLI_TELEMETRY=0", "DOCKER_HOST="+d.Host)
	out := &watched{stop: cancel}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	if strings.Contains(out.String(), samNoResponse) {
		err = errors.New(samNoResponse)
	}
	if err != nil {
		return "", fmt.Errorf("sam local invoke: %w\n%s", err, out.String())
	}
	return out.String(), nil
}

// watched collects what a process prints, and calls stop once it has
// printed samNoResponse.
type watched struct {
	mu   sync.Mutex
	b    bytes.Buffer
	stop func()
}

func (w *watched) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if bytes.Contains(w.b.Bytes(), []byte(samNoResponse)) {
		w.stop()
	}
	return len(p), nil
}

func (w *watched) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "")
}
