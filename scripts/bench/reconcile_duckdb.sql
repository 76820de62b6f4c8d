-- DuckDB baseline for `payrecon reconcile`: the same four layers as SQL joins over the lake
-- (after queries/duckdb_views.sql), each writing its item statuses. It does the id matches, the
-- order sums, the settlement balances and the payout/deposit match; it leaves out what needs
-- procedural logic in payrecon (the consuming reference fallback, `ambiguous`, the preference for
-- a deposit naming the settlement), so it is a lower bound for the same job.
CREATE OR REPLACE TEMP TABLE cp AS
    SELECT charge_permission_id, MIN(order_id) AS order_id
    FROM orders WHERE charge_permission_id IS NOT NULL GROUP BY charge_permission_id;
CREATE OR REPLACE TEMP TABLE charge_orders AS
    SELECT c.*, COALESCE(o1.order_id, cp.order_id) AS order_id
    FROM charges c
    LEFT JOIN orders o1 ON o1.order_id = c.merchant_reference_id
    LEFT JOIN cp ON cp.charge_permission_id = c.charge_permission_id;
-- (1) orders
COPY (
    WITH cap AS (
        SELECT order_id,
               SUM(CASE WHEN state = 'Captured' THEN capture_amount ELSE 0 END) AS captured,
               BOOL_OR(state IN ('AuthorizationInitiated', 'Authorized', 'CaptureInitiated')) AS capturable
        FROM charge_orders WHERE order_id IS NOT NULL GROUP BY order_id),
    ref AS (
        SELECT co.order_id, SUM(r.refund_amount) AS refunded
        FROM refunds r JOIN charge_orders co ON co.charge_id = r.charge_id
        WHERE r.state = 'Refunded' AND co.order_id IS NOT NULL GROUP BY co.order_id)
    SELECT o.order_id, o.order_total, COALESCE(cap.captured, 0) AS captured,
        CASE
            WHEN COALESCE(ref.refunded, 0) > COALESCE(cap.captured, 0) THEN 'refund_exceeds_capture'
            WHEN COALESCE(cap.captured, 0) <> 0 AND cap.captured = o.order_total THEN 'order_matched'
            WHEN COALESCE(cap.captured, 0) > o.order_total THEN 'order_over_captured'
            WHEN COALESCE(cap.captured, 0) > 0 THEN 'order_under_captured'
            WHEN o.status = 'cancelled' THEN 'order_cancelled'
            WHEN COALESCE(cap.capturable, false) THEN 'order_awaiting_capture'
            ELSE 'order_not_captured'
        END AS status
    FROM orders o LEFT JOIN cap USING (order_id) LEFT JOIN ref USING (order_id)
    UNION ALL
    SELECT charge_id, NULL, capture_amount, 'capture_without_order'
    FROM charge_orders WHERE order_id IS NULL AND state = 'Captured'
) TO 'duck-out/layer1.parquet' (FORMAT parquet);
-- (2) captures and refunds against their lines, by id
COPY (
    WITH lines AS (
        SELECT amazon_transaction_id, transaction_type, transaction_amount, currency,
               COUNT(*) OVER (PARTITION BY transaction_type, amazon_transaction_id) AS n
        FROM settlement_lines WHERE transaction_type IN ('Capture', 'Refund')),
    items AS (
        SELECT charge_id AS id, 'Capture' AS t, capture_amount AS amount, currency, last_updated_timestamp AS ts
        FROM charges WHERE state = 'Captured'
        UNION ALL
        SELECT refund_id, 'Refund', -refund_amount, currency, last_updated_timestamp
        FROM refunds WHERE state = 'Refunded'),
    newest AS (SELECT MAX(last_updated_timestamp) AS ts FROM charges)
    SELECT i.id,
        CASE
            WHEN l.n > 1 THEN 'duplicate_settlement'
            WHEN l.n = 1 AND l.transaction_amount = i.amount AND l.currency = i.currency THEN 'settled'
            WHEN l.n = 1 THEN 'amount_mismatch'
            WHEN i.ts > n.ts - INTERVAL 3 DAY THEN 'in_transit'
            ELSE 'missing_from_settlement'
        END AS status
    FROM items i
    LEFT JOIN lines l ON l.amazon_transaction_id = i.id AND l.transaction_type = i.t
    CROSS JOIN newest n
    UNION ALL
    SELECT l.amazon_transaction_id, 'unknown_settlement_line'
    FROM settlement_lines l
    LEFT JOIN items i ON i.id = l.amazon_transaction_id AND i.t = l.transaction_type
    WHERE l.transaction_type IN ('Capture', 'Refund') AND i.id IS NULL
) TO 'duck-out/layer2.parquet' (FORMAT parquet);
-- (3) settlements and line arithmetic
COPY (
    SELECT settlement_id AS id, SUM(net_transaction_amount) AS net,
           CASE WHEN SUM(net_transaction_amount) = 0 THEN 'settlement_balanced' ELSE 'settlement_imbalance' END AS status
    FROM settlement_lines GROUP BY settlement_id
    UNION ALL
    SELECT settlement_id || ':' || source_line, net_transaction_amount,
           CASE WHEN total_transaction_fee = transaction_percentage_fee + transaction_fixed_fee
                 AND net_transaction_amount = transaction_amount + total_transaction_fee
                THEN 'line_ok' ELSE 'line_arithmetic_error' END
    FROM settlement_lines
) TO 'duck-out/layer3.parquet' (FORMAT parquet);
-- (4) payouts and bank deposits
COPY (
    WITH transfers AS (
        SELECT l.settlement_id, -l.net_transaction_amount AS amount, l.currency,
               CAST(COALESCE(s.settlement_end, l.transaction_posted_date) AS DATE) AS end_day
        FROM settlement_lines l LEFT JOIN settlements s USING (settlement_id)
        WHERE l.transaction_type = 'Transfer'),
    matched AS (
        SELECT t.settlement_id, MIN(d.bank_transaction_id) AS deposit
        FROM transfers t JOIN deposits d
          ON d.currency = t.currency AND d.amount = t.amount
         AND d.booking_date BETWEEN t.end_day AND t.end_day + 7
        GROUP BY t.settlement_id)
    SELECT t.settlement_id AS id, m.deposit,
           CASE WHEN m.deposit IS NOT NULL THEN 'deposited' ELSE 'missing_deposit' END AS status
    FROM transfers t LEFT JOIN matched m USING (settlement_id)
    UNION ALL
    SELECT d.bank_transaction_id, NULL,
           CASE WHEN d.bank_transaction_id IN (SELECT deposit FROM matched) THEN 'deposited'
                -- payrecon's default [reconcile] amazon_pay_references, on the reference with its
                -- whitespace collapsed: `AMAZON WEB SERVICES` or `AMAZON MARKETPLACE` do not name it.
                WHEN regexp_replace(upper(trim(d.reference)), '\s+', ' ', 'g') LIKE '%AMAZON PAY%'
                  OR regexp_replace(upper(trim(d.reference)), '\s+', ' ', 'g') LIKE '%AMZN PAY%'
                  THEN 'unexpected_deposit'
                ELSE 'not_amazon_pay' END
    FROM deposits d
) TO 'duck-out/layer4.parquet' (FORMAT parquet);
