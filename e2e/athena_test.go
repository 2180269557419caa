//go:build e2e

package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	athenasdk "github.com/aws/aws-sdk-go-v2/service/athena"

	"github.com/sgwatch/sgwatch/athena"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/internal/samples"
	"github.com/sgwatch/sgwatch/scan"
)

// securityLakeSource is a Security Lake CloudTrail table (source version 2)
// as athena_duckdb.py lays it out.
const securityLakeSource = "athena://primary/amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"

// tableRow is a record as the history tables hold it: in the partition of
// its account, Region and day (athena_duckdb.py's ROWS.json).
type tableRow struct {
	Record    json.RawMessage `json:"record"`
	Account   string          `json:"account"`
	Region    string          `json:"region"`
	Timestamp string          `json:"timestamp"`
}

// tableRows is every sample record (events/ and testdata/cloudtrail/) as
// the tables hold it, some a day late as CloudTrail may deliver them, and
// the sample files' contents as the file scan reads them; a sample whose
// eventTime is not RFC 3339 (a peer's normalised copy) is in no day's
// folder, and left out of both. rows.json in dir holds the rows.
func tableRows(t *testing.T, dir string) (rows []tableRow, files [][]byte, rowsFile string) {
	t.Helper()
	samples, err := samples.Files("..")
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range samples {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		file := data
		var e struct {
			Account any             `json:"account"` // a string, or a sample's placeholder number
			Detail  json.RawMessage `json:"detail"`
		}
		if json.Unmarshal(data, &e) == nil && len(e.Detail) > 0 {
			data = e.Detail // an EventBridge event: its record
		}
		account, _ := e.Account.(string)
		var h struct {
			EventTime, AWSRegion, RecipientAccountID string
			UserIdentity                             struct{ AccountID string }
		}
		if err := json.Unmarshal(data, &h); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		at, err := time.Parse(time.RFC3339, h.EventTime)
		if err != nil {
			continue
		}
		if i%3 == 0 {
			at = at.Add(scan.Late) // delivered the next day
		}
		// The account whose folder holds it: the scan's account of a
		// record (detect.Event.AccountID).
		account = cmp.Or(h.RecipientAccountID, account, h.UserIdentity.AccountID)
		rows = append(rows, tableRow{Record: data, Account: account, Region: h.AWSRegion, Timestamp: at.UTC().Format("2006/01/02")})
		files = append(files, file)
	}
	rowsFile = filepath.Join(dir, "rows.json")
	b, _ := json.Marshal(rows)
	if err := os.WriteFile(rowsFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return rows, files, rowsFile
}

// duckDB runs the query `sgwatch -format sql ARGS SOURCE` prints with
// athena_duckdb.py over the rows in rowsFile, in layout, and returns what
// it prints: the selected rows' event ids, or with results the results.
func duckDB(t *testing.T, dir, rowsFile, layout, source string, results bool, args ...string) string {
	t.Helper()
	code, sql, stderr := runCLI(t, nil, append(append([]string{"-format", "sql"}, args...), source)...)
	if code != 0 {
		t.Fatalf("%v %s: exit %d: %s", args, source, code, stderr)
	}
	return duckDBQuery(t, dir, rowsFile, layout, sql, results)
}

// duckDBQuery is duckDB with the query given.
func duckDBQuery(t *testing.T, dir, rowsFile, layout, sql string, results bool) string {
	t.Helper()
	queryFile := filepath.Join(dir, "query.sql")
	if err := os.WriteFile(queryFile, []byte(sql), 0o600); err != nil {
		t.Fatal(err)
	}
	py := []string{"testdata/athena_duckdb.py", "--layout", layout}
	if results {
		py = append(py, "--rows")
	}
	var out, errb bytes.Buffer
	cmd := exec.Command(filepath.Join(filepath.Dir(*motoBin), "python"), append(py, queryFile, rowsFile)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("DuckDB: %v\n%s\nquery:\n%s", err, errb.String(), sql)
	}
	return out.String()
}

// TestScanAthenaSQL is the meaning of issue 22's history queries, executed
// for real: the query `sgwatch -format sql athena://…` prints (Athena's
// dialect, Trino) is transpiled by sqlglot to DuckDB and run over a table
// laid out as the CloudTrail table for Athena, and over one laid out as
// Security Lake's CloudTrail table (OCSF, source version 2), both loaded
// with every sample record (e2e/testdata/athena_duckdb.py). For each set of
// -since, -until, -accounts and -regions each selects exactly the records
// for which the file scan (detect's parse and scan.Filter) reports a
// finding.
func TestScanAthenaSQL(t *testing.T) {
	dir := t.TempDir()
	rows, files, rowsFile := tableRows(t, dir)
	// What the file scan reports of these records under a filter.
	reported := func(f scan.Filter) []string {
		var ids []string
		for _, rec := range files {
			batch, err := detect.Parse(rec, detect.Scoring{})
			if err != nil {
				continue
			}
			for _, fd := range batch.Findings {
				if f.Keep(fd) && !slices.Contains(ids, fd.Event.ID) {
					ids = append(ids, fd.Event.ID)
				}
			}
		}
		slices.Sort(ids)
		return ids
	}
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	var summary []string
	for _, c := range []struct {
		args   []string
		filter scan.Filter
	}{
		{nil, scan.Filter{}},
		{[]string{"-since", "2026-01-01"}, scan.Filter{Since: day("2026-01-01")}},
		{[]string{"-until", "2024-01-01"}, scan.Filter{Until: day("2024-01-01")}},
		{[]string{"-since", "2026-11-20", "-until", "2026-11-21"}, scan.Filter{Since: day("2026-11-20"), Until: day("2026-11-21")}},
		{[]string{"-regions", "eu-west-1,us-east-1"}, scan.Filter{Regions: []string{"eu-west-1", "us-east-1"}}},
		{[]string{"-accounts", "111122223333"}, scan.Filter{Accounts: []string{"111122223333"}}},
		{[]string{"-accounts", "111122223333", "-regions", "eu-west-1", "-since", "2026-11-01"}, scan.Filter{Accounts: []string{"111122223333"}, Regions: []string{"eu-west-1"}, Since: day("2026-11-01")}},
	} {
		want := reported(c.filter)
		for _, l := range []struct{ layout, source string }{{"cloudtrail", "athena://primary/cloudtrail.logs"}, {"ocsf", securityLakeSource}} {
			got := strings.Fields(duckDB(t, dir, rowsFile, l.layout, l.source, false, c.args...))
			slices.Sort(got)
			got = slices.Compact(got)
			if !slices.Equal(got, want) {
				t.Errorf("%v, %s: the query selects %d records, the file scan reports %d\nonly the query: %v\nonly the scan: %v",
					c.args, l.layout, len(got), len(want), minus(got, want), minus(want, got))
			}
		}
		summary = append(summary, strings.TrimSpace(strings.Join(c.args, " ")+" "+itoa(len(want))))
	}
	// The sweep's question (athena.Query.Groups): the records whose request
	// or response names one of the groups, of the calls the scan reports.
	var groups []string
	for _, rec := range files {
		if b, err := detect.Parse(rec, detect.Scoring{}); err == nil {
			for _, f := range b.Findings {
				if g := f.SecurityGroup.ID; strings.HasPrefix(g, "sg-") && !slices.Contains(groups, g) && len(groups) < 3 {
					groups = append(groups, g)
				}
			}
		}
	}
	var want []string
	for _, rec := range files {
		var r struct {
			Detail map[string]any `json:"detail"`
		}
		var m map[string]any
		if json.Unmarshal(rec, &r) == nil && r.Detail != nil {
			m = r.Detail
		} else if json.Unmarshal(rec, &m) != nil {
			continue
		}
		text := ""
		for k, v := range m {
			if strings.EqualFold(k, "requestParameters") || strings.EqualFold(k, "responseElements") {
				b, _ := json.Marshal(v)
				text += strings.ToLower(string(b))
			}
		}
		b, err := detect.Parse(rec, detect.Scoring{})
		if err != nil || len(b.Findings) == 0 || !slices.ContainsFunc(groups, func(g string) bool { return strings.Contains(text, g) }) {
			continue
		}
		if id := b.Findings[0].Event.ID; !slices.Contains(want, id) {
			want = append(want, id)
		}
	}
	slices.Sort(want)
	for _, l := range []struct{ layout, db, table string }{{"cloudtrail", "cloudtrail", "logs"},
		{"ocsf", "amazon_security_lake_glue_db_us_east_1", "amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"}} {
		sql, err := athena.Query{Database: l.db, Table: l.table, Groups: groups}.SQL()
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Fields(duckDBQuery(t, dir, rowsFile, l.layout, sql, false))
		slices.Sort(got)
		if got = slices.Compact(got); len(want) < 2 || !slices.Equal(got, want) {
			t.Errorf("groups %v, %s: the query selects %v, want %v", groups, l.layout, got, want)
		}
	}
	t.Logf("scan: athena: the history query, transpiled by sqlglot and run by DuckDB over %d sample records in the CloudTrail and the Security Lake (OCSF) layouts, selects in each exactly what the file scan reports under %d filters (%s), and for the sweep the %d records that name %d groups",
		len(rows), len(summary), strings.Join(summary, "; "), len(want), len(groups))
}

// minus is what a holds that b does not.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestScanAthenaMoto is the history query's client path against moto's
// Athena over HTTP (moto runs no SQL: the test seeds the query's result
// through moto's documented results endpoint, rows shaped as the query's
// columns, from the sample records): sgwatch athena://… starts the
// query, waits for it, pages its rows, rebuilds the records and prints the
// same findings as a file scan of those records, byte for byte, saying the
// query's id and bytes scanned on standard error. A query cancelled by
// Ctrl-C while it runs is stopped (CANCELLED in moto) and the exit status
// is 1. (moto has no FAILED state: athena's unit test covers it.)
func TestScanAthenaMoto(t *testing.T) {
	if err := moto.Reset(); err != nil {
		t.Fatal(err)
	}
	files, err := samples.Files("..")
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Records []json.RawMessage `json:"Records"`
	}
	rows, cols := cloudTrailHeader()
	for _, f := range files {
		data, _ := os.ReadFile(f.Path)
		var e struct {
			Detail json.RawMessage `json:"detail"`
		}
		if json.Unmarshal(data, &e) == nil && len(e.Detail) > 0 {
			data = e.Detail
		}
		var rec map[string]any
		if json.Unmarshal(data, &rec) != nil || rec["eventSource"] != "ec2.amazonaws.com" {
			continue
		}
		rows = append(rows, cloudTrailRow(rec))
		// The file scan's copy: the record as the table holds it.
		b, _ := json.Marshal(rec)
		log.Records = append(log.Records, b)
	}
	seedAthena(t, rows, cols)
	env := []string{"AWS_ENDPOINT_URL_ATHENA=" + moto.Endpoint, "AWS_REGION=us-east-1", "MIN_SEVERITY=info"}
	code, fromAthena, stderr := runCLI(t, env, "-format", "json", "athena://primary/cloudtrail.logs")
	if !strings.Contains(stderr, "SUCCEEDED") || !strings.Contains(stderr, fmt.Sprintf(": %d records, 0 bytes scanned", len(log.Records))) {
		t.Errorf("stderr says\n%s", stderr)
	}
	file := filepath.Join(t.TempDir(), "log.json")
	b, _ := json.Marshal(log)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	fileCode, fromFile, _ := runCLI(t, env, "-format", "json", file)
	if code != fileCode || fromAthena != fromFile || strings.Count(fromFile, "\n") < 20 {
		a, f := strings.Split(fromAthena, "\n"), strings.Split(fromFile, "\n")
		for i := range min(len(a), len(f)) {
			if a[i] != f[i] {
				t.Errorf("finding %d differs:\nathena: %s\nfile:   %s", i, a[i], f[i])
				break
			}
		}
		t.Errorf("athena:// exit %d, %d findings; the file scan exit %d, %d findings; the same findings: %v",
			code, strings.Count(fromAthena, "\n"), fileCode, strings.Count(fromFile, "\n"), fromAthena == fromFile)
	}

	lake, lakeFindings := scanSecurityLake(t, env)

	// Cancelled while it runs: moto holds it RUNNING until told otherwise.
	transition, _ := json.Marshal(map[string]any{"model_name": "athena::execution", "transition": map[string]any{"progression": "manual", "times": 1000}})
	if resp, err := http.Post(moto.Endpoint+"/moto-api/state-manager/set-transition", "application/json", bytes.NewReader(transition)); err != nil || resp.StatusCode >= 300 {
		t.Fatalf("moto state manager: %v %v", resp, err)
	}
	defer http.Post(moto.Endpoint+"/moto-api/state-manager/unset-transition", "application/json", strings.NewReader(`{"model_name":"athena::execution"}`))
	cmd := exec.Command(*cliBin, "-format", "json", "athena://primary/cloudtrail.logs")
	home := t.TempDir()
	cmd.Env = append([]string{"HOME=" + home, "AWS_CONFIG_FILE=" + home + "/config", "AWS_SHARED_CREDENTIALS_FILE=" + home + "/credentials",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true"}, env...)
	errPipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var said strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(said.String(), " QUEUED") && !strings.Contains(said.String(), " RUNNING") {
		n, err := errPipe.Read(buf)
		said.Write(buf[:n])
		if err != nil {
			t.Fatalf("the query never ran: %s", said.String())
		}
	}
	id := strings.Fields(said.String()[strings.Index(said.String(), "query ")+6:])[0]
	_ = cmd.Process.Signal(os.Interrupt)
	rest, _ := io.ReadAll(errPipe)
	said.Write(rest)
	err = cmd.Wait()
	out, qerr := athenasdk.NewFromConfig(moto.Config()).GetQueryExecution(context.Background(), &athenasdk.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
	state := ""
	if qerr == nil {
		state = string(out.QueryExecution.Status.State)
	}
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(said.String(), "query "+id+" cancelled") || state != "CANCELLED" {
		t.Errorf("cancelled: exit %d (%v), moto says %s (%v):\n%s", cmd.ProcessState.ExitCode(), err, state, qerr, said.String())
	}
	t.Logf("scan: athena: sgwatch athena:// against moto's Athena: %d records seeded, the same %d findings as the file scan, byte for byte; from Security Lake's table, the %d rows DuckDB selects from the OCSF layout give the same %d findings as the file scan of those records as that table holds them; Ctrl-C while the query runs stops it (CANCELLED)",
		len(log.Records), strings.Count(fromFile, "\n"), lake, lakeFindings)
}

// cloudTrailHeader is the first row of the history query's result in the
// CloudTrail table (the columns' names), and its columns.
func cloudTrailHeader() (rows, cols []map[string]any) {
	var names []any
	for _, c := range athena.CloudTrail.Columns {
		names = append(names, map[string]any{"VarCharValue": c.Name})
		cols = append(cols, map[string]any{"Name": c.Name, "Type": "varchar"})
	}
	return []map[string]any{{"Data": names}}, cols
}

// cloudTrailRow is a CloudTrail record as a row of the history query's
// result in the CloudTrail table: each column's field, objects as JSON text.
func cloudTrailRow(rec map[string]any) map[string]any {
	var d []any
	for _, c := range athena.CloudTrail.Columns {
		var v any = rec
		for _, k := range c.Path {
			// As Athena's JSON SerDe reads keys: in any case.
			m, _ := v.(map[string]any)
			v = nil
			for mk, mv := range m {
				if strings.EqualFold(mk, k) {
					v = mv
				}
			}
		}
		switch x := v.(type) {
		case nil:
			d = append(d, map[string]any{})
		case string:
			d = append(d, map[string]any{"VarCharValue": x})
		default:
			b, _ := json.Marshal(x)
			d = append(d, map[string]any{"VarCharValue": string(b)})
		}
	}
	return map[string]any{"Data": d}
}

// seedAthena queues a query's result in moto's Athena: rows (the first the
// columns' names) and the columns.
func seedAthena(t *testing.T, rows, cols []map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"region": "us-east-1", "results": []any{map[string]any{"rows": rows, "column_info": cols}}})
	resp, err := http.Post(moto.Endpoint+"/moto-api/static/athena/query-results", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("seed moto's Athena results: %v %v", resp, err)
	}
	resp.Body.Close()
}

// scanSecurityLake: the rows DuckDB selects with sgwatch's query from every
// sample record laid out as Security Lake's table (OCSF), seeded in moto's
// Athena, give `sgwatch athena://…` the same findings as the file scan of
// those records as that table holds them (heldBySecurityLake), in any
// order. It returns the rows and findings.
func scanSecurityLake(t *testing.T, env []string) (rows, findings int) {
	t.Helper()
	dir := t.TempDir()
	table, _, rowsFile := tableRows(t, dir)
	var result [][]*string
	if err := json.Unmarshal([]byte(duckDB(t, dir, rowsFile, "ocsf", securityLakeSource, true)), &result); err != nil || len(result) < 20 {
		t.Fatalf("DuckDB's results: %d rows, %v", len(result), err)
	}
	var seeded, cols []map[string]any
	for i, r := range result {
		var d []any
		for _, v := range r {
			if v == nil {
				d = append(d, map[string]any{})
			} else {
				d = append(d, map[string]any{"VarCharValue": *v})
			}
			if i == 0 {
				cols = append(cols, map[string]any{"Name": *v, "Type": "varchar"})
			}
		}
		seeded = append(seeded, map[string]any{"Data": d})
	}
	seedAthena(t, seeded, cols)
	code, fromLake, stderr := runCLI(t, env, "-format", "json", securityLakeSource)
	if !strings.Contains(stderr, fmt.Sprintf(": %d records, 0 bytes scanned", len(result)-1)) {
		t.Errorf("stderr says\n%s", stderr)
	}
	var held struct {
		Records []json.RawMessage `json:"Records"`
	}
	for _, r := range table {
		held.Records = append(held.Records, heldBySecurityLake(t, r))
	}
	file := filepath.Join(dir, "held.json")
	b, _ := json.Marshal(held)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	fileCode, fromFile, _ := runCLI(t, env, "-format", "json", file)
	lake, want := strings.Split(strings.TrimSpace(fromLake), "\n"), strings.Split(strings.TrimSpace(fromFile), "\n")
	slices.Sort(lake)
	slices.Sort(want)
	if code != fileCode || !slices.Equal(lake, want) || len(want) < 20 {
		t.Errorf("Security Lake: exit %d, %d findings; the file scan exit %d, %d findings\nonly from Security Lake: %v\nonly from the file: %v",
			code, len(lake), fileCode, len(want), minus(lake, want), minus(want, lake))
	}
	return len(result) - 1, len(want)
}

// heldBySecurityLake is a record as Security Lake's table holds it (the OCSF
// mapping): its account that of its partition, its time in whole seconds,
// MFA only as true or false, of the session issuer only the ARN, and
// nothing that OCSF leaves in unmapped (sessionCredentialFromConsole).
func heldBySecurityLake(t *testing.T, r tableRow) json.RawMessage {
	t.Helper()
	var rec map[string]any
	if err := json.Unmarshal(r.Record, &rec); err != nil {
		t.Fatal(err)
	}
	key := func(m map[string]any, k string) string {
		for mk := range m {
			if strings.EqualFold(mk, k) {
				return mk
			}
		}
		return k
	}
	obj := func(m map[string]any, k string) map[string]any { o, _ := m[key(m, k)].(map[string]any); return o }
	delete(rec, key(rec, "sessionCredentialFromConsole"))
	rec[key(rec, "recipientAccountId")] = r.Account
	at, _ := time.Parse(time.RFC3339, rec[key(rec, "eventTime")].(string))
	rec[key(rec, "eventTime")] = at.UTC().Format(time.RFC3339)
	if sc := obj(obj(rec, "userIdentity"), "sessionContext"); sc != nil {
		if issuer := obj(sc, "sessionIssuer"); issuer != nil {
			sc[key(sc, "sessionIssuer")] = map[string]any{"arn": issuer[key(issuer, "arn")]}
		}
		if attrs := obj(sc, "attributes"); attrs != nil {
			mfa, _ := attrs[key(attrs, "mfaAuthenticated")].(string)
			switch strings.ToLower(mfa) {
			case "true", "false":
				sc[key(sc, "attributes")] = map[string]any{"mfaAuthenticated": strings.ToLower(mfa)}
			default:
				delete(sc, key(sc, "attributes"))
			}
		}
	}
	b, _ := json.Marshal(rec)
	return b
}
