package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/handler"
	"github.com/sgwatch/sgwatch/policy"
	"github.com/sgwatch/sgwatch/report"
	"github.com/sgwatch/sgwatch/revert"
	"github.com/sgwatch/sgwatch/sweep"
)

// samTemplate is the part of template.yaml these tests read.
type samTemplate struct {
	Resources map[string]struct {
		Type       string         `yaml:"Type"`
		Condition  string         `yaml:"Condition"`
		Metadata   map[string]any `yaml:"Metadata"`
		Properties struct {
			Handler       string   `yaml:"Handler"`
			Runtime       string   `yaml:"Runtime"`
			Architectures []string `yaml:"Architectures"`
			MemorySize    int      `yaml:"MemorySize"`
			Timeout       int      `yaml:"Timeout"`
			Events        map[string]struct {
				Type       string `yaml:"Type"`
				Properties struct {
					EventBusName string `yaml:"EventBusName"`
					Pattern      struct {
						Source     []string       `yaml:"source"`
						DetailType []string       `yaml:"detail-type"`
						Detail     map[string]any `yaml:"detail"`
					} `yaml:"Pattern"`
					RetryPolicy      map[string]int `yaml:"RetryPolicy"`
					DeadLetterConfig map[string]any `yaml:"DeadLetterConfig"`
				} `yaml:"Properties"`
			} `yaml:"Events"`
			EventInvokeConfig struct {
				MaximumRetryAttempts *int `yaml:"MaximumRetryAttempts"`
				DestinationConfig    struct {
					OnFailure struct {
						Type string `yaml:"Type"`
					} `yaml:"OnFailure"`
				} `yaml:"DestinationConfig"`
			} `yaml:"EventInvokeConfig"`
			KmsMasterKeyID any `yaml:"KmsMasterKeyId"`
		} `yaml:"Properties"`
	} `yaml:"Resources"`
	Parameters map[string]any `yaml:"Parameters"`
	Outputs    map[string]any `yaml:"Outputs"`
}

func readTemplate(t *testing.T) samTemplate {
	t.Helper()
	data, err := os.ReadFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl samTemplate
	if err := yaml.Unmarshal(data, &tpl); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return tpl
}

// TestTemplateFunction checks the function's runtime settings and that its
// EventBridge pattern selects exactly the calls the detector reports.
func TestTemplateFunction(t *testing.T) {
	tpl := readTemplate(t)
	fn, ok := tpl.Resources["SgwatchFunction"]
	if !ok || fn.Type != "AWS::Serverless::Function" {
		t.Fatal("no SgwatchFunction")
	}
	p := fn.Properties
	if p.Handler != "bootstrap" || p.Runtime != "provided.al2023" || !slices.Equal(p.Architectures, []string{"arm64"}) || p.MemorySize != 128 {
		t.Errorf("function %s/%s/%v/%d MB", p.Handler, p.Runtime, p.Architectures, p.MemorySize)
	}
	if fn.Metadata["BuildMethod"] != "go1.x" {
		t.Errorf("BuildMethod %v", fn.Metadata["BuildMethod"])
	}
	// An event takes seconds; a sweep of many groups, accounts and Regions
	// minutes. Lambda allows at most 900 s.
	if p.Timeout < 300 || p.Timeout > 900 {
		t.Errorf("Timeout %d s, want 300 to 900 s for a sweep", p.Timeout)
	}
	if len(p.Events) != 1 {
		t.Fatalf("%d events, want the one EventBridge rule", len(p.Events))
	}
	for _, ev := range p.Events {
		pat := ev.Properties.Pattern
		if ev.Type != "EventBridgeRule" || ev.Properties.EventBusName != "" {
			t.Errorf("event %s on bus %q, want EventBridgeRule on the default bus", ev.Type, ev.Properties.EventBusName)
		}
		if !slices.Equal(pat.Source, []string{"aws.ec2"}) || !slices.Equal(pat.DetailType, []string{"AWS API Call via CloudTrail"}) {
			t.Errorf("pattern %+v", pat)
		}
		// The detail is detect.Pattern: the security-group calls, and the tag
		// calls with an sgwatch: key only.
		got, want := canon(deepCopy(t, pat.Detail)), canon(deepCopy(t, detect.Pattern()))
		for _, d := range patternDiff("detail", want, got) {
			t.Errorf("pattern: %s", d)
		}
		if ev.Properties.RetryPolicy["MaximumRetryAttempts"] == 0 || ev.Properties.DeadLetterConfig["Arn"] == nil {
			t.Errorf("rule needs a RetryPolicy and an SQS DeadLetterConfig: %+v %+v", ev.Properties.RetryPolicy, ev.Properties.DeadLetterConfig)
		}
	}
	if c := p.EventInvokeConfig; c.MaximumRetryAttempts == nil || c.DestinationConfig.OnFailure.Type != "SQS" {
		t.Errorf("EventInvokeConfig %+v, want retries and an SQS OnFailure destination", c)
	}
	if tpl.Resources["Topic"].Properties.KmsMasterKeyID == nil {
		t.Error("topic is not KMS-encrypted")
	}
	tls := false
	for _, st := range statements(at(templateValue(t), "Resources", "TopicPolicy"), "PolicyDocument") {
		tls = tls || (st["Effect"] == "Deny" && at(st, "Condition", "Bool", "aws:SecureTransport") == "false")
	}
	if !tls {
		t.Error("topic policy does not deny requests without TLS")
	}
	for _, p := range []string{"NotificationEmail", "ExistingTopicArn", "NotificationFormat"} {
		if tpl.Parameters[p] == nil {
			t.Errorf("no %s parameter", p)
		}
	}
	for _, o := range []string{"TopicArn", "FunctionArn", "UndeliveredEventQueueArn", "FailedInvocationQueueArn"} {
		if tpl.Outputs[o] == nil {
			t.Errorf("no %s output", o)
		}
	}
}

// TestTemplateTuning checks that every variable the function reads is set
// from a template parameter, and that the EC2 permissions ENRICH needs are
// read-only and granted only when it is enabled (TestTemplateEnrich checks
// that no other resource but the sweep's grants them).
func TestTemplateTuning(t *testing.T) {
	data, err := os.ReadFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Parameters map[string]any `yaml:"Parameters"`
		Globals    struct {
			Function struct {
				Environment struct {
					Variables map[string]yaml.Node `yaml:"Variables"`
				} `yaml:"Environment"`
			} `yaml:"Function"`
		} `yaml:"Globals"`
		Resources map[string]struct {
			Condition  string `yaml:"Condition"`
			Properties struct {
				Environment struct {
					Variables map[string]yaml.Node `yaml:"Variables"`
				} `yaml:"Environment"`
				PolicyDocument struct {
					// A statement may be !If [condition, statement, !Ref AWS::NoValue].
					Statement []yaml.Node `yaml:"Statement"`
				} `yaml:"PolicyDocument"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(data, &tpl); err != nil {
		t.Fatal(err)
	}
	vars := tpl.Globals.Function.Environment.Variables // both functions'
	for v, param := range map[string]string{
		"EXTRA_SENSITIVE_PORTS": "ExtraSensitivePorts", "AUTHORIZED_PUBLIC_PORTS": "AuthorizedPublicPorts", "TRUSTED_PRINCIPALS": "TrustedPrincipals",
		"TRUSTED_SERVICES": "TrustedServices", "SUPPRESS": "Suppress", "MIN_SEVERITY": "MinSeverity", "ENRICH": "Enrich",
		"SWEEP": "Sweep", "SWEEP_REGIONS": "SweepRegions", "SWEEP_ACCOUNTS": "SweepAccounts", "SWEEP_ROLE": "SweepRoleName",
		"REVERT": "Revert", "REVERT_AFTER": "RevertAfter", "REVERT_EXEMPT": "RevertExempt", "REVERT_INCLUDE": "RevertInclude",
	} {
		n, ok := vars[v]
		if !ok || n.Tag != "!Ref" || n.Value != param || tpl.Parameters[param] == nil {
			t.Errorf("%s is not set from parameter %s", v, param)
		}
	}
	// Every variable the policy reads is set, so that none is left at a
	// default the template cannot change.
	for _, v := range policy.Variables {
		if _, ok := vars[v]; !ok {
			t.Errorf("the policy reads %s, which the template does not set", v)
		}
	}
	enrich := tpl.Resources["EnrichPolicy"]
	if enrich.Condition != "EnrichEnabled" {
		t.Errorf("EnrichPolicy has condition %q, want EnrichEnabled", enrich.Condition)
	}
	st := enrich.Properties.PolicyDocument.Statement
	var actions []string
	if len(st) == 1 {
		var one struct {
			Action yaml.Node `yaml:"Action"`
		}
		if err := st[0].Decode(&one); err == nil {
			_ = one.Action.Decode(&actions)
		}
	}
	if !slices.Equal(actions, []string{"ec2:DescribeSecurityGroups", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroupRules",
		"ec2:DescribeManagedPrefixLists", "ec2:GetManagedPrefixListEntries",
		"ec2:DescribeRouteTables", "ec2:DescribeVpcBlockPublicAccessOptions", "ec2:DescribeVpcBlockPublicAccessExclusions", "ec2:DescribeNetworkAcls", "elasticloadbalancing:DescribeLoadBalancers"}) {
		t.Errorf("EnrichPolicy grants %v, want exactly the ten read-only calls", actions)
	}
}

// templateValue is template.yaml as plain values, its short-form intrinsic
// functions in their long form: `!GetAtt A.B` is {"Fn::GetAtt": ["A", "B"]},
// `!Ref X` is {"Ref": "X"}, `!Condition C` is {"Condition": "C"}, `!If [...]`
// is {"Fn::If": [...]}, so that tests compare what CloudFormation sees,
// however the template spells it.
func templateValue(t *testing.T) map[string]any {
	t.Helper()
	v := fileValue(t, "template.yaml")
	// As SAM deploys it: each function's properties over the Globals'.
	globals, _ := at(v, "Globals", "Function").(map[string]any)
	for _, r := range v["Resources"].(map[string]any) {
		if at(r, "Type") == "AWS::Serverless::Function" {
			props := r.(map[string]any)["Properties"].(map[string]any)
			merge(props, globals)
		}
	}
	return v
}

// merge adds to dst what src has and dst does not, map by map.
func merge(dst, src map[string]any) {
	for k, sv := range src {
		dv, ok := dst[k]
		if !ok {
			dst[k] = sv
			continue
		}
		dm, dok := dv.(map[string]any)
		sm, sok := sv.(map[string]any)
		if dok && sok {
			merge(dm, sm)
		}
	}
}

// fileValue is a template file as plain values, as templateValue.
func fileValue(t *testing.T, file string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	v, ok := plain(t, doc.Content[0]).(map[string]any)
	if !ok {
		t.Fatalf("%s is not a mapping", file)
	}
	return v
}

func plain(t *testing.T, n *yaml.Node) any {
	t.Helper()
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = plain(t, n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			l = append(l, plain(t, c))
		}
		v = l
	case yaml.AliasNode:
		return plain(t, n.Alias)
	default:
		v = n.Value
	}
	switch tag := strings.TrimPrefix(n.Tag, "!"); {
	case !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!"):
		return v
	case tag == "Ref" || tag == "Condition":
		return map[string]any{tag: v}
	case tag == "GetAtt":
		if s, ok := v.(string); ok {
			obj, attr, _ := strings.Cut(s, ".")
			v = []any{obj, attr}
		}
		return map[string]any{"Fn::GetAtt": v}
	default:
		return map[string]any{"Fn::" + tag: v}
	}
}

// at walks a plain value by mapping keys and sequence indexes ("0", "1"…);
// nil when something on the way is missing.
func at(v any, path ...string) any {
	for _, p := range path {
		switch c := v.(type) {
		case map[string]any:
			v = c[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

// resourceNames is a policy's Resource as strings: an ARN as it is, a
// !GetAtt X.Arn as "X.Arn".
func resourceNames(v any) []string {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	var out []string
	for _, e := range list {
		switch c := e.(type) {
		case string:
			out = append(out, c)
		case map[string]any:
			if g, ok := c["Fn::GetAtt"].([]any); ok && len(g) == 2 {
				out = append(out, fmt.Sprint(g[0])+"."+fmt.Sprint(g[1]))
			}
		}
	}
	return out
}

// strs is a policy field that may be one string or a list, as a list.
func strs(v any) []string {
	switch c := v.(type) {
	case string:
		return []string{c}
	case []any:
		var out []string
		for _, e := range c {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// statements are the policy statements of a resource's document.
func statements(v any, field string) []map[string]any {
	var out []map[string]any
	for _, st := range at(v, "Properties", field, "Statement").([]any) {
		out = append(out, st.(map[string]any))
	}
	return out
}

// TestTemplateQueueAlarms: a message in either dead-letter queue sets off an
// alarm that notifies the topic sgwatch publishes to, with a description of
// its own saying what happened and what to do.
func TestTemplateQueueAlarms(t *testing.T) {
	tpl := templateValue(t)
	res := tpl["Resources"].(map[string]any)
	topic := map[string]any{"Fn::If": []any{"CreateTopic", map[string]any{"Ref": "Topic"}, map[string]any{"Ref": "ExistingTopicArn"}}}
	if env := at(res, "SgwatchFunction", "Properties", "Environment", "Variables", "SNS_TOPIC_ARN"); !reflect.DeepEqual(env, topic) {
		t.Fatalf("SNS_TOPIC_ARN is %v; the alarms are checked against %v", env, topic)
	}
	descriptions := map[string]string{}
	// The sweep's dead-letter queue exists only when the sweep fans out,
	// the revert checks' only with an approval window.
	conditions := map[string]any{"SweepDeadLetterQueue": "SweepsOtherAccounts", "RevertDeadLetterQueue": "RevertWindow"}
	for _, queue := range []string{"UndeliveredEventQueue", "FailedInvocationQueue", "SweepDeadLetterQueue", "RevertDeadLetterQueue"} {
		var alarms []string
		for name, r := range res {
			dim := map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": []any{queue, "QueueName"}}}
			if at(r, "Type") == "AWS::CloudWatch::Alarm" && reflect.DeepEqual(at(r, "Properties", "Dimensions"), []any{dim}) {
				alarms = append(alarms, name)
			}
		}
		if len(alarms) != 1 {
			t.Errorf("%s: alarms %v, want one", queue, alarms)
			continue
		}
		name, a := alarms[0], res[alarms[0]]
		if c := at(a, "Condition"); c != conditions[queue] {
			t.Errorf("%s has condition %v, want %v: it must exist whichever topic is used, when its queue does", name, c, conditions[queue])
		}
		p := at(a, "Properties").(map[string]any)
		for k, want := range map[string]string{
			"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible", "Statistic": "Maximum",
			"Threshold": "1", "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
		} {
			if p[k] != want {
				t.Errorf("%s: %s is %v, want %s", name, k, p[k], want)
			}
		}
		period, _ := strconv.Atoi(fmt.Sprint(p["Period"]))
		evals, _ := strconv.Atoi(fmt.Sprint(p["EvaluationPeriods"]))
		if period < 60 || period*evals > 900 {
			t.Errorf("%s: %d periods of %d s, want a message noticed within 15 minutes", name, evals, period)
		}
		if !reflect.DeepEqual(p["AlarmActions"], []any{topic}) {
			t.Errorf("%s: AlarmActions %v, want the topic %v", name, p["AlarmActions"], topic)
		}
		d, _ := p["AlarmDescription"].(string)
		output := queue + "Url"
		if len(d) > 1024 || !strings.Contains(d, output) || !strings.Contains(d, "redrive") || tpl["Outputs"].(map[string]any)[output] == nil {
			t.Errorf("%s: description %q: want at most 1,024 characters naming the %s output and how to redrive", name, d, output)
		}
		descriptions[queue] = d
	}
	if descriptions["UndeliveredEventQueue"] == descriptions["FailedInvocationQueue"] {
		t.Error("both alarms have the same description: each must say what its queue means")
	}
}

// TestTemplateCloudWatchMayUseTheTopic: the created topic is encrypted with
// TopicKey, so CloudWatch needs the key as well as sns:Publish on the topic,
// restricted to this account or to the alarms.
func TestTemplateCloudWatchMayUseTheTopic(t *testing.T) {
	res := templateValue(t)["Resources"].(map[string]any)
	if !reflect.DeepEqual(at(res, "Topic", "Properties", "KmsMasterKeyId"), map[string]any{"Ref": "TopicKey"}) {
		t.Fatalf("Topic is encrypted with %v, want TopicKey", at(res, "Topic", "Properties", "KmsMasterKeyId"))
	}
	account := map[string]any{"Ref": "AWS::AccountId"}

	key := cloudwatchStatements(t, res, "TopicKey", "KeyPolicy")
	if a := strs(key[0]["Action"]); !slices.Contains(a, "kms:GenerateDataKey*") || !slices.Contains(a, "kms:Decrypt") || len(a) != 2 {
		t.Errorf("TopicKey lets CloudWatch %v, want kms:GenerateDataKey* and kms:Decrypt", a)
	}
	if c := at(key[0], "Condition", "StringEquals", "aws:SourceAccount"); !reflect.DeepEqual(c, account) {
		t.Errorf("TopicKey's CloudWatch statement has aws:SourceAccount %v, want this account", c)
	}

	pub := cloudwatchStatements(t, res, "TopicPolicy", "PolicyDocument")
	st := pub[0]
	if !slices.Equal(strs(st["Action"]), []string{"sns:Publish"}) || !reflect.DeepEqual(st["Resource"], map[string]any{"Ref": "Topic"}) {
		t.Errorf("TopicPolicy lets CloudWatch %v on %v, want sns:Publish on the topic", st["Action"], st["Resource"])
	}
	// In each deployment, exactly the alarms it creates.
	for _, params := range []map[string]string{{}, {"Sweep": "true", "SweepAccounts": "111111111111"}, {"Revert": "high", "RevertAfter": "15m"},
		{"SweepAccounts": "organization", "Revert": "critical", "RevertAfter": "4h"}} {
		d := deploy(t, templateValue(t), params)
		var alarms []any
		for name, r := range res {
			if at(r, "Type") == "AWS::CloudWatch::Alarm" && (at(r, "Condition") == nil || d.condition(t, at(r, "Condition").(string))) {
				alarms = append(alarms, map[string]any{"Fn::GetAtt": []any{name, "Arn"}})
			}
		}
		sourceArns, _ := d.eval(t, at(st, "Condition", "ArnEquals", "aws:SourceArn")).([]any)
		byAccount := reflect.DeepEqual(at(st, "Condition", "StringEquals", "aws:SourceAccount"), account)
		byAlarm := len(sourceArns) == len(alarms) && len(alarms) >= 2
		for _, a := range alarms {
			byAlarm = byAlarm && slices.ContainsFunc(sourceArns, func(s any) bool { return reflect.DeepEqual(s, a) })
		}
		if !byAccount || !byAlarm {
			t.Errorf("%v: TopicPolicy's CloudWatch condition %v: want this account and exactly the alarms %v", params, st["Condition"], alarms)
		}
	}
}

// TestTemplateDeadLetterPolicyNamesTheRule: only sgwatch's rules may send to
// their dead-letter queue, each by its ARN: the rule SAM generates for the
// function's event (named after the function and the event), when the
// central event bus exists the rule on it, and when the sweep is on the
// rule that asks for a sweep after a deployment; whichever parameters are
// given.
func TestTemplateDeadLetterPolicyNamesTheRule(t *testing.T) {
	tpl := templateValue(t)
	events, _ := at(tpl, "Resources", "SgwatchFunction", "Properties", "Events").(map[string]any)
	if len(events) != 1 {
		t.Fatalf("%d events, want the one rule", len(events))
	}
	dlq := map[string]any{"Fn::GetAtt": []any{"UndeliveredEventQueue", "Arn"}}
	var samRule string
	for name, e := range events {
		samRule = "SgwatchFunction" + name
		if d := at(e, "Properties", "DeadLetterConfig", "Arn"); !reflect.DeepEqual(d, dlq) {
			t.Errorf("the rule's dead-letter queue is %v, want UndeliveredEventQueue", d)
		}
	}
	for _, c := range withSweep(organizationCases) {
		t.Run(c.name, func(t *testing.T) {
			res := deploy(t, tpl, c.params).resources(t)
			// The rules that use the queue, by their ARN.
			want := []any{map[string]any{"Fn::GetAtt": []any{samRule, "Arn"}}}
			for name, r := range res {
				if at(r, "Type") != "AWS::Events::Rule" {
					continue
				}
				for _, target := range at(r, "Properties", "Targets").([]any) {
					if reflect.DeepEqual(at(target, "DeadLetterConfig", "Arn"), dlq) {
						want = append(want, map[string]any{"Fn::GetAtt": []any{name, "Arn"}})
					}
				}
			}
			// Each Allow statement lets EventBridge send for some of the rules,
			// named by their ARN and nothing else.
			var got []any
			for _, st := range statements(res["UndeliveredEventQueuePolicy"], "PolicyDocument") {
				if st["Effect"] != "Allow" {
					continue
				}
				if !reflect.DeepEqual(st["Principal"], map[string]any{"Service": "events.amazonaws.com"}) || st["Action"] != "sqs:SendMessage" {
					t.Errorf("UndeliveredEventQueuePolicy allows %v to %v, want EventBridge to send alone", st["Principal"], st["Action"])
				}
				cond, _ := st["Condition"].(map[string]any)
				arns := at(cond, "ArnEquals", "aws:SourceArn")
				if len(cond) != 1 || len(cond["ArnEquals"].(map[string]any)) != 1 || arns == nil {
					t.Errorf("statement %v: want only aws:SourceArn under ArnEquals", st["Sid"])
				}
				if l, ok := arns.([]any); ok {
					got = append(got, l...)
				} else if arns != nil {
					got = append(got, arns)
				}
			}
			if !sameElements(got, want) {
				t.Errorf("EventBridge may send to the queue for %v, want exactly the rules %v", got, want)
			}
		})
	}
}

// sameElements: a and b hold the same values, in any order.
func sameElements(a, b []any) bool {
	key := func(l []any) []string {
		var out []string
		for _, v := range l {
			out = append(out, fmt.Sprintf("%#v", v))
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

// TestTemplateEnrich: live context is on by default, and the EC2 Describe
// calls it needs (DescribeSecurityGroupRules for the direction of a
// ModifySecurityGroupRules change among them) are granted by EnrichPolicy,
// under the EnrichEnabled condition, which is ENRICH=true. The only other
// grants of EC2 calls are the sweep's own, SweepPolicy under SweepEnabled
// (TestTemplateSweepPolicy), and the revert's, RevertPolicy under RevertOn,
// the one write (TestTemplateRevert).
func TestTemplateEnrich(t *testing.T) {
	tpl := templateValue(t)
	if d := at(tpl, "Parameters", "Enrich", "Default"); d != "true" {
		t.Errorf("Enrich defaults to %v, want true", d)
	}
	if c := at(tpl, "Conditions", "EnrichEnabled"); !reflect.DeepEqual(c, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Enrich"}, "true"}}) {
		t.Errorf("EnrichEnabled is %v, want Enrich = true", c)
	}
	for name, r := range tpl["Resources"].(map[string]any) {
		doc, _ := at(r, "Properties", "PolicyDocument").(map[string]any)
		if doc == nil {
			continue
		}
		for _, st := range statements(r, "PolicyDocument") {
			for _, a := range strs(st["Action"]) {
				if !strings.HasPrefix(strings.ToLower(a), "ec2:") {
					continue
				}
				if name == "RevertPolicy" {
					if at(r, "Condition") != "RevertOn" || !slices.Contains(revertEC2, a) {
						t.Errorf("RevertPolicy grants %s under %v: want only %v, under RevertOn", a, at(r, "Condition"), revertEC2)
					}
					continue
				}
				own := map[string]string{"EnrichPolicy": "EnrichEnabled", "SweepPolicy": "SweepEnabled"}
				// Read-only: Describe calls, and reading a prefix list's entries.
				read := strings.HasPrefix(a, "ec2:Describe") || a == "ec2:GetManagedPrefixListEntries"
				if c, ok := own[name]; !ok || at(r, "Condition") != c || !read {
					t.Errorf("%s grants %s: only EnrichPolicy under EnrichEnabled and SweepPolicy under SweepEnabled may grant EC2 Describe calls (and GetManagedPrefixListEntries)", name, a)
				}
			}
		}
	}
	if a := strs(at(tpl, "Resources", "EnrichPolicy", "Properties", "PolicyDocument", "Statement", "0", "Action")); !slices.Contains(a, "ec2:DescribeSecurityGroupRules") {
		t.Errorf("EnrichPolicy grants %v, without ec2:DescribeSecurityGroupRules", a)
	}
}

// TestTemplatePortsPattern: ExtraSensitivePorts takes what
// EXTRA_SENSITIVE_PORTS documents (ports and ranges, each optionally /tcp or
// /udp) and CloudFormation refuses anything else before the function sees it.
// The pattern is read with Go's regexp: it uses only syntax that Go, Java
// (CloudFormation) and Python (cfn-lint) read alike. (One difference: Java's
// and Python's $ also match before a final line break, which the function
// trims.)
func TestTemplatePortsPattern(t *testing.T) {
	p, _ := at(templateValue(t), "Parameters", "ExtraSensitivePorts", "AllowedPattern").(string)
	re, err := regexp.Compile(p)
	if err != nil {
		t.Fatalf("AllowedPattern %q: %v", p, err)
	}
	for _, c := range []struct {
		v  string
		ok bool
	}{
		{"", true},
		{"8443", true},
		{"8443/tcp,53/udp,9000-9100", true},
		{"9000-9100/udp", true},
		{"0-65535/tcp", true},
		{" 8443 , 22/tcp ", true},
		{"8443,9000-9100", true},
		{"http", false},
		{"8443/icmp", false},
		{"8443/", false},
		{"/tcp", false},
		{"8443/tcp/udp", false},
		{"tcp/8443", false},
		{"80-", false},
		{"-80", false},
		{"1,,2", false},
		{"1,", false},
		{"123456", false},
		{"22; rm -rf /", false},
		{"8443 tcp", false},
	} {
		if got := re.MatchString(c.v); got != c.ok {
			t.Errorf("ExtraSensitivePorts %q: accepted %v, want %v", c.v, got, c.ok)
		}
	}
}

// TestTemplateTrustedServicesPattern: the TrustedServices parameter takes
// SERVICE=PRINCIPAL items, so that a stack updated with the bare service
// names of before is refused by CloudFormation before the function changes;
// every value the function accepts, the parameter accepts too.
func TestTemplateTrustedServicesPattern(t *testing.T) {
	p, _ := at(templateValue(t), "Parameters", "TrustedServices", "AllowedPattern").(string)
	re, err := regexp.Compile(p)
	if err != nil {
		t.Fatalf("AllowedPattern %q: %v", p, err)
	}
	const role = "arn:aws:iam::111122223333:role/StackRole"
	for _, c := range []struct {
		v  string
		ok bool
	}{
		{"", true},
		{"cloudformation.amazonaws.com=" + role, true},
		{" cloudformation.amazonaws.com = " + role + " , servicecatalog.amazonaws.com=arn:aws:sts::111122223333:assumed-role/deploy/*", true},
		{"cloudformation.amazonaws.com.cn=arn:aws-cn:iam::111122223333:role/StackRole", true},
		{"cloudformation.amazonaws.com", false},
		{"cloudformation.amazonaws.com,servicecatalog.amazonaws.com", false},
		{"cloudformation.amazonaws.com=" + role + ",servicecatalog.amazonaws.com", false},
		{"cloudformation.amazonaws.com=", false},
		{"cloudformation=" + role, false},
		{"=" + role, false},
		{"cloudformation.amazonaws.com=" + role + ",", false},
		{"cloudformation.amazonaws.com=arn:aws:iam::111122223333:role/a b", false},
	} {
		if got := re.MatchString(c.v); got != c.ok {
			t.Errorf("TrustedServices %q: accepted %v, want %v", c.v, got, c.ok)
		}
		_, err := policy.FromEnv(func(k string) string { return map[string]string{"TRUSTED_SERVICES": c.v}[k] }, time.Now())
		if err == nil && !c.ok {
			t.Errorf("TrustedServices %q: the function accepts what the parameter refuses", c.v)
		}
	}
}

// TestTemplateSAMLocalNames: the topic and the table the template refers to
// have the logical ids the function takes for sam local's unresolved
// values (handler.SAMLocalTopic, handler.SAMLocalTable): a renamed resource
// would leave local mode unreachable, not engage it elsewhere.
func TestTemplateSAMLocalNames(t *testing.T) {
	res := templateValue(t)["Resources"].(map[string]any)
	vars := at(res, "SgwatchFunction", "Properties", "Environment", "Variables")
	for v, want := range map[string]string{"SNS_TOPIC_ARN": handler.SAMLocalTopic, "IDEMPOTENCY_TABLE": handler.SAMLocalTable, "SWEEP_TABLE": handler.SAMLocalTable} {
		if ref := at(vars, v, "Fn::If", "1", "Ref"); ref != want {
			t.Errorf("%s refers to %v when the template creates it, want %s", v, ref, want)
		}
	}
	for name, typ := range map[string]string{handler.SAMLocalTopic: "AWS::SNS::Topic", handler.SAMLocalTable: "AWS::DynamoDB::Table"} {
		if got := at(res, name, "Type"); got != typ {
			t.Errorf("resource %s has type %v, want %s", name, got, typ)
		}
	}
}

// cloudwatchStatements returns the statements of resource name's policy
// document doc that concern CloudWatch; there must be exactly one.
func cloudwatchStatements(t *testing.T, res map[string]any, name, doc string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, st := range statements(res[name], doc) {
		if st["Effect"] == "Allow" && slices.Equal(strs(at(st, "Principal", "Service")), []string{"cloudwatch.amazonaws.com"}) {
			out = append(out, st)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%s: %d statements for CloudWatch, want 1", name, len(out))
	}
	return out
}

// organizationCases are the ways the central stack is deployed: alone (both
// parameters empty, as before the central event bus existed), for an
// organization, for listed accounts, and for both.
var organizationCases = []organizationCase{
	{
		name:    "single account",
		params:  map[string]string{},
		refuses: []caller{{"111111111111", "o-aaaaaaaaaa"}, {"222222222222", ""}},
	},
	{
		name:    "organization",
		params:  map[string]string{"OrganizationId": "o-aaaaaaaaaa"},
		accepts: []caller{{"111111111111", "o-aaaaaaaaaa"}, {"222222222222", "o-aaaaaaaaaa"}},
		refuses: []caller{{"333333333333", "o-bbbbbbbbbb"}, {"444444444444", ""}},
	},
	{
		name:    "listed accounts",
		params:  map[string]string{"MemberAccountIds": "111111111111,222222222222"},
		accepts: []caller{{"111111111111", ""}, {"222222222222", "o-bbbbbbbbbb"}},
		refuses: []caller{{"333333333333", ""}, {"444444444444", "o-aaaaaaaaaa"}, {"11111111111", ""}},
	},
	{
		name:    "organization and listed accounts",
		params:  map[string]string{"OrganizationId": "o-aaaaaaaaaa", "MemberAccountIds": "555555555555"},
		accepts: []caller{{"111111111111", "o-aaaaaaaaaa"}, {"555555555555", ""}, {"555555555555", "o-bbbbbbbbbb"}},
		refuses: []caller{{"333333333333", "o-bbbbbbbbbb"}, {"444444444444", ""}},
	},
}

// organizationCase is a way the central stack is deployed.
type organizationCase struct {
	name   string
	params map[string]string
	// callers the central event bus must accept, and refuse.
	accepts, refuses []caller
}

// withSweep are the cases as given (the sweep on, its default) and each
// again with Sweep false.
func withSweep(cases []organizationCase) []organizationCase {
	out := slices.Clone(cases)
	for _, c := range cases {
		params := maps.Clone(c.params)
		params["Sweep"] = "false"
		c.name, c.params = c.name+", no sweep", params
		out = append(out, c)
	}
	return out
}

// caller is a principal of an account, in an organization ("" for none).
type caller struct{ account, org string }

// TestTemplateCentralBusExistsOnlyWhenAsked: with OrganizationId and
// MemberAccountIds empty (their defaults) the stack is the single-account one:
// no event bus, no rule or Lambda permission besides the ones SAM generates
// for the function's event, no CentralEventBusArn output. With either set,
// the bus, its rule and the rule's permission exist and the bus ARN is an
// output. The sweep's rule and permission exist with the sweep, whichever
// bus. In every case, everything referred to exists.
func TestTemplateCentralBusExistsOnlyWhenAsked(t *testing.T) {
	tpl := templateValue(t)
	for _, p := range []string{"OrganizationId", "MemberAccountIds"} {
		if d, ok := at(tpl, "Parameters", p, "Default").(string); !ok || d != "" {
			t.Errorf("parameter %s defaults to %v, want empty", p, at(tpl, "Parameters", p, "Default"))
		}
	}
	for _, c := range withSweep(organizationCases) {
		t.Run(c.name, func(t *testing.T) {
			d := deploy(t, tpl, c.params)
			res, outputs := d.resources(t), d.outputs(t)
			single := c.params["OrganizationId"] == "" && c.params["MemberAccountIds"] == ""
			var added []string
			for name, r := range res {
				switch at(r, "Type") {
				case "AWS::Events::EventBus", "AWS::Events::EventBusPolicy", "AWS::Events::Rule", "AWS::Lambda::Permission":
					added = append(added, name)
				}
			}
			slices.Sort(added)
			var want []string
			if !single {
				want = append(want, "CentralEventBus", "CentralSecurityGroupChange", "CentralSecurityGroupChangePermission")
			}
			if c.params["Sweep"] != "false" {
				want = append(want, "SweepAfterDeployment", "SweepAfterDeploymentPermission")
			}
			slices.Sort(want)
			if !slices.Equal(added, want) {
				t.Errorf("event buses, rules and permissions %v, want %v", added, want)
			}
			if _, ok := outputs["CentralEventBusArn"]; ok == single {
				t.Errorf("output CentralEventBusArn present: %v, want %v", ok, !single)
			}
			if !single && !reflect.DeepEqual(outputs["CentralEventBusArn"], map[string]any{"Fn::GetAtt": []any{"CentralEventBus", "Arn"}}) {
				t.Errorf("CentralEventBusArn is %v, want the bus's ARN", outputs["CentralEventBusArn"])
			}
			for _, missing := range d.dangling(t) {
				t.Errorf("refers to %s, which does not exist in this deployment", missing)
			}
		})
	}
}

// TestTemplateCentralBusPolicy: the central event bus accepts PutEvents from
// the principals of the organization and of the listed accounts, and from
// nobody else: its policy, evaluated for each deployment, refuses callers
// outside both, other actions and other buses. A statement for any
// principal ("*") must hold the organization condition.
func TestTemplateCentralBusPolicy(t *testing.T) {
	tpl := templateValue(t)
	// As written: the organization statement is conditioned on the
	// OrganizationId parameter, the accounts statement names the parameter's
	// accounts.
	var org, accounts bool
	for _, s := range at(tpl, "Resources", "CentralEventBus", "Properties", "Policy", "Statement").([]any) {
		branches, _ := at(s, "Fn::If").([]any)
		if len(branches) != 3 || !reflect.DeepEqual(branches[2], map[string]any{"Ref": "AWS::NoValue"}) {
			t.Errorf("statement %v: want !If [condition, statement, !Ref AWS::NoValue]", s)
			continue
		}
		st := branches[1]
		switch branches[0] {
		case "HasOrganization":
			org = reflect.DeepEqual(at(st, "Principal"), "*") &&
				reflect.DeepEqual(at(st, "Condition"), map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": map[string]any{"Ref": "OrganizationId"}}})
		case "HasMemberAccounts":
			accounts = reflect.DeepEqual(at(st, "Principal"), map[string]any{"AWS": map[string]any{"Fn::Split": []any{",", map[string]any{"Ref": "MemberAccountIds"}}}}) &&
				at(st, "Condition") == nil
		}
	}
	if !org || !accounts {
		t.Errorf("bus policy: organization statement (any principal, aws:PrincipalOrgID = OrganizationId) %v, "+
			"accounts statement (the accounts of MemberAccountIds) %v; want both", org, accounts)
	}

	for _, c := range organizationCases[1:] {
		t.Run(c.name, func(t *testing.T) {
			res := deploy(t, tpl, c.params).resources(t)
			bus := res["CentralEventBus"]
			name, _ := at(bus, "Properties", "Name").(string)
			arn := "arn:aws:events:" + pseudo["AWS::Region"] + ":" + pseudo["AWS::AccountId"] + ":event-bus/" + name
			policy := at(bus, "Properties", "Policy")
			for _, st := range statements(bus, "Policy") {
				if isAnyone(st["Principal"]) && !reflect.DeepEqual(st["Condition"], map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": c.params["OrganizationId"]}}) {
					t.Errorf("statement %s allows any principal under %v, want only aws:PrincipalOrgID = %s", st["Sid"], st["Condition"], c.params["OrganizationId"])
				}
			}
			for _, who := range c.accepts {
				if !allows(t, policy, request{who, "events:PutEvents", arn}) {
					t.Errorf("refuses PutEvents from %+v", who)
				}
				if allows(t, policy, request{who, "events:PutRule", arn}) {
					t.Errorf("allows PutRule from %+v", who)
				}
				other := strings.TrimSuffix(arn, name) + "default"
				if allows(t, policy, request{who, "events:PutEvents", other}) {
					t.Errorf("allows %+v to put events on %s", who, other)
				}
			}
			for _, who := range c.refuses {
				if allows(t, policy, request{who, "events:PutEvents", arn}) {
					t.Errorf("allows PutEvents from %+v, which is neither in the organization nor listed", who)
				}
			}
		})
	}
}

// TestTemplateCentralRule: the rule on the central bus is the function's
// SecurityGroupChange rule on another bus: the same pattern
// (TestPatternCopies), target, retry policy and dead-letter queue, and Lambda
// lets it invoke the function as SAM lets the generated rule.
func TestTemplateCentralRule(t *testing.T) {
	res := templateValue(t)["Resources"].(map[string]any)
	event := at(res, "SgwatchFunction", "Properties", "Events", "SecurityGroupChange", "Properties")
	rule := res["CentralSecurityGroupChange"]
	if at(rule, "Condition") != "ReceivesForwardedEvents" || at(rule, "Type") != "AWS::Events::Rule" {
		t.Fatalf("CentralSecurityGroupChange: %v under condition %v, want an AWS::Events::Rule under ReceivesForwardedEvents", at(rule, "Type"), at(rule, "Condition"))
	}
	p := at(rule, "Properties")
	if b := at(p, "EventBusName"); !reflect.DeepEqual(b, map[string]any{"Fn::GetAtt": []any{"CentralEventBus", "Name"}}) && !reflect.DeepEqual(b, map[string]any{"Ref": "CentralEventBus"}) {
		t.Errorf("the rule is on bus %v, want CentralEventBus", b)
	}
	if s := at(p, "State"); s != nil && s != "ENABLED" {
		t.Errorf("the rule is %v", s)
	}
	targets, _ := at(p, "Targets").([]any)
	if len(targets) != 1 {
		t.Fatalf("%d targets, want the function", len(targets))
	}
	target := targets[0]
	// SAM's generated rule targets the function's ARN (no alias is published).
	if a := at(target, "Arn"); !reflect.DeepEqual(a, map[string]any{"Fn::GetAtt": []any{"SgwatchFunction", "Arn"}}) || at(res, "SgwatchFunction", "Properties", "AutoPublishAlias") != nil {
		t.Errorf("target %v, want the function SAM's rule targets", a)
	}
	for _, field := range []string{"RetryPolicy", "DeadLetterConfig"} {
		if got, want := at(target, field), at(event, field); want == nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s %v, want the SecurityGroupChange rule's %v", field, got, want)
		}
	}
	checkRulePermission(t, res, "CentralSecurityGroupChange", "ReceivesForwardedEvents", map[string]any{"Ref": "SgwatchFunction"})
}

// TestTemplateOrganizationParameters: CloudFormation refuses what is not an
// organization id or a list of account ids (a space would make a principal
// that is not an account) before the bus policy is written. The patterns
// are read with Go's regexp (see TestTemplatePortsPattern).
func TestTemplateOrganizationParameters(t *testing.T) {
	tpl := templateValue(t)
	for _, c := range []struct {
		param, v string
		ok       bool
	}{
		{"OrganizationId", "", true},
		{"OrganizationId", "o-aaaaaaaaaa", true},
		{"OrganizationId", "o-exampleorgid11", true},
		{"OrganizationId", "o-AAAAAAAAAA", false},
		{"OrganizationId", "o-abc", false},
		{"OrganizationId", "r-abcd", false},
		{"OrganizationId", "ou-abcd-aaaaaaaa", false},
		{"OrganizationId", "*", false},
		{"MemberAccountIds", "", true},
		{"MemberAccountIds", "111111111111", true},
		{"MemberAccountIds", "111111111111,222222222222", true},
		{"MemberAccountIds", "111111111111, 222222222222", false},
		{"MemberAccountIds", "111111111111,", false},
		{"MemberAccountIds", ",111111111111", false},
		{"MemberAccountIds", "11111111111", false},
		{"MemberAccountIds", "1111111111111", false},
		{"MemberAccountIds", "*", false},
		{"MemberAccountIds", "arn:aws:iam::111111111111:root", false},
	} {
		checkAllowed(t, tpl, c.param, c.v, c.ok)
	}
}

// isAnyone: a policy principal that is every principal.
func isAnyone(p any) bool {
	return p == "*" || slices.Contains(strs(at(p, "AWS")), "*")
}

// request is an API call to a resource, made by a principal of an account.
type request struct {
	who              caller
	action, resource string
}

// allows evaluates a resource policy (resolved: no intrinsic functions) for
// a request the way IAM does for the parts sgwatch's policies use: a
// statement applies when its action, resource, principal and condition all
// match; an applicable Deny wins, else an applicable Allow allows. A
// condition it does not know fails the test rather than being ignored.
func allows(t *testing.T, policy any, r request) bool {
	t.Helper()
	allowed := false
	for _, st := range statements(map[string]any{"Properties": map[string]any{"Policy": policy}}, "Policy") {
		if !matchAny(st["Action"], r.action, true) || !matchAny(st["Resource"], r.resource, false) ||
			!principal(st["Principal"], r.who.account) || !holds(t, st["Condition"], r) {
			continue
		}
		if st["Effect"] == "Deny" {
			return false
		}
		allowed = allowed || st["Effect"] == "Allow"
	}
	return allowed
}

// matchAny: one of the patterns (* and ? wildcards) matches s.
func matchAny(patterns any, s string, foldCase bool) bool {
	for _, p := range strs(patterns) {
		re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(p)) + "$"
		if foldCase {
			re = "(?i)" + re
		}
		if regexp.MustCompile(re).MatchString(s) {
			return true
		}
	}
	return false
}

// principal: the statement's principal covers a principal of account.
func principal(p any, account string) bool {
	if p == "*" {
		return true
	}
	for _, a := range strs(at(p, "AWS")) {
		if a == "*" || a == account || a == "arn:aws:iam::"+account+":root" {
			return true
		}
	}
	return false
}

// holds evaluates a statement's condition for a request.
func holds(t *testing.T, cond any, r request) bool {
	t.Helper()
	if cond == nil {
		return true
	}
	ops, _ := cond.(map[string]any)
	for op, keys := range ops {
		if op != "StringEquals" {
			t.Fatalf("condition operator %s: the evaluator does not know it", op)
		}
		for key, want := range keys.(map[string]any) {
			var got string
			switch key {
			case "aws:PrincipalOrgID":
				got = r.who.org
			case "aws:PrincipalAccount":
				got = r.who.account
			default:
				t.Fatalf("condition key %s: the evaluator does not know it", key)
			}
			if got == "" || !slices.Contains(strs(want), got) {
				return false
			}
		}
	}
	return true
}

// pseudo are the pseudo parameters of the deployments the tests evaluate.
var pseudo = map[string]string{
	"AWS::AccountId": "123456789012", "AWS::Region": "us-east-1", "AWS::Partition": "aws", "AWS::StackName": "sgwatch",
	"AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/sgwatch/51af3dc0-da77-11e4-872e-1234567db123",
}

// deployment is a template (as templateValue reads it) with parameter
// values: what CloudFormation would create from it.
type deployment struct {
	tpl    map[string]any
	params map[string]string
}

func deploy(t *testing.T, tpl map[string]any, params map[string]string) deployment {
	t.Helper()
	for p := range params {
		if at(tpl, "Parameters", p) == nil {
			t.Fatalf("no parameter %s", p)
		}
	}
	return deployment{tpl, params}
}

// noValue is what !Ref AWS::NoValue evaluates to: the property or list
// element is left out.
var noValue = &struct{}{}

// value is a parameter's or pseudo parameter's value.
func (d deployment) value(name string) (string, bool) {
	if v, ok := d.params[name]; ok {
		return v, true
	}
	if v, ok := pseudo[name]; ok {
		return v, true
	}
	if at(d.tpl, "Parameters", name) != nil {
		return fmt.Sprint(at(d.tpl, "Parameters", name, "Default")), true
	}
	return "", false
}

func (d deployment) condition(t *testing.T, name string) bool {
	t.Helper()
	c := at(d.tpl, "Conditions", name)
	if c == nil {
		t.Fatalf("no condition %s", name)
	}
	b, ok := d.eval(t, c).(bool)
	if !ok {
		t.Fatalf("condition %s is not a boolean: %v", name, c)
	}
	return b
}

// refused are the template's Rules whose assertions the deployment's
// parameters fail: CloudFormation refuses to deploy it.
func (d deployment) refused(t *testing.T) []string {
	t.Helper()
	var out []string
	rules, _ := d.tpl["Rules"].(map[string]any)
	for name, r := range rules {
		if c, ok := at(r, "RuleCondition").(map[string]any); ok && !d.eval(t, c).(bool) {
			continue
		}
		asserts, _ := at(r, "Assertions").([]any)
		for _, a := range asserts {
			if !d.eval(t, at(a, "Assert")).(bool) {
				out = append(out, name)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// eval resolves the intrinsic functions of v that depend on parameters and
// conditions only; references to resources (Ref, GetAtt) stay.
func (d deployment) eval(t *testing.T, v any) any {
	t.Helper()
	switch c := v.(type) {
	case map[string]any:
		if len(c) == 1 {
			for fn, arg := range c {
				args, _ := arg.([]any)
				switch fn {
				case "Ref":
					if arg == "AWS::NoValue" {
						return noValue
					}
					if s, ok := d.value(arg.(string)); ok {
						return s
					}
					return c
				case "Condition":
					return d.condition(t, arg.(string))
				case "Fn::If":
					if d.condition(t, args[0].(string)) {
						return d.eval(t, args[1])
					}
					return d.eval(t, args[2])
				case "Fn::Equals":
					return reflect.DeepEqual(d.eval(t, args[0]), d.eval(t, args[1]))
				case "Fn::Not":
					return !d.eval(t, args[0]).(bool)
				case "Fn::And", "Fn::Or":
					and := fn == "Fn::And"
					for _, a := range args {
						if d.eval(t, a).(bool) != and {
							return !and
						}
					}
					return and
				case "Fn::Split":
					s, _ := d.eval(t, args[1]).(string)
					var out []any
					for _, part := range strings.Split(s, d.eval(t, args[0]).(string)) {
						out = append(out, part)
					}
					return out
				case "Fn::Select":
					i, err := strconv.Atoi(fmt.Sprint(d.eval(t, args[0])))
					l, ok := d.eval(t, args[1]).([]any)
					if err != nil || !ok || i < 0 || i >= len(l) {
						t.Fatalf("Fn::Select %v: index out of range or not a list", arg)
					}
					return l[i]
				case "Fn::Sub":
					s, ok := arg.(string)
					vars := map[string]any{}
					if !ok && len(args) == 2 {
						s, _ = args[0].(string)
						vars, _ = d.eval(t, args[1]).(map[string]any)
					}
					if s == "" {
						t.Fatalf("Fn::Sub: the evaluator does not know %v", arg)
					}
					return regexp.MustCompile(`\$\{([^}!]+)\}`).ReplaceAllStringFunc(s, func(m string) string {
						name := m[2 : len(m)-1]
						if v, ok := vars[name].(string); ok {
							return v
						}
						if v, ok := d.value(name); ok {
							return v
						}
						return m
					})
				}
			}
		}
		out := map[string]any{}
		for k, e := range c {
			if e := d.eval(t, e); e != noValue {
				out[k] = e
			}
		}
		return out
	case []any:
		out := []any{}
		for _, e := range c {
			if e := d.eval(t, e); e != noValue {
				out = append(out, e)
			}
		}
		return out
	}
	return v
}

// resources are the resources the deployment creates, evaluated, without
// their Condition.
func (d deployment) resources(t *testing.T) map[string]any {
	return d.section(t, "Resources")
}

// outputs are the values of the deployment's outputs.
func (d deployment) outputs(t *testing.T) map[string]any {
	out := map[string]any{}
	for name, o := range d.section(t, "Outputs") {
		out[name] = at(o, "Value")
	}
	return out
}

func (d deployment) section(t *testing.T, section string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for name, r := range d.tpl[section].(map[string]any) {
		if c, ok := at(r, "Condition").(string); ok && !d.condition(t, c) {
			continue
		}
		r := maps.Clone(r.(map[string]any))
		delete(r, "Condition")
		out[name] = d.eval(t, r)
	}
	return out
}

// dangling are the resources the deployment refers to (Ref, GetAtt,
// DependsOn) but does not create. SAM creates a role for a function
// (<function>Role) and a rule and permission for each of its events
// (<function><event>, <function><event>Permission).
func (d deployment) dangling(t *testing.T) []string {
	res := d.resources(t)
	exists := map[string]bool{}
	for name, r := range res {
		exists[name] = true
		if at(r, "Type") == "AWS::Serverless::Function" {
			exists[name+"Role"] = true
			events, _ := at(r, "Properties", "Events").(map[string]any)
			for event := range events {
				exists[name+event], exists[name+event+"Permission"] = true, true
			}
		}
	}
	var missing []string
	var walk func(v any)
	walk = func(v any) {
		switch c := v.(type) {
		case map[string]any:
			for k, e := range c {
				var name string
				switch k {
				case "Ref":
					name, _ = e.(string)
				case "Fn::GetAtt":
					name, _ = at(e, "0").(string)
				case "DependsOn":
					for _, n := range strs(e) {
						if !exists[n] {
							missing = append(missing, n)
						}
					}
				}
				if _, param := d.value(name); name != "" && !param && !exists[name] {
					missing = append(missing, name)
				}
				walk(e)
			}
		case []any:
			for _, e := range c {
				walk(e)
			}
		}
	}
	walk(res)
	walk(d.section(t, "Outputs"))
	return missing
}

// sweepParams are the ways the sweep is deployed: off, and on for this
// account, listed accounts and the organization, with the table also kept
// for idempotency or not.
var sweepParams = []map[string]string{
	{"Sweep": "false"},
	{"Sweep": "false", "Idempotency": "false"},
	{},
	{"Idempotency": "false"},
	{"SweepAccounts": "111111111111,222222222222", "SweepRoleName": "audit-sweep"},
	{"SweepAccounts": "organization", "SweepRegions": "eu-west-1,us-east-1"},
}

// TestTemplateSweepParameters: the sweep is on by default, hourly, for this
// account and Region, with the role name the function defaults to; the
// patterns refuse what the function would refuse (or a schedule Scheduler
// would) before anything is deployed. They are read with Go's regexp (see
// TestTemplatePortsPattern).
func TestTemplateSweepParameters(t *testing.T) {
	tpl := templateValue(t)
	for p, want := range map[string]string{
		"Sweep": "true", "SweepSchedule": "rate(1 hour)", "SweepRegions": "", "SweepAccounts": "", "SweepRoleName": handler.DefaultSweepRole,
	} {
		if d, ok := at(tpl, "Parameters", p, "Default").(string); !ok || d != want {
			t.Errorf("parameter %s defaults to %v, want %q", p, at(tpl, "Parameters", p, "Default"), want)
		}
	}
	if v := at(tpl, "Parameters", "Sweep", "AllowedValues"); !reflect.DeepEqual(v, []any{"true", "false"}) {
		t.Errorf("Sweep allows %v, want true and false", v)
	}
	for _, c := range []struct {
		param, v string
		ok       bool
	}{
		{"SweepSchedule", "rate(1 hour)", true},
		{"SweepSchedule", "rate(15 minutes)", true},
		{"SweepSchedule", "rate(1 day)", true},
		{"SweepSchedule", "cron(0 * * * ? *)", true},
		{"SweepSchedule", "cron(15 8 ? * MON-FRI *)", true},
		{"SweepSchedule", "", false},
		{"SweepSchedule", "rate(0 hours)", false},
		{"SweepSchedule", "rate(1 week)", false},
		{"SweepSchedule", "rate(hour)", false},
		{"SweepSchedule", "at(2030-01-01T00:00:00)", false},
		{"SweepSchedule", "cron()", false},
		{"SweepSchedule", " rate(1 hour)", false},
		{"SweepSchedule", "hourly", false},
		{"SweepRegions", "", true},
		{"SweepRegions", "eu-west-1", true},
		{"SweepRegions", "eu-west-1,us-east-1,us-gov-west-1,ap-southeast-3", true},
		{"SweepRegions", "eu-west-1, us-east-1", false},
		{"SweepRegions", "eu-west-1,", false},
		{"SweepRegions", ",eu-west-1", false},
		{"SweepRegions", "EU-WEST-1", false},
		{"SweepRegions", "eu-west", false},
		{"SweepRegions", "all", false},
		{"SweepRegions", "*", false},
		{"SweepAccounts", "", true},
		{"SweepAccounts", "organization", true},
		{"SweepAccounts", "111111111111", true},
		{"SweepAccounts", "111111111111,222222222222", true},
		{"SweepAccounts", "111111111111, 222222222222", false},
		{"SweepAccounts", "111111111111,", false},
		{"SweepAccounts", "11111111111", false},
		{"SweepAccounts", "Organization", false},
		{"SweepAccounts", "organization,111111111111", false},
		{"SweepAccounts", "*", false},
		{"SweepRoleName", "sgwatch-sweep", true},
		{"SweepRoleName", "audit+sweep=1,a.b@c_d", true},
		{"SweepRoleName", strings.Repeat("r", 64), true},
		{"SweepRoleName", strings.Repeat("r", 65), false},
		{"SweepRoleName", "", false},
		{"SweepRoleName", "path/sgwatch-sweep", false},
		{"SweepRoleName", "sgwatch sweep", false},
		{"SweepRoleName", "*", false},
	} {
		checkAllowed(t, tpl, c.param, c.v, c.ok)
		// What the template accepts, the function does.
		if c.ok && c.param == "SweepRegions" && c.v != "" {
			for _, r := range strings.Split(c.v, ",") {
				if !awsid.IsRegion(r) {
					t.Errorf("SweepRegions %q accepts %q, which the function refuses", c.v, r)
				}
			}
		}
	}
}

// TestTemplateSweepResources: with the sweep on, the function is told to
// sweep, with the table (created for the sweep even without idempotency),
// the Regions, accounts and role of the parameters, and the schedule, its
// role, the deployment rule and its permission and the policy exist; with
// it off, none of them does and SWEEP_TABLE is empty. IDEMPOTENCY_TABLE
// stays with Idempotency. In every case, everything referred to exists.
func TestTemplateSweepResources(t *testing.T) {
	tpl := templateValue(t)
	if c := at(tpl, "Conditions", "TableNeeded"); !reflect.DeepEqual(c, map[string]any{"Fn::Or": []any{
		map[string]any{"Condition": "IdempotencyEnabled"}, map[string]any{"Condition": "SweepEnabled"}, map[string]any{"Condition": "SecurityHubEnabled"}}}) {
		t.Errorf("TableNeeded is %v, want IdempotencyEnabled, SweepEnabled or SecurityHubEnabled", c)
	}
	for _, name := range []string{"IdempotencyTable", "IdempotencyPolicy"} {
		if c := at(tpl, "Resources", name, "Condition"); c != "TableNeeded" {
			t.Errorf("%s has condition %v, want TableNeeded", name, c)
		}
	}
	if c := at(tpl, "Outputs", "IdempotencyTableName", "Condition"); c != "TableNeeded" {
		t.Errorf("output IdempotencyTableName has condition %v, want TableNeeded", c)
	}
	sweepOnly := []string{"SweepPolicy", "ScheduledSweep", "SweepScheduleRole", "SweepAfterDeployment", "SweepAfterDeploymentPermission"}
	table := map[string]any{"Ref": "IdempotencyTable"}
	for _, params := range sweepParams {
		t.Run(fmt.Sprint(params), func(t *testing.T) {
			d := deploy(t, tpl, params)
			res, outputs := d.resources(t), d.outputs(t)
			on, once := params["Sweep"] != "false", params["Idempotency"] != "false"
			env := at(res, "SgwatchFunction", "Properties", "Environment", "Variables").(map[string]any)
			want := map[string]any{"SWEEP": "true", "SWEEP_TABLE": table, "IDEMPOTENCY_TABLE": table,
				"SWEEP_REGIONS": params["SweepRegions"], "SWEEP_ACCOUNTS": params["SweepAccounts"], "SWEEP_ROLE": params["SweepRoleName"]}
			if want["SWEEP_ROLE"] == "" {
				want["SWEEP_ROLE"] = handler.DefaultSweepRole
			}
			if !on {
				want["SWEEP"], want["SWEEP_TABLE"] = "false", ""
			}
			if !once {
				want["IDEMPOTENCY_TABLE"] = ""
			}
			for v, w := range want {
				if !reflect.DeepEqual(env[v], w) {
					t.Errorf("%s is %v, want %v", v, env[v], w)
				}
			}
			_, hasTable := res["IdempotencyTable"]
			_, hasPolicy := res["IdempotencyPolicy"]
			if hasTable != (on || once) || hasPolicy != hasTable {
				t.Errorf("table %v and its policy %v, want both %v", hasTable, hasPolicy, on || once)
			}
			for _, name := range sweepOnly {
				if _, ok := res[name]; ok != on {
					t.Errorf("%s exists: %v, want %v", name, ok, on)
				}
			}
			if _, ok := outputs["SweepScheduleArn"]; ok != on {
				t.Errorf("output SweepScheduleArn exists: %v, want %v", ok, on)
			}
			if on && !reflect.DeepEqual(outputs["SweepScheduleArn"], map[string]any{"Fn::GetAtt": []any{"ScheduledSweep", "Arn"}}) {
				t.Errorf("SweepScheduleArn is %v, want the schedule's ARN", outputs["SweepScheduleArn"])
			}
			for _, missing := range d.dangling(t) {
				t.Errorf("refers to %s, which does not exist in this deployment", missing)
			}
		})
	}
}

// bothRoles are the roles a grant both builds of the function need names:
// the function's, and the sweep worker's when there is one.
var bothRoles = []any{map[string]any{"Ref": "SgwatchFunctionRole"},
	map[string]any{"Fn::If": []any{"SweepWorker", map[string]any{"Ref": "SweepWorkerFunctionRole"}, map[string]any{"Ref": "AWS::NoValue"}}}}

// TestTemplateSweepPolicy: the sweep's grant is its own (SweepPolicy, on
// the function's role, under SweepEnabled): exactly the read-only calls
// that list rules and who created them, on "*" as they have no
// resource-level permissions; sts:AssumeRole on the sweep role's name in
// any account only when other accounts are swept; organizations:ListAccounts
// only for the organization. No other resource grants these.
func TestTemplateSweepPolicy(t *testing.T) {
	tpl := templateValue(t)
	pol := at(tpl, "Resources", "SweepPolicy")
	if at(pol, "Type") != "AWS::IAM::Policy" || at(pol, "Condition") != "SweepEnabled" ||
		!reflect.DeepEqual(at(pol, "Properties", "Roles"), bothRoles) {
		t.Fatalf("SweepPolicy: %v under %v for %v, want an AWS::IAM::Policy under SweepEnabled for the function's role",
			at(pol, "Type"), at(pol, "Condition"), at(pol, "Properties", "Roles"))
	}
	read := []string{"ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "ec2:DescribeNetworkInterfaces", "ec2:DescribeManagedPrefixLists", "ec2:GetManagedPrefixListEntries", "ec2:DescribeRouteTables", "ec2:DescribeVpcBlockPublicAccessOptions", "ec2:DescribeVpcBlockPublicAccessExclusions", "ec2:DescribeNetworkAcls", "elasticloadbalancing:DescribeLoadBalancers", "cloudtrail:LookupEvents"}
	for _, params := range sweepParams {
		t.Run(fmt.Sprint(params), func(t *testing.T) {
			res := deploy(t, tpl, params).resources(t)
			if params["Sweep"] == "false" {
				return
			}
			role := params["SweepRoleName"]
			if role == "" {
				role = handler.DefaultSweepRole
			}
			want := map[string][]string{}
			for _, a := range read {
				want[a] = []string{"*"}
			}
			if params["SweepAccounts"] != "" {
				want["sts:AssumeRole"] = []string{"arn:aws:iam::*:role/" + role}
			}
			if params["SweepAccounts"] == "organization" {
				want["organizations:ListAccounts"] = []string{"*"}
			}
			if params["SweepAccounts"] != "" {
				// The fan-out's queues, and nothing else of SQS: it sends to
				// both, and reads the targets'.
				want["sqs:SendMessage"] = []string{"SweepQueue.Arn", "SweepDeadLetterQueue.Arn"}
				for _, a := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} {
					want[a] = []string{"SweepQueue.Arn"}
				}
			}
			got := map[string][]string{}
			for _, st := range statements(res["SweepPolicy"], "PolicyDocument") {
				if st["Effect"] != "Allow" || st["Condition"] != nil || st["NotAction"] != nil || st["NotResource"] != nil {
					t.Errorf("statement %v: want a plain Allow", st)
				}
				for _, a := range strs(st["Action"]) {
					got[a] = append(got[a], resourceNames(st["Resource"])...)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("SweepPolicy grants %v, want exactly %v", got, want)
			}
			// The role forwarder.yaml creates is the one it may assume.
			if r := want["sts:AssumeRole"]; r != nil {
				r := []any{r[0]}
				if !matchAny(r, "arn:aws:iam::111111111111:role/"+role, false) || matchAny(r, "arn:aws:iam::111111111111:role/admin", false) {
					t.Errorf("sts:AssumeRole on %v: want the role %s in any account, and no other", r, role)
				}
			}
		})
	}
	for name, r := range tpl["Resources"].(map[string]any) {
		if _, ok := at(r, "Properties", "PolicyDocument").(map[string]any); !ok || name == "SweepPolicy" {
			continue
		}
		for _, st := range statements(r, "PolicyDocument") {
			for _, a := range strs(st["Action"]) {
				if slices.Contains([]string{"sts:assumerole", "organizations:listaccounts", "cloudtrail:lookupevents"}, strings.ToLower(a)) {
					t.Errorf("%s grants %s: only SweepPolicy may", name, a)
				}
			}
		}
	}
}

// sweepRequest reads a sweep request as the function does, and checks that
// it is one: a JSON object with "sgwatch": "sweep" and id, time and by
// strings, nothing else, whose id the function keeps as it is (a retry of
// the same sweep then has the same id).
func sweepRequest(t *testing.T, payload string) sweep.Request {
	t.Helper()
	var top map[string]any
	if err := json.Unmarshal([]byte(payload), &top); err != nil {
		t.Fatalf("%s: not JSON: %v", payload, err)
	}
	if keys := slices.Sorted(maps.Keys(top)); !slices.Equal(keys, []string{"by", "id", "sgwatch", "time"}) || top["sgwatch"] != "sweep" {
		t.Errorf("%s: members %v, want sgwatch (sweep), id, time and by", payload, keys)
	}
	for _, k := range []string{"id", "time", "by"} {
		if _, ok := top[k].(string); !ok {
			t.Errorf("%s: %s is %v, want a string", payload, k, top[k])
		}
	}
	req, ok, err := sweep.ParseRequest([]byte(payload))
	if !ok || err != nil {
		t.Fatalf("%s: the function reads it as a sweep request %v, error %v", payload, ok, err)
	}
	if req.ID != top["id"] {
		t.Errorf("%s: the function's id is %q, want the request's", payload, req.ID)
	}
	return req
}

// TestTemplateSweepSchedule: Scheduler sends the function a sweep request
// on SweepSchedule, at the exact time, as its own role, which may do that
// and send what it cannot deliver to the dead-letter queue, and nothing
// else; only Scheduler, for this account, may assume it.
func TestTemplateSweepSchedule(t *testing.T) {
	tpl := templateValue(t)
	raw := tpl["Resources"].(map[string]any)
	for name, want := range map[string]string{"ScheduledSweep": "AWS::Scheduler::Schedule", "SweepScheduleRole": "AWS::IAM::Role"} {
		if at(raw[name], "Type") != want || at(raw[name], "Condition") != "SweepEnabled" {
			t.Fatalf("%s: %v under %v, want an %s under SweepEnabled", name, at(raw[name], "Type"), at(raw[name], "Condition"), want)
		}
	}
	// The function that sweeps: the worker when there is a history table.
	for _, d := range []struct {
		params map[string]string
		fn     string
	}{{nil, "SgwatchFunction"}, {map[string]string{"HistorySource": "athena://primary/cloudtrail.logs"}, "SweepWorkerFunction"}} {
		checkSweepSchedule(t, deploy(t, tpl, d.params).resources(t), d.fn)
	}
}

// checkSweepSchedule checks the schedule and its role of a deployment,
// whose sweeping function is fn.
func checkSweepSchedule(t *testing.T, res map[string]any, fn string) {
	t.Helper()
	s := res["ScheduledSweep"]
	dlq := map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{"UndeliveredEventQueue", "Arn"}}}
	for path, want := range map[string]any{
		"ScheduleExpression":      "rate(1 hour)",
		"FlexibleTimeWindow":      map[string]any{"Mode": "OFF"},
		"State":                   "ENABLED",
		"Target.Arn":              map[string]any{"Fn::GetAtt": []any{fn, "Arn"}},
		"Target.RoleArn":          map[string]any{"Fn::GetAtt": []any{"SweepScheduleRole", "Arn"}},
		"Target.RetryPolicy":      map[string]any{"MaximumRetryAttempts": "2", "MaximumEventAgeInSeconds": "3600"},
		"Target.DeadLetterConfig": dlq,
	} {
		if got := at(s, append([]string{"Properties"}, strings.Split(path, ".")...)...); !reflect.DeepEqual(got, want) {
			t.Errorf("ScheduledSweep %s is %v, want %v", path, got, want)
		}
	}
	input, _ := at(s, "Properties", "Target", "Input").(string)
	// As written, and as Scheduler sends it with its context attributes
	// replaced (values from the Scheduler documentation's examples).
	var written map[string]any
	if err := json.Unmarshal([]byte(input), &written); err != nil || written["id"] != "<aws.scheduler.execution-id>" ||
		written["time"] != "<aws.scheduler.scheduled-time>" || written["by"] != "<aws.scheduler.schedule-arn>" {
		t.Errorf("input %s (%v): want id, time and by from the context attributes execution-id, scheduled-time and schedule-arn", input, err)
	}
	sent := strings.NewReplacer("<aws.scheduler.execution-id>", "d32c5kddcf5bb8c3", "<aws.scheduler.scheduled-time>", "2022-03-22T18:59:43Z",
		"<aws.scheduler.schedule-arn>", "arn:aws:scheduler:us-east-1:123456789012:schedule/default/sgwatch-ScheduledSweep-1AbC").Replace(input)
	if req := sweepRequest(t, sent); req.ID != "d32c5kddcf5bb8c3" || req.Time != "2022-03-22T18:59:43Z" || !strings.HasPrefix(req.By, "arn:aws:scheduler:") {
		t.Errorf("as sent: %+v", req)
	}

	role := res["SweepScheduleRole"]
	p := at(role, "Properties").(map[string]any)
	for field := range p {
		if !slices.Contains([]string{"Description", "AssumeRolePolicyDocument", "Policies"}, field) {
			t.Errorf("role has %s: its permissions are its one inline policy", field)
		}
	}
	trust := statements(role, "AssumeRolePolicyDocument")
	wantTrust := map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole",
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": pseudo["AWS::AccountId"]}},
	}
	if len(trust) != 1 || !reflect.DeepEqual(trust[0], wantTrust) {
		t.Errorf("trust policy %v, want only %v", trust, wantTrust)
	}
	policies, _ := p["Policies"].([]any)
	if len(policies) != 1 {
		t.Fatalf("%d inline policies, want one", len(policies))
	}
	want := []map[string]any{
		{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": []any{map[string]any{"Fn::GetAtt": []any{fn, "Arn"}}, "${" + fn + ".Arn}:*"}},
		{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dlq["Arn"]},
	}
	if got := statements(map[string]any{"Properties": policies[0]}, "PolicyDocument"); !reflect.DeepEqual(got, want) {
		t.Errorf("the role may %v, want only %v", got, want)
	}
}

// matchesPattern reports whether an EventBridge pattern of exact values
// (lists of alternatives, nested objects) matches an event.
func matchesPattern(pattern, event any) bool {
	switch p := pattern.(type) {
	case map[string]any:
		e, ok := event.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range p {
			if !matchesPattern(v, e[k]) {
				return false
			}
		}
		return true
	case []any:
		vals, ok := event.([]any)
		if !ok {
			vals = []any{event}
		}
		for _, alt := range p {
			if slices.ContainsFunc(vals, func(v any) bool { return reflect.DeepEqual(alt, v) }) {
				return true
			}
		}
	}
	return false
}

// TestTemplateSweepAfterDeployment: a rule on the default bus sends the
// function a sweep request when this stack (and no other) has been created
// or updated, from CloudFormation's Stack Status Change event, whose id is
// the sweep's; it retries and dead-letters as the function's other rule,
// and Lambda lets it invoke the function.
func TestTemplateSweepAfterDeployment(t *testing.T) {
	tpl := templateValue(t)
	res := tpl["Resources"].(map[string]any)
	rule := res["SweepAfterDeployment"]
	if at(rule, "Type") != "AWS::Events::Rule" || at(rule, "Condition") != "SweepEnabled" {
		t.Fatalf("SweepAfterDeployment: %v under %v, want an AWS::Events::Rule under SweepEnabled", at(rule, "Type"), at(rule, "Condition"))
	}
	p := at(rule, "Properties")
	if b := at(p, "EventBusName"); b != nil {
		t.Errorf("rule on bus %v, want the default bus, where CloudFormation's events arrive", b)
	}
	if s := at(p, "State"); s != nil && s != "ENABLED" {
		t.Errorf("the rule is %v", s)
	}

	// The pattern, evaluated for the stack pseudo's AWS::StackId, against
	// events of the shape CloudFormation sends.
	pattern := deploy(t, tpl, nil).eval(t, at(p, "EventPattern"))
	stack := pseudo["AWS::StackId"]
	other := strings.Replace(stack, "stack/sgwatch/", "stack/sgwatch-forwarder/", 1)
	event := func(detailType, stackID, status string) map[string]any {
		return map[string]any{
			"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": detailType, "source": "aws.cloudformation",
			"account": pseudo["AWS::AccountId"], "time": "2017-12-22T18:43:48Z", "region": pseudo["AWS::Region"], "resources": []any{stackID},
			"detail": map[string]any{"stack-id": stackID, "status-details": map[string]any{"status": status, "status-reason": ""}},
		}
	}
	const stackChange = "CloudFormation Stack Status Change"
	for _, c := range []struct {
		event map[string]any
		match bool
	}{
		{event(stackChange, stack, "CREATE_COMPLETE"), true},
		{event(stackChange, stack, "UPDATE_COMPLETE"), true},
		{event(stackChange, stack, "UPDATE_IN_PROGRESS"), false},
		{event(stackChange, stack, "UPDATE_ROLLBACK_COMPLETE"), false},
		{event(stackChange, stack, "DELETE_COMPLETE"), false},
		{event(stackChange, other, "CREATE_COMPLETE"), false},
		{event("CloudFormation Resource Status Change", stack, "CREATE_COMPLETE"), false},
	} {
		if got := matchesPattern(pattern, c.event); got != c.match {
			t.Errorf("pattern %v on %v %v: matches %v, want %v", pattern, at(c.event, "detail-type"), at(c.event, "detail"), got, c.match)
		}
	}

	targets, _ := at(p, "Targets").([]any)
	if len(targets) != 1 {
		t.Fatalf("%d targets, want the function", len(targets))
	}
	target := targets[0]
	// The function that sweeps: the worker when there is a history table.
	getAtt := func(fn string) any { return map[string]any{"Fn::GetAtt": []any{fn, "Arn"}} }
	if a := at(target, "Arn"); !reflect.DeepEqual(a, map[string]any{"Fn::If": []any{"SweepWorker", getAtt("SweepWorkerFunction"), getAtt("SgwatchFunction")}}) {
		t.Errorf("target %v, want the function that sweeps", a)
	}
	event0 := at(res, "SgwatchFunction", "Properties", "Events", "SecurityGroupChange", "Properties")
	for _, field := range []string{"RetryPolicy", "DeadLetterConfig"} {
		if got, want := at(target, field), at(event0, field); want == nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s %v, want the SecurityGroupChange rule's %v", field, got, want)
		}
	}
	// The input: the template with each placeholder replaced by its value
	// as JSON (the placeholders stand outside quotes), from the example
	// event of CloudFormation's documentation.
	paths, _ := at(target, "InputTransformer", "InputPathsMap").(map[string]any)
	if !reflect.DeepEqual(paths, map[string]any{"id": "$.id", "time": "$.time"}) {
		t.Errorf("InputPathsMap %v, want the event's id and time", paths)
	}
	tmpl, _ := at(target, "InputTransformer", "InputTemplate").(string)
	ev := event(stackChange, stack, "CREATE_COMPLETE")
	input := regexp.MustCompile(`<([A-Za-z0-9_.-]+)>`).ReplaceAllStringFunc(tmpl, func(m string) string {
		path, ok := paths[m[1:len(m)-1]].(string)
		if !ok {
			t.Errorf("InputTemplate placeholder %s is not in InputPathsMap", m)
			return m
		}
		v, _ := json.Marshal(at(ev, strings.TrimPrefix(path, "$.")))
		return string(v)
	})
	if req := sweepRequest(t, input); req.ID != at(ev, "id") || req.Time != at(ev, "time") || req.By != "deployment" {
		t.Errorf("input %s: %+v, want the event's id and time, by deployment", input, req)
	}

	checkRulePermission(t, res, "SweepAfterDeployment", "SweepEnabled",
		map[string]any{"Fn::If": []any{"SweepWorker", map[string]any{"Ref": "SweepWorkerFunction"}, map[string]any{"Ref": "SgwatchFunction"}}})
}

// checkRulePermission: exactly one Lambda permission lets the EventBridge
// rule invoke the function fn (its name, as the template writes it), under
// condition.
func checkRulePermission(t *testing.T, res map[string]any, rule, condition string, fn any) {
	t.Helper()
	var permissions []string
	for name, r := range res {
		if at(r, "Type") == "AWS::Lambda::Permission" && reflect.DeepEqual(at(r, "Properties", "SourceArn"), map[string]any{"Fn::GetAtt": []any{rule, "Arn"}}) {
			permissions = append(permissions, name)
			want := map[string]any{
				"Action": "lambda:InvokeFunction", "FunctionName": fn,
				"Principal": "events.amazonaws.com", "SourceArn": map[string]any{"Fn::GetAtt": []any{rule, "Arn"}},
			}
			if !reflect.DeepEqual(at(r, "Properties"), want) || at(r, "Condition") != condition {
				t.Errorf("%s: %v under %v, want %v under %s", name, at(r, "Properties"), at(r, "Condition"), want, condition)
			}
		}
	}
	if len(permissions) != 1 {
		t.Errorf("Lambda permissions for rule %s: %v, want one", rule, permissions)
	}
}

// checkAllowed: the template's AllowedPattern of param accepts v exactly
// when ok.
func checkAllowed(t *testing.T, tpl map[string]any, param, v string, ok bool) {
	t.Helper()
	p, _ := at(tpl, "Parameters", param, "AllowedPattern").(string)
	re, err := regexp.Compile(p)
	if err != nil {
		t.Fatalf("%s: AllowedPattern %q: %v", param, p, err)
	}
	if got := re.MatchString(v); got != ok {
		t.Errorf("%s %q: accepted %v, want %v", param, v, got, ok)
	}
}

// TestTemplateFormats: the template offers exactly the body formats the
// function reads.
func TestTemplateFormats(t *testing.T) {
	tpl := templateValue(t)
	values, _ := at(tpl, "Parameters", "NotificationFormat", "AllowedValues").([]any)
	var got []string
	for _, v := range values {
		s, _ := v.(string)
		f, err := report.ParseFormat(s)
		if err != nil || string(f) != s {
			t.Errorf("NotificationFormat %q: the function reads it as %q (%v)", s, f, err)
		}
		got = append(got, s)
	}
	if strings.Join(got, ",") != "text,json,chat" {
		t.Errorf("NotificationFormat offers %v, want text, json and chat", got)
	}
}

// TestTemplateSecurityHub: SecurityHub=true imports with exactly
// BatchImportFindings on this account's default product (and only into
// this account) and BatchUpdateFindings on its hub, with the table used for
// events even with Idempotency=false (a failed import is retried without
// publishing again); off by default, with no grant.
func TestTemplateSecurityHub(t *testing.T) {
	tpl := templateValue(t)
	if d := at(tpl, "Parameters", "SecurityHub", "Default"); d != "false" {
		t.Errorf("SecurityHub defaults to %v, want false", d)
	}
	table := map[string]any{"Ref": "IdempotencyTable"}
	for _, params := range []map[string]string{{}, {"SecurityHub": "true"}, {"SecurityHub": "true", "Idempotency": "false", "Sweep": "false"}} {
		t.Run(fmt.Sprint(params), func(t *testing.T) {
			d := deploy(t, tpl, params)
			res := d.resources(t)
			on := params["SecurityHub"] == "true"
			env := at(res, "SgwatchFunction", "Properties", "Environment", "Variables").(map[string]any)
			if env["SECURITY_HUB"] != map[bool]string{true: "true", false: "false"}[on] {
				t.Errorf("SECURITY_HUB is %v", env["SECURITY_HUB"])
			}
			if on && !reflect.DeepEqual(env["IDEMPOTENCY_TABLE"], table) {
				t.Errorf("IDEMPOTENCY_TABLE is %v, want the table", env["IDEMPOTENCY_TABLE"])
			}
			p, ok := res["SecurityHubPolicy"]
			if ok != on {
				t.Fatalf("SecurityHubPolicy exists: %v, want %v", ok, on)
			}
			if !on {
				return
			}
			// As deployed in 123456789012, us-east-1 (the evaluator's).
			want := []map[string]any{
				{"Sid": "ImportIntoTheDefaultProduct", "Effect": "Allow", "Action": "securityhub:BatchImportFindings",
					"Resource":  "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default",
					"Condition": map[string]any{"StringEquals": map[string]any{"securityhub:TargetAccount": "123456789012"}}},
				{"Sid": "ResolveSweptExposures", "Effect": "Allow", "Action": "securityhub:BatchUpdateFindings",
					"Resource": "arn:aws:securityhub:us-east-1:123456789012:hub/default"},
			}
			if got := statements(p, "PolicyDocument"); !reflect.DeepEqual(got, want) {
				t.Errorf("SecurityHubPolicy grants %v\nwant %v", got, want)
			}
		})
	}
}

// TestTemplateSweepFanOut: with SweepAccounts the sweep fans out through
// SweepQueue: its visibility timeout is at least six times the function's
// timeout (Lambda's rule for an SQS event source), its redrive policy gives
// up at the receive count the function calls its last (SWEEP_MAX_RECEIVES),
// the event source mapping takes one target an invocation, reports
// partial batch failures and runs at most SweepConcurrency at once, and the
// function is told both queues; without SweepAccounts there is no queue.
func TestTemplateSweepFanOut(t *testing.T) {
	tpl := templateValue(t)
	res := tpl["Resources"].(map[string]any)
	for _, name := range []string{"SweepQueue", "SweepDeadLetterQueue", "SweepQueuePolicy", "SweepTargets", "SweepDeadLetterAlarm", "SweepQueueAgeAlarm"} {
		if c := at(res, name, "Condition"); c != "SweepsOtherAccounts" {
			t.Errorf("%s has condition %v, want SweepsOtherAccounts", name, c)
		}
	}
	timeout, _ := strconv.Atoi(fmt.Sprint(at(res, "SgwatchFunction", "Properties", "Timeout")))
	visibility, _ := strconv.Atoi(fmt.Sprint(at(res, "SweepQueue", "Properties", "VisibilityTimeout")))
	if timeout == 0 || visibility < 6*timeout {
		t.Errorf("SweepQueue's visibility timeout %d s, want at least 6 × the function's %d s", visibility, timeout)
	}
	env := at(res, "SgwatchFunction", "Properties", "Environment", "Variables").(map[string]any)
	if got, want := fmt.Sprint(at(res, "SweepQueue", "Properties", "RedrivePolicy", "maxReceiveCount")), fmt.Sprint(env["SWEEP_MAX_RECEIVES"]); got != want || got != fmt.Sprint(handler.DefaultMaxReceives) {
		t.Errorf("maxReceiveCount %s, SWEEP_MAX_RECEIVES %s, want both %d", got, want, handler.DefaultMaxReceives)
	}
	if !reflect.DeepEqual(at(res, "SweepQueue", "Properties", "RedrivePolicy", "deadLetterTargetArn"), map[string]any{"Fn::GetAtt": []any{"SweepDeadLetterQueue", "Arn"}}) {
		t.Error("SweepQueue's redrive policy does not name SweepDeadLetterQueue")
	}
	// Only the function may send a target (it names where the role is
	// assumed), and the age alarm fires well before SQS drops a message.
	var onlyFunction bool
	for _, st := range statements(res["SweepQueuePolicy"], "PolicyDocument") {
		onlyFunction = onlyFunction || st["Effect"] == "Deny" && reflect.DeepEqual(strs(st["Action"]), []string{"sqs:SendMessage"}) &&
			reflect.DeepEqual(at(st, "Condition", "ArnNotEquals", "aws:PrincipalArn"), []any{map[string]any{"Fn::GetAtt": []any{"SgwatchFunctionRole", "Arn"}},
				map[string]any{"Fn::If": []any{"SweepWorker", map[string]any{"Fn::GetAtt": []any{"SweepWorkerFunctionRole", "Arn"}}, map[string]any{"Ref": "AWS::NoValue"}}}})
	}
	if !onlyFunction {
		t.Error("SweepQueuePolicy does not deny sqs:SendMessage to all but the function's role")
	}
	age, _ := strconv.Atoi(fmt.Sprint(at(res, "SweepQueueAgeAlarm", "Properties", "Threshold")))
	retention, _ := strconv.Atoi(fmt.Sprint(at(res, "SweepQueue", "Properties", "MessageRetentionPeriod")))
	if at(res, "SweepQueueAgeAlarm", "Properties", "MetricName") != "ApproximateAgeOfOldestMessage" || age == 0 || age > retention/2 {
		t.Errorf("SweepQueueAgeAlarm at %d s of a %d s retention: want the oldest message's age, at most half", age, retention)
	}
	m := at(res, "SweepTargets", "Properties").(map[string]any)
	if fmt.Sprint(m["BatchSize"]) != "1" || !reflect.DeepEqual(m["FunctionResponseTypes"], []any{"ReportBatchItemFailures"}) ||
		!reflect.DeepEqual(at(m, "ScalingConfig", "MaximumConcurrency"), map[string]any{"Ref": "SweepConcurrency"}) ||
		!reflect.DeepEqual(m["EventSourceArn"], map[string]any{"Fn::GetAtt": []any{"SweepQueue", "Arn"}}) {
		t.Errorf("SweepTargets %v", m)
	}
	// The queue's targets go to the function that sweeps: the worker when
	// there is a history table, whose timeout the visibility covers too.
	for params, fn := range map[string]string{"": "SgwatchFunction", "athena://primary/cloudtrail.logs": "SweepWorkerFunction"} {
		d := deploy(t, tpl, map[string]string{"SweepAccounts": "organization", "HistorySource": params}).resources(t)
		if got := at(d, "SweepTargets", "Properties", "FunctionName"); !reflect.DeepEqual(got, map[string]any{"Ref": fn}) {
			t.Errorf("HistorySource %q: SweepTargets invokes %v, want %s", params, got, fn)
		}
		if w, _ := strconv.Atoi(fmt.Sprint(at(d, fn, "Properties", "Timeout"))); w == 0 || visibility < 6*w {
			t.Errorf("SweepQueue's visibility timeout %d s, want at least 6 × %s's %d s", visibility, fn, w)
		}
	}
	for _, params := range []map[string]string{{"Sweep": "true"}, {"Sweep": "true", "SweepAccounts": "organization"}} {
		d := deploy(t, tpl, params)
		q, dl := d.eval(t, env["SWEEP_QUEUE_URL"]), d.eval(t, env["SWEEP_DEAD_LETTER_URL"])
		if fans := params["SweepAccounts"] != ""; fans != reflect.DeepEqual(q, map[string]any{"Ref": "SweepQueue"}) ||
			fans != reflect.DeepEqual(dl, map[string]any{"Ref": "SweepDeadLetterQueue"}) || !fans && (q != "" || dl != "") {
			t.Errorf("%v: SWEEP_QUEUE_URL %v, SWEEP_DEAD_LETTER_URL %v", params, q, dl)
		}
	}
}

// TestTemplateSweepWorker: with HistorySource (and Sweep) the template adds
// the sweep worker, cmd/sgwatch-sweep: the function's settings,
// environment (HISTORY_SOURCE too) and failure destination, a role of its
// own with the sweep's grants and, when HistoryPolicyArn names one, the
// history's reader policy, which the event function's role never gets;
// without HistorySource, or without Sweep, there is no worker.
func TestTemplateSweepWorker(t *testing.T) {
	tpl := templateValue(t)
	const source = "athena://primary/cloudtrail.logs"
	const policy = "arn:aws:iam::123456789012:policy/sgwatch-history-reader"
	for _, c := range []struct {
		params  map[string]string
		worker  bool
		refused string // the rule CloudFormation refuses the parameters by
	}{
		{nil, false, ""},
		{map[string]string{"HistorySource": source}, true, ""},
		{map[string]string{"HistorySource": source, "Sweep": "false"}, false, "HistoryNeedsSweep"},
		{map[string]string{"HistorySource": source, "HistoryPolicyArn": policy}, true, ""},
		{map[string]string{"HistoryPolicyArn": policy}, false, "HistoryPolicyNeedsSource"},
	} {
		d := deploy(t, tpl, c.params)
		if got := strings.Join(d.refused(t), " "); got != c.refused {
			t.Errorf("%v: refused by %q, want %q", c.params, got, c.refused)
		}
		res := d.resources(t)
		w, ok := res["SweepWorkerFunction"]
		if ok != c.worker {
			t.Errorf("%v: a worker %v, want %v", c.params, ok, c.worker)
			continue
		}
		// The event function's role never reads the history.
		if policies, _ := at(res, "SgwatchFunction", "Properties", "Policies").([]any); len(policies) != 1 {
			t.Errorf("%v: the function's policies %v", c.params, policies)
		}
		if !ok {
			continue
		}
		policies, _ := at(w, "Properties", "Policies").([]any)
		sns := at(res, "SgwatchFunction", "Properties", "Policies").([]any)[0]
		if want := c.params["HistoryPolicyArn"]; len(policies) == 0 || !reflect.DeepEqual(policies[0], sns) ||
			want != "" && !slices.Contains(policies, any(want)) || want == "" && len(policies) != 1 {
			t.Errorf("%v: the worker's policies %v, want the function's SNS grant and the reader policy", c.params, policies)
		}
		// Every grant the sweep needs names the worker's role too; live
		// context (ENRICH) is the event function's alone.
		for name, r := range res {
			roles, isPolicy := at(r, "Properties", "Roles").([]any)
			if at(r, "Type") != "AWS::IAM::Policy" || !isPolicy {
				continue
			}
			worker := map[string]any{"Ref": "SweepWorkerFunctionRole"}
			if has := slices.ContainsFunc(roles, func(r any) bool { return reflect.DeepEqual(r, worker) }); has == (name == "EnrichPolicy") {
				t.Errorf("%v: %s is for %v", c.params, name, roles)
			}
		}
		fn := at(res, "SgwatchFunction", "Properties").(map[string]any)
		for _, k := range []string{"Handler", "Runtime", "Architectures", "MemorySize", "Timeout", "EventInvokeConfig", "LoggingConfig", "Environment"} {
			if got := at(w, "Properties", k); !reflect.DeepEqual(got, fn[k]) {
				t.Errorf("the worker's %s %v, the function's %v", k, got, fn[k])
			}
		}
		for k, want := range map[string]any{
			"CodeUri": "cmd/sgwatch-sweep", "Role": nil,
		} {
			if got := at(w, "Properties", k); !reflect.DeepEqual(got, want) {
				t.Errorf("the worker's %s %v, want %v", k, got, want)
			}
		}
		if got := at(w, "Properties", "Environment", "Variables", "HISTORY_SOURCE"); got != source {
			t.Errorf("HISTORY_SOURCE %v, want %s", got, source)
		}
	}
	if out, err := exec.Command("go", "list", "-f", "{{.Name}}", "./cmd/sgwatch-sweep").Output(); err != nil || strings.TrimSpace(string(out)) != "main" {
		t.Errorf("cmd/sgwatch-sweep: %q %v, want a main package", out, err)
	}
	for v, ok := range map[string]bool{"": true, source: true, "athena://primary/amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0": true,
		"s3://bucket/key": false, "athena://primary/logs": false, "athena://primary/cloudtrail.logs'": false} {
		checkAllowed(t, tpl, "HistorySource", v, ok)
	}
}

// revertEC2 are the EC2 calls the revert is granted: the one write, and the
// re-reads of the rules and their approval tags.
var revertEC2 = []string{"ec2:RevokeSecurityGroupIngress", "ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups"}

// revertOnly are the resources that exist only with revert on (RevertOn),
// and those only with an approval window (RevertWindow).
var (
	revertOnly = []string{"RevertPolicy"}
	windowOnly = []string{"RevertSchedulePolicy", "RevertScheduleGroup", "RevertScheduleRole", "RevertScheduleRolePolicy",
		"RevertDeadLetterQueue", "RevertDeadLetterQueuePolicy", "RevertDeadLetterAlarm"}
)

// allowStatements are the Allow statements of every policy document of a
// deployment's resources (evaluated), by resource: IAM policies, roles'
// inline and trust policies, key, queue and topic policies.
func allowStatements(res map[string]any) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	var walk func(name string, v any)
	walk = func(name string, v any) {
		switch c := v.(type) {
		case map[string]any:
			for k, e := range c {
				if k == "Statement" {
					list, ok := e.([]any)
					if !ok {
						list = []any{e}
					}
					for _, st := range list {
						if m, ok := st.(map[string]any); ok && m["Effect"] == "Allow" {
							out[name] = append(out[name], m)
						}
					}
					continue
				}
				walk(name, e)
			}
		case []any:
			for _, e := range c {
				walk(name, e)
			}
		}
	}
	for name, r := range res {
		walk(name, r)
	}
	return out
}

// grantsAction: one of the statements allows action (its Action patterns,
// case-insensitive, as IAM reads them); a NotAction Allow grants anything.
func grantsAction(sts []map[string]any, action string) bool {
	for _, st := range sts {
		if st["NotAction"] != nil || matchAny(st["Action"], action, true) {
			return true
		}
	}
	return false
}

// TestTemplateRevert: the revert is off by default, and then nothing can
// revoke: no revert resource, no revoke grant anywhere, REVERT=off. Revert
// on adds RevertPolicy (on both functions' roles): RevokeSecurityGroupIngress
// on this account's security groups only, in any Region, and the two
// re-reads; without a window nothing of Scheduler. With a window
// (RevertAfter), the function may create schedules named sgwatch-revert-…
// in RevertScheduleGroup only and pass RevertScheduleRole to Scheduler
// only; that role is Scheduler's for this account's group only and may
// invoke SgwatchFunction (and nothing else) and send to the encrypted
// dead-letter queue, whose alarm notifies the topic. In no deployment does
// anything grant a revoke of egress rules or any Authorize call.
func TestTemplateRevert(t *testing.T) {
	tpl := templateValue(t)
	for p, want := range map[string]string{"Revert": "off", "RevertAfter": "0", "RevertExempt": "", "RevertInclude": ""} {
		if d, ok := at(tpl, "Parameters", p, "Default").(string); !ok || d != want {
			t.Errorf("parameter %s defaults to %v, want %q", p, at(tpl, "Parameters", p, "Default"), want)
		}
	}
	for name, want := range map[string]any{
		"RevertOn": map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Revert"}, "off"}}}},
		"RevertWindow": map[string]any{"Fn::And": []any{map[string]any{"Condition": "RevertOn"},
			map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "RevertAfter"}, "0"}}}}}},
	} {
		if got := at(tpl, "Conditions", name); !reflect.DeepEqual(got, want) {
			t.Errorf("condition %s is %v, want %v", name, got, want)
		}
	}
	raw := tpl["Resources"].(map[string]any)
	for _, name := range revertOnly {
		if c := at(raw, name, "Condition"); c != "RevertOn" {
			t.Errorf("%s has condition %v, want RevertOn", name, c)
		}
	}
	for _, name := range windowOnly {
		if c := at(raw, name, "Condition"); c != "RevertWindow" {
			t.Errorf("%s has condition %v, want RevertWindow", name, c)
		}
	}
	for _, name := range []string{"RevertScheduleGroupName", "RevertDeadLetterQueueUrl"} {
		if c := at(tpl, "Outputs", name, "Condition"); c != "RevertWindow" {
			t.Errorf("output %s has condition %v, want RevertWindow", name, c)
		}
	}

	const worker = "athena://primary/cloudtrail.logs"
	const account, region = "123456789012", "us-east-1" // pseudo's
	getAtt := func(r, a string) any { return map[string]any{"Fn::GetAtt": []any{r, a}} }
	ref := func(r string) any { return map[string]any{"Ref": r} }
	for _, c := range []struct {
		params        map[string]string
		on, window    bool
		worker        bool
		revert, after string // REVERT, REVERT_AFTER as the function gets them
	}{
		{nil, false, false, false, "off", "0"},
		{map[string]string{"Sweep": "false"}, false, false, false, "off", "0"},
		{map[string]string{"Revert": "critical"}, true, false, false, "critical", "0"},
		{map[string]string{"Revert": "critical", "RevertAfter": "0", "RevertExempt": "arn:aws:iam::123456789012:role/break-glass"}, true, false, false, "critical", "0"},
		{map[string]string{"Revert": "high", "RevertAfter": "15m"}, true, true, false, "high", "15m"},
		{map[string]string{"Revert": "low", "RevertAfter": "1h30m", "RevertInclude": "trusted-automation,authorized-ports", "HistorySource": worker}, true, true, true, "low", "1h30m"},
		{map[string]string{"Revert": "medium", "HistorySource": worker, "SweepAccounts": "organization"}, true, false, true, "medium", "0"},
	} {
		t.Run(fmt.Sprint(c.params), func(t *testing.T) {
			d := deploy(t, tpl, c.params)
			if r := d.refused(t); len(r) != 0 {
				t.Fatalf("refused by %v", r)
			}
			res, outputs := d.resources(t), d.outputs(t)
			for _, missing := range d.dangling(t) {
				t.Errorf("refers to %s, which does not exist in this deployment", missing)
			}
			for _, name := range revertOnly {
				if _, ok := res[name]; ok != c.on {
					t.Errorf("%s exists: %v, want %v", name, ok, c.on)
				}
			}
			for _, name := range windowOnly {
				if _, ok := res[name]; ok != c.window {
					t.Errorf("%s exists: %v, want %v", name, ok, c.window)
				}
			}
			for _, name := range []string{"RevertScheduleGroupName", "RevertDeadLetterQueueUrl"} {
				if _, ok := outputs[name]; ok != c.window {
					t.Errorf("output %s exists: %v, want %v", name, ok, c.window)
				}
			}

			// What both functions are told, and that the function accepts it.
			want := map[string]any{"REVERT": c.revert, "REVERT_AFTER": c.after, "REVERT_EXEMPT": c.params["RevertExempt"], "REVERT_INCLUDE": c.params["RevertInclude"],
				"REVERT_SCHEDULE_GROUP": "", "REVERT_SCHEDULE_ROLE": "", "REVERT_DEAD_LETTER_ARN": ""}
			if c.window {
				want["REVERT_SCHEDULE_GROUP"], want["REVERT_SCHEDULE_ROLE"], want["REVERT_DEAD_LETTER_ARN"] =
					ref("RevertScheduleGroup"), getAtt("RevertScheduleRole", "Arn"), getAtt("RevertDeadLetterQueue", "Arn")
			}
			fns := []string{"SgwatchFunction"}
			if c.worker {
				fns = append(fns, "SweepWorkerFunction")
			}
			for _, fn := range fns {
				env, _ := at(res, fn, "Properties", "Environment", "Variables").(map[string]any)
				for v, w := range want {
					if !reflect.DeepEqual(env[v], w) {
						t.Errorf("%s: %s is %v, want %v", fn, v, env[v], w)
					}
				}
				r, err := policy.RevertFromEnv(func(k string) string { s, _ := env[k].(string); return s })
				if err != nil || r.On() != c.on || (r.After != 0) != c.window {
					t.Errorf("%s: the function reads the revert as on %v, window %v (%v), want on %v, window %v", fn, r.On(), r.After, err, c.on, c.window)
				}
			}

			// Nothing opens or changes a rule, nor revokes egress; only
			// RevertPolicy revokes ingress, and only with revert on.
			allows := allowStatements(res)
			for name, sts := range allows {
				for _, a := range []string{"ec2:RevokeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
					"ec2:ModifySecurityGroupRules", "ec2:UpdateSecurityGroupRuleDescriptionsIngress", "ec2:DeleteSecurityGroup"} {
					if grantsAction(sts, a) {
						t.Errorf("%s grants %s", name, a)
					}
				}
				if grantsAction(sts, "ec2:RevokeSecurityGroupIngress") && name != "RevertPolicy" {
					t.Errorf("%s grants ec2:RevokeSecurityGroupIngress: only RevertPolicy may", name)
				}
				for _, a := range []string{"scheduler:CreateSchedule", "iam:PassRole"} {
					if grantsAction(sts, a) && name != "RevertSchedulePolicy" {
						t.Errorf("%s grants %s: only RevertSchedulePolicy may", name, a)
					}
				}
				if grantsAction(sts, "lambda:InvokeFunction") && !slices.Contains([]string{"SweepScheduleRole", "RevertScheduleRolePolicy"}, name) {
					t.Errorf("%s grants lambda:InvokeFunction", name)
				}
			}
			if !c.on {
				return
			}

			// RevertPolicy: on the functions' roles, exactly the revoke on this
			// account's security groups (any Region) and the two re-reads.
			pol := res["RevertPolicy"]
			roles := []any{ref("SgwatchFunctionRole")}
			if c.worker {
				roles = append(roles, ref("SweepWorkerFunctionRole"))
			}
			if at(pol, "Type") != "AWS::IAM::Policy" || !reflect.DeepEqual(at(pol, "Properties", "Roles"), roles) {
				t.Errorf("RevertPolicy: %v for %v, want an AWS::IAM::Policy for %v", at(pol, "Type"), at(pol, "Properties", "Roles"), roles)
			}
			got := map[string][]string{}
			for _, st := range statements(pol, "PolicyDocument") {
				if st["Effect"] != "Allow" || st["Condition"] != nil || st["NotAction"] != nil || st["NotResource"] != nil {
					t.Errorf("RevertPolicy statement %v: want a plain Allow", st)
				}
				for _, a := range strs(st["Action"]) {
					got[a] = append(got[a], resourceNames(st["Resource"])...)
				}
			}
			groups := "arn:aws:ec2:*:" + account + ":security-group/*"
			if w := (map[string][]string{"ec2:RevokeSecurityGroupIngress": {groups}, "ec2:DescribeSecurityGroupRules": {"*"}, "ec2:DescribeSecurityGroups": {"*"}}); !reflect.DeepEqual(got, w) {
				t.Errorf("RevertPolicy grants %v, want exactly %v", got, w)
			}
			revoke := []any{groups}
			for arn, ok := range map[string]bool{
				"arn:aws:ec2:" + region + ":" + account + ":security-group/sg-0123456789abcdef0":       true,
				"arn:aws:ec2:eu-west-1:" + account + ":security-group/sg-0123456789abcdef0":            true,
				"arn:aws:ec2:" + region + ":111111111111:security-group/sg-0123456789abcdef0":          false,
				"arn:aws:ec2:" + region + ":" + account + ":security-group-rule/sgr-0123456789abcdef0": false,
				"arn:aws:ec2:" + region + ":" + account + ":instance/i-0123456789abcdef0":              false,
			} {
				if matchAny(revoke, arn, false) != ok {
					t.Errorf("RevertPolicy's revoke covers %s: %v, want %v", arn, !ok, ok)
				}
			}
			if !c.window {
				return
			}

			// The group, as CloudFormation names it, and the schedules the
			// function creates in it.
			const group = "sgwatch-RevertScheduleGroup-1A2B3C4D5E6F"
			name := revert.ScheduleName("AuthorizeSecurityGroupIngress/6a7e8feb-b491-4cf7-a9f1-bf3703467718")
			if !regexp.MustCompile(`^sgwatch-revert-[0-9a-f]{40}$`).MatchString(name) {
				t.Fatalf("the function names a schedule %q, want sgwatch-revert-<40 hex>", name)
			}
			sub := func(v any) any {
				s, ok := v.(string)
				if !ok {
					return v
				}
				return strings.ReplaceAll(s, "${RevertScheduleGroup}", group)
			}
			if at(res, "RevertScheduleGroup", "Type") != "AWS::Scheduler::ScheduleGroup" || at(res, "RevertScheduleGroup", "Properties", "Name") != nil {
				t.Errorf("RevertScheduleGroup: %v named %v, want an AWS::Scheduler::ScheduleGroup CloudFormation names", at(res, "RevertScheduleGroup", "Type"), at(res, "RevertScheduleGroup", "Properties", "Name"))
			}

			// RevertSchedulePolicy: the event function's alone (it schedules;
			// the sweep worker does not).
			sp := res["RevertSchedulePolicy"]
			if at(sp, "Type") != "AWS::IAM::Policy" || !reflect.DeepEqual(at(sp, "Properties", "Roles"), []any{ref("SgwatchFunctionRole")}) {
				t.Errorf("RevertSchedulePolicy: %v for %v, want an AWS::IAM::Policy for the function's role", at(sp, "Type"), at(sp, "Properties", "Roles"))
			}
			var create, pass []map[string]any
			for _, st := range statements(sp, "PolicyDocument") {
				switch a := strs(st["Action"]); {
				case st["Effect"] != "Allow" || st["NotAction"] != nil || st["NotResource"] != nil || len(a) != 1:
					t.Errorf("RevertSchedulePolicy statement %v: want an Allow of one action", st)
				case a[0] == "scheduler:CreateSchedule":
					create = append(create, st)
				case a[0] == "iam:PassRole":
					pass = append(pass, st)
				default:
					t.Errorf("RevertSchedulePolicy grants %s", a[0])
				}
			}
			if len(create) != 1 || len(pass) != 1 {
				t.Fatalf("RevertSchedulePolicy: %d CreateSchedule and %d PassRole statements, want one each", len(create), len(pass))
			}
			schedules := []any{sub(create[0]["Resource"])}
			if create[0]["Condition"] != nil {
				t.Errorf("CreateSchedule has condition %v", create[0]["Condition"])
			}
			for arn, ok := range map[string]bool{
				"arn:aws:scheduler:" + region + ":" + account + ":schedule/" + group + "/" + name: true,
				"arn:aws:scheduler:" + region + ":" + account + ":schedule/default/" + name:       false,
				"arn:aws:scheduler:" + region + ":" + account + ":schedule/" + group + "/other":   false,
				"arn:aws:scheduler:" + region + ":111111111111:schedule/" + group + "/" + name:    false,
				"arn:aws:scheduler:eu-west-1:" + account + ":schedule/" + group + "/" + name:      false,
				"arn:aws:scheduler:" + region + ":" + account + ":schedule-group/" + group:        false,
			} {
				if matchAny(schedules, arn, false) != ok {
					t.Errorf("CreateSchedule on %v covers %s: %v, want %v", schedules, arn, !ok, ok)
				}
			}
			if r := pass[0]["Resource"]; !reflect.DeepEqual(r, getAtt("RevertScheduleRole", "Arn")) {
				t.Errorf("iam:PassRole on %v, want RevertScheduleRole only", r)
			}
			if cond := pass[0]["Condition"]; !reflect.DeepEqual(cond, map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "scheduler.amazonaws.com"}}) {
				t.Errorf("iam:PassRole under %v, want iam:PassedToService = scheduler.amazonaws.com only", cond)
			}

			// RevertScheduleRole: Scheduler's, for this account's group only;
			// its permissions in RevertScheduleRolePolicy alone.
			role := res["RevertScheduleRole"]
			for field := range at(role, "Properties").(map[string]any) {
				if !slices.Contains([]string{"Description", "AssumeRolePolicyDocument"}, field) {
					t.Errorf("RevertScheduleRole has %s: its permissions are RevertScheduleRolePolicy's", field)
				}
			}
			trust := statements(role, "AssumeRolePolicyDocument")
			wantTrust := map[string]any{
				"Effect": "Allow", "Principal": map[string]any{"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole",
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": account},
					"ArnEquals": map[string]any{"aws:SourceArn": getAtt("RevertScheduleGroup", "Arn")}},
			}
			if len(trust) != 1 || !reflect.DeepEqual(trust[0], wantTrust) {
				t.Errorf("RevertScheduleRole's trust %v, want only %v", trust, wantTrust)
			}
			var attached []string
			for name, r := range res {
				if roles, _ := at(r, "Properties", "Roles").([]any); slices.ContainsFunc(roles, func(v any) bool { return reflect.DeepEqual(v, ref("RevertScheduleRole")) }) {
					attached = append(attached, name)
				}
			}
			if !slices.Equal(attached, []string{"RevertScheduleRolePolicy"}) {
				t.Errorf("policies on RevertScheduleRole: %v, want RevertScheduleRolePolicy only", attached)
			}
			rp := res["RevertScheduleRolePolicy"]
			if at(rp, "Type") != "AWS::IAM::Policy" || !reflect.DeepEqual(at(rp, "Properties", "Roles"), []any{ref("RevertScheduleRole")}) {
				t.Errorf("RevertScheduleRolePolicy: %v for %v, want an AWS::IAM::Policy for RevertScheduleRole alone", at(rp, "Type"), at(rp, "Properties", "Roles"))
			}
			wantRole := []map[string]any{
				{"Sid": "InvokeTheFunction", "Effect": "Allow", "Action": "lambda:InvokeFunction",
					"Resource": []any{getAtt("SgwatchFunction", "Arn"), "${SgwatchFunction.Arn}:*"}},
				{"Sid": "DeadLetter", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": getAtt("RevertDeadLetterQueue", "Arn")},
			}
			if got := statements(rp, "PolicyDocument"); !reflect.DeepEqual(got, wantRole) {
				t.Errorf("RevertScheduleRolePolicy grants %v\nwant only %v", got, wantRole)
			}

			// The dead-letter queue: encrypted, kept 14 days, TLS only, and
			// an alarm on it (TestTemplateQueueAlarms).
			q := at(res, "RevertDeadLetterQueue", "Properties")
			if at(q, "SqsManagedSseEnabled") != "true" && at(q, "KmsMasterKeyId") == nil {
				t.Errorf("RevertDeadLetterQueue is not encrypted: %v", q)
			}
			if r := fmt.Sprint(at(q, "MessageRetentionPeriod")); r != "1209600" {
				t.Errorf("RevertDeadLetterQueue keeps messages %s s, want 14 days", r)
			}
			tls := false
			for _, st := range statements(res["RevertDeadLetterQueuePolicy"], "PolicyDocument") {
				tls = tls || st["Effect"] == "Deny" && at(st, "Condition", "Bool", "aws:SecureTransport") == "false" &&
					reflect.DeepEqual(st["Resource"], getAtt("RevertDeadLetterQueue", "Arn"))
			}
			if !tls {
				t.Error("RevertDeadLetterQueuePolicy does not deny requests without TLS")
			}
			if !reflect.DeepEqual(outputs["RevertScheduleGroupName"], ref("RevertScheduleGroup")) || !reflect.DeepEqual(outputs["RevertDeadLetterQueueUrl"], ref("RevertDeadLetterQueue")) {
				t.Errorf("outputs %v and %v, want the group's name and the queue's URL", outputs["RevertScheduleGroupName"], outputs["RevertDeadLetterQueueUrl"])
			}
		})
	}
}

// TestTemplateRevertRules: the revert's settings without Revert are
// refused by CloudFormation, each by its own rule, rather than ignored (the
// function would refuse them too).
func TestTemplateRevertRules(t *testing.T) {
	tpl := templateValue(t)
	const exempt = "arn:aws:iam::123456789012:role/break-glass"
	for _, c := range []struct {
		params  map[string]string
		refused []string
	}{
		{nil, nil},
		{map[string]string{"Revert": "off"}, nil},
		{map[string]string{"RevertAfter": "15m"}, []string{"RevertAfterNeedsRevert"}},
		{map[string]string{"Revert": "off", "RevertExempt": exempt}, []string{"RevertExemptNeedsRevert"}},
		{map[string]string{"RevertInclude": "authorized-ports"}, []string{"RevertIncludeNeedsRevert"}},
		{map[string]string{"RevertAfter": "4h", "RevertExempt": exempt, "RevertInclude": "trusted-automation"},
			[]string{"RevertAfterNeedsRevert", "RevertExemptNeedsRevert", "RevertIncludeNeedsRevert"}},
		{map[string]string{"Revert": "critical", "RevertAfter": "4h", "RevertExempt": exempt, "RevertInclude": "trusted-automation"}, nil},
		{map[string]string{"Revert": "low", "RevertAfter": "0"}, nil},
	} {
		d := deploy(t, tpl, c.params)
		if got := d.refused(t); !slices.Equal(got, c.refused) {
			t.Errorf("%v: refused by %v, want %v", c.params, got, c.refused)
		}
		// The function agrees.
		env := map[string]string{}
		for v, p := range map[string]string{"REVERT": "Revert", "REVERT_AFTER": "RevertAfter", "REVERT_EXEMPT": "RevertExempt", "REVERT_INCLUDE": "RevertInclude"} {
			env[v], _ = d.value(p)
		}
		if _, err := policy.RevertFromEnv(func(k string) string { return env[k] }); (err != nil) != (len(c.refused) > 0) {
			t.Errorf("%v: the function reads it with error %v, the template refuses it by %v", c.params, err, c.refused)
		}
	}
	// A window needs the sweep (expired approvals); the function refuses
	// it too.
	for _, c := range []struct {
		params  map[string]string
		refused []string
	}{
		{map[string]string{"Revert": "high", "RevertAfter": "15m", "Sweep": "false"}, []string{"RevertWindowNeedsSweep"}},
		{map[string]string{"Revert": "high", "RevertAfter": "0", "Sweep": "false"}, nil},
		{map[string]string{"Revert": "high", "RevertAfter": "15m", "Sweep": "true"}, nil},
	} {
		d := deploy(t, tpl, c.params)
		if got := d.refused(t); !slices.Equal(got, c.refused) {
			t.Errorf("%v: refused by %v, want %v", c.params, got, c.refused)
		}
	}
	for name, r := range tpl["Rules"].(map[string]any) {
		if !strings.HasPrefix(name, "Revert") {
			continue
		}
		for _, a := range at(r, "Assertions").([]any) {
			if d, _ := at(a, "AssertDescription").(string); !strings.Contains(d, "set Revert") {
				t.Errorf("%s: AssertDescription %q does not say to set Revert", name, d)
			}
		}
	}
}

// TestTemplateRevertParameters: the parameters accept what the function
// does and refuse the rest before anything is deployed. RevertAfter is 0,
// or whole minutes from 1m to 24h written in h and m: only "0" means no
// window (the RevertWindow condition compares the text), so 0m is refused,
// and what the pattern accepts, the function does, with the same
// duration. The patterns are read with Go's regexp (see
// TestTemplatePortsPattern).
func TestTemplateRevertParameters(t *testing.T) {
	tpl := templateValue(t)
	values, _ := at(tpl, "Parameters", "Revert", "AllowedValues").([]any)
	var got []string
	for _, v := range values {
		s, _ := v.(string)
		got = append(got, s)
		r, err := policy.RevertFromEnv(func(k string) string { return map[string]string{"REVERT": s}[k] })
		if err != nil || r.On() != (s != "off") {
			t.Errorf("Revert %q: the function reads it as on %v (%v)", s, r.On(), err)
		}
	}
	if strings.Join(got, ",") != "off,critical,high,medium,low" {
		t.Errorf("Revert allows %v, want off, critical, high, medium and low", got)
	}
	// REVERT_EXEMPT is read as TRUSTED_PRINCIPALS: the same parameter check.
	if a, b := at(tpl, "Parameters", "RevertExempt", "AllowedPattern"), at(tpl, "Parameters", "TrustedPrincipals", "AllowedPattern"); !reflect.DeepEqual(a, b) {
		t.Errorf("RevertExempt's AllowedPattern %v, TrustedPrincipals' %v: want the same", a, b)
	}
	for _, c := range []struct {
		v    string
		ok   bool
		want time.Duration
	}{
		{"0", true, 0},
		{"1m", true, time.Minute},
		{"15m", true, 15 * time.Minute},
		{"90m", true, 90 * time.Minute},
		{"1440m", true, 24 * time.Hour},
		{"1h", true, time.Hour},
		{"4h", true, 4 * time.Hour},
		{"24h", true, 24 * time.Hour},
		{"1h30m", true, 90 * time.Minute},
		{"2h05m", true, 125 * time.Minute},
		{"1h0m", true, time.Hour},
		{"23h59m", true, 24*time.Hour - time.Minute},
		{"", false, 0},
		{"15", false, 0},
		{"1d", false, 0},
		{"-5m", false, 0},
		{"x", false, 0},
		{"0m", false, 0},
		{"0h", false, 0},
		{"0s", false, 0},
		{"00", false, 0},
		{"05m", false, 0},
		{"0h30m", false, 0},
		{"30s", false, 0},
		{"1m30s", false, 0},
		{"1.5h", false, 0},
		{"1441m", false, 0},
		{"25h", false, 0},
		{"24h1m", false, 0},
		{"1h60m", false, 0},
		{"15M", false, 0},
		{" 15m", false, 0},
		{"15m ", false, 0},
		{"15m,4h", false, 0},
	} {
		checkAllowed(t, tpl, "RevertAfter", c.v, c.ok)
		if !c.ok {
			continue
		}
		r, err := policy.RevertFromEnv(func(k string) string { return map[string]string{"REVERT": "high", "REVERT_AFTER": c.v}[k] })
		if err != nil || r.After != c.want {
			t.Errorf("RevertAfter %q: the function reads %v (%v), want %v", c.v, r.After, err, c.want)
		}
	}
	for _, c := range []struct {
		v  string
		ok bool
	}{
		{"", true},
		{"trusted-automation", true},
		{"authorized-ports", true},
		{"trusted-automation,authorized-ports", true},
		{" authorized-ports , trusted-automation ", true},
		{"all", false},
		{"trusted-automation,", false},
		{",authorized-ports", false},
		{"trusted automation", false},
		{"trusted-automation;authorized-ports", false},
		{"trusted-automation,authorized-ports,trusted-automation", false},
		{"authorized-ports,other", false},
	} {
		checkAllowed(t, tpl, "RevertInclude", c.v, c.ok)
		if !c.ok {
			continue
		}
		if _, err := policy.RevertFromEnv(func(k string) string {
			return map[string]string{"REVERT": "high", "REVERT_INCLUDE": c.v}[k]
		}); err != nil {
			t.Errorf("RevertInclude %q: the function refuses it: %v", c.v, err)
		}
	}
}
