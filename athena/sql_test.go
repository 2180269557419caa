package athena

import (
	"strings"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/scan"
)

// TestSQL: the query names every call of the calls table, the tag calls
// only with an sgwatch: key and the attach calls only with a group set;
// pushes the bounds into the partitions (the last day a day later, as
// CloudTrail may deliver late) and the record times; and takes no name or
// value it has not checked.
func TestSQL(t *testing.T) {
	q := Query{Database: "cloudtrail", Table: "logs", Filter: scan.Filter{Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		Until: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), Accounts: []string{"111122223333"}, Regions: []string{"eu-west-1", "us-east-1"}}}
	sql, err := q.SQL()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range append([]string{
		"FROM cloudtrail.logs", "eventsource = 'ec2.amazonaws.com'",
		`"timestamp" >= '2026/11/01' AND eventtime >= '2026-11-01T00:00:00Z'`,
		`"timestamp" <= '2026/12/01' AND eventtime <= '2026-11-30T12:00:00Z'`,
		"account IN ('111122223333')", "region IN ('eu-west-1', 'us-east-1')",
		"eventname IN ('CreateTags', 'DeleteTags') AND lower(requestparameters) LIKE '%sgwatch:%'",
		"eventname IN ('ModifyInstanceAttribute', 'ModifyNetworkInterfaceAttribute') AND lower(requestparameters) LIKE '%roup%'",
	}, detect.Calls()...) {
		if !strings.Contains(sql, want) {
			t.Errorf("query lacks %q:\n%s", want, sql)
		}
	}
	for _, bad := range []Query{
		{Database: "cloudtrail; DROP", Table: "logs"},
		{Database: "cloudtrail", Table: "logs'--"},
		{Database: "cloudtrail", Table: "logs", Filter: scan.Filter{Accounts: []string{"1' OR '1'='1"}}},
		{Database: "cloudtrail", Table: "logs", Filter: scan.Filter{Regions: []string{"eu-west-1'"}}},
	} {
		if _, err := bad.SQL(); err == nil {
			t.Errorf("%+v: a query", bad)
		}
	}
}

// TestParseSource: athena://WORKGROUP/DATABASE.TABLE, nothing else.
func TestParseSource(t *testing.T) {
	wg, q, err := ParseSource("athena://primary/cloudtrail.logs")
	if err != nil || wg != "primary" || q.Database != "cloudtrail" || q.Table != "logs" {
		t.Errorf("%q %+v %v", wg, q, err)
	}
	for _, bad := range []string{"athena://primary/logs", "athena:///cloudtrail.logs", "s3://primary/cloudtrail.logs", "athena://primary/cloud trail.logs", "athena://pri mary/a.b"} {
		if _, _, err := ParseSource(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
