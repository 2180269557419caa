package scan

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/detect"
)

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// skipName names a Skip in failure messages.
func skipName(k Skip) string {
	if names := []string{"Read", "Digest", "NotLog", "Filtered"}; int(k) < len(names) {
		return names[k]
	}
	return "Skip(?)"
}

func TestFolder(t *testing.T) {
	var (
		none     Filter
		accounts = Filter{Accounts: []string{"111122223333"}}
		regions  = Filter{Regions: []string{"eu-west-1", "eu-central-1"}}
		// Since is inside 2026-11-20; Until inside 2026-11-22, so the
		// 23rd (up to Late after Until) is read and the 24th is not.
		window   = Filter{Since: date("2026-11-20T10:00:00Z"), Until: date("2026-11-22T12:00:00Z")}
		midnight = Filter{Since: date("2026-11-20T00:00:00Z"), Until: date("2026-11-22T00:00:00Z")}
		since    = Filter{Since: date("2026-11-20T10:00:00Z")}
		until    = Filter{Until: date("2026-11-22T12:00:00Z")}
	)
	const (
		ct     = "AWSLogs/111122223333/CloudTrail/eu-west-1"
		orgCT  = "AWSLogs/o-abc123defg/111122223333/CloudTrail/eu-west-1"
		copyCT = "bucket-copy/AWSLogs/111122223333/CloudTrail/eu-west-1"
		bareCT = "backup/2026/111122223333/CloudTrail/eu-west-1" // no AWSLogs
	)
	tests := []struct {
		name   string
		filter Filter
		path   string
		want   Skip
	}{
		// The levels of the layout, no filter.
		{"logs root", none, "AWSLogs", Read},
		{"account", none, "AWSLogs/111122223333", Read},
		{"product", none, "AWSLogs/111122223333/CloudTrail", Read},
		{"region", none, ct, Read},
		{"day", none, ct + "/2026/11/20", Read},
		{"digest", none, "AWSLogs/111122223333/CloudTrail-Digest", Digest},
		{"insight", none, "AWSLogs/111122223333/CloudTrail-Insight", NotLog},
		{"other service", none, "AWSLogs/111122223333/vpcflowlogs", Read}, // unknown: read
		{"near name", none, "case/111122223333/CloudTrail-export", Read},
		{"near name in layout", none, "AWSLogs/111122223333/CloudTrail_backup", Read},
		{"org", none, "AWSLogs/o-abc123defg", Read},
		{"org account", none, "AWSLogs/o-abc123defg/111122223333", Read},
		{"org digest", none, "AWSLogs/o-abc123defg/111122223333/CloudTrail-Digest", Digest},
		{"org insight", none, "AWSLogs/o-abc123defg/111122223333/CloudTrail-Insight", NotLog},
		{"org day", none, orgCT + "/2026/11/20", Read},
		{"copy digest", none, "bucket-copy/AWSLogs/111122223333/CloudTrail-Digest", Digest},
		{"copy insight", none, "bucket-copy/AWSLogs/111122223333/CloudTrail-Insight", NotLog},
		{"bare digest", none, "backup/111122223333/CloudTrail-Digest", Digest},
		{"bare insight", none, "backup/111122223333/CloudTrail-Insight", NotLog},
		{"bare day", none, bareCT + "/2026/11/20", Read},

		// Outside the layout: always read, whatever the filter.
		{"plain folder", window, "photos", Read},
		{"plain year", window, "photos/2019", Read},
		{"not an account", accounts, "AWSLogs/notanaccount", Read},
		{"not an account digest", none, "AWSLogs/notanaccount/CloudTrail-Digest", Read},
		{"short year", window, ct + "/26", Read},
		{"word for month", window, ct + "/2026/nov", Read},
		{"below day", window, ct + "/2019/11/20/extra", Read},
		{"bare account only", accounts, "backup/444455556666", Read},

		// -accounts.
		{"account in", accounts, "AWSLogs/111122223333", Read},
		{"account out", accounts, "AWSLogs/444455556666", Filtered},
		{"org itself", accounts, "AWSLogs/o-abc123defg", Read},
		{"org account in", accounts, "AWSLogs/o-abc123defg/111122223333", Read},
		{"org account out", accounts, "AWSLogs/o-abc123defg/444455556666", Filtered},
		{"copy account out", accounts, "bucket-copy/AWSLogs/444455556666", Filtered},
		{"nested AWSLogs", accounts, "AWSLogs/111122223333/x/AWSLogs/444455556666", Filtered},

		// -regions.
		{"region in", regions, ct, Read},
		{"second region in", regions, "AWSLogs/111122223333/CloudTrail/eu-central-1", Read},
		{"region out", regions, "AWSLogs/111122223333/CloudTrail/us-east-1", Filtered},
		{"org region out", regions, "AWSLogs/o-abc123defg/111122223333/CloudTrail/us-east-1", Filtered},
		{"copy region out", regions, "bucket-copy/AWSLogs/111122223333/CloudTrail/us-east-1", Filtered},
		{"bare region out", regions, "backup/111122223333/CloudTrail/us-east-1", Filtered},
		{"bare region in", regions, "backup/111122223333/CloudTrail/eu-west-1", Read},
		{"digest despite region", regions, "AWSLogs/111122223333/CloudTrail-Digest", Digest},

		// -since and -until on year, month and day folders.
		{"year before", window, ct + "/2025", Filtered},
		{"year of", window, ct + "/2026", Read},
		{"year after", window, ct + "/2027", Filtered},
		{"month before", window, ct + "/2026/10", Filtered},
		{"month of", window, ct + "/2026/11", Read},
		{"month after", window, ct + "/2026/12", Filtered},
		{"day before since", window, ct + "/2026/11/19", Filtered},
		{"day of since", window, ct + "/2026/11/20", Read},
		{"day between", window, ct + "/2026/11/21", Read},
		{"day of until", window, ct + "/2026/11/22", Read},
		{"day after until", window, ct + "/2026/11/23", Read},
		{"two days after until", window, ct + "/2026/11/24", Filtered},
		{"org day before", window, orgCT + "/2026/11/19", Filtered},
		{"org day after", window, orgCT + "/2026/11/23", Read},
		{"org two days after", window, orgCT + "/2026/11/24", Filtered},
		{"copy day before", window, copyCT + "/2026/11/19", Filtered},
		{"copy two days after", window, copyCT + "/2026/11/24", Filtered},
		{"bare year before", window, bareCT + "/2025", Filtered},
		{"bare day before", window, bareCT + "/2026/11/19", Filtered},
		{"bare day of since", window, bareCT + "/2026/11/20", Read},
		{"bare day after", window, bareCT + "/2026/11/23", Read},
		{"bare two days after", window, bareCT + "/2026/11/24", Filtered},
		{"month end before", window, ct + "/2026/10/31", Filtered},
		{"since at midnight, day before", midnight, ct + "/2026/11/19", Filtered},
		{"since at midnight, its day", midnight, ct + "/2026/11/20", Read},
		{"until at midnight, day after", midnight, ct + "/2026/11/23", Read},
		{"until at midnight, two days after", midnight, ct + "/2026/11/24", Filtered},
		{"since only, far future", since, ct + "/2031/01/01", Read},
		{"since only, past", since, ct + "/2026/11/19", Filtered},
		{"until only, far past", until, ct + "/2020/01/01", Read},
		{"until only, after", until, ct + "/2026/11/24", Filtered},
		{"dates without filter", none, ct + "/1999/01/01", Read},
		{"digest dates not pruned by product", window, "AWSLogs/111122223333/CloudTrail-Digest", Digest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.filter.Folder(strings.Split(tt.path, "/")); got != tt.want {
				t.Errorf("Folder(%s) = %s, want %s", tt.path, skipName(got), skipName(tt.want))
			}
		})
	}
}

func TestFile(t *testing.T) {
	var (
		none   Filter
		filter = Filter{
			Since: date("2026-11-20T10:00:00Z"), Until: date("2026-11-22T12:00:00Z"),
			Accounts: []string{"111122223333"}, Regions: []string{"eu-west-1"},
		}
	)
	ctName := func(account, region, at string) string {
		return account + "_CloudTrail_" + region + "_" + at + "_AbCdEfGh12345678.json.gz"
	}
	tests := []struct {
		name   string
		filter Filter
		file   string
		want   Skip
	}{
		{"json", none, "x.json", Read},
		{"json gz", none, "x.json.gz", Read},
		{"gz", none, "x.gz", Read},
		{"jsonl", none, "x.jsonl", Read},
		{"ndjson", none, "x.ndjson", Read},
		{"upper json", none, "X.JSON", Read},
		{"mixed gz", none, "x.Json.Gz", Read},
		{"upper ndjson", none, "X.NDJSON", Read},
		{"readme", none, "README.txt", NotLog},
		{"ds store", none, ".DS_Store", NotLog},
		{"no extension", none, "x", NotLog},
		{"backup", none, "x.json.bak", NotLog},
		{"csv", none, "x.csv", NotLog},
		{"gzip word", none, "x.gzip", NotLog},
		{"digest", none, "111122223333_CloudTrail-Digest_eu-west-1_trail_eu-west-1_20261120T0000Z.json.gz", Digest},
		{"digest outside filter", filter, "444455556666_CloudTrail-Digest_us-east-1_trail_us-east-1_20250101T0000Z.json.gz", Digest},
		{"log, no filter", none, ctName("444455556666", "us-east-1", "20190101T0000Z"), Read},
		{"other name, filter", filter, "export-2019.json", Read},
		{"in filter", filter, ctName("111122223333", "eu-west-1", "20261121T0905Z"), Read},
		{"account out", filter, ctName("444455556666", "eu-west-1", "20261121T0905Z"), Filtered},
		{"region out", filter, ctName("111122223333", "us-east-1", "20261121T0905Z"), Filtered},
		{"day before since", filter, ctName("111122223333", "eu-west-1", "20261119T2359Z"), Filtered},
		{"minute before since", filter, ctName("111122223333", "eu-west-1", "20261120T0959Z"), Filtered},
		{"minute of since", filter, ctName("111122223333", "eu-west-1", "20261120T1000Z"), Read},
		{"at until", filter, ctName("111122223333", "eu-west-1", "20261122T1200Z"), Read},
		{"late after until", filter, ctName("111122223333", "eu-west-1", "20261123T1200Z"), Read},
		{"past late after until", filter, ctName("111122223333", "eu-west-1", "20261123T1201Z"), Filtered},
		{"two days after until", filter, ctName("111122223333", "eu-west-1", "20261124T0000Z"), Filtered},
		{"plain json name", filter, "111122223333_CloudTrail_eu-west-1_20190101T0000Z_x.json", Filtered},
		{"not a log despite name", filter, "111122223333_CloudTrail_eu-west-1_20261121T0905Z_x.txt", NotLog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.filter.File(tt.file); got != tt.want {
				t.Errorf("File(%s) = %s, want %s", tt.file, skipName(got), skipName(tt.want))
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	now := date("2026-11-26T12:00:00Z")
	tests := []struct {
		in   string
		want time.Time // zero: an error
	}{
		{"2026-11-20T10:03:11Z", date("2026-11-20T10:03:11Z")},
		{"2026-11-20T10:03:11.5Z", date("2026-11-20T10:03:11.5Z")},
		{"2026-11-20T12:03:11+02:00", date("2026-11-20T10:03:11Z")},
		{"2026-11-20", date("2026-11-20T00:00:00Z")},
		{"90d", now.Add(-90 * 24 * time.Hour)},
		{"12h", now.Add(-12 * time.Hour)},
		{"30m", now.Add(-30 * time.Minute)},
		{"45s", now.Add(-45 * time.Second)},
		{"0d", now},
		{"36600d", now.Add(-36600 * 24 * time.Hour)}, // 100 years
		{"86400s", now.Add(-24 * time.Hour)},
		{"50000m", now.Add(-50000 * time.Minute)},
		{"", time.Time{}},
		{"garbage", time.Time{}},
		{"90", time.Time{}},
		{"d", time.Time{}},
		{"90w", time.Time{}},
		{"90D", time.Time{}},
		{"-5d", time.Time{}},
		{"1.5h", time.Time{}},
		{" 90d", time.Time{}},
		{"90d ago", time.Time{}},
		{"36601d", time.Time{}},
		{"999999d", time.Time{}},
		{"1234567d", time.Time{}},
		{"99999999999999999999d", time.Time{}},
		{"2026-13-01", time.Time{}},
		{"2026-11-20 10:03:11", time.Time{}},
		{"20261120", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTime(tt.in, now)
			if tt.want.IsZero() {
				if err == nil {
					t.Fatalf("ParseTime(%q) = %v, want an error", tt.in, got)
				}
				if want := `"` + tt.in + `" is not a time`; !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTime(%q): %v", tt.in, err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("ParseTime(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		what    string
		valid   func(string) bool
		want    []string
		wantErr string
	}{
		{"empty", "", "an account id", awsid.IsAccountID, nil, ""},
		{"one", "111122223333", "an account id", awsid.IsAccountID, []string{"111122223333"}, ""},
		{"commas", "111122223333,444455556666", "an account id", awsid.IsAccountID, []string{"111122223333", "444455556666"}, ""},
		{"spaces", " 111122223333 , 444455556666 ", "an account id", awsid.IsAccountID, []string{"111122223333", "444455556666"}, ""},
		{"regions", "eu-west-1, us-east-1", "a Region", awsid.IsRegion, []string{"eu-west-1", "us-east-1"}, ""},
		{"short id", "111122223333,12345", "an account id", awsid.IsAccountID, nil, `"12345" is not an account id`},
		{"trailing comma", "111122223333,", "an account id", awsid.IsAccountID, nil, `"" is not an account id`},
		{"only spaces", "  ", "an account id", awsid.IsAccountID, nil, `"" is not an account id`},
		{"inner space", "1111 22223333", "an account id", awsid.IsAccountID, nil, `"1111 22223333" is not an account id`},
		{"semicolon", "111122223333;444455556666", "an account id", awsid.IsAccountID, nil, `"111122223333;444455556666" is not an account id`},
		{"upper region", "eu-west-1,EU-WEST-1", "a Region", awsid.IsRegion, nil, `"EU-WEST-1" is not a Region`},
		{"account as region", "111122223333", "a Region", awsid.IsRegion, nil, `"111122223333" is not a Region`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseList(tt.in, tt.what, tt.valid)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParseList(%q) = %q, %v; want error %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("ParseList(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestKeep(t *testing.T) {
	finding := func(account, region, at string) detect.Finding {
		return detect.Finding{Event: detect.Event{ID: "e", Name: "AuthorizeSecurityGroupIngress", AccountID: account, Region: region, Time: at}}
	}
	base := finding("111122223333", "eu-west-1", "2026-11-20T10:03:11Z")
	window := Filter{Since: date("2026-11-20T10:00:00Z"), Until: date("2026-11-20T11:00:00Z")}
	tests := []struct {
		name   string
		filter Filter
		f      detect.Finding
		want   bool
	}{
		{"zero filter", Filter{}, base, true},
		{"zero filter, empty finding", Filter{}, detect.Finding{}, true},
		{"account in", Filter{Accounts: []string{"444455556666", "111122223333"}}, base, true},
		{"account out", Filter{Accounts: []string{"444455556666"}}, base, false},
		{"account missing", Filter{Accounts: []string{"111122223333"}}, finding("", "eu-west-1", "2026-11-20T10:03:11Z"), true}, // cannot tell: kept
		{"region in", Filter{Regions: []string{"eu-west-1"}}, base, true},
		{"region out", Filter{Regions: []string{"us-east-1"}}, base, false},
		{"both in", Filter{Accounts: []string{"111122223333"}, Regions: []string{"eu-west-1"}}, base, true},
		{"region out, account in", Filter{Accounts: []string{"111122223333"}, Regions: []string{"us-east-1"}}, base, false},
		{"in window", window, base, true},
		{"at since", window, finding("111122223333", "eu-west-1", "2026-11-20T10:00:00Z"), true},
		{"before since", window, finding("111122223333", "eu-west-1", "2026-11-20T09:59:59Z"), false},
		{"at until", window, finding("111122223333", "eu-west-1", "2026-11-20T11:00:00Z"), true},
		{"after until", window, finding("111122223333", "eu-west-1", "2026-11-20T11:00:01Z"), false},
		{"fraction after until", window, finding("111122223333", "eu-west-1", "2026-11-20T11:00:00.001Z"), false},
		{"offset in window", window, finding("111122223333", "eu-west-1", "2026-11-20T12:30:00+02:00"), true},
		{"since only, later", Filter{Since: window.Since}, finding("111122223333", "eu-west-1", "2030-01-01T00:00:00Z"), true},
		{"since only, earlier", Filter{Since: window.Since}, finding("111122223333", "eu-west-1", "2020-01-01T00:00:00Z"), false},
		{"until only, earlier", Filter{Until: window.Until}, finding("111122223333", "eu-west-1", "2020-01-01T00:00:00Z"), true},
		{"until only, later", Filter{Until: window.Until}, finding("111122223333", "eu-west-1", "2030-01-01T00:00:00Z"), false},
		{"unreadable time kept", window, finding("111122223333", "eu-west-1", "yesterday"), true},
		{"empty time kept", window, finding("111122223333", "eu-west-1", ""), true},
		{"date only time kept", window, finding("111122223333", "eu-west-1", "2019-01-01"), true},
		{"unreadable time, account out", Filter{Since: window.Since, Accounts: []string{"444455556666"}}, finding("111122223333", "eu-west-1", "?"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.filter.Keep(tt.f); got != tt.want {
				t.Errorf("Keep(%+v) = %v, want %v", tt.f.Event, got, tt.want)
			}
		})
	}
}

// TestKeepWhatTheRecordDoesNotSay: -accounts and -regions keep a finding
// whose record names no account of its own (only the caller's) or no
// Region, and compare Regions in any case.
func TestKeepWhatTheRecordDoesNotSay(t *testing.T) {
	f := Filter{Accounts: []string{"111111111111"}, Regions: []string{"us-east-1"}}
	for _, c := range []struct {
		rec  string
		keep bool
	}{
		{`{"eventSource":"ec2.amazonaws.com","eventName":"DeleteSecurityGroup","recipientAccountId":"111111111111","awsRegion":"us-east-1"}`, true},
		{`{"eventSource":"ec2.amazonaws.com","eventName":"DeleteSecurityGroup","recipientAccountId":"222222222222","awsRegion":"us-east-1"}`, false},
		{`{"eventSource":"ec2.amazonaws.com","eventName":"DeleteSecurityGroup","userIdentity":{"accountId":"222222222222"},"awsRegion":"us-east-1"}`, true},
		{`{"eventSource":"ec2.amazonaws.com","eventName":"DeleteSecurityGroup","recipientAccountId":"111111111111"}`, true},
		{`{"eventSource":"ec2.amazonaws.com","eventName":"DeleteSecurityGroup","recipientAccountId":"111111111111","awsRegion":"US-EAST-1"}`, true},
		{`{"eventSource":"ec2.amazonaws.com","eventName":"DeleteSecurityGroup","recipientAccountId":"111111111111","awsRegion":"eu-west-1"}`, false},
	} {
		b, err := detect.Parse([]byte(c.rec), detect.Scoring{})
		fs := b.Findings
		if err != nil || len(fs) != 1 {
			t.Fatal(c.rec, err)
		}
		if got := f.Keep(fs[0]); got != c.keep {
			t.Errorf("Keep(%s) = %v, want %v", c.rec, got, c.keep)
		}
	}
	since := Filter{Since: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)}
	if fd := (detect.Finding{Event: detect.Event{Time: "2026-11-21t10:00:00z"}}); !since.Keep(fd) {
		t.Error("a lower-case RFC 3339 time after -since is dropped")
	}
	if fd := (detect.Finding{Event: detect.Event{Time: "2026-11-19t10:00:00z"}}); since.Keep(fd) {
		t.Error("a lower-case RFC 3339 time before -since is kept")
	}
}
