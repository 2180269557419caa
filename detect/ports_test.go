package detect

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestAdoptedPortsAreCritical: each port the catalogue adopted from the
// public lists, and sgwatch's own, is critical from the whole internet on
// the protocol it is listed on, over IPv4 and IPv6; on the other protocol,
// where nothing is listed, it stays high.
func TestAdoptedPortsAreCritical(t *testing.T) {
	user := Actor{Type: "AssumedRole"}
	cases := []struct {
		proto string
		port  int
		want  Severity
		name  string // in the reason, when critical
	}{
		// The issue's: the Kubernetes control plane.
		{"tcp", 10250, Critical, "kubelet (10250)"},
		{"udp", 10250, High, ""},
		{"tcp", 10255, Critical, "kubelet read-only (10255)"},
		{"tcp", 2379, Critical, "etcd (2379-2380)"},
		{"tcp", 2380, Critical, "etcd (2379-2380)"},
		{"udp", 2379, High, ""},
		{"tcp", 6443, Critical, "Kubernetes API (6443)"},
		{"udp", 6443, High, ""},
		// Security Hub EC2.19 and Prowler's high-risk ports.
		{"tcp", 25, Critical, "SMTP (25)"},
		{"tcp", 110, Critical, "POP3 (110)"},
		{"tcp", 143, Critical, "IMAP (143)"},
		{"tcp", 1434, Critical, "MS SQL admin connection (1434)"},
		{"tcp", 3000, Critical, "Grafana and dev web servers (3000)"},
		{"tcp", 4333, Critical, "mSQL (4333)"},
		{"tcp", 5000, Critical, "Docker registry and dev web servers (5000)"},
		{"tcp", 5500, Critical, "VNC listener (5500)"},
		{"tcp", 5601, Critical, "Kibana (5601)"},
		{"tcp", 8080, Critical, "HTTP-alt admin and dev servers (8080)"},
		{"tcp", 8088, Critical, "Hadoop YARN (8088)"},
		{"tcp", 8888, Critical, "Cassandra OpsCenter and Jupyter (8888)"},
		{"udp", 8080, High, ""},
		// Prowler's per-service checks.
		{"tcp", 88, Critical, "Kerberos (88)"},
		{"tcp", 389, Critical, "LDAP (389)"},
		{"tcp", 464, Critical, "Kerberos kpasswd (464)"},
		{"tcp", 636, Critical, "LDAPS (636)"},
		{"tcp", 749, Critical, "Kerberos kadmin (749)"},
		{"tcp", 750, Critical, "Kerberos IV (750)"},
		{"tcp", 2483, Critical, "Oracle (2483-2484)"},
		{"tcp", 2484, Critical, "Oracle (2483-2484)"},
		{"tcp", 7000, Critical, "Cassandra inter-node (7000-7001)"},
		{"tcp", 7199, Critical, "Cassandra JMX (7199)"},
		{"tcp", 9092, Critical, "Kafka (9092)"},
		{"tcp", 9160, Critical, "Cassandra Thrift (9160)"},
		{"tcp", 27018, Critical, "MongoDB (27018)"},
		{"udp", 9092, High, ""},
		// CIS and AWS Config count udp for SSH and RDP.
		{"udp", 22, Critical, "SSH port on udp as CIS counts it (22)"},
		{"udp", 3389, Critical, "RDP (3389)"},
		// The same service on udp.
		{"udp", 88, Critical, "Kerberos (88)"},
		{"udp", 389, Critical, "CLDAP (389)"},
		{"udp", 464, Critical, "Kerberos kpasswd (464)"},
		{"udp", 1434, Critical, "MS SQL Browser (1434)"},
		{"tcp", 2049, Critical, "NFS (2049)"},
		{"udp", 636, High, ""},
		{"udp", 2049, High, ""},
	}
	for _, c := range cases {
		for _, src := range []string{"0.0.0.0/0", "::/0"} {
			t.Run(fmt.Sprintf("%s/%d from %s", c.proto, c.port, src), func(t *testing.T) {
				f := &Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: "AuthorizeSecurityGroupIngress"}, Actor: user,
					Rules: []Rule{rule(Ingress, c.proto, c.port, c.port, src)}}
				(Scoring{}).Score(f)
				if f.Severity != c.want {
					t.Fatalf("severity %s, want %s (reasons %q)", f.Severity, c.want, f.Reasons)
				}
				want := fmt.Sprintf("to %s/%d", c.proto, c.port)
				if c.name != "" {
					want += ": " + c.name
				}
				if !strings.Contains(f.Reasons[0], want) {
					t.Errorf("first reason %q does not say %q", f.Reasons[0], want)
				}
			})
		}
	}
}

// publicList is one of the lists the catalogue is compared with, as
// docs/ports.md cites it: the ports it flags, on the protocols it flags
// them on.
type publicList struct {
	code   string
	protos []string
	ports  []int
}

// publicLists are copies of the lists (docs/ports.md names each source and
// when it was read). Security Hub does not state EC2.19's protocol in the
// copies read: its ports are read as tcp.
var publicLists = []publicList{
	{listEC219, []string{"tcp"}, []int{20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500, 5601, 8080, 8088, 8888, 9200, 9300}},
	// ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_*
	{listProwler, []string{"tcp"}, []int{22, 3389, 23, 20, 21, 3306, 5432, 6379, 1433, 1434, 1521, 2483, 27017, 27018, 11211, 9092, 9200, 9300, 5601, 7199, 9160, 8888}},
	// ..._high_risk_tcp_ports, default ec2_high_risk_ports
	{listProwler, []string{"tcp"}, []int{25, 110, 135, 143, 445, 3000, 4333, 5000, 5500, 8080, 8088}},
	// ec2_instance_port_*_exposed_to_internet
	{listProwler, []string{"tcp"}, []int{7000, 7001, 7199, 9042, 9160, 139, 445, 9200, 9300, 5601, 20, 21, 9092, 88, 464, 749, 750,
		389, 636, 11211, 27017, 27018, 3306, 1521, 2483, 2484, 5432, 3389, 6379, 1433, 1434, 22, 23}},
	{listCIS, []string{"tcp", "udp"}, []int{22, 3389}},
	// restricted-common-ports, then vpc-sg-port-restriction-check
	{listConfig, []string{"tcp"}, []int{20, 21, 3389, 3306, 4333}},
	{listConfig, []string{"tcp", "udp"}, []int{22, 3389}},
}

// TestCatalogueCoversPublicLists: every port a list flags is in the
// catalogue on that protocol, citing the list; and an entry cites a list
// only if the list flags each of its ports, or sgwatch alone.
func TestCatalogueCoversPublicLists(t *testing.T) {
	flags := map[string]map[string]bool{} // code -> "tcp/22"
	for _, l := range publicLists {
		if flags[l.code] == nil {
			flags[l.code] = map[string]bool{}
		}
		for _, proto := range l.protos {
			for _, port := range l.ports {
				key := fmt.Sprintf("%s/%d", proto, port)
				flags[l.code][key] = true
				if !slices.ContainsFunc(builtin, func(e listed) bool {
					return e.Proto == proto && e.From <= port && port <= e.To && slices.Contains(e.Lists, l.code)
				}) {
					t.Errorf("%s flags %s: no catalogue entry holds it citing %s", l.code, key, l.code)
				}
			}
		}
	}
	for _, e := range builtin {
		if e.Proto != "tcp" && e.Proto != "udp" {
			t.Errorf("%s: protocol %q, want tcp or udp (an entry is on one protocol)", e.Name, e.Proto)
		}
		if len(e.Lists) == 0 || (slices.Contains(e.Lists, listOwn) && len(e.Lists) > 1) {
			t.Errorf("%s/%s: lists %q: want the lists that flag it, or sgwatch alone", e.Proto, portText(e.From, e.To), e.Lists)
		}
		for _, code := range e.Lists {
			for port := e.From; port <= e.To && code != listOwn; port++ {
				if !flags[code][fmt.Sprintf("%s/%d", e.Proto, port)] {
					t.Errorf("%s/%d (%s) cites %s, which does not flag it", e.Proto, port, e.Name, code)
				}
			}
		}
		for code, ports := range flags {
			for port := e.From; port <= e.To && !slices.Contains(e.Lists, code); port++ {
				if ports[fmt.Sprintf("%s/%d", e.Proto, port)] {
					t.Errorf("%s/%d (%s): %s flags it, but the entry does not cite it", e.Proto, port, e.Name, code)
				}
			}
		}
	}
}

// portsDoc is the page that holds the catalogue's table.
const portsDoc = "../docs/ports.md"

// TestPortsDocMatchesCatalogue: the table of docs/ports.md is the
// catalogue, row for row, so that the two cannot drift. On a difference it
// prints the table the code holds.
func TestPortsDocMatchesCatalogue(t *testing.T) {
	b, err := os.ReadFile(portsDoc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := catalogueTable(string(b))
	if err != nil {
		t.Fatalf("%s: %v", portsDoc, err)
	}
	want := make([]string, len(builtin))
	for i, e := range builtin {
		want[i] = fmt.Sprintf("| %s | %s | %s | %s |", portText(e.From, e.To), e.Proto, e.Name, strings.Join(e.Lists, ", "))
	}
	if slices.Equal(got, want) {
		return
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s lacks the row %s", portsDoc, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("%s has a row the catalogue does not: %s", portsDoc, g)
		}
	}
	t.Errorf("the table of %s differs from detect/ports.go; the catalogue's table, in its order:\n%s\n%s", portsDoc, catalogueHeader, strings.Join(want, "\n"))
}

// catalogueHeader starts the table in docs/ports.md.
const catalogueHeader = "| port | protocol | service | flagged by |\n|---|---|---|---|"

// catalogueTable returns the rows of the table that starts with
// catalogueHeader, each with its cells trimmed and single-spaced.
func catalogueTable(doc string) ([]string, error) {
	at := strings.Index(doc, catalogueHeader+"\n")
	if at < 0 {
		return nil, fmt.Errorf("no table starting %q", catalogueHeader)
	}
	var rows []string
	for _, line := range strings.Split(doc[at+len(catalogueHeader)+1:], "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "| "), "|")
		for i := range cells {
			cells[i] = strings.Join(strings.Fields(strings.ReplaceAll(cells[i], "`", "")), " ")
		}
		rows = append(rows, "| "+strings.Join(cells, " | ")+" |")
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("the table starting %q has no rows", catalogueHeader)
	}
	return rows, nil
}
