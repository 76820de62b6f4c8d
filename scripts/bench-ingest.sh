#!/usr/bin/env bash
# Benchmark `payrecon ingest` against DuckDB (from PyPI) on the same generated files.
# Not a test: run by hand, then copy the figures into BENCHMARKS.md.
#
#   scripts/bench-ingest.sh [ORDERS ...]      (default: 200000 2000000)
#   RUNS=5 scripts/bench-ingest.sh            (runs per measurement, default 3; medians reported)
#
# For each size: generate once (cached in bench-data/), then measure wall time and peak RSS of
# payrecon ingest into a fresh lake (default 128 MiB memory budget, and 512 MiB), a no-op
# re-ingest, and DuckDB reading the same files and writing Parquet (scripts/duckdb_ingest.py).
sizes=("$@")
[ $# -eq 0 ] && sizes=(200000 2000000)
source "$(dirname "$0")/bench-lib.sh"
printf '[ingest]\nmemory_budget_mb = 512\n' > bench-data/budget-512.toml
header
for n in "${sizes[@]}"; do
  data=$(generated "$n")
  echo "# $(du -sh "$data" | cut -f1) in $(ls "$data" | wc -l) files"
  lake="bench-data/lake-$n"
  prep() { rm -rf "$lake" "bench-data/duck-$n"; sync; }
  median "payrecon ingest $n" -- "$bin" -q ingest --no-progress --lake "$lake" "$data"
  median "payrecon ingest $n (512 MiB budget)" -- "$bin" -q --config bench-data/budget-512.toml ingest --no-progress --lake "$lake" "$data"
  "$bin" -q ingest --no-progress --lake "$lake" "$data" > /dev/null
  prep() { :; }
  median "payrecon re-ingest $n (no-op)" -- "$bin" -q ingest --no-progress --lake "$lake" "$data"
  prep() { rm -rf "bench-data/duck-$n"; sync; }
  median "duckdb csv->parquet $n" -- "$venv/bin/python" scripts/duckdb_ingest.py "$data" "bench-data/duck-$n" 2
done
