//go:build !lambda.norpc

package cli

import (
	"context"
	"io"

	"github.com/sgwatch/sgwatch/coverage"
)

// runCoverage runs "sgwatch coverage". The Lambda build (-tags
// lambda.norpc) leaves it out: the function never runs it, and its AWS
// clients would add 0.8 MB and a millisecond of package set-up to every
// cold start.
func runCoverage(args []string, stdout, stderr io.Writer) int {
	return coverage.Main(context.Background(), args, stdout, stderr, coverage.AWS)
}
