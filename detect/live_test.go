package detect

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestScoreLive: with live context a change is judged as AWS applies it:
// together with the rules its group already had (a short window is no
// hiding place), with the other groups of each interface that uses it,
// and with the entries of the prefix lists its rules name; attach calls by
// what the interface admits after them, prefix list changes by what each
// group that names the list admits. What cannot be read makes it louder.
func TestScoreLive(t *testing.T) {
	const (
		group = "sg-0a0a0a0a0a0a0a0a0"
		other = "sg-0b0b0b0b0b0b0b0b0"
		eni   = "eni-0e0e0e0e0e0e0e0e0"
		pl    = "pl-0c0c0c0c0c0c0c0c0"
	)
	tcp := func(port int, src, id string) Rule {
		r := Rule{Direction: Ingress, Protocol: "tcp", FromPort: &port, ToPort: &port, RuleID: id}
		switch {
		case strings.HasPrefix(src, "pl-"):
			r.PrefixListID = src
		case strings.Contains(src, ":"):
			r.CIDRIPv6 = src
		default:
			r.CIDRIPv4 = src
		}
		return r
	}
	// A /5 is less than a sixteenth of the public IPv4 space (addrspace.Share),
	// two of them more: each is medium alone, the pair the whole internet.
	half1, half2 := "80.0.0.0/5", "88.0.0.0/5"
	authorize := func(live *Live, rules ...Rule) Finding {
		return Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: "AuthorizeSecurityGroupIngress"},
			SecurityGroup: SecurityGroup{ID: group}, Rules: rules, Live: live}
	}
	attach := func(live *Live) Finding {
		return Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: "ModifyNetworkInterfaceAttribute"},
			Attach: &Attach{NetworkInterfaceID: eni, Groups: []string{group, other}}, Live: live}
	}
	change := func(added string, live *Live) Finding {
		return Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: "ModifyManagedPrefixList"},
			List: &ListChange{ID: pl, Added: []string{added}}, Live: live}
	}
	lists := func(entries ...string) map[string]PrefixList {
		return map[string]PrefixList{pl: {ID: pl, Name: "partners", Entries: entries}}
	}
	onOne := []NetworkInterface{{ID: eni, Groups: []string{group, other}}}
	apart := []NetworkInterface{{ID: eni, Groups: []string{group}}, {ID: "eni-0f0f0f0f0f0f0f0f0", Groups: []string{other}}}
	call := tcp(22, half2, "sgr-0000000000000000c")
	earlier := tcp(22, half1, "sgr-0000000000000000e")

	cases := []struct {
		name     string
		f        Finding
		sev      Severity
		reason   string // in a reason, "" for none to look for
		context  *Context
		notInAny string // in no reason
	}{
		{"offline: the call's rules alone", authorize(nil, call), Medium, "", nil, "together"},
		{"window: open together with a rule added earlier",
			authorize(&Live{Rules: []Rule{earlier, call}}, call), Critical,
			"ingress from 88.0.0.0/5 (", &Context{Together: []string{"sgr-0000000000000000e"}}, ""},
		{"window: the call's rule listed back is not an earlier rule",
			authorize(&Live{Rules: []Rule{call}}, call), Medium, "", &Context{}, "together"},
		{"window quiet: the earlier rule is private",
			authorize(&Live{Rules: []Rule{tcp(22, "10.0.0.0/8", "sgr-0000000000000000e"), call}}, call), Medium, "", &Context{}, "together"},
		{"window on another port is not together",
			authorize(&Live{Rules: []Rule{tcp(3389, half1, "sgr-0000000000000000e"), call}}, call), Medium, "", &Context{}, "together"},
		{"union: open only with another group on one interface",
			authorize(&Live{Rules: []Rule{call}, Interfaces: onOne, Groups: map[string][]Rule{other: {tcp(22, half1, "sgr-0000000000000000f")}}}, call), Critical,
			"on " + eni + " only together with the rules of " + other, &Context{Interfaces: []string{eni}, Groups: []string{other}}, ""},
		{"union quiet: the groups are on separate interfaces",
			authorize(&Live{Rules: []Rule{call}, Interfaces: apart, Groups: map[string][]Rule{other: {tcp(22, half1, "sgr-0000000000000000f")}}}, call), Medium,
			"", &Context{}, "together"},
		{"union over IPv6",
			authorize(&Live{Rules: []Rule{tcp(22, "2600::/13", "sgr-0000000000000000c")}, Interfaces: onOne,
				Groups: map[string][]Rule{other: {tcp(22, "2608::/13", "sgr-0000000000000000f")}}}, tcp(22, "2600::/13", "sgr-0000000000000000c")), Critical,
			"only together with the rules of " + other, &Context{Interfaces: []string{eni}, Groups: []string{other}}, ""},
		{"a prefix list read at event time",
			authorize(&Live{Rules: []Rule{tcp(22, pl, "sgr-0000000000000000c")}, Lists: lists("198.51.100.0/24", "0.0.0.0/0")}, tcp(22, pl, "sgr-0000000000000000c")), Critical,
			"ingress from 0.0.0.0/0, an entry of prefix list " + pl + " to tcp/22", &Context{}, ""},
		{"a prefix list of partners only",
			authorize(&Live{Lists: lists("52.94.0.0/24")}, tcp(22, pl, "sgr-0000000000000000c")), Medium, "ingress from 52.94.0.0/24 (public) to tcp/22: SSH (22)", &Context{}, "the event does not hold"},
		{"a prefix list offline",
			authorize(nil, tcp(22, pl, "sgr-0000000000000000c")), Medium, "the event does not hold the list's entries", nil, ""},
		{"an AWS-managed list is AWS's ranges",
			authorize(&Live{Lists: map[string]PrefixList{pl: {ID: pl, Name: "com.amazonaws.global.cloudfront.origin-facing", AWSManaged: true}}}, tcp(22, pl, "")), Medium,
			"(com.amazonaws.global.cloudfront.origin-facing): an AWS-managed list of AWS's own ranges", &Context{}, "entry of"},
		{"a list that cannot be read fails closed",
			authorize(&Live{Lists: map[string]PrefixList{pl: {ID: pl, Err: errors.New("AccessDenied")}}, Unread: []string{"prefix list " + pl + ": AccessDenied"}}, tcp(22, pl, "")), Critical,
			"prefix list " + pl + ", which could not be read (counted as the whole internet)", &Context{}, ""},
		{"what could not be read makes a public range louder",
			authorize(&Live{Unread: []string{"the group's rules after the call could not be read (timed out)"}}, call), High,
			"could not be judged with the group's other rules", &Context{}, ""},
		{"a private range is not made louder",
			authorize(&Live{Unread: []string{"timed out"}}, tcp(22, "10.0.0.0/8", "")), Low, "", &Context{}, "could not be judged"},

		{"attach offline is not judged", attach(nil), Info, "judged only with live context", nil, ""},
		{"attach of a world-open group",
			attach(&Live{Interfaces: onOne, Groups: map[string][]Rule{group: {tcp(443, "10.0.0.0/8", "")}, other: {tcp(3389, "0.0.0.0/0", "sgr-0000000000000000f")}}}), Critical,
			"through " + other + " on " + eni, &Context{Interfaces: []string{eni}, Groups: []string{other}}, ""},
		{"attach of groups open only together",
			attach(&Live{Interfaces: onOne, Groups: map[string][]Rule{group: {tcp(22, half1, "")}, other: {tcp(22, half2, "")}}}), Critical,
			"through " + group + " on " + eni, &Context{Interfaces: []string{eni}, Groups: []string{group, other}}, ""},
		{"attach that opens nothing",
			attach(&Live{Interfaces: onOne, Groups: map[string][]Rule{group: {tcp(22, "10.0.0.0/8", "")}, other: {}}}), Info,
			"open nothing to the whole internet", &Context{}, ""},
		{"attach whose groups could not be read",
			attach(&Live{Interfaces: onOne, Unread: []string{"DescribeSecurityGroupRules: timed out"}}), High, "could not be read in full", &Context{}, ""},

		{"list change offline: the whole internet added", change("0.0.0.0/0", nil), High, "adds 0.0.0.0/0 (the whole internet)", nil, ""},
		{"list change offline: a part of the internet broad enough to be all of it",
			Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: "ModifyManagedPrefixList"}, List: &ListChange{ID: pl, Added: []string{"0.0.0.0/1", "128.0.0.0/1"}}},
			High, "adds 0.0.0.0/1 (covers 1/16 or more of the public IPv4 space: the whole IPv4 internet)", nil, ""},
		{"list change offline: two parts of the internet that are all of it together",
			Finding{Action: Modify, Outcome: Succeeded, Event: Event{Name: "ModifyManagedPrefixList"}, List: &ListChange{ID: pl, Added: []string{half1, half2}}},
			High, "adds 80.0.0.0/5 (together with 88.0.0.0/5: the whole IPv4 internet)", nil, ""},
		{"list change: every group that names it",
			change("0.0.0.0/0", &Live{Groups: map[string][]Rule{group: {tcp(22, pl, "sgr-0000000000000000c")}, other: {tcp(443, pl, "sgr-0000000000000000f")}}, Lists: lists("0.0.0.0/0")}), Critical,
			"in " + group + " (rule sgr-0000000000000000c)", &Context{Groups: []string{group, other}}, ""},
		{"list change: narrowed again by the lookup, the entries added still count",
			change("0.0.0.0/0", &Live{Groups: map[string][]Rule{group: {tcp(22, pl, "sgr-0000000000000000c")}}, Lists: lists("198.51.100.0/24")}), Critical,
			"ingress from 0.0.0.0/0, an entry of prefix list " + pl + " to tcp/22 in " + group, &Context{Groups: []string{group}}, ""},
		{"list change: a list that was not read fails closed",
			change("198.51.100.0/24", &Live{Groups: map[string][]Rule{group: {tcp(22, pl, "sgr-0000000000000000c")}}}), Critical,
			"which could not be read (counted as the whole internet) to tcp/22 in " + group, &Context{Groups: []string{group}}, ""},
		{"list change: a partner range on a group",
			change("198.51.100.0/24", &Live{Groups: map[string][]Rule{group: {tcp(22, pl, "sgr-0000000000000000c")}}, Lists: lists("198.51.100.0/24")}), Low, "", &Context{}, "in " + group},
		{"list change: the groups could not all be read",
			change("198.51.100.0/24", &Live{Unread: []string{"more than 5 pages of rules"}}), High, "could not all be read", &Context{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			Scoring{}.Score(&f)
			if f.Severity != c.sev {
				t.Errorf("severity %s, want %s: %q", f.Severity, c.sev, f.Reasons)
			}
			if c.reason != "" && !slices.ContainsFunc(f.Reasons, func(r string) bool { return strings.Contains(r, c.reason) }) {
				t.Errorf("no reason has %q: %q", c.reason, f.Reasons)
			}
			if c.notInAny != "" && slices.ContainsFunc(f.Reasons, func(r string) bool { return strings.Contains(r, c.notInAny) }) {
				t.Errorf("a reason has %q: %q", c.notInAny, f.Reasons)
			}
			if c.context == nil {
				if f.Context != nil {
					t.Errorf("context %+v judged offline, want none", f.Context)
				}
				return
			}
			if f.Context == nil || !slices.Equal(f.Context.Interfaces, c.context.Interfaces) || !slices.Equal(f.Context.Groups, c.context.Groups) ||
				!slices.Equal(f.Context.Together, c.context.Together) {
				t.Errorf("context %+v, want %+v", f.Context, c.context)
			}
			// Scoring again (live context arrives after the first score)
			// gives the same verdict.
			again := f
			Scoring{}.Score(&again)
			if again.Severity != f.Severity || !slices.Equal(again.Reasons, f.Reasons) {
				t.Errorf("a second score differs: %s %q", again.Severity, again.Reasons)
			}
		})
	}
}

// TestListAndAttachUndo: a prefix list change is reversed by the command
// its record allows (a created list deleted, the entries a modify added
// removed and those it removed added back, only canonical CIDRs); an
// attach call's record holds only the new groups, so its undo says where
// the earlier ones are and how to set them back.
func TestListAndAttachUndo(t *testing.T) {
	const pl = "pl-0a1b2c3d4e5f60718"
	ev := func(name string) Event { return Event{Name: name, Region: "eu-west-1", AccountID: "111122223333"} }
	cases := []struct {
		name    string
		f       Finding
		command string
		note    string
	}{
		{"create", Finding{Event: ev("CreateManagedPrefixList"), List: &ListChange{ID: pl}},
			"aws ec2 delete-managed-prefix-list --region eu-west-1 --prefix-list-id " + pl, "AWS refuses"},
		{"modify that added", Finding{Event: ev("ModifyManagedPrefixList"), List: &ListChange{ID: pl, Added: []string{"0.0.0.0/0"}}},
			"aws ec2 modify-managed-prefix-list --region eu-west-1 --prefix-list-id " + pl + " --remove-entries Cidr=0.0.0.0/0", ""},
		{"modify that added and removed", Finding{Event: ev("ModifyManagedPrefixList"), List: &ListChange{ID: pl, Added: []string{"0.0.0.0/0"}, Removed: []string{"198.51.100.0/24"}}},
			"aws ec2 modify-managed-prefix-list --region eu-west-1 --prefix-list-id " + pl + " --remove-entries Cidr=0.0.0.0/0 --add-entries Cidr=198.51.100.0/24", "without their descriptions"},
		{"modify with an entry that is not canonical", Finding{Event: ev("ModifyManagedPrefixList"), List: &ListChange{ID: pl, Added: []string{"0.0.0.1/0"}}},
			"", "restore-managed-prefix-list-version"},
		{"modify whose entries were not read", Finding{Event: ev("ModifyManagedPrefixList"), List: &ListChange{ID: pl, Unread: true}},
			"", "does not hold the entries"},
		{"restore", Finding{Event: ev("RestoreManagedPrefixListVersion"), List: &ListChange{ID: pl}},
			"", "get-managed-prefix-list-entries --region eu-west-1 --prefix-list-id " + pl},
		{"a list without an id", Finding{Event: ev("ModifyManagedPrefixList"), List: &ListChange{ID: "pl-x;rm"}}, "", "does not name the prefix list"},
		{"attach to an interface", Finding{Event: ev("ModifyNetworkInterfaceAttribute"), Attach: &Attach{NetworkInterfaceID: "eni-0a1b2c3d4e5f60718"}},
			"", "aws ec2 modify-network-interface-attribute --region eu-west-1 --network-interface-id eni-0a1b2c3d4e5f60718 --groups EARLIER-GROUP-IDS"},
		{"attach to an instance", Finding{Event: ev("ModifyInstanceAttribute"), Attach: &Attach{InstanceID: "i-0a1b2c3d4e5f60718"}},
			"", "AWS::EC2::Instance i-0a1b2c3d4e5f60718"},
		{"attach without ids", Finding{Event: ev("ModifyInstanceAttribute"), Attach: &Attach{InstanceID: "i-$(x)"}}, "", "in the EC2 console"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.f.Outcome = Succeeded
			call := byName[c.f.Event.Name]
			u := undo(&c.f, call, true)
			if u.Command != c.command || !strings.Contains(u.Note, c.note) {
				t.Errorf("undo %+v, want command %q and a note with %q", u, c.command, c.note)
			}
		})
	}
}

// TestParseAttachAndList: an attach record is a security-group call
// whenever its group set is there or may be (unreadable, null, hidden
// behind another spelling of the key), and not one only when it names
// none; a prefix list record with a key sgwatch does not read is unread
// (no public record shows the calls' shape); a created list's id is the
// response's.
func TestParseAttachAndList(t *testing.T) {
	const eni = `"networkInterfaceId":"eni-0a1b2c3d4e5f60718"`
	deep := strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001)
	for _, c := range []struct {
		name, call, params, response string
		finding                      bool
		unread                       bool   // Attach.Unread or List.Unread
		id                           string // List.ID
	}{
		{"attach with groups", "ModifyNetworkInterfaceAttribute", `{` + eni + `,"groupSet":{"items":[{"groupId":"sg-0a1b2c3d4e5f60718"}]}}`, "", true, false, ""},
		{"another attribute", "ModifyNetworkInterfaceAttribute", `{` + eni + `,"sourceDestCheck":{"value":false}}`, "", false, false, ""},
		{"another attribute of an instance", "ModifyInstanceAttribute", `{"instanceId":"i-0a1b2c3d4e5f60718","disableApiTermination":{"value":true}}`, "", false, false, ""},
		{"items null", "ModifyNetworkInterfaceAttribute", `{` + eni + `,"groupSet":{"items":null}}`, "", true, true, ""},
		{"the key again, null", "ModifyNetworkInterfaceAttribute", `{` + eni + `,"groupSet":{"items":[{"groupId":"sg-0a1b2c3d4e5f60718"}]},"GroupSet":null}`, "", true, true, ""},
		{"a member too deep to read", "ModifyInstanceAttribute", `{"instanceId":"i-0a1b2c3d4e5f60718","x":` + deep + `}`, "", true, true, ""},
		{"a list key not read", "ModifyManagedPrefixList", `{"ModifyManagedPrefixListRequest":{"PrefixListId":"pl-0a1b2c3d4e5f60718","RemoveEntry":{"Cidr":"10.0.0.0/8"},"AddEntries":{"Cidr":"0.0.0.0/0"}}}`, "", true, true, "pl-0a1b2c3d4e5f60718"},
		{"a rename", "ModifyManagedPrefixList", `{"ModifyManagedPrefixListRequest":{"PrefixListId":"pl-0a1b2c3d4e5f60718","PrefixListName":"partners-2"}}`, "", true, false, "pl-0a1b2c3d4e5f60718"},
		{"a created list's id is the response's", "CreateManagedPrefixList", `{"CreateManagedPrefixListRequest":{"PrefixListName":"p","PrefixListId":"pl-0fffffffffffffff0"}}`,
			`{"CreateManagedPrefixListResponse":{"PrefixList":{"PrefixListId":"pl-0a1b2c3d4e5f60718"}}}`, true, false, "pl-0a1b2c3d4e5f60718"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := parseOne(t, trail(c.call, c.params, c.response, ""))
			if (f != nil) != c.finding {
				t.Fatalf("finding %v, want %v", f != nil, c.finding)
			}
			if f == nil {
				return
			}
			unread := f.Attach != nil && f.Attach.Unread || f.List != nil && f.List.Unread
			if unread != c.unread || f.List != nil && f.List.ID != c.id {
				t.Errorf("attach %+v, list %+v: want unread %v, list id %q", f.Attach, f.List, c.unread, c.id)
			}
		})
	}
}
