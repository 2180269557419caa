// Package athena is sgwatch's history on Amazon Athena: the one query that
// selects, from the CloudTrail table AWS documents for Athena (partition
// projection on account, Region and day) or from Amazon Security Lake's
// CloudTrail table (OCSF), the records of the calls sgwatch reports, built
// from the calls table (package detect), with a scan's -since, -until,
// -accounts and -regions (scan.Filter) pushed into the partition columns;
// and how each row becomes the CloudTrail record it came from (package
// history runs the query and rebuilds the rows).
package athena

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/scan"
)

// Query is what a history query selects: the table, and the scan's
// bounds (its zero Filter: none).
type Query struct {
	// Database and Table name the table: the CloudTrail table
	// (history.yaml makes one) or Security Lake's CloudTrail management
	// events table (source version 2); letters, digits and underscores.
	Database, Table string
	scan.Filter
	// Groups, when set, keeps only the records whose request or response
	// names one of these security groups (the sweep's look for who
	// created a rule).
	Groups []string
}

// A Column is a value the query selects, Name in its results, and the
// CloudTrail record field it rebuilds (history.Record): a path of JSON
// keys.
type Column struct {
	SQL, Name string
	Path      []string
	Kind      Kind
}

// Kind is how a column's text becomes its record field.
type Kind int

const (
	// Text stays text.
	Text Kind = iota
	// JSON is requestParameters or responseElements: the JSON it holds
	// (text that is not JSON stays text, and the record says so when it
	// is read).
	JSON
	// Millis is a time in milliseconds since 1970, which becomes the
	// RFC 3339 text CloudTrail writes.
	Millis
)

// Layout is the shape of a table the query reads: the columns it selects,
// and those it filters on.
type Layout struct {
	// Name is the layout's name in messages.
	Name    string
	Columns []Column
	// source, operation, request and response are the event source, the
	// call's name, and its request parameters and response elements
	// (JSON text).
	source, operation, request, response string
	// account and region are the partition columns.
	account, region string
	// bounds is the WHERE clause of -since (or -until: late), for a time
	// t: the partitions, then the records' own time.
	bounds func(t time.Time, op string, late bool) string
}

// CloudTrail is the CloudTrail table AWS documents for Athena: lower-case
// columns, useridentity a struct, partitions account, region and
// "timestamp" (yyyy/MM/dd). A record of day D is in the folder of a day up
// to scan.Late later.
var CloudTrail = Layout{
	Name: "CloudTrail",
	Columns: columns([]Column{
		{SQL: "eventversion", Path: []string{"eventVersion"}},
		{SQL: "useridentity.type", Path: []string{"userIdentity", "type"}},
		{SQL: "useridentity.principalid", Path: []string{"userIdentity", "principalId"}},
		{SQL: "useridentity.arn", Path: []string{"userIdentity", "arn"}},
		{SQL: "useridentity.accountid", Path: []string{"userIdentity", "accountId"}},
		{SQL: "useridentity.accesskeyid", Path: []string{"userIdentity", "accessKeyId"}},
		{SQL: "useridentity.username", Path: []string{"userIdentity", "userName"}},
		{SQL: "useridentity.invokedby", Path: []string{"userIdentity", "invokedBy"}},
		{SQL: "useridentity.sessioncontext.sessionissuer.type", Path: []string{"userIdentity", "sessionContext", "sessionIssuer", "type"}},
		{SQL: "useridentity.sessioncontext.sessionissuer.principalid", Path: []string{"userIdentity", "sessionContext", "sessionIssuer", "principalId"}},
		{SQL: "useridentity.sessioncontext.sessionissuer.arn", Path: []string{"userIdentity", "sessionContext", "sessionIssuer", "arn"}},
		{SQL: "useridentity.sessioncontext.sessionissuer.accountid", Path: []string{"userIdentity", "sessionContext", "sessionIssuer", "accountId"}},
		{SQL: "useridentity.sessioncontext.sessionissuer.username", Path: []string{"userIdentity", "sessionContext", "sessionIssuer", "userName"}},
		{SQL: "useridentity.sessioncontext.attributes.mfaauthenticated", Path: []string{"userIdentity", "sessionContext", "attributes", "mfaAuthenticated"}},
		{SQL: "useridentity.sessioncontext.attributes.creationdate", Path: []string{"userIdentity", "sessionContext", "attributes", "creationDate"}},
		{SQL: "eventtime", Path: []string{"eventTime"}},
		{SQL: "eventsource", Path: []string{"eventSource"}},
		{SQL: "eventname", Path: []string{"eventName"}},
		{SQL: "awsregion", Path: []string{"awsRegion"}},
		{SQL: "sourceipaddress", Path: []string{"sourceIPAddress"}},
		{SQL: "useragent", Path: []string{"userAgent"}},
		{SQL: "errorcode", Path: []string{"errorCode"}},
		{SQL: "errormessage", Path: []string{"errorMessage"}},
		{SQL: "requestparameters", Path: []string{"requestParameters"}, Kind: JSON},
		{SQL: "responseelements", Path: []string{"responseElements"}, Kind: JSON},
		{SQL: "requestid", Path: []string{"requestID"}},
		{SQL: "eventid", Path: []string{"eventID"}},
		{SQL: "eventtype", Path: []string{"eventType"}},
		{SQL: "sessioncredentialfromconsole", Path: []string{"sessionCredentialFromConsole"}},
		{SQL: "recipientaccountid", Path: []string{"recipientAccountId"}},
	}),
	source: "eventsource", operation: "eventname", request: "requestparameters", response: "responseelements",
	account: "account", region: "region",
	bounds: func(t time.Time, op string, late bool) string {
		d := t
		if late {
			d = t.Add(scan.Late)
		}
		return fmt.Sprintf(`"timestamp" %s %s AND eventtime %s %s`, op, quote(d.UTC().Format("2006/01/02")), op, quote(t.UTC().Format(time.RFC3339)))
	},
}

// SecurityLake is Amazon Security Lake's CloudTrail management events
// table, source version 2 (OCSF 1.1.0, class API Activity), as the OCSF
// project maps CloudTrail to it (ocsf/examples,
// mappings/markdown/AWS/v1.1.0/CloudTrail/API Activity/README.md), with
// the partition columns accountid and region. OCSF carries of the session
// issuer only its ARN, and keeps sessionCredentialFromConsole in unmapped,
// which sgwatch does not read: a console session is then known by its user
// agent alone (docs/scan.md).
var SecurityLake = Layout{
	Name: "Security Lake (OCSF)",
	Columns: columns([]Column{
		{SQL: "metadata.product.version", Name: "eventversion", Path: []string{"eventVersion"}},
		{SQL: "actor.user.type", Path: []string{"userIdentity", "type"}},
		{SQL: "actor.user.uid_alt", Name: "principalid", Path: []string{"userIdentity", "principalId"}},
		{SQL: "actor.user.uid", Name: "arn", Path: []string{"userIdentity", "arn"}},
		{SQL: "actor.user.account.uid", Name: "useraccountid", Path: []string{"userIdentity", "accountId"}},
		{SQL: "actor.user.credential_uid", Name: "accesskeyid", Path: []string{"userIdentity", "accessKeyId"}},
		{SQL: "actor.user.name", Name: "username", Path: []string{"userIdentity", "userName"}},
		{SQL: "actor.invoked_by", Name: "invokedby", Path: []string{"userIdentity", "invokedBy"}},
		{SQL: "actor.session.issuer", Name: "sessionissuer", Path: []string{"userIdentity", "sessionContext", "sessionIssuer", "arn"}},
		{SQL: "CAST(actor.session.is_mfa AS VARCHAR)", Name: "mfaauthenticated", Path: []string{"userIdentity", "sessionContext", "attributes", "mfaAuthenticated"}},
		{SQL: "time", Name: "eventtime", Path: []string{"eventTime"}, Kind: Millis},
		{SQL: "api.service.name", Name: "eventsource", Path: []string{"eventSource"}},
		{SQL: "api.operation", Name: "eventname", Path: []string{"eventName"}},
		{SQL: "cloud.region", Name: "awsregion", Path: []string{"awsRegion"}},
		// A service's calls have its name, not an address, in
		// sourceIPAddress: OCSF puts that in the domain.
		{SQL: "coalesce(src_endpoint.ip, src_endpoint.domain)", Name: "sourceipaddress", Path: []string{"sourceIPAddress"}},
		{SQL: "http_request.user_agent", Name: "useragent", Path: []string{"userAgent"}},
		{SQL: "api.response.error", Name: "errorcode", Path: []string{"errorCode"}},
		{SQL: "api.response.message", Name: "errormessage", Path: []string{"errorMessage"}},
		{SQL: "api.request.data", Name: "requestparameters", Path: []string{"requestParameters"}, Kind: JSON},
		{SQL: "api.response.data", Name: "responseelements", Path: []string{"responseElements"}, Kind: JSON},
		{SQL: "api.request.uid", Name: "requestid", Path: []string{"requestID"}},
		{SQL: "metadata.uid", Name: "eventid", Path: []string{"eventID"}},
		{SQL: "metadata.event_code", Name: "eventtype", Path: []string{"eventType"}},
		{SQL: "accountid", Name: "recipientaccountid", Path: []string{"recipientAccountId"}},
	}),
	source: "api.service.name", operation: "api.operation", request: "api.request.data", response: "api.response.data",
	account: "accountid", region: "region",
	bounds: func(t time.Time, op string, _ bool) string {
		return fmt.Sprintf("time_dt %s TIMESTAMP %s", op, quote(t.UTC().Format(time.DateTime)))
	},
}

// columns names each column its last key, in lower case, unless named.
func columns(cols []Column) []Column {
	for i, c := range cols {
		if c.Name == "" {
			cols[i].Name = c.SQL[strings.LastIndex(c.SQL, ".")+1:]
		}
	}
	return cols
}

// Layout is the layout of q's table, by its name: Security Lake's for a
// Security Lake CloudTrail management events table
// (amazon_security_lake_table_REGION_cloud_trail_mgmt_VERSION_0), which
// must be source version 2; the CloudTrail table's for any other.
func (q Query) Layout() (Layout, error) {
	const source = "_cloud_trail_mgmt_"
	rest, lake := strings.CutPrefix(strings.ToLower(q.Table), "amazon_security_lake_table_")
	i := strings.LastIndex(rest, source)
	if !lake || i <= 0 {
		return CloudTrail, nil
	}
	version, zero := strings.CutSuffix(rest[i+len(source):], "_0")
	switch {
	case !zero || version == "" || strings.Trim(version, "0123456789") != "":
		return CloudTrail, nil
	case version == "2":
		return SecurityLake, nil
	}
	return Layout{}, fmt.Errorf("%s is a Security Lake table of source version %s; sgwatch reads source version 2 (OCSF 1.1.0), the _2_0 table", q.Table, version)
}

// SQL is the query, in Athena's dialect (Trino). Names and values are
// checked, so nothing in it is anyone's free text; the database and the
// table are quoted, so that a name that is a keyword or begins with a digit
// is still a name.
func (q Query) SQL() (string, error) {
	for _, n := range []string{q.Database, q.Table} {
		if !awsid.IsSafeName(n, 255, "_") {
			return "", fmt.Errorf("%q is not a database or table name (letters, digits, _)", n)
		}
	}
	l, err := q.Layout()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range l.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.SQL)
		if c.Name != c.SQL[strings.LastIndex(c.SQL, ".")+1:] {
			b.WriteString(" AS " + c.Name)
		}
	}
	// As the scan's pre-filter (detect.MayBeCall): an attach call sets
	// groups only with a groupSet, and a tag call is sgwatch's only with an
	// sgwatch: key.
	var plain, attach []string
	for _, n := range detect.Calls() {
		if c, _ := detect.Lookup(n); c.LiveOnly() {
			attach = append(attach, n)
		} else {
			plain = append(plain, n)
		}
	}
	fmt.Fprintf(&b, "\nFROM \"%s\".\"%s\"\nWHERE %s = %s\n  AND (%s IN (%s)", q.Database, q.Table, l.source, quote(detect.EventSource), l.operation, list(plain))
	fmt.Fprintf(&b, "\n    OR %s IN (%s) AND lower(%s) LIKE %s", l.operation, list(attach), l.request, quote("%roup%"))
	fmt.Fprintf(&b, "\n    OR %s IN (%s) AND lower(%s) LIKE %s)", l.operation, list(detect.TagCalls()), l.request, quote("%"+detect.TagPrefix+"%"))
	if len(q.Groups) > 0 {
		var names []string
		for _, g := range q.Groups {
			if !awsid.IsGroupID(g) {
				return "", fmt.Errorf("%q is not a security group id", g)
			}
			like := quote("%" + g + "%")
			names = append(names, fmt.Sprintf("lower(%s) LIKE %s OR lower(%s) LIKE %s", l.request, like, l.response, like))
		}
		fmt.Fprintf(&b, "\n  AND (%s)", strings.Join(names, "\n    OR "))
	}
	if !q.Since.IsZero() {
		fmt.Fprintf(&b, "\n  AND %s", l.bounds(q.Since, ">=", false))
	}
	if !q.Until.IsZero() {
		fmt.Fprintf(&b, "\n  AND %s", l.bounds(q.Until, "<=", true))
	}
	for _, f := range []struct {
		column, what string
		values       []string
		valid        func(string) bool
	}{{l.account, "account", q.Accounts, awsid.IsAccountID}, {l.region, "region", q.Regions, awsid.IsRegion}} {
		if len(f.values) == 0 {
			continue
		}
		if i := slices.IndexFunc(f.values, func(v string) bool { return !f.valid(v) }); i >= 0 {
			return "", fmt.Errorf("%q is not a valid %s", f.values[i], f.what)
		}
		fmt.Fprintf(&b, "\n  AND %s IN (%s)", f.column, list(f.values))
	}
	b.WriteString("\nORDER BY eventtime, eventid")
	return b.String(), nil
}

// quote is a SQL string literal; the values quoted are names and times
// sgwatch checked, but a quote is doubled all the same.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// list is a comma-separated list of string literals.
func list(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = quote(v)
	}
	return strings.Join(q, ", ")
}

// ParseSource reads an athena://WORKGROUP/DATABASE.TABLE source.
func ParseSource(src string) (workgroup string, q Query, err error) {
	rest, ok := strings.CutPrefix(src, "athena://")
	wg, table, _ := strings.Cut(rest, "/")
	q.Database, q.Table, _ = strings.Cut(table, ".")
	if !ok || !awsid.IsSafeName(wg, 128, "._-") || !awsid.IsSafeName(q.Database, 255, "_") || !awsid.IsSafeName(q.Table, 255, "_") {
		return "", Query{}, fmt.Errorf("%q is not athena://WORKGROUP/DATABASE.TABLE", src)
	}
	return wg, q, nil
}
