#!/usr/bin/env bash
# Benchmark `payrecon ingest` against DuckDB (from PyPI) on the same generated CSV/JSONL files.
# Not a test: run by hand, then copy the figures into BENCHMARKS.md.
#
#   scripts/bench-ingest.sh [ORDERS ...]     (default: 200000 2000000)
#
# For each size: generate (once, cached in bench-data/), then time and measure peak memory of
# payrecon ingest into a fresh lake, and of DuckDB reading the same files and writing Parquet.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-200000 2000000}")
[ $# -eq 0 ] && sizes=(200000 2000000)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/payrecon/target}"
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/payrecon"
venv=bench-data/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet duckdb
fi
duckdb_version=$("$venv/bin/python" -c 'import duckdb; print(duckdb.__version__)')
echo "# payrecon $("$bin" --version | cut -d' ' -f2), DuckDB $duckdb_version, $(nproc) cores"
printf 'run\tseconds\tpeak_rss_mib\texit\n'
for n in "${sizes[@]}"; do
  data="bench-data/orders-$n"
  if [ ! -f "$data/.done" ]; then
    rm -rf "$data"
    python3 scripts/measure.py "generate $n" -- "$bin" generate --orders "$n" --seed 1 --month 2026-10 --out "$data"
    touch "$data/.done"
  fi
  echo "# $(du -sh "$data" | cut -f1) in $(ls "$data" | wc -l) files"
  rm -rf "bench-data/lake-$n" "bench-data/duck-$n"
  sync
  python3 scripts/measure.py "payrecon ingest $n" -- "$bin" -q ingest --no-progress --lake "bench-data/lake-$n" "$data"
  python3 scripts/measure.py "payrecon re-ingest $n (no-op)" -- "$bin" -q ingest --no-progress --lake "bench-data/lake-$n" "$data"
  rm -rf "bench-data/lake-$n-small"
  printf '[ingest]\nmemory_budget_mb = 128\n' > bench-data/budget-128.toml
  python3 scripts/measure.py "payrecon ingest $n (128 MiB budget)" -- "$bin" -q --config bench-data/budget-128.toml ingest --no-progress --lake "bench-data/lake-$n-small" "$data"
  python3 scripts/measure.py "duckdb csv->parquet $n" -- "$venv/bin/python" scripts/duckdb_ingest.py "$data" "bench-data/duck-$n" 2
done
