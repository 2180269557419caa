package detect

import (
	"reflect"
	"strings"
	"testing"
)

func TestUnionExposures(t *testing.T) {
	in := func(id, proto string, from, to int, cidr string) Rule {
		r := Rule{RuleID: id, Direction: Ingress, Protocol: proto, FromPort: &from, ToPort: &to}
		if strings.Contains(cidr, ":") {
			r.CIDRIPv6 = cidr
		} else {
			r.CIDRIPv4 = cidr
		}
		return r
	}
	out := func(id, cidr string) Rule { r := in(id, "-1", 0, 0, cidr); r.Direction = Egress; return r }
	rules := map[string][]Rule{
		"sg-a":     {in("sgr-a1", "tcp", 22, 22, "32.0.0.0/5")},
		"sg-b":     {in("sgr-b1", "tcp", 22, 22, "40.0.0.0/5")},
		"sg-c":     {in("sgr-c1", "tcp", 23, 23, "40.0.0.0/5")},
		"sg-d":     {in("sgr-d1", "tcp", 0, 65535, "40.0.0.0/5")},
		"sg-world": {in("sgr-w1", "tcp", 22, 22, "0.0.0.0/0"), in("sgr-w2", "tcp", 22, 22, "40.0.0.0/5")},
		"sg-v6a":   {in("sgr-v1", "tcp", 3389, 3389, "2600::/13")},
		"sg-v6b":   {in("sgr-v2", "tcp", 3389, 3389, "2001:8000::/19")},
		"sg-egra":  {out("sgr-e1", "32.0.0.0/5")},
		"sg-egrb":  {out("sgr-e2", "40.0.0.0/5")},
		"sg-priv":  {in("sgr-p1", "tcp", 22, 22, "10.0.0.0/8")},
		"sg-none":  {},
	}
	type want struct {
		interfaces, groups, rules string // comma-separated
		exposure                  string // a substring of the first rule's Exposure
	}
	ni := func(id string, groups ...string) NetworkInterface { return NetworkInterface{ID: id, Groups: groups} }
	cases := []struct {
		name string
		nis  []NetworkInterface
		want []want
	}{
		{"two groups open ssh together", []NetworkInterface{ni("eni-1", "sg-a", "sg-b")},
			[]want{{"eni-1", "sg-a,sg-b", "sgr-a1,sgr-b1", "together with 40.0.0.0/5: the whole IPv4 internet"}}},
		{"the same groups on separate interfaces open nothing", []NetworkInterface{ni("eni-1", "sg-a"), ni("eni-2", "sg-b")}, nil},
		{"interfaces with one set share one exposure", []NetworkInterface{ni("eni-1", "sg-b", "sg-a"), ni("eni-2", "sg-priv"), ni("eni-3", "sg-a", "sg-b", "sg-a")},
			[]want{{"eni-1,eni-3", "sg-a,sg-b", "sgr-a1,sgr-b1", "the whole IPv4 internet"}}},
		{"different ports are not added up", []NetworkInterface{ni("eni-1", "sg-a", "sg-c")}, nil},
		{"a sensitive port inside another group's range", []NetworkInterface{ni("eni-1", "sg-a", "sg-d")},
			[]want{{"eni-1", "sg-a,sg-d", "sgr-a1,sgr-d1", "on tcp/22"}}},
		{"a group open on its own is its own exposure", []NetworkInterface{ni("eni-1", "sg-world", "sg-priv")}, nil},
		{"ipv6 together", []NetworkInterface{ni("eni-1", "sg-v6a", "sg-v6b", "sg-priv")},
			[]want{{"eni-1", "sg-v6a,sg-v6b", "sgr-v1,sgr-v2", "the whole IPv6 internet"}}},
		{"egress is not exposure", []NetworkInterface{ni("eni-1", "sg-egra", "sg-egrb")}, nil},
		{"private ranges add nothing", []NetworkInterface{ni("eni-1", "sg-a", "sg-priv", "sg-none")}, nil},
		{"one group", []NetworkInterface{ni("eni-1", "sg-a"), ni("eni-2")}, nil},
		{"an unlisted group is named", []NetworkInterface{ni("eni-1", "sg-a", "sg-b", "sg-unlisted")},
			[]want{{"eni-1", "sg-a,sg-b", "sgr-a1,sgr-b1", "the whole IPv4 internet"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Scoring{}.UnionExposures(rules, c.nis)
			var have []want
			for _, u := range got {
				var ids []string
				for _, gr := range u.Rules {
					ids = append(ids, gr.Rule.RuleID)
				}
				have = append(have, want{strings.Join(u.Interfaces, ","), strings.Join(u.Groups, ","), strings.Join(ids, ","), ""})
				if len(u.Rules) > 0 && len(c.want) >= len(have) && !strings.Contains(u.Rules[0].Rule.Exposure, c.want[len(have)-1].exposure) {
					t.Errorf("exposure %q, want %q in it", u.Rules[0].Rule.Exposure, c.want[len(have)-1].exposure)
				}
				if strings.Contains(c.name, "unlisted") != (len(u.Notes) == 1 && strings.Contains(u.Notes[0], "sg-unlisted")) {
					t.Errorf("notes %q", u.Notes)
				}
			}
			var wantNoText []want
			for _, w := range c.want {
				w.exposure = ""
				wantNoText = append(wantNoText, w)
			}
			if !reflect.DeepEqual(have, wantNoText) {
				t.Errorf("got %+v, want %+v", have, wantNoText)
			}
		})
	}
	// The listed rules are not changed.
	if rules["sg-a"][0].Exposure != "" {
		t.Errorf("the caller's rules were changed: %+v", rules["sg-a"][0])
	}
}
