package main

import (
	"os"
	"slices"
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
// read-only and granted only when it is enabled.
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
	if !slices.Equal(actions, []string{"ec2:DescribeSecurityGroups", "ec2:DescribeNetworkInterfaces"}) {
		t.Errorf("EnrichPolicy grants %v, want exactly the two Describe calls", actions)
	}
}
