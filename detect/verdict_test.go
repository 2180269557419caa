package detect

import (
	"github.com/sgwatch/sgwatch/cloudtrail"

	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// trail builds a CloudTrail record of a security-group call as CloudTrail
// writes it, with the given requestParameters and responseElements JSON
// (and optional extra top-level fields).
func trail(name, params, response, extra string) []byte {
	if response == "" {
		response = "null"
	}
	if extra != "" {
		extra = "," + extra
	}
	return []byte(`{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:alice",
"arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice","accountId":"111122223333","accessKeyId":"ASIAEXAMPLEEXAMPLE01",
"sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/Admin","userName":"Admin"},
"attributes":{"creationDate":"2026-11-20T09:00:00Z","mfaAuthenticated":"true"}}},
"eventTime":"2026-11-20T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"` + name + `","awsRegion":"eu-west-1",
"sourceIPAddress":"198.51.100.23","userAgent":"aws-cli/2.17.0","requestParameters":` + params + `,
"responseElements":` + response + `,"requestID":"r-1","eventID":"e-1","eventType":"AwsApiCall","recipientAccountId":"111122223333"` + extra + `}`)
}

// ingress is requestParameters of an authorize with one permission per
// entry of perms (each a JSON object).
func ingress(perms ...string) string {
	return `{"groupId":"sg-0123456789abcdef0","ipPermissions":{"items":[` + strings.Join(perms, ",") + `]}}`
}

// perm is one permission: protocol, ports and sources (each "cidr" or
// "v6:cidr").
func perm(proto string, from, to any, sources ...string) string {
	var v4, v6 []string
	for _, s := range sources {
		if c, ok := strings.CutPrefix(s, "v6:"); ok {
			v6 = append(v6, fmt.Sprintf(`{"cidrIpv6":%q}`, c))
		} else {
			v4 = append(v4, fmt.Sprintf(`{"cidrIp":%q}`, s))
		}
	}
	ports := ""
	if from != nil {
		b1, _ := json.Marshal(from)
		b2, _ := json.Marshal(to)
		ports = fmt.Sprintf(`,"fromPort":%s,"toPort":%s`, b1, b2)
	}
	return fmt.Sprintf(`{"ipProtocol":%q%s,"ipRanges":{"items":[%s]},"ipv6Ranges":{"items":[%s]},"groups":{},"prefixListIds":{}}`,
		proto, ports, strings.Join(v4, ","), strings.Join(v6, ","))
}

// verdict is one row of a table of records and what sgwatch must say.
type verdict struct {
	name     string
	rec      []byte
	severity Severity
	reason   string // a substring of some reason ("" for none)
	exposure string // a substring of some rule's Exposure ("" for none)
	note     string // a substring of some note ("" for none)
}

func runVerdicts(t *testing.T, cases []verdict) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := parseOne(t, c.rec)
			if f == nil {
				t.Fatal("no finding")
			}
			if f.Severity != c.severity {
				t.Errorf("severity %s, want %s; reasons %q", f.Severity, c.severity, f.Reasons)
			}
			if c.reason != "" && !anyContains(f.Reasons, c.reason) {
				t.Errorf("reasons %q do not say %q", f.Reasons, c.reason)
			}
			var exposures []string
			for _, r := range f.Rules {
				exposures = append(exposures, r.Exposure)
			}
			if c.exposure != "" && !anyContains(exposures, c.exposure) {
				t.Errorf("rule exposures %q do not say %q", exposures, c.exposure)
			}
			if c.note != "" && !anyContains(f.Notes, c.note) {
				t.Errorf("notes %q do not say %q", f.Notes, c.note)
			}
			if c.note == "" && len(f.Notes) > 0 {
				t.Errorf("unexpected notes %q", f.Notes)
			}
		})
	}
}

func anyContains(list []string, s string) bool {
	for _, v := range list {
		if strings.Contains(v, s) {
			return true
		}
	}
	return false
}

// TestWholeInternetHoweverWritten is issue 8, item 1: the sources of a call
// that together cover 1/16 or more of the public IPv4 or IPv6 space are
// the whole internet, and a source that cannot be read in a
// succeeded call fails closed.
func TestWholeInternetHoweverWritten(t *testing.T) {
	auth := func(perms ...string) []byte {
		return trail("AuthorizeSecurityGroupIngress", ingress(perms...), `{"_return":true}`, "")
	}
	runVerdicts(t, []verdict{
		// Each /5 here is 3.6 % of public IPv4: two are past the threshold.
		{"two /5s", auth(perm("tcp", 22, 22, "32.0.0.0/5", "40.0.0.0/5")), Critical,
			"ingress from 40.0.0.0/5 (together with 32.0.0.0/5: the whole IPv4 internet) to tcp/22: SSH (22)", "together with 32.0.0.0/5", ""},
		{"four /6s", auth(perm("tcp", 3389, 3389, "32.0.0.0/6", "36.0.0.0/6", "40.0.0.0/6", "44.0.0.0/6")), Critical,
			"RDP", "together with 32.0.0.0/6 and 2 more: the whole IPv4 internet", ""},
		{"/5s in two permissions", auth(perm("tcp", 22, 22, "32.0.0.0/5"), perm("tcp", 22, 22, "40.0.0.0/5")), Critical, "SSH", "together with", ""},
		{"eight /7s of https", auth(perm("tcp", 443, 443, "32.0.0.0/7", "34.0.0.0/7", "36.0.0.0/7", "38.0.0.0/7", "40.0.0.0/7", "42.0.0.0/7", "44.0.0.0/7", "46.0.0.0/7")), High,
			"the whole IPv4 internet) to tcp/443", "together with", ""},
		// The threshold, 1/16 of public space, from both sides.
		{"a half alone", auth(perm("tcp", 22, 22, "0.0.0.0/1")), Critical,
			"covers 1/16 or more of the public IPv4 space", "covers 1/16 or more", ""},
		{"46 % of public IPv4", auth(perm("tcp", 22, 22, "128.0.0.0/2", "192.0.0.0/3", "0.0.0.0/6", "4.0.0.0/7")), Critical, "SSH (22)", "the whole IPv4 internet", ""},
		{"a quarter alone", auth(perm("tcp", 22, 22, "64.0.0.0/2")), Critical, "covers 1/16 or more of the public IPv4 space", "", ""},
		{"a /4 is 7.2 %", auth(perm("tcp", 22, 22, "16.0.0.0/4")), Critical, "the whole IPv4 internet", "", ""},
		{"14 public /8s are 6.3 %", auth(perm("tcp", 22, 22, "0.0.0.0/4")), Critical, "the whole IPv4 internet", "", ""},
		{"13 public /8s are 5.9 %", auth(perm("tcp", 22, 22, "0.0.0.0/5", "8.0.0.0/6", "12.0.0.0/7", "14.0.0.0/8")), Medium, "a public range broader than /16", "", ""},
		{"a /8 is a broad range", auth(perm("tcp", 22, 22, "52.0.0.0/8")), Medium, "52.0.0.0/8 (public) to tcp/22: SSH (22)", "", ""},
		// IPv6 is measured against the registries' blocks (2000::/4 holds every one).
		{"2000::/4", auth(perm("tcp", 22, 22, "v6:2000::/4")), Critical, "covers 1/16 or more of the public IPv6 space", "", ""},
		{"one registry's /12", auth(perm("tcp", 22, 22, "v6:2600::/12")), Critical, "the whole IPv6 internet", "", ""},
		{"half a registry's /12", auth(perm("tcp", 22, 22, "v6:2600::/13")), Medium, "2600::/13, a public range broader than /48", "", ""},
		{"reserved 3000::/4 reaches nobody yet", auth(perm("tcp", 22, 22, "v6:3000::/4")), Medium, "3000::/4, a public range broader than /48", "", ""},
		{"ipv6 ::/1", auth(perm("tcp", 22, 22, "v6:::/1")), Critical, "SSH", "the whole IPv4 and IPv6 internet", ""},
		{"all global unicast", auth(perm("tcp", 5432, 5432, "v6:2000::/3")), Critical, "PostgreSQL", "the whole IPv6 internet", ""},
		{"registry space in two", auth(perm("tcp", 22, 22, "v6:2600::/13", "v6:2001:8000::/19")), Critical, "SSH", "together with 2001:8000::/19", ""},
		{"all IPv4, mapped", auth(perm("tcp", 3389, 3389, "v6:::ffff:0:0/96")), Critical, "RDP", "as IPv4-mapped addresses", ""},
		{"part IPv4-mapped and part plain", auth(perm("tcp", 22, 22, "v6:::ffff:32.0.0.0/101", "40.0.0.0/5")), Critical, "SSH", "together with", ""},
		{"unreadable cidr /00", auth(perm("tcp", 22, 22, "0.0.0.0/00")), Critical,
			"0.0.0.0/00 (source not understood: counted as the whole internet)", "source not understood", ""},
		{"unreadable cidr 0/0", auth(perm("tcp", 443, 443, "0/0")), High, "0/0 (source not understood", "source not understood", ""},
		{"stray space inside", auth(perm("tcp", 22, 22, "0.0.0.0 /0")), Critical, "source not understood", "source not understood", ""},
		{"stray spaces around", auth(perm("tcp", 22, 22, " 0.0.0.0/0 ")), Critical, "SSH", "", ""},
		{"odd address with /0", auth(perm("tcp", 22, 22, "208.236.235.254/0")), Critical, "208.236.235.254/0 (whole internet)", "", ""},
		// Broad public ranges keep their lower level.
		{"a /5 is broad, not whole", auth(perm("tcp", 22, 22, "40.0.0.0/5")), Medium, "a public range broader than /16", "", ""},
		{"two /5s on different ports", auth(perm("tcp", 22, 22, "32.0.0.0/5"), perm("tcp", 23, 23, "40.0.0.0/5")), Medium, "broader than /16", "", ""},
		{"ssh from a /5, every port from another", auth(perm("tcp", 22, 22, "32.0.0.0/5"), perm("tcp", 0, 65535, "40.0.0.0/5")), Critical,
			"ingress from 32.0.0.0/5 (together with 40.0.0.0/5: the whole IPv4 internet on tcp/22) to tcp/22: SSH (22)", "on tcp/22", ""},
		{"rdp over all traffic and udp", auth(perm("-1", nil, nil, "32.0.0.0/5"), perm("udp", 3000, 4000, "40.0.0.0/5")), Critical, "on udp/3389", "on udp/3389", ""},
		// Splits that avoid the first port of a sensitive range (red team).
		{"ftp/21 split", auth(perm("tcp", 21, 21, "40.0.0.0/5"), perm("tcp", 21, 25, "32.0.0.0/5")), Critical, "on tcp/21", "on tcp/21", ""},
		{"snmp udp/162 split", auth(perm("udp", 162, 162, "40.0.0.0/5"), perm("udp", 162, 170, "32.0.0.0/5")), Critical, "on udp/162", "on udp/162", ""},
		{"docker tcp/2376 split", auth(perm("tcp", 2376, 2376, "40.0.0.0/5"), perm("tcp", 2376, 2400, "32.0.0.0/5")), Critical, "Docker API", "on tcp/2376", ""},
		{"https split across ranges stays broad", auth(perm("tcp", 443, 443, "32.0.0.0/5"), perm("tcp", 440, 443, "40.0.0.0/5")), Medium, "broader than /16", "", ""},
		{"private space adds nothing", auth(perm("tcp", 22, 22, "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")), Low, "adds or changes rules", "", ""},
		{"a /5 alone is broad", auth(perm("tcp", 22, 22, "32.0.0.0/5")), Medium, "32.0.0.0/5 (public) to tcp/22: SSH (22)", "", ""},
		{"documentation ipv6 is not public", auth(perm("tcp", 22, 22, "v6:2001:db8::/32")), Low, "adds", "", ""},
		{"egress /5s", trail("AuthorizeSecurityGroupEgress", ingress(perm("-1", nil, nil, "32.0.0.0/5", "40.0.0.0/5")), "", ""), Medium,
			"egress to 40.0.0.0/5 (together with 32.0.0.0/5: the whole IPv4 internet), all traffic", "together with", ""},
		{"revoke of /5s", trail("RevokeSecurityGroupIngress", ingress(perm("tcp", 22, 22, "32.0.0.0/5", "40.0.0.0/5")), `{"_return":true}`, ""), Info, "revokes", "", ""},
	})
}

// TestProtocolsAndPortsAsEC2ReadsThem is issue 8, item 2.
func TestProtocolsAndPortsAsEC2ReadsThem(t *testing.T) {
	auth := func(perms ...string) []byte {
		return trail("AuthorizeSecurityGroupIngress", ingress(perms...), `{"_return":true}`, "")
	}
	world := "0.0.0.0/0"
	runVerdicts(t, []verdict{
		{"06 is tcp", auth(perm("06", 22, 22, world)), Critical, "tcp/22: SSH (22)", "", ""},
		{"006 is tcp", auth(perm("006", 22, 22, world)), Critical, "SSH (22)", "", ""},
		{"+6 is tcp", auth(perm("+6", 22, 22, world)), Critical, "SSH (22)", "", ""},
		{"TCP is tcp", auth(perm("TCP", 22, 22, world)), Critical, "SSH (22)", "", ""},
		{"-1 is all", auth(perm("-1", nil, nil, world)), Critical, "all traffic: every port", "", ""},
		{"017 is udp", auth(perm("017", 53, 53, world)), Critical, "udp/53: DNS (53)", "", ""},
		{"58 is icmpv6", auth(perm("58", -1, -1, "v6:::/0")), High, "icmpv6 (all types)", "", ""},
		{"udp/22 counts as CIS counts it", auth(perm("udp", 22, 22, world)), Critical, "udp/22: SSH port on udp as CIS counts it (22)", "", ""},
		{"udp/23 is not telnet", auth(perm("udp", 23, 23, world)), High, "to udp/23", "", ""},
		{"tcp/53 is not dns", auth(perm("tcp", 53, 53, world)), High, "to tcp/53", "", ""},
		{"ntp is udp", auth(perm("udp", 123, 123, world)), Critical, "NTP (123)", "", ""},
		{"snmp is udp", auth(perm("udp", 160, 162, world)), Critical, "SNMP (161-162)", "", ""},
		{"rdp over udp", auth(perm("udp", 3389, 3389, world)), Critical, "RDP (3389)", "", ""},
		{"memcached over udp", auth(perm("17", 11211, 11211, world)), Critical, "Memcached (11211)", "", ""},
		{"unknown protocol name counts as all", auth(perm("tcpx", 443, 443, world)), Critical, `protocol "tcpx" (not understood: counted as all traffic)`, "", ""},
		{"protocol 300 counts as all", auth(perm("300", nil, nil, world)), Critical, "not understood: counted as all traffic", "", ""},
		{"gre is not ports", auth(perm("47", nil, nil, world)), High, "protocol 47", "", ""},
		// A field that cannot be read: a note, and the score fails closed.
		{"port 70000 counts as every port", auth(perm("tcp", 70000, 70000, world)), Critical, "every port",
			"", "requestParameters.ipPermissions[0].fromPort: port 70000 is out of range -1..65535"},
		{"all traffic with port 70000", auth(perm("-1", 70000, 70000, world)), Critical, "all traffic", "", "port 70000 is out of range"},
		{"port ssh", auth(perm("tcp", "ssh", "ssh", world)), Critical, "every port", "", `want a port number, got "ssh"`},
		{"port as an object", auth(perm("tcp", map[string]int{"a": 1}, 22, world)), Critical, "every port", "", "fromPort: want a string, got an object"},
		{"protocol as an object", trail("AuthorizeSecurityGroupIngress", ingress(`{"ipProtocol":{"x":1},"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}`), "", ""), Critical,
			"unknown protocol (counted as all traffic)", "", "ipProtocol: want a string, got an object"},
		{"cidr as an object", trail("AuthorizeSecurityGroupIngress", ingress(`{"ipProtocol":"tcp","fromPort":443,"toPort":443,"ipRanges":{"items":[{"cidrIp":{"v":"10.0.0.0/8"}}]}}`), "", ""), High,
			"a source that could not be read (counted as the whole internet)", "source not understood", "cidrIp: want a string, got an object"},
		{"ip range that is a string", trail("AuthorizeSecurityGroupIngress", ingress(`{"ipProtocol":"tcp","fromPort":443,"toPort":443,"ipRanges":{"items":["0.0.0.0/0"]}}`), "", ""), High,
			"could not be read", "source not understood", "want an object, got a string"},
		{"ip ranges that are a string", trail("AuthorizeSecurityGroupIngress", ingress(`{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":"0.0.0.0/0"}`), "", ""), Critical,
			"SSH", "source not understood", "ipRanges: want an object or a list, got a string"},
		{"permissions that are a string", trail("AuthorizeSecurityGroupIngress", `{"groupId":"sg-0123456789abcdef0","ipPermissions":"tcp 22 0.0.0.0/0"}`, "", ""), Critical,
			"every port", "source not understood", "ipPermissions: want an object or a list"},
		{"request parameters that are a list", trail("AuthorizeSecurityGroupIngress", `[1]`, "", ""), Critical,
			"could not be read", "", "requestParameters: want an object, got a list"},
		{"no rules at all", trail("AuthorizeSecurityGroupIngress", `{"groupId":"sg-0123456789abcdef0"}`, `{"_return":true}`, ""), Critical,
			"could not be read", "source not understood", ""},
		{"mfa yes", trail("CreateSecurityGroup", `{"groupName":"x","groupDescription":"d","vpcId":"vpc-1"}`, `{"groupId":"sg-0123456789abcdef0"}`, ""), Low, "creates", "", ""},
		{"errorCode as an object counts as succeeded", trail("AuthorizeSecurityGroupIngress", ingress(perm("tcp", 22, 22, world)), "", `"errorCode":{"x":1}`), Critical,
			"SSH", "", "errorCode: want a string, got an object"},
	})

	// mfaAuthenticated "yes" and eventTime {}: the finding is there, the
	// fields are unknown, and each is a note.
	data := []byte(strings.Replace(strings.Replace(string(trail("DeleteSecurityGroup", `{"groupId":"sg-0123456789abcdef0"}`, `{"_return":true}`, "")),
		`"mfaAuthenticated":"true"`, `"mfaAuthenticated":"yes"`, 1), `"eventTime":"2026-11-20T10:00:00Z"`, `"eventTime":{}`, 1))
	f := parseOne(t, data)
	if f == nil || f.Actor.MFAAuthenticated != nil || f.Event.Time != "" || f.Severity != Low ||
		!anyContains(f.Notes, `userIdentity.sessionContext.attributes.mfaAuthenticated: want a boolean, got "yes"`) ||
		!anyContains(f.Notes, "eventTime: want a string, got an object") {
		t.Errorf("mfa yes and eventTime {}: %+v", f)
	}
	// userIdentity that is not an object: still a finding, with a note.
	data = []byte(strings.Replace(string(trail("DeleteSecurityGroup", `{"groupId":"sg-0123456789abcdef0"}`, "", "")),
		`"userIdentity":{`, `"userIdentity":"x","ignored":{`, 1))
	if f := parseOne(t, data); f == nil || !anyContains(f.Notes, "userIdentity: want") {
		t.Errorf("userIdentity a string: %+v", f)
	}
	// Many unreadable fields: the notes are bounded and count the rest.
	var perms []string
	for i := range 40 {
		perms = append(perms, perm("tcp", 70000+i, 22, "10.0.0.0/8"))
	}
	f = parseOne(t, trail("AuthorizeSecurityGroupIngress", ingress(perms...), "", ""))
	if f == nil || len(f.Notes) != cloudtrail.MaxFlaws+1 || !strings.Contains(f.Notes[cloudtrail.MaxFlaws], "30 more fields") {
		t.Errorf("40 unreadable ports: %d notes %q", len(f.Notes), f.Notes)
	}
}

// TestUndoNeverRestoresWhatWasNotThere is issue 8, item 3.
func TestUndoNeverRestoresWhatWasNotThere(t *testing.T) {
	const (
		group = "sg-0123456789abcdef0"
		base  = "aws ec2 authorize-security-group-ingress --region eu-west-1 --group-id " + group + " --ip-permissions "
	)
	ssh := perm("tcp", 22, 22, "0.0.0.0/0")
	web := perm("tcp", 443, 443, "0.0.0.0/0")
	revokedSSH := `{"groupId":"` + group + `","securityGroupRuleId":"sgr-0aaaaaaaaaaaaaaa1","isEgress":false,"ipProtocol":"tcp","fromPort":22,"toPort":22,"cidrIpv4":"0.0.0.0/0"}`
	cases := []struct {
		name     string
		params   string
		response string
		severity Severity
		reason   string
		command  string // exact; "" for none
		note     string
		unmatch  int // rules marked unmatched
	}{
		{"nothing matched", ingress(ssh), `{"_return":true,"unknownIpPermissionSet":{"items":[` + ssh + `]}}`,
			Info, "no rule matched: nothing changed", "", "no rule matched; nothing changed", 1},
		{"one of two matched", ingress(ssh, web), `{"_return":true,"unknownIpPermissionSet":{"items":[` + ssh + `]}}`,
			Info, "1 of the 2 rules named did not exist",
			base + `'[{"IpProtocol":"tcp","FromPort":443,"ToPort":443,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]'`, "restores only the 1 rules that existed", 1},
		{"revoked set says what went", ingress(ssh), `{"_return":true,"revokedSecurityGroupRuleSet":{"items":[` + revokedSSH + `]}}`,
			Info, "revokes rules", base + `'[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]'`, "without their descriptions", 0},
		{"by rule id with the revoked set", `{"groupId":"` + group + `","securityGroupRuleIds":{"items":[{"securityGroupRuleId":"sgr-0aaaaaaaaaaaaaaa1"}]}}`,
			`{"_return":true,"revokedSecurityGroupRuleSet":{"items":[` + revokedSSH + `]}}`,
			Info, "revokes rules", base + `'[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]'`, "without their descriptions", 0},
		{"response says neither", ingress(ssh), `{"_return":true}`,
			Info, "revokes rules", "", "does not say which of the rules named existed", 0},
		{"unknown set unreadable", ingress(ssh), `{"_return":true,"unknownIpPermissionSet":"x"}`,
			Info, "revokes rules", "", "does not say which of the rules named existed", 0},
		// Found by a red-team pass: AWS may write what it did not find
		// differently from the request.
		{"unknown set masks the host bits", ingress(perm("tcp", 22, 22, "1.2.3.4/0")), `{"_return":true,"unknownIpPermissionSet":{"items":[` + ssh + `]}}`,
			Info, "no rule matched", "", "no rule matched; nothing changed", 1},
		{"unknown set masks a /8", ingress(perm("tcp", 80, 80, "10.1.2.3/8")), `{"_return":true,"unknownIpPermissionSet":{"items":[` + perm("tcp", 80, 80, "10.0.0.0/8") + `]}}`,
			Info, "no rule matched", "", "no rule matched; nothing changed", 1},
		{"icmp ports -1 against none", ingress(perm("icmp", -1, -1, "0.0.0.0/0")), `{"_return":true,"unknownIpPermissionSet":{"items":[` + perm("icmp", nil, nil, "0.0.0.0/0") + `]}}`,
			Info, "no rule matched", "", "no rule matched; nothing changed", 1},
		{"tcp without ports against -1", ingress(perm("tcp", nil, nil, "0.0.0.0/0")), `{"_return":true,"unknownIpPermissionSet":{"items":[` + perm("tcp", -1, -1, "0.0.0.0/0") + `]}}`,
			Info, "no rule matched", "", "no rule matched; nothing changed", 1},
		{"unknown set names what the request did not", ingress(ssh), `{"_return":true,"unknownIpPermissionSet":{"items":[` + web + `]}}`,
			Info, "revokes rules", "", "does not say which of the rules named existed", 0},
		{"revoked set lists fewer rules than the request", ingress(ssh, perm("tcp", 3389, 3389, "0.0.0.0/0")), `{"_return":true,"revokedSecurityGroupRuleSet":{"items":[` + revokedSSH + `]}}`,
			Info, "1 of the 2 rules named did not exist", base + `'[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]'`, "restores only the 1 rules", 1},
		{"revoked set says egress in an ingress call", `{"groupId":"` + group + `","securityGroupRuleIds":{"items":[{"securityGroupRuleId":"sgr-0aaaaaaaaaaaaaaa1"}]}}`,
			`{"_return":true,"revokedSecurityGroupRuleSet":{"items":[{"securityGroupRuleId":"sgr-0aaaaaaaaaaaaaaa1","isEgress":true,"ipProtocol":"-1","cidrIpv4":"0.0.0.0/0"}]}}`,
			Info, "revokes rules", "", "it would act on the wrong direction", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := parseOne(t, trail("RevokeSecurityGroupIngress", c.params, c.response, ""))
			if f.Severity != c.severity || !anyContains(f.Reasons, c.reason) {
				t.Errorf("severity %s reasons %q, want %s and %q", f.Severity, f.Reasons, c.severity, c.reason)
			}
			if f.Undo.Command != c.command {
				t.Errorf("command\n got %q\nwant %q", f.Undo.Command, c.command)
			}
			if !strings.Contains(f.Undo.Note, c.note) {
				t.Errorf("note %q, want %q", f.Undo.Note, c.note)
			}
			n := 0
			for _, r := range f.Rules {
				if r.Unmatched {
					n++
				}
				if r.Source() == "" {
					t.Errorf("rule without its details: %+v", r)
				}
			}
			if n != c.unmatch {
				t.Errorf("%d rules unmatched, want %d", n, c.unmatch)
			}
		})
	}

	// A revoked-set rule without isEgress takes the call's direction.
	f := parseOne(t, trail("RevokeSecurityGroupEgress", ingress(perm("-1", nil, nil, "0.0.0.0/0")),
		`{"_return":true,"revokedSecurityGroupRuleSet":{"items":[{"securityGroupRuleId":"sgr-0aaaaaaaaaaaaaaa2","ipProtocol":"-1","fromPort":-1,"toPort":-1,"cidrIpv4":"0.0.0.0/0"}]}}`, ""))
	if want := "aws ec2 authorize-security-group-egress --region eu-west-1 --group-id " + group + ` --ip-permissions '[{"IpProtocol":"-1","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]'`; f.Undo.Command != want || len(f.Rules) != 1 || f.Rules[0].Direction != Egress {
		t.Errorf("egress revoke without isEgress: rules %+v, undo %+v", f.Rules, f.Undo)
	}

	// InvalidPermission.Duplicate: the rule exists; what it allows is scored.
	dup := func(p string) []byte {
		return trail("AuthorizeSecurityGroupIngress", ingress(p), "",
			`"errorCode":"Client.InvalidPermission.Duplicate","errorMessage":"the specified rule \"peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW\" already exists"`)
	}
	runVerdicts(t, []verdict{
		{"duplicate world ssh is high", dup(ssh), High, "already allowed: ingress from 0.0.0.0/0 (whole internet) to tcp/22: SSH (22)", "", ""},
		{"duplicate world https is high", dup(web), High, "already allowed: ingress from 0.0.0.0/0 (whole internet) to tcp/443", "", ""},
		{"duplicate private is info", dup(perm("tcp", 22, 22, "10.0.0.0/8")), Info, "the rule already exists", "", ""},
	})
	f = parseOne(t, dup(ssh))
	if f.Undo.Command != "" || !strings.Contains(f.Undo.Note, "already existed before this call") {
		t.Errorf("duplicate undo %+v", f.Undo)
	}

	// ModifySecurityGroupRules does not say the direction: scored as
	// ingress, and the reasons say so.
	modify := `{"ModifySecurityGroupRulesRequest":{"GroupId":"` + group + `","SecurityGroupRule":{"SecurityGroupRuleId":"sgr-0aaaaaaaaaaaaaaa1",
"SecurityGroupRule":{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"CidrIpv4":"0.0.0.0/0"}}}}`
	runVerdicts(t, []verdict{
		{"modify is scored as ingress", trail("ModifySecurityGroupRules", modify, `{"return":true}`, ""), Critical, "direction assumed ingress", "", ""},
	})
	// Once the direction is known (live context), the score follows it.
	f = parseOne(t, trail("ModifySecurityGroupRules", modify, `{"return":true}`, ""))
	f.Rules[0].Direction = Egress
	Scoring{}.Score(f)
	if f.Severity != Medium || anyContains(f.Reasons, "assumed") {
		t.Errorf("modify found to be egress: %s %q", f.Severity, f.Reasons)
	}
}

// TestCallsTable: every call has its one entry, and the sample named in it
// shows that call.
func TestCallsTable(t *testing.T) {
	if len(calls) != 20 || len(byName) != len(calls) {
		t.Fatalf("%d calls, %d names", len(calls), len(byName))
	}
	for _, c := range calls {
		t.Run(c.Name, func(t *testing.T) {
			data, err := readSample(c.Sample)
			if err != nil {
				t.Fatal(err)
			}
			f := parseOne(t, data)
			if f == nil || f.Event.Name != c.Name || f.Action != c.Action {
				t.Fatalf("events/%s gives %+v, want a %s", c.Sample, f, c.Name)
			}
			if c.Effect != OnGroup && c.Effect != AttachesGroups && c.Effect != ChangesList && c.Effect != ChangesBlockPublicAccess && c.Effect != ChangesTags && len(f.Rules) == 0 {
				t.Errorf("events/%s: no rules", c.Sample)
			}
			for _, r := range f.Rules {
				if c.Direction != "" && r.Direction != c.Direction {
					t.Errorf("rule direction %q, want %q", r.Direction, c.Direction)
				}
			}
			if got, ok := Lookup(c.Name); !ok || got.Name != c.Name {
				t.Errorf("Lookup(%s) = %+v, %v", c.Name, got, ok)
			}
		})
	}
	if _, ok := Lookup("DescribeSecurityGroups"); ok {
		t.Error("Lookup finds a call sgwatch does not report")
	}
}

// TestManyRulesAreLinear: 20,000 rules in one call with their ids in the
// response parse in well under a second (it took 59 s when matching was
// quadratic); the benchmark BenchmarkManyRules measures it.
func TestManyRulesAreLinear(t *testing.T) {
	f := parseOne(t, manyRules(20000))
	if len(f.Rules) != 20000 || f.Rules[19999].RuleID != fmt.Sprintf("sgr-%017x", 19999) {
		t.Fatalf("%d rules, last %+v", len(f.Rules), f.Rules[len(f.Rules)-1])
	}
}

// manyRules is an authorize of n public /32 sources to tcp/22 with their
// rule ids in the response.
func manyRules(n int) []byte {
	var req, resp []string
	for i := range n {
		ip := fmt.Sprintf("52.%d.%d.%d/32", i>>16&255, i>>8&255, i&255)
		req = append(req, fmt.Sprintf(`{"cidrIp":%q}`, ip))
		resp = append(resp, fmt.Sprintf(`{"groupId":"sg-0123456789abcdef0","securityGroupRuleId":"sgr-%017x","isEgress":false,"ipProtocol":"tcp","fromPort":22,"toPort":22,"cidrIpv4":%q}`, i, ip))
	}
	params := `{"groupId":"sg-0123456789abcdef0","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[` + strings.Join(req, ",") + `]}}]}}`
	return trail("AuthorizeSecurityGroupIngress", params, `{"_return":true,"securityGroupRuleSet":{"items":[`+strings.Join(resp, ",")+`]}}`, "")
}

func readSample(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("..", "events", name))
}

// TestExtraPortsSplit: an EXTRA_SENSITIVE_PORTS range is added up at every
// port where the rules allowing it change, not only at its first port.
func TestExtraPortsSplit(t *testing.T) {
	o := Scoring{ExtraPorts: []PortRange{{9000, 9100, "", "EXTRA_SENSITIVE_PORTS"}}}
	b, err := Parse(trail("AuthorizeSecurityGroupIngress", ingress(perm("tcp", 9050, 9050, "40.0.0.0/5"), perm("tcp", 9040, 9060, "32.0.0.0/5")), "", ""), o)
	if err != nil || len(b.Findings) != 1 {
		t.Fatal(b, err)
	}
	if f := b.Findings[0]; f.Severity != Critical || !anyContains(f.Reasons, "the whole IPv4 internet on tcp/9050") {
		t.Errorf("severity %s, reasons %q", f.Severity, f.Reasons)
	}
}

// TestUnreadableChangesFailClosed: a call whose new rule content or ports
// cannot be read as EC2 would have read them is not understood, scored at
// its widest, with a note.
func TestUnreadableChangesFailClosed(t *testing.T) {
	modify := func(entry string) []byte {
		return trail("ModifySecurityGroupRules",
			`{"ModifySecurityGroupRulesRequest":{"GroupId":"sg-0123456789abcdef0","SecurityGroupRule":{"SecurityGroupRuleId":"sgr-0100000000000000a"`+entry+`,"tag":1}}}`,
			`{"ModifySecurityGroupRulesResponse":{"return":true}}`, "")
	}
	auth := func(perms ...string) []byte {
		return trail("AuthorizeSecurityGroupIngress", ingress(perms...), `{"_return":true}`, "")
	}
	const noContent = "no new rule content"
	runVerdicts(t, []verdict{
		{"modify with empty content", modify(`,"SecurityGroupRule":{}`), Critical, "source that could not be read", "source not understood", noContent},
		{"modify under another key", modify(`,"Rule":{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"CidrIpv4":"0.0.0.0/0"}`), Critical, "", "source not understood", noContent},
		{"modify flat", modify(`,"IpProtocol":"tcp","FromPort":22,"ToPort":22,"CidrIpv4":"0.0.0.0/0"`), Critical, "", "source not understood", noContent},
		{"modify read", modify(`,"SecurityGroupRule":{"IpProtocol":"tcp","FromPort":443,"ToPort":443,"CidrIpv4":"10.0.0.0/8"}`), Low, "", "", ""},
		{"reversed 65535-0 from the world", auth(perm("tcp", 65535, 0, "0.0.0.0/0")), Critical, "every port", "", "port range 65535-0 ends before it starts"},
		{"reversed 3390-3388 around rdp", auth(perm("tcp", 3390, 3388, "0.0.0.0/0")), Critical, "", "", "port range 3390-3388 ends before it starts"},
		{"reversed udp from a private range", auth(perm("udp", 200, 100, "10.0.0.0/8")), Low, "", "", "port range 200-100 ends before it starts"},
		{"icmp type and code are not a range", auth(perm("icmp", 8, 0, "0.0.0.0/0")), High, "", "", ""},
	})
}

// TestTooManyPortsFailsClosed: a call with more ports to add up than
// sensitiveReach looks at counts every public source that allows a
// sensitive port as the whole internet, rather than missing a split.
func TestTooManyPortsFailsClosed(t *testing.T) {
	o := Scoring{ExtraPorts: []PortRange{{1000, 20000, "", "EXTRA_SENSITIVE_PORTS"}}}
	var perms []string
	for port := 1001; len(perms) < maxProbes/2+100; port += 2 {
		perms = append(perms, perm("tcp", port, port, "10.0.0.0/8"))
	}
	split := []string{perm("tcp", 8000, 8443, "32.0.0.0/5"), perm("tcp", 8443, 9000, "40.0.0.0/5")}
	for _, c := range []struct {
		name  string
		perms []string
		want  string
	}{
		{"split alone", split, "the whole IPv4 internet on tcp/8443"},
		{"split behind filler", append(perms, split...), tooManyPorts},
	} {
		b, err := Parse(trail("AuthorizeSecurityGroupIngress", ingress(c.perms...), `{"_return":true}`, ""), o)
		if err != nil || len(b.Findings) != 1 {
			t.Fatal(c.name, err)
		}
		f := b.Findings[0]
		var exposures []string
		for _, r := range f.Rules {
			if r.Exposure != "" {
				exposures = append(exposures, r.Exposure)
			}
		}
		if f.Severity != Critical || len(exposures) != 2 || !anyContains(exposures, c.want) {
			t.Errorf("%s: severity %s, exposures %q; want critical, two saying %q", c.name, f.Severity, exposures, c.want)
		}
	}
}
