package coverage

import (
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// trailFinding is what one trail (or the best of a Region's trails) says.
type trailFinding struct {
	state TrailState
	name  string
	err   *CallError
}

// rank orders findings as ruleFinding.rank does.
func (f trailFinding) rank() int {
	switch f.state {
	case TrailLogging:
		return 4
	case TrailError:
		return 3
	case TrailNoManagement:
		return 2
	case TrailNotLogging:
		return 1
	}
	return 0
}

// trail checks the trails that cover region in account: a multi-Region
// trail (an organization's included, as DescribeTrails lists it in every
// member account), or a trail homed in region. One of them must be logging
// there (GetTrailStatus in region: the status is per Region) and select the
// write management events of the security-group calls (GetEventSelectors in
// the trail's home Region, which always knows its trail).
func (r *run) trail(ctx context.Context, account, region string) trailFinding {
	tc := r.env.Trails(account, region)
	out, err := tc.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return trailFinding{state: TrailError, err: newCallError(err)}
	}
	best := trailFinding{state: TrailNone}
	for _, t := range out.TrailList {
		home := aws.ToString(t.HomeRegion)
		if home == "" {
			home = region
		}
		if !aws.ToBool(t.IsMultiRegionTrail) && home != region {
			continue
		}
		if f := r.judgeTrail(ctx, tc, account, home, t); f.rank() > best.rank() {
			best = f
		}
		if best.state == TrailLogging {
			break
		}
	}
	return best
}

// judgeTrail checks one trail that covers the Region of tc.
func (r *run) judgeTrail(ctx context.Context, tc Trails, account, home string, t types.Trail) trailFinding {
	f := trailFinding{name: name(t.Name)}
	// An ARN names a shadow trail and, in a member account, an organization
	// trail; a name only a trail of this account and Region.
	id := t.TrailARN
	if aws.ToString(id) == "" {
		id = t.Name
	}
	st, err := tc.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: id})
	if err != nil {
		f.state, f.err = TrailError, newCallError(err)
		return f
	}
	if !aws.ToBool(st.IsLogging) {
		f.state = TrailNotLogging
		return f
	}
	ok, err := r.managementEvents(ctx, account, home, aws.ToString(id))
	switch {
	case err != nil:
		f.state, f.err = TrailError, newCallError(err)
	case !ok:
		f.state = TrailNoManagement
	default:
		f.state = TrailLogging
	}
	return f
}

// selectorResult is GetEventSelectors' verdict on one trail, asked once per
// run: a multi-Region trail covers every cell of its account. The cells
// that need it while it is asked wait for done, or for their own deadline.
type selectorResult struct {
	done chan struct{}
	ok   bool
	err  error
}

// managementEvents reports whether the trail id (homed in home) records
// every security-group call: write management events from
// ec2.amazonaws.com.
func (r *run) managementEvents(ctx context.Context, account, home, id string) (bool, error) {
	r.mu.Lock()
	key := account + "\x00" + id
	res, asked := r.selectors[key]
	if !asked {
		res = &selectorResult{done: make(chan struct{})}
		r.selectors[key] = res
	}
	r.mu.Unlock()
	if asked {
		select {
		case <-res.done:
			return res.ok, res.err
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	defer close(res.done)
	out, err := r.env.Trails(account, home).GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: &id})
	if err != nil {
		res.err = err
		return false, err
	}
	res.ok = Selects(out, r.calls)
	return res.ok, nil
}

// Selects reports whether a trail with these event selectors records every
// one of calls as the write management event it is (eventSource
// ec2.amazonaws.com, readOnly false). Selectors are ORed: one that selects
// them all is enough. A classic selector counts unless it leaves out
// management events, records read-only events only, or excludes the EC2
// event source; an advanced one counts when each of its field selectors
// matches each call (eventCategory Management, readOnly, eventSource,
// eventName; a field it does not know does not match).
func Selects(out *cloudtrail.GetEventSelectorsOutput, calls []string) bool {
	for _, s := range out.EventSelectors {
		if s.IncludeManagementEvents != nil && !*s.IncludeManagementEvents { // AWS's default is true
			continue
		}
		if s.ReadWriteType == types.ReadWriteTypeReadOnly || slices.Contains(s.ExcludeManagementEventSources, patternEventSource) {
			continue
		}
		return true
	}
	for _, s := range out.AdvancedEventSelectors {
		if selectsAll(s.FieldSelectors, calls) {
			return true
		}
	}
	return false
}

// selectsAll reports whether an advanced event selector (its field
// selectors, ANDed) matches every call. Without an eventCategory field it
// is not a valid selector and matches nothing.
func selectsAll(fields []types.AdvancedFieldSelector, calls []string) bool {
	if !slices.ContainsFunc(fields, func(f types.AdvancedFieldSelector) bool { return aws.ToString(f.Field) == "eventCategory" }) {
		return false
	}
	for _, c := range calls {
		event := map[string]string{
			"eventCategory": "Management",
			"readOnly":      "false",
			"eventSource":   patternEventSource,
			"eventName":     c,
		}
		for _, f := range fields {
			v, known := event[aws.ToString(f.Field)]
			if !known || !fieldMatches(f, v) {
				return false
			}
		}
	}
	return true
}

// fieldMatches applies one field selector to the value v: its operators are
// ANDed; the values of a positive operator ORed, of a negative one each
// must fail.
func fieldMatches(f types.AdvancedFieldSelector, v string) bool {
	matchAny := func(list []string, match func(string, string) bool) bool {
		return slices.ContainsFunc(list, func(x string) bool { return match(v, x) })
	}
	eq := func(a, b string) bool { return a == b }
	if len(f.Equals) > 0 && !matchAny(f.Equals, eq) ||
		len(f.StartsWith) > 0 && !matchAny(f.StartsWith, strings.HasPrefix) ||
		len(f.EndsWith) > 0 && !matchAny(f.EndsWith, strings.HasSuffix) {
		return false
	}
	return !matchAny(f.NotEquals, eq) && !matchAny(f.NotStartsWith, strings.HasPrefix) && !matchAny(f.NotEndsWith, strings.HasSuffix)
}
