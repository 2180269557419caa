package detect

import (
	"slices"
	"strings"
	"testing"
)

// TestScoreBPA: turning Block Public Access off, or excluding a subnet or
// VPC both ways, is high on its record, and with live context critical
// for every world-open group it lets the internet reach, judged on the
// state the call made (the Region may still answer with the old mode);
// blocking more is info.
func TestScoreBPA(t *testing.T) {
	port := 22
	ssh := Rule{Direction: Ingress, Protocol: "tcp", FromPort: &port, ToPort: &port, CIDRIPv4: "0.0.0.0/0", RuleID: "sgr-1"}
	pub := NetworkInterface{ID: "eni-1", Groups: []string{"sg-a"}, PublicIPv4: "203.0.113.10", SubnetID: "subnet-0a1b2c3d4e5f60718", VPCID: "vpc-1"}
	other := NetworkInterface{ID: "eni-2", Groups: []string{"sg-b"}, PublicIPv4: "203.0.113.11", SubnetID: "subnet-0ffffffffffffffff", VPCID: "vpc-1"}
	routes := map[string]Route{pub.SubnetID: {IPv4: true}, other.SubnetID: {IPv4: true}}
	blocking := BlockPublicAccess{Mode: "block-ingress"}
	live := func(unread ...string) *Live {
		return &Live{Groups: map[string][]Rule{"sg-a": {ssh}, "sg-b": {ssh}}, Unread: unread,
			Network: &Network{Interfaces: []NetworkInterface{pub, other}, Routes: routes, BPA: blocking}}
	}
	for _, c := range []struct {
		name   string
		call   string
		b      BPAChange
		live   *Live
		sev    Severity
		reason string
		groups []string
	}{
		{"off, offline", "ModifyVpcBlockPublicAccessOptions", BPAChange{Mode: "off"}, nil, High, "turns Block Public Access off", nil},
		{"block more", "ModifyVpcBlockPublicAccessOptions", BPAChange{Mode: "block-bidirectional"}, nil, Low, "lets no more inbound internet traffic", nil},
		{"an exclusion for egress", "CreateVpcBlockPublicAccessExclusion", BPAChange{SubnetID: pub.SubnetID, ExclusionMode: "allow-egress"}, nil, Low, "lets no more inbound internet traffic", nil},
		{"a mode not read", "ModifyVpcBlockPublicAccessOptions", BPAChange{}, nil, High, "could not be read from the record", nil},
		{"off, live, though the Region still says block-ingress", "ModifyVpcBlockPublicAccessOptions", BPAChange{Mode: "off"}, live(), Critical, "in sg-a, now reachable on eni-1", []string{"sg-a", "sg-b"}},
		{"a subnet excluded, live", "CreateVpcBlockPublicAccessExclusion", BPAChange{SubnetID: pub.SubnetID, ExclusionMode: "allow-bidirectional"}, live(), Critical, "excludes subnet-0a1b2c3d4e5f60718", []string{"sg-a"}},
		{"groups not all read", "ModifyVpcBlockPublicAccessOptions", BPAChange{Mode: "off"}, live("DescribeSecurityGroupRules: timed out"), Critical, "could not all be read", []string{"sg-a", "sg-b"}},
		{"a hostile subnet id", "CreateVpcBlockPublicAccessExclusion", BPAChange{SubnetID: "https://evil.example", ExclusionMode: "allow-bidirectional"}, nil, High, "excludes a subnet or VPC", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := c.b
			f := Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: c.call}, BlockPublicAccess: &b, Live: c.live}
			Scoring{}.Score(&f)
			var groups []string
			if f.Context != nil {
				groups = f.Context.Groups
			}
			if f.Severity != c.sev || !slices.ContainsFunc(f.Reasons, func(r string) bool { return strings.Contains(r, c.reason) }) || !slices.Equal(groups, c.groups) {
				t.Errorf("%s %q naming %q; want %s with %q naming %q", f.Severity, f.Reasons, groups, c.sev, c.reason, c.groups)
			}
			if strings.Contains(strings.Join(f.Reasons, " "), "evil") {
				t.Errorf("record text in a reason: %q", f.Reasons)
			}
		})
	}
}
