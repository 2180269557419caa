package handler

import (
	"fmt"
	"strings"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/report"
)

// The lines that mark a notification written to the log under "sam local".
const (
	localBegin = "----- sgwatch notification (sam local: NOT published) -----"
	localEnd   = "----- end of sgwatch notification -----"
)

// localHelp says how to publish for real under "sam local".
const localHelp = `to publish for real, give sam local a topic: --parameter-overrides ExistingTopicArn=arn:aws:sns:REGION:ACCOUNT:TOPIC, or --env-vars env.json with {"SgwatchFunction":{"SNS_TOPIC_ARN":"arn:aws:sns:REGION:ACCOUNT:TOPIC"}}`

// writeLocal writes the notification as it would be published (subject,
// attributes in order, body) between marker lines, and logs that nothing
// was published. Everything in it was cleaned by report.
func (h *Handler) writeLocal(f detect.Finding, n report.Notification) error {
	var b strings.Builder
	b.WriteString(localBegin + "\n")
	b.WriteString("Subject: " + n.Subject + "\n")
	for _, a := range n.Attributes {
		b.WriteString("Attribute " + a.Name + ": " + a.Value + "\n")
	}
	b.WriteString("\n" + n.Body)
	if !strings.HasSuffix(n.Body, "\n") {
		b.WriteString("\n")
	}
	b.WriteString(localEnd + "\n")
	if _, err := fmt.Fprint(h.d.Out, b.String()); err != nil {
		return fmt.Errorf("write notification for event %s: %w", clean.Line(f.Event.ID, 128), err)
	}
	h.log.Warn("sam local: nothing was published (SNS_TOPIC_ARN is not a topic ARN)",
		append(logFields(f), "SNS_TOPIC_ARN", h.cfg.TopicARN, "help", localHelp)...)
	return nil
}
