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

// The public lists a catalogue entry cites; docs/ports.md says what each is,
// with its address and the date it was read.
const (
	listEC219   = "EC2.19"  // AWS Security Hub control EC2.19, high-risk ports
	listProwler = "Prowler" // Prowler's per-service internet-ingress checks
	listCIS     = "CIS"     // CIS AWS Foundations Benchmark, remote administration ports
	listConfig  = "Config"  // AWS Config restricted-common-ports and vpc-sg-port-restriction-check
	listOwn     = "sgwatch" // no list flags it: sgwatch's own, with its reason in docs/ports.md
)

// listed is an entry of the catalogue: a range on one protocol, the
// service on it, and the lists that flag it.
type listed struct {
	PortRange
	Lists []string
}

// builtin is the sensitive-port catalogue, the one home of which ports
// are sensitive: the remote-administration, database, directory, cluster
// and amplification services whose exposure to the whole internet is
// critical, each on the transport protocol a list names it on (or, for
// sgwatch's own, the one the service answers on). docs/ports.md holds the
// same table, and a test keeps them equal.
var builtin = []listed{
	{PortRange{20, 21, "tcp", "FTP"}, []string{listEC219, listProwler, listConfig}},
	{PortRange{22, 22, "tcp", "SSH"}, []string{listEC219, listProwler, listCIS, listConfig}},
	{PortRange{22, 22, "udp", "SSH port on udp as CIS counts it"}, []string{listCIS, listConfig}},
	{PortRange{23, 23, "tcp", "Telnet"}, []string{listEC219, listProwler}},
	{PortRange{25, 25, "tcp", "SMTP"}, []string{listEC219, listProwler}},
	{PortRange{53, 53, "udp", "DNS"}, []string{listOwn}},
	{PortRange{88, 88, "tcp", "Kerberos"}, []string{listProwler}},
	{PortRange{88, 88, "udp", "Kerberos"}, []string{listOwn}},
	{PortRange{110, 110, "tcp", "POP3"}, []string{listEC219, listProwler}},
	{PortRange{123, 123, "udp", "NTP"}, []string{listOwn}},
	{PortRange{135, 135, "tcp", "MS RPC"}, []string{listEC219, listProwler}},
	{PortRange{137, 138, "udp", "NetBIOS"}, []string{listOwn}},
	{PortRange{139, 139, "tcp", "NetBIOS"}, []string{listProwler}},
	{PortRange{143, 143, "tcp", "IMAP"}, []string{listEC219, listProwler}},
	{PortRange{161, 162, "udp", "SNMP"}, []string{listOwn}},
	{PortRange{389, 389, "tcp", "LDAP"}, []string{listProwler}},
	{PortRange{389, 389, "udp", "CLDAP"}, []string{listOwn}},
	{PortRange{445, 445, "tcp", "SMB"}, []string{listEC219, listProwler}},
	{PortRange{464, 464, "tcp", "Kerberos kpasswd"}, []string{listProwler}},
	{PortRange{464, 464, "udp", "Kerberos kpasswd"}, []string{listOwn}},
	{PortRange{636, 636, "tcp", "LDAPS"}, []string{listProwler}},
	{PortRange{749, 749, "tcp", "Kerberos kadmin"}, []string{listProwler}},
	{PortRange{750, 750, "tcp", "Kerberos IV"}, []string{listProwler}},
	{PortRange{1433, 1433, "tcp", "MS SQL"}, []string{listEC219, listProwler}},
	{PortRange{1434, 1434, "tcp", "MS SQL admin connection"}, []string{listEC219, listProwler}},
	{PortRange{1434, 1434, "udp", "MS SQL Browser"}, []string{listOwn}},
	{PortRange{1521, 1521, "tcp", "Oracle"}, []string{listProwler}},
	{PortRange{2049, 2049, "tcp", "NFS"}, []string{listOwn}},
	{PortRange{2375, 2376, "tcp", "Docker API"}, []string{listOwn}},
	{PortRange{2379, 2380, "tcp", "etcd"}, []string{listOwn}},
	{PortRange{2483, 2484, "tcp", "Oracle"}, []string{listProwler}},
	{PortRange{3000, 3000, "tcp", "Grafana and dev web servers"}, []string{listEC219, listProwler}},
	{PortRange{3306, 3306, "tcp", "MySQL"}, []string{listEC219, listProwler, listConfig}},
	{PortRange{3389, 3389, "tcp", "RDP"}, []string{listEC219, listProwler, listCIS, listConfig}},
	{PortRange{3389, 3389, "udp", "RDP"}, []string{listCIS, listConfig}},
	{PortRange{4333, 4333, "tcp", "mSQL"}, []string{listEC219, listProwler, listConfig}},
	{PortRange{5000, 5000, "tcp", "Docker registry and dev web servers"}, []string{listEC219, listProwler}},
	{PortRange{5432, 5432, "tcp", "PostgreSQL"}, []string{listEC219, listProwler}},
	{PortRange{5500, 5500, "tcp", "VNC listener"}, []string{listEC219, listProwler}},
	{PortRange{5601, 5601, "tcp", "Kibana"}, []string{listEC219, listProwler}},
	{PortRange{5900, 5900, "tcp", "VNC"}, []string{listOwn}},
	{PortRange{5985, 5986, "tcp", "WinRM"}, []string{listOwn}},
	{PortRange{6379, 6379, "tcp", "Redis"}, []string{listProwler}},
	{PortRange{6443, 6443, "tcp", "Kubernetes API"}, []string{listOwn}},
	{PortRange{7000, 7001, "tcp", "Cassandra inter-node"}, []string{listProwler}},
	{PortRange{7199, 7199, "tcp", "Cassandra JMX"}, []string{listProwler}},
	{PortRange{8080, 8080, "tcp", "HTTP-alt admin and dev servers"}, []string{listEC219, listProwler}},
	{PortRange{8088, 8088, "tcp", "Hadoop YARN"}, []string{listEC219, listProwler}},
	{PortRange{8888, 8888, "tcp", "Cassandra OpsCenter and Jupyter"}, []string{listEC219, listProwler}},
	{PortRange{9042, 9042, "tcp", "Cassandra"}, []string{listProwler}},
	{PortRange{9092, 9092, "tcp", "Kafka"}, []string{listProwler}},
	{PortRange{9160, 9160, "tcp", "Cassandra Thrift"}, []string{listProwler}},
	{PortRange{9200, 9200, "tcp", "Elasticsearch"}, []string{listEC219, listProwler}},
	{PortRange{9300, 9300, "tcp", "Elasticsearch"}, []string{listEC219, listProwler}},
	{PortRange{10250, 10250, "tcp", "kubelet"}, []string{listOwn}},
	{PortRange{10255, 10255, "tcp", "kubelet read-only"}, []string{listOwn}},
	{PortRange{11211, 11211, "tcp", "Memcached"}, []string{listProwler}},
	{PortRange{11211, 11211, "udp", "Memcached"}, []string{listOwn}},
	{PortRange{27017, 27017, "tcp", "MongoDB"}, []string{listProwler}},
	{PortRange{27018, 27018, "tcp", "MongoDB"}, []string{listProwler}},
}

// sensitivePorts are the catalogue's ranges, as the score reads them.
var sensitivePorts = func() []PortRange {
	out := make([]PortRange, len(builtin))
	for i, e := range builtin {
		out[i] = e.PortRange
	}
	return out
}()

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
