# tael: every build and test carries the duckdb_arrow tag (DESIGN.md).
GO      ?= go
TAGS    := duckdb_arrow
TIMEOUT ?= 14m

.PHONY: run build test unit fuzz soak bench vet

# Every decoder's fuzz target, run briefly by `make test` (package:target).
# engine/hot:FuzzDecodeValue runs only its corpus (in `make unit`) until a leak
# of arrow-go's IPC reader on one corrupt value it found is fixed; run it with
# `make fuzz FUZZ_TARGETS=engine/hot:FuzzDecodeValue`.
FUZZ_TARGETS := engine/wal:FuzzOpenReplay engine/fts:FuzzParseQuery \
	ingest/otlp:FuzzTraces ingest/otlp:FuzzLogs ingest/otlp:FuzzMetrics ingest/otlp:FuzzHTTPTraces \
	ingest/llm:FuzzExtract ingest/remotewrite:FuzzRemoteWrite ingest/remotewrite:FuzzDecodeV1 \
	sql:FuzzDecodeTicket engine/cold:FuzzDecodeManifest promql:FuzzAppendString
# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# report its own deadline as a failure ("context deadline exceeded", no
# crasher written; golang/go#75804, fixed in Go 1.27). 5000 inputs take 1-20 s
# per target here.
FUZZTIME ?= 5000x

## run: start flightd on the embedded defaults (./data, loopback ports)
run:
	$(GO) run -tags $(TAGS) ./cmd/flightd $(ARGS)

## build: build bin/flightd
build:
	$(GO) build -tags $(TAGS) -o bin/flightd ./cmd/flightd

## test: vet, the full test suite and a short run of every fuzz target (what CI runs)
test: vet unit fuzz

# The outside tools the tests drive (promtool) come from scripts/tools.sh.
unit:
	PATH="$$(bash scripts/tools.sh || echo /nonexistent):$$PATH" $(GO) test -tags $(TAGS) -count=1 -timeout $(TIMEOUT) ./...

## fuzz: each decoder's fuzz target for FUZZTIME (crashers land in testdata/fuzz/)
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $$t for $(FUZZTIME)"; \
		$(GO) test -tags $(TAGS) -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 0s ./$${t%%:*}; \
	done
## soak: the slow soak tests as well (TAEL_SOAK=1)
soak:
	TAEL_SOAK=1 $(GO) test -tags $(TAGS) -timeout 60m ./...

## bench: the benchmarks bench/README.md records (several minutes)
bench:
	bash bench/run.sh

vet:
	$(GO) vet -tags $(TAGS) ./...
