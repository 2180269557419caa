package emulate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Function is a bootstrap running under the Lambda Runtime Interface
// Emulator (aws-lambda-rie), which gives it the Lambda Runtime API as Lambda
// does and exposes the invoke API on loopback.
type Function struct {
	*Process
	url string
}

// StartFunction runs bootstrap under rie. env is the function's environment
// besides PATH, HOME and LANG; the emulator passes its own environment on.
func StartFunction(rie, bootstrap string, env []string) (*Function, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	api, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"--runtime-interface-emulator-address", addr, "--runtime-api-address", api, bootstrap}
	p, err := start("aws-lambda-rie", rie, args, append(baseEnv(), env...))
	if err != nil {
		return nil, err
	}
	err = p.waitFor(30*time.Second, func() error {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err != nil {
		p.Stop()
		return nil, err
	}
	return &Function{Process: p, url: "http://" + addr + "/2015-03-31/functions/function/invocations"}, nil
}

// Result is the outcome of one invocation.
type Result struct {
	Status int
	Body   []byte
	Err    *FunctionError // nil when the function succeeded
}

// FunctionError is the error a failed invocation reports, as Lambda reports
// it to its caller and its failure destination.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// Invoke sends payload to the function, as Lambda's Invoke API would, and
// waits for the result. The error is for the emulator failing to answer, not
// for the function failing: that is Result.Err.
func (f *Function) Invoke(ctx context.Context, payload []byte) (Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(payload))
	if err != nil {
		return Result{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Result{}, fmt.Errorf("invoke: read response: %w", err)
	}
	r := Result{Status: resp.StatusCode, Body: body}
	var fe FunctionError
	switch {
	case resp.StatusCode != http.StatusOK:
		r.Err = &FunctionError{Type: "HTTP " + resp.Status, Message: string(body)}
	case json.Unmarshal(body, &fe) == nil && fe.Type != "":
		r.Err = &fe
	}
	return r, nil
}
