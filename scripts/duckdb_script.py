#!/usr/bin/env python3
"""Run a SQL script with DuckDB over a payrecon lake (e.g. scripts/bench/reconcile_duckdb.sql).

Usage: duckdb_script.py LAKE_PARENT SQL_FILE [THREADS]
Creates the views of queries/duckdb_views.sql in LAKE_PARENT (the folder holding `lake/`),
then executes SQL_FILE there; its COPY statements write into LAKE_PARENT/duck-out/.
"""
import os
import sys

import duckdb

here = os.path.dirname(os.path.abspath(__file__))
parent, sql_file = sys.argv[1], os.path.abspath(sys.argv[2])
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
views = os.path.join(here, "..", "queries", "duckdb_views.sql")
os.chdir(parent)
os.makedirs("duck-out", exist_ok=True)
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
con.execute(open(views).read())
con.execute(open(sql_file).read())
