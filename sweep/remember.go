package sweep

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/sgwatch/sgwatch/clean"
	"github.com/sgwatch/sgwatch/detect"
)

// state is where an exposure the memory holds stands.
type state int

const (
	// statePublished: open, and published.
	statePublished state = iota
	// stateHeld: open, and held back by the policy; it has no resolution, and
	// it is decided on again at every sweep.
	stateHeld
	// stateResolving: gone, and its resolution is being published; should it
	// be open again, it is published again as new.
	stateResolving
	// stateTold: gone, its resolution published but not yet imported into the
	// sink (Security Hub); it is imported, not published, at the next
	// sweep.
	stateTold
)

// entry is the memory of one exposure: enough to publish its resolution,
// and, for one the policy held back, to decide on it again without looking
// its creator up again.
type entry struct {
	Group, Name, VPC string
	Rule             detect.Rule
	Severity         detect.Severity
	FirstSeen        string
	State            state
	// Tried is when the creator of a held exposure was last looked up in
	// vain ("" for never); it is looked up again, after the new
	// exposures, the longest untried first.
	Tried string
	// Creator and Created say who created a held exposure's rule, when
	// that was found.
	Creator *detect.Actor
	Created *detect.Created
	// Published is when it was published (not held ones); Imported when it
	// was last imported into the sink, "" for not yet: it is imported, not
	// published, again at the next sweep, and every ReimportAfter while it
	// is open (the sink forgets findings not updated for 90 days).
	Published, Imported string
	// Due is when the revert of the exposure is due (RFC 3339), Spared
	// why it is not reverted; both "" when revert is off, or it was never
	// judged with revert on.
	Due, Spared string
}

// wire is an entry as the memory stores it: short names, and the state as
// the flags of earlier versions of sgwatch (held h, resolving x, told x
// and o), so that a memory written before reads the same.
type wire struct {
	Group     string          `json:"g"`
	Name      string          `json:"n,omitempty"`
	VPC       string          `json:"v,omitempty"`
	Rule      detect.Rule     `json:"r"`
	Severity  detect.Severity `json:"s"`
	FirstSeen string          `json:"f"`
	Held      bool            `json:"h,omitempty"`
	Resolving bool            `json:"x,omitempty"`
	LookedUp  bool            `json:"l,omitempty"`
	Tried     string          `json:"t,omitempty"`
	Published string          `json:"p,omitempty"`
	Imported  string          `json:"i,omitempty"`
	Told      bool            `json:"o,omitempty"`
	Creator   *detect.Actor   `json:"c,omitempty"`
	Created   *detect.Created `json:"e,omitempty"`
	Due       string          `json:"d,omitempty"`
	Spared    string          `json:"sp,omitempty"`
}

func (e entry) MarshalJSON() ([]byte, error) {
	w := wire{Group: e.Group, Name: e.Name, VPC: e.VPC, Rule: e.Rule, Severity: e.Severity, FirstSeen: e.FirstSeen,
		Tried: e.Tried, Published: e.Published, Imported: e.Imported, Due: e.Due, Spared: e.Spared}
	if e.Spared != "" && e.Creator != nil && e.Created != nil {
		w.Creator, w.Created = e.Creator, e.Created // what it was spared on
	}
	switch e.State {
	case stateHeld:
		w.Held = true
		if e.Creator != nil && e.Created != nil {
			w.LookedUp, w.Creator, w.Created = true, e.Creator, e.Created
		}
	case stateResolving:
		w.Resolving = true
	case stateTold:
		w.Resolving, w.Told = true, true
	}
	return json.Marshal(w)
}

func (e *entry) UnmarshalJSON(b []byte) error {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = entry{Group: w.Group, Name: w.Name, VPC: w.VPC, Rule: w.Rule, Severity: w.Severity, FirstSeen: w.FirstSeen,
		Tried: w.Tried, Published: w.Published, Imported: w.Imported, Due: w.Due, Spared: w.Spared}
	if w.Spared != "" {
		e.Creator, e.Created = w.Creator, w.Created
	}
	switch {
	case w.Held:
		e.State = stateHeld
		if w.LookedUp {
			e.Creator, e.Created = w.Creator, w.Created
		}
	case w.Resolving && w.Told:
		e.State = stateTold
	case w.Resolving:
		e.State = stateResolving
	}
	return nil
}

// remembered is what the memory keeps of exposure f, first seen at first:
// the group's id, its name cut short, and the rule without its description
// (text the account chooses, which would fill the item).
func remembered(f detect.Finding, first string) entry {
	r := f.Rules[0]
	r.Description, r.Exposure = "", ""
	return entry{Group: f.SecurityGroup.ID, Name: clean.Prefix(f.SecurityGroup.Name, 64), VPC: f.SecurityGroup.VPCID,
		Rule: r, Severity: f.Severity, FirstSeen: first}
}

// compactActor is what the memory keeps of a creator: what the policy and
// the score read.
func compactActor(a detect.Actor) detect.Actor {
	c := func(s string, n int) string { return clean.Prefix(s, n) }
	return detect.Actor{Type: c(a.Type, 64), ARN: c(a.ARN, 256), AccountID: c(a.AccountID, 16), UserName: c(a.UserName, 64),
		AccessKeyID: c(a.AccessKeyID, 32), CredentialType: a.CredentialType, SessionIssuerARN: c(a.SessionIssuerARN, 256),
		MFAAuthenticated: a.MFAAuthenticated, InvokedBy: c(a.InvokedBy, 128), Console: a.Console}
}

// finding is the exposure e remembers, as its resolution starts from.
func (e entry) finding(t Target, k string) detect.Finding {
	return detect.Finding{
		Action: detect.Exposure, Severity: e.Severity,
		Event:         detect.Event{Name: detect.SweepCall, Region: t.Region, AccountID: t.Account},
		SecurityGroup: detect.SecurityGroup{ID: e.Group, Name: e.Name, VPCID: e.VPC},
		Rules:         []detect.Rule{e.Rule},
		Sweep:         &detect.Sweep{Key: k, FirstSeen: e.FirstSeen, Published: e.Published},
	}
}

// MaxRemembered is how many exposures the memory of one target holds (a
// DynamoDB item holds 400 KB). Exposures beyond it are not remembered, so
// they are published again at every sweep: louder, never quieter.
const MaxRemembered = 2000

// maxMemory bounds the encoded memory of one target, below DynamoDB's
// 400 KB item.
const maxMemory = 350_000

// encode is the memory of a target, gzip-compressed JSON, at most
// MaxRemembered exposures and maxMemory bytes: the first by key. Those left
// out are published again at the next sweep (louder, never quieter).
func encode(m map[string]entry) ([]byte, error) {
	keys := slices.Sorted(maps.Keys(m))
	n := min(len(keys), MaxRemembered)
	for {
		keep := make(map[string]entry, n)
		for _, k := range keys[:n] {
			keep[k] = m[k]
		}
		var b bytes.Buffer
		z := gzip.NewWriter(&b)
		if err := json.NewEncoder(z).Encode(keep); err != nil {
			return nil, fmt.Errorf("encode the sweep's memory: %w", err)
		}
		if err := z.Close(); err != nil {
			return nil, fmt.Errorf("compress the sweep's memory: %w", err)
		}
		if b.Len() <= maxMemory || n == 0 {
			return b.Bytes(), nil
		}
		n = min(n-1, int(float64(n)*maxMemory/float64(b.Len())*0.95))
	}
}

func decode(data []byte) (map[string]entry, error) {
	m := map[string]entry{}
	if len(data) == 0 {
		return m, nil
	}
	z, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(z, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return m, nil
}
