package report

import (
	"net/url"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/detect"
)

// link is a console link for a finding.
type link struct {
	name, url string
}

// links returns console links to the CloudTrail event and the security
// group, for the values that are well formed (links are never built from
// arbitrary text), in the Region the call was made in, on its partition's
// console (none where sgwatch knows no public console host).
func links(f detect.Finding) []link {
	region := f.Event.Region
	host := awsid.ConsoleHost(region)
	if host == "" {
		return nil
	}
	q := "?region=" + url.QueryEscape(region)
	var out []link
	if f.Sweep != nil && f.Sweep.Created != nil && awsid.IsEventID(f.Sweep.Created.EventID) {
		out = append(out, link{"CloudTrail", "https://" + host + "/cloudtrailv2/home" + q + "#/events/" + f.Sweep.Created.EventID})
	}
	if awsid.IsEventID(f.Event.ID) {
		out = append(out, link{"CloudTrail", "https://" + host + "/cloudtrailv2/home" + q + "#/events/" + f.Event.ID})
	}
	if awsid.IsGroupID(f.SecurityGroup.ID) {
		out = append(out, link{"Security group", "https://" + host + "/ec2/home" + q + "#SecurityGroup:groupId=" + f.SecurityGroup.ID})
	}
	return out
}

// linksHeading heads the links. A console link opens in whatever account
// the browser is signed in to, so the heading names the account the call
// was made in, when the event gives a valid account id.
func linksHeading(f detect.Finding) string {
	if awsid.IsAccountID(f.Event.AccountID) {
		return "Links (sign in to account " + f.Event.AccountID + "):"
	}
	return "Links:"
}

// linkTo is the console link of f named name ("CloudTrail": to the event,
// for an exposure the one that created its rule; "Security group"), or
// "" when f holds no valid id and Region for it.
func linkTo(f detect.Finding, name string) string {
	for _, l := range links(f) {
		if l.name == name {
			return l.url
		}
	}
	return ""
}

// groupARN is the ARN of the group of f in the account and Region of the
// change, when its id, account and Region are valid; else "".
func groupARN(f detect.Finding) string {
	return awsid.GroupARN(f.Event.Region, f.Event.AccountID, f.SecurityGroup.ID)
}
