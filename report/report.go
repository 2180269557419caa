// Package report renders a finding as a triage notification: an SNS subject
// line, a plain-text body for email, a JSON body for machines, an AWS
// Chatbot custom notification for chat channels, and
// the message attributes subscribers filter on. Every piece of text that
// came from CloudTrail is cleaned first, so none of it can forge a line,
// break the subject, or hide behind bidirectional overrides or invisible
// characters; and every finding fits one SNS message, its long lists
// summarised.
package report

import (
	"fmt"
	"strings"

	"github.com/sgwatch/sgwatch/detect"
)

// Format is the body format of a notification.
type Format string

// The body formats.
const (
	Text Format = "text"
	JSON Format = "json"
	// Chat is an AWS Chatbot custom notification (chat.go).
	Chat Format = "chat"
)

// ParseFormat returns the format named s; "" is Text.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "text":
		return Text, nil
	case "json":
		return JSON, nil
	case "chat":
		return Chat, nil
	}
	return "", fmt.Errorf("unknown notification format %q (want text, json or chat)", s)
}

// Notification is what one finding publishes.
type Notification struct {
	Subject    string
	Body       string
	Attributes []Attribute
}

// Attribute is a message attribute, always of type String.
type Attribute struct {
	Name, Value string
}

// Render builds the notification for f in the given body format (Text for
// any other). Subject, body and attributes together always fit one SNS
// message (256 KiB): a finding too large to show whole is summarised, never
// refused. An error means the finding could not be encoded.
func Render(f detect.Finding, format Format) (Notification, error) {
	n := Notification{Subject: subject(f), Attributes: attributes(f)}
	room := maxMessage - overhead(n)
	s := sanitize(f)
	var err error
	switch format {
	case JSON:
		n.Body, err = jsonBody(s, room)
	case Chat:
		n.Body, err = chatBody(s, room)
	default:
		format = Text
		n.Body, err = textBody(s, room)
	}
	if err != nil {
		return Notification{}, fmt.Errorf("render %s body of %s finding: %w", format, f.Severity, err)
	}
	return n, nil
}
