-- DuckDB doing the same output as `payrecon reconcile`: one results table with payrecon's 13
-- columns (amounts, item dates, counterpart ids, the source of each settlement line), every
-- item of the four layers (including the settlement lines of layers 2 and 3 and the
-- settlements without a payout), sorted as payrecon sorts it, in one Parquet file (payrecon
-- writes the same rows partitioned by day and item type); plus exceptions.csv (aged at the
-- cut-off). Like reconcile_duckdb.sql it leaves out the procedural parts (the
-- consuming reference fallback, `ambiguous`, the preference for a deposit naming its
-- settlement), which never fire on generated data, so the two outputs hold the same rows.
-- Amounts compare exactly (tolerance 0, the default).
CREATE OR REPLACE TEMP TABLE cut AS
    SELECT GREATEST(
        (SELECT MAX(GREATEST(last_updated_timestamp, creation_timestamp)) FROM charges),
        (SELECT MAX(last_updated_timestamp) FROM refunds),
        (SELECT MAX(transaction_posted_date) FROM settlement_lines),
        (SELECT MAX(CAST(booking_date AS TIMESTAMPTZ)) + INTERVAL '86399999999 microseconds' FROM deposits)
    ) AS ts;
CREATE OR REPLACE TEMP TABLE cp AS
    SELECT charge_permission_id, MIN(order_id) AS order_id
    FROM orders WHERE charge_permission_id IS NOT NULL GROUP BY charge_permission_id;
CREATE OR REPLACE TEMP TABLE charge_orders AS
    SELECT c.charge_id, c.state, c.capture_amount, c.currency, c.last_updated_timestamp,
           c.merchant_reference_id, COALESCE(o1.order_id, cp.order_id) AS order_id
    FROM charges c
    LEFT JOIN orders o1 ON o1.order_id = c.merchant_reference_id
    LEFT JOIN cp ON cp.charge_permission_id = c.charge_permission_id;
CREATE OR REPLACE TEMP TABLE items AS
    SELECT charge_id AS id, 2 AS t, 'Capture' AS ltype, capture_amount AS amount, currency,
           last_updated_timestamp AS ts
    FROM charges WHERE state = 'Captured'
    UNION ALL
    SELECT refund_id, 3, 'Refund', -refund_amount, currency, last_updated_timestamp
    FROM refunds WHERE state = 'Refunded';
CREATE OR REPLACE TEMP TABLE lines AS
    SELECT *, COALESCE(amazon_transaction_id, settlement_id || ':' || source_line) AS item_id,
           settlement_id || ':' || source_line AS ref,
           COUNT(*) OVER (PARTITION BY transaction_type, amazon_transaction_id) AS n
    FROM settlement_lines;
CREATE OR REPLACE TEMP TABLE item_match AS
    WITH by_txn AS (
        SELECT transaction_type, amazon_transaction_id, MIN(transaction_amount) AS line_amount,
               MIN(currency) AS line_currency, COUNT(*) AS n,
               STRING_AGG(ref, ';' ORDER BY ref) AS refs
        FROM lines WHERE transaction_type IN ('Capture', 'Refund')
        GROUP BY transaction_type, amazon_transaction_id)
    SELECT i.*, l.line_amount, l.refs,
           CASE
               WHEN l.n > 1 THEN 'duplicate_settlement'
               WHEN l.n = 1 AND l.line_amount = i.amount AND l.line_currency = i.currency THEN 'settled'
               WHEN l.n = 1 THEN 'amount_mismatch'
               WHEN i.ts > c.ts - INTERVAL 3 DAY THEN 'in_transit'
               ELSE 'missing_from_settlement'
           END AS status
    FROM items i
    LEFT JOIN by_txn l ON l.amazon_transaction_id = i.id AND l.transaction_type = i.ltype
    CROSS JOIN cut c;
CREATE OR REPLACE TEMP TABLE transfers AS
    SELECT l.settlement_id, -l.net_transaction_amount AS amount, l.currency,
           COALESCE(s.settlement_end, l.transaction_posted_date) AS end_ts,
           CAST(COALESCE(s.settlement_end, l.transaction_posted_date) AS DATE) AS end_day
    FROM settlement_lines l LEFT JOIN settlements s USING (settlement_id)
    WHERE l.transaction_type = 'Transfer';
CREATE OR REPLACE TEMP TABLE payout AS
    SELECT t.*, m.deposit, d.amount AS deposit_amount
    FROM transfers t
    LEFT JOIN (
        SELECT t.settlement_id, MIN(d.bank_transaction_id) AS deposit
        FROM transfers t JOIN deposits d
          ON d.currency = t.currency AND d.amount = t.amount
         AND d.booking_date BETWEEN t.end_day AND t.end_day + 7
        GROUP BY t.settlement_id) m USING (settlement_id)
    LEFT JOIN deposits d ON d.bank_transaction_id = m.deposit;
CREATE OR REPLACE TEMP TABLE results AS
    -- (1) orders, and captured charges without an order
    WITH cap AS (
        SELECT co.order_id,
               SUM(CASE WHEN co.state = 'Captured' AND co.currency = o.currency
                        THEN co.capture_amount ELSE 0 END) AS captured,
               BOOL_OR(co.state IN ('AuthorizationInitiated', 'Authorized', 'CaptureInitiated')) AS capturable,
               LIST(co.charge_id) AS ids
        FROM charge_orders co JOIN orders o USING (order_id) GROUP BY co.order_id),
    ref AS (
        SELECT co.order_id, SUM(r.refund_amount) AS refunded, LIST(r.refund_id) AS ids
        FROM refunds r JOIN charge_orders co ON co.charge_id = r.charge_id
        WHERE r.state = 'Refunded' AND co.order_id IS NOT NULL GROUP BY co.order_id)
    SELECT 1 AS layer, 1 AS t, o.order_id AS item_id,
        CASE
            WHEN COALESCE(ref.refunded, 0) > COALESCE(cap.captured, 0) THEN 'refund_exceeds_capture'
            WHEN COALESCE(cap.captured, 0) <> 0 AND cap.captured = o.order_total THEN 'order_matched'
            WHEN COALESCE(cap.captured, 0) > o.order_total THEN 'order_over_captured'
            WHEN COALESCE(cap.captured, 0) > 0 THEN 'order_under_captured'
            WHEN o.status = 'cancelled' THEN 'order_cancelled'
            WHEN COALESCE(cap.capturable, false) THEN 'order_awaiting_capture'
            ELSE 'order_not_captured'
        END AS status,
        o.currency, o.order_total AS expected_amount, COALESCE(cap.captured, 0) AS actual_amount,
        o.created_at AS ts,
        NULLIF(ARRAY_TO_STRING(LIST_SORT(LIST_DISTINCT(
            LIST_CONCAT(COALESCE(cap.ids, []), COALESCE(ref.ids, [])))), ';'), '') AS counterpart_ids,
        NULL AS source_file, NULL AS source_line
    FROM orders o LEFT JOIN cap USING (order_id) LEFT JOIN ref USING (order_id)
    UNION ALL
    SELECT 1, 2, charge_id, 'capture_without_order', currency, NULL, capture_amount,
           last_updated_timestamp, merchant_reference_id, NULL, NULL
    FROM charge_orders WHERE order_id IS NULL AND state = 'Captured'
    -- (2) captures and refunds, and their lines
    UNION ALL
    SELECT 2, t, id, status, currency, line_amount, amount, ts, refs, NULL, NULL FROM item_match
    UNION ALL
    SELECT 2, 4, l.item_id, COALESCE(m.status, 'unknown_settlement_line'), l.currency, NULL,
           l.transaction_amount, l.transaction_posted_date, m.id, l.source_file, l.source_line
    FROM lines l
    LEFT JOIN item_match m ON m.id = l.amazon_transaction_id AND m.ltype = l.transaction_type
    WHERE l.transaction_type IN ('Capture', 'Refund')
    -- (3) settlements and line arithmetic
    UNION ALL
    SELECT 3, 5, l.settlement_id,
           CASE WHEN SUM(l.net_transaction_amount) = 0 THEN 'settlement_balanced'
                ELSE 'settlement_imbalance' END,
           MIN(l.currency), 0, SUM(l.net_transaction_amount),
           COALESCE(MIN(s.settlement_end), MAX(l.transaction_posted_date)), NULL, NULL, NULL
    FROM settlement_lines l LEFT JOIN settlements s USING (settlement_id)
    GROUP BY l.settlement_id
    UNION ALL
    SELECT 3, 4, item_id,
           CASE WHEN total_transaction_fee = transaction_percentage_fee + transaction_fixed_fee
                 AND net_transaction_amount = transaction_amount + total_transaction_fee
                THEN 'line_ok' ELSE 'line_arithmetic_error' END,
           currency, transaction_amount + transaction_percentage_fee + transaction_fixed_fee,
           net_transaction_amount, transaction_posted_date, settlement_id, source_file, source_line
    FROM lines
    -- (4) payouts (settlements with a Transfer line, and those without), and bank lines
    UNION ALL
    SELECT 4, 5, settlement_id,
           CASE WHEN deposit IS NOT NULL THEN 'deposited'
                WHEN end_day + 7 >= CAST((SELECT ts FROM cut) AS DATE) THEN 'deposit_in_transit'
                ELSE 'missing_deposit' END,
           currency, amount, deposit_amount, end_ts, deposit, NULL, NULL
    FROM payout
    UNION ALL
    SELECT 4, 5, l.settlement_id, 'no_payout', MIN(l.currency), NULL, NULL,
           COALESCE(MIN(s.settlement_end), MIN(l.transaction_posted_date)), NULL, NULL, NULL
    FROM settlement_lines l LEFT JOIN settlements s USING (settlement_id)
    WHERE l.settlement_id NOT IN (SELECT settlement_id FROM transfers)
    GROUP BY l.settlement_id
    UNION ALL
    SELECT 4, 6, d.bank_transaction_id,
           CASE WHEN p.settlement_id IS NOT NULL THEN 'deposited'
                -- payrecon's default [reconcile] amazon_pay_references, on the reference with its
                -- whitespace collapsed: `AMAZON WEB SERVICES` or `AMAZON MARKETPLACE` do not name it.
                WHEN regexp_replace(upper(trim(d.reference)), '\s+', ' ', 'g') LIKE '%AMAZON PAY%'
                  OR regexp_replace(upper(trim(d.reference)), '\s+', ' ', 'g') LIKE '%AMZN PAY%'
                  THEN 'unexpected_deposit'
                ELSE 'not_amazon_pay' END,
           d.currency, NULL, d.amount, CAST(d.booking_date AS TIMESTAMPTZ), p.settlement_id, NULL, NULL
    FROM deposits d LEFT JOIN payout p ON p.deposit = d.bank_transaction_id;
CREATE OR REPLACE TEMP TABLE final AS
    SELECT CAST(layer AS UINTEGER) AS layer,
           ['order', 'charge', 'refund', 'settlement_line', 'settlement', 'deposit'][t] AS item_type,
           item_id, status,
           status NOT IN ('order_matched', 'order_cancelled', 'order_awaiting_capture', 'settled',
                          'settled_by_reference', 'in_transit', 'settlement_balanced', 'line_ok',
                          'deposited', 'deposit_in_transit', 'not_amazon_pay', 'no_payout') AS exception,
           currency, expected_amount, actual_amount, actual_amount - expected_amount AS difference,
           CAST(ts AS DATE) AS item_date,
           GREATEST(0, CAST((SELECT ts FROM cut) AS DATE) - CAST(ts AS DATE)) AS age_days,
           CASE WHEN GREATEST(0, CAST((SELECT ts FROM cut) AS DATE) - CAST(ts AS DATE)) <= 1 THEN '0-1'
                WHEN GREATEST(0, CAST((SELECT ts FROM cut) AS DATE) - CAST(ts AS DATE)) <= 7 THEN '2-7'
                WHEN GREATEST(0, CAST((SELECT ts FROM cut) AS DATE) - CAST(ts AS DATE)) <= 30 THEN '8-30'
                ELSE '>30' END AS age_bucket,
           counterpart_ids, source_file, CAST(source_line AS BIGINT) AS source_line, t
    FROM results;
COPY (SELECT * EXCLUDE (t, age_days, age_bucket) FROM final ORDER BY layer, t, item_id, status, counterpart_ids, source_line)
    TO 'duck-out/results.parquet' (FORMAT parquet, COMPRESSION zstd);
COPY (SELECT status, item_type, item_id, currency, expected_amount, actual_amount, difference,
             item_date, age_days, age_bucket, counterpart_ids, layer, source_file, source_line
      FROM final WHERE exception
      ORDER BY status, age_days DESC, t, item_id, source_line)
    TO 'duck-out/exceptions.csv' (HEADER);
