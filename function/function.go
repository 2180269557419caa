// Package function starts sgwatch under AWS Lambda: it reads the
// configuration from the environment, builds the AWS clients the
// configuration turns on, and hands each invocation to package handler.
// The function that handles events (main.go) and the sweep worker
// (cmd/sgwatch-sweep) both start here; the worker adds what only it links.
// The SNS client is built at start; every other client a feature needs is
// built on its first use, so a deployment pays at cold start only for what
// it turns on.
package function

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sgwatch/sgwatch/accounts"
	"github.com/sgwatch/sgwatch/claim"
	"github.com/sgwatch/sgwatch/enrich"
	"github.com/sgwatch/sgwatch/handler"
	"github.com/sgwatch/sgwatch/hub"
	"github.com/sgwatch/sgwatch/memory"
	"github.com/sgwatch/sgwatch/revert"
	"github.com/sgwatch/sgwatch/sweep"
)

// Extra adds to the dependencies what a build of the function links
// beyond the common ones; an error stops the function at start.
type Extra func(cfg handler.Config, awsCfg aws.Config, d *handler.Deps) error

// Start runs the function until Lambda stops it; extra may be nil. A
// configuration that cannot be read ends the process at start, saying why.
func Start(extra Extra) {
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
	d := deps(cfg, awsCfg)
	if extra != nil {
		if err := extra(cfg, awsCfg, &d); err != nil {
			fmt.Fprintln(os.Stderr, "sgwatch: configuration:", err)
			os.Exit(1)
		}
	}
	lambda.Start(handler.New(cfg, d))
}

// deps are the clients cfg turns on.
func deps(cfg handler.Config, awsCfg aws.Config) handler.Deps {
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
	if cfg.Policy.Revert.On() { // off under sam local (ConfigFromEnv)
		d.Reverter = &revert.Reverter{
			EC2:       sync.OnceValue(func() revert.EC2 { return enrich.NewEC2(awsCfg) }),
			Scheduler: func() revert.Scheduler { return revert.SchedulerHTTP{Config: awsCfg} },
			Schedules: cfg.Schedules,
			Scoring:   cfg.Policy.Score,
		}
	}
	return d
}
