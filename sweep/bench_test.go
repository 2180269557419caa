package sweep

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sgwatch/sgwatch/detect"
)

// benchGroups are 1,000 groups of 5 ingress rules (public /12s and private
// ranges on a few ports) used by 2,000 interfaces with 1 to 5 groups each,
// the sweep's measure in issue 20.
func benchGroups() []Group {
	rnd := rand.New(rand.NewPCG(1, 2))
	groups := make([]Group, 1000)
	for i := range groups {
		g := Group{SecurityGroup: detect.SecurityGroup{ID: fmt.Sprintf("sg-%017x", i)}}
		for j := range 5 {
			port := []int32{22, 443, 3389, 5432, 8080}[rnd.IntN(5)]
			cidr := fmt.Sprintf("%d.0.0.0/6", 4*(4+rnd.IntN(40)))
			if rnd.IntN(2) == 0 {
				cidr = "10.0.0.0/8"
			}
			g.Rules = append(g.Rules, listed(fmt.Sprintf("sgr-%012x%05x", i, j), "tcp", port, port, cidr))
		}
		groups[i] = g
	}
	for n := range 2000 {
		for range 1 + rnd.IntN(5) {
			g := &groups[rnd.IntN(len(groups))]
			g.Interfaces = append(g.Interfaces, fmt.Sprintf("eni-%017x", n))
		}
	}
	return groups
}

// BenchmarkJudge is the sweep's judgement of one listing: each group's
// exposures ("groups", as before interfaces were judged) and then what the
// interfaces' groups open together ("groups+interfaces").
func BenchmarkJudge(b *testing.B) {
	groups := benchGroups()
	at := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	for _, union := range []bool{false, true} {
		name := "groups"
		if union {
			name = "groups+interfaces"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				for _, g := range groups {
					n += len(Exposures(g, "eu-west-1", "111122223333", at, detect.Scoring{}))
				}
				if union {
					n += len(UnionExposures(groups, "eu-west-1", "111122223333", at, detect.Scoring{}))
				}
				b.ReportMetric(float64(n), "exposures")
			}
		})
	}
}

// BenchmarkPlan10000 is the fan-out's planner for 10,000 targets (about
// 590 accounts × 17 Regions): the messages, and their encoding into 1,000
// SendMessageBatch requests (to a queue that answers at once: SQS's own
// latency is counted on paper, docs/sweep.md).
func BenchmarkPlan10000(b *testing.B) {
	accounts := make([]string, 589)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("%012d", 100000000000+i)
	}
	regions := []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
		"ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ca-central-1", "sa-east-1"}
	q := &batchQueue{}
	b.ReportAllocs()
	for b.Loop() {
		q.batches = q.batches[:0]
		targets := Targets(accounts, regions, func(a string) string { return "arn:aws:iam::" + a + ":role/sgwatch-sweep" })
		if err := Send(context.Background(), q, "url", Messages(Request{ID: "exec-1", By: "schedule"}, targets[:10000])); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(q.batches)), "requests/op")
}
