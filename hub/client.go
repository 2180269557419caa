// Package hub delivers published findings to AWS Security Hub: each is
// imported, in the AWS Security Finding Format that package report renders,
// with BatchImportFindings, and a resolved one is then marked resolved with
// BatchUpdateFindings, through the AWS SDK's Security Hub client.
package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/report"
)

// API is the part of the Security Hub client a Hub uses.
type API interface {
	BatchImportFindings(ctx context.Context, in *securityhub.BatchImportFindingsInput, opts ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error)
	BatchUpdateFindings(ctx context.Context, in *securityhub.BatchUpdateFindingsInput, opts ...func(*securityhub.Options)) (*securityhub.BatchUpdateFindingsOutput, error)
}

// Hub imports published findings into AWS Security Hub.
type Hub struct {
	api func() API // the client, built on first use
}

// New returns a Hub whose client newClient builds on its first import, and
// only then: a cold start builds no Security Hub client.
func New(newClient func() API) *Hub { return &Hub{api: sync.OnceValue(newClient)} }

// AttemptTimeout bounds each HTTP attempt; the SDK's standard retryer
// makes at most 3 (throttling and 5xx retried).
const AttemptTimeout = 5 * time.Second

// NewClient builds the Security Hub client from the AWS configuration main
// loads (AWS_ENDPOINT_URL_SECURITYHUB for a local endpoint), each attempt
// limited to AttemptTimeout.
func NewClient(cfg aws.Config) *securityhub.Client {
	return securityhub.NewFromConfig(cfg, func(o *securityhub.Options) {
		if b, ok := o.HTTPClient.(*awshttp.BuildableClient); ok {
			o.HTTPClient = b.WithTimeout(AttemptTimeout)
		}
	})
}

// maxError bounds an error code or message quoted, in characters.
const maxError = 512

// Import imports f, published under id (a stable string unique per
// finding: "event/EVENTID/N" or "sweep/ACCOUNT/REGION/RULEKEY"), as one ASFF
// finding; for a resolved finding (detect.Resolved) it then also sets the
// finding's workflow status to RESOLVED with BatchUpdateFindings. An error
// means Security Hub did not take it (an error after the SDK's retries, or a
// failed finding: the error names its code and message).
func (h *Hub) Import(ctx context.Context, f detect.Finding, id string, c report.Caller) error {
	a := report.ToASFF(f, id, c, time.Now())
	finding, err := sdkFinding(a)
	if err != nil {
		return fmt.Errorf("securityhub BatchImportFindings: finding %s: %w", a.ID, err)
	}
	imported, err := h.api().BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []types.AwsSecurityFinding{finding}})
	if err != nil {
		return fmt.Errorf("securityhub BatchImportFindings: %s", clean.Line(err.Error(), 2*maxError))
	}
	if aws.ToInt32(imported.FailedCount) > 0 || len(imported.FailedFindings) > 0 {
		code, msg := "unknown", "no reason given"
		if len(imported.FailedFindings) > 0 {
			code, msg = aws.ToString(imported.FailedFindings[0].ErrorCode), aws.ToString(imported.FailedFindings[0].ErrorMessage)
		}
		return fmt.Errorf("securityhub BatchImportFindings: finding %s failed: %s: %s", a.ID, clean.Line(code, maxError), clean.Line(msg, maxError))
	}
	if n := aws.ToInt32(imported.SuccessCount); n != 1 {
		// Not what Security Hub answers: do not take it for an import.
		return fmt.Errorf("securityhub BatchImportFindings: finding %s: the answer does not confirm the import (SuccessCount %d)", a.ID, n)
	}
	if f.Action != detect.Resolved {
		return nil
	}
	updated, err := h.api().BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []types.AwsSecurityFindingIdentifier{{Id: aws.String(a.ID), ProductArn: aws.String(a.ProductArn)}},
		Workflow:           &types.WorkflowUpdate{Status: types.WorkflowStatusResolved},
	})
	if err != nil {
		return fmt.Errorf("securityhub BatchUpdateFindings: %s", clean.Line(err.Error(), 2*maxError))
	}
	if u := updated.UnprocessedFindings; len(u) > 0 {
		return fmt.Errorf("securityhub BatchUpdateFindings: finding %s not resolved: %s: %s", a.ID,
			clean.Line(aws.ToString(u[0].ErrorCode), maxError), clean.Line(aws.ToString(u[0].ErrorMessage), maxError))
	}
	if len(updated.ProcessedFindings) != 1 {
		return fmt.Errorf("securityhub BatchUpdateFindings: finding %s: the answer does not confirm it was resolved", a.ID)
	}
	return nil
}

// sdkFinding is the ASFF finding a as the SDK's type. The two have the same
// field names (ASFF's), so the finding's own JSON fills the SDK's type:
// every field report sets, and nothing else (a test holds the request the
// SDK sends equal to the finding's JSON).
func sdkFinding(a report.ASFF) (types.AwsSecurityFinding, error) {
	var out types.AwsSecurityFinding
	b, err := json.Marshal(a)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	return out, err
}
