#!/usr/bin/env bash
# Benchmark reading bank statements (issue 22). Not a test: run by hand, then copy the figures
# into BENCHMARKS.md.
#
#   scripts/bench-bank.sh            (RUNS=N for more runs; medians reported)
#
# 1. A year of daily statements for 2,000,000 orders (`generate --orders 2000000 --months 12
#    --bank-format camt053|csv`, only the bank files kept): payrecon ingest of the camt.053
#    files and of the same lines as payrecon CSV, and DuckDB reading the CSV into Parquet.
# 2. One statement of 1,000,000 entries (scripts/make_big_camt.py, ~390 MB of XML): payrecon's
#    time and peak memory on the XML and on the same lines as CSV, and DuckDB on the CSV.
source "$(dirname "$0")/bench-lib.sh"
header
year="bench-data/bank-year"
if [ ! -f "$year/.done" ]; then
  rm -rf "$year"
  for f in camt053 csv; do
    tmp="$year/all-$f"
    "$bin" generate --orders 2000000 --seed 1 --month 2026-01 --months 12 --bank-format "$f" --out "$tmp" > /dev/null
    mkdir -p "$year/$f"
    mv "$tmp"/bank-* "$year/$f/"
    rm -rf "$tmp"
  done
  touch "$year/.done"
fi
echo "# year: $(ls "$year/camt053" | wc -l) camt.053 files, $(du -sh "$year/camt053" | cut -f1); $(cat "$year"/csv/*.csv | grep -vc '^booking_date') lines"
prep() { rm -rf bench-data/bank-lake bench-data/bank-duck.parquet; sync; }
median "payrecon ingest year camt.053" -- "$bin" -q ingest --no-progress --lake bench-data/bank-lake "$year/camt053"
median "payrecon ingest year csv" -- "$bin" -q ingest --no-progress --lake bench-data/bank-lake "$year/csv"
median "duckdb csv->parquet year" -- "$py" scripts/duckdb_bank.py "$year/csv/*.csv" bench-data/bank-duck.parquet

big="bench-data/bank-big"
if [ ! -f "$big/.done" ]; then
  rm -rf "$big"; mkdir -p "$big/xml" "$big/csv"
  python3 scripts/make_big_camt.py 1000000 "$big/xml/big.xml" "$big/csv/big.csv"
  touch "$big/.done"
fi
echo "# big: $(du -h "$big/xml/big.xml" | cut -f1) camt.053, $(du -h "$big/csv/big.csv" | cut -f1) csv, 1,000,000 entries"
median "payrecon ingest 1M-entry camt.053" -- "$bin" -q ingest --no-progress --lake bench-data/bank-lake "$big/xml/big.xml"
median "payrecon ingest 1M-line csv" -- "$bin" -q ingest --no-progress --lake bench-data/bank-lake "$big/csv/big.csv"
median "duckdb csv->parquet 1M lines" -- "$py" scripts/duckdb_bank.py "$big/csv/big.csv" bench-data/bank-duck.parquet
