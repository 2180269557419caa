package report

import (
	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// attributes are the message attributes of every publish, for subscription
// filter policies. Values are never empty: SNS rejects empty attributes.
func attributes(f detect.Finding) []Attribute {
	v := func(s string) string { return clean.ASCII(orUnknown(s), maxAttribute) }
	return []Attribute{
		{"severity", v(string(f.Severity))},
		{"action", v(string(f.Action))},
		{"outcome", v(string(f.Outcome))},
		{"eventName", v(f.Event.Name)},
		{"accountId", v(f.Event.AccountID)},
		{"region", v(f.Event.Region)},
		{"securityGroupId", v(f.SecurityGroup.ID)},
		{"actorType", v(f.Actor.Type)},
	}
}
