# sgwatch. "make test" is the whole test suite; it installs what it needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# How the Lambda binary is built (sam build runs plain "go build" with these
# in its environment). "make e2e" passes it to the end-to-end tests, which
# check the binaries sam build and host-bootstrap make with it.
LAMBDA_GOFLAGS := -tags=lambda.norpc -trimpath -ldflags=-s

VENV := .venv
PY   := $(VENV)/bin/python
FUZZTIME ?= 20s
READERFUZZTIME ?= 10s

# The Lambda Runtime Interface Emulator, built from its Go module.
RIE_MODULE  := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE         := bin/rie-$(RIE_VERSION)/aws-lambda-rie
# The bootstrap the emulator runs: as sam build builds it, for this host.
HOSTARCH       := $(shell go env GOARCH)
HOST_BOOTSTRAP := bin/linux-$(HOSTARCH)/bootstrap
# The sweep worker's (template.yaml's SweepWorkerFunction), likewise.
WORKER_BOOTSTRAP := bin/linux-$(HOSTARCH)/sweep/bootstrap

.PHONY: test vet unit fuzz lint e2e tools rie warm docker-tools host-bootstrap cli-bin local run build deploy bench clean

## test: everything CI runs - vet, unit and golden tests, a short fuzz run,
## cfn-lint, and the end-to-end tests (runtime emulator, moto, SAM, checkov)
## The installs (pip, aws-lambda-rie) and a warm-up build for the Lambda
## architecture run in the background while vet, unit and fuzz run: on a fresh
## machine that saves minutes.
INSTALLLOG := .test-results/install.log
test:
	@mkdir -p $(dir $(INSTALLLOG))
	@( $(MAKE) --no-print-directory tools rie warm docker-tools > $(INSTALLLOG) 2>&1 ) & pid=$$!; \
	status=0; $(MAKE) --no-print-directory vet unit fuzz || status=$$?; \
	if ! wait $$pid; then cat $(INSTALLLOG); echo "installing the test tools failed (log: $(INSTALLLOG))"; exit 1; fi; \
	exit $$status
	@$(MAKE) --no-print-directory lint e2e
	@echo "sgwatch: $$(cat $(UNITLOG) $(E2ELOG) | grep -c -- '--- PASS') passed, $$(cat $(UNITLOG) $(E2ELOG) | grep -c -- '--- FAIL' || true) failed"

# warm: compile for the template's architecture into the build cache, so that
# sam build in the end-to-end tests only links.
LAMBDA_GOARCH := $(if $(shell grep -E '^ *Architectures: \[x86_64\]' template.yaml),amd64,arm64)
warm:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(LAMBDA_GOARCH) GOFLAGS="$(LAMBDA_GOFLAGS)" go build -o /dev/null .

vet:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt: the files above are not formatted"; exit 1; }
	go vet ./...
	go vet -tags e2e ./e2e

UNITLOG := .test-results/unit.log
unit:
	@mkdir -p $(dir $(UNITLOG))
	@go test -count=1 -v ./... > $(UNITLOG) 2>&1 || { cat $(UNITLOG); echo "unit tests failed (log: $(UNITLOG))"; exit 1; }
	@grep -E '^(ok|FAIL)' $(UNITLOG)

## e2e: the end-to-end checks, each a top-level test in e2e/ (issue 3's five, ENRICH
## against moto's EC2, and sam local invoke under Docker); prints their pass lines and
## what they measured. Fails if a component cannot be installed, and if any process it
## started is still running.
E2ELOG := .test-results/e2e.log
E2E_PROCS := ^([^ ]*python[^ ]* )?($(abspath $(RIE))|$(abspath $(VENV))/bin/moto_server|$(abspath $(HOST_BOOTSTRAP))|$(abspath $(WORKER_BOOTSTRAP)))( |$$)|^[^ ]*(dockerd|containerd) .*/TestSAMLocalInvoke
e2e: tools rie host-bootstrap cli-bin docker-tools
	@mkdir -p $(dir $(E2ELOG))
	@status=0; go test -tags e2e -count=1 -v -timeout 12m ./e2e -args \
		-rie=$(abspath $(RIE)) -moto=$(abspath $(VENV))/bin/moto_server \
		-sam=$(abspath $(VENV))/bin/sam -checkov=$(abspath $(VENV))/bin/checkov \
		-bootstrap=$(abspath $(HOST_BOOTSTRAP)) -worker=$(abspath $(WORKER_BOOTSTRAP)) -cli=$(abspath $(CLI_BIN)) -goflags="$(LAMBDA_GOFLAGS)" > $(E2ELOG) 2>&1 || status=$$?; \
	if pgrep -f '$(E2E_PROCS)' > /dev/null; then \
		echo "e2e: processes left running:"; pgrep -af '$(E2E_PROCS)'; pkill -9 -f '$(E2E_PROCS)'; status=1; fi; \
	if [ $$status -ne 0 ]; then cat $(E2ELOG); echo "end-to-end tests failed (log: $(E2ELOG))"; exit 1; fi
	@grep -E '^(bootstrap \(sam build|--- PASS: Test)|^    [a-z]+_test\.go:[0-9]+: (host bootstrap|text:|json:|chat:|[A-Za-z_ ]+: failed as|pattern|checkov|enrich:|sam local:|coverage:|organization:|scan:|once:|sweep:|securityhub:|live:|sgwatch sweep|fan-out:)' $(E2ELOG)
	@test "$$(grep -c '^--- PASS: Test' $(E2ELOG))" -eq 22 || { echo "e2e: want the pass lines of 22 tests"; exit 1; }

## rie: the Lambda Runtime Interface Emulator, pinned, in bin/
rie: $(RIE)
$(RIE):
	GOBIN=$(abspath $(dir $(RIE))) go install $(RIE_MODULE)@$(RIE_VERSION) \
		|| { echo "cannot install aws-lambda-rie $(RIE_VERSION) from the Go module proxy"; exit 1; }

## docker-tools: what the sam local invoke test needs besides SAM, from Debian's packages
## when missing (CI runs as root): dockerd, static busybox for the stand-in Lambda base
## image, and, for an arm64 template on another host, qemu registered in binfmt_misc
## (the package does not register it without systemd).
DOCKER_PKGS := docker.io busybox-static $(if $(filter arm64,$(LAMBDA_GOARCH)),$(if $(filter arm64,$(HOSTARCH)),,qemu-user-static))
docker-tools:
	@missing=""; for p in $(DOCKER_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing$$missing"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; } \
		|| { echo "cannot install$$missing from Debian's packages (apt-get, as root)"; exit 1; }; fi
	@if [ "$(LAMBDA_GOARCH)" = arm64 ] && [ "$(HOSTARCH)" != arm64 ]; then \
		[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; \
		[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register; \
		[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { echo "cannot register qemu-aarch64 in binfmt_misc"; exit 1; }; fi

## cli-bin: the command line for this host (without the Lambda build's tags, so with
## "sgwatch coverage"), for the end-to-end tests
CLI_BIN := bin/sgwatch
cli-bin:
	CGO_ENABLED=0 go build -trimpath -o $(CLI_BIN) .

host-bootstrap:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(HOSTARCH) GOFLAGS="$(LAMBDA_GOFLAGS)" go build -o $(HOST_BOOTSTRAP) .
	CGO_ENABLED=0 GOOS=linux GOARCH=$(HOSTARCH) GOFLAGS="$(LAMBDA_GOFLAGS)" go build -o $(WORKER_BOOTSTRAP) ./cmd/sgwatch-sweep

## local: "sam local invoke" without Docker - builds, starts moto and the
## runtime emulator, invokes EVENT, prints what the subscriber received
EVENT ?= events/authorize-ingress-world-ssh.json
FORMAT ?= text
local: tools rie host-bootstrap
	go run ./cmd/sgwatch-local -rie=$(abspath $(RIE)) -moto=$(abspath $(VENV))/bin/moto_server \
		-bootstrap=$(abspath $(HOST_BOOTSTRAP)) -format=$(FORMAT) $(EVENT)

fuzz:
	go test -run '^$$' -fuzz '^FuzzRender$$' -fuzztime $(FUZZTIME) ./report
	go test -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(READERFUZZTIME) ./cloudtrail

lint: tools
	$(VENV)/bin/cfn-lint template.yaml forwarder.yaml history.yaml
	@echo "cfn-lint template.yaml forwarder.yaml history.yaml: no findings"

## tools: a project-local virtualenv with the pinned Python tools (SAM CLI,
## checkov, moto, cfn-lint; requirements-dev.txt locks every package)
tools: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-dev.txt \
		|| { echo "cannot install the Python tools in requirements-dev.txt (aws-sam-cli, checkov, moto, cfn-lint) from PyPI"; exit 1; }
	$(PY) -m pip check --disable-pip-version-check
	touch $@

## run: the notification for the critical sample event, no AWS account needed
run:
	go run . events/authorize-ingress-world-ssh.json

## build: sam build, with the flags that make the binary static and stripped
build: tools
	CGO_ENABLED=0 GOFLAGS="$(LAMBDA_GOFLAGS)" $(VENV)/bin/sam build

deploy: build
	$(VENV)/bin/sam deploy --guided

## bench: per-event, batch and rendering benchmarks
## bench: the Go benchmarks (bench/run.sh), then the scan against zcat, cat
## and jq (bench/scan.sh; needs jq, installed from Debian's packages if missing)
bench:
	bash bench/run.sh
	@command -v jq > /dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq; } \
		|| { echo "cannot install jq from Debian's packages (apt-get, as root)"; exit 1; }
	bash bench/scan.sh

clean:
	rm -rf .aws-sam $(VENV) bin .test-results
