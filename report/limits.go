package report

// Every limit the notification is held to, in one place.

// maxMessage is the largest SNS message in bytes: SNS counts the subject,
// the body and the message attributes (names, values and types) together.
const maxMessage = 256 * 1024

// maxSubject is the longest subject SNS accepts: printable ASCII bytes.
const maxSubject = 100

// Limits on text taken from a CloudTrail record, in runes.
const (
	maxField = 256          // descriptions, user agents, ARNs, names, reasons, notes, tags
	maxNote  = 2 * maxField // the undo note
	maxShort = 40           // pieces of a subject or summary line
)

// maxAttribute bounds a message attribute value, in bytes of printable ASCII.
const maxAttribute = 256

// maxLines bounds each list of the text body (rules, reasons, notes, tags);
// the rest are counted on one line. The JSON body keeps as many as fit.
const maxLines = 100

// overhead is what SNS counts against maxMessage besides the body.
func overhead(n Notification) int {
	size := len(n.Subject)
	for _, a := range n.Attributes {
		size += len(a.Name) + len(a.Value) + len("String")
	}
	return size
}
