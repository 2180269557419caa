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

// Score rates a finding and explains the rating: the highest severity that
// applies, and one reason per rule that applied, highest first.
func Score(f *Finding) (Severity, []string) {
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
	}
	if strings.HasPrefix(name, "Authorize") || name == "ModifySecurityGroupRules" {
		for _, r := range f.Rules {
			scoreRule(&s, r)
		}
	}
	return s.result()
}

func scoreRule(s *scored, r Rule) {
	cidr, ok := wholeInternet(r)
	if !ok {
		return
	}
	to := Target(r)
	if r.Direction == Egress {
		s.add(Medium, fmt.Sprintf("egress to %s (whole internet), %s", cidr, to))
		return
	}
	// ModifySecurityGroupRules does not say ingress or egress: it is scored
	// as ingress.
	if allTraffic(r) {
		s.add(Critical, fmt.Sprintf("ingress from %s (whole internet) to %s: every port, remote administration and databases included", cidr, to))
		return
	}
	if names := sensitive(r); len(names) > 0 {
		if len(names) > 4 {
			names = append(names[:4:4], fmt.Sprintf("and %d more", len(names)-4))
		}
		s.add(Critical, fmt.Sprintf("ingress from %s (whole internet) to %s: %s", cidr, to, strings.Join(names, ", ")))
		return
	}
	s.add(High, fmt.Sprintf("ingress from %s (whole internet) to %s", cidr, to))
}

// wholeInternet reports whether the rule's CIDR (IPv4 or IPv6, in either
// field) has prefix length 0, and returns it.
func wholeInternet(r Rule) (string, bool) {
	for _, c := range []string{r.CIDRIPv4, r.CIDRIPv6} {
		if c == "" {
			continue
		}
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err == nil && p.Bits() == 0 {
			return p.String(), true
		}
	}
	return "", false
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

// sensitive names the sensitive services whose ports the rule's range contains.
func sensitive(r Rule) []string {
	from, to, ok := ports(r)
	if !ok {
		return nil
	}
	var names []string
	for _, p := range SensitivePorts {
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
	_, ok := wholeInternet(r)
	return ok
}
