package detect

import (
	"strings"
	"testing"
)

// TestRuleKey: a rule changed in place has a new key; a new description
// does not change what it allows, nor its key.
func TestRuleKey(t *testing.T) {
	r := rule(Ingress, "tcp", 22, 22, "0.0.0.0/0")
	r.RuleID = "sgr-00000000000000001"
	k := RuleKey("sg-0123456789abcdef0", r)
	if !strings.HasPrefix(k, "sgr-00000000000000001#") {
		t.Errorf("key %q does not start with the rule id", k)
	}
	d := r
	d.Description = "changed"
	if RuleKey("sg-0123456789abcdef0", d) != k {
		t.Error("a description changed the key")
	}
	for name, change := range map[string]func(*Rule){
		"port":      func(r *Rule) { r.ToPort = p(23) },
		"protocol":  func(r *Rule) { r.Protocol = "udp" },
		"source":    func(r *Rule) { r.CIDRIPv4 = "0.0.0.0/1" },
		"direction": func(r *Rule) { r.Direction = Egress },
		"to ipv6":   func(r *Rule) { r.CIDRIPv4, r.CIDRIPv6 = "", "::/0" },
	} {
		c := r
		change(&c)
		if RuleKey("sg-0123456789abcdef0", c) == k {
			t.Errorf("a changed %s kept the key", name)
		}
	}
	if RuleKey("sg-0fedcba9876543210", r) == k {
		t.Error("another group kept the key")
	}
}
