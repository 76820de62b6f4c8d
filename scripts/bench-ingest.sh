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
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ $# -eq 0 ] && sizes=(200000 2000000)
runs="${RUNS:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/payrecon/target}"
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/payrecon"
venv=bench-data/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet duckdb
fi
printf '[ingest]\nmemory_budget_mb = 512\n' > bench-data/budget-512.toml

# median LABEL -- CMD...: run CMD $runs times after `prep`, print the median line.
median() {
  local label=$1; shift; shift
  for _ in $(seq "$runs"); do
    prep
    python3 scripts/measure.py "$label" -- "$@"
  done | sort -t$'\t' -k2,2n | sed -n "$(( (runs + 1) / 2 ))p"
}

echo "# payrecon $("$bin" --version | cut -d' ' -f2), DuckDB $("$venv/bin/python" -c 'import duckdb; print(duckdb.__version__)'), $(nproc) cores, median of $runs runs"
printf 'run\tseconds\tpeak_rss_mib\texit\n'
for n in "${sizes[@]}"; do
  data="bench-data/orders-$n"
  if [ ! -f "$data/.done" ]; then
    rm -rf "$data"
    python3 scripts/measure.py "generate $n" -- "$bin" generate --orders "$n" --seed 1 --month 2026-10 --out "$data"
    touch "$data/.done"
  fi
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
