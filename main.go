// Command sgwatch reports AWS security-group changes.
//
// Under AWS Lambda (AWS_LAMBDA_RUNTIME_API is set) it handles EventBridge
// "AWS API Call via CloudTrail" events and publishes a triage notification to
// the SNS topic SNS_TOPIC_ARN, adding live context from the EC2 API when
// ENRICH=true and the account's name from AWS Organizations when
// ACCOUNT_NAMES=true, and publishing each change once with the DynamoDB
// table IDEMPOTENCY_TABLE; with SWEEP=true, a scheduled sweep request
// lists the rules open to the whole internet now and publishes what
// changed since the last sweep (package sweep); with SECURITY_HUB=true,
// each published finding is imported into AWS Security Hub (package hub).
// Anywhere else it is a command-line tool: "sgwatch
// FILE" prints the notification a CloudTrail event would produce, offline.
// Both read the tuning variables of package policy.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/sgwatch/sgwatch/accounts"
	"github.com/sgwatch/sgwatch/cli"
	"github.com/sgwatch/sgwatch/enrich"
	"github.com/sgwatch/sgwatch/handler"
	"github.com/sgwatch/sgwatch/hub"
	"github.com/sgwatch/sgwatch/once"
	"github.com/sgwatch/sgwatch/sweep"
)

func main() {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") == "" {
		os.Exit(cli.Run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
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
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	var pub handler.Publisher
	if !cfg.LocalOnly { // under sam local without a topic nothing is published
		pub = handler.NewSNS(awsCfg)
	}
	h := handler.New(cfg, pub, log)
	if cfg.Enrich {
		// The EC2 client is built on the first lookup, not during the cold start.
		h = h.WithEnricher(enrich.NewLazy(func() enrich.EC2 { return enrich.NewEC2(awsCfg) }))
	}
	if cfg.IdempotencyTable != "" {
		// So is the DynamoDB client of the idempotency table.
		h = h.WithOnce(once.New(cfg.IdempotencyTable, func() once.DynamoDB { return once.NewDynamoDB(awsCfg) }))
	}
	if cfg.Sweep.Enabled {
		// The sweep's clients too: per target, on its first sweep.
		clients := &sweep.Clients{Config: awsCfg}
		s := handler.Sweeps{
			Lister: clients.Lister,
			Accounts: func(ctx context.Context) ([]string, error) {
				return sweep.OrganizationAccounts(ctx, organizations.NewFromConfig(awsCfg))
			},
		}
		if cfg.Sweep.Table != "" {
			t := once.New(cfg.Sweep.Table, func() once.DynamoDB { return once.NewDynamoDB(awsCfg) })
			s.Memory, s.Once = t, t
		}
		h = h.WithSweeps(s)
	}
	if cfg.SecurityHub {
		// Signs its own requests (no SDK client): nothing to build.
		h = h.WithHub(hub.New(awsCfg))
	}
	if cfg.AccountNames {
		// So is the Organizations client.
		h = h.WithAccountNames(accounts.NewLazy(func() accounts.Organizations { return accounts.NewOrganizations(awsCfg) }))
	}
	lambda.Start(h)
}
