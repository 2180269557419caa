package main

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sgwatch/sgwatch/athena"
	"github.com/sgwatch/sgwatch/history"
)

// TestHistoryTable: history.yaml's Glue table has every column the history
// query (package athena) selects, each struct field on its path; its
// partitions are account, region and timestamp, all projected (account and
// region as enums of the parameters, the day as a date from StartDate to
// now), over the CloudTrail layout of one account or of an organization;
// the workgroup enforces its encrypted results location and the
// bytes-scanned limit; and the source it outputs is one sgwatch reads.
func TestHistoryTable(t *testing.T) {
	tpl := fileValue(t, "history.yaml")
	res := tpl["Resources"].(map[string]any)
	in := at(res, "Table", "Properties", "TableInput").(map[string]any)
	types := map[string]string{}
	for _, c := range at(in, "StorageDescriptor", "Columns").([]any) {
		types[fmt.Sprint(at(c, "Name"))] = fmt.Sprint(at(c, "Type"))
	}
	for _, c := range athena.CloudTrail.Columns {
		parts := strings.Split(c.SQL, ".")
		typ, ok := types[parts[0]]
		if !ok {
			t.Errorf("the query selects %s; the table has no column %s", c.SQL, parts[0])
			continue
		}
		for _, field := range parts[1:] {
			// Each field of the path is in the struct type, after the
			// previous one.
			i := strings.Index(typ, field+":")
			if i < 0 || i > 0 && typ[i-1] != '<' && typ[i-1] != ',' {
				t.Errorf("the query selects %s; the column's type %s has no field %s", c.SQL, types[parts[0]], field)
				break
			}
			typ = typ[i+len(field)+1:]
		}
	}
	var parts []string
	for _, p := range at(in, "PartitionKeys").([]any) {
		parts = append(parts, fmt.Sprint(at(p, "Name")))
	}
	if !slices.Equal(parts, []string{"account", "region", "timestamp"}) {
		t.Errorf("partition keys %v, want account, region, timestamp (the query's)", parts)
	}
	p := at(in, "Parameters").(map[string]any)
	for k, want := range map[string]any{
		"projection.enabled": "true", "projection.account.type": "enum", "projection.account.values": map[string]any{"Ref": "Accounts"},
		"projection.region.type": "enum", "projection.region.values": map[string]any{"Ref": "Regions"},
		"projection.timestamp.type": "date", "projection.timestamp.format": "yyyy/MM/dd",
	} {
		if fmt.Sprint(p[k]) != fmt.Sprint(want) {
			t.Errorf("%s is %v, want %v", k, p[k], want)
		}
	}
	for i, layout := range at(p, "storage.location.template", "Fn::If").([]any)[1:] {
		s := fmt.Sprint(at(layout, "Fn::Sub"))
		if !strings.HasSuffix(s, "/${!account}/CloudTrail/${!region}/${!timestamp}") || (i == 0) != strings.Contains(s, "${OrganizationId}") {
			t.Errorf("storage.location.template %q", s)
		}
	}
	wg := at(res, "Workgroup", "Properties", "WorkGroupConfiguration").(map[string]any)
	if wg["EnforceWorkGroupConfiguration"] != "true" || fmt.Sprint(wg["BytesScannedCutoffPerQuery"]) != fmt.Sprint(map[string]any{"Ref": "BytesScannedCutoff"}) ||
		at(wg, "ResultConfiguration", "EncryptionConfiguration", "EncryptionOption") != "SSE_KMS" {
		t.Errorf("workgroup %v", wg)
	}
	src := strings.NewReplacer("${Workgroup}", "stack-sgwatch", "${Database}", "sgwatch_history").Replace(fmt.Sprint(at(tpl, "Outputs", "Source", "Value", "Fn::Sub")))
	if _, q, err := athena.ParseSource(src); err != nil || q.Table != "cloudtrail" {
		t.Errorf("output Source %q: %v", src, err)
	}
}

// TestHistoryReaderPolicy: history.yaml's reader policy allows every Athena
// call a run makes (history.API), on the workgroup, and reads the table the
// Source output names; template.yaml takes it as HistoryPolicyArn.
func TestHistoryReaderPolicy(t *testing.T) {
	tpl := fileValue(t, "history.yaml")
	res := tpl["Resources"].(map[string]any)
	allowed := map[string]any{}
	for _, st := range statements(res["ReaderPolicy"], "PolicyDocument") {
		for _, a := range strs(st["Action"]) {
			allowed[a] = st["Resource"]
		}
	}
	api := reflect.TypeFor[history.API]()
	for i := range api.NumMethod() {
		a := "athena:" + api.Method(i).Name
		if r, ok := allowed[a]; !ok || !strings.Contains(fmt.Sprint(r), "workgroup/${Workgroup}") {
			t.Errorf("the reader policy allows %s on %v, want the workgroup", a, r)
		}
	}
	source := fmt.Sprint(at(tpl, "Outputs", "Source", "Value"))
	table := source[strings.LastIndex(source, ".")+1:]
	if r := fmt.Sprint(allowed["glue:GetTable"]); !strings.Contains(r, "table/${Database}/"+table+"]") && !strings.HasSuffix(r, "table/${Database}/"+table) {
		t.Errorf("glue:GetTable on %s, want the table %s the Source output names", r, table)
	}
	if !reflect.DeepEqual(at(tpl, "Outputs", "ReaderPolicyArn", "Value"), map[string]any{"Ref": "ReaderPolicy"}) {
		t.Error("no ReaderPolicyArn output")
	}
	if at(templateValue(t), "Parameters", "HistoryPolicyArn") == nil {
		t.Error("template.yaml takes no HistoryPolicyArn")
	}
}
