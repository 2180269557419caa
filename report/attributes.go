package report

import (
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// attributes are the message attributes of every publish, for subscription
// filter policies. Values are never empty: SNS rejects empty attributes.
// When trusted automation lowered the severity, severityBeforeAutomation
// holds the severity before, last: a filter policy on "severity" alone
// would otherwise miss a critical change the automation made (see
// docs/configuration.md). With live context, reachability holds the grade
// of a finding that opens ingress to the whole internet (detect.Reach): at
// most 10 attributes, SNS's limit.
func attributes(f detect.Finding) []Attribute {
	v := func(s string) string { return clean.ASCII(orUnknown(s), maxAttribute) }
	out := []Attribute{
		{"severity", v(string(f.Severity))},
		{"action", v(string(f.Action))},
		{"outcome", v(string(f.Outcome))},
		{"eventName", v(f.Event.Name)},
		{"accountId", v(f.Event.AccountID)},
		{"region", v(f.Event.Region)},
		{"securityGroupId", v(f.SecurityGroup.ID)},
		{"actorType", v(f.Actor.Type)},
	}
	if f.SeverityBeforeAutomation != "" {
		out = append(out, Attribute{"severityBeforeAutomation", v(string(f.SeverityBeforeAutomation))})
	}
	if r := f.Reachability; r != nil {
		// A subscription can take only what is reachable now.
		out = append(out, Attribute{"reachability", v(string(r.Grade))})
	}
	return out
}
