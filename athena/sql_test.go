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
// pushes the bounds into the partitions (in the CloudTrail table the last
// day a day later, as CloudTrail may deliver late) and the record times;
// keeps, for the sweep, only the records that name the groups asked for;
// reads each layout's own columns; and takes no name or value it has not
// checked.
func TestSQL(t *testing.T) {
	filter := scan.Filter{Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		Until: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), Accounts: []string{"111122223333"}, Regions: []string{"eu-west-1", "us-east-1"}}
	for _, c := range []struct {
		q    Query
		want []string
	}{
		{Query{Database: "cloudtrail", Table: "logs", Filter: filter, Groups: []string{"sg-0123456789abcdef0", "sg-0fedcba9876543210"}}, []string{
			"AND (lower(requestparameters) LIKE '%sg-0123456789abcdef0%' OR lower(responseelements) LIKE '%sg-0123456789abcdef0%'\n    OR lower(requestparameters) LIKE '%sg-0fedcba9876543210%' OR lower(responseelements) LIKE '%sg-0fedcba9876543210%')",
			"SELECT eventversion, useridentity.type, ", `FROM "cloudtrail"."logs"`, "WHERE eventsource = 'ec2.amazonaws.com'",
			`"timestamp" >= '2026/11/01' AND eventtime >= '2026-11-01T00:00:00Z'`,
			`"timestamp" <= '2026/12/01' AND eventtime <= '2026-11-30T12:00:00Z'`,
			"account IN ('111122223333')", "region IN ('eu-west-1', 'us-east-1')",
			"eventname IN ('CreateTags', 'DeleteTags') AND lower(requestparameters) LIKE '%sgwatch:%'",
			"eventname IN ('ModifyInstanceAttribute', 'ModifyNetworkInterfaceAttribute') AND lower(requestparameters) LIKE '%roup%'",
		}},
		{Query{Database: "amazon_security_lake_glue_db_eu_west_1", Table: "amazon_security_lake_table_eu_west_1_cloud_trail_mgmt_2_0", Filter: filter, Groups: []string{"sg-0123456789abcdef0"}}, []string{
			"AND (lower(api.request.data) LIKE '%sg-0123456789abcdef0%' OR lower(api.response.data) LIKE '%sg-0123456789abcdef0%')",
			"SELECT metadata.product.version AS eventversion, actor.user.type, actor.user.uid_alt AS principalid, actor.user.uid AS arn, actor.user.account.uid AS useraccountid, ",
			"CAST(actor.session.is_mfa AS VARCHAR) AS mfaauthenticated", "time AS eventtime", "metadata.uid AS eventid",
			"coalesce(src_endpoint.ip, src_endpoint.domain) AS sourceipaddress", "accountid AS recipientaccountid",
			`FROM "amazon_security_lake_glue_db_eu_west_1"."amazon_security_lake_table_eu_west_1_cloud_trail_mgmt_2_0"`,
			"WHERE api.service.name = 'ec2.amazonaws.com'",
			"time_dt >= TIMESTAMP '2026-11-01 00:00:00'", "time_dt <= TIMESTAMP '2026-11-30 12:00:00'",
			"accountid IN ('111122223333')", "region IN ('eu-west-1', 'us-east-1')",
			"api.operation IN ('CreateTags', 'DeleteTags') AND lower(api.request.data) LIKE '%sgwatch:%'",
			"api.operation IN ('ModifyInstanceAttribute', 'ModifyNetworkInterfaceAttribute') AND lower(api.request.data) LIKE '%roup%'",
		}},
	} {
		sql, err := c.q.SQL()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range append(c.want, detect.Calls()...) {
			if !strings.Contains(sql, want) {
				t.Errorf("query lacks %q:\n%s", want, sql)
			}
		}
	}
	for _, bad := range []struct {
		q    Query
		want string
	}{
		{Query{Database: "cloudtrail; DROP", Table: "logs"}, "not a database or table name"},
		{Query{Database: "cloudtrail", Table: "logs'--"}, "not a database or table name"},
		{Query{Database: "cloudtrail", Table: "logs", Filter: scan.Filter{Accounts: []string{"1' OR '1'='1"}}}, "not a valid account"},
		{Query{Database: "cloudtrail", Table: "logs", Filter: scan.Filter{Regions: []string{"eu-west-1'"}}}, "not a valid region"},
		{Query{Database: "amazon_security_lake_glue_db_us_east_1", Table: "amazon_security_lake_table_us_east_1_cloud_trail_mgmt_1_0"}, "source version 1; sgwatch reads source version 2"},
		{Query{Database: "cloudtrail", Table: "logs", Groups: []string{"sg-0123456789abcdef0", "sg-1' OR '1'='1"}}, "not a security group id"},
	} {
		if _, err := bad.q.SQL(); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v, want an error saying %q", bad.q, err, bad.want)
		}
	}
}

// TestLayout: a table's name decides its layout.
func TestLayout(t *testing.T) {
	for table, want := range map[string]string{
		"logs": "CloudTrail", "cloudtrail_logs_org": "CloudTrail",
		"amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0": "Security Lake (OCSF)",
		"AMAZON_SECURITY_LAKE_TABLE_EU_WEST_1_CLOUD_TRAIL_MGMT_2_0": "Security Lake (OCSF)",
		"amazon_security_lake_table_us_east_1_cloud_trail_mgmt_1_0": "error",
		"amazon_security_lake_table_us_east_1_cloud_trail_mgmt_3_0": "error",
		"amazon_security_lake_table_us_east_1_vpc_flow_2_0":         "CloudTrail",
		"amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_1": "CloudTrail",
		"amazon_security_lake_table__cloud_trail_mgmt_2_0":          "CloudTrail",
		"my_amazon_security_lake_table_x_cloud_trail_mgmt_2_0":      "CloudTrail",
	} {
		l, err := Query{Table: table}.Layout()
		got := l.Name
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("%s: %s (%v), want %s", table, got, err, want)
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
