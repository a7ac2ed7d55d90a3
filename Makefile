# Everyday targets. `make test` is the command CI runs (see docs/testing.md).
GO            ?= go
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
ACTIONLINT    := github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
STACK         ?= dev
FUZZTIME      ?= 10s
TEST_TIMEOUT  ?= 25m
BENCH_STACK   ?= prod

.PHONY: all test test-short fuzz generate preview preview-json rehearse bench bench-local lint fmt vet staticcheck actionlint layout build clean

all: lint test

# policy/ is its own Go module (the directory `pulumi policy publish`
# uploads). go.work puts both modules in one workspace, but `./...` still
# means the root module only, so the targets name ./policy/... as well.
PKGS          := ./... ./policy/...

## test: every test of both modules, as CI runs it: nothing is skipped (needs
## MariaDB on 127.0.0.1:3306, moto_server, mariadbd and the pulumi CLI), then a short fuzz run
test:
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)
	$(MAKE) fuzz

## test-short: the tests that need no service (no MariaDB, moto, emulator or
## pulumi CLI); the others skip, saying what they need (docs/testing.md)
test-short:
	$(GO) test -count=1 -short $(PKGS)

## fuzz: fuzz decode+validate of the consumer for FUZZTIME. Minimizing each
## new input for the default 60 s would stall a short run after its first
## finds (25,664 execs in 10 s, against about 400,000 with -fuzzminimizetime 100x).
fuzz:
	$(GO) test -count=1 -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 100x ./consumer/record

## generate: rewrite what is generated from the source: Pulumi.yaml's config
## block and docs/configuration.md from the settings' keys, the components'
## block of docs/infrastructure.md from their Args
generate:
	$(GO) test -count=1 ./infra/settings -run 'TestProjectFile|TestConfigurationDoc' -update
	$(GO) test -count=1 ./infra/stack -run TestComponentsDoc -update

## preview: offline preview of STACK with policy verdicts (no AWS account, no Pulumi CLI)
preview:
	$(GO) run ./offline/preview --stack $(STACK)

preview-json:
	$(GO) run ./offline/preview --stack $(STACK) --json

## rehearse: the deployment lifecycle with the users' own pulumi commands (real CLI and
## Go language host, stand-in aws provider; the same code as TestLifecycle); last line: one JSON object
rehearse:
	$(GO) run ./offline/lifecycle/cmd/rehearse

## bench: consumer throughput vs a raw multi-row INSERT in the same run, then
## the decoder and metrics micro-benchmarks (docs/consumer.md, Throughput)
bench:
	$(GO) test -count=3 -run '^$$' -bench . -benchtime 300x ./consumer/
	$(GO) test -count=2 -run '^$$' -bench . -benchmem ./consumer/record/ ./consumer/emf/

## bench-local: a spike's accept rate on GoAWS against the engine's own SendMessage
## rate and the moto path, in one run (docs/local.md, Accept at API speed)
bench-local:
	STACK=$(BENCH_STACK) GO=$(GO) scripts/bench-local.sh

## lint: gofmt, go vet, staticcheck, actionlint, and the layout rules (offline/doc.go)
lint: fmt vet staticcheck actionlint layout

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) run $(STATICCHECK) $(PKGS)

## layout: no testing import outside offline/ and testkit/, no component test
## linking infra/stack, no two packages of one name
layout:
	$(GO) test -count=1 -run '^TestLayout' ./offline/

actionlint:
	@if [ -d .github/workflows ]; then $(GO) run $(ACTIONLINT); fi

## build: the two Lambda binaries for the host (infra builds the arm64 zips itself)
build:
	$(GO) build -o bin/ ./consumer/cmd/consumer ./migrations/cmd/migrator

clean:
	rm -rf bin dist
