// Package athena is sgwatch's history on Amazon Athena: the one query that
// selects, from the CloudTrail table AWS documents for Athena (partition
// projection on account, Region and day), the records of the calls sgwatch
// reports, built from the calls table (package detect), with a scan's
// -since, -until, -accounts and -regions (scan.Filter) pushed into the
// partition columns: a record of day D is in the folder of a day up to
// scan.Late later.
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
	// Database and Table name the CloudTrail table (history.yaml makes
	// one): letters, digits and underscores.
	Database, Table string
	scan.Filter
}

// Columns are the columns the query selects, in order, and the CloudTrail
// record field each rebuilds (Record): a path of JSON keys.
var Columns = []struct {
	SQL  string
	Path []string
}{
	{"eventversion", []string{"eventVersion"}},
	{"useridentity.type", []string{"userIdentity", "type"}},
	{"useridentity.principalid", []string{"userIdentity", "principalId"}},
	{"useridentity.arn", []string{"userIdentity", "arn"}},
	{"useridentity.accountid", []string{"userIdentity", "accountId"}},
	{"useridentity.accesskeyid", []string{"userIdentity", "accessKeyId"}},
	{"useridentity.username", []string{"userIdentity", "userName"}},
	{"useridentity.invokedby", []string{"userIdentity", "invokedBy"}},
	{"useridentity.sessioncontext.sessionissuer.type", []string{"userIdentity", "sessionContext", "sessionIssuer", "type"}},
	{"useridentity.sessioncontext.sessionissuer.principalid", []string{"userIdentity", "sessionContext", "sessionIssuer", "principalId"}},
	{"useridentity.sessioncontext.sessionissuer.arn", []string{"userIdentity", "sessionContext", "sessionIssuer", "arn"}},
	{"useridentity.sessioncontext.sessionissuer.accountid", []string{"userIdentity", "sessionContext", "sessionIssuer", "accountId"}},
	{"useridentity.sessioncontext.sessionissuer.username", []string{"userIdentity", "sessionContext", "sessionIssuer", "userName"}},
	{"useridentity.sessioncontext.attributes.mfaauthenticated", []string{"userIdentity", "sessionContext", "attributes", "mfaAuthenticated"}},
	{"useridentity.sessioncontext.attributes.creationdate", []string{"userIdentity", "sessionContext", "attributes", "creationDate"}},
	{"eventtime", []string{"eventTime"}},
	{"eventsource", []string{"eventSource"}},
	{"eventname", []string{"eventName"}},
	{"awsregion", []string{"awsRegion"}},
	{"sourceipaddress", []string{"sourceIPAddress"}},
	{"useragent", []string{"userAgent"}},
	{"errorcode", []string{"errorCode"}},
	{"errormessage", []string{"errorMessage"}},
	{"requestparameters", []string{"requestParameters"}}, // JSON text
	{"responseelements", []string{"responseElements"}},   // JSON text
	{"requestid", []string{"requestID"}},
	{"eventid", []string{"eventID"}},
	{"eventtype", []string{"eventType"}},
	{"sessioncredentialfromconsole", []string{"sessionCredentialFromConsole"}},
	{"recipientaccountid", []string{"recipientAccountId"}},
}

// SQL is the query, in Athena's dialect (Trino). Names and values are
// checked, so nothing in it is anyone's free text.
func (q Query) SQL() (string, error) {
	for _, n := range []string{q.Database, q.Table} {
		if !awsid.IsSafeName(n, 255, "_") {
			return "", fmt.Errorf("%q is not a database or table name (letters, digits, _)", n)
		}
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.SQL)
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
	fmt.Fprintf(&b, "\nFROM %s.%s\nWHERE eventsource = %s\n  AND (eventname IN (%s)", q.Database, q.Table, quote(detect.EventSource), list(plain))
	fmt.Fprintf(&b, "\n    OR eventname IN (%s) AND lower(requestparameters) LIKE %s", list(attach), quote("%roup%"))
	fmt.Fprintf(&b, "\n    OR eventname IN (%s) AND lower(requestparameters) LIKE %s)", list(detect.TagCalls()), quote("%"+detect.TagPrefix+"%"))
	if !q.Since.IsZero() {
		fmt.Fprintf(&b, "\n  AND \"timestamp\" >= %s AND eventtime >= %s", quote(day(q.Since)), quote(q.Since.UTC().Format(time.RFC3339)))
	}
	if !q.Until.IsZero() {
		fmt.Fprintf(&b, "\n  AND \"timestamp\" <= %s AND eventtime <= %s", quote(day(q.Until.Add(scan.Late))), quote(q.Until.UTC().Format(time.RFC3339)))
	}
	for _, f := range []struct {
		column string
		values []string
		valid  func(string) bool
	}{{"account", q.Accounts, awsid.IsAccountID}, {"region", q.Regions, awsid.IsRegion}} {
		if len(f.values) == 0 {
			continue
		}
		if i := slices.IndexFunc(f.values, func(v string) bool { return !f.valid(v) }); i >= 0 {
			return "", fmt.Errorf("%q is not a valid %s", f.values[i], f.column)
		}
		fmt.Fprintf(&b, "\n  AND %s IN (%s)", f.column, list(f.values))
	}
	b.WriteString("\nORDER BY eventtime, eventid")
	return b.String(), nil
}

// day is t's partition value: its UTC date as yyyy/MM/dd.
func day(t time.Time) string { return t.UTC().Format("2006/01/02") }

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
