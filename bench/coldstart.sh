#!/usr/bin/env bash
# The cold-start budget: the first invocation of sgwatch under the Lambda
# Runtime Interface Emulator against that of a minimal Go function that
# publishes the event to SNS (bench/coldstart/hellosns), both built for this
# host as sam build builds the function, side by side, ROUNDS rounds (31 by
# default: the figure is noisy). The budget is a pairwise median ratio of at
# most 1.3 (docs/testing.md). Needs python3; builds the emulator with make rie.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-31}
make --no-print-directory rie >/dev/null
rie=$(ls bin/rie-*/aws-lambda-rie)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags=$(sed -n 's/^LAMBDA_GOFLAGS := //p' Makefile)
CGO_ENABLED=0 GOFLAGS="$flags" go build -o "$out/sgwatch/bootstrap" .
CGO_ENABLED=0 GOFLAGS="$flags" go build -o "$out/hellosns/bootstrap" ./bench/coldstart/hellosns
ls -l "$out/sgwatch/bootstrap" "$out/hellosns/bootstrap" | awk '{print $5, $9}'
python3 bench/coldstart/coldstart.py "$rie" "$out/sgwatch/bootstrap" events/authorize-ingress-world-ssh.json \
	"$out/hellosns/bootstrap" events/authorize-ingress-world-ssh.json "$rounds"
