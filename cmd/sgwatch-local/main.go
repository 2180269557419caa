// Command sgwatch-local gives the "sam local invoke" experience without
// Docker or an AWS account. It starts moto (SNS and SQS) and the Lambda
// Runtime Interface Emulator running the real bootstrap, subscribes an SQS
// queue to a topic, invokes the function with each event file, and prints
// the result, the function's log and what the subscriber received. The
// function's tuning variables (EXTRA_SENSITIVE_PORTS, TRUSTED_PRINCIPALS,
// TRUSTED_SERVICES, SUPPRESS, MIN_SEVERITY, ENRICH) are passed on from the
// environment; ENRICH=true looks groups up in moto's EC2, which starts empty.
//
//	sgwatch-local -rie BIN -moto BIN -bootstrap BIN [-format text|json] EVENT.json…
//
// "make local EVENT=events/NAME.json" installs and builds everything first.
// The exit status is 1 if an invocation failed, 2 for a usage error.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sgwatch/sgwatch/emulate"
	"github.com/sgwatch/sgwatch/policy"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sgwatch-local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rie := fs.String("rie", "", "aws-lambda-rie binary")
	motoBin := fs.String("moto", "", "moto_server")
	bootstrap := fs.String("bootstrap", "", "bootstrap built for this host (make local builds it)")
	format := fs.String("format", "text", "NOTIFICATION_FORMAT: text or json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *rie == "" || *motoBin == "" || *bootstrap == "" || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: sgwatch-local -rie BIN -moto BIN -bootstrap BIN [-format text|json] EVENT.json…")
		return 2
	}

	var stops []func()
	stopAll := func() {
		for _, stop := range slices.Backward(stops) {
			stop()
		}
	}
	defer stopAll()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		stopAll()
		os.Exit(130)
	}()

	fail := func(err error) int {
		fmt.Fprintln(stderr, "sgwatch-local:", err)
		return 1
	}
	moto, err := emulate.StartMoto(*motoBin)
	if err != nil {
		return fail(err)
	}
	stops = append(stops, moto.Stop)
	ctx := context.Background()
	topic, err := moto.Topic(ctx, "sgwatch")
	if err != nil {
		return fail(err)
	}
	queue, err := moto.Queue(ctx, "subscriber")
	if err != nil {
		return fail(err)
	}
	if err := moto.Subscribe(ctx, topic, queue, ""); err != nil {
		return fail(err)
	}
	env := append(moto.FunctionEnv(), "SNS_TOPIC_ARN="+topic, "NOTIFICATION_FORMAT="+*format,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=30", "AWS_ENDPOINT_URL_EC2="+moto.Endpoint)
	// The function's tuning, passed on from this environment as the template
	// passes it from its parameters.
	for _, name := range slices.Concat(policy.Variables, []string{"ENRICH"}) {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	fn, err := emulate.StartFunction(*rie, *bootstrap, env)
	if err != nil {
		return fail(err)
	}
	stops = append(stops, fn.Stop)
	fmt.Fprintf(stdout, "moto %s, topic %s, subscriber %s\n", moto.Endpoint, topic, queue.URL)

	status := 0
	for _, file := range fs.Args() {
		payload, err := os.ReadFile(file)
		if err != nil {
			status = fail(err)
			continue
		}
		logStart := len(fn.Output())
		ictx, cancel := context.WithTimeout(ctx, 60*time.Second)
		res, err := fn.Invoke(ictx, payload)
		cancel()
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "\n== %s\n", file)
		if res.Err != nil {
			status = 1
			fmt.Fprintf(stdout, "invocation FAILED: %v\n", res.Err)
		} else {
			fmt.Fprintln(stdout, "invocation succeeded")
		}
		fmt.Fprintf(stdout, "-- function log (aws-lambda-rie):\n%s", fn.Output()[logStart:])
		bodies, err := queue.Drain(ctx)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "-- the subscriber received %d notification(s)\n", len(bodies))
		for _, b := range bodies {
			n, err := emulate.DecodeNotification(b)
			if err != nil {
				return fail(err)
			}
			printNotification(stdout, n)
		}
	}
	return status
}

func printNotification(w io.Writer, n emulate.Notification) {
	fmt.Fprintf(w, "Subject: %s\n", n.Subject)
	names := make([]string, 0, len(n.Attributes))
	for name := range n.Attributes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(w, "Attribute %s: %s\n", name, n.Attributes[name].Value)
	}
	fmt.Fprintf(w, "\n%s\n", strings.TrimRight(n.Message, "\n"))
}
