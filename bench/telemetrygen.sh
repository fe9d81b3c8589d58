#!/usr/bin/env bash
# Sends traces from opentelemetry-collector-contrib's telemetrygen (an outside
# OTLP client) to a fresh flightd and prints the spans/s flightd made durable.
#
#   bash bench/telemetrygen.sh [seconds] [workers] [batch-size]
#
# telemetrygen is installed from the Go module proxy into bench/.bin on first
# use (a few minutes: it is a large module).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
workers=${2:-8}
batch=${3:-512}
tg_version=v0.161.0
bin=bench/.bin
mkdir -p "$bin"
if [ ! -x "$bin/telemetrygen" ]; then
  echo "installing telemetrygen $tg_version into $bin ..." >&2
  GOBIN="$PWD/$bin" go install "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@$tg_version"
fi
go build -tags duckdb_arrow -o "$bin/flightd" ./cmd/flightd
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
"$bin/flightd" --data-dir "$dir/data" --http 127.0.0.1:17701 --otlp-grpc 127.0.0.1:14317 --otlp-http 127.0.0.1:14318 \
  --flight 127.0.0.1:18815 --log-level warn &
pid=$!
for _ in $(seq 100); do curl -sf 127.0.0.1:17701/readyz >/dev/null && break; sleep 0.1; done
rows() { curl -s 127.0.0.1:17701/metrics | awk '/^tael_engine_append_rows_total\{table="spans"\}/ {print $2}' | head -1; }
start=$(date +%s.%N)
"$bin/telemetrygen" traces --otlp-endpoint 127.0.0.1:14317 --otlp-insecure --rate 0 --workers "$workers" \
  --batch-size "$batch" --duration "${secs}s" >/dev/null 2>&1
end=$(date +%s.%N)
n=$(rows)
awk -v n="${n:-0}" -v s="$start" -v e="$end" -v w="$workers" -v b="$batch" 'BEGIN {
  printf "telemetrygen traces: workers=%d batch=%d  spans=%d  seconds=%.1f  spans/s=%.0f\n", w, b, n, e-s, n/(e-s) }'
