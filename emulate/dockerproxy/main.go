// Command dockerproxy is the userland proxy of the tests' own dockerd
// (emulate.StartDocker): Docker's docker-proxy, but patient. Docker's
// accepts a connection on the host port and, when nothing listens in the
// container yet, closes it; sam local invoke gives the emulator in its
// container three requests in about 0.7 s, and under qemu on a loaded
// machine an arm64 container's emulator may not listen that soon (SAM then
// says "No response from invoke container" and hangs). This one dials the
// container for each connection until it answers, for up to a minute, so a
// request waits for the emulator instead of failing. It takes
// docker-proxy's flags and answers dockerd's start-up handshake as it does
// (on file descriptor 3: "0\n", or "1\n" and the error) as Docker 20.10
// (Debian 12's docker.io, which make docker-tools installs) does; TCP only,
// which is all sam local publishes.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// patience is how long a connection waits for the container to answer.
const patience = time.Minute

func main() {
	proto := flag.String("proto", "tcp", "the protocol")
	hostIP := flag.String("host-ip", "", "the host address to listen on")
	hostPort := flag.Int("host-port", 0, "the host port")
	containerIP := flag.String("container-ip", "", "the container's address")
	containerPort := flag.Int("container-port", 0, "the container's port")
	flag.Parse()
	parent := os.NewFile(3, "signal-parent")
	ln, err := net.Listen("tcp", net.JoinHostPort(*hostIP, strconv.Itoa(*hostPort)))
	if err == nil && *proto != "tcp" {
		err = fmt.Errorf("dockerproxy: %s ports are not proxied (tcp only)", *proto)
	}
	if err != nil {
		fmt.Fprintf(parent, "1\n%s", err)
		os.Exit(1)
	}
	fmt.Fprint(parent, "0\n")
	parent.Close()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		ln.Close()
	}()
	backend := net.JoinHostPort(*containerIP, strconv.Itoa(*containerPort))
	for {
		c, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) { // closed: dockerd stopped us
				fmt.Fprintln(os.Stderr, "dockerproxy:", err) // in dockerd's log
			}
			return
		}
		go serve(c.(*net.TCPConn), backend)
	}
}

// serve joins c to the container at backend, once it answers.
func serve(c *net.TCPConn, backend string) {
	defer c.Close()
	var b net.Conn
	for give := time.Now().Add(patience); ; {
		var err error
		if b, err = net.DialTimeout("tcp", backend, time.Second); err == nil {
			break
		}
		if time.Now().After(give) {
			return
		}
		time.Sleep(20 * time.Millisecond) // the emulator is starting
	}
	defer b.Close()
	go func() {
		io.Copy(b, c)
		b.(*net.TCPConn).CloseWrite()
	}()
	io.Copy(c, b) // until the container is done: then both close
}
