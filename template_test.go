package main

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/sgwatch/sgwatch/detect"
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
			Events        map[string]struct {
				Type       string `yaml:"Type"`
				Properties struct {
					EventBusName string `yaml:"EventBusName"`
					Pattern      struct {
						Source     []string `yaml:"source"`
						DetailType []string `yaml:"detail-type"`
						Detail     struct {
							EventSource []string `yaml:"eventSource"`
							EventName   []string `yaml:"eventName"`
						} `yaml:"detail"`
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
			PolicyDocument struct {
				Statement []struct {
					Effect    string         `yaml:"Effect"`
					Condition map[string]any `yaml:"Condition"`
				} `yaml:"Statement"`
			} `yaml:"PolicyDocument"`
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
	if len(p.Events) != 1 {
		t.Fatalf("%d events, want the one EventBridge rule", len(p.Events))
	}
	for _, ev := range p.Events {
		pat := ev.Properties.Pattern
		if ev.Type != "EventBridgeRule" || ev.Properties.EventBusName != "" {
			t.Errorf("event %s on bus %q, want EventBridgeRule on the default bus", ev.Type, ev.Properties.EventBusName)
		}
		if !slices.Equal(pat.Source, []string{"aws.ec2"}) || !slices.Equal(pat.DetailType, []string{"AWS API Call via CloudTrail"}) ||
			!slices.Equal(pat.Detail.EventSource, []string{detect.EventSource}) {
			t.Errorf("pattern %+v", pat)
		}
		names := slices.Sorted(slices.Values(pat.Detail.EventName))
		if !slices.Equal(names, detect.Calls()) {
			t.Errorf("pattern eventName %v, want exactly %v", names, detect.Calls())
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
	for _, st := range tpl.Resources["TopicPolicy"].Properties.PolicyDocument.Statement {
		b, _ := st.Condition["Bool"].(map[string]any)
		tls = tls || (st.Effect == "Deny" && b["aws:SecureTransport"] == "false")
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
// that no other resource grants them).
func TestTemplateTuning(t *testing.T) {
	data, err := os.ReadFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Parameters map[string]any `yaml:"Parameters"`
		Resources  map[string]struct {
			Condition  string `yaml:"Condition"`
			Properties struct {
				Environment struct {
					Variables map[string]yaml.Node `yaml:"Variables"`
				} `yaml:"Environment"`
				PolicyDocument struct {
					Statement []struct {
						Action   yaml.Node `yaml:"Action"`
						Resource string    `yaml:"Resource"`
					} `yaml:"Statement"`
				} `yaml:"PolicyDocument"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(data, &tpl); err != nil {
		t.Fatal(err)
	}
	vars := tpl.Resources["SgwatchFunction"].Properties.Environment.Variables
	for v, param := range map[string]string{
		"EXTRA_SENSITIVE_PORTS": "ExtraSensitivePorts", "TRUSTED_PRINCIPALS": "TrustedPrincipals",
		"TRUSTED_SERVICES": "TrustedServices", "SUPPRESS": "Suppress", "MIN_SEVERITY": "MinSeverity", "ENRICH": "Enrich",
	} {
		n, ok := vars[v]
		if !ok || n.Tag != "!Ref" || n.Value != param || tpl.Parameters[param] == nil {
			t.Errorf("%s is not set from parameter %s", v, param)
		}
	}
	enrich := tpl.Resources["EnrichPolicy"]
	if enrich.Condition != "EnrichEnabled" {
		t.Errorf("EnrichPolicy has condition %q, want EnrichEnabled", enrich.Condition)
	}
	st := enrich.Properties.PolicyDocument.Statement
	var actions []string
	if len(st) == 1 {
		_ = st[0].Action.Decode(&actions)
	}
	if !slices.Equal(actions, []string{"ec2:DescribeSecurityGroups", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroupRules"}) {
		t.Errorf("EnrichPolicy grants %v, want exactly the three Describe calls", actions)
	}
}

// templateValue is template.yaml as plain values, its short-form intrinsic
// functions in their long form: `!GetAtt A.B` is {"Fn::GetAtt": ["A", "B"]},
// `!Ref X` is {"Ref": "X"}, `!If [...]` is {"Fn::If": [...]}, so that tests
// compare what CloudFormation sees, however the template spells it.
func templateValue(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	v, ok := plain(t, doc.Content[0]).(map[string]any)
	if !ok {
		t.Fatal("template.yaml is not a mapping")
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
	case tag == "Ref":
		return map[string]any{"Ref": v}
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
	for _, queue := range []string{"UndeliveredEventQueue", "FailedInvocationQueue"} {
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
		if c := at(a, "Condition"); c != nil {
			t.Errorf("%s has condition %v: it must exist whichever topic is used", name, c)
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
	var alarms []any
	for name, r := range res {
		if at(r, "Type") == "AWS::CloudWatch::Alarm" {
			alarms = append(alarms, map[string]any{"Fn::GetAtt": []any{name, "Arn"}})
		}
	}
	sourceArns, _ := at(st, "Condition", "ArnEquals", "aws:SourceArn").([]any)
	byAccount := reflect.DeepEqual(at(st, "Condition", "StringEquals", "aws:SourceAccount"), account)
	byAlarm := len(sourceArns) == len(alarms) && len(alarms) == 2
	for _, a := range alarms {
		byAlarm = byAlarm && slices.ContainsFunc(sourceArns, func(s any) bool { return reflect.DeepEqual(s, a) })
	}
	if !byAccount || !byAlarm {
		t.Errorf("TopicPolicy's CloudWatch condition %v: want this account and exactly the alarms %v", st["Condition"], alarms)
	}
}

// TestTemplateDeadLetterPolicyNamesTheRule: only the one rule may send to
// the rule's dead-letter queue. SAM names the AWS::Events::Rule it generates
// for an EventBridgeRule event after the function and the event.
func TestTemplateDeadLetterPolicyNamesTheRule(t *testing.T) {
	res := templateValue(t)["Resources"].(map[string]any)
	events, _ := at(res, "SgwatchFunction", "Properties", "Events").(map[string]any)
	if len(events) != 1 {
		t.Fatalf("%d events, want the one rule", len(events))
	}
	var rule string
	for name, e := range events {
		rule = "SgwatchFunction" + name
		if dlq := at(e, "Properties", "DeadLetterConfig", "Arn"); !reflect.DeepEqual(dlq, map[string]any{"Fn::GetAtt": []any{"UndeliveredEventQueue", "Arn"}}) {
			t.Errorf("the rule's dead-letter queue is %v, want UndeliveredEventQueue", dlq)
		}
	}
	var senders []map[string]any
	for _, st := range statements(res["UndeliveredEventQueuePolicy"], "PolicyDocument") {
		if st["Effect"] == "Allow" {
			senders = append(senders, st)
		}
	}
	if len(senders) != 1 || !slices.Equal(strs(at(senders[0], "Principal", "Service")), []string{"events.amazonaws.com"}) {
		t.Fatalf("UndeliveredEventQueuePolicy allows %v, want EventBridge alone", senders)
	}
	want := map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": map[string]any{"Fn::GetAtt": []any{rule, "Arn"}}}}
	if c := senders[0]["Condition"]; !reflect.DeepEqual(c, want) {
		t.Errorf("EventBridge may send to the queue under %v, want only rule %s: %v", c, rule, want)
	}
}

// TestTemplateEnrich: live context is on by default, and the EC2 Describe
// calls it needs (DescribeSecurityGroupRules for the direction of a
// ModifySecurityGroupRules change among them) are granted by EnrichPolicy
// alone, under the EnrichEnabled condition, which is ENRICH=true.
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
				if name != "EnrichPolicy" || at(r, "Condition") != "EnrichEnabled" || !strings.HasPrefix(a, "ec2:Describe") {
					t.Errorf("%s grants %s: only EnrichPolicy, under EnrichEnabled, may grant EC2 Describe calls", name, a)
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
