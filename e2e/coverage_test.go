//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sgwatch/sgwatch/coverage"
	"github.com/sgwatch/sgwatch/emulate"
)

// The organization the coverage test checks: two member accounts, three
// Regions, a trail in each account homed in coverageHome, and the central
// bus the forwarders send to (in moto's default account, the caller's).
var (
	coverageAccounts = []string{"111111111111", "222222222222"}
	coverageRegions  = []string{"eu-west-1", "us-east-1", "ap-southeast-2"}
)

const (
	coverageHome       = "us-east-1"
	coverageRole       = "OrganizationAccountAccessRole"
	coverageCentralBus = "arn:aws:events:us-east-1:" + emulate.Account + ":event-bus/sgwatch-central"
	coverageTrail      = "org-trail"
	coverageForwarder  = "sgwatch-forwarder"
	// The central stack (-stack), in the caller's account and coverageHome:
	// it creates the central bus and names it and sgwatch's function in its
	// outputs, as template.yaml's FunctionArn and CentralEventBusArn do.
	coverageStack    = "sgwatch"
	coverageFunction = "arn:aws:lambda:us-east-1:" + emulate.Account + ":function:sgwatch-SgwatchFunction-e2e"
)

// TestCoverage runs "sgwatch coverage" (the real command-line binary, bin/sgwatch)
// against moto over HTTP with -accounts and -assume-role, as a security
// team would against its organization: moto's STS AssumeRole hands out
// credentials that moto maps to the role's account, so every later call of
// the binary lands in that account without moto's account header. Each
// account has a logging multi-Region trail and a forwarder rule (the
// template's pattern, to the central bus) in every Region but one: that
// cell, and only it, must be a blind spot (exit 1); with the rule added,
// exit 0, with the central bus given as -bus or read from the central stack
// (-stack). A forwarder whose target is replaced by a do-nothing Lambda
// function must be a blind spot ("other target" with -stack, "unconfirmed
// function" with -bus alone). Then a stopped trail, read-only advanced event
// selectors and a disabled rule must each show in their cells.
func TestCoverage(t *testing.T) {
	ctx := context.Background()
	if err := moto.Reset(); err != nil {
		t.Fatal(err)
	}
	coverageCheckAssumeRole(t)
	pattern := string(templatePattern(t))
	blindAccount, blindRegion := coverageAccounts[1], coverageRegions[2]
	for _, a := range coverageAccounts {
		coverageCreateTrail(t, a)
		for _, r := range coverageRegions {
			if a == blindAccount && r == blindRegion {
				continue
			}
			coveragePutForwarder(t, a, r, pattern)
		}
	}

	// One blind spot: the rule is missing in one Region of one account.
	code, rows := runCoverage(t, "text", "-bus", coverageCentralBus)
	want := map[string]string{}
	for _, a := range coverageAccounts {
		for _, r := range coverageRegions {
			want[a+" "+r] = "forwarder (" + coverageForwarder + ") | logging (" + coverageTrail + ") | ok"
		}
	}
	want[blindAccount+" "+blindRegion] = "missing | logging (" + coverageTrail + ") | BLIND SPOT"
	coverageCheckRows(t, "one rule missing", code, 1, rows, want)

	// Fixed: every cell covered, in both formats.
	coveragePutForwarder(t, blindAccount, blindRegion, pattern)
	want[blindAccount+" "+blindRegion] = want[coverageAccounts[0]+" "+coverageRegions[0]]
	code, rows = runCoverage(t, "text", "-bus", coverageCentralBus)
	coverageCheckRows(t, "fixed", code, 0, rows, want)
	code, rows = runCoverage(t, "json", "-bus", coverageCentralBus)
	coverageCheckRows(t, "fixed, JSON", code, 0, rows, want)
	coverageCreateCentralStack(t)
	code, rows = runCoverage(t, "text", "-stack", coverageStack)
	coverageCheckRows(t, "fixed, -stack", code, 0, rows, want)

	// A do-nothing function in place of one forwarder's bus: the rule is
	// still there, but sgwatch gets nothing.
	first, second := coverageAccounts[0], coverageAccounts[1]
	replaced := first + " " + coverageRegions[0]
	coverageSetTarget(t, first, coverageRegions[0], "arn:aws:lambda:"+coverageRegions[0]+":"+first+":function:do-nothing")
	okRow := want[replaced]
	want[replaced] = "other target (" + coverageForwarder + ") | logging (" + coverageTrail + ") | BLIND SPOT"
	code, rows = runCoverage(t, "text", "-stack", coverageStack)
	coverageCheckRows(t, "a do-nothing function, -stack", code, 1, rows, want)
	want[replaced] = "unconfirmed function (" + coverageForwarder + ") | logging (" + coverageTrail + ") | BLIND SPOT"
	code, rows = runCoverage(t, "json", "-bus", coverageCentralBus)
	coverageCheckRows(t, "a do-nothing function, -bus alone", code, 1, rows, want)
	coverageSetTarget(t, first, coverageRegions[0], coverageCentralBus)
	want[replaced] = okRow

	// Three ways to be blind although the rule is there: the first account's
	// trail stopped, the second's recording read-only management events
	// only (advanced selectors), and one rule disabled.
	trailOf := func(a string) *cloudtrail.Client { return cloudtrail.NewFromConfig(moto.ConfigFor(a, coverageHome)) }
	if _, err := trailOf(first).StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(coverageTrail)}); err != nil {
		t.Fatal(err)
	}
	if _, err := trailOf(second).PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(coverageTrail),
		AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{Name: aws.String("read-only management"), FieldSelectors: []cttypes.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"Management"}}, {Field: aws.String("readOnly"), Equals: []string{"true"}}}}}}); err != nil {
		t.Fatal(err)
	}
	eb := eventbridge.NewFromConfig(moto.ConfigFor(second, coverageRegions[1]))
	if _, err := eb.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String(coverageForwarder)}); err != nil {
		t.Fatal(err)
	}
	for _, r := range coverageRegions {
		want[first+" "+r] = "forwarder (" + coverageForwarder + ") | not logging (" + coverageTrail + ") | BLIND SPOT"
		want[second+" "+r] = "forwarder (" + coverageForwarder + ") | no management events (" + coverageTrail + ") | BLIND SPOT"
	}
	want[second+" "+coverageRegions[1]] = "disabled (" + coverageForwarder + ") | no management events (" + coverageTrail + ") | BLIND SPOT"
	code, rows = runCoverage(t, "text", "-stack", coverageStack)
	coverageCheckRows(t, "stopped, read-only, disabled", code, 1, rows, want)

	t.Logf("coverage: %d accounts × %d Regions (%s) via sts:AssumeRole %s against moto, the real binary: the one missing forwarder is the only BLIND SPOT (exit 1); "+
		"fixed, all %d cells ok (exit 0, text and JSON, -bus and -stack); a do-nothing function in place of a forwarder's bus a BLIND SPOT; a stopped trail, read-only advanced selectors and a disabled rule flagged as not logging / no management events / disabled (exit 1)",
		len(coverageAccounts), len(coverageRegions), strings.Join(coverageRegions, ", "), coverageRole, len(coverageAccounts)*len(coverageRegions))
}

// coverageCheckAssumeRole: moto's AssumeRole into another account gives
// credentials that moto serves as that account (what the test relies on).
func coverageCheckAssumeRole(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	cfg := moto.Config()
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + coverageAccounts[0] + ":role/" + coverageRole), RoleSessionName: aws.String(coverage.SessionName)})
	if err != nil {
		t.Fatalf("moto sts:AssumeRole: %v", err)
	}
	c := out.Credentials
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Account) != coverageAccounts[0] {
		t.Fatalf("moto: the assumed role's credentials are account %q (%v), want %s", aws.ToString(who.Account), err, coverageAccounts[0])
	}
}

// coverageCreateCentralStack creates the central stack with moto's
// CloudFormation: the central bus, and the outputs -stack reads (the
// function's ARN as a literal: moto cannot run the function).
func coverageCreateCentralStack(t *testing.T) {
	t.Helper()
	tpl, err := json.Marshal(map[string]any{
		"Resources": map[string]any{"CentralEventBus": map[string]any{"Type": "AWS::Events::EventBus", "Properties": map[string]any{"Name": "sgwatch-central"}}},
		"Outputs": map[string]any{
			coverage.OutputFunction: map[string]any{"Value": coverageFunction},
			coverage.OutputBus:      map[string]any{"Value": map[string]any{"Fn::GetAtt": []string{"CentralEventBus", "Arn"}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	cf := cloudformation.NewFromConfig(moto.ConfigFor(emulate.Account, coverageHome))
	if _, err := cf.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String(coverageStack), TemplateBody: aws.String(string(tpl))}); err != nil {
		t.Fatalf("create the central stack: %v", err)
	}
	if status := stackStatus(t, cf, coverageStack); status != cftypes.StackStatusCreateComplete {
		t.Fatalf("central stack: %s", status)
	}
	out, err := cf.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(coverageStack)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out.Stacks[0].Outputs {
		if aws.ToString(o.OutputKey) == coverage.OutputBus && aws.ToString(o.OutputValue) != coverageCentralBus {
			t.Fatalf("the central stack's bus is %s, want %s (the forwarders' target)", aws.ToString(o.OutputValue), coverageCentralBus)
		}
	}
}

// coverageSetTarget replaces the forwarder's one target in account and
// region (same target id) with arn.
func coverageSetTarget(t *testing.T, account, region, arn string) {
	t.Helper()
	eb := eventbridge.NewFromConfig(moto.ConfigFor(account, region))
	if _, err := eb.PutTargets(context.Background(), &eventbridge.PutTargetsInput{Rule: aws.String(coverageForwarder),
		Targets: []ebtypes.Target{{Id: aws.String("central"), Arn: aws.String(arn)}}}); err != nil {
		t.Fatalf("%s %s: put targets: %v", account, region, err)
	}
}

// coverageCreateTrail makes the account's logging multi-Region trail, homed in
// coverageHome, recording all management events (moto's new trail has no
// event selectors; AWS's records all management events), with its bucket.
func coverageCreateTrail(t *testing.T, account string) {
	t.Helper()
	ctx := context.Background()
	bucket := "sgwatch-trail-" + account
	if err := coverageCreateBucket(ctx, account, bucket); err != nil {
		t.Fatal(err)
	}
	ct := cloudtrail.NewFromConfig(moto.ConfigFor(account, coverageHome))
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(coverageTrail), S3BucketName: aws.String(bucket),
		IsMultiRegionTrail: aws.Bool(true)}); err != nil {
		t.Fatalf("%s: create trail: %v", account, err)
	}
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(coverageTrail),
		EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true)}}}); err != nil {
		t.Fatalf("%s: put event selectors: %v", account, err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(coverageTrail)}); err != nil {
		t.Fatalf("%s: start logging: %v", account, err)
	}
}

// coverageCreateBucket creates an S3 bucket in moto's account (S3 CreateBucket,
// signed by hand: the module has no S3 client and needs none).
func coverageCreateBucket(ctx context.Context, account, name string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, moto.Endpoint+"/"+name, nil)
	if err != nil {
		return err
	}
	empty := sha256.Sum256(nil)
	hash := hex.EncodeToString(empty[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	req.Header.Set("x-moto-account-id", account)
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hash, "s3", "us-east-1", time.Now()); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("create bucket %s in %s: %s", name, account, resp.Status)
	}
	return nil
}

// coveragePutForwarder creates the forwarder rule in account and region, as
// forwarder.yaml does: the pattern, on the default bus, to the central bus.
func coveragePutForwarder(t *testing.T, account, region, pattern string) {
	t.Helper()
	ctx := context.Background()
	eb := eventbridge.NewFromConfig(moto.ConfigFor(account, region))
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(coverageForwarder), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatalf("%s %s: put rule: %v", account, region, err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(coverageForwarder), Targets: []ebtypes.Target{{
		Id: aws.String("central"), Arn: aws.String(coverageCentralBus),
		RoleArn: aws.String("arn:aws:iam::" + account + ":role/sgwatch-forwarder")}}}); err != nil {
		t.Fatalf("%s %s: put targets: %v", account, region, err)
	}
}

// runCoverage runs the command line (built without the Lambda tag), "sgwatch
// coverage" over all accounts and Regions in format, with own naming
// sgwatch's targets (-bus, -function, -stack), moto as every endpoint and
// nothing of this machine's AWS configuration. It returns the exit status
// and the rows, "ACCOUNT REGION" → "RULE | TRAIL | VERDICT".
func runCoverage(t *testing.T, format string, own ...string) (int, map[string]string) {
	t.Helper()
	args := append([]string{"coverage", "-regions", strings.Join(coverageRegions, ","),
		"-accounts", strings.Join(coverageAccounts, ","), "-assume-role", coverageRole, "-format", format}, own...)
	code, stdout, stderr := runCLI(t, []string{"AWS_ENDPOINT_URL=" + moto.Endpoint, "AWS_REGION=" + coverageHome}, args...)
	t.Logf("%s (exit %d):\n%s%s", format, code, stdout, stderr)
	rows := map[string]string{}
	var order []string
	defer func() {
		var want []string
		for _, a := range coverageAccounts {
			for _, r := range coverageRegions {
				want = append(want, a+" "+r)
			}
		}
		if !slices.Equal(order, want) {
			t.Errorf("%s: rows in order %q, want %q", format, order, want)
		}
	}()
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if format == "json" {
		for _, l := range lines {
			var c coverage.Cell
			if err := json.Unmarshal([]byte(l), &c); err != nil {
				t.Fatalf("JSON line %q: %v", l, err)
			}
			order = append(order, c.Account+" "+c.Region)
			rows[c.Account+" "+c.Region] = coverageColumn(string(c.Rule), c.RuleName) + " | " + coverageColumn(string(c.Trail), c.TrailName) + " | " + string(c.Verdict)
		}
		return code, rows
	}
	if len(lines) == 0 || strings.Join(strings.Fields(lines[0]), " ") != "ACCOUNT REGION RULE TRAIL VERDICT" {
		t.Fatalf("no table header:\n%s", stdout)
	}
	// Columns are two spaces apart or more; states hold single spaces.
	for _, l := range lines[1:] {
		var cols []string
		for _, c := range strings.Split(l, "  ") {
			if c = strings.TrimSpace(c); c != "" {
				cols = append(cols, c)
			}
		}
		if len(cols) != 5 {
			t.Fatalf("row %q: %d columns", l, len(cols))
		}
		order = append(order, cols[0]+" "+cols[1])
		rows[cols[0]+" "+cols[1]] = strings.Join(cols[2:], " | ")
	}
	return code, rows
}

func coverageColumn(state, name string) string {
	if name == "" {
		return state
	}
	return state + " (" + name + ")"
}

// coverageCheckRows compares a run with what it should have printed.
func coverageCheckRows(t *testing.T, what string, code, wantCode int, got, want map[string]string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("%s: exit %d, want %d", what, code, wantCode)
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if got[k] != want[k] {
			t.Errorf("%s: %s: %q, want %q", what, k, got[k], want[k])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
	}
}
