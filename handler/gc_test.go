package handler

import "testing"

// TestGC: under Lambda the collector targets GCPercent with a soft limit at
// 80% of the function's memory; GOGC and GOMEMLIMIT in the environment win,
// and no memory size sets no limit.
func TestGC(t *testing.T) {
	for _, c := range []struct {
		env     map[string]string
		percent int
		limit   int64
	}{
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}, 200, 107374182},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}, 200, 858993459},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "GOGC": "50"}, 0, 107374182},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "GOMEMLIMIT": "64MiB"}, 200, -1},
		{map[string]string{}, 200, -1},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"}, 200, -1},
	} {
		percent, limit := GC(func(k string) string { return c.env[k] })
		if percent != c.percent || limit != c.limit {
			t.Errorf("%v: %d, %d; want %d, %d", c.env, percent, limit, c.percent, c.limit)
		}
	}
}
