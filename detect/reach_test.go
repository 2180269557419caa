package detect

import (
	"slices"
	"strings"
	"testing"
)

// TestReach grades what uses a group: a public address routed to an
// internet gateway is internet (IPv4 or IPv6 each on its own route), an
// internet-facing load balancer is load-balancer, Block Public Access
// turns an internet path into blocked unless the subnet or VPC is
// excluded, what was not read is unknown (never lower), the rest private,
// and nothing at all unused.
func TestReach(t *testing.T) {
	public := NetworkInterface{ID: "eni-1", Resource: "i-1", PublicIPv4: "203.0.113.10", SubnetID: "subnet-pub", VPCID: "vpc-1"}
	private := NetworkInterface{ID: "eni-2", SubnetID: "subnet-priv", VPCID: "vpc-1"}
	publicInPrivate := NetworkInterface{ID: "eni-3", PublicIPv4: "203.0.113.11", SubnetID: "subnet-priv", VPCID: "vpc-1"}
	v6 := NetworkInterface{ID: "eni-4", IPv6: true, SubnetID: "subnet-v6", VPCID: "vpc-1"}
	nat := NetworkInterface{ID: "eni-5", Type: "nat_gateway", Resource: "NAT gateway", PublicIPv4: "203.0.113.12", SubnetID: "subnet-pub", VPCID: "vpc-1"}
	routes := map[string]Route{"subnet-pub": {IPv4: true}, "subnet-priv": {}, "subnet-v6": {IPv6: true}}
	alb := NetworkInterface{ID: "eni-7", LoadBalancer: "app/web", PublicIPv4: "203.0.113.13", SubnetID: "subnet-pub"}
	internal := NetworkInterface{ID: "eni-8", LoadBalancer: "app/api", SubnetID: "subnet-priv"}
	cases := []struct {
		name  string
		n     Network
		grade Grade
		why   string
		named []string
	}{
		{"public IP routed to an internet gateway", Network{Interfaces: []NetworkInterface{private, public}, Routes: routes}, GradeInternet, "eni-1 (i-1) has a public address", []string{"eni-1"}},
		{"public IP in a private subnet", Network{Interfaces: []NetworkInterface{publicInPrivate}, Routes: routes}, GradePrivate, "not reachable from the internet yet", []string{"eni-3"}},
		{"IPv6 with a ::/0 route", Network{Interfaces: []NetworkInterface{v6}, Routes: routes}, GradeInternet, "eni-4 has a public address", []string{"eni-4"}},
		{"IPv6 without an IPv6 route", Network{Interfaces: []NetworkInterface{{ID: "eni-6", IPv6: true, SubnetID: "subnet-pub"}}, Routes: routes}, GradePrivate, "", []string{"eni-6"}},
		{"a NAT gateway's interface", Network{Interfaces: []NetworkInterface{nat}, Routes: routes}, GradePrivate, "not reachable", []string{"eni-5"}},
		{"a NAT gateway's interface, as EC2's enum spells it", Network{Interfaces: []NetworkInterface{{ID: "eni-5", Type: "natGateway", PublicIPv4: "203.0.113.12", SubnetID: "subnet-pub"}}, Routes: routes}, GradePrivate, "", []string{"eni-5"}},
		{"a described internet-facing load balancer, no interface listed", Network{LoadBalancers: []LoadBalancer{described("app/web", true)}}, GradeLoadBalancer, "internet-facing load balancer (app/web)", nil},
		{"a described internal load balancer", Network{LoadBalancers: []LoadBalancer{described("app/api", false)}}, GradePrivate, "load balancers (app/api) are internal or blocked", nil},
		{"described internet-facing: its scheme, not its interface's address, decides", Network{Interfaces: []NetworkInterface{internal}, LoadBalancers: []LoadBalancer{described("app/api", true)}, Routes: routes}, GradeLoadBalancer, "(app/api)", nil},
		{"described internal: its interface's public address does not make it public", Network{Interfaces: []NetworkInterface{alb}, LoadBalancers: []LoadBalancer{described("app/web", false)}, Routes: routes}, GradePrivate, "", []string{"eni-7"}},
		{"described internet-facing, every subnet blocked", Network{LoadBalancers: []LoadBalancer{described("app/web", true)}, BPA: BlockPublicAccess{Mode: "block-ingress"}}, GradePrivate, "internal or blocked", nil},
		{"described internet-facing, one subnet excluded", Network{LoadBalancers: []LoadBalancer{described("app/web", true)}, BPA: BlockPublicAccess{Mode: "block-ingress", Excluded: []string{"subnet-b"}}}, GradeLoadBalancer, "", nil},
		{"an internet-facing load balancer", Network{Interfaces: []NetworkInterface{alb}, Routes: routes}, GradeLoadBalancer, "internet-facing load balancer (app/web)", nil},
		{"an internal load balancer", Network{Interfaces: []NetworkInterface{internal}, Routes: routes}, GradePrivate, "", []string{"eni-8"}},
		{"unused", Network{}, GradeUnused, "no network interface or load balancer uses the group", nil},
		{"not read", Network{Interfaces: []NetworkInterface{private}, Unread: []string{"DescribeRouteTables: timed out"}}, GradeUnknown, "DescribeRouteTables: timed out", []string{"eni-2"}},
		{"reachable although something was not read", Network{Interfaces: []NetworkInterface{public}, Routes: routes, Unread: []string{"x"}}, GradeInternet, "", []string{"eni-1"}},
		{"blocked by Block Public Access", Network{Interfaces: []NetworkInterface{public}, Routes: routes, BPA: BlockPublicAccess{Mode: "block-ingress"}}, GradeBlocked, "VPC Block Public Access (block-ingress)", []string{"eni-1"}},
		{"the subnet excluded", Network{Interfaces: []NetworkInterface{public}, Routes: routes, BPA: BlockPublicAccess{Mode: "block-bidirectional", Excluded: []string{"subnet-pub"}}}, GradeInternet, "", []string{"eni-1"}},
		{"the VPC excluded", Network{Interfaces: []NetworkInterface{public}, Routes: routes, BPA: BlockPublicAccess{Mode: "block-ingress", Excluded: []string{"vpc-1"}}}, GradeInternet, "", []string{"eni-1"}},
		{"Block Public Access off", Network{Interfaces: []NetworkInterface{public}, Routes: routes, BPA: BlockPublicAccess{Mode: "off"}}, GradeInternet, "", []string{"eni-1"}},
		{"blocked, and a load balancer", Network{Interfaces: []NetworkInterface{public, alb}, Routes: routes, BPA: BlockPublicAccess{Mode: "block-ingress"}}, GradeBlocked, "", []string{"eni-1"}},
		{"a subnet whose routes were not read", Network{Interfaces: []NetworkInterface{public}, Routes: map[string]Route{}, Unread: []string{"routes of subnet-pub"}}, GradeUnknown, "", []string{"eni-1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Reach(c.n)
			var named []string
			for _, ni := range r.Interfaces {
				named = append(named, ni.ID)
			}
			if r.Grade != c.grade || !strings.Contains(r.Why, c.why) || !slices.Equal(named, c.named) {
				t.Errorf("%s %q naming %q; want %s with %q naming %q", r.Grade, r.Why, named, c.grade, c.why, c.named)
			}
		})
	}
}

// described is a load balancer as Elastic Load Balancing describes it, in
// subnet-a and subnet-b of vpc-1.
func described(name string, internetFacing bool) LoadBalancer {
	return LoadBalancer{Name: name, InternetFacing: internetFacing, Described: true, Subnets: []string{"subnet-a", "subnet-b"}, VPCID: "vpc-1"}
}

// TestScoreReach: the grade raises a port that is not sensitive when it is
// reachable from the internet, and never lowers anything: world SSH on an
// unused group stays critical and says what would expose it.
func TestScoreReach(t *testing.T) {
	rule := func(port int, cidr string) Rule {
		return Rule{Direction: Ingress, Protocol: "tcp", FromPort: &port, ToPort: &port, CIDRIPv4: cidr}
	}
	public := Network{Interfaces: []NetworkInterface{{ID: "eni-1", PublicIPv4: "203.0.113.10", SubnetID: "subnet-1"}}, Routes: map[string]Route{"subnet-1": {IPv4: true}}}
	for _, c := range []struct {
		name    string
		rule    Rule
		network *Network
		sev     Severity
		grade   Grade
		reason  string
	}{
		{"offline: no grade", rule(8443, "0.0.0.0/0"), nil, High, "", ""},
		{"a port that is not sensitive, reachable", rule(8443, "0.0.0.0/0"), &public, Critical, GradeInternet, "eni-1 has a public address and a route to an internet gateway: open to the whole internet on a host it reaches"},
		{"a port that is not sensitive, unused", rule(8443, "0.0.0.0/0"), &Network{}, High, GradeUnused, "not reachable from the internet yet"},
		{"SSH, unused", rule(22, "0.0.0.0/0"), &Network{}, Critical, GradeUnused, "attaching it to a public host would expose it"},
		{"SSH, not read", rule(22, "0.0.0.0/0"), &Network{Unread: []string{"timed out"}}, Critical, GradeUnknown, "not known: timed out"},
		{"not open to the whole internet: no grade", rule(8443, "10.0.0.0/8"), &public, Low, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: "AuthorizeSecurityGroupIngress"}, SecurityGroup: SecurityGroup{ID: "sg-1"}, Rules: []Rule{c.rule}}
			if c.network != nil {
				f.Live = &Live{Network: c.network}
			}
			Scoring{}.Score(&f)
			grade := Grade("")
			if f.Reachability != nil {
				grade = f.Reachability.Grade
			}
			if f.Severity != c.sev || grade != c.grade || c.reason != "" && !slices.ContainsFunc(f.Reasons, func(r string) bool { return strings.Contains(r, c.reason) }) {
				t.Errorf("%s graded %q: %q; want %s graded %q with %q", f.Severity, grade, f.Reasons, c.sev, c.grade, c.reason)
			}
		})
	}
}

// TestAuthorized: the web on a group whose every interface belongs to an
// internet-facing load balancer is meant (info), and so is a port the
// group's sgwatch:public tag names, anywhere; a sensitive port never is,
// nor a group that also sits on an instance, nor an internal load
// balancer's, nor a tag that is not understood.
func TestAuthorized(t *testing.T) {
	web, _ := ParsePublicTag("tcp/80,tcp/443")
	s := Scoring{AuthorizedPorts: web}
	rule := func(port int) Rule {
		return Rule{Direction: Ingress, Protocol: "tcp", FromPort: &port, ToPort: &port, CIDRIPv4: "0.0.0.0/0"}
	}
	routes := map[string]Route{"subnet-pub": {IPv4: true}}
	albENI := NetworkInterface{ID: "eni-a", LoadBalancer: "app/web", PublicIPv4: "203.0.113.5", SubnetID: "subnet-pub"}
	internalENI := NetworkInterface{ID: "eni-i", LoadBalancer: "app/api", SubnetID: "subnet-pub"}
	instance := NetworkInterface{ID: "eni-1", Resource: "i-1", PublicIPv4: "203.0.113.10", SubnetID: "subnet-pub"}
	for _, c := range []struct {
		name   string
		port   int
		nis    []NetworkInterface
		tag    string
		sev    Severity
		grade  Grade
		reason string
		lbs    []LoadBalancer
		unread bool // Block Public Access
	}{
		{"world 443 on an internet-facing ALB", 443, []NetworkInterface{albENI}, "", Info, GradeLoadBalancer, "authorised public port: tcp/443 (AUTHORIZED_PUBLIC_PORTS) on internet-facing load balancer app/web", nil, false},
		{"world 443 on a described internet-facing ALB, no interface listed", 443, nil, "", Info, GradeLoadBalancer, "on internet-facing load balancer app/web", []LoadBalancer{described("app/web", true)}, false},
		// Block Public Access unread counts as off: a port meant to be
		// public on a load balancer it might block is authorised all the
		// same (blocked, it would be less exposed, not more).
		{"the same, Block Public Access unread", 443, nil, "", Info, GradeLoadBalancer, "on internet-facing load balancer app/web", []LoadBalancer{described("app/web", true)}, true},
		{"world 443 on a described internal ALB", 443, nil, "", High, GradePrivate, "internal or blocked", []LoadBalancer{described("app/web", false)}, false},
		{"world SSH on the same group", 22, []NetworkInterface{albENI}, "", Critical, GradeLoadBalancer, "internet-facing load balancer (app/web)", nil, false},
		{"world 443, the group also on an instance", 443, []NetworkInterface{albENI, instance}, "", Critical, GradeInternet, "eni-1 (i-1)", nil, false},
		{"world 443 on an internal load balancer", 443, []NetworkInterface{internalENI}, "", High, GradePrivate, "not reachable", nil, false},
		// A tag is anyone's with ec2:CreateTags: on a host the internet
		// reaches it lowers no further than high.
		{"world 8443 authorised by tag on an instance", 8443, []NetworkInterface{instance}, "tcp/8443", High, GradeInternet, "tcp/8443 (tag sgwatch:public on the group)", nil, false},
		{"world 8443 authorised by tag, on a private host", 8443, []NetworkInterface{{ID: "eni-p", SubnetID: "subnet-priv"}}, "tcp/8443", Info, GradePrivate, "tcp/8443 (tag sgwatch:public on the group)", nil, false},
		{"a tag too wide", 30000, []NetworkInterface{{ID: "eni-p", SubnetID: "subnet-priv"}}, "tcp/27019-65535", High, GradePrivate, "", nil, false},
		{"world 3389 named by the tag: sensitive", 3389, []NetworkInterface{instance}, "tcp/3389", Critical, GradeInternet, "RDP", nil, false},
		{"a tag not understood", 8443, []NetworkInterface{instance}, "8443", Critical, GradeInternet, "", nil, false},
		{"world 8443 on an ALB, not authorised", 8443, []NetworkInterface{albENI}, "", High, GradeLoadBalancer, "", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: "AuthorizeSecurityGroupIngress"},
				SecurityGroup: SecurityGroup{ID: "sg-1", Tags: map[string]string{PublicTag: c.tag}}, Rules: []Rule{rule(c.port)},
				Live: &Live{Network: &Network{Interfaces: c.nis, LoadBalancers: c.lbs, Routes: routes, BPAUnread: c.unread}}}
			s.Score(&f)
			if f.Severity != c.sev || f.Reachability.Grade != c.grade || !slices.ContainsFunc(f.Reasons, func(r string) bool { return strings.Contains(r, c.reason) }) {
				t.Errorf("%s graded %s: %q; want %s graded %s with %q", f.Severity, f.Reachability.Grade, f.Reasons, c.sev, c.grade, c.reason)
			}
		})
	}
}

// TestAuthorizedCountsNothingElse: authorised rules count for nothing, and
// everything else in the finding as always: a world SSH from a prefix
// list's entries, a root user's long-term key, an identity not read, a
// broad public range on SSH beside the authorised 443 keep their severity.
func TestAuthorizedCountsNothingElse(t *testing.T) {
	web, _ := ParsePublicTag("tcp/80,tcp/443")
	s := Scoring{AuthorizedPorts: web}
	p443, p22 := 443, 22
	world443 := Rule{Direction: Ingress, Protocol: "tcp", FromPort: &p443, ToPort: &p443, CIDRIPv4: "0.0.0.0/0"}
	fromList := Rule{Direction: Ingress, Protocol: "tcp", FromPort: &p22, ToPort: &p22, PrefixListID: "pl-0c0c0c0c0c0c0c0c0"}
	broad := Rule{Direction: Ingress, Protocol: "tcp", FromPort: &p22, ToPort: &p22, CIDRIPv4: "1.0.0.0/8"}
	network := &Network{Interfaces: []NetworkInterface{{ID: "eni-a", LoadBalancer: "app/web", PublicIPv4: "203.0.113.5", SubnetID: "subnet-pub"}},
		Routes: map[string]Route{"subnet-pub": {IPv4: true}}}
	for _, c := range []struct {
		name  string
		rules []Rule
		actor Actor
		lists map[string]PrefixList
		sev   Severity
	}{
		{"443 alone", []Rule{world443}, Actor{}, nil, Info},
		{"with SSH from a list that holds the whole internet", []Rule{world443, fromList}, Actor{}, map[string]PrefixList{"pl-0c0c0c0c0c0c0c0c0": {ID: "pl-0c0c0c0c0c0c0c0c0", Entries: []string{"0.0.0.0/0"}}}, Critical},
		{"made by the root user with a long-term key", []Rule{world443}, Actor{Type: "Root", ARN: "arn:aws:iam::111122223333:root", AccessKeyID: "AKIAEXAMPLEEXAMPLE01", CredentialType: LongTerm}, nil, Critical},
		{"made by an identity not read", []Rule{world443}, Actor{Unread: true}, nil, Critical},
		{"with a broad public range on SSH", []Rule{world443, broad}, Actor{}, nil, Medium},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: "AuthorizeSecurityGroupIngress"}, Actor: c.actor,
				SecurityGroup: SecurityGroup{ID: "sg-1"}, Rules: c.rules, Live: &Live{Network: network, Lists: c.lists}}
			s.Score(&f)
			if f.Severity != c.sev || !strings.HasPrefix(f.Reasons[0], "authorised public port: tcp/443") {
				t.Errorf("%s %q, want %s after the authorised port's reason", f.Severity, f.Reasons, c.sev)
			}
		})
	}
}

// TestAuthorizedExposure: the sweep's exposure of an authorised port is
// info on a load balancer, and high on a host the internet reaches when a
// tag authorises it; its creator still counts.
func TestAuthorizedExposure(t *testing.T) {
	web, _ := ParsePublicTag("tcp/80,tcp/443")
	s := Scoring{AuthorizedPorts: web}
	p := 443
	rule := Rule{Direction: Ingress, Protocol: "tcp", FromPort: &p, ToPort: &p, CIDRIPv4: "0.0.0.0/0", RuleID: "sgr-1"}
	lb := &Network{Interfaces: []NetworkInterface{{ID: "eni-a", LoadBalancer: "app/web", PublicIPv4: "203.0.113.5", SubnetID: "subnet-pub"}}, Routes: map[string]Route{"subnet-pub": {IPv4: true}}}
	host := &Network{Interfaces: []NetworkInterface{{ID: "eni-1", PublicIPv4: "203.0.113.6", SubnetID: "subnet-pub"}}, Routes: map[string]Route{"subnet-pub": {IPv4: true}}}
	for _, c := range []struct {
		name    string
		network *Network
		tag     string
		actor   Actor
		sev     Severity
	}{
		{"on a load balancer", lb, "", Actor{}, Info},
		{"tagged on a public host", host, "tcp/443", Actor{}, High},
		{"on a load balancer, made by root with a long-term key", lb, "", Actor{Type: "Root", AccessKeyID: "AKIAEXAMPLEEXAMPLE01", CredentialType: LongTerm}, Critical},
	} {
		f := Finding{Action: Exposure, Outcome: Succeeded, Event: Event{Name: SweepCall}, Actor: c.actor, SecurityGroup: SecurityGroup{ID: "sg-1", Tags: map[string]string{PublicTag: c.tag}},
			Rules: []Rule{rule}, Sweep: &Sweep{Key: "k"}, Live: &Live{Network: c.network}}
		s.Score(&f)
		if f.Severity != c.sev {
			t.Errorf("%s: %s %q, want %s", c.name, f.Severity, f.Reasons, c.sev)
		}
	}
}
