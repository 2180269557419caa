#!/usr/bin/env bash
# Benchmarks: per-event detection, batch (log file), the scan, rendering, a whole
# invocation, cold-start initialisation, and the CLI's process start.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-5}
mkdir -p .test-results
go test -run '^$' -bench . -benchmem -count "$count" ./detect ./scan ./report ./handler ./enrich | tee .test-results/bench.txt

# Process start to first output: the CLI on one event, built like the
# Lambda binary but for this machine.
bin=$(mktemp -d)/sgwatch
CGO_ENABLED=0 GOFLAGS="$(sed -n 's/^LAMBDA_GOFLAGS := //p' Makefile)" go build -o "$bin" .
runs=50
start=$(date +%s%N)
for _ in $(seq $runs); do "$bin" events/authorize-ingress-world-ssh.json >/dev/null; done
end=$(date +%s%N)
echo "process start + one event (host build, CLI mode): $(( (end - start) / runs / 1000 )) us per run over $runs runs"
rm -rf "$(dirname "$bin")"
