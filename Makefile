# tide — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/.bin
export PATH := $(BIN):$(PATH)

BUF_VERSION            := v1.75.0
PROTOC_GEN_GO_VERSION  := v1.36.12
CONNECT_GO_VERSION     := v1.21.1

.PHONY: all build demo test test-go test-faults services services-down generate check-generated vet fmt bench tools

all: build

build:
	$(GO) build -o tide ./cmd/tide

## demo: start ClickHouse and PostgreSQL (Kafka is embedded unless TIDE_KAFKA_BROKERS is set),
## then run serve + ingest in one process with simulated live-room traffic through Track.
## Pass flags with DEMO_FLAGS, e.g. make demo DEMO_FLAGS='-duration 5m -rate 5000 -keep'.
demo: build
	bash scripts/services.sh up clickhouse postgres
	./tide demo $(DEMO_FLAGS)

## services: install (if missing) and start Kafka, ClickHouse and PostgreSQL on loopback.
services:
	bash scripts/services.sh up

services-down:
	bash scripts/services.sh down

## services-status: print whether Kafka, ClickHouse and PostgreSQL are up, and their addresses.
.PHONY: services-status
services-status:
	bash scripts/services.sh status

## test: start the real servers and run every test.
test: services check-generated vet browser test-go test-faults test-ts

## browser: install (if missing) the headless Chromium of the dashboard's browser test.
.PHONY: browser
browser:
	bash scripts/browser.sh

## FAULT_TESTS: ingest's fault tests (kill -9, ClickHouse outage, dead letters, two ingesters with
## one killed again and again). test-go skips them; test-faults runs them three times in a row.
FAULT_TESTS := ^(TestKillNine|TestClickHouseOutage|TestDeadLetters|TestTwoIngestersOneKilled)$$

test-go:
	$(GO) test -count=1 -timeout 40m -skip '$(FAULT_TESTS)' ./...

## test-faults: ingest's fault tests, three times in a row, stopping at the first failure (-v: each
## run's PASS line shows in the CI log).
test-faults:
	$(GO) test -count=3 -failfast -v -timeout 45m -run '$(FAULT_TESTS)' ./ingest/

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

tools:
	@mkdir -p $(BIN)
	@test -x $(BIN)/buf || GOBIN=$(BIN) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	@test -x $(BIN)/protoc-gen-go || GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@test -x $(BIN)/protoc-gen-connect-go || GOBIN=$(BIN) $(GO) install connectrpc.com/connect/cmd/protoc-gen-connect-go@$(CONNECT_GO_VERSION)

## generate: regenerate protobuf and Connect code from proto/.
generate: tools generate-ts generate-dashboard
	cd proto && buf lint && buf generate

## check-generated: fail when the committed generated code differs from what `make generate` writes.
check-generated: generate
	@git diff --exit-code --stat -- proto serving/dashboard/assets || { echo "generated code is stale: run make generate and commit"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard proto serving/dashboard/assets)" || { echo "untracked generated files:"; git ls-files --others --exclude-standard proto serving/dashboard/assets; exit 1; }

## generate-ts: the mini-program's TypeScript client code (clients/ts/src/gen) from proto/, with
## protoc-gen-es pinned by clients/ts/package-lock.json.
.PHONY: generate-ts test-ts
TS_DIR := clients/ts

generate-ts: tools $(TS_DIR)/node_modules/.package-lock.json
	cd proto && buf generate --template buf.gen.ts.yaml

$(TS_DIR)/node_modules/.package-lock.json: $(TS_DIR)/package.json $(TS_DIR)/package-lock.json
	cd $(TS_DIR) && npm ci --no-audit --no-fund
	@touch $@

## test-ts: check the generated TypeScript is committed, build the client and run its Node tests,
## including the end-to-end test against a real `tide serve` (needs Kafka: make services).
test-ts: generate-ts
	@git diff --exit-code --stat -- $(TS_DIR)/src/gen || { echo "generated TypeScript is stale: run make generate and commit"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard $(TS_DIR)/src/gen)" || { echo "untracked generated files:"; git ls-files --others --exclude-standard $(TS_DIR)/src/gen; exit 1; }
	cd $(TS_DIR) && npm test

## generate-dashboard: bundle the merchant dashboard (serving/dashboard/web/src) into
## serving/dashboard/assets/app.js with esbuild; esbuild and ECharts are pinned by
## serving/dashboard/web/package-lock.json, so the committed bundle is reproducible.
.PHONY: generate-dashboard
DASH_DIR := serving/dashboard/web

generate-dashboard: $(DASH_DIR)/node_modules/.package-lock.json
	cd $(DASH_DIR) && npm run --silent build

$(DASH_DIR)/node_modules/.package-lock.json: $(DASH_DIR)/package.json $(DASH_DIR)/package-lock.json
	cd $(DASH_DIR) && npm ci --no-audit --no-fund
	@touch $@
