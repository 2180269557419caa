//go:build !lambda.norpc

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/sweep"
)

// sweepEC2 is one account and Region's EC2 as the sweep lists it: its
// groups and rules, or the error every listing returns.
type sweepEC2 struct {
	groups []types.SecurityGroup
	rules  []types.SecurityGroupRule
	err    error
}

func (f *sweepEC2) DescribeSecurityGroups(context.Context, *ec2.DescribeSecurityGroupsInput, ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: f.groups}, nil
}

func (f *sweepEC2) DescribeSecurityGroupRules(context.Context, *ec2.DescribeSecurityGroupRulesInput, ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &ec2.DescribeSecurityGroupRulesOutput{SecurityGroupRules: f.rules}, nil
}

func (f *sweepEC2) DescribeNetworkInterfaces(context.Context, *ec2.DescribeNetworkInterfacesInput, ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	return &ec2.DescribeNetworkInterfacesOutput{}, f.err
}

// The fake's rules name no prefix list, so these are never called.
func (f *sweepEC2) DescribeManagedPrefixLists(context.Context, *ec2.DescribeManagedPrefixListsInput, ...func(*ec2.Options)) (*ec2.DescribeManagedPrefixListsOutput, error) {
	return nil, errors.New("DescribeManagedPrefixLists: not in this fake")
}

func (f *sweepEC2) GetManagedPrefixListEntries(context.Context, *ec2.GetManagedPrefixListEntriesInput, ...func(*ec2.Options)) (*ec2.GetManagedPrefixListEntriesOutput, error) {
	return nil, errors.New("GetManagedPrefixListEntries: not in this fake")
}

// group adds a group with its ingress rules (id, port, CIDR) in a fake EC2.
func (f *sweepEC2) group(id, name string, rules ...[3]string) *sweepEC2 {
	f.groups = append(f.groups, types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String(name), VpcId: aws.String("vpc-0a1b2c3d")})
	for _, r := range rules {
		port := int32(0)
		for _, c := range r[1] {
			port = port*10 + int32(c-'0')
		}
		rule := types.SecurityGroupRule{SecurityGroupRuleId: aws.String(r[0]), GroupId: aws.String(id), IsEgress: aws.Bool(false),
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port)}
		if strings.Contains(r[2], ":") {
			rule.CidrIpv6 = aws.String(r[2])
		} else {
			rule.CidrIpv4 = aws.String(r[2])
		}
		f.rules = append(f.rules, rule)
	}
	return f
}

const (
	sweepSelf   = "111122223333"
	sweepMember = "444455556666"
)

// sweepWorld is the usual fake: in the caller's us-east-1 a world-open
// SSH rule, a private group, a pair of /5 sources that together cover a
// whole part of the internet on tcp/22, world-open HTTPS, and an egress
// rule to everywhere (never an exposure); its eu-west-1 has only private
// rules; the member's us-east-1 a world-open RDP rule over IPv6.
func sweepWorld() map[string]*sweepEC2 {
	east := (&sweepEC2{}).
		group("sg-0a1b2c3d4e5f60718", "world-ssh", [3]string{"sgr-0c0ffee0c0ffee001", "22", "0.0.0.0/0"}).
		group("sg-0b1b2c3d4e5f60718", "private", [3]string{"sgr-0c0ffee0c0ffee002", "22", "10.0.0.0/8"}, [3]string{"sgr-0c0ffee0c0ffee003", "5432", "172.16.0.0/12"}).
		group("sg-0c1b2c3d4e5f60718", "split", [3]string{"sgr-0c0ffee0c0ffee004", "22", "32.0.0.0/5"}, [3]string{"sgr-0c0ffee0c0ffee005", "22", "40.0.0.0/5"}).
		group("sg-0d1b2c3d4e5f60718", "web", [3]string{"sgr-0c0ffee0c0ffee006", "443", "0.0.0.0/0"})
	east.rules = append(east.rules, types.SecurityGroupRule{SecurityGroupRuleId: aws.String("sgr-0c0ffee0c0ffee007"), GroupId: aws.String("sg-0b1b2c3d4e5f60718"),
		IsEgress: aws.Bool(true), IpProtocol: aws.String("-1"), CidrIpv4: aws.String("0.0.0.0/0")})
	west := (&sweepEC2{}).group("sg-0e1b2c3d4e5f60718", "private-west", [3]string{"sgr-0c0ffee0c0ffee008", "3389", "192.168.0.0/16"})
	member := (&sweepEC2{}).group("sg-0f1b2c3d4e5f60718", "member-rdp", [3]string{"sgr-0c0ffee0c0ffee009", "3389", "::/0"})
	return map[string]*sweepEC2{sweepSelf + "/us-east-1": east, sweepSelf + "/eu-west-1": west, sweepMember + "/us-east-1": member,
		sweepMember + "/eu-west-1": {}}
}

// sweepRun runs "sgwatch sweep" in-process with args, the environment env,
// and a fake AWS whose caller is sweepSelf and whose targets are world
// (a target not in it cannot be listed). It returns the exit status, the
// outputs, and the targets listed.
func sweepRun(t *testing.T, world map[string]*sweepEC2, env map[string]string, args ...string) (code int, stdout, stderr string, listed []sweep.Target) {
	t.Helper()
	var out, errb bytes.Buffer
	var mu sync.Mutex // the targets are listed at the same time
	connect := func(context.Context, []string) (sweepEnv, error) {
		return sweepEnv{
			Caller: func(context.Context) (string, string, error) { return sweepSelf, "aws", nil },
			Lister: func(_ context.Context, tg sweep.Target) (sweep.Lister, error) {
				mu.Lock()
				defer mu.Unlock()
				listed = append(listed, tg)
				api, ok := world[tg.String()]
				if !ok {
					return nil, errors.New("no such target in the fake")
				}
				return sweep.AWS{EC2: api}, nil
			},
		}, nil
	}
	code = sweepMain(context.Background(), args, func(k string) string { return env[k] }, &out, &errb, connect)
	return code, out.String(), errb.String(), listed
}

// openRules reads the JSON lines of a sweep: "account/region group rule
// severity" for each.
func openRules(t *testing.T, stdout string) []string {
	t.Helper()
	var got []string
	for l := range strings.Lines(stdout) {
		var f detect.Finding
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("JSON line %q: %v", l, err)
		}
		if f.Action != detect.Exposure || len(f.Rules) != 1 {
			t.Errorf("line %q: action %q, %d rules", l, f.Action, len(f.Rules))
			continue
		}
		got = append(got, f.Event.AccountID+"/"+f.Event.Region+" "+f.SecurityGroup.ID+" "+f.Rules[0].RuleID+" "+string(f.Severity))
	}
	return got
}

// TestSweepCommand: "sgwatch sweep" prints exactly the ingress rules open
// to the whole internet (a /5 pair included, no private or egress rule),
// in the order of the targets and groups, scored as the function scores
// them (EXTRA_SENSITIVE_PORTS raises HTTPS), and exits 1; with only
// private rules it prints nothing and exits 0.
func TestSweepCommand(t *testing.T) {
	ssh := sweepSelf + "/us-east-1 sg-0a1b2c3d4e5f60718 sgr-0c0ffee0c0ffee001 critical"
	split := []string{sweepSelf + "/us-east-1 sg-0c1b2c3d4e5f60718 sgr-0c0ffee0c0ffee004 critical", sweepSelf + "/us-east-1 sg-0c1b2c3d4e5f60718 sgr-0c0ffee0c0ffee005 critical"}
	web := sweepSelf + "/us-east-1 sg-0d1b2c3d4e5f60718 sgr-0c0ffee0c0ffee006 "
	for _, c := range []struct {
		name    string
		env     map[string]string
		args    []string
		code    int
		want    []string
		targets []string
	}{
		{"caller's account, two Regions", nil, []string{"-regions", "us-east-1,eu-west-1"}, 1,
			append(append([]string{ssh}, split...), web+"high"), []string{sweepSelf + "/us-east-1", sweepSelf + "/eu-west-1"}},
		{"an extra sensitive port", map[string]string{"EXTRA_SENSITIVE_PORTS": "443/tcp"}, []string{"-regions", "us-east-1"}, 1,
			append(append([]string{ssh}, split...), web+"critical"), []string{sweepSelf + "/us-east-1"}},
		{"private rules only", nil, []string{"-regions", "eu-west-1"}, 0, nil, []string{sweepSelf + "/eu-west-1"}},
		{"a member account by its role", nil, []string{"-regions", "us-east-1", "-accounts", sweepMember, "-assume-role", "audit"}, 1,
			[]string{sweepMember + "/us-east-1 sg-0f1b2c3d4e5f60718 sgr-0c0ffee0c0ffee009 critical"}, []string{sweepMember + "/us-east-1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs, listed := sweepRun(t, sweepWorld(), c.env, append(c.args, "-format", "json")...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, c.code, errs)
			}
			if got := openRules(t, out); !slices.Equal(got, c.want) {
				t.Errorf("printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			var names []string
			for _, tg := range listed {
				names = append(names, tg.String())
				if want := map[bool]string{true: "", false: "arn:aws:iam::" + tg.Account + ":role/audit"}[tg.Account == sweepSelf]; tg.Role != want {
					t.Errorf("target %s: role %q, want %q", tg, tg.Role, want)
				}
			}
			slices.Sort(names)
			slices.Sort(c.targets)
			if !slices.Equal(names, c.targets) {
				t.Errorf("listed %v, want %v", names, c.targets)
			}
			if !strings.Contains(errs, "sgwatch sweep: "+strconv.Itoa(len(c.want))+" exposed to the whole internet") {
				t.Errorf("stderr does not count %d exposures:\n%s", len(c.want), errs)
			}
		})
	}
}

// TestSweepCommandFormats: the sweep prints in the scan's formats, through
// the same renderers: the subject and text body, one Chatbot notification
// per line, or a summary.
func TestSweepCommandFormats(t *testing.T) {
	subject := "[CRITICAL] sg-0a1b2c3d4e5f60718 (world-ssh) exposes tcp/22 to the whole internet (found by sweep)"
	for _, c := range []struct {
		format string
		check  func(out string) error
	}{
		{"text", func(out string) error {
			if n := strings.Count(out, "Subject: "); n != 4 {
				return errors.New("want 4 subjects")
			}
			if !strings.HasPrefix(out, "Subject: "+subject+"\n\nCRITICAL: sg-0a1b2c3d4e5f60718 (world-ssh) exposes tcp/22 to the whole internet now (found by the exposure sweep)") {
				return errors.New("the first is not the SSH exposure")
			}
			if !strings.Contains(out, "aws ec2 revoke-security-group-ingress --region us-east-1 --group-id sg-0a1b2c3d4e5f60718 --security-group-rule-ids sgr-0c0ffee0c0ffee001") {
				return errors.New("no undo command")
			}
			return nil
		}},
		{"chat", func(out string) error {
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 4 {
				return errors.New("want 4 lines")
			}
			for _, l := range lines {
				var n struct {
					Version string `json:"version"`
					Source  string `json:"source"`
				}
				if err := json.Unmarshal([]byte(l), &n); err != nil || n.Source != "custom" {
					return errors.New("a line is not a custom notification: " + l)
				}
			}
			return nil
		}},
		{"summary", func(out string) error {
			for _, w := range []string{"critical", "high", "exposure", sweepSelf, "us-east-1", subject} {
				if !strings.Contains(out, w) {
					return errors.New("no " + w)
				}
			}
			if strings.Contains(out, "Subject: ") {
				return errors.New("notifications in a summary")
			}
			return nil
		}},
	} {
		code, out, errs, _ := sweepRun(t, sweepWorld(), nil, "-regions", "us-east-1", "-format", c.format)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1; stderr:\n%s", c.format, code, errs)
		}
		if err := c.check(out); err != nil {
			t.Errorf("%s: %v:\n%s", c.format, err, out)
		}
	}
}

// TestSweepCommandFailingTarget: a target that cannot be listed is named
// on stderr with its error, the others are printed all the same, and the
// exit status is 1, even when nothing is open elsewhere.
func TestSweepCommandFailingTarget(t *testing.T) {
	world := sweepWorld()
	denied := &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."}
	world[sweepMember+"/us-east-1"] = &sweepEC2{err: denied}
	code, out, errs, _ := sweepRun(t, world, nil, "-regions", "us-east-1,eu-west-1", "-accounts", sweepSelf+","+sweepMember, "-assume-role", "audit", "-format", "json")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if got := openRules(t, out); len(got) != 4 || !strings.HasPrefix(got[0], sweepSelf+"/us-east-1 sg-0a1b2c3d4e5f60718 ") {
		t.Errorf("printed %q, want the caller's 4 exposures", got)
	}
	for _, w := range []string{
		"sgwatch sweep: " + sweepMember + "/us-east-1: list rules: DescribeSecurityGroups: api error UnauthorizedOperation: You are not authorized",
		"of 4 targets (2 accounts × 2 Regions); 1 targets could not be listed",
	} {
		if !strings.Contains(errs, w) {
			t.Errorf("stderr does not say %q:\n%s", w, errs)
		}
	}

	// Nothing open where it could list: still 1.
	code, out, errs, _ = sweepRun(t, world, nil, "-regions", "us-east-1", "-accounts", sweepMember, "-assume-role", "audit")
	if code != 1 || out != "" || !strings.Contains(errs, sweepMember+"/us-east-1: list rules") {
		t.Errorf("only a failing target: exit %d, stdout %q, stderr:\n%s", code, out, errs)
	}
	// A target the fake does not have (its lister cannot be made).
	code, _, errs, _ = sweepRun(t, world, nil, "-regions", "ap-southeast-2")
	if code != 1 || !strings.Contains(errs, sweepSelf+"/ap-southeast-2: no such target in the fake") {
		t.Errorf("no lister: exit %d, stderr:\n%s", code, errs)
	}
}

// TestSweepCommandPolicy: an exposure the policy holds back (MIN_SEVERITY)
// is named on stderr with why, not printed, and does not count as open.
func TestSweepCommandPolicy(t *testing.T) {
	world := map[string]*sweepEC2{sweepSelf + "/us-east-1": (&sweepEC2{}).group("sg-0d1b2c3d4e5f60718", "web", [3]string{"sgr-0c0ffee0c0ffee006", "443", "0.0.0.0/0"})}
	code, out, errs, _ := sweepRun(t, world, map[string]string{"MIN_SEVERITY": "critical"}, "-regions", "us-east-1")
	if code != 0 || out != "" {
		t.Errorf("held back: exit %d, stdout %q", code, out)
	}
	if !strings.Contains(errs, "sgwatch sweep: "+sweepSelf+"/us-east-1: high exposure of sg-0d1b2c3d4e5f60718 (tcp/443) not shown: ") ||
		!strings.Contains(errs, "0 exposed to the whole internet (1 held back by the policy)") {
		t.Errorf("stderr:\n%s", errs)
	}
	if code, out, _, _ := sweepRun(t, world, nil, "-regions", "us-east-1"); code != 1 || !strings.Contains(out, "Subject: [HIGH] sg-0d1b2c3d4e5f60718 (web) exposes tcp/443") {
		t.Errorf("without MIN_SEVERITY: exit %d, stdout %q", code, out)
	}
}

// TestSweepCommandUsage: bad arguments and configuration exit 2 with a
// message naming what is wrong, before anything is asked of AWS; a failed
// connection or caller exits 1.
func TestSweepCommandUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, "sgwatch sweep: -regions is required"},
		{[]string{"-regions", "us-east-1", "-accounts", sweepMember}, nil, "-accounts needs -assume-role"},
		{[]string{"-regions", "us-east-1", "-assume-role", "audit"}, nil, "-assume-role needs -accounts"},
		{[]string{"-regions", "us-east-1", "-accounts", "4444", "-assume-role", "audit"}, nil, `-accounts: "4444" is not an account id`},
		{[]string{"-regions", "us-east-1", "-accounts", sweepMember, "-assume-role", "bad role"}, nil, `-assume-role: "bad role" is not a role name`},
		{[]string{"-regions", "us-east-1,Mars"}, nil, `-regions: "Mars" is not a Region`},
		{[]string{"-regions", "us-east-1", "-format", "xml"}, nil, `-format: "xml" is not text, json, chat or summary`},
		{[]string{"-regions", "us-east-1", "extra"}, nil, `unexpected argument "extra"`},
		{[]string{"-regions", "us-east-1"}, map[string]string{"EXTRA_SENSITIVE_PORTS": "http"}, "sgwatch sweep: configuration: EXTRA_SENSITIVE_PORTS"},
		{[]string{"-nope"}, nil, "flag provided but not defined: -nope"},
	} {
		var out, errb bytes.Buffer
		connected := false
		code := sweepMain(context.Background(), c.args, func(k string) string { return c.env[k] }, &out, &errb,
			func(context.Context, []string) (sweepEnv, error) {
				connected = true
				return sweepEnv{}, errors.New("no")
			})
		if code != 2 || connected || out.Len() > 0 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%q: exit %d, connected %v, stdout %q, stderr %q; want 2 and %q", c.args, code, connected, out.String(), errb.String(), c.want)
		}
	}
	for what, connect := range map[string]sweepConnect{
		"load AWS configuration: no region": func(context.Context, []string) (sweepEnv, error) {
			return sweepEnv{}, errors.New("load AWS configuration: no region")
		},
		"who am I (sts:GetCallerIdentity): expired": func(context.Context, []string) (sweepEnv, error) {
			return sweepEnv{Caller: func(context.Context) (string, string, error) {
				return "", "", errors.New("who am I (sts:GetCallerIdentity): expired")
			}}, nil
		},
	} {
		var out, errb bytes.Buffer
		code := sweepMain(context.Background(), []string{"-regions", "us-east-1"}, func(string) string { return "" }, &out, &errb, connect)
		if code != 1 || errb.String() != "sgwatch sweep: "+what+"\n" {
			t.Errorf("%s: exit %d, stderr %q", what, code, errb.String())
		}
	}
}

// TestSweepCommandWired: "sgwatch sweep" is the sweep, not a file named
// sweep, and says how it is used.
func TestSweepCommandWired(t *testing.T) {
	code, out, errs := run(t, "", "sweep", "-h")
	if code != 2 || out != "" || !strings.HasPrefix(errs, "usage: sgwatch sweep -regions REGION,...") || !strings.Contains(errs, "-assume-role NAME") {
		t.Errorf("sweep -h: exit %d, stdout %q, stderr:\n%s", code, out, errs)
	}
	if code, _, errs := run(t, "", "-h"); code != 2 || !strings.Contains(errs, "sgwatch sweep -regions REGION,...") {
		t.Errorf("-h does not show the sweep: exit %d:\n%s", code, errs)
	}
}

// No subnet routes anywhere, and Block Public Access is off.
func (f *sweepEC2) DescribeNetworkAcls(context.Context, *ec2.DescribeNetworkAclsInput, ...func(*ec2.Options)) (*ec2.DescribeNetworkAclsOutput, error) {
	return &ec2.DescribeNetworkAclsOutput{}, nil
}

func (f *sweepEC2) DescribeRouteTables(context.Context, *ec2.DescribeRouteTablesInput, ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error) {
	return &ec2.DescribeRouteTablesOutput{}, nil
}

func (f *sweepEC2) DescribeVpcBlockPublicAccessOptions(context.Context, *ec2.DescribeVpcBlockPublicAccessOptionsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcBlockPublicAccessOptionsOutput, error) {
	return &ec2.DescribeVpcBlockPublicAccessOptionsOutput{}, nil
}

func (f *sweepEC2) DescribeVpcBlockPublicAccessExclusions(context.Context, *ec2.DescribeVpcBlockPublicAccessExclusionsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcBlockPublicAccessExclusionsOutput, error) {
	return &ec2.DescribeVpcBlockPublicAccessExclusionsOutput{}, nil
}
