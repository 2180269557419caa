//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"go.yaml.in/yaml/v3"

	"github.com/sgwatch/sgwatch/emulate"
)

// fakeCloudTrail answers LookupEvents over HTTP (moto has none) with the
// records it holds, as CloudTrail's JSON protocol does, and counts the
// lookups by the resource they name.
type fakeCloudTrail struct {
	mu      sync.Mutex
	records map[string][]string // by group id
	lookups map[string]int
}

func (f *fakeCloudTrail) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct {
		LookupAttributes []struct{ AttributeKey, AttributeValue string }
	}
	body, _ := io.ReadAll(r.Body)
	if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".LookupEvents") || json.Unmarshal(body, &in) != nil || len(in.LookupAttributes) != 1 || in.LookupAttributes[0].AttributeKey != "ResourceName" {
		http.Error(w, `{"__type":"InvalidLookupAttributesException","message":"bad request"}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	group := in.LookupAttributes[0].AttributeValue
	f.lookups[group]++
	type event struct{ EventId, EventName, CloudTrailEvent string }
	var out struct{ Events []event }
	out.Events = []event{}
	for i, rec := range f.records[group] {
		out.Events = append(out.Events, event{fmt.Sprintf("e-%d", i), "AuthorizeSecurityGroupIngress", rec})
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

// scheduleInput is the sweep request template.yaml's schedule sends, with
// the context attributes EventBridge Scheduler fills in.
func scheduleInput(t *testing.T, execution string) []byte {
	t.Helper()
	data, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources struct {
			ScheduledSweep struct {
				Properties struct {
					Target struct {
						Input string `yaml:"Input"`
					} `yaml:"Target"`
				} `yaml:"Properties"`
			} `yaml:"ScheduledSweep"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(data, &tpl); err != nil {
		t.Fatal(err)
	}
	in := tpl.Resources.ScheduledSweep.Properties.Target.Input
	if !strings.Contains(in, "<aws.scheduler.execution-id>") {
		t.Fatalf("template.yaml's ScheduledSweep input %q does not carry the execution id", in)
	}
	return []byte(strings.NewReplacer("<aws.scheduler.execution-id>", execution,
		"<aws.scheduler.scheduled-time>", time.Now().UTC().Format(time.RFC3339),
		"<aws.scheduler.schedule-arn>", "arn:aws:scheduler:us-east-1:"+rieAccount+":schedule/default/sgwatch-sweep").Replace(in))
}

// sweepDone reads the function's "sweep done" log lines: how long each
// sweep took, in milliseconds.
func sweepDone(out string) []int {
	var ms []int
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Msg string `json:"msg"`
			MS  int    `json:"ms"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "sweep done" {
			ms = append(ms, l.MS)
		}
	}
	return ms
}

// TestSweep: the real function under the runtime emulator, swept by the
// template's schedule payload against moto's EC2, with its memory in
// moto's DynamoDB and its notifications through moto's SNS to SQS. It
// publishes exactly the world-open rules, nothing on a second sweep or a
// retry, one resolved for a revoke, one exposure for a change; and a
// thousand groups of five rules sweep within the function's timeout.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	sub := subscribe(t)
	onceTable(t, "sgwatch-once")
	c := ec2.NewFromConfig(moto.Config())
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil || len(vpcs.Vpcs) == 0 {
		t.Fatalf("moto default VPC: %v", err)
	}
	vpc := aws.ToString(vpcs.Vpcs[0].VpcId)
	group := func(name string, perms ...types.IpPermission) (string, []string) {
		t.Helper()
		g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name), VpcId: aws.String(vpc)})
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(g.GroupId)
		out, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: perms})
		if err != nil {
			t.Fatal(err)
		}
		var rules []string
		for _, r := range out.SecurityGroupRules {
			rules = append(rules, aws.ToString(r.SecurityGroupRuleId))
		}
		return id, rules
	}
	ssh, sshRules := group("world-ssh", tcp(22, []string{"0.0.0.0/0"}))
	web, webRules := group("world-https", tcp(443, []string{"0.0.0.0/0"}))
	rdp, _ := group("ipv6-rdp", tcp(3389, nil, "::/0"))
	split, _ := group("split", tcp(22, []string{"32.0.0.0/5", "40.0.0.0/5"}))
	private, _ := group("private", tcp(22, []string{"10.0.0.0/8"}), tcp(5432, []string{"172.16.0.0/12"}))
	if len(sshRules) != 1 || len(webRules) != 1 {
		t.Fatalf("moto returned rule ids %v and %v", sshRules, webRules)
	}

	// CloudTrail still has the event that opened SSH: the sample, moved
	// to moto's group and rule.
	sample, err := os.ReadFile("../events/authorize-ingress-world-ssh.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Detail json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(sample, &ev); err != nil {
		t.Fatal(err)
	}
	record := strings.NewReplacer("sg-0a1b2c3d4e5f60718", ssh, "sgr-0c0ffee0c0ffee001", sshRules[0]).Replace(string(ev.Detail))
	ct := &fakeCloudTrail{records: map[string][]string{ssh: {record}}, lookups: map[string]int{}}
	ctServer := httptest.NewServer(ct)
	defer ctServer.Close()

	fn := startFunction(t, moto, "SNS_TOPIC_ARN="+sub.topic, "SWEEP=true", "SWEEP_TABLE=sgwatch-once",
		"AWS_ENDPOINT_URL_EC2="+moto.Endpoint, "AWS_ENDPOINT_URL_DYNAMODB="+moto.Endpoint, "AWS_ENDPOINT_URL_CLOUDTRAIL="+ctServer.URL,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=300")
	sweep := func(execution string) []emulate.Notification {
		t.Helper()
		if res := invoke(t, fn, scheduleInput(t, execution)); res.Err != nil {
			t.Fatalf("sweep %s: %+v", execution, res.Err)
		}
		return receive(t, sub.all)
	}
	subjects := func(ns []emulate.Notification) []string {
		var out []string
		for _, n := range ns {
			out = append(out, n.Subject)
		}
		slices.Sort(out)
		return out
	}

	first := sweep("exec-1")
	want := []string{
		"[CRITICAL] " + rdp + " (ipv6-rdp) exposes tcp/3389 to the whole internet (found by sweep)",
		"[CRITICAL] " + split + " (split) exposes tcp/22 to the whole internet (found by sweep)",
		"[CRITICAL] " + split + " (split) exposes tcp/22 to the whole internet (found by sweep)",
		"[CRITICAL] " + ssh + " (world-ssh) exposes tcp/22 to the whole internet (found by sweep)",
		"[HIGH] " + web + " (world-https) exposes tcp/443 to the whole internet (found by sweep)",
	}
	slices.Sort(want)
	if got := subjects(first); !slices.Equal(got, want) {
		t.Fatalf("first sweep published\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, n := range first {
		if n.Attributes["action"].Value != "exposure" || strings.Contains(n.Message, private) {
			t.Errorf("notification %q: action %q", n.Subject, n.Attributes["action"])
		}
		if strings.Contains(n.Subject, ssh) {
			for _, w := range []string{"Created by:\n  Identity type:  AssumedRole", "ops-admin", "aws ec2 revoke-security-group-ingress --region us-east-1 --group-id " + ssh + " --security-group-rule-ids " + sshRules[0]} {
				if !strings.Contains(n.Message, w) {
					t.Errorf("SSH exposure does not show %q:\n%s", w, n.Message)
				}
			}
		}
	}
	if ct.lookups[ssh] != 1 || len(ct.lookups) != 4 {
		t.Errorf("LookupEvents calls %v, want one per group with a new exposure", ct.lookups)
	}

	if got := sweep("exec-2"); len(got) != 0 {
		t.Fatalf("second sweep published %q", subjects(got))
	}
	if got := sweep("exec-1"); len(got) != 0 {
		t.Fatalf("a retry of the first sweep published %q", subjects(got))
	}

	if _, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(ssh), SecurityGroupRuleIds: sshRules}); err != nil {
		t.Fatal(err)
	}
	got := sweep("exec-3")
	if s := subjects(got); len(s) != 1 || s[0] != "[INFO] "+ssh+" (world-ssh) no longer exposes tcp/22 to the internet (resolved by sweep)" || got[0].Attributes["action"].Value != "resolved" {
		t.Fatalf("after a revoke: %q", s)
	}

	if _, err := c.ModifySecurityGroupRules(ctx, &ec2.ModifySecurityGroupRulesInput{GroupId: aws.String(web), SecurityGroupRules: []types.SecurityGroupRuleUpdate{{
		SecurityGroupRuleId: aws.String(webRules[0]),
		SecurityGroupRule:   &types.SecurityGroupRuleRequest{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(3306), ToPort: aws.Int32(3306), CidrIpv4: aws.String("0.0.0.0/0")},
	}}}); err != nil {
		t.Fatal(err)
	}
	got = sweep("exec-4")
	if s := subjects(got); len(s) != 1 || !strings.HasPrefix(s[0], "[CRITICAL] "+web+" (world-h") || !strings.HasSuffix(s[0], ") exposes tcp/3306 to the whole internet (found by sweep)") {
		t.Fatalf("after a change: %q", s)
	}
	if got := sweep("exec-5"); len(got) != 0 {
		t.Fatalf("sweep exec-5 published %q", subjects(got))
	}
	// Two groups that open PostgreSQL to the whole internet only together,
	// on one network interface (each /5 is 3.6 % of public IPv4).
	unionA, _ := group("union-a", tcp(5432, []string{"48.0.0.0/5"}))
	unionB, _ := group("union-b", tcp(5432, []string{"56.0.0.0/5"}))
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}})
	if err != nil || len(subnets.Subnets) == 0 {
		t.Fatalf("moto default subnets: %v", err)
	}
	if got := sweep("exec-6"); len(got) != 0 {
		t.Fatalf("the two groups on no interface: the sweep published %q", subjects(got))
	}
	eni, err := c.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: subnets.Subnets[0].SubnetId, Groups: []string{unionA, unionB}})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		"[CRITICAL] " + unionA + " (union-a) exposes tcp/5432 to the whole internet (found by sweep)",
		"[CRITICAL] " + unionB + " (union-b) exposes tcp/5432 to the whole internet (found by sweep)",
	}
	slices.Sort(want)
	union := sweep("exec-7")
	if got := subjects(union); !slices.Equal(got, want) {
		t.Fatalf("with both groups on one interface\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, n := range union {
		other := unionB
		if strings.Contains(n.Subject, unionB) {
			other = unionA
		}
		if w := "open only together with the rules of " + other + " on " + aws.ToString(eni.NetworkInterface.NetworkInterfaceId); !strings.Contains(n.Message, w) {
			t.Errorf("the union exposure does not say %q:\n%s", w, n.Message)
		}
	}
	// The interface goes: its groups no longer open anything together.
	if _, err := c.DeleteNetworkInterface(ctx, &ec2.DeleteNetworkInterfaceInput{NetworkInterfaceId: eni.NetworkInterface.NetworkInterfaceId}); err != nil {
		t.Fatal(err)
	}
	want = []string{
		"[INFO] " + unionA + " (union-a) no longer exposes tcp/5432 to the internet (resolved by sweep)",
		"[INFO] " + unionB + " (union-b) no longer exposes tcp/5432 to the internet (resolved by sweep)",
	}
	slices.Sort(want)
	if got := subjects(sweep("exec-8")); !slices.Equal(got, want) {
		t.Fatalf("after the interface was deleted\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := sweep("exec-9"); len(got) != 0 {
		t.Fatalf("last sweep published %q", subjects(got))
	}
	t.Logf("sweep: 5 world-open rules of 5 groups (and none of the private one) published once; a second sweep and a retry published 0; a revoke 1 resolved; a change 1 exposure; two groups opening tcp/5432 only together: nothing, then 2 exposures once on one interface, 2 resolved when it was deleted; %d LookupEvents calls", len(ct.lookups))

	t.Run("1000 groups of 5 rules", func(t *testing.T) {
		start := time.Now()
		open := 0
		for i := range 1000 {
			cidrs := []string{fmt.Sprintf("10.%d.%d.0/24", i/250, i%250), fmt.Sprintf("10.%d.%d.0/25", 100+i/250, i%250)}
			perms := []types.IpPermission{tcp(22, cidrs), tcp(5432, cidrs), tcp(8080, []string{"192.168.0.0/16"})}
			if i%100 == 0 {
				perms[2] = tcp(8080, []string{"0.0.0.0/0"}) // one in a hundred is open
				open++
			}
			group(fmt.Sprintf("bulk-%04d", i), perms...)
		}
		setup := time.Since(start)
		start = time.Now()
		got := sweep("exec-bulk")
		wall := time.Since(start)
		if len(got) != open {
			t.Fatalf("%d notifications, want %d", len(got), open)
		}
		ms := sweepDone(fn.Output())
		took := time.Duration(ms[len(ms)-1]) * time.Millisecond
		if took >= 300*time.Second {
			t.Fatalf("the sweep took %s, more than the function's timeout", took)
		}
		t.Logf("sweep: 1,000 groups × 5 ingress rules (and 1,000 egress; %d open) swept in %s by the function (invocation %s; moto set-up %s)", open, took, wall.Round(time.Millisecond), setup.Round(time.Second))
	})

	t.Run("member accounts and Regions", func(t *testing.T) {
		// A fresh moto: the thousand groups above would make the own
		// account's listing hold moto busy past the memory's 2 s call
		// timeout (claim.CallTimeout), and the subtest is about members.
		sub := subscribe(t)
		onceTable(t, "sgwatch-once")
		members := []string{"444455556666", "777788889999"}
		member := func(account, region, name string, perm types.IpPermission) string {
			t.Helper()
			mc := ec2.NewFromConfig(moto.ConfigFor(account, region))
			g, err := mc.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := mc.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: []types.IpPermission{perm}}); err != nil {
				t.Fatal(err)
			}
			return aws.ToString(g.GroupId)
		}
		a := member(members[0], "eu-west-1", "member-ssh", tcp(22, []string{"0.0.0.0/0"}))
		b := member(members[1], "us-east-1", "member-rdp", tcp(3389, nil, "::/0"))
		member(members[1], "eu-west-1", "member-private", tcp(22, []string{"10.0.0.0/8"}))
		org := startFunction(t, moto, "SNS_TOPIC_ARN="+sub.topic, "SWEEP=true", "SWEEP_TABLE=sgwatch-once",
			"SWEEP_ACCOUNTS="+strings.Join(members, ","), "SWEEP_REGIONS=us-east-1,eu-west-1",
			"AWS_ENDPOINT_URL_EC2="+moto.Endpoint, "AWS_ENDPOINT_URL_DYNAMODB="+moto.Endpoint, "AWS_ENDPOINT_URL_STS="+moto.Endpoint,
			"AWS_ENDPOINT_URL_CLOUDTRAIL="+ctServer.URL)
		if res := invoke(t, org, scheduleInput(t, "exec-org")); res.Err != nil {
			t.Fatalf("sweep: %+v", res.Err)
		}
		got := receive(t, sub.all)
		where := map[string]string{}
		for _, n := range got {
			where[n.Attributes["securityGroupId"].Value] = n.Attributes["accountId"].Value + "/" + n.Attributes["region"].Value
		}
		want := map[string]string{a: members[0] + "/eu-west-1", b: members[1] + "/us-east-1"}
		if len(got) != 2 || where[a] != want[a] || where[b] != want[b] {
			t.Fatalf("published %q in %v, want %v", subjects(got), where, want)
		}
		if n := strings.Count(org.Output(), `"msg":"swept"`); n != 6 {
			t.Errorf("%d targets swept, want 3 accounts × 2 Regions", n)
		}
		t.Logf("sweep: 3 accounts × 2 Regions through sts:AssumeRole against moto: the 2 world-open rules of the members published, each with its account and Region")
	})
}

// tcp is a permission for one tcp port from the IPv4 ranges v4 and the IPv6
// ranges v6.
func tcp(port int32, v4 []string, v6 ...string) types.IpPermission {
	p := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port)}
	for _, c := range v4 {
		p.IpRanges = append(p.IpRanges, types.IpRange{CidrIp: aws.String(c)})
	}
	for _, c := range v6 {
		p.Ipv6Ranges = append(p.Ipv6Ranges, types.Ipv6Range{CidrIpv6: aws.String(c)})
	}
	return p
}
