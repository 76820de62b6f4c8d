#!/usr/bin/env bash
# Benchmark the analytics commands against DuckDB (from PyPI) on the same Parquet lake.
# Not a test: run by hand, then copy the figures into BENCHMARKS.md.
#
#   scripts/bench-analytics.sh [ORDERS ...]      (default: 2000000)
#   RUNS=5 scripts/bench-analytics.sh            (runs per measurement, default 3; medians)
#
# For each size: generate and ingest once (cached in bench-data/, shared with bench-ingest.sh),
# then measure wall time and peak RSS of
#   payrecon approvals --by country,device,value_band   vs  queries/approval_by_segment.sql
#   payrecon recovery                                   vs  queries/recovery_by_reason.sql
# both writing CSV, DuckDB with 2 threads; and check that both engines give the same rows.
sizes=("$@")
[ $# -eq 0 ] && sizes=(2000000)
source "$(dirname "$0")/bench-lib.sh"
header
for n in "${sizes[@]}"; do
  work=$(ingested "$n")
  charges=$("$bin" query --lake "$work/lake" --format csv "SELECT COUNT(*) AS n FROM charges" | tail -1)
  echo "# $n orders: $charges charges, lake $(du -sh "$work/lake" | cut -f1)"
  out="$work/out"
  mkdir -p "$out"
  median "payrecon approvals --by country,device,value_band" -- \
    "$bin" -q approvals --lake "$work/lake" --by country,device,value_band --format csv -o "$out/approvals.payrecon.csv"
  median "duckdb approval_by_segment.sql" -- \
    "$py" scripts/duckdb_query.py "$work" queries/approval_by_segment.sql "$out/approvals.duckdb.csv" 2
  median "payrecon recovery" -- \
    "$bin" -q recovery --lake "$work/lake" --format csv -o "$out/recovery.payrecon.csv"
  median "duckdb recovery_by_reason.sql" -- \
    "$py" scripts/duckdb_query.py "$work" queries/recovery_by_reason.sql "$out/recovery.duckdb.csv" 2
  median "payrecon query approval_by_segment.sql (polars SQL)" -- \
    "$bin" -q query --lake "$work/lake" --format csv -o "$out/approvals.polars.csv" queries/approval_by_segment.sql
  echo "# same rows? approvals: $(python3 scripts/compare_csv.py "$out/approvals.payrecon.csv" "$out/approvals.duckdb.csv"), recovery: $(python3 scripts/compare_csv.py "$out/recovery.payrecon.csv" "$out/recovery.duckdb.csv")"
done
