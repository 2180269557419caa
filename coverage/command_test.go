package coverage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// main runs Main on env and returns what it printed.
func main(t *testing.T, env *fakeEnv, args ...string) (code int, stdout, stderr string, connected bool) {
	t.Helper()
	var out, errb bytes.Buffer
	connect := func(_ context.Context, o Options) (Env, error) {
		connected = true
		if env == nil {
			return nil, errors.New("load AWS configuration: no")
		}
		return env, nil
	}
	code = Main(context.Background(), args, &out, &errb, connect)
	return code, out.String(), errb.String(), connected
}

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "-regions is required"},
		{[]string{"-accounts", acct, "-assume-role", "R"}, "-regions is required"},
		{[]string{"-regions", "eu-west-1", "-assume-role", "OrganizationAccountAccessRole"}, "-assume-role needs -accounts"},
		{[]string{"-regions", "eu-west-1", "-accounts", acct}, "-accounts needs -assume-role"},
		{[]string{"-regions", "eu-west-1", "-accounts", "11111111111", "-assume-role", "R"}, `-accounts: "11111111111" is not an account id`},
		{[]string{"-regions", "eu-west-1", "-accounts", acct + ",abc", "-assume-role", "R"}, `-accounts: "abc" is not an account id`},
		{[]string{"-regions", "eu-west-1", "-accounts", acct, "-assume-role", "bad role"}, `-assume-role: "bad role" is not a role name`},
		{[]string{"-regions", "eu-west-1,Mars"}, `-regions: "Mars" is not a Region`},
		{[]string{"-regions", "eu-west-1,,us-east-1"}, `-regions: "" is not a Region`},
		{[]string{"-regions", "eu-west-1/../x"}, `-regions: "eu-west-1/../x" is not a Region`},
		{[]string{"-regions", "eu-west-1", "-format", "yaml"}, `-format: "yaml" is neither text nor json`},
		{[]string{"-regions", "eu-west-1", "extra"}, `unexpected argument "extra"`},
		{[]string{"-nope"}, "flag provided but not defined: -nope"},
	} {
		code, out, errs, connected := main(t, &fakeEnv{self: acct}, c.args...)
		if code != 2 || out != "" || !strings.Contains(errs, c.want) || connected {
			t.Errorf("%q: exit %d, stdout %q, connected %v, stderr:\n%s\nwant exit 2, no output, no AWS and %q",
				c.args, code, out, connected, errs, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	o, err := Parse([]string{"-regions", " eu-west-1, us-gov-west-1,cn-north-1,eu-west-1", "-accounts", acct + "," + acct2 + "," + acct,
		"-assume-role", "path/OrganizationAccountAccessRole", "-format", "json", "-bus", busARN}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Regions: []string{"eu-west-1", "us-gov-west-1", "cn-north-1"}, Accounts: []string{acct, acct2}, Role: "path/OrganizationAccountAccessRole", Bus: busARN, JSON: true}
	if fmt.Sprint(o) != fmt.Sprint(want) {
		t.Errorf("%+v, want %+v", o, want)
	}
}

func TestExitStatus(t *testing.T) {
	regions := []string{"eu-west-1", "us-east-1"}
	covered := func() *fakeEnv {
		return &fakeEnv{self: acct, accounts: map[string]*fakeAccount{acct: coveredAccount(acct, regions...), acct2: coveredAccount(acct2, regions...)}}
	}
	all := []string{"-regions", "eu-west-1,us-east-1", "-accounts", acct + "," + acct2, "-assume-role", "R", "-bus", busARN}

	if code, _, errs, _ := main(t, covered(), all...); code != 0 {
		t.Errorf("all covered: exit %d, stderr %s", code, errs)
	}
	blind := covered()
	blind.accounts[acct2].stopped = map[string]bool{aws.ToString(blind.accounts[acct2].trails[0].TrailARN): true}
	if code, _, _, _ := main(t, blind, all...); code != 1 {
		t.Errorf("a stopped trail: exit %d, want 1", code)
	}
	refused := covered()
	refused.loginErr = map[string]error{acct2: apiErr("STS", "AssumeRole", "AccessDenied", "no")}
	if code, out, _, _ := main(t, refused, append(all, "-format", "json")...); code != 1 || strings.Count(out, "\n") != 4 {
		t.Errorf("a refused role: exit %d, want 1 with every cell printed:\n%s", code, out)
	}
	// In text, the failed login shows once per cell on stderr, not as a
	// rule error and again as a trail error.
	if code, _, errs, _ := main(t, refused, all...); code != 1 || strings.Count(errs, "AssumeRole") != 2 {
		t.Errorf("a refused role: exit %d, want 1 and one line per cell:\n%s", code, errs)
	}
	if code, out, errs, _ := main(t, nil, "-regions", "eu-west-1", "-bus", busARN); code != 1 || out != "" || !strings.Contains(errs, "load AWS configuration: no") {
		t.Errorf("no configuration: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	noCreds := covered()
	noCreds.callerErr = errors.New("who am I (sts:GetCallerIdentity): no credentials")
	if code, out, errs, _ := main(t, noCreds, "-regions", "eu-west-1", "-bus", busARN); code != 1 || out != "" || !strings.Contains(errs, "no credentials") {
		t.Errorf("no credentials: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	// Without -accounts: the caller's own account.
	code, out, _, _ := main(t, covered(), "-regions", "us-east-1", "-bus", busARN)
	if code != 0 || !strings.Contains(out, acct+"  us-east-1") || strings.Contains(out, acct2) {
		t.Errorf("own account: exit %d:\n%s", code, out)
	}
}

// twoByTwo: two accounts by two Regions; 222222222222 has no rule in
// us-east-1 and cannot list its trails in eu-west-1.
func twoByTwo() *fakeEnv {
	regions := []string{"eu-west-1", "us-east-1"}
	env := &fakeEnv{self: "999999999999", accounts: map[string]*fakeAccount{acct: coveredAccount(acct, regions...), acct2: coveredAccount(acct2, regions...)}}
	delete(env.accounts[acct2].rules, "us-east-1")
	env.accounts[acct2].errs = map[string]error{"DescribeTrails@eu-west-1": apiErr("CloudTrail", "DescribeTrails", "AccessDeniedException", "User: arn:aws:sts::222222222222:assumed-role/R/sgwatch-coverage is not authorized")}
	return env
}

func TestTextOutput(t *testing.T) {
	code, out, errs, _ := main(t, twoByTwo(), "-regions", "eu-west-1,us-east-1", "-accounts", acct+","+acct2, "-assume-role", "R", "-bus", busARN)
	want := "" +
		"ACCOUNT       REGION     RULE                           TRAIL                                        VERDICT\n" +
		"111111111111  eu-west-1  forwarder (sgwatch-forwarder)  logging (org-trail)                          ok\n" +
		"111111111111  us-east-1  forwarder (sgwatch-forwarder)  logging (org-trail)                          ok\n" +
		"222222222222  eu-west-1  forwarder (sgwatch-forwarder)  error: DescribeTrails AccessDeniedException  BLIND SPOT\n" +
		"222222222222  us-east-1  missing                        logging (org-trail)                          BLIND SPOT\n"
	if code != 1 || out != want {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s", code, out, want)
	}
	wantErr := "sgwatch coverage: 222222222222 eu-west-1: operation error CloudTrail: DescribeTrails, api error AccessDeniedException: User: arn:aws:sts::222222222222:assumed-role/R/sgwatch-coverage is not authorized\n" +
		"sgwatch coverage: 2 of 4 cells (2 accounts × 2 Regions) are blind spots\n"
	if errs != wantErr {
		t.Errorf("stderr:\n%s\nwant:\n%s", errs, wantErr)
	}
}

func TestJSONOutput(t *testing.T) {
	code, out, _, _ := main(t, twoByTwo(), "-regions", "eu-west-1,us-east-1", "-accounts", acct+","+acct2, "-assume-role", "R", "-bus", busARN, "-format", "json")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 1 || len(lines) != 4 {
		t.Fatalf("exit %d, %d lines:\n%s", code, len(lines), out)
	}
	want := []Cell{
		{Account: acct, Region: "eu-west-1", Rule: RuleForwarder, RuleName: "sgwatch-forwarder", Trail: TrailLogging, TrailName: "org-trail", Verdict: Covered},
		{Account: acct, Region: "us-east-1", Rule: RuleForwarder, RuleName: "sgwatch-forwarder", Trail: TrailLogging, TrailName: "org-trail", Verdict: Covered},
		{Account: acct2, Region: "eu-west-1", Rule: RuleForwarder, RuleName: "sgwatch-forwarder", Trail: TrailError, Verdict: BlindSpot,
			TrailError: &CallError{Operation: "DescribeTrails", Code: "AccessDeniedException",
				Message: "operation error CloudTrail: DescribeTrails, api error AccessDeniedException: User: arn:aws:sts::222222222222:assumed-role/R/sgwatch-coverage is not authorized"}},
		{Account: acct2, Region: "us-east-1", Rule: RuleMissing, Trail: TrailLogging, TrailName: "org-trail", Verdict: BlindSpot},
	}
	for i, l := range lines {
		var got Cell
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, l)
		}
		if g, w := fmt.Sprintf("%+v %+v", got, got.TrailError), fmt.Sprintf("%+v %+v", want[i], want[i].TrailError); g != w {
			t.Errorf("line %d:\n got %s\nwant %s", i, g, w)
		}
	}
	if !strings.Contains(lines[0], `"verdict":"ok"`) || !strings.Contains(lines[3], `"rule":"missing"`) || strings.Contains(lines[3], "ruleName") {
		t.Errorf("JSON field names: %s / %s", lines[0], lines[3])
	}
}

// TestHostileText: names and error messages an account's users control
// cannot add lines or columns to the table, or carry control and bidi
// characters to a terminal, in either format.
func TestHostileText(t *testing.T) {
	env := twoByTwo()
	hostile := "evil\n111111111111  eu-west-1  forwarder  logging  ok\t\x1b[2J\u202e" + strings.Repeat("x", 200)
	a := env.accounts[acct]
	for r := range a.rules {
		a.rules[r] = []ebtypes.Rule{rule(hostile, sgPattern(sgCalls()), ebtypes.RuleStateEnabled)}
	}
	a.targets = map[string][]ebtypes.Target{hostile: targetsTo(busARN)}
	a.trails[0].Name = aws.String(hostile)
	env.accounts[acct2].errs["DescribeTrails@eu-west-1"] = apiErr("CloudTrail", "DescribeTrails", "Access\nDenied\t\x1b[31m", "line one\nline two\r\x1b]0;title\a")
	for _, format := range []string{"text", "json"} {
		code, out, errs, _ := main(t, env, "-regions", "eu-west-1,us-east-1", "-accounts", acct+","+acct2, "-assume-role", "R", "-bus", busARN, "-format", format)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		wantLines := 4
		if format == "text" {
			wantLines = 5
		}
		if code != 1 || len(lines) != wantLines {
			t.Errorf("%s: exit %d, %d lines, want %d:\n%s", format, code, len(lines), wantLines, out)
		}
		for _, s := range []string{out, errs} {
			for _, r := range s {
				if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
					t.Errorf("%s: output holds %U:\n%s", format, r, s)
					break
				}
			}
		}
		// Text: one line for the error and the summary; JSON: the summary.
		if wantErrs := map[string]int{"text": 2, "json": 1}[format]; strings.Count(errs, "\n") != wantErrs {
			t.Errorf("%s: stderr is not %d lines:\n%s", format, wantErrs, errs)
		}
		if format == "text" {
			for _, l := range lines[1:] {
				if f := strings.Fields(l); f[len(f)-1] != "ok" && !strings.HasSuffix(l, "BLIND SPOT") {
					t.Errorf("row does not end in a verdict: %q", l)
				}
			}
			if !strings.Contains(out, "forwarder (evil?111111111111  eu-west-1  forwarder  logging  ok??[2J?xxx") || !strings.Contains(out, "x…)") {
				t.Errorf("names are not shown cleaned and cut:\n%s", out)
			}
		}
	}
}

// TestAWSEnv: the real Env against a fake STS and EventBridge over HTTP:
// it learns the partition from GetCallerIdentity, assumes
// arn:PARTITION:iam::ACCOUNT:role/NAME once per account with the session
// name sgwatch-coverage, signs that account's calls with the role's
// credentials, and uses the caller's own credentials for the caller's own
// account.
func TestAWSEnv(t *testing.T) {
	var mu sync.Mutex
	var assumed []string
	var signed []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if target := r.Header.Get("X-Amz-Target"); target != "" { // EventBridge (JSON)
			mu.Lock()
			signed = append(signed, target+" "+r.Header.Get("Authorization"))
			mu.Unlock()
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			fmt.Fprint(w, `{"Rules":[]}`)
			return
		}
		form, _ := url.ParseQuery(string(body))
		w.Header().Set("Content-Type", "text/xml")
		switch form.Get("Action") {
		case "GetCallerIdentity":
			fmt.Fprint(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>
<Arn>arn:aws-cn:iam::999999999999:user/auditor</Arn><UserId>AIDA</UserId><Account>999999999999</Account>
</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)
		case "AssumeRole":
			mu.Lock()
			assumed = append(assumed, form.Get("RoleArn")+" "+form.Get("RoleSessionName"))
			mu.Unlock()
			fmt.Fprint(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>
<AccessKeyId>ASIAROLE</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>
</Credentials><AssumedRoleUser><Arn>arn:aws-cn:sts::222222222222:assumed-role/Audit/sgwatch-coverage</Arn><AssumedRoleId>AROA:sgwatch-coverage</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></AssumeRoleResponse>`)
		default:
			http.Error(w, "unexpected "+form.Get("Action"), http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	e := &awsEnv{
		cfg: aws.Config{Region: "cn-north-1", BaseEndpoint: aws.String(srv.URL),
			Credentials: credentials.NewStaticCredentialsProvider("AKIACALLER", "s", "")},
		role: "Audit", creds: map[string]aws.CredentialsProvider{},
	}
	ctx := context.Background()
	self, err := e.Caller(ctx)
	if err != nil || self != "999999999999" {
		t.Fatalf("Caller: %q, %v", self, err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := e.Login(ctx, acct2); err != nil {
				t.Error(err)
			}
			if _, err := e.Events(acct2, "cn-northwest-1").ListRules(ctx, &eventbridge.ListRulesInput{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := e.Login(ctx, self); err != nil {
		t.Error(err)
	}
	if _, err := e.Events(self, "cn-north-1").ListRules(ctx, &eventbridge.ListRulesInput{}); err != nil {
		t.Error(err)
	}
	if want := "arn:aws-cn:iam::222222222222:role/Audit sgwatch-coverage"; len(assumed) != 1 || assumed[0] != want {
		t.Errorf("AssumeRole calls %q, want one: %q", assumed, want)
	}
	if len(signed) != 5 {
		t.Fatalf("%d ListRules calls, want 5", len(signed))
	}
	for i, s := range signed {
		key, region := "Credential=ASIAROLE/", "/cn-northwest-1/events/"
		if i == 4 {
			key, region = "Credential=AKIACALLER/", "/cn-north-1/events/"
		}
		if !strings.HasPrefix(s, "AWSEvents.ListRules ") || !strings.Contains(s, key) || !strings.Contains(s, region) {
			t.Errorf("call %d signed as %q, want %s…%s", i, s, key, region)
		}
	}
}

// TestParseBus: -bus takes the central event bus ARN, and nothing else.
func TestParseBus(t *testing.T) {
	o, err := Parse([]string{"-regions", "eu-west-1", "-bus", busARN}, io.Discard)
	if err != nil || o.Bus != busARN {
		t.Errorf("Parse -bus %s: %+v, %v", busARN, o, err)
	}
	for _, bad := range []string{"sgwatch", "arn:aws:events:us-east-1:999999999999:rule/sgwatch", "arn:aws:sqs:us-east-1:999999999999:q", busARN + " x"} {
		if _, err := Parse([]string{"-regions", "eu-west-1", "-bus", bad}, io.Discard); err == nil || !strings.Contains(err.Error(), "-bus") {
			t.Errorf("Parse -bus %q: %v, want an error naming -bus", bad, err)
		}
	}
}

// TestOwnTargetsCommand: the command counts only sgwatch's own targets,
// named with -function, -bus or read from the central stack (-stack); a
// run that names none is a usage error, and a stack that is not sgwatch's
// stops the run.
func TestOwnTargetsCommand(t *testing.T) {
	const member = "111122223333"
	doNothing := "arn:aws:lambda:eu-west-1:" + member + ":function:do-nothing"
	env := func(target string) *fakeEnv {
		a := coveredAccount(member, "eu-west-1")
		a.targets = map[string][]ebtypes.Target{"sgwatch-forwarder": targetsTo(target)}
		return &fakeEnv{self: member, accounts: map[string]*fakeAccount{member: a}, stacks: map[string]map[string]string{
			"sgwatch": {OutputFunction: lambdaARN, OutputBus: busARN, "TopicArn": "arn:aws:sns:us-east-1:999999999999:t"},
			"arn:aws:cloudformation:eu-west-1:999999999999:stack/single/0a1b2c3d-0000-1111-2222-333344445555": {OutputFunction: lambdaARN},
			"forwarder": {"UndeliveredEventQueueUrl": "https://sqs.eu-west-1.amazonaws.com/999999999999/q"},
			"odd-bus":   {OutputFunction: lambdaARN, OutputBus: "sgwatch\n"},
		}}
	}
	for _, c := range []struct {
		name   string
		target string
		args   []string
		code   int
		row    string // the RULE and VERDICT of the one row
		errs   string // in stderr
	}{
		{"a do-nothing function, -function by ARN", doNothing, []string{"-function", lambdaARN}, 1, "other target (sgwatch-forwarder) BLIND SPOT", "1 of 1 cells"},
		{"a do-nothing function, -function by name", doNothing, []string{"-function", "sgwatch-SgwatchFunction-abc,other"}, 1, "other target (sgwatch-forwarder) BLIND SPOT", "1 of 1 cells"},
		{"a do-nothing function, -stack", doNothing, []string{"-stack", "sgwatch"}, 1, "other target (sgwatch-forwarder) BLIND SPOT", "1 of 1 cells"},
		{"a do-nothing function, -bus only", doNothing, []string{"-bus", busARN}, 1, "unconfirmed function (sgwatch-forwarder) BLIND SPOT",
			"1 cell sends the calls to a Lambda function sgwatch cannot confirm is its own: pass -function or -stack"},
		{"a bus, -function only", busARN, []string{"-function", lambdaARN}, 1, "unconfirmed bus (sgwatch-forwarder) BLIND SPOT",
			"1 cell sends the calls to an event bus sgwatch cannot confirm is the central one: pass -bus or -stack"},
		{"sgwatch's function, -stack", lambdaARN, []string{"-stack", "sgwatch"}, 0, "central (sgwatch-forwarder) ok", "0 of 1 cells"},
		{"the central bus, -stack", busARN, []string{"-stack", "sgwatch"}, 0, "forwarder (sgwatch-forwarder) ok", "0 of 1 cells"},
		{"sgwatch's function, -stack by ARN, no bus output", lambdaARN,
			[]string{"-stack", "arn:aws:cloudformation:eu-west-1:999999999999:stack/single/0a1b2c3d-0000-1111-2222-333344445555"}, 0, "central (sgwatch-forwarder) ok", "0 of 1 cells"},
		{"a bus, -stack without a bus output", busARN,
			[]string{"-stack", "arn:aws:cloudformation:eu-west-1:999999999999:stack/single/0a1b2c3d-0000-1111-2222-333344445555"}, 1, "unconfirmed bus (sgwatch-forwarder) BLIND SPOT", "pass -bus or -stack"},
		{"a stack that does not exist", lambdaARN, []string{"-stack", "nope"}, 1, "", "DescribeStacks, api error ValidationError: Stack with id nope does not exist"},
		{"the forwarder's stack", lambdaARN, []string{"-stack", "forwarder"}, 1, "", "stack forwarder: no FunctionArn output that is a Lambda function ARN: is it sgwatch's central stack (template.yaml)?"},
		{"a stack whose bus output is not a bus", busARN, []string{"-stack", "odd-bus"}, 1, "", `stack odd-bus: its CentralEventBusArn output "sgwatch?" is not an event bus ARN`},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs, _ := main(t, env(c.target), append([]string{"-regions", "eu-west-1"}, c.args...)...)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			row := ""
			if len(lines) == 2 { // columns are two spaces apart or more
				var cols []string
				for _, col := range strings.Split(lines[1], "  ") {
					if col = strings.TrimSpace(col); col != "" {
						cols = append(cols, col)
					}
				}
				if len(cols) == 5 {
					row = cols[2] + " " + cols[4]
				}
			}
			if code != c.code || row != c.row || !strings.Contains(errs, c.errs) {
				t.Errorf("exit %d, row %q, stderr:\n%s\nwant exit %d, row %q, stderr with %q\n%s", code, row, errs, c.code, c.row, c.errs, out)
			}
		})
	}

	// Naming none of sgwatch's targets is a usage error: nothing would count.
	code, out, errs, connected := main(t, env(lambdaARN), "-regions", "eu-west-1")
	if code != 2 || out != "" || connected || !strings.Contains(errs, "name sgwatch's own targets, which alone count: -stack NAME (the central stack), or -bus ARN and/or -function NAME|ARN") {
		t.Errorf("no -stack, -bus or -function: exit %d, connected %v, stdout %q, stderr %q", code, connected, out, errs)
	}
}

func TestParseOwnTargets(t *testing.T) {
	o, err := Parse([]string{"-regions", "eu-west-1", "-function", "sgwatch-fn, " + lambdaARN + ":live,sgwatch-fn", "-stack", "sgwatch-central"}, io.Discard)
	want := []Function{{Name: "sgwatch-fn"}, {Name: "sgwatch-SgwatchFunction-abc", Partition: "aws", Region: "us-east-1", Account: "999999999999"}}
	if err != nil || fmt.Sprint(o.Functions) != fmt.Sprint(want) || o.Stack != "sgwatch-central" {
		t.Errorf("%+v, %v; want functions %+v and stack sgwatch-central", o, err, want)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-function", "do nothing"}, `-function: "do nothing" is not a Lambda function name or ARN`},
		{[]string{"-function", "a,,b"}, `-function: "" is not a Lambda function name or ARN`},
		{[]string{"-function", "arn:aws:lambda:eu-west-1:111122223333:function:f:a:b"}, `-function: "arn:aws:lambda:eu-west-1:111122223333:function:f:a:b" is not`},
		{[]string{"-function", busARN}, "is not a Lambda function name or ARN"},
		{[]string{"-stack", "1stack"}, `-stack: "1stack" is not a CloudFormation stack name or ARN`},
		{[]string{"-stack", "arn:aws:cloudformation:eu-west-1:999999999999:stack/sgwatch"}, "-stack:"},
		{[]string{"-stack", "sgwatch;rm"}, "-stack:"},
		// By name, any member account could make a function that counts.
		{[]string{"-accounts", "111122223333,444455556666", "-assume-role", "audit", "-function", "sgwatch-fn"}, `-function: with -accounts, give sgwatch's function as an ARN, not the name "sgwatch-fn"`},
	} {
		if _, err := Parse(append([]string{"-regions", "eu-west-1"}, c.args...), io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error with %q", c.args, err, c.want)
		}
	}
}

// TestAWSStackOutputs: the real Env reads the central stack's outputs with
// DescribeStacks, in the Region of the stack's ARN, or in the configured
// one for a name; a deleted stack or a refused call is an error.
func TestAWSStackOutputs(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		name := form.Get("StackName")
		mu.Lock()
		asked = append(asked, form.Get("Action")+" "+name+" "+strings.Split(strings.Split(r.Header.Get("Authorization"), "Credential=")[1], ",")[0])
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		status := "UPDATE_COMPLETE"
		switch {
		case name == "refused":
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform cloudformation:DescribeStacks</Message></Error><RequestId>1</RequestId></ErrorResponse>`)
			return
		case strings.Contains(name, "/gone/"):
			status = "DELETE_COMPLETE"
		}
		fmt.Fprintf(w, `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
<StackName>sgwatch</StackName><StackId>arn:aws:cloudformation:eu-west-1:999999999999:stack/sgwatch/1</StackId><StackStatus>%s</StackStatus><CreationTime>2024-01-01T00:00:00Z</CreationTime>
<Outputs><member><OutputKey>FunctionArn</OutputKey><OutputValue>%s</OutputValue></member><member><OutputKey>CentralEventBusArn</OutputKey><OutputValue>%s</OutputValue></member></Outputs>
</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></DescribeStacksResponse>`, status, lambdaARN, busARN)
	}))
	defer srv.Close()
	e := &awsEnv{
		cfg:   aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("AKIACALLER", "s", "")},
		creds: map[string]aws.CredentialsProvider{},
	}
	ctx := context.Background()
	got, err := e.StackOutputs(ctx, "sgwatch")
	if err != nil || got[OutputFunction] != lambdaARN || got[OutputBus] != busARN {
		t.Errorf("StackOutputs(sgwatch) = %v, %v", got, err)
	}
	byARN := "arn:aws:cloudformation:ap-southeast-2:999999999999:stack/sgwatch/0a1b2c3d"
	if _, err := e.StackOutputs(ctx, byARN); err != nil {
		t.Errorf("StackOutputs(%s): %v", byARN, err)
	}
	if _, err := e.StackOutputs(ctx, "arn:aws:cloudformation:eu-west-1:999999999999:stack/gone/0a1b"); err == nil || !strings.Contains(err.Error(), "is deleted") {
		t.Errorf("a deleted stack: %v", err)
	}
	if _, err := e.StackOutputs(ctx, "refused"); err == nil || !strings.Contains(err.Error(), "read the central stack refused in eu-west-1 (cloudformation:DescribeStacks)") ||
		!strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("a refused call: %v", err)
	}
	// Credential=KEY/DATE/REGION/SERVICE/aws4_request: the Region signed for.
	want := []string{"DescribeStacks sgwatch AKIACALLER /eu-west-1/cloudformation/", "DescribeStacks " + byARN + " AKIACALLER /ap-southeast-2/cloudformation/"}
	for i, w := range want {
		f := strings.Fields(w)
		if i >= len(asked) || !strings.HasPrefix(asked[i], f[0]+" "+f[1]+" "+f[2]+"/") || !strings.Contains(asked[i], f[3]) {
			t.Errorf("calls %q, want call %d to be %q", asked, i, w)
		}
	}
}
