//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"go.yaml.in/yaml/v3"

	"github.com/sgwatch/sgwatch/detect"
)

// template is the part of template.yaml these tests read.
type template struct {
	Resources struct {
		Function struct {
			Properties struct {
				Architectures []string `yaml:"Architectures"`
				Events        map[string]struct {
					Type       string `yaml:"Type"`
					Properties struct {
						Pattern map[string]any `yaml:"Pattern"`
					} `yaml:"Properties"`
				} `yaml:"Events"`
			} `yaml:"Properties"`
		} `yaml:"SgwatchFunction"`
		IdempotencyTable struct {
			Properties struct {
				AttributeDefinitions []struct {
					AttributeName string `yaml:"AttributeName"`
					AttributeType string `yaml:"AttributeType"`
				} `yaml:"AttributeDefinitions"`
				KeySchema []struct {
					AttributeName string `yaml:"AttributeName"`
					KeyType       string `yaml:"KeyType"`
				} `yaml:"KeySchema"`
				TimeToLiveSpecification struct {
					AttributeName string `yaml:"AttributeName"`
				} `yaml:"TimeToLiveSpecification"`
			} `yaml:"Properties"`
		} `yaml:"IdempotencyTable"`
	} `yaml:"Resources"`
}

func readTemplate(t *testing.T) template {
	t.Helper()
	data, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl template
	if err := yaml.Unmarshal(data, &tpl); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return tpl
}

// templatePattern is the pattern of the function's EventBridge rule in
// template.yaml, as JSON: the one source the other rules are checked against.
func templatePattern(t *testing.T) []byte {
	t.Helper()
	var pattern map[string]any
	for name, e := range readTemplate(t).Resources.Function.Properties.Events {
		if e.Type == "EventBridgeRule" {
			if pattern != nil {
				t.Fatalf("more than one EventBridgeRule; the test reads one (%s)", name)
			}
			pattern = e.Properties.Pattern
		}
	}
	if pattern == nil {
		t.Fatal("template.yaml: SgwatchFunction has no EventBridgeRule event")
	}
	b, err := json.Marshal(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// probe is one event put on the bus, and whether the rule must deliver it.
type probe struct {
	name                string
	source, detailType  string
	eventSource, action string
	match               bool
}

// probes are the security-group calls (which must match) and at least 20
// events that must not: other EC2 calls, including ones that touch groups,
// calls of other services that manage their own "security groups", near
// misses of the pattern's fields, and unrelated calls.
func probes(t *testing.T) []probe {
	t.Helper()
	const ct = "AWS API Call via CloudTrail"
	var ps []probe
	for _, c := range detect.Calls() {
		ps = append(ps, probe{c, "aws.ec2", ct, "ec2.amazonaws.com", c, true})
	}
	no := func(name, source, detailType, eventSource, action string) {
		ps = append(ps, probe{name, source, detailType, eventSource, action, false})
	}
	for _, c := range []string{
		"DescribeSecurityGroups", "DescribeSecurityGroupRules", "DescribeSecurityGroupReferences",
		"RunInstances", "CreateTags", "DeleteTags", "DeleteManagedPrefixList", "GetManagedPrefixListEntries",
		"CreateNetworkInterface", "CreateNetworkAclEntry",
		"ReplaceNetworkAclEntry", "CreateVpc", "DeleteVpc", "GetSecurityGroupsForVpc",
	} {
		no(c, "aws.ec2", ct, "ec2.amazonaws.com", c)
	}
	no("RDS AuthorizeDBSecurityGroupIngress", "aws.rds", ct, "rds.amazonaws.com", "AuthorizeDBSecurityGroupIngress")
	no("RDS CreateDBSecurityGroup", "aws.rds", ct, "rds.amazonaws.com", "CreateDBSecurityGroup")
	no("EFS ModifyMountTargetSecurityGroups", "aws.elasticfilesystem", ct, "elasticfilesystem.amazonaws.com", "ModifyMountTargetSecurityGroups")
	no("ELB ApplySecurityGroupsToLoadBalancer", "aws.elasticloadbalancing", ct, "elasticloadbalancing.amazonaws.com", "ApplySecurityGroupsToLoadBalancer")
	no("ElastiCache AuthorizeCacheSecurityGroupIngress", "aws.elasticache", ct, "elasticache.amazonaws.com", "AuthorizeCacheSecurityGroupIngress")
	no("Redshift AuthorizeClusterSecurityGroupIngress", "aws.redshift", ct, "redshift.amazonaws.com", "AuthorizeClusterSecurityGroupIngress")
	no("IAM CreateUser", "aws.iam", ct, "iam.amazonaws.com", "CreateUser")
	no("CloudTrail StopLogging", "aws.cloudtrail", ct, "cloudtrail.amazonaws.com", "StopLogging")
	no("S3 PutBucketPolicy", "aws.s3", ct, "s3.amazonaws.com", "PutBucketPolicy")
	// Near misses: one field of the pattern wrong.
	no("security-group call, other detail-type", "aws.ec2", "AWS Service Event via CloudTrail", "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress")
	no("security-group call, other eventSource", "aws.ec2", ct, "rds.amazonaws.com", "AuthorizeSecurityGroupIngress")
	no("security-group call, other source", "aws.rds", ct, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress")
	no("security-group call, lower case", "aws.ec2", ct, "ec2.amazonaws.com", "authorizesecuritygroupingress")
	no("security-group call, longer name", "aws.ec2", ct, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngressV2")
	return ps
}

// TestEventBridgePattern is point 3: the rule's pattern, read from
// template.yaml, on moto's EventBridge with an SQS target, delivers every
// security-group call and nothing else.
func TestEventBridgePattern(t *testing.T) {
	patternJSON := templatePattern(t)

	ctx := context.Background()
	if err := moto.Reset(); err != nil {
		t.Fatal(err)
	}
	q, err := moto.Queue(ctx, "matched")
	if err != nil {
		t.Fatal(err)
	}
	eb := eventbridge.NewFromConfig(moto.Config())
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("sgwatch"), EventPattern: aws.String(string(patternJSON))}); err != nil {
		t.Fatalf("PutRule with the template's pattern: %v", err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("sgwatch"), Targets: []types.Target{{Id: aws.String("queue"), Arn: aws.String(q.ARN)}}}); err != nil {
		t.Fatal(err)
	}

	ps := probes(t)
	var entries []types.PutEventsRequestEntry
	var want []string
	add := func(id, source, detailType string, detail []byte, match bool) {
		entries = append(entries, types.PutEventsRequestEntry{
			Source: aws.String(source), DetailType: aws.String(detailType), Detail: aws.String(string(detail)),
		})
		if match {
			want = append(want, id)
		}
	}
	for i, p := range ps {
		id := fmt.Sprintf("probe-%02d", i)
		detail, _ := json.Marshal(map[string]string{"eventID": id, "eventSource": p.eventSource, "eventName": p.action})
		add(id, p.source, p.detailType, detail, p.match)
	}
	// The sample events too, as EventBridge carries them.
	files, _ := filepath.Glob("../events/*.json")
	for _, file := range files {
		var e struct {
			Source     string         `json:"source"`
			DetailType string         `json:"detail-type"`
			Detail     map[string]any `json:"detail"`
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &e); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		id := filepath.Base(file)
		e.Detail["eventID"] = id
		detail, _ := json.Marshal(e.Detail)
		name, _ := e.Detail["eventName"].(string)
		if slices.Contains(detect.TagCalls(), name) {
			// The tag branch matches a key inside tagSet.items, an array of
			// objects: EventBridge matches any element, moto 5.2.5 does not
			// look inside arrays (events/models.py _flatten_dict), so it
			// cannot say. TestTemplateFunction checks that branch against
			// detect.Pattern, and the probes above that a tag call without
			// an sgwatch: key is not delivered.
			continue
		}
		add(id, e.Source, e.DetailType, detail, slices.Contains(detect.Calls(), name))
	}
	if others := len(entries) - len(want); others < 20 {
		t.Fatalf("only %d events that must not match", others)
	}
	for batch := range slices.Chunk(entries, 10) { // PutEvents takes at most 10
		out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: batch})
		if err != nil {
			t.Fatal(err)
		}
		if out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %d entries failed", out.FailedEntryCount)
		}
	}

	bodies, err := q.Drain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range bodies {
		var e struct {
			Detail struct {
				EventID string `json:"eventID"`
			} `json:"detail"`
		}
		if err := json.Unmarshal([]byte(b), &e); err != nil || e.Detail.EventID == "" {
			t.Fatalf("delivered message is not one of the events put: %s", b)
		}
		got = append(got, e.Detail.EventID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		name := map[string]string{}
		for i, p := range ps {
			name[fmt.Sprintf("probe-%02d", i)] = p.name
		}
		for _, id := range got {
			if !slices.Contains(want, id) {
				t.Errorf("delivered, must not be: %s %s", id, name[id])
			}
		}
		for _, id := range want {
			if !slices.Contains(got, id) {
				t.Errorf("not delivered, must be: %s %s", id, name[id])
			}
		}
	}
	t.Logf("pattern %s: %d events put, %d delivered (the %d security-group calls and %d sample events), %d others not delivered",
		patternJSON, len(entries), len(got), len(detect.Calls()), len(got)-len(detect.Calls()), len(entries)-len(got))
}
