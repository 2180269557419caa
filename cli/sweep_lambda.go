//go:build lambda.norpc

package cli

import (
	"fmt"
	"io"
)

// runSweep says that the Lambda build has no "sgwatch sweep" (see
// sweep.go).
func runSweep(_ []string, _ func(string) string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sgwatch: the sweep command is not in the Lambda build (-tags lambda.norpc): run it with go run . sweep …")
	return 2
}
