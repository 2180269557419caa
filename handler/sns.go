package handler

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// throttleCodes are SNS throttling errors the SDK does not retry by default.
var throttleCodes = []string{"Throttled", "KMSThrottling"}

// NewSNS builds the SNS client once, from the standard AWS configuration
// chain (the Lambda role's credentials; AWS_ENDPOINT_URL_SNS for a local
// endpoint). Throttling is retried with the SDK's standard backoff.
func NewSNS(ctx context.Context) (*sns.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(func() aws.Retryer {
		return retry.AddWithErrorCodes(retry.NewStandard(), throttleCodes...)
	}))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return sns.NewFromConfig(cfg), nil
}
