package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sgwatch/sgwatch/detect"
)

// scheduled is the payload the template's schedule sends, as EventBridge
// Scheduler fills in its context attributes.
const scheduled = `{"sgwatch":"sweep","id":"5c1e4d6b-9a2f-3e4b-5c6d-7e8f00000001","time":"2026-11-27T06:00:00Z","by":"arn:aws:scheduler:eu-west-1:111122223333:schedule/default/sgwatch-sweep"}`

func TestParseRequest(t *testing.T) {
	req, ok, err := ParseRequest([]byte(scheduled))
	if !ok || err != nil || req.ID != "5c1e4d6b-9a2f-3e4b-5c6d-7e8f00000001" || req.Time != "2026-11-27T06:00:00Z" || !strings.HasPrefix(req.By, "arn:aws:scheduler:") {
		t.Fatalf("scheduled payload: %+v %v %v", req, ok, err)
	}
	// An id that is not a short run of safe characters is a digest of the
	// payload: the same for a retry, different for another sweep.
	a, _, _ := ParseRequest([]byte(`{"sgwatch":"sweep","id":"a/b\n","time":"1"}`))
	b, _, _ := ParseRequest([]byte(`{"sgwatch":"sweep","id":"a/b\n","time":"1"}`))
	c, _, _ := ParseRequest([]byte(`{"sgwatch":"sweep","id":"a/b\n","time":"2"}`))
	if !strings.HasPrefix(a.ID, "sha256:") || a.ID != b.ID || a.ID == c.ID {
		t.Errorf("ids %q %q %q", a.ID, b.ID, c.ID)
	}
	if r, ok, err := ParseRequest([]byte(`{"sgwatch":"sweep"}`)); !ok || err != nil || !strings.HasPrefix(r.ID, "sha256:") {
		t.Errorf("bare request: %+v %v %v", r, ok, err)
	}

	for name, bad := range map[string]string{
		"other kind":       `{"sgwatch":"scan"}`,
		"not a string":     `{"sgwatch":1}`,
		"unknown member":   `{"sgwatch":"sweep","detail":{}}`,
		"records too":      `{"sgwatch":"sweep","Records":[]}`,
		"id not a string":  `{"sgwatch":"sweep","id":5}`,
		"trailing garbage": `{"sgwatch":"sweep"}{"x":1}`,
	} {
		if _, ok, err := ParseRequest([]byte(bad)); !ok || err == nil {
			t.Errorf("%s: recognised %v, error %v", name, ok, err)
		}
	}
	for name, other := range map[string]string{
		"nested":       `{"detail":{"sgwatch":"sweep"}}`,
		"in a string":  `{"detail-type":"x","description":"\"sgwatch\": sweep"}`,
		"array":        `[{"sgwatch":"sweep"}]`,
		"not json":     `"sgwatch"`,
		"empty object": `{}`,
	} {
		if _, ok, err := ParseRequest([]byte(other)); ok || err != nil {
			t.Errorf("%s: recognised %v, error %v", name, ok, err)
		}
	}
}

// TestRequestIsNoEvent: no sample event or CloudTrail record is a sweep
// request, and a sweep request is no CloudTrail input.
func TestRequestIsNoEvent(t *testing.T) {
	var files []string
	for _, glob := range []string{"../events/*.json", "../testdata/cloudtrail/*.json", "../detect/testdata/*.json"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 24 {
		t.Fatalf("only %d samples", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := ParseRequest(data); ok || err != nil {
			t.Errorf("%s taken for a sweep request (%v)", f, err)
		}
	}
	b, err := detect.Parse([]byte(scheduled), detect.Scoring{})
	if err == nil || len(b.Findings) != 0 {
		t.Errorf("a sweep request parsed as CloudTrail: %d findings, error %v", len(b.Findings), err)
	}
}

// fakeEC2 answers the three listings in pages of two, and the prefix
// lists (lists, by id; a list not there is an error).
type fakeEC2 struct {
	groups []types.SecurityGroup
	rules  []types.SecurityGroupRule
	nis    []types.NetworkInterface
	tables []types.RouteTable
	acls   []types.NetworkAcl
	lists  map[string]fakeList
	calls  map[string]int
}

// fakeList is a managed prefix list: its name, owner and entries.
type fakeList struct {
	name, owner string
	entries     []string
}

func (f *fakeEC2) DescribeManagedPrefixLists(_ context.Context, in *ec2.DescribeManagedPrefixListsInput, _ ...func(*ec2.Options)) (*ec2.DescribeManagedPrefixListsOutput, error) {
	f.calls["lists"]++
	var out ec2.DescribeManagedPrefixListsOutput
	for _, id := range in.PrefixListIds {
		l, ok := f.lists[id]
		if !ok {
			return nil, errors.New("api error InvalidPrefixListID.NotFound: The prefix list ID '" + id + "' does not exist")
		}
		out.PrefixLists = append(out.PrefixLists, types.ManagedPrefixList{PrefixListId: aws.String(id), PrefixListName: aws.String(l.name), OwnerId: aws.String(l.owner)})
	}
	return &out, nil
}

func (f *fakeEC2) GetManagedPrefixListEntries(_ context.Context, in *ec2.GetManagedPrefixListEntriesInput, _ ...func(*ec2.Options)) (*ec2.GetManagedPrefixListEntriesOutput, error) {
	f.calls["entries"]++
	l, ok := f.lists[aws.ToString(in.PrefixListId)]
	if !ok || l.owner == "AWS" {
		return nil, errors.New("api error InvalidPrefixListID.NotFound")
	}
	var es []types.PrefixListEntry
	for _, c := range l.entries {
		es = append(es, types.PrefixListEntry{Cidr: aws.String(c)})
	}
	items, next := page(es, in.NextToken)
	return &ec2.GetManagedPrefixListEntriesOutput{Entries: items, NextToken: next}, nil
}

func page[T any](items []T, token *string) ([]T, *string) {
	start := 0
	if token != nil {
		start = int((*token)[0] - '0')
	}
	end := min(start+2, len(items))
	var next *string
	if end < len(items) {
		next = aws.String(string(rune('0' + end)))
	}
	return items[start:end], next
}

func (f *fakeEC2) DescribeSecurityGroups(_ context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	f.calls["groups"]++
	items, next := page(f.groups, in.NextToken)
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: items, NextToken: next}, nil
}

func (f *fakeEC2) DescribeSecurityGroupRules(_ context.Context, in *ec2.DescribeSecurityGroupRulesInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error) {
	f.calls["rules"]++
	items, next := page(f.rules, in.NextToken)
	return &ec2.DescribeSecurityGroupRulesOutput{SecurityGroupRules: items, NextToken: next}, nil
}

func (f *fakeEC2) DescribeNetworkInterfaces(_ context.Context, in *ec2.DescribeNetworkInterfacesInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	f.calls["interfaces"]++
	items, next := page(f.nis, in.NextToken)
	return &ec2.DescribeNetworkInterfacesOutput{NetworkInterfaces: items, NextToken: next}, nil
}

// TestGroups reads every page of the three listings into groups.
func TestGroups(t *testing.T) {
	sg := func(id, name string) types.SecurityGroup {
		return types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String(name), VpcId: aws.String("vpc-1"),
			Tags: []types.Tag{{Key: aws.String("owner"), Value: aws.String("team")}}}
	}
	rule := func(id, group string, egress bool, port int32, cidr string) types.SecurityGroupRule {
		return types.SecurityGroupRule{SecurityGroupRuleId: aws.String(id), GroupId: aws.String(group), IsEgress: aws.Bool(egress),
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port), CidrIpv4: aws.String(cidr)}
	}
	ni := func(groups ...string) types.NetworkInterface {
		var gs []types.GroupIdentifier
		for _, g := range groups {
			gs = append(gs, types.GroupIdentifier{GroupId: aws.String(g)})
		}
		return types.NetworkInterface{Groups: gs}
	}
	api := &fakeEC2{
		groups: []types.SecurityGroup{sg("sg-3", "default"), sg("sg-1", "web"), sg("sg-2", "db")},
		rules: []types.SecurityGroupRule{rule("sgr-1", "sg-1", false, 22, "0.0.0.0/0"), rule("sgr-2", "sg-1", true, 443, "0.0.0.0/0"),
			rule("sgr-3", "sg-2", false, 5432, "10.0.0.0/8"), rule("sgr-4", "sg-9", false, 22, "0.0.0.0/0"),
			{SecurityGroupRuleId: aws.String("sgr-5"), GroupId: aws.String("sg-2"), IpProtocol: aws.String("-1"), IsEgress: aws.Bool(false),
				ReferencedGroupInfo: &types.ReferencedSecurityGroup{GroupId: aws.String("sg-1")}}},
		nis:   []types.NetworkInterface{ni("sg-1"), ni("sg-1", "sg-2"), ni("sg-1"), ni()},
		calls: map[string]int{},
	}
	groups, err := AWS{EC2: api}.Groups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if api.calls["groups"] != 2 || api.calls["rules"] != 3 || api.calls["interfaces"] != 2 {
		t.Errorf("calls %v, want every page", api.calls)
	}
	var ids []string
	for _, g := range groups {
		ids = append(ids, g.ID)
	}
	if strings.Join(ids, ",") != "sg-1,sg-2,sg-3,sg-9" {
		t.Fatalf("groups %v", ids)
	}
	web, db, def, late := groups[0], groups[1], groups[2], groups[3]
	if web.Name != "web" || web.VPCID != "vpc-1" || web.Tags["owner"] != "team" || *web.AttachedInterfaces != 3 || *web.IsDefault || len(web.Rules) != 2 {
		t.Errorf("web %+v", web)
	}
	if web.Rules[0].Direction != detect.Ingress || web.Rules[1].Direction != detect.Egress || web.Rules[0].RuleID != "sgr-1" {
		t.Errorf("web rules %+v", web.Rules)
	}
	if *db.AttachedInterfaces != 1 || len(db.Rules) != 2 || db.Rules[1].ReferencedGroupID != "sg-1" || db.Rules[1].Protocol != "all" {
		t.Errorf("db %+v", db)
	}
	if !*def.IsDefault || *def.AttachedInterfaces != 0 {
		t.Errorf("default %+v", def)
	}
	// A rule of a group created between the listings still counts.
	if late.Name != "" || len(late.Rules) != 1 || len(Exposures(late, "eu-west-1", "111122223333", time.Now(), detect.Scoring{})) != 1 {
		t.Errorf("late group %+v", late)
	}
}

// TestEvents reads LookupEvents pages with the SDK's CloudTrail client, as
// the sweep's lister does, stops at the page limit, and reads a page of any
// size (a page of large RunInstances records is over a megabyte).
func TestEvents(t *testing.T) {
	var calls []string
	big := strings.Repeat("x", 2<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			LookupAttributes []struct{ AttributeKey, AttributeValue string }
			MaxResults       int
			NextToken        string
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &in); err != nil || r.Method != http.MethodPost ||
			!strings.HasSuffix(r.Header.Get("X-Amz-Target"), "CloudTrail_20131101.LookupEvents") ||
			!strings.Contains(r.Header.Get("Authorization"), "/eu-west-1/cloudtrail/aws4_request") ||
			len(in.LookupAttributes) != 1 || in.LookupAttributes[0] != (struct{ AttributeKey, AttributeValue string }{"ResourceName", "sg-1"}) || in.MaxResults != 50 {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"InvalidLookupAttributesException","message":"bad"}`)
			return
		}
		calls = append(calls, in.NextToken)
		page := 1 // the page a token asks for: "" the first, tN the one after page N
		if n, err := strconv.Atoi(strings.TrimPrefix(in.NextToken, "t")); err == nil {
			page = n + 1
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprintf(w, `{"Events":[{"EventId":"e","CloudTrailEvent":"{\"page\":%d,\"pad\":\"%s\"}"}],"NextToken":"t%d"}`, page, big, page)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(srv.URL)}
	a := AWS{CloudTrail: cloudtrail.NewFromConfig(cfg)}
	got, err := a.Events(context.Background(), "sg-1", 2)
	// The SDK may retry a request (a connection the transport drops): the
	// pages asked for are the distinct tokens, in order.
	calls = slices.Compact(calls)
	if err != nil || len(got) != 2 || !strings.HasPrefix(string(got[1]), `{"page":2,`) || len(got[1]) < 2<<20 || strings.Join(calls, ",") != ",t1" {
		t.Fatalf("%d events, calls %q, error %v", len(got), calls, err)
	}
	if _, err := a.Events(context.Background(), "sg-2", 1); err == nil || !strings.Contains(err.Error(), "LookupEvents") || !strings.Contains(err.Error(), "InvalidLookupAttributesException: bad") {
		t.Errorf("error %v", err)
	}
	if got, err := (AWS{}).Events(context.Background(), "sg-1", 2); got != nil || err != nil {
		t.Errorf("without CloudTrail: %q, %v", got, err)
	}
}

// The fake's route tables are tables; Block Public Access is off.
func (f *fakeEC2) DescribeRouteTables(_ context.Context, in *ec2.DescribeRouteTablesInput, _ ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error) {
	f.calls["routes"]++
	var out []types.RouteTable
	for _, t := range f.tables {
		for _, flt := range in.Filters {
			if aws.ToString(flt.Name) == "association.subnet-id" && slices.ContainsFunc(t.Associations, func(a types.RouteTableAssociation) bool {
				return slices.Contains(flt.Values, aws.ToString(a.SubnetId))
			}) {
				out = append(out, t)
			}
		}
	}
	return &ec2.DescribeRouteTablesOutput{RouteTables: out}, nil
}

// The fake's network ACLs are acls, whatever the filter.
func (f *fakeEC2) DescribeNetworkAcls(context.Context, *ec2.DescribeNetworkAclsInput, ...func(*ec2.Options)) (*ec2.DescribeNetworkAclsOutput, error) {
	f.calls["acls"]++
	return &ec2.DescribeNetworkAclsOutput{NetworkAcls: f.acls}, nil
}

func (f *fakeEC2) DescribeVpcBlockPublicAccessOptions(context.Context, *ec2.DescribeVpcBlockPublicAccessOptionsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcBlockPublicAccessOptionsOutput, error) {
	return &ec2.DescribeVpcBlockPublicAccessOptionsOutput{}, nil
}

func (f *fakeEC2) DescribeVpcBlockPublicAccessExclusions(context.Context, *ec2.DescribeVpcBlockPublicAccessExclusionsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcBlockPublicAccessExclusionsOutput, error) {
	return &ec2.DescribeVpcBlockPublicAccessExclusionsOutput{}, nil
}
