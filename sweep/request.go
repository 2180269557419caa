package sweep

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/detect"
)

// Request is the payload that asks the function for a sweep: what the
// template's EventBridge Scheduler schedule sends, every hour, and its rule
// on the stack's own deployment sends once. Nothing else is a sweep: a
// CloudTrail event or record never has a top-level "sgwatch" member.
//
//	{"sgwatch": "sweep", "id": "<aws.scheduler.execution-id>", "time": "<aws.scheduler.scheduled-time>", "by": "<aws.scheduler.schedule-arn>"}
type Request struct {
	// ID names this sweep; a retried invocation of the same sweep has the
	// same id, so it publishes nothing twice.
	ID string `json:"id"`
	// Time is when it was scheduled (informational).
	Time string `json:"time"`
	// By is what asked for it: the schedule's ARN, or the deployment.
	By string `json:"by"`
}

// Member is the top-level member that marks a sweep request
// (detect.Payload, "sweep").
const Member = detect.Payload

// safeID reports whether id can name a sweep in a key as it is.
func safeID(id string) bool { return awsid.IsSafeName(id, 128, "._:-") }

// ParseRequest reports whether data is a sweep request (an object with a
// top-level "sgwatch" member) and, if it is, reads it. A payload that is
// one but is malformed is an error that says what is wrong; the request's
// id, when it is not a short run of safe characters, is replaced by a
// digest of the payload (a retry has the same payload).
func ParseRequest(data []byte) (req Request, ok bool, err error) {
	if !bytes.Contains(data, []byte(`"`+Member+`"`)) {
		return req, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var first json.RawMessage
	var top map[string]json.RawMessage
	if dec.Decode(&first) != nil || json.Unmarshal(first, &top) != nil {
		return req, false, nil // not an object: not a request
	}
	raw, ok := top[Member]
	if !ok {
		return req, false, nil
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, true, errors.New("sweep request: more than one JSON value")
	}
	data = first
	var kind string
	if err := json.Unmarshal(raw, &kind); err != nil || kind != "sweep" {
		return req, true, fmt.Errorf("sweep request: %q must be \"sweep\", not %.64s", Member, raw)
	}
	var fields struct {
		Request
		Kind string `json:"sgwatch"`
	}
	strict := json.NewDecoder(bytes.NewReader(data))
	strict.DisallowUnknownFields()
	if err := strict.Decode(&fields); err != nil {
		return req, true, fmt.Errorf("sweep request: %w (want only %q, \"id\", \"time\" and \"by\")", err, Member)
	}
	req = fields.Request
	if !safeID(req.ID) {
		sum := sha256.Sum256(data)
		req.ID = "sha256:" + hex.EncodeToString(sum[:16])
	}
	if len(req.Time) > 64 || len(req.By) > 2048 {
		return req, true, errors.New("sweep request: time or by is too long")
	}
	req.By = strings.TrimSpace(req.By)
	return req, true, nil
}
