#!/usr/bin/env python3
"""DuckDB baseline for reading bank lines: payrecon's bank CSV (glob) to one typed Parquet file.

Usage: duckdb_bank.py CSV_GLOB OUT_PARQUET
No validation, rejects or deduplication: a lower bound for the same job.
"""
import sys

import duckdb

src, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET threads = 2")
cols = ", ".join(f"'{c}': 'VARCHAR'" for c in
                 ["booking_date", "amount", "currency", "reference", "bank_transaction_id"])
con.execute(f"""COPY (SELECT CAST(booking_date AS DATE) booking_date,
  CAST(amount AS DECIMAL(18,2)) amount, currency, reference, bank_transaction_id
  FROM read_csv('{src}', header = true, auto_detect = false, quote = '"', escape = '"',
                columns = {{{cols}}}))
  TO '{out}' (FORMAT parquet, COMPRESSION zstd)""")
