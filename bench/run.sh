#!/usr/bin/env bash
# Runs the benchmarks bench/README.md records, one after another, and prints
# their output with the machine it ran on. Run it on an otherwise idle
# machine: these are wall-clock figures.
#
#   bash bench/run.sh            # everything (about 10 minutes on 2 cores)
#   bash bench/run.sh engine     # one group: wal hot engine blob fts otlp remotewrite cold compact sql promql rollups analytics
#   (compact, sql, promql, rollups and analytics are not in the default list:
#   compact, sql and analytics build 10,000,000 compacted spans first, promql
#   loads 10,000 series × 6 h, rollups 1,000 series × 30 days; each takes
#   several minutes on 2 cores; TAEL_BENCH_SPANS / TAEL_BENCH_SERIES override
#   the sizes)
set -euo pipefail
cd "$(dirname "$0")/.."
groups=${*:-"wal hot engine blob fts otlp remotewrite cold"}
b() { go test -tags duckdb_arrow -run '^$' "$@" 2>&1 | grep -E '^(Benchmark|\s+\S+_test.go)' || true; }
echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) cores  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)  $(go version | cut -d' ' -f3)"
for g in $groups; do
  echo "## $g"
  case $g in
    wal) b -bench 'BenchmarkAppend' -benchtime 2s ./engine/wal/ ;;
    hot) b -bench 'BenchmarkApply|BenchmarkScanSpans|BenchmarkTrace' -benchtime 2s ./engine/hot/ ;;
    engine) b -bench 'BenchmarkAppendSpans|BenchmarkScanSpans|BenchmarkTraceLookup' -benchtime 3s ./engine/ ;;
    blob) b -bench 'BenchmarkBlob' -benchtime 5000x ./engine/blob/ ;;
    fts) b -bench 'BenchmarkIndex/batch=1024$' -benchtime 3x ./engine/fts/ ;;
    otlp) b -bench 'BenchmarkTraces|BenchmarkGRPCTraces' -benchtime 3s ./ingest/otlp/ ;;
    remotewrite) b -bench 'BenchmarkRemoteWrite' -benchtime 3s ./ingest/remotewrite/ ;;
    cold) b -bench 'BenchmarkWriteSpans|BenchmarkWriteMetrics|BenchmarkRollup|BenchmarkScanSpans' -benchtime 3x ./engine/cold/ ;;
    compact) b -bench 'BenchmarkCompactSpans' -benchtime 2x -timeout 30m ./engine/
             TAEL_BENCH_SPANS=${TAEL_BENCH_SPANS:-10000000} b -bench 'BenchmarkColdTraceLookup' -benchtime 2000x -timeout 30m ./engine/ ;;
    promql) b -bench 'BenchmarkRangeQuery' -benchtime 3x -timeout 30m ./promql/ ;;
    rollups) b -bench 'BenchmarkRollupRange' -benchtime 5x -timeout 30m ./promql/ ;;
    analytics) TAEL_BENCH_SPANS=${TAEL_BENCH_SPANS:-10000000} b -bench 'BenchmarkSummary|BenchmarkCorrelate' -benchtime 5s -timeout 60m ./analytics/ ;;
    promcompare) b -bench 'BenchmarkPromCompare' -benchtime 3x -timeout 30m ./bench/promcompare/ ;;
    sql) TAEL_BENCH_SPANS=${TAEL_BENCH_SPANS:-10000000} b -bench 'BenchmarkSelectStar|BenchmarkFourQueries' -benchtime 3x -timeout 60m ./bench/sqlbench/ ;;
    *) echo "unknown group $g" >&2; exit 2 ;;
  esac
done
