// Command sgwatch reports AWS security-group changes.
//
// Under AWS Lambda (AWS_LAMBDA_RUNTIME_API is set) it handles EventBridge
// "AWS API Call via CloudTrail" events and scheduled sweep requests
// (package handler); anywhere else it is the command line (package cli):
// "sgwatch FILE" prints the notification a CloudTrail event would produce,
// offline. This file only chooses between the two: package function builds
// the clients the function's configuration turns on. The sweep worker,
// which adds the history table, is cmd/sgwatch-sweep.
package main

import (
	"os"

	"github.com/sgwatch/sgwatch/cli"
	"github.com/sgwatch/sgwatch/function"
)

func main() {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") == "" {
		os.Exit(cli.Run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
	}
	function.Start(nil)
}
