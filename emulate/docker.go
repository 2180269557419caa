package emulate

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Docker is a Docker daemon for "sam local": one that already answers, or a
// dockerd of our own with its own data root, exec root and socket, started
// in its own process group like the other processes of this package.
type Docker struct {
	// Host is the DOCKER_HOST value for clients ("unix:///…").
	Host string
	p    *Process // nil when the daemon was already running
}

// StartDocker returns the daemon at $DOCKER_HOST or the default socket if
// one answers and already holds image (the real Lambda base image: the
// stand-in is never written into someone's own Docker, where later builds
// would pick it up); otherwise it starts dockerd (the binary dockerd) with
// everything under dir, without touching the host's iptables, and waits
// until it answers.
//
// proxy, when not "", is the userland proxy our dockerd publishes ports
// with (package emulate/dockerproxy, built by the caller): one that waits
// for a container to listen instead of closing a connection it cannot pass
// on yet.
func StartDocker(dockerd, dir, image, proxy string) (*Docker, error) {
	for _, host := range []string{os.Getenv("DOCKER_HOST"), "unix:///var/run/docker.sock"} {
		if sock, ok := strings.CutPrefix(host, "unix://"); ok && ping(sock) == nil && get(sock, "/images/"+image+"/json") == nil {
			return &Docker{Host: host}, nil
		}
	}
	sock := filepath.Join(dir, "docker.sock")
	args := []string{
		"--data-root", filepath.Join(dir, "data"), "--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"), "-H", "unix://" + sock, "--iptables=false",
	}
	if proxy != "" {
		args = append(args, "--userland-proxy-path", proxy)
	}
	p, err := start("dockerd", dockerd, args, baseEnv())
	if err != nil {
		return nil, err
	}
	if err := p.waitFor(60*time.Second, func() error { return ping(sock) }); err != nil {
		p.Stop()
		return nil, err
	}
	return &Docker{Host: "unix://" + sock, p: p}, nil
}

// Stop stops our own dockerd (and containerd, which it started); a daemon
// that was already running is left alone.
func (d *Docker) Stop() {
	if d.p != nil {
		d.p.Stop()
	}
}

// Output is what our own dockerd logged ("" for one already running).
func (d *Docker) Output() string {
	if d.p == nil {
		return ""
	}
	return d.p.Output()
}

// ping asks the daemon at the unix socket sock whether it is up.
func ping(sock string) error { return get(sock, "/_ping") }

// get asks the daemon at the unix socket sock for path, and fails unless it
// answers 200.
func get(sock, path string) error {
	c := http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}},
	}
	resp, err := c.Get("http://docker" + path)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("docker %s: %s", path, resp.Status)
	}
	return nil
}

// LambdaBaseImage is the image SAM builds its runtime image from for
// provided.al2023 on arch ("arm64" or "x86_64").
func LambdaBaseImage(arch string) string { return "public.ecr.aws/lambda/provided:al2023-" + arch }

// ImportLambdaBase makes a stand-in for the Lambda base image SAM needs,
// when the daemon does not have the image: the real one cannot be pulled
// here. SAM only runs "mv" and "chmod" in it (through /bin/sh) and then
// starts its own runtime emulator, which runs the static bootstrap; so the
// stand-in holds static busybox with its applets, /var/task, /var/runtime,
// /tmp and the CA bundle from caBundle, nothing else. docker is the docker
// client.
func (d *Docker) ImportLambdaBase(docker, busybox, caBundle, arch string) error {
	name := LambdaBaseImage(arch)
	if d.p == nil {
		return nil // a daemon of someone else's, which StartDocker took only because it holds the image
	}
	env := append(os.Environ(), "DOCKER_HOST="+d.Host)
	inspect := exec.Command(docker, "image", "inspect", name)
	inspect.Env = env
	if inspect.Run() == nil {
		return nil // already imported
	}
	if err := static(busybox); err != nil {
		return err
	}
	applets, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w", busybox, err)
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(caBundle)
	if err != nil {
		return fmt.Errorf("CA bundle: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode})
	}
	file := func(name string, mode int64, data []byte) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))})
		_, _ = tw.Write(data)
	}
	for _, d := range []string{"bin", "etc", "etc/pki", "etc/pki/tls", "etc/pki/tls/certs", "etc/ssl", "etc/ssl/certs", "var", "var/task", "var/runtime"} {
		dir(d, 0o755)
	}
	dir("tmp", 0o1777)
	file("bin/busybox", 0o755, bb)
	for _, a := range strings.Fields(string(applets)) {
		if a != "busybox" { // a link to itself would replace the binary
			_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777})
		}
	}
	file("etc/pki/tls/certs/ca-bundle.crt", 0o644, ca)
	file("etc/ssl/certs/ca-certificates.crt", 0o644, ca)
	if err := tw.Close(); err != nil {
		return err
	}
	imp := exec.Command(docker, "import", "-", name)
	imp.Env, imp.Stdin = env, &buf
	if out, err := imp.CombinedOutput(); err != nil {
		return fmt.Errorf("docker import %s: %w\n%s", name, err, out)
	}
	return nil
}

// static checks that the binary at path needs no dynamic loader: the
// stand-in image has none.
func static(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: install busybox-static", path)
		}
	}
	return nil
}
