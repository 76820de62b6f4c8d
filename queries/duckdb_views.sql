-- Views of the payrecon lake for DuckDB, so the SQL files of this folder run unchanged:
--   duckdb -c ".read queries/duckdb_views.sql" -c ".read queries/lake_overview.sql"
-- Run from the folder that holds `lake/` (or edit the paths), after writing the reason-code
-- catalogue beside it with `payrecon codes --format csv > reason_codes.csv`.
-- Days are UTC, as in the lake's `day` partitions and payrecon's default time zone.
SET TimeZone = 'UTC';
CREATE OR REPLACE VIEW orders AS SELECT * FROM read_parquet('lake/orders/day=*/*.parquet', hive_partitioning = true);
CREATE OR REPLACE VIEW charges AS SELECT * FROM read_parquet('lake/charges/day=*/*.parquet', hive_partitioning = true);
CREATE OR REPLACE VIEW refunds AS SELECT * FROM read_parquet('lake/refunds/day=*/*.parquet', hive_partitioning = true);
CREATE OR REPLACE VIEW settlement_lines AS SELECT * FROM read_parquet('lake/settlement_lines/day=*/*.parquet', hive_partitioning = true);
CREATE OR REPLACE VIEW deposits AS SELECT * FROM read_parquet('lake/deposits/day=*/*.parquet', hive_partitioning = true);
CREATE OR REPLACE VIEW settlements AS SELECT * FROM read_parquet('lake/settlements/*.parquet');
CREATE OR REPLACE VIEW rejects AS SELECT * FROM read_parquet('lake/rejects/*.parquet');
CREATE OR REPLACE VIEW files AS SELECT * FROM read_parquet('lake/files/*.parquet');
CREATE OR REPLACE VIEW reason_codes AS SELECT * FROM read_csv('reason_codes.csv', header = true, all_varchar = true);
