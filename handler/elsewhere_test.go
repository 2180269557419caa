package handler

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/enrich"
	"github.com/sgwatch/sgwatch/report"
	"github.com/sgwatch/sgwatch/sweep"
)

// ownList is an Enricher that reads, as package enrich does in the
// function's own account, the list the change widened: now 0.0.0.0/0, and
// named by no group of that account.
type ownList struct{}

func (ownList) Enrich(_ context.Context, f *detect.Finding) {
	if f.List == nil {
		return
	}
	if f.Event.AccountID != "111122223333" { // the topic's: the function's own
		f.Live = &detect.Live{Unread: []string{enrich.NotLookedUp(f.Event.AccountID)}}
		return
	}
	f.Live = &detect.Live{Groups: map[string][]detect.Rule{}, Lists: map[string]detect.PrefixList{
		f.List.ID: {ID: f.List.ID, Name: "partners", Entries: []string{"198.51.100.0/24", "0.0.0.0/0"}}}}
}

// sharedList lists, in every account, a group whose SSH rule names the
// sample's prefix list and one that does not; in account fail it fails.
type sharedList struct{ fail string }

func (s sharedList) lister(_ context.Context, t sweep.Target) (sweep.Lister, error) {
	if t.Account == s.fail {
		return nil, errors.New("AccessDenied: not authorized to perform sts:AssumeRole")
	}
	return sharedGroups{}, nil
}

type sharedGroups struct{}

func (sharedGroups) Groups(context.Context) ([]sweep.Group, error) {
	n := func(v int32) *int32 { return &v }
	return []sweep.Group{
		{SecurityGroup: detect.SecurityGroup{ID: "sg-0000000000000000a"}, Rules: []detect.Rule{
			detect.Listed{ID: "sgr-0000000000000000a", Protocol: "tcp", FromPort: n(22), ToPort: n(22), PrefixListID: "pl-0a1b2c3d4e5f60718"}.Rule()},
			Lists: map[string]detect.PrefixList{"pl-0a1b2c3d4e5f60718": {ID: "pl-0a1b2c3d4e5f60718", Entries: []string{"0.0.0.0/0"}}}},
		{SecurityGroup: detect.SecurityGroup{ID: "sg-0000000000000000b"}, Rules: []detect.Rule{
			detect.Listed{ID: "sgr-0000000000000000b", Protocol: "tcp", FromPort: n(22), ToPort: n(22), CIDRIPv4: "10.0.0.0/8"}.Rule()}},
	}, nil
}

func (sharedGroups) Events(context.Context, string, int) ([][]byte, error) { return nil, nil }

// TestPrefixListElsewhere: a prefix list widened to 0.0.0.0/0 in the
// function's account is one finding naming every group, in each account
// the sweep covers, whose rules name the list; an account that cannot be
// read is named, and makes the finding no quieter. Without other accounts
// to sweep, none is listed.
func TestPrefixListElsewhere(t *testing.T) {
	event := event(t, "modify-managed-prefix-list-world")
	for _, c := range []struct {
		name     string
		sweep    SweepConfig
		fail     string
		groups   []string
		severity detect.Severity
		note     string
	}{
		{"two member accounts", SweepConfig{Enabled: true, Accounts: []string{"444455556666", "777788889999"}}, "",
			[]string{"444455556666/sg-0000000000000000a", "777788889999/sg-0000000000000000a"}, detect.Critical, ""},
		{"one member cannot be read", SweepConfig{Enabled: true, Accounts: []string{"444455556666", "777788889999"}}, "777788889999",
			[]string{"444455556666/sg-0000000000000000a"}, detect.Critical, "account 777788889999: its groups could not be read (AccessDenied"},
		{"the only member cannot be read", SweepConfig{Enabled: true, Accounts: []string{"777788889999"}}, "777788889999",
			nil, detect.High, "the next sweep judges them"},
		{"no other account swept", SweepConfig{Enabled: true}, "", nil, detect.High, ""},
		// A change forwarded from the list's owner, a member: the function
		// reads it with the sweep's role, and its own account as well.
		{"forwarded from the owner", SweepConfig{Enabled: true, Accounts: []string{"444455556666"}}, "",
			[]string{"111122223333/sg-0000000000000000a", "444455556666/sg-0000000000000000a"}, detect.Critical, "the groups of account 444455556666 were read with the sweep's role"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pub := &lockedSNS{}
			h, _ := newHandler(t, report.JSON, pub)
			h.cfg.Sweep, h.cfg.Region = c.sweep, "eu-west-1"
			h = with(h, func(d *Deps) {
				d.Enricher = ownList{}
				d.Sweep = &Sweeps{Lister: sharedList{fail: c.fail}.lister}
			})
			ev := event
			if strings.HasPrefix(c.name, "forwarded") {
				ev = json.RawMessage(strings.ReplaceAll(string(event), "111122223333", "444455556666"))
			}
			if err := h.Handle(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if len(pub.got) != 1 {
				t.Fatalf("%d notifications, want 1", len(pub.got))
			}
			var f detect.Finding
			if err := json.Unmarshal([]byte(aws.ToString(pub.got[0].Message)), &f); err != nil {
				t.Fatal(err)
			}
			var groups []string
			if f.Context != nil {
				groups = f.Context.Groups
			}
			if f.Severity != c.severity || !slices.Equal(groups, c.groups) {
				t.Errorf("%s naming %q, want %s naming %q: %q", f.Severity, groups, c.severity, c.groups, f.Reasons)
			}
			if c.note != "" && !slices.ContainsFunc(f.Notes, func(n string) bool { return strings.Contains(n, c.note) }) {
				t.Errorf("notes %q lack %q", f.Notes, c.note)
			}
			if slices.ContainsFunc(f.Reasons, func(r string) bool { return strings.Contains(r, "could not all be read") }) != (c.fail != "") {
				t.Errorf("reasons %q: want them to say the groups could not all be read exactly when an account was not", f.Reasons)
			}
		})
	}
}
