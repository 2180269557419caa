package handler

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// How one Publish is tried. At worst it takes 3 attempts of 5 s each plus
// 3 s of throttle backoff (up to 1 s, then up to 2 s): 18 s, inside an
// event's 30 s budget (eventBudget) less the 2 s enrichment and the
// handler's 0.5 s margin (TestPublishBudget).
const (
	// publishAttemptTimeout bounds one HTTP attempt, from dialling to the
	// last byte of the response, so that a stalled connection is abandoned
	// and retried instead of consuming the whole invocation.
	publishAttemptTimeout = 5 * time.Second
	// publishMaxAttempts is the first attempt and two retries (the SDK's
	// default, stated here because the README promises it).
	publishMaxAttempts = 3
)

// throttleCodes are the error codes with which SNS asks the caller to slow
// down: Throttled (the account's or topic's publish rate) and KMSThrottling
// (the request rate of the topic's KMS key). The SDK's throttle list
// (retry.DefaultThrottleErrorCodes) has neither, so by default it does not
// retry them at all.
var throttleCodes = []string{"Throttled", "KMSThrottling"}

// NewSNS builds the SNS client once, from the AWS configuration main loads
// (the Lambda role's credentials; AWS_ENDPOINT_URL_SNS for a local endpoint).
// It makes no network call: credentials and connections are set up on the
// first Publish.
//
// Each Publish is tried up to 3 times by the SDK's standard retryer, each
// attempt limited to 5 s (publishAttemptTimeout). SNS's throttling errors are
// retried as throttling, with the SDK's throttle backoff, and never draw on
// the client's retry quota; 5xx responses, connection errors and attempts
// that time out are retried while the quota lasts (see newRetryer). The
// timeout applies when cfg's HTTP client is the SDK's own
// (*awshttp.BuildableClient, what config.LoadDefaultConfig sets); a client of
// another type keeps its own timeouts.
func NewSNS(cfg aws.Config) *sns.Client {
	return newSNS(cfg, publishAttemptTimeout)
}

// newSNS is NewSNS with the attempt timeout as a parameter, for tests.
func newSNS(cfg aws.Config, attemptTimeout time.Duration) *sns.Client {
	return sns.NewFromConfig(cfg, func(o *sns.Options) {
		o.Retryer = newRetryer()
		// WithTimeout returns a copy: the EC2 client sharing cfg is unchanged.
		if b, ok := o.HTTPClient.(*awshttp.BuildableClient); ok {
			o.HTTPClient = b.WithTimeout(attemptTimeout)
		}
	})
}

// newRetryer is the SDK's standard retryer with SNS's throttling codes added
// where the SDK looks for throttling: to Retryables (so they are retried at
// all) and to Throttles (so they are retried as throttling: a 1 s backoff
// base instead of 50 ms, and ThrottlingRetryCost instead of the 14-token
// RetryCost from the 500-token retry quota).
//
// ThrottlingRetryCost is 0, not the SDK's 5. The quota lives as long as the
// Lambda container and refills by only 1 token per publish that succeeds at
// once, so a burst of throttling (persistently throttled publishes cost 10
// tokens each at 5 a retry) empties it after 50 publishes and leaves the
// container without retries for hundreds of invocations: throttling is then
// not retried at all. Throttling is SNS asking for backoff, which the retries
// give, and a publish makes at most 3 attempts whatever the quota, so the
// load a throttled container adds is bounded anyway. The quota still guards
// against hammering an SNS that fails (5xx, connection errors, timeouts):
// those retries cost 14, and once it is empty they fail the invocation,
// which Lambda retries minutes later.
func newRetryer() *retry.Standard {
	codes := make(map[string]struct{}, len(throttleCodes))
	for _, c := range throttleCodes {
		codes[c] = struct{}{}
	}
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = publishMaxAttempts
		o.Retryables = append(o.Retryables, retry.RetryableErrorCode{Codes: codes})
		o.Throttles = append(o.Throttles, retry.ThrottleErrorCode{Codes: codes})
		o.ThrottlingRetryCost = 0
	})
}
