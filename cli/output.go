package cli

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/pipeline"
	"github.com/sgwatch/sgwatch/report"
)

// formatUsage is the help of -format, the same for every command that
// prints findings.
const formatUsage = "output `format`: text (each notification), json (one finding per line), chat (one AWS Chatbot custom notification per line) or summary (counts, and the critical and high findings)"

// output prints findings in a -format: what the function would publish for
// each (text, json, chat), or a summary of them all once every one is in.
// A scan and a sweep print through it.
type output struct {
	w       *bufio.Writer
	format  report.Format // what the findings are rendered in
	summary bool
	sum     report.Summary
	printed int
}

// newOutput returns the output of format to w; the error says a format is
// not one of them.
func newOutput(w io.Writer, format string) (*output, error) {
	o := &output{w: bufio.NewWriterSize(w, 64<<10), summary: strings.EqualFold(strings.TrimSpace(format), "summary")}
	if o.summary {
		o.format = report.Text // for the subjects the summary lists
		return o, nil
	}
	f, err := report.ParseFormat(format)
	if err != nil {
		return nil, fmt.Errorf("%q is not text, json, chat or summary", clean.Line(format, 64))
	}
	o.format = f
	return o, nil
}

// add prints a finding the policy publishes, rendered in o.format (or
// counts it for the summary).
func (o *output) add(r pipeline.Result) error {
	if o.summary {
		o.sum.Add(r.Finding, r.Notification.Subject)
		return nil
	}
	err := write(o.w, r.Notification, o.format, o.printed)
	o.printed++
	return err
}

// close writes the summary, if that is the format, and flushes; written
// is false after a write error, when the summary is not written.
func (o *output) close(written bool) error {
	if o.summary && written {
		if err := o.sum.Write(o.w); err != nil {
			return err
		}
	}
	return o.w.Flush()
}

// write prints what the function would publish: the JSON or chat body on
// one line, or the subject and text body.
func write(w io.Writer, n report.Notification, f report.Format, printed int) error {
	if f == report.JSON || f == report.Chat {
		_, err := fmt.Fprintln(w, n.Body)
		return err
	}
	if printed > 0 {
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintf(w, "Subject: %s\n\n%s", n.Subject, n.Body)
	return err
}
