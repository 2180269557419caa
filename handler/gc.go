package handler

import "strconv"

// GCPercent is the garbage collector's target under Lambda unless GOGC
// says otherwise: 200, twice Go's default, so that a short-lived function
// starts and handles an event with fewer collections (at cold start the
// SDK's initialisation alone fills Go's first 4 MiB heap goal).
const GCPercent = 200

// memoryShare is the part of the function's memory the heap may take
// before the collector works harder whatever GCPercent says: the rest is
// the runtime's, the stacks' and the binary's.
const memoryShare = 0.8

// GC is how main tunes the collector under Lambda, from getenv: GCPercent
// and a soft memory limit of memoryShare of AWS_LAMBDA_FUNCTION_MEMORY_SIZE
// (MiB), so that the higher target never costs an out-of-memory error.
// GOGC or GOMEMLIMIT set in the environment win: percent is then 0 or
// limit -1 (leave as is); so is a limit without a memory size.
func GC(getenv func(string) string) (percent int, limit int64) {
	percent, limit = GCPercent, -1
	if getenv("GOGC") != "" {
		percent = 0
	}
	if mib, err := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")); err == nil && mib > 0 && getenv("GOMEMLIMIT") == "" {
		limit = int64(float64(mib) * memoryShare * (1 << 20))
	}
	return percent, limit
}
