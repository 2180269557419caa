package detect

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
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

// PortRange is an inclusive range of ports with the service usually on it.
type PortRange struct {
	From, To int
	Name     string
}

// SensitivePorts are the remote-administration and database ports whose
// exposure to the whole internet is critical.
var SensitivePorts = []PortRange{
	{20, 21, "FTP"}, {22, 22, "SSH"}, {23, 23, "Telnet"}, {135, 135, "MS RPC"},
	{137, 139, "NetBIOS"}, {445, 445, "SMB"}, {1433, 1433, "MS SQL"}, {1521, 1521, "Oracle"},
	{2375, 2376, "Docker API"}, {3306, 3306, "MySQL"}, {3389, 3389, "RDP"},
	{5432, 5432, "PostgreSQL"}, {5900, 5900, "VNC"}, {5985, 5986, "WinRM"},
	{6379, 6379, "Redis"}, {9042, 9042, "Cassandra"}, {9200, 9200, "Elasticsearch"},
	{9300, 9300, "Elasticsearch"}, {11211, 11211, "Memcached"}, {27017, 27017, "MongoDB"},
}

// Options tune scoring for one deployment. The zero value scores with the
// built-in catalogue and trusts no one.
type Options struct {
	// ExtraPorts are added to SensitivePorts (EXTRA_SENSITIVE_PORTS).
	ExtraPorts []PortRange
	// TrustedPrincipals are ARN patterns, * matching any run of characters,
	// tried on the actor's ARN and its session issuer's (TRUSTED_PRINCIPALS).
	TrustedPrincipals []string
	// TrustedServices are invokedBy values such as
	// cloudformation.amazonaws.com (TRUSTED_SERVICES).
	TrustedServices []string
}

// Score rates a finding with the default Options.
func Score(f *Finding) (Severity, []string) { return Options{}.Score(f) }

// apply scores f under o and sets its Automation, Severity and Reasons.
func (o Options) apply(f *Finding) {
	f.Automation = o.trusted(f.Actor)
	f.Severity, f.Reasons = o.rate(f, f.Automation)
}

// Score rates a finding and explains the rating: the highest severity that
// applies, and one reason per rule that applied, highest first. A change by
// trusted automation is then one level lower, but whole-internet ingress
// stays at least high; that adjustment is the last reason.
func (o Options) Score(f *Finding) (Severity, []string) { return o.rate(f, o.trusted(f.Actor)) }

// rate scores f; who is the trusted automation that made it, or "".
func (o Options) rate(f *Finding, who string) (Severity, []string) {
	sev, reasons := o.score(f)
	if who == "" {
		return sev, reasons
	}
	lower := severities[max(sev.Rank()-1, 0)]
	why := fmt.Sprintf("made by trusted automation (%s): one level lower than %s", who, sev)
	if sev.Rank() >= High.Rank() && lower.Rank() < High.Rank() && opensWorldIngress(f) {
		lower = High
		why = fmt.Sprintf("made by trusted automation (%s), but whole-internet ingress stays high", who)
	} else if lower == sev {
		return sev, reasons // info cannot go lower
	}
	return lower, append(reasons, why)
}

func (o Options) score(f *Finding) (Severity, []string) {
	var s scored
	switch f.Outcome {
	case DryRun:
		s.add(Info, "dry run: the call was checked but changed nothing")
		return s.result()
	case Failed:
		code := ""
		if f.Error != nil {
			code = f.Error.Code
		}
		if AuthFailure(code) {
			s.add(Medium, fmt.Sprintf("denied (%s): someone tried to change a security group without permission", code))
		} else {
			s.add(Info, fmt.Sprintf("failed (%s): nothing changed", first(code, "no error code")))
		}
		return s.result()
	}

	name := f.Event.Name
	switch {
	case strings.HasPrefix(name, "Revoke"):
		s.add(Info, "revokes rules: access only shrinks")
	case strings.HasPrefix(name, "UpdateSecurityGroupRuleDescriptions"):
		s.add(Info, "changes rule descriptions only")
	case f.Action == Create:
		s.add(Low, "creates a security group")
	case f.Action == Delete:
		s.add(Low, "deletes a security group")
	case strings.HasSuffix(name, "SecurityGroupVpc"):
		s.add(Low, "changes which VPCs share the group")
	default:
		s.add(Low, "adds or changes rules")
	}
	if f.Actor.Type == "Root" {
		s.add(High, "made by the root user")
		if f.Actor.CredentialType == LongTerm {
			s.add(Critical, "made by the root user with a long-term access key ("+keyPrefix(f.Actor.AccessKeyID)+"): root should have no access keys")
		}
	}
	if strings.HasPrefix(name, "Authorize") || name == "ModifySecurityGroupRules" {
		catalogue := SensitivePorts
		if len(o.ExtraPorts) > 0 {
			catalogue = append(slices.Clip(SensitivePorts), o.ExtraPorts...)
		}
		for _, r := range f.Rules {
			scoreRule(&s, r, catalogue)
		}
	}
	return s.result()
}

// keyPrefix shows the first 8 characters of an access key id.
func keyPrefix(id string) string {
	if len(id) > 8 {
		return id[:8] + "..."
	}
	return id
}

// trusted returns who made the change if it is trusted automation: the
// invokedBy service, or the ARN that matched a pattern; else "".
func (o Options) trusted(a Actor) string {
	if a.InvokedBy != "" && slices.Contains(o.TrustedServices, a.InvokedBy) {
		return a.InvokedBy
	}
	for _, p := range o.TrustedPrincipals {
		if arn := a.Matches(p); arn != "" {
			return arn
		}
	}
	return ""
}

// Matches returns the actor's ARN or, failing that, its session issuer's ARN
// if it matches pattern (see Match); else "".
func (a Actor) Matches(pattern string) string {
	for _, arn := range []string{a.ARN, a.SessionIssuerARN} {
		if arn != "" && Match(pattern, arn) {
			return arn
		}
	}
	return ""
}

// Match reports whether s matches pattern, in which * stands for any run of
// characters (none included) and everything else for itself.
func Match(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

// opensWorldIngress reports whether a succeeded call added or changed a rule
// that lets in the whole internet.
func opensWorldIngress(f *Finding) bool {
	if f.Outcome != Succeeded || !(strings.HasPrefix(f.Event.Name, "Authorize") || f.Event.Name == "ModifySecurityGroupRules") {
		return false
	}
	for _, r := range f.Rules {
		if r.Direction != Egress && WholeInternet(r) {
			return true
		}
	}
	return false
}

func scoreRule(s *scored, r Rule, catalogue []PortRange) {
	p, ok := prefix(r)
	switch {
	case !ok:
		return
	case p.Bits() != 0:
		if r.Direction != Egress {
			scorePublic(s, r, p, catalogue)
		}
		return
	}
	to := Target(r)
	if r.Direction == Egress {
		s.add(Medium, fmt.Sprintf("egress to %s (whole internet), %s", p, to))
		return
	}
	// ModifySecurityGroupRules does not say ingress or egress: it is scored
	// as ingress.
	if allTraffic(r) {
		s.add(Critical, fmt.Sprintf("ingress from %s (whole internet) to %s: every port, remote administration and databases included", p, to))
		return
	}
	if names := sensitive(r, catalogue); len(names) > 0 {
		s.add(Critical, fmt.Sprintf("ingress from %s (whole internet) to %s: %s", p, to, shorten(names)))
		return
	}
	s.add(High, fmt.Sprintf("ingress from %s (whole internet) to %s", p, to))
}

// scorePublic scores ingress from p, a range narrower than the whole
// internet: medium when it is public and broader than /16 (IPv4) or /48
// (IPv6), and medium when it is public and reaches a remote-administration or
// database port.
func scorePublic(s *scored, r Rule, p netip.Prefix, catalogue []PortRange) {
	if !Public(p) {
		return
	}
	to := Target(r)
	limit := 16
	if p.Addr().Is6() {
		limit = 48
	}
	if p.Bits() < limit {
		s.add(Medium, fmt.Sprintf("ingress from %s, a public range broader than /%d, to %s", p, limit, to))
	}
	if allTraffic(r) {
		s.add(Medium, fmt.Sprintf("ingress from %s (public) to %s: remote administration and databases included", p, to))
	} else if names := sensitive(r, catalogue); len(names) > 0 {
		s.add(Medium, fmt.Sprintf("ingress from %s (public) to %s: %s", p, to, shorten(names)))
	}
}

// shorten lists at most four names and counts the rest.
func shorten(names []string) string {
	if len(names) > 4 {
		names = append(names[:4:4], fmt.Sprintf("and %d more", len(names)-4))
	}
	return strings.Join(names, ", ")
}

// nonPublic are the address blocks that are not public: private, loopback,
// link-local, shared (carrier-grade NAT), documentation, and this-network.
var nonPublic = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
		"172.16.0.0/12", "192.0.2.0/24", "192.168.0.0/16", "198.51.100.0/24", "203.0.113.0/24",
		"::1/128", "fc00::/7", "fe80::/10", "2001:db8::/32",
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

// Public reports whether a range reaches public address space: it lies
// inside none of the private, loopback, link-local, shared or
// documentation-reserved blocks.
func Public(p netip.Prefix) bool {
	p = p.Masked()
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
	}
	for _, n := range nonPublic {
		if n.Addr().Is4() == p.Addr().Is4() && n.Bits() <= p.Bits() && n.Contains(p.Addr()) {
			return false
		}
	}
	return true
}

// prefix returns the rule's CIDR, IPv4 or IPv6 (in either field), parsed.
func prefix(r Rule) (netip.Prefix, bool) {
	for _, c := range []string{r.CIDRIPv4, r.CIDRIPv6} {
		if c == "" {
			continue
		}
		if p, err := netip.ParsePrefix(strings.TrimSpace(c)); err == nil {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// ports returns the rule's port range, and false when ports do not apply
// (ICMP, protocols other than tcp and udp). Unknown ports on a tcp, udp or
// all-traffic rule count as every port.
func ports(r Rule) (from, to int, ok bool) {
	switch r.Protocol {
	case "tcp", "udp", "all", "":
	default:
		return 0, 0, false
	}
	if r.Protocol == "all" || r.Protocol == "" || r.FromPort == nil || r.ToPort == nil ||
		*r.FromPort < 0 || *r.ToPort < 0 {
		return 0, 65535, true
	}
	return *r.FromPort, *r.ToPort, true
}

// sensitive names the services of the catalogue whose ports the rule's range
// contains.
func sensitive(r Rule, catalogue []PortRange) []string {
	from, to, ok := ports(r)
	if !ok {
		return nil
	}
	var names []string
	for _, p := range catalogue {
		if from <= p.To && p.From <= to {
			n := fmt.Sprintf("%s (%s)", p.Name, portText(p.From, p.To))
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

func allTraffic(r Rule) bool {
	from, to, ok := ports(r)
	return r.Protocol == "all" || (ok && from <= 0 && to >= 65535)
}

// AuthFailure reports whether an error code says the caller lacked permission.
func AuthFailure(code string) bool {
	for _, s := range []string{"Unauthorized", "AccessDenied", "AuthFailure", "Forbidden"} {
		if strings.Contains(code, s) {
			return true
		}
	}
	return false
}

// Target describes the traffic a rule allows: "tcp/22", "udp/137-139",
// "all traffic", "icmp type 8 code 0".
func Target(r Rule) string {
	p := r.Protocol
	switch {
	case p == "all":
		return "all traffic"
	case p == "":
		p = "unknown protocol"
	case p == "icmp" || p == "icmpv6":
		if r.FromPort == nil || *r.FromPort < 0 {
			return p + " (all types)"
		}
		s := fmt.Sprintf("%s type %d", p, *r.FromPort)
		if r.ToPort != nil && *r.ToPort >= 0 {
			s += fmt.Sprintf(" code %d", *r.ToPort)
		}
		return s
	}
	if r.FromPort == nil || r.ToPort == nil {
		return p
	}
	return p + "/" + portText(*r.FromPort, *r.ToPort)
}

func portText(from, to int) string {
	if from == to {
		return fmt.Sprint(from)
	}
	return fmt.Sprintf("%d-%d", from, to)
}

type reason struct {
	sev  Severity
	text string
}

type scored []reason

func (s *scored) add(sev Severity, text string) {
	for _, r := range *s {
		if r.text == text {
			return
		}
	}
	*s = append(*s, reason{sev, text})
}

func (s scored) result() (Severity, []string) {
	slices.SortStableFunc(s, func(a, b reason) int { return b.sev.Rank() - a.sev.Rank() })
	if len(s) == 0 {
		return Info, nil
	}
	texts := make([]string, len(s))
	for i, r := range s {
		texts[i] = r.text
	}
	return s[0].sev, texts
}

// WholeInternet reports whether the rule's CIDR, IPv4 or IPv6, is the whole
// internet: any prefix length 0, whatever the address before it.
func WholeInternet(r Rule) bool {
	p, ok := prefix(r)
	return ok && p.Bits() == 0
}
