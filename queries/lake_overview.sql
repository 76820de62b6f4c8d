-- Rows and money per table and currency: a first look at a lake.
-- Runs unchanged in `payrecon query queries/lake_overview.sql` and in DuckDB (see README.md).
SELECT 'charges' AS table_name, currency, count(*) AS row_count, sum(charge_amount) AS amount
FROM charges GROUP BY currency
UNION ALL
SELECT 'orders' AS table_name, currency, count(*) AS row_count, sum(order_total) AS amount
FROM orders GROUP BY currency
UNION ALL
SELECT 'refunds' AS table_name, currency, count(*) AS row_count, sum(refund_amount) AS amount
FROM refunds GROUP BY currency
UNION ALL
SELECT 'settlement_lines' AS table_name, currency, count(*) AS row_count, sum(net_transaction_amount) AS amount
FROM settlement_lines GROUP BY currency
UNION ALL
SELECT 'deposits' AS table_name, currency, count(*) AS row_count, sum(amount) AS amount
FROM deposits GROUP BY currency
ORDER BY table_name, currency
