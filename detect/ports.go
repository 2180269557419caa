package detect

import (
	"fmt"
	"slices"

	"github.com/sgwatch/sgwatch/clean"
)

// PortRange is an inclusive range of ports of one transport protocol with
// the service usually on it.
type PortRange struct {
	From, To int
	// Proto is "tcp", "udp", or "" for both.
	Proto string
	Name  string
}

// sensitivePorts are the remote-administration, database and amplification
// services whose exposure to the whole internet is critical, each on the
// transport protocol it listens on.
var sensitivePorts = []PortRange{
	{20, 21, "tcp", "FTP"}, {22, 22, "tcp", "SSH"}, {23, 23, "tcp", "Telnet"},
	{53, 53, "udp", "DNS"}, {123, 123, "udp", "NTP"}, {135, 135, "tcp", "MS RPC"},
	{137, 138, "udp", "NetBIOS"}, {139, 139, "tcp", "NetBIOS"}, {161, 162, "udp", "SNMP"},
	{445, 445, "tcp", "SMB"}, {1433, 1433, "tcp", "MS SQL"}, {1521, 1521, "tcp", "Oracle"},
	{2375, 2376, "tcp", "Docker API"}, {3306, 3306, "tcp", "MySQL"}, {3389, 3389, "", "RDP"},
	{5432, 5432, "tcp", "PostgreSQL"}, {5900, 5900, "tcp", "VNC"}, {5985, 5986, "tcp", "WinRM"},
	{6379, 6379, "tcp", "Redis"}, {9042, 9042, "tcp", "Cassandra"}, {9200, 9200, "tcp", "Elasticsearch"},
	{9300, 9300, "tcp", "Elasticsearch"}, {11211, 11211, "", "Memcached"}, {27017, 27017, "tcp", "MongoDB"},
}

// catalogue is sensitivePorts with the deployment's extra ports.
func (o Scoring) catalogue() []PortRange {
	if len(o.ExtraPorts) == 0 {
		return sensitivePorts
	}
	return append(slices.Clip(sensitivePorts), o.ExtraPorts...)
}

// ports returns the rule's port range, and false when ports do not apply
// (ICMP, protocols other than tcp and udp). All traffic, a protocol that was
// not understood, and unknown or reversed ports on a tcp or udp rule
// (EC2 refuses a range that ends before it starts) count as every port.
func ports(r Rule) (from, to int, ok bool) {
	switch {
	case r.Protocol == "tcp" || r.Protocol == "udp":
	case r.Protocol == "all" || !knownProtocol(r.Protocol):
		return 0, 65535, true
	default:
		return 0, 0, false
	}
	from, to, ok = declaredPorts(r)
	if !ok || from > to {
		return 0, 65535, true
	}
	return from, to, true
}

// declaredPorts returns the port range a tcp or udp rule states, when it
// states both ends as ports.
func declaredPorts(r Rule) (from, to int, ok bool) {
	if (r.Protocol != "tcp" && r.Protocol != "udp") || r.FromPort == nil || r.ToPort == nil || *r.FromPort < 0 || *r.ToPort < 0 {
		return 0, 0, false
	}
	return *r.FromPort, *r.ToPort, true
}

// allTraffic reports whether the rule allows every protocol, or every port
// of tcp or udp.
func allTraffic(r Rule) bool {
	if r.Protocol == "all" || !knownProtocol(r.Protocol) {
		return true
	}
	from, to, ok := ports(r)
	return ok && from <= 0 && to >= 65535
}

// sensitive names the services of the catalogue whose ports the rule's range
// contains, on the rule's protocol.
func sensitive(r Rule, catalogue []PortRange) []string {
	from, to, ok := ports(r)
	if !ok {
		return nil
	}
	var names []string
	for _, p := range catalogue {
		if p.Proto != "" && (r.Protocol == "tcp" || r.Protocol == "udp") && p.Proto != r.Protocol {
			continue
		}
		if from <= p.To && p.From <= to {
			n := fmt.Sprintf("%s (%s)", p.Name, portText(p.From, p.To))
			if p.Proto != "" && r.Protocol != p.Proto {
				n = fmt.Sprintf("%s (%s/%s)", p.Name, p.Proto, portText(p.From, p.To))
			}
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

// Target describes the traffic a rule allows: "tcp/22", "udp/137-139",
// "all traffic", "icmp type 8 code 0".
func Target(r Rule) string {
	p := r.Protocol
	switch {
	case p == "all":
		return "all traffic"
	case p == "":
		return "unknown protocol (counted as all traffic)"
	case !knownProtocol(p):
		return fmt.Sprintf("protocol %q (not understood: counted as all traffic)", clean.Cut(p, 40))
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
	if p != "tcp" && p != "udp" {
		return "protocol " + p
	}
	if r.FromPort == nil || r.ToPort == nil {
		return p + " (every port)"
	}
	return p + "/" + portText(*r.FromPort, *r.ToPort)
}

func portText(from, to int) string {
	if from == to {
		return fmt.Sprint(from)
	}
	return fmt.Sprintf("%d-%d", from, to)
}
