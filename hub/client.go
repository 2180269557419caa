// Package hub delivers published findings to AWS Security Hub: each is
// imported, in the AWS Security Finding Format that package report renders,
// with BatchImportFindings, and a resolved one is then marked resolved with
// BatchUpdateFindings.
package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/internal/awsapi"
	"github.com/sgwatch/sgwatch/report"
)

// Hub imports published findings into AWS Security Hub.
type Hub struct {
	api *awsapi.Client
}

// maxError bounds an error code or message quoted, in characters.
const maxError = 512

// New returns a Hub that signs with cfg's credentials; no network call. Its
// endpoint is AWS_ENDPOINT_URL_SECURITYHUB, else AWS_ENDPOINT_URL, else
// Security Hub's in cfg's Region (package awsapi).
func New(cfg aws.Config) *Hub {
	return &Hub{api: awsapi.New(cfg, "securityhub")}
}

// Import imports f, published under id (a stable string unique per
// finding: "event/EVENTID/N" or "sweep/ACCOUNT/REGION/RULEKEY"), as one ASFF
// finding; for a resolved finding (detect.Resolved) it then also sets the
// finding's workflow status to RESOLVED with BatchUpdateFindings. An error
// means Security Hub did not take it (an HTTP error after retries, or a
// failed finding: the error names its code and message).
func (h *Hub) Import(ctx context.Context, f detect.Finding, id string, c report.Caller) error {
	a := report.ToASFF(f, id, c, time.Now())
	var imported struct {
		FailedCount    int
		SuccessCount   int
		FailedFindings []struct{ ErrorCode, ErrorMessage string }
	}
	if err := h.api.Call(ctx, awsapi.Request{Op: "BatchImportFindings", Method: http.MethodPost, Path: "/findings/import"}, map[string]any{"Findings": []report.ASFF{a}}, &imported); err != nil {
		return err
	}
	if imported.FailedCount > 0 || len(imported.FailedFindings) > 0 {
		code, msg := "unknown", "no reason given"
		if len(imported.FailedFindings) > 0 {
			code, msg = imported.FailedFindings[0].ErrorCode, imported.FailedFindings[0].ErrorMessage
		}
		return fmt.Errorf("securityhub BatchImportFindings: finding %s failed: %s: %s", a.ID, clean.Line(code, maxError), clean.Line(msg, maxError))
	}
	if imported.SuccessCount != 1 {
		// Not what Security Hub answers: do not take it for an import.
		return fmt.Errorf("securityhub BatchImportFindings: finding %s: the answer does not confirm the import (SuccessCount %d)", a.ID, imported.SuccessCount)
	}
	if f.Action != detect.Resolved {
		return nil
	}
	var updated struct {
		ProcessedFindings   []json.RawMessage
		UnprocessedFindings []struct{ ErrorCode, ErrorMessage string }
	}
	in := map[string]any{"FindingIdentifiers": []map[string]string{{"Id": a.ID, "ProductArn": a.ProductArn}},
		"Workflow": map[string]string{"Status": "RESOLVED"}}
	if err := h.api.Call(ctx, awsapi.Request{Op: "BatchUpdateFindings", Method: http.MethodPatch, Path: "/findings/batchupdate"}, in, &updated); err != nil {
		return err
	}
	if u := updated.UnprocessedFindings; len(u) > 0 {
		return fmt.Errorf("securityhub BatchUpdateFindings: finding %s not resolved: %s: %s", a.ID, clean.Line(u[0].ErrorCode, maxError), clean.Line(u[0].ErrorMessage, maxError))
	}
	if len(updated.ProcessedFindings) != 1 {
		return fmt.Errorf("securityhub BatchUpdateFindings: finding %s: the answer does not confirm it was resolved", a.ID)
	}
	return nil
}
