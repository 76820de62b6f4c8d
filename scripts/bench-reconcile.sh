#!/usr/bin/env bash
# Benchmark `payrecon reconcile` against DuckDB SQL joins (scripts/bench/reconcile_duckdb.sql)
# on the same Parquet lake. Not a test: run by hand, then copy the figures into BENCHMARKS.md.
#
#   scripts/bench-reconcile.sh [ORDERS ...]      (default: 2000000)
#   RUNS=5 scripts/bench-reconcile.sh            (runs per measurement, default 3; medians)
#
# The lake is the one of scripts/bench-analytics.sh (bench-data/analytics-N/lake, built once).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ $# -eq 0 ] && sizes=(2000000)
runs="${RUNS:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/payrecon/target}"
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/payrecon"
venv=bench-data/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet duckdb
fi
py="$venv/bin/python"

median() {
  local label=$1; shift; shift
  for _ in $(seq "$runs"); do
    python3 scripts/measure.py "$label" -- "$@"
  done | sort -t$'\t' -k2,2n | sed -n "$(( (runs + 1) / 2 ))p"
}

echo "# payrecon $("$bin" --version | cut -d' ' -f2), DuckDB $("$py" -c 'import duckdb; print(duckdb.__version__)'), $(nproc) cores, median of $runs runs"
printf 'run\tseconds\tpeak_rss_mib\texit\n'
for n in "${sizes[@]}"; do
  data="bench-data/orders-$n"
  if [ ! -f "$data/.done" ]; then
    rm -rf "$data"
    "$bin" -q generate --orders "$n" --seed 1 --month 2026-10 --out "$data" > /dev/null
    touch "$data/.done"
  fi
  work="bench-data/analytics-$n"
  if [ ! -f "$work/.done" ]; then
    rm -rf "$work"
    mkdir -p "$work"
    "$bin" -q ingest --no-progress --lake "$work/lake" "$data" > /dev/null
    "$bin" codes --format csv > "$work/reason_codes.csv"
    touch "$work/.done"
  fi
  rows=$("$bin" query --lake "$work/lake" --format csv "SELECT SUM(n) AS n FROM (SELECT COUNT(*) AS n FROM orders UNION ALL SELECT COUNT(*) AS n FROM charges UNION ALL SELECT COUNT(*) AS n FROM refunds UNION ALL SELECT COUNT(*) AS n FROM settlement_lines UNION ALL SELECT COUNT(*) AS n FROM deposits) t" | tail -1)
  echo "# $n orders: $rows input rows, lake $(du -sh "$work/lake" | cut -f1)"
  # exit 1 = finished with exceptions above the threshold (expected on generated data).
  median "payrecon reconcile" -- "$bin" -q reconcile --lake "$work/lake" --out "$work/recon"
  median "duckdb reconcile_duckdb.sql" -- "$py" scripts/duckdb_script.py "$work" scripts/bench/reconcile_duckdb.sql 2
  median "payrecon close --month 2026-10" -- "$bin" -q close --lake "$work/lake" --month 2026-10 --out "$work/close"
done
