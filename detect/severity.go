package detect

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/sgwatch/sgwatch/addrspace"
	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/clean"
)

// Severity is how urgently a finding needs a human.
type Severity string

// The severities, lowest first.
const (
	Info     Severity = "info"
	Low      Severity = "low"
	Medium   Severity = "medium"
	High     Severity = "high"
	Critical Severity = "critical"
)

var severities = []Severity{Info, Low, Medium, High, Critical}

// Rank orders severities: info is 0, critical 4, anything else -1.
func (s Severity) Rank() int { return slices.Index(severities, s) }

// ParseSeverity returns the severity named s (any case).
func ParseSeverity(s string) (Severity, error) {
	v := Severity(strings.ToLower(strings.TrimSpace(s)))
	if v.Rank() < 0 {
		return "", fmt.Errorf("unknown severity %q (want info, low, medium, high or critical)", s)
	}
	return v, nil
}

// Scoring is how one deployment scores findings: its extra sensitive ports
// and its trusted automation. The zero value scores with the built-in
// catalogue and trusts no one.
type Scoring struct {
	// ExtraPorts are added to sensitivePorts (EXTRA_SENSITIVE_PORTS).
	ExtraPorts []PortRange
	// TrustedPrincipals are ARN patterns, * matching any run of characters,
	// tried on the actor's ARN and its session issuer's (TRUSTED_PRINCIPALS).
	TrustedPrincipals []string
	// TrustedServices are services acting as principals a pattern names
	// (TRUSTED_SERVICES).
	TrustedServices []TrustedService
	// AuthorizedPorts are meant to be public (AUTHORIZED_PUBLIC_PORTS) on a
	// group whose every interface belongs to an internet-facing load
	// balancer; a sensitive port never is.
	AuthorizedPorts []PortRange
}

// TrustedService is automation that acts through an AWS service: a change
// the service made (the record's invokedBy) with the credentials of a
// principal that Principal matches, such as a CloudFormation stack's
// service role. A service alone is never trusted: anyone able to make it
// act (for CloudFormation, anyone who can create a stack) would be.
type TrustedService struct {
	// Service is the invokedBy value, e.g. cloudformation.amazonaws.com.
	Service string
	// Principal is an ARN pattern (see Match), tried on the actor's ARN
	// and its session issuer's.
	Principal string
}

// duplicate is the error code of an authorize whose rule already exists.
const duplicate = "InvalidPermission.Duplicate"

// Score rates f under s and explains the rating: it sets Severity (the
// highest that applies), Reasons (one per rule that applied, highest
// first), Automation, SeverityBeforeAutomation and each rule's Exposure. A
// change by trusted automation is one level lower, but whole-internet
// ingress stays at least high; that adjustment is the last reason. Score
// may be called again after a finding changed (live context).
func (o Scoring) Score(f *Finding) {
	sev, reasons, world := o.score(f)
	f.Reachability = nil
	if world && f.Live != nil && f.Live.Network != nil {
		sev, reasons = o.reach(f, sev, reasons)
	}
	f.Automation = o.trusted(f.Actor)
	f.SeverityBeforeAutomation = ""
	if who := f.Automation; who != "" {
		lower := severities[max(sev.Rank()-1, 0)]
		why := fmt.Sprintf("made by trusted automation (%s): one level lower than %s", who, sev)
		if sev.Rank() >= High.Rank() && lower.Rank() < High.Rank() && world {
			lower = High
			why = fmt.Sprintf("made by trusted automation (%s), but whole-internet ingress stays high", who)
		}
		if lower != sev {
			f.SeverityBeforeAutomation = sev
		}
		if lower != sev || world {
			sev, reasons = lower, append(reasons, why)
		}
	}
	f.Severity, f.Reasons = sev, reasons
}

// reach grades what f opens to the whole internet (Reach over what live
// context read) and adjusts its rating: reachable from the internet is
// critical, whatever the port; a grade that is not reachable yet never
// lowers it, and says what would make it so.
func (o Scoring) reach(f *Finding, sev Severity, reasons []string) (Severity, []string) {
	r := Reach(*f.Live.Network)
	r.Notes = append(slices.Clip(r.Notes), aclNotes(f.Live.Network.ACLs, r, f.Rules)...)
	f.Reachability = &r
	if covered, why, floor := o.authorized(f, r); len(covered) > 0 {
		// The authorised rules count for nothing; everything else in the
		// finding (its other rules, what live context found, who made it)
		// is scored as always, but for the call's own baseline.
		g := *f
		g.Rules = slices.DeleteFunc(slices.Clone(f.Rules), func(rule Rule) bool { return slices.Contains(covered, rule) })
		rest, world := o.scoreInto(&g)
		if c := byName[f.Event.Name]; c != nil {
			rest.reasons = slices.DeleteFunc(rest.reasons, func(x reason) bool { return x.text == c.Why })
		}
		sev, reasons, _ := rest.result(world)
		if world {
			sev, reasons = raise(r, sev, reasons)
		}
		if floor.Rank() > sev.Rank() {
			sev = floor
		}
		return sev, append([]string{why}, reasons...)
	}
	return raise(r, sev, reasons)
}

// raise is what grade r does to a rating: reachable from the internet is
// critical; any other grade says why, and changes nothing.
func raise(r Reachability, sev Severity, reasons []string) (Severity, []string) {
	if r.Grade == GradeInternet && sev != Critical {
		return Critical, append([]string{r.Why + ": open to the whole internet on a host it reaches"}, reasons...)
	}
	return sev, append(reasons, r.Why)
}

// score rates f; world reports whether it opens ingress from the whole
// internet.
func (o Scoring) score(f *Finding) (sev Severity, reasons []string, world bool) {
	s, world := o.scoreInto(f)
	return s.result(world)
}

// scoreInto scores f into the reasons it returns, each with its
// severity; world reports whether f opens ingress from the whole
// internet.
func (o Scoring) scoreInto(f *Finding) (_ *scored, world bool) {
	if f.Action == Exposure || f.Action == Resolved {
		return o.scoreSweep(f)
	}
	s := newScored()
	c := byName[f.Event.Name]
	if c == nil {
		c = &Call{Name: f.Event.Name, Action: f.Action, Baseline: Low, Why: "a call sgwatch does not know"}
	}
	code := ""
	if f.Error != nil {
		code = f.Error.Code
	}
	switch f.Outcome {
	case DryRun:
		s.add(Info, "dry run: the call was checked but changed nothing")
		return s, false
	case Failed:
		switch {
		case strings.HasSuffix(code, duplicate) && c.Opens():
			// The rule is already there: nothing changed, but the group
			// allows it, so score what it allows, at most high.
			s.add(Info, fmt.Sprintf("failed (%s): the rule already exists, so nothing changed; what it allows is scored as it stands", code))
			s.limit, s.lead = High, "already allowed: "
			o.scoreRules(s, f)
		case AuthFailure(code):
			s.add(Medium, fmt.Sprintf("denied (%s): someone tried to change a security group without permission", code))
		default:
			s.add(Info, fmt.Sprintf("failed (%s): nothing changed", first(code, "no error code")))
		}
		return s, false
	}

	baseline, why := c.Baseline, c.Why
	if c.Effect == RemovesRules {
		unmatched := 0
		for _, r := range f.Rules {
			if r.Unmatched {
				unmatched++
			}
		}
		switch {
		case unmatched > 0 && unmatched == len(f.Rules):
			why = "no rule matched: nothing changed (AWS listed every rule in unknownIpPermissionSet)"
		case unmatched > 0:
			s.add(Info, fmt.Sprintf("%d of the %d rules named did not exist: nothing changed for them", unmatched, len(f.Rules)))
		}
	}
	s.add(baseline, why)
	scoreActor(s, f.Actor, "made")
	f.Context = nil
	switch c.Effect {
	case AttachesGroups:
		world = o.scoreAttach(s, f)
	case ChangesList:
		world = o.scoreList(s, f)
	case ChangesBlockPublicAccess:
		world = o.scoreBPA(s, f)
	case ChangesTags:
		o.scoreTags(s, f)
	case OnGroup:
		o.scoreTags(s, f) // a group created with sgwatch tags
	case AddsRules:
		o.scoreTags(s, f) // rules created with sgwatch tags
	}
	if c.Opens() {
		world = o.scoreRules(s, f)
		if f.Live != nil {
			world = o.scoreLive(s, f, o.catalogue()) || world
		}
		for _, r := range f.Rules {
			if r.Direction == "" {
				s.add(Low, "direction assumed ingress: "+c.Name+" does not say whether a rule is ingress or egress (ENRICH=true looks it up)")
				break
			}
		}
	}
	return s, world
}

// scoreActor scores who made the change (or, verb "created", the rule an
// exposure found): the root user.
func scoreActor(s *scored, a Actor, verb string) {
	if a.Unread && !a.IsRoot() {
		// Fail closed: the identity that could not be read may be root's.
		s.add(Critical, verb+" by an identity that could not be read (counted as the root user with a long-term access key)")
		return
	}
	if a.IsRoot() {
		s.add(High, verb+" by the root user")
		if a.CredentialType == LongTerm {
			s.add(Critical, verb+" by the root user with a long-term access key ("+keyPrefix(a.AccessKeyID)+"): root should have no access keys")
		}
	}
}

// scoreRules scores what the rules of f allow; it reports whether any
// allows ingress from the whole internet.
func (o Scoring) scoreRules(s *scored, f *Finding) (world bool) {
	catalogue := o.catalogue()
	reach := exposures(f.Rules, catalogue)
	for i, r := range f.Rules {
		if r.Unmatched {
			continue
		}
		if reach[i] {
			scoreWorld(s, r, catalogue)
			world = world || orIngress(r.Direction) == Ingress
			continue
		}
		if orIngress(r.Direction) != Ingress {
			continue
		}
		if p, ok, _ := prefix(r); ok {
			scorePublic(s, r, p, catalogue)
		} else if r.PrefixListID != "" && !f.Live.Read(r.PrefixListID) {
			scorePrefixList(s, r, catalogue)
		}
	}
	return world
}

// scoreWorld scores a rule whose source is the whole internet.
func scoreWorld(s *scored, r Rule, catalogue []PortRange) {
	if r.Direction == Egress {
		s.add(Medium, fmt.Sprintf("egress to %s, %s", sourceText(r), Target(r)))
		return
	}
	worldReason(s, r, sourceText(r), "", catalogue)
}

// sourceText names a whole-internet source and why it is one.
func sourceText(r Rule) string {
	switch src := r.Source(); {
	case src == "":
		return "a source that could not be read (counted as the whole internet)"
	case r.Exposure != "":
		return src + " (" + r.Exposure + ")"
	default:
		return src + " (whole internet)"
	}
}

// scorePublic scores ingress from p, a range narrower than the whole
// internet: medium when it is public and broader than /16 (IPv4) or /48
// (IPv6), and medium when it is public and reaches a sensitive port.
func scorePublic(s *scored, r Rule, p netip.Prefix, catalogue []PortRange) {
	if !addrspace.Public(p) {
		return
	}
	to := Target(r)
	limit := broadBits(p)
	if p.Bits() < limit {
		s.add(Medium, fmt.Sprintf("ingress from %s, a public range broader than /%d, to %s", p, limit, to))
	}
	if allTraffic(r) {
		s.add(Medium, fmt.Sprintf("ingress from %s (public) to %s: remote administration and databases included", p, to))
	} else if names := sensitive(r, catalogue); len(names) > 0 {
		s.add(Medium, fmt.Sprintf("ingress from %s (public) to %s: %s", p, to, shorten(names)))
	}
}

// scorePrefixList scores ingress from a prefix list to a sensitive port:
// the event does not hold the list's entries, which may be anything up to
// the whole internet, so it is medium, like a public range, and says how
// to look.
func scorePrefixList(s *scored, r Rule, catalogue []PortRange) {
	what := ""
	if allTraffic(r) {
		what = "remote administration and databases included"
	} else if names := sensitive(r, catalogue); len(names) > 0 {
		what = shorten(names)
	} else {
		return
	}
	look := ""
	if awsid.IsPrefixListID(r.PrefixListID) {
		look = " (aws ec2 get-managed-prefix-list-entries --prefix-list-id " + r.PrefixListID + ")"
	}
	s.add(Medium, fmt.Sprintf("ingress from prefix list %s to %s: %s; the event does not hold the list's entries%s",
		r.PrefixListID, Target(r), what, look))
}

// shorten lists at most four names and counts the rest.
func shorten(names []string) string {
	if len(names) > 4 {
		names = append(names[:4:4], fmt.Sprintf("and %d more", len(names)-4))
	}
	return strings.Join(names, ", ")
}

// keyPrefix shows the first 8 characters of an access key id (20 in all).
func keyPrefix(id string) string { return clean.ASCII(id, 11) }

// AuthFailure reports whether an error code says the caller lacked permission.
func AuthFailure(code string) bool {
	for _, s := range []string{"Unauthorized", "AccessDenied", "AuthFailure", "Forbidden"} {
		if strings.Contains(code, s) {
			return true
		}
	}
	return false
}

type reason struct {
	sev  Severity
	text string
}

// scored collects reasons, each once. limit caps the severity of the
// reasons added after it is set, and lead starts their text.
type scored struct {
	reasons []reason
	seen    map[string]bool
	limit   Severity
	lead    string
}

func newScored() *scored { return &scored{seen: map[string]bool{}, limit: Critical} }

func (s *scored) add(sev Severity, text string) {
	text = s.lead + text
	if s.seen[text] {
		return
	}
	s.seen[text] = true
	if sev.Rank() > s.limit.Rank() {
		sev = s.limit
	}
	s.reasons = append(s.reasons, reason{sev, text})
}

func (s *scored) result(world bool) (Severity, []string, bool) {
	slices.SortStableFunc(s.reasons, func(a, b reason) int { return b.sev.Rank() - a.sev.Rank() })
	if len(s.reasons) == 0 {
		return Info, nil, world
	}
	texts := make([]string, len(s.reasons))
	for i, r := range s.reasons {
		texts[i] = r.text
	}
	return s.reasons[0].sev, texts, world
}

// scoreSweep scores an exposure or resolved finding. An exposure is at
// least high, whatever its rule reads as: the sweep found it open to the
// whole internet, and a rule it cannot read counts as such (fail closed).
func (o Scoring) scoreSweep(f *Finding) (*scored, bool) {
	s := newScored()
	if f.Action == Resolved {
		was := ""
		if f.Sweep != nil && f.Sweep.Was != "" {
			was = fmt.Sprintf(" (it was %s)", f.Sweep.Was)
		}
		s.add(Info, "resolved: the rule is gone or no longer open to the whole internet"+was)
		return s, false
	}
	if len(f.Rules) > 0 { // none left: its rule was authorised
		s.add(High, "open to the whole internet now (found by the exposure sweep)")
	}
	catalogue := o.catalogue()
	for _, r := range f.Rules {
		if orIngress(r.Direction) == Ingress && (r.Exposure != "" || WholeInternet(r) || r.Source() == "") {
			scoreWorld(s, r, catalogue)
		}
	}
	scoreActor(s, f.Actor, "created")
	return s, len(f.Rules) > 0 // none left: its rule was authorised
}
