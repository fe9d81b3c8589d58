# tael: every build and test carries the duckdb_arrow tag (DESIGN.md).
GO      ?= go
TAGS    := duckdb_arrow
TIMEOUT ?= 14m

.PHONY: run build test soak bench vet

## run: start flightd on the embedded defaults (./data, loopback ports)
run:
	$(GO) run -tags $(TAGS) ./cmd/flightd $(ARGS)

## build: build bin/flightd
build:
	$(GO) build -tags $(TAGS) -o bin/flightd ./cmd/flightd

## test: vet and run the full test suite (what CI runs)
test: vet
	$(GO) test -tags $(TAGS) -timeout $(TIMEOUT) ./...

## soak: the slow soak tests as well (TAEL_SOAK=1)
soak:
	TAEL_SOAK=1 $(GO) test -tags $(TAGS) -timeout 60m ./...

## bench: micro-benchmarks beside the code
bench:
	$(GO) test -tags $(TAGS) -run '^$$' -bench . -benchtime 2s ./engine/...

vet:
	$(GO) vet -tags $(TAGS) ./...
