#!/usr/bin/env bash
# Benchmark `payrecon reconcile` against DuckDB SQL joins (scripts/bench/reconcile_duckdb.sql)
# on the same Parquet lake. Not a test: run by hand, then copy the figures into BENCHMARKS.md.
#
#   scripts/bench-reconcile.sh [ORDERS ...]      (default: 2000000)
#   RUNS=5 scripts/bench-reconcile.sh            (runs per measurement, default 3; medians)
#   BUDGET_MB=1024 scripts/bench-reconcile.sh   (also reconcile under this memory budget and
#                                                 check its files equal the in-memory ones)
#   WHOLE=0 BUDGET_MB=4096 MONTHS=8 scripts/bench-reconcile.sh 20000000
#                                                (a lake too big for memory: only the budget run)
#
# reconcile_duckdb.sql is the minimal SQL (statuses only); reconcile_duckdb_full.sql writes the
# same results table and exceptions.csv as payrecon (checked after the runs).
# The lake is the one of scripts/bench-analytics.sh (bench-data/analytics-N/lake, built once).
sizes=("$@")
[ $# -eq 0 ] && sizes=(2000000)
source "$(dirname "$0")/bench-lib.sh"
header
for n in "${sizes[@]}"; do
  work=$(ingested "$n")
  rows=$("$bin" query --lake "$work/lake" --format csv "SELECT SUM(n) AS n FROM (SELECT COUNT(*) AS n FROM orders UNION ALL SELECT COUNT(*) AS n FROM charges UNION ALL SELECT COUNT(*) AS n FROM refunds UNION ALL SELECT COUNT(*) AS n FROM settlement_lines UNION ALL SELECT COUNT(*) AS n FROM deposits) t" | tail -1)
  echo "# $n orders: $rows input rows, lake $(du -sh "$work/lake" | cut -f1)"
  if [ -n "${BUDGET_MB:-}" ]; then
    median "payrecon reconcile --memory-budget-mb $BUDGET_MB" -- "$bin" -q reconcile --lake "$work/lake" --out "$work/recon-budget" --memory-budget-mb "$BUDGET_MB"
  fi
  [ "${WHOLE:-1}" = 0 ] && continue
  # exit 1 = finished with exceptions above the threshold (expected on generated data).
  median "payrecon reconcile" -- "$bin" -q reconcile --lake "$work/lake" --out "$work/recon"
  if [ -n "${BUDGET_MB:-}" ]; then
    diff -r "$work/recon" "$work/recon-budget" >&2 && echo "# the budget run's files are identical" >&2
  fi
  median "duckdb reconcile_duckdb.sql" -- "$py" scripts/duckdb_script.py "$work" scripts/bench/reconcile_duckdb.sql 2
  median "duckdb reconcile_duckdb_full.sql (same output)" -- "$py" scripts/duckdb_script.py "$work" scripts/bench/reconcile_duckdb_full.sql 2
  # The same-output SQL must give payrecon's rows (payrecon writes them partitioned by day and item
  # type, DuckDB as one file) and its exceptions.csv.
  "$py" - "$work" <<'PY'
import sys, duckdb
c = duckdb.connect()
a = f"read_parquet('{sys.argv[1]}/recon/results/*/*.parquet', hive_partitioning = false)"
b = f"'{sys.argv[1]}/duck-out/results.parquet'"
diff = c.execute(f"SELECT (SELECT COUNT(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})) + (SELECT COUNT(*) FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}))").fetchone()[0]
n = c.execute(f"SELECT COUNT(*) FROM {a}").fetchone()[0]
print(f"# same-output check: {n} rows, {diff} differ", file=sys.stderr)
PY
  cmp "$work/recon/exceptions.csv" "$work/duck-out/exceptions.csv" >&2 && echo "# exceptions.csv identical" >&2
  median "payrecon close --month 2026-10" -- "$bin" -q close --lake "$work/lake" --month 2026-10 --out "$work/close"
done
