package sweep

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sgwatch/sgwatch/detect"
)

// TestSweepUnion: two groups on one interface that open SSH to the whole
// internet only together are an exposure of each rule, naming the
// interface and the other group, published once; moving one group off the
// interface resolves both.
func TestSweepUnion(t *testing.T) {
	g := func(id string, nis []string, rules ...detect.Rule) Group {
		return Group{SecurityGroup: detect.SecurityGroup{ID: id, Name: "g" + id[len(id)-1:]}, Rules: rules, Interfaces: nis}
	}
	x := newFixture([]Group{
		g("sg-0000000000000000a", []string{"eni-0000000000000001", "eni-0000000000000002"}, listed("sgr-000000000000000a1", "tcp", 22, 22, "32.0.0.0/5")),
		g("sg-0000000000000000b", []string{"eni-0000000000000001"}, listed("sgr-000000000000000b1", "tcp", 22, 22, "40.0.0.0/5")),
		g("sg-0000000000000000c", []string{"eni-0000000000000002"}, listed("sgr-000000000000000c1", "tcp", 23, 23, "40.0.0.0/5")),
	})
	want := []string{
		"exposure critical sg-0000000000000000a sgr-000000000000000a1",
		"exposure critical sg-0000000000000000b sgr-000000000000000b1",
	}
	if got := x.sweep(t, "s1"); !slices.Equal(got, want) {
		t.Fatalf("first sweep published\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	fs := UnionExposures(x.lister.groups, "eu-west-1", "111122223333", x.now, detect.Scoring{})
	if len(fs) != 2 {
		t.Fatalf("%d union exposures, want 2", len(fs))
	}
	why := strings.Join(fs[0].Reasons, "; ")
	for _, s := range []string{"together with 40.0.0.0/5: the whole IPv4 internet", "open only together with the rules of sg-0000000000000000b on eni-0000000000000001"} {
		if !strings.Contains(why+fs[0].Rules[0].Exposure, s) {
			t.Errorf("reasons %q, exposure %q: want %q", why, fs[0].Rules[0].Exposure, s)
		}
	}
	if !strings.HasSuffix(fs[0].Sweep.Key, unionKey) || fs[0].Undo == nil || !strings.Contains(fs[0].Undo.Command, "sgr-000000000000000a1") {
		t.Errorf("key %q, undo %+v", fs[0].Sweep.Key, fs[0].Undo)
	}
	if got := x.sweep(t, "s2"); len(got) != 0 {
		t.Fatalf("second sweep published %q", got)
	}
	// The interfaces cannot be listed: nothing is resolved on that.
	saved := slices.Clone(x.lister.groups)
	for i := range x.lister.groups {
		x.lister.groups[i].Interfaces, x.lister.groups[i].InterfacesUnlisted = nil, true
	}
	if got := x.sweep(t, "s2b"); len(got) != 0 {
		t.Fatalf("with the interfaces unlisted, the sweep published %q", got)
	}
	copy(x.lister.groups, saved)
	if got := x.sweep(t, "s2c"); len(got) != 0 {
		t.Fatalf("listed again, the sweep published %q", got)
	}
	x.lister.groups[1].Interfaces = nil // sg-b detached from eni-1
	want = []string{
		"resolved info sg-0000000000000000a sgr-000000000000000a1",
		"resolved info sg-0000000000000000b sgr-000000000000000b1",
	}
	if got := x.sweep(t, "s3"); !slices.Equal(got, want) {
		t.Fatalf("after the detach\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestGroupsInterfaces: the listing keeps which interfaces use each group.
func TestGroupsInterfaces(t *testing.T) {
	ni := func(id string, groups ...string) types.NetworkInterface {
		n := types.NetworkInterface{NetworkInterfaceId: aws.String(id)}
		for _, g := range groups {
			n.Groups = append(n.Groups, types.GroupIdentifier{GroupId: aws.String(g)})
		}
		return n
	}
	api := &fakeEC2{
		groups: []types.SecurityGroup{{GroupId: aws.String("sg-1")}, {GroupId: aws.String("sg-2")}},
		nis:    []types.NetworkInterface{ni("eni-1", "sg-1", "sg-2"), ni("eni-2", "sg-1")},
		calls:  map[string]int{},
	}
	groups, err := AWS{EC2: api}.Groups(context.Background())
	if err != nil || len(groups) != 2 {
		t.Fatal(groups, err)
	}
	if !slices.Equal(groups[0].Interfaces, []string{"eni-1", "eni-2"}) || !slices.Equal(groups[1].Interfaces, []string{"eni-1"}) || *groups[0].AttachedInterfaces != 2 {
		t.Errorf("interfaces %q and %q", groups[0].Interfaces, groups[1].Interfaces)
	}
}

// TestGroupsInterfacesUnlisted: interfaces that cannot be listed mark every
// group, so that no union exposure is resolved on that listing.
func TestGroupsInterfacesUnlisted(t *testing.T) {
	api := &fakeEC2{groups: []types.SecurityGroup{{GroupId: aws.String("sg-1")}}, calls: map[string]int{}}
	groups, err := AWS{EC2: rtNoENI{api}}.Groups(context.Background())
	if err != nil || len(groups) != 1 || !groups[0].InterfacesUnlisted || groups[0].Interfaces != nil {
		t.Errorf("%+v, %v: want the group marked InterfacesUnlisted", groups, err)
	}
}
