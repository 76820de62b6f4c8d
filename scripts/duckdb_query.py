#!/usr/bin/env python3
"""DuckDB baseline for payrecon's analytics: run a file of queries/ over the same lake.

Usage: duckdb_query.py LAKE_PARENT SQL_FILE OUT_CSV [THREADS]
Creates the views of queries/duckdb_views.sql (run in LAKE_PARENT, the folder holding `lake/`
and `reason_codes.csv`), runs SQL_FILE and writes the result as CSV, as
`payrecon ... --format csv --output OUT_CSV` does.
"""
import os
import sys

import duckdb

parent, sql_file, out = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
views = os.path.join(os.path.dirname(sql_file), "duckdb_views.sql")
os.chdir(parent)
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
con.execute(open(views).read())
con.sql(open(sql_file).read()).write_csv(out)
