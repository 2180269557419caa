// Package emulate runs sgwatch against local stand-ins for AWS: moto server
// for SNS, SQS and EventBridge, and the Lambda Runtime Interface Emulator
// running the real bootstrap. The end-to-end tests and "make local" use it;
// the function itself never imports it, and has no code path for it: it finds
// moto through AWS_ENDPOINT_URL_SNS, as the AWS SDK reads it anywhere.
//
// Every process is started in its own process group, bound to loopback, and
// killed with its children by Stop, or by the kernel if the program that
// started it dies first.
package emulate

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Process is a server started by this package.
type Process struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

// start runs bin with args and env (and nothing else of this process's
// environment). The process gets SIGKILL if the thread that started it
// exits, so a crashed or timed-out test leaves nothing running; that thread
// stays locked until the process ends.
func start(name, bin string, args, env []string) (*Process, error) {
	p := &Process{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		p.cmd = exec.Command(bin, args...)
		p.cmd.Env = env
		p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := p.cmd.Start(); err != nil {
			started <- fmt.Errorf("start %s (%s): %w", name, bin, err)
			return
		}
		started <- nil
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// Output is everything the process has written to stdout and stderr so far.
func (p *Process) Output() string { return p.out.String() }

// Stop ends the process and every process in its group, also when the
// process itself has already exited: SIGTERM, then SIGKILL after five
// seconds. It is safe to call more than once.
func (p *Process) Stop() {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // children that ignored SIGTERM
}

// waitFor polls ready until it succeeds, the process exits or timeout passes.
func (p *Process) waitFor(timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited (%v) before it was ready; its output:\n%s", p.name, p.err, p.Output())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %v; its output:\n%s", p.name, timeout, err, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// baseEnv is the environment every started process gets: enough to run,
// nothing of the caller's AWS settings.
func baseEnv() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	if home := os.Getenv("HOME"); home != "" {
		env = append(env, "HOME="+home)
	}
	return env
}

// syncBuffer is a bytes.Buffer safe for a process's output goroutines and
// its readers at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
