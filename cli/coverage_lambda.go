//go:build lambda.norpc

package cli

import (
	"fmt"
	"io"
)

// runCoverage says that the Lambda build has no coverage check (see
// coverage.go).
func runCoverage(_ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sgwatch: the coverage check is not in the Lambda build (-tags lambda.norpc): run it with go run . coverage …")
	return 2
}
