package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/sgwatch/sgwatch/handler"
)

// centralPattern is where the EventBridge pattern lives: the function's
// SecurityGroupChange event in template.yaml. The other rules hold copies
// that TestPatternCopies holds equal to it.
var centralPattern = patternAt{"template.yaml", []string{"Resources", "SgwatchFunction", "Properties", "Events", "SecurityGroupChange", "Properties", "Pattern"}}

// patternAt is the place of a pattern: a file and the keys leading to it.
type patternAt struct {
	file string
	path []string
}

func (p patternAt) String() string { return p.file + " " + strings.Join(p.path, ".") }

// read decodes the pattern with its YAML types (a pattern's true is not
// its "true").
func (p patternAt) read(t *testing.T) any {
	t.Helper()
	data, err := os.ReadFile(p.file)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", p.file, err)
	}
	n := doc.Content[0]
	for _, key := range p.path {
		var next *yaml.Node
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			t.Fatalf("%s: no %s", p, key)
		}
		n = next
	}
	var v any
	if err := n.Decode(&v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return v
}

// TestPatternCopies: the rule on the central bus and the forwarder's rule
// match exactly the events the function's own rule matches: their patterns
// equal the central one, compared as EventBridge reads them (the order of a
// list of alternatives does not matter), and every difference is named.
func TestPatternCopies(t *testing.T) {
	want := centralPattern.read(t)
	if want == nil {
		t.Fatalf("%s is empty", centralPattern)
	}
	for _, copy := range []patternAt{
		{"template.yaml", []string{"Resources", "CentralSecurityGroupChange", "Properties", "EventPattern"}},
		{"forwarder.yaml", []string{"Resources", "ForwardRule", "Properties", "EventPattern"}},
	} {
		for _, d := range patternDiff("", want, copy.read(t)) {
			t.Errorf("%s differs from %s: %s", copy, centralPattern, d)
		}
	}
}

// sgBranch is the branch of pattern p's $or that names the security-group
// calls.
func sgBranch(p map[string]any) map[string]any {
	for _, b := range at(p, "detail", "$or").([]any) {
		if m := b.(map[string]any); len(m) == 1 {
			return m
		}
	}
	return nil
}

// TestPatternDiff: the comparison TestPatternCopies relies on finds every
// kind of change to the central pattern, and names where it is.
func TestPatternDiff(t *testing.T) {
	central := centralPattern.read(t)
	for _, c := range []struct {
		name   string
		change func(p map[string]any)
		want   []string // the differences named, in order
	}{
		{"same", func(map[string]any) {}, nil},
		{"reordered alternatives", func(p map[string]any) {
			slices.Reverse(sgBranch(p)["eventName"].([]any))
			slices.Reverse(at(p, "detail", "$or").([]any))
		}, nil},
		// A change inside a branch names the branch as it is and as it
		// should be.
		{"a call left out", func(p map[string]any) {
			b := sgBranch(p)
			b["eventName"] = slices.DeleteFunc(b["eventName"].([]any), func(v any) bool { return v == "ModifySecurityGroupRules" })
		}, []string{`detail.$or: {"eventName":["`, `detail.$or: {"eventName":["`}},
		{"a call added", func(p map[string]any) {
			b := sgBranch(p)
			b["eventName"] = append(b["eventName"].([]any), "RunInstances")
		}, []string{`detail.$or: {"eventName":["`, `detail.$or: {"eventName":["`}},
		{"the tag filter left out", func(p map[string]any) {
			for _, b := range at(p, "detail", "$or").([]any) {
				delete(b.(map[string]any), "requestParameters")
			}
		}, []string{`detail.$or: {"eventName":["CreateTags","DeleteTags"],"requestParameters"`, `detail.$or: {"eventName":["CreateTags","DeleteTags"]} is not in the central pattern`}},
		{"other source", func(p map[string]any) { p["source"] = []any{"aws.rds"} },
			[]string{`source: "aws.ec2" missing`, `source: "aws.rds" is not in the central pattern`}},
		{"a field left out", func(p map[string]any) { delete(p["detail"].(map[string]any), "eventSource") },
			[]string{`detail.eventSource: missing, want ["ec2.amazonaws.com"]`}},
		{"a field added", func(p map[string]any) { p["account"] = []any{"111111111111"} },
			[]string{`account: ["111111111111"] is not in the central pattern`}},
		{"a list made a value", func(p map[string]any) { p["detail-type"] = "AWS API Call via CloudTrail" },
			[]string{`detail-type: "AWS API Call via CloudTrail", want a list ["AWS API Call via CloudTrail"]`}},
		{"an object made a list", func(p map[string]any) { p["detail"] = []any{p["detail"]} },
			[]string{`detail: [{`}},
		{"a string made a boolean", func(p map[string]any) { p["source"] = []any{true} },
			[]string{`source: "aws.ec2" missing`, `source: true is not in the central pattern`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			changed := deepCopy(t, central).(map[string]any)
			c.change(changed)
			got := patternDiff("", central, changed)
			if len(got) != len(c.want) {
				t.Fatalf("differences %q, want %q", got, c.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], c.want[i]) {
					t.Errorf("difference %q, want %q", got[i], c.want[i])
				}
			}
		})
	}
}

func deepCopy(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// patternDiff names the differences of got from the pattern want, at path.
// Lists are lists of alternatives: compared as multisets.
// canon is v with every list in it sorted: EventBridge reads a list as a
// set of alternatives (an $or's branches too), so order does not count.
func canon(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = canon(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = canon(e)
		}
		slices.SortFunc(out, func(a, b any) int {
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			return strings.Compare(string(ja), string(jb))
		})
		return out
	}
	return v
}

func patternDiff(path string, want, got any) []string {
	js := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
	key := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	var out []string
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %s, want an object %s", path, js(got), js(want))}
		}
		for _, k := range slices.Sorted(maps.Keys(w)) {
			if _, ok := g[k]; !ok {
				out = append(out, fmt.Sprintf("%s: missing, want %s", key(k), js(w[k])))
				continue
			}
			out = append(out, patternDiff(key(k), w[k], g[k])...)
		}
		for _, k := range slices.Sorted(maps.Keys(g)) {
			if _, ok := w[k]; !ok {
				out = append(out, fmt.Sprintf("%s: %s is not in the central pattern", key(k), js(g[k])))
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %s, want a list %s", path, js(got), js(want))}
		}
		count := func(l []any) map[string]int {
			m := map[string]int{}
			for _, v := range l {
				m[js(canon(v))]++
			}
			return m
		}
		wc, gc := count(w), count(g)
		for _, v := range slices.Sorted(maps.Keys(wc)) {
			if gc[v] < wc[v] {
				out = append(out, fmt.Sprintf("%s: %s missing", path, v))
			}
		}
		for _, v := range slices.Sorted(maps.Keys(gc)) {
			if gc[v] > wc[v] {
				out = append(out, fmt.Sprintf("%s: %s is not in the central pattern", path, v))
			}
		}
	default:
		if !reflect.DeepEqual(want, got) {
			out = append(out, fmt.Sprintf("%s: %s, want %s", path, js(got), js(want)))
		}
	}
	return out
}

// TestForwarderTemplate: forwarder.yaml is plain CloudFormation that a
// service-managed StackSet deploys to every account and Region: no
// transform (StackSets refuse macros), its three parameters, exactly the
// rule, its role and its dead-letter queue, and the sweep role, and no
// fixed names (IAM names are global to an account, and one account gets
// the template in every Region) but the sweep role's, which the central
// function builds the ARN of and which exists in one Region only
// (TestForwarderSweepRole).
func TestForwarderTemplate(t *testing.T) {
	tpl := fileValue(t, "forwarder.yaml")
	if tpl["AWSTemplateFormatVersion"] != "2010-09-09" {
		t.Errorf("AWSTemplateFormatVersion %v", tpl["AWSTemplateFormatVersion"])
	}
	for _, k := range []string{"Transform", "Mappings", "Rules"} {
		if tpl[k] != nil {
			t.Errorf("has %s %v, want none", k, tpl[k])
		}
	}
	if c := slices.Sorted(maps.Keys(tpl["Conditions"].(map[string]any))); !slices.Equal(c, []string{"CreateSweepRole"}) {
		t.Errorf("conditions %v, want CreateSweepRole alone", c)
	}
	if s := fmt.Sprint(tpl); strings.Contains(s, "Fn::Transform") || strings.Contains(s, "AWS::Include") {
		t.Error("uses Fn::Transform or AWS::Include: a macro, which service-managed StackSets refuse")
	}
	if params := slices.Sorted(maps.Keys(tpl["Parameters"].(map[string]any))); !slices.Equal(params, []string{"CentralEventBusArn", "SweepRoleName", "SweepRoleRegion"}) {
		t.Errorf("parameters %v, want CentralEventBusArn, SweepRoleName and SweepRoleRegion", params)
	}
	types := map[string]any{}
	for name, r := range tpl["Resources"].(map[string]any) {
		types[name] = at(r, "Type")
		for _, p := range []string{"Name", "RoleName", "QueueName", "PolicyName"} {
			v := at(r, "Properties", p)
			if name == "SweepRole" && p == "RoleName" && reflect.DeepEqual(v, map[string]any{"Ref": "SweepRoleName"}) {
				continue
			}
			if v != nil {
				t.Errorf("%s has the fixed %s %v: let CloudFormation name it", name, p, v)
			}
		}
	}
	want := map[string]any{
		"ForwardRule":                 "AWS::Events::Rule",
		"ForwardRole":                 "AWS::IAM::Role",
		"UndeliveredEventQueue":       "AWS::SQS::Queue",
		"UndeliveredEventQueuePolicy": "AWS::SQS::QueuePolicy",
		"SweepRole":                   "AWS::IAM::Role",
	}
	if !reflect.DeepEqual(types, want) {
		t.Errorf("resources %v, want exactly %v", types, want)
	}
}

// TestForwarderRule: the rule on this Region's default bus sends what it
// matches to the central bus, as the role, retrying as the central rule
// does, and keeps what it cannot deliver in the member account's queue.
func TestForwarderRule(t *testing.T) {
	p := at(fileValue(t, "forwarder.yaml"), "Resources", "ForwardRule", "Properties")
	if b := at(p, "EventBusName"); b != nil && b != "default" {
		t.Errorf("rule on bus %v, want the default bus, where CloudTrail's events arrive", b)
	}
	if s := at(p, "State"); s != nil && s != "ENABLED" {
		t.Errorf("rule is %v", s)
	}
	targets, _ := at(p, "Targets").([]any)
	if len(targets) != 1 {
		t.Fatalf("%d targets, want the central bus", len(targets))
	}
	central := at(templateValue(t), "Resources", "SgwatchFunction", "Properties", "Events", "SecurityGroupChange", "Properties", "RetryPolicy")
	for field, want := range map[string]any{
		"Arn":              map[string]any{"Ref": "CentralEventBusArn"},
		"RoleArn":          map[string]any{"Fn::GetAtt": []any{"ForwardRole", "Arn"}},
		"DeadLetterConfig": map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{"UndeliveredEventQueue", "Arn"}}},
		"RetryPolicy":      central,
	} {
		if got := at(targets[0], field); want == nil || !reflect.DeepEqual(got, want) {
			t.Errorf("target %s %v, want %v", field, got, want)
		}
	}
	for field := range targets[0].(map[string]any) {
		if !slices.Contains([]string{"Id", "Arn", "RoleArn", "DeadLetterConfig", "RetryPolicy"}, field) {
			t.Errorf("target has %s: the central bus must get the event as it is", field)
		}
	}
}

// TestForwarderRole: EventBridge, for this account only, may assume the
// role, and the role may do one thing: put events on the central bus.
func TestForwarderRole(t *testing.T) {
	role := at(fileValue(t, "forwarder.yaml"), "Resources", "ForwardRole", "Properties").(map[string]any)
	trust := statements(map[string]any{"Properties": role}, "AssumeRolePolicyDocument")
	want := map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole",
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"}}},
	}
	if len(trust) != 1 || !reflect.DeepEqual(trust[0], want) {
		t.Errorf("trust policy %v, want only %v", trust, want)
	}
	for field := range role {
		if !slices.Contains([]string{"Description", "AssumeRolePolicyDocument", "Policies"}, field) {
			t.Errorf("role has %s: its permissions are its one inline policy", field)
		}
	}
	policies, _ := role["Policies"].([]any)
	if len(policies) != 1 {
		t.Fatalf("%d inline policies, want one", len(policies))
	}
	grants := statements(map[string]any{"Properties": policies[0]}, "PolicyDocument")
	want = map[string]any{"Effect": "Allow", "Action": "events:PutEvents", "Resource": map[string]any{"Ref": "CentralEventBusArn"}}
	if len(grants) != 1 || !reflect.DeepEqual(grants[0], want) {
		t.Errorf("the role may %v, want only %v", grants, want)
	}
}

// TestForwarderDeadLetterQueue: the member account's queue is encrypted, only
// the forwarder rule may send to it, and only over TLS.
func TestForwarderDeadLetterQueue(t *testing.T) {
	res := fileValue(t, "forwarder.yaml")["Resources"].(map[string]any)
	if e := at(res, "UndeliveredEventQueue", "Properties", "SqsManagedSseEnabled"); e != "true" {
		t.Errorf("SqsManagedSseEnabled %v, want true", e)
	}
	queue := map[string]any{"Fn::GetAtt": []any{"UndeliveredEventQueue", "Arn"}}
	if q := at(res, "UndeliveredEventQueuePolicy", "Properties", "Queues"); !reflect.DeepEqual(q, []any{map[string]any{"Ref": "UndeliveredEventQueue"}}) {
		t.Errorf("the policy is for %v, want the queue", q)
	}
	want := []map[string]any{
		{
			"Sid": "EventBridgeDeadLetters", "Effect": "Allow", "Principal": map[string]any{"Service": "events.amazonaws.com"},
			"Action": "sqs:SendMessage", "Resource": queue,
			"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": map[string]any{"Fn::GetAtt": []any{"ForwardRule", "Arn"}}}},
		},
		{
			"Sid": "TLSOnly", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": queue,
			"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
		},
	}
	if got := statements(res["UndeliveredEventQueuePolicy"], "PolicyDocument"); !reflect.DeepEqual(got, want) {
		t.Errorf("queue policy %v, want %v", got, want)
	}
}

// TestForwarderBusArnPattern: CentralEventBusArn takes an event bus's ARN,
// the central stack's among them, and CloudFormation refuses anything else
// (a rule, a queue, a wildcard) before the role is granted it.
func TestForwarderBusArnPattern(t *testing.T) {
	p, _ := at(fileValue(t, "forwarder.yaml"), "Parameters", "CentralEventBusArn", "AllowedPattern").(string)
	re, err := regexp.Compile(p)
	if err != nil {
		t.Fatalf("AllowedPattern %q: %v", p, err)
	}
	// The ARN of the bus the central stack creates, as its policy names it.
	d := deploy(t, templateValue(t), map[string]string{"OrganizationId": "o-aaaaaaaaaa"})
	central, _ := at(d.resources(t), "CentralEventBus", "Properties", "Policy", "Statement", "0", "Resource").(string)
	for _, c := range []struct {
		v  string
		ok bool
	}{
		{central, true},
		{"arn:aws:events:eu-west-1:123456789012:event-bus/sgwatch", true},
		{"arn:aws-us-gov:events:us-gov-west-1:123456789012:event-bus/sg.watch_central-1", true},
		{"", false},
		{"*", false},
		{"arn:aws:events:us-east-1:123456789012:event-bus/*", false},
		{"arn:aws:events:us-east-1:123456789012:rule/sgwatch", false},
		{"arn:aws:events:us-east-1:*:event-bus/sgwatch", false},
		{"arn:aws:sqs:us-east-1:123456789012:sgwatch", false},
		{"arn:aws:events:us-east-1:12345678901:event-bus/sgwatch", false},
		{"sgwatch", false},
	} {
		if got := re.MatchString(c.v); got != c.ok {
			t.Errorf("CentralEventBusArn %q: accepted %v, want %v", c.v, got, c.ok)
		}
	}
}

// TestForwarderSweepRole: the role the central sweep assumes exists in the
// one Region SweepRoleRegion names (none when it is empty), with the name
// the central function builds its ARN from; it may only list security
// groups, rules and network interfaces and look up CloudTrail events, and
// only the central sgwatch function's role (the central bus's account, the
// role SAM generates for the central stack's function) may assume it.
func TestForwarderSweepRole(t *testing.T) {
	fwd, tpl := fileValue(t, "forwarder.yaml"), templateValue(t)
	if c := at(fwd, "Conditions", "CreateSweepRole"); !reflect.DeepEqual(c, map[string]any{"Fn::Equals": []any{
		map[string]any{"Ref": "AWS::Region"}, map[string]any{"Ref": "SweepRoleRegion"}}}) {
		t.Errorf("CreateSweepRole is %v, want this Region = SweepRoleRegion", c)
	}
	if d := at(fwd, "Parameters", "SweepRoleRegion", "Default"); d != "" {
		t.Errorf("SweepRoleRegion defaults to %v, want empty (no role)", d)
	}
	if d, want := at(fwd, "Parameters", "SweepRoleName", "Default"), at(tpl, "Parameters", "SweepRoleName", "Default"); d != want || d != handler.DefaultSweepRole {
		t.Errorf("SweepRoleName defaults to %v, want the central stack's %v (the function's %s)", d, want, handler.DefaultSweepRole)
	}
	if p, want := at(fwd, "Parameters", "SweepRoleName", "AllowedPattern"), at(tpl, "Parameters", "SweepRoleName", "AllowedPattern"); p != want {
		t.Errorf("SweepRoleName pattern %v, want the central stack's %v", p, want)
	}
	re := regexp.MustCompile(at(fwd, "Parameters", "SweepRoleRegion", "AllowedPattern").(string))
	for v, ok := range map[string]bool{"": true, "us-east-1": true, "eu-central-1": true, "us-gov-west-1": true,
		"US-EAST-1": false, "us-east-1,eu-west-1": false, "*": false, "us-east": false} {
		if re.MatchString(v) != ok {
			t.Errorf("SweepRoleRegion %q: accepted %v, want %v", v, !ok, ok)
		}
	}
	// The central stack: its bus is named after it, and its function's role
	// is the one SAM generates, <function>Role.
	if n := at(tpl, "Resources", "CentralEventBus", "Properties", "Name"); !reflect.DeepEqual(n, map[string]any{"Ref": "AWS::StackName"}) {
		t.Fatalf("the central bus is named %v, but the trust policy reads the central stack's name from it", n)
	}
	if r := at(tpl, "Resources", "SgwatchFunction", "Properties", "Role"); r != nil {
		t.Fatalf("the function has the role %v, but the trust policy names the role SAM generates", r)
	}

	central := "arn:aws:events:eu-west-1:210987654321:event-bus/sgwatch-central"
	for _, c := range []struct {
		region, name string
		created      bool
	}{
		{"", "", false},
		{"eu-west-1", "", false},
		{pseudo["AWS::Region"], "", true},
		{pseudo["AWS::Region"], "audit-sweep", true},
	} {
		params := map[string]string{"CentralEventBusArn": central, "SweepRoleRegion": c.region}
		name := handler.DefaultSweepRole
		if c.name != "" {
			params["SweepRoleName"], name = c.name, c.name
		}
		d := deploy(t, fwd, params)
		res, outputs := d.resources(t), d.outputs(t)
		role, ok := res["SweepRole"]
		if _, out := outputs["SweepRoleArn"]; ok != c.created || out != c.created {
			t.Errorf("SweepRoleRegion %q in %s: role %v, output %v, want %v", c.region, pseudo["AWS::Region"], ok, out, c.created)
		}
		if !ok {
			continue
		}
		if !reflect.DeepEqual(outputs["SweepRoleArn"], map[string]any{"Fn::GetAtt": []any{"SweepRole", "Arn"}}) {
			t.Errorf("SweepRoleArn is %v", outputs["SweepRoleArn"])
		}
		if n := at(role, "Properties", "RoleName"); n != name {
			t.Errorf("role named %v, want %s", n, name)
		}
		for field := range at(role, "Properties").(map[string]any) {
			if !slices.Contains([]string{"RoleName", "Description", "AssumeRolePolicyDocument", "Policies"}, field) {
				t.Errorf("role has %s: its permissions are its one inline policy", field)
			}
		}
		trust := statements(role, "AssumeRolePolicyDocument")
		want := map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::210987654321:root"}, "Action": "sts:AssumeRole",
			"Condition": map[string]any{"ArnLike": map[string]any{"aws:PrincipalArn": "arn:aws:iam::210987654321:role/sgwatch-central-SgwatchFunctionRole-*"}},
		}
		if len(trust) != 1 || !reflect.DeepEqual(trust[0], want) {
			t.Errorf("trust policy %v, want only %v", trust, want)
			continue
		}
		pattern := at(trust[0], "Condition", "ArnLike", "aws:PrincipalArn")
		for arn, ok := range map[string]bool{
			"arn:aws:iam::210987654321:role/sgwatch-central-SgwatchFunctionRole-AbCdEf123456": true,
			"arn:aws:iam::210987654321:role/other-SgwatchFunctionRole-AbCdEf123456":           false,
			"arn:aws:iam::210987654321:role/sgwatch-central-ForwardRole-AbCdEf123456":         false,
			"arn:aws:iam::123456789012:role/sgwatch-central-SgwatchFunctionRole-AbCdEf123456": false,
			"arn:aws:iam::210987654321:user/sgwatch-central-SgwatchFunctionRole-x":            false,
		} {
			if matchAny(pattern, arn, false) != ok {
				t.Errorf("the role may be assumed by %s: %v, want %v", arn, !ok, ok)
			}
		}
		policies, _ := at(role, "Properties", "Policies").([]any)
		if len(policies) != 1 {
			t.Fatalf("%d inline policies, want one", len(policies))
		}
		grants := statements(map[string]any{"Properties": policies[0]}, "PolicyDocument")
		read := []any{"ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "ec2:DescribeNetworkInterfaces", "ec2:DescribeManagedPrefixLists", "ec2:GetManagedPrefixListEntries", "ec2:DescribeRouteTables", "ec2:DescribeVpcBlockPublicAccessOptions", "ec2:DescribeVpcBlockPublicAccessExclusions", "ec2:DescribeNetworkAcls", "elasticloadbalancing:DescribeLoadBalancers", "cloudtrail:LookupEvents"}
		if len(grants) != 1 || !reflect.DeepEqual(grants[0], map[string]any{"Effect": "Allow", "Action": read, "Resource": "*"}) {
			t.Errorf("the role may %v, want only %v on *", grants, read)
		}
		// The same calls the central function makes in its own account.
		var own []any
		for _, a := range strs(at(tpl, "Resources", "SweepPolicy", "Properties", "PolicyDocument", "Statement", "0", "Action")) {
			own = append(own, a)
		}
		if !sameElements(read, own) {
			t.Errorf("the role may %v, the central SweepPolicy %v: want the same read-only calls", read, own)
		}
	}
}
