package report

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/sgwatch/sgwatch/detect"
)

// link is a console link for a finding.
type link struct {
	name, url string
}

var eventRE = regexp.MustCompile(`^[0-9a-fA-F-]{8,64}$`)

// links returns console links to the CloudTrail event and the security
// group, for the values that are well formed (links are never built from
// arbitrary text), in the Region the call was made in.
func links(f detect.Finding) []link {
	region := f.Event.Region
	if !detect.IsRegion(region) {
		return nil
	}
	host := region + ".console.aws.amazon.com"
	switch {
	case strings.HasPrefix(region, "cn-"):
		host = region + ".console.amazonaws.cn"
	case strings.HasPrefix(region, "us-gov-"):
		host = "console.amazonaws-us-gov.com"
	}
	q := "?region=" + url.QueryEscape(region)
	var out []link
	if f.Sweep != nil && f.Sweep.Created != nil && eventRE.MatchString(f.Sweep.Created.EventID) {
		out = append(out, link{"CloudTrail", "https://" + host + "/cloudtrailv2/home" + q + "#/events/" + f.Sweep.Created.EventID})
	}
	if eventRE.MatchString(f.Event.ID) {
		out = append(out, link{"CloudTrail", "https://" + host + "/cloudtrailv2/home" + q + "#/events/" + f.Event.ID})
	}
	if detect.IsGroupID(f.SecurityGroup.ID) {
		out = append(out, link{"Security group", "https://" + host + "/ec2/home" + q + "#SecurityGroup:groupId=" + f.SecurityGroup.ID})
	}
	return out
}

// linksHeading heads the links. A console link opens in whatever account
// the browser is signed in to, so the heading names the account the call
// was made in, when the event gives a valid account id.
func linksHeading(f detect.Finding) string {
	if detect.IsAccountID(f.Event.AccountID) {
		return "Links (sign in to account " + f.Event.AccountID + "):"
	}
	return "Links:"
}

// Subject is the SNS subject of f: at most 100 printable ASCII characters,
// starting with the severity (the Security Hub finding's title too).
func Subject(f detect.Finding) string { return subject(f) }

// CloudTrailURL is the console link to the CloudTrail event of f (for an
// exposure, the event that created its rule), or "" when f names no valid
// event id and Region.
func CloudTrailURL(f detect.Finding) string {
	for _, l := range links(f) {
		if l.name == "CloudTrail" {
			return l.url
		}
	}
	return ""
}

// GroupURL is the console link to the security group of f, or "".
func GroupURL(f detect.Finding) string {
	for _, l := range links(f) {
		if l.name == "Security group" {
			return l.url
		}
	}
	return ""
}
