package scan

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sgwatch/sgwatch/awsid"
)

// CloudTrail's layout of log files, in S3 and in a copy of it on disk:
//
//	AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz
//
// with digest files under ACCOUNT/CloudTrail-Digest/ and Insights events
// under ACCOUNT/CloudTrail-Insight/. The dates are those of delivery.

// Skip says why a folder or file is not read.
type Skip int

const (
	Read     Skip = iota
	Digest        // a CloudTrail-Digest folder or file: not a log
	NotLog        // not a log file (by its name), or an Insights folder
	Filtered      // outside -since, -until, -accounts or -regions
)

// level is what a path's last segment is in the layout.
type level int

const (
	outside  level = iota // not in CloudTrail's layout (or not known to be)
	logsRoot              // AWSLogs
	org                   // o-…
	account
	product // CloudTrail, CloudTrail-Digest, CloudTrail-Insight
	region
	year
	month
	day
)

// place finds where the path segs is in CloudTrail's layout: the level of
// its last segment, and the account, Region and date it names so far.
type place struct {
	level              level
	account, region    string
	product            string
	year, month, dayOf int
}

func locate(segs []string) place {
	// From the last AWSLogs, or else from an ACCOUNT/CloudTrail… pair.
	start := -1
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i] == "AWSLogs" {
			start = i
			break
		}
	}
	var p place
	i := start + 1
	if start >= 0 {
		p.level = logsRoot
	} else {
		i = -1
		for j := len(segs) - 2; j >= 0; j-- {
			if awsid.IsAccountID(segs[j]) && slices.Contains(products, segs[j+1]) {
				i = j
				break
			}
		}
		if i < 0 {
			return p
		}
	}
	rest := segs[i:]
	if start >= 0 && len(rest) > 0 && orgID().MatchString(rest[0]) {
		p.level = org
		rest = rest[1:]
	}
	for k, s := range rest {
		switch k {
		case 0:
			if !awsid.IsAccountID(s) {
				return place{}
			}
			p.level, p.account = account, s
		case 1:
			p.level, p.product = product, s
		case 2:
			if p.product != "CloudTrail" && p.product != "CloudTrail-Digest" {
				return place{}
			}
			p.level, p.region = region, s
		case 3, 4, 5:
			n, err := strconv.Atoi(s)
			if err != nil || len(s) != map[int]int{3: 4, 4: 2, 5: 2}[k] {
				return place{}
			}
			p.level++
			switch k {
			case 3:
				p.year = n
			case 4:
				p.month = n
			case 5:
				p.dayOf = n
			}
		default:
			return place{}
		}
	}
	return p
}

// products are the folders CloudTrail writes under an account.
var products = []string{"CloudTrail", "CloudTrail-Digest", "CloudTrail-Insight"}

var orgID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^o-[a-z0-9]{10,32}$`) })

// Folder says whether to read the folder segs (a path split at "/").
func (f Filter) Folder(segs []string) Skip {
	p := locate(segs)
	switch p.level {
	case account:
		if len(f.Accounts) > 0 && !slices.Contains(f.Accounts, p.account) {
			return Filtered
		}
	case product:
		// Digests are not logs, Insights events not API calls; anything
		// else (a folder of someone's own) is read: what the layout does
		// not know is not skipped.
		switch p.product {
		case "CloudTrail-Digest":
			return Digest
		case "CloudTrail-Insight":
			return NotLog
		}
	case region:
		if len(f.Regions) > 0 && !slices.Contains(f.Regions, p.region) {
			return Filtered
		}
	case year, month, day:
		from := time.Date(p.year, time.Month(max(p.month, 1)), max(p.dayOf, 1), 0, 0, 0, 0, time.UTC)
		to := from.AddDate(1, 0, 0)
		switch p.level {
		case month:
			to = from.AddDate(0, 1, 0)
		case day:
			to = from.AddDate(0, 0, 1)
		}
		if !f.delivered(from, to) {
			return Filtered
		}
	}
	return Read
}

// logExtensions are the endings of the files a walk reads.
var logExtensions = []string{".json", ".gz", ".jsonl", ".ndjson"}

// LogName reports whether a file's name (its last path segment) ends as a
// log's: .json, .json.gz, .gz, .jsonl or .ndjson, in any case.
func LogName(name string) bool {
	lower := strings.ToLower(name)
	return slices.ContainsFunc(logExtensions, func(ext string) bool { return strings.HasSuffix(lower, ext) })
}

// logName matches CloudTrail's log and digest file names.
var logName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([0-9]{12})_(CloudTrail(?:-Digest)?)_([a-z0-9-]+)_([0-9]{8}T[0-9]{4}Z)_`)
})

// File says whether to read the file name (its last path segment): a log
// file by its extension (.json, .json.gz, .gz, .jsonl, .ndjson), and not a
// digest; one in CloudTrail's naming only if its account, Region and
// delivery time can hold selected records.
func (f Filter) File(name string) Skip {
	if strings.Contains(name, "CloudTrail-Digest") {
		return Digest
	}
	if !LogName(name) {
		return NotLog
	}
	m := logName().FindStringSubmatch(name)
	if m == nil {
		return Read
	}
	if len(f.Accounts) > 0 && !slices.Contains(f.Accounts, m[1]) {
		return Filtered
	}
	if len(f.Regions) > 0 && !slices.Contains(f.Regions, m[3]) {
		return Filtered
	}
	if t, err := time.Parse("20060102T1504Z", m[4]); err == nil && !f.delivered(t, t.Add(time.Minute)) {
		return Filtered
	}
	return Read
}
