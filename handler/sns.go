package handler

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// throttleCodes are SNS throttling errors the SDK does not retry by default.
var throttleCodes = []string{"Throttled", "KMSThrottling"}

// NewSNS builds the SNS client once, from the AWS configuration main loads
// (the Lambda role's credentials; AWS_ENDPOINT_URL_SNS for a local endpoint).
// Throttling is retried with the SDK's standard backoff.
func NewSNS(cfg aws.Config) *sns.Client {
	return sns.NewFromConfig(cfg, func(o *sns.Options) {
		o.Retryer = retry.AddWithErrorCodes(retry.NewStandard(), throttleCodes...)
	})
}
