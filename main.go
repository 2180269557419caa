// Command sgwatch reports AWS security-group changes.
//
// Under AWS Lambda (AWS_LAMBDA_RUNTIME_API is set) it handles EventBridge
// "AWS API Call via CloudTrail" events and scheduled sweep requests
// (package handler); anywhere else it is the command line (package cli):
// "sgwatch FILE" prints the notification a CloudTrail event would produce,
// offline. This file only wires the two up: the SNS client is built at
// start; every other AWS client a feature needs is built on its first use,
// so a deployment pays at cold start only for what it turns on.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sgwatch/sgwatch/accounts"
	"github.com/sgwatch/sgwatch/claim"
	"github.com/sgwatch/sgwatch/cli"
	"github.com/sgwatch/sgwatch/enrich"
	"github.com/sgwatch/sgwatch/handler"
	"github.com/sgwatch/sgwatch/hub"
	"github.com/sgwatch/sgwatch/memory"
	"github.com/sgwatch/sgwatch/sweep"
)

func main() {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") == "" {
		os.Exit(cli.Run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
	}
	// Fewer collections for a short-lived function, never past its memory.
	percent, limit := handler.GC(os.Getenv)
	if percent > 0 {
		debug.SetGCPercent(percent)
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	cfg, err := handler.ConfigFromEnv(os.Getenv, time.Now())
	if err != nil {
		fmt.Fprintln(os.Stderr, "sgwatch: configuration:", err)
		os.Exit(1)
	}
	// One AWS configuration (credentials, Region, endpoints) for every client.
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "sgwatch: load AWS configuration:", err)
		os.Exit(1)
	}
	d := handler.Deps{Log: os.Stdout}
	if !cfg.LocalOnly { // under sam local without a topic nothing is published
		d.SNS = handler.NewSNS(awsCfg)
	}
	if cfg.Enrich {
		d.Enricher = enrich.New(func() enrich.EC2 { return enrich.NewEC2(awsCfg) }).
			WithLoadBalancers(func() enrich.LoadBalancerReader { return enrich.NewLoadBalancers(awsCfg) })
	}
	if cfg.AccountNames {
		d.Accounts = accounts.New(func() accounts.Organizations { return accounts.NewOrganizations(awsCfg) })
	}
	// One DynamoDB client for the idempotency table and the sweep's memory.
	db := sync.OnceValue(func() claim.DynamoDB { return claim.NewDynamoDB(awsCfg) })
	if cfg.IdempotencyTable != "" {
		d.Claims = claim.New(cfg.IdempotencyTable, db)
	}
	if cfg.Sweep.Enabled {
		clients := &sweep.Clients{Config: awsCfg}
		d.Sweep = &handler.Sweeps{
			Lister: clients.Lister,
			Accounts: func(ctx context.Context) ([]string, error) {
				return sweep.OrganizationAccounts(ctx, organizations.NewFromConfig(awsCfg))
			},
		}
		if cfg.Sweep.Queue != "" {
			d.Sweep.Queue = sqs.NewFromConfig(awsCfg)
		}
		if cfg.Sweep.Table != "" {
			t := claim.New(cfg.Sweep.Table, db)
			d.Sweep.Claims, d.Sweep.Memory = t, memory.New(t)
		}
	}
	if cfg.SecurityHub {
		d.Hub = hub.New(func() hub.API { return hub.NewClient(awsCfg) })
	}
	lambda.Start(handler.New(cfg, d))
}
