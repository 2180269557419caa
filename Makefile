# sgwatch. "make test" is the whole test suite; it installs what it needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# How the Lambda binary is built (sam build runs plain "go build" with these
# in its environment). TestBootstrap reads this line.
LAMBDA_GOFLAGS := -tags=lambda.norpc -trimpath -ldflags=-s

VENV := .venv
PY   := $(VENV)/bin/python
FUZZTIME ?= 20s

.PHONY: test vet unit bootstrap fuzz lint tools run build deploy bench clean

## test: everything CI runs - vet, unit and golden tests, the bootstrap check, a short fuzz run, cfn-lint
test: vet unit bootstrap fuzz lint
	@echo "sgwatch: $$(grep -c -- '--- PASS' $(UNITLOG)) passed, $$(grep -c -- '--- FAIL' $(UNITLOG) || true) failed"

vet:
	go vet ./...

UNITLOG := .test-results/unit.log
unit:
	@mkdir -p $(dir $(UNITLOG))
	@go test -count=1 -v ./... > $(UNITLOG) 2>&1 || { cat $(UNITLOG); echo "unit tests failed (log: $(UNITLOG))"; exit 1; }
	@grep -E '^(ok|FAIL)' $(UNITLOG)

## bootstrap: build the Lambda binary as sam build does and print its size
bootstrap:
	go test -count=1 -v -run '^TestBootstrap$$' . | grep -E '^(bootstrap|--- |ok|FAIL|PASS)'

fuzz:
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./detect

lint: tools
	$(VENV)/bin/cfn-lint template.yaml
	@echo "cfn-lint template.yaml: no findings"

## tools: a project-local virtualenv with the pinned Python tools
tools: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## run: the notification for the critical sample event, no AWS account needed
run:
	go run . events/authorize-ingress-world-ssh.json

## build: sam build, with the flags that make the binary static and stripped
build:
	CGO_ENABLED=0 GOFLAGS="$(LAMBDA_GOFLAGS)" sam build

deploy: build
	sam deploy --guided

## bench: per-event, batch and rendering benchmarks
bench:
	bash bench/run.sh

clean:
	rm -rf .aws-sam $(VENV)
