#!/usr/bin/env bash
# The scan benchmark (issue 11): sgwatch against the tools a responder would
# reach for, on the same generated files, every command writing into a pipe.
#
# Data: 40 CloudTrail log files x 5,000 records, about 3% security-group
# calls (bench/gen, from the repository's samples and public records), once
# plain and once gzip; and one plain log of about 300 MB for peak memory.
# Each command runs RUNS times (default 7), interleaved; the median counts.
# Prints each median and the four ratios with their targets; exits 1 if a
# target is missed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-7}
command -v jq >/dev/null || { echo "bench/scan.sh: needs jq (apt-get install jq)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -trimpath -ldflags=-s -o "$work/sgwatch" .
go run ./bench/gen -out "$work/plain"
go run ./bench/gen -out "$work/gz" -gzip
go run ./bench/gen -out "$work/big" -files 1 -records 230000
filter=$(go run ./bench/gen -jq)
echo "data: $(du -sh "$work/plain" | cut -f1) plain, $(du -sh "$work/gz" | cut -f1) gzip, one log of $(du -sh "$work/big" | cut -f1); $(nproc) CPUs; median of $runs runs"

declare -A cmds=(
  [sgwatch-gzip]="'$work/sgwatch' -format json '$work/gz' | cat > /dev/null"
  [sgwatch-plain]="'$work/sgwatch' -format json '$work/plain' | cat > /dev/null"
  [zcat]="zcat '$work'/gz/*.gz | cat > /dev/null"
  [cat]="cat '$work'/plain/*.json | cat > /dev/null"
  [zcat-jq]="zcat '$work'/gz/*.gz | jq -c '$filter' | cat > /dev/null"
)
order=(sgwatch-gzip zcat sgwatch-plain cat zcat-jq)

# The findings must agree: sgwatch's and jq's counts of security-group calls.
n_sg=$("$work/sgwatch" -format json "$work/gz" | wc -l)
n_jq=$(zcat "$work"/gz/*.gz | jq -c "$filter" | wc -l)
echo "security-group calls: sgwatch $n_sg, jq $n_jq"
[ "$n_sg" -eq "$n_jq" ] || { echo "bench/scan.sh: sgwatch and jq disagree"; exit 1; }

declare -A times
for _ in $(seq "$runs"); do
  for c in "${order[@]}"; do
    start=$(date +%s%N)
    bash -c "${cmds[$c]}"
    end=$(date +%s%N)
    times[$c]+="$(( (end - start) / 1000000 )) "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A med
for c in "${order[@]}"; do
  med[$c]=$(echo "${times[$c]}" | median)
  printf '%-14s %6d ms   (runs: %s)\n' "$c" "${med[$c]}" "${times[$c]% }"
done

# Peak memory of one scan of the big plain log (maximum resident set).
rss=$(python3 -c '
import resource, subprocess, sys
subprocess.run([sys.argv[1], "-format", "json", sys.argv[2]], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)' "$work/sgwatch" "$work/big")

status=0
check() { # name value op target
  if awk -v v="$2" -v t="$4" -v op="$3" 'BEGIN { exit !((op == "<=") ? v <= t : v >= t) }'; then ok=meets; else ok=MISSES; status=1; fi
  printf '%-44s %7s  target %s %s  %s\n' "$1" "$2" "$3" "$4" "$ok"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
check "zcat|jq / sgwatch (gzip), times faster" "$(ratio "${med[zcat-jq]}" "${med[sgwatch-gzip]}")" ">=" 10
check "sgwatch / zcat (gzip), wall time" "$(ratio "${med[sgwatch-gzip]}" "${med[zcat]}")" "<=" 1.5
check "sgwatch / cat (plain), wall time" "$(ratio "${med[sgwatch-plain]}" "${med[cat]}")" "<=" 3
check "peak RSS, one $(du -sh "$work/big" | cut -f1) plain log, MiB" "$rss" "<=" 64
exit $status
