-- Approval rates by country x device x order-value band, as defined in spec/analytics.md: the
-- same numbers as `payrecon approvals --by country,device,value_band` with the default
-- configuration (default band edges, JPY x 100; 72-hour retry window; low volume below 30).
-- The band is the order's total in the order's currency, or the charge's amount and currency
-- when no order matches. Portable SQL: runs in `payrecon query` and in
-- DuckDB (see queries/README.md). `cp` is the fallback join on charge_permission_id; when
-- several orders share one, the smallest order_id wins (as in payrecon).
WITH cp AS (
    SELECT charge_permission_id, MIN(order_id) AS order_id
    FROM orders
    WHERE charge_permission_id IS NOT NULL
    GROUP BY charge_permission_id
),
matched AS (
    SELECT
        c.charge_id,
        c.creation_timestamp,
        c.charge_amount,
        c.currency,
        c.state,
        c.reason_code,
        COALESCE(c.merchant_reference_id, c.charge_permission_id) AS order_key,
        COALESCE(o1.order_id, cp.order_id) AS matched_order_id
    FROM charges c
    LEFT JOIN orders o1 ON o1.order_id = c.merchant_reference_id
    LEFT JOIN cp ON cp.charge_permission_id = c.charge_permission_id
),
attempts AS (
    SELECT
        m.charge_id,
        m.creation_timestamp,
        m.charge_amount,
        m.currency,
        m.order_key,
        COALESCE(o.country, 'unknown') AS country,
        COALESCE(o.device, 'unknown') AS device,
        COALESCE(o.currency, m.currency) AS band_currency,
        COALESCE(o.order_total, m.charge_amount) AS band_amount,
        CASE
            WHEN m.state IN ('Authorized', 'CaptureInitiated', 'Captured') THEN 'approved'
            WHEN m.state = 'Canceled' AND m.reason_code = 'ExpiredUnused' THEN 'approved'
            WHEN m.state = 'Declined' THEN 'declined'
            WHEN m.state = 'AuthorizationInitiated' THEN 'pending'
            ELSE 'canceled'
        END AS outcome
    FROM matched m
    LEFT JOIN orders o ON o.order_id = m.matched_order_id
),
banded AS (
    SELECT *, CASE WHEN band_currency = 'JPY' THEN 100 ELSE 1 END AS f
    FROM attempts
),
attempt_bands AS (
    SELECT
        *,
        CASE
            WHEN band_amount < 0 THEN -1
            WHEN band_amount < 25 * f THEN 0
            WHEN band_amount < 50 * f THEN 25 * f
            WHEN band_amount < 100 * f THEN 50 * f
            WHEN band_amount < 250 * f THEN 100 * f
            WHEN band_amount < 500 * f THEN 250 * f
            ELSE 500 * f
        END AS band_lo,
        CASE
            WHEN band_amount < 0 THEN '<0'
            WHEN band_currency = 'JPY' THEN CASE
                WHEN band_amount < 2500 THEN '0-2500'
                WHEN band_amount < 5000 THEN '2500-5000'
                WHEN band_amount < 10000 THEN '5000-10000'
                WHEN band_amount < 25000 THEN '10000-25000'
                WHEN band_amount < 50000 THEN '25000-50000'
                ELSE '50000+' END
            ELSE CASE
                WHEN band_amount < 25 THEN '0-25'
                WHEN band_amount < 50 THEN '25-50'
                WHEN band_amount < 100 THEN '50-100'
                WHEN band_amount < 250 THEN '100-250'
                WHEN band_amount < 500 THEN '250-500'
                ELSE '500+' END
        END AS value_band
    FROM banded
),
newest AS (
    SELECT MAX(creation_timestamp) AS ts FROM charges
),
first_ts AS (
    SELECT order_key, MIN(creation_timestamp) AS ts FROM attempts GROUP BY order_key
),
first_attempt AS (
    SELECT a.order_key, MIN(a.charge_id) AS charge_id
    FROM attempts a
    JOIN first_ts f ON f.order_key = a.order_key AND f.ts = a.creation_timestamp
    GROUP BY a.order_key
),
decided_ts AS (
    SELECT order_key, MIN(creation_timestamp) AS ts
    FROM attempts
    WHERE outcome IN ('approved', 'declined')
    GROUP BY order_key
),
first_decided AS (
    SELECT a.order_key, MIN(a.charge_id) AS charge_id
    FROM attempts a
    JOIN decided_ts f ON f.order_key = a.order_key AND f.ts = a.creation_timestamp
    WHERE a.outcome IN ('approved', 'declined')
    GROUP BY a.order_key
),
eventual AS (
    SELECT order_key, MAX(CASE WHEN outcome = 'approved' THEN 1 ELSE 0 END) AS approved
    FROM attempts
    GROUP BY order_key
),
order_facts AS (
    SELECT
        a1.country,
        a1.device,
        a1.value_band,
        a1.band_lo,
        CASE WHEN a1.creation_timestamp > n.ts - INTERVAL '72 hours' THEN 1 ELSE 0 END AS immature,
        CASE WHEN fd.charge_id IS NULL THEN 0 ELSE 1 END AS decided,
        CASE WHEN ad.outcome = 'approved' THEN 1 ELSE 0 END AS first_approved,
        CASE WHEN fd.charge_id IS NULL THEN 0 ELSE e.approved END AS eventual_approved
    FROM first_attempt fa
    JOIN attempt_bands a1 ON a1.charge_id = fa.charge_id
    JOIN eventual e ON e.order_key = fa.order_key
    LEFT JOIN first_decided fd ON fd.order_key = fa.order_key
    LEFT JOIN attempts ad ON ad.charge_id = fd.charge_id
    CROSS JOIN newest n
),
attempt_cells AS (
    SELECT
        country,
        device,
        value_band,
        band_lo,
        COUNT(*) AS attempts,
        SUM(CASE WHEN outcome = 'approved' THEN 1 ELSE 0 END) AS approved,
        SUM(CASE WHEN outcome = 'declined' THEN 1 ELSE 0 END) AS declined,
        SUM(CASE WHEN outcome = 'pending' THEN 1 ELSE 0 END) AS pending,
        SUM(CASE WHEN outcome = 'canceled' THEN 1 ELSE 0 END) AS canceled,
        SUM(CASE WHEN outcome = 'approved' THEN charge_amount ELSE 0 END) AS amount_approved,
        SUM(CASE WHEN outcome IN ('approved', 'declined') THEN charge_amount ELSE 0 END) AS amount_decided,
        COUNT(DISTINCT CASE WHEN outcome IN ('approved', 'declined') THEN currency END) AS currencies
    FROM attempt_bands
    GROUP BY country, device, value_band, band_lo
),
order_cells AS (
    SELECT
        country,
        device,
        value_band,
        COUNT(*) AS orders,
        SUM(decided) AS decided_orders,
        SUM(first_approved) AS first_approved,
        SUM(eventual_approved) AS eventual_approved,
        SUM(immature) AS immature_orders
    FROM order_facts
    GROUP BY country, device, value_band
),
cells AS (
    SELECT
        a.*,
        COALESCE(o.orders, 0) AS orders,
        COALESCE(o.decided_orders, 0) AS decided_orders,
        COALESCE(o.first_approved, 0) AS first_approved,
        COALESCE(o.eventual_approved, 0) AS eventual_approved,
        COALESCE(o.immature_orders, 0) AS immature_orders,
        CAST(a.approved + a.declined AS DOUBLE) AS n,
        CASE WHEN a.approved + a.declined > 0
            THEN CAST(a.approved AS DOUBLE) / (a.approved + a.declined) END AS p
    FROM attempt_cells a
    LEFT JOIN order_cells o
        ON o.country = a.country AND o.device = a.device AND o.value_band = a.value_band
)
SELECT
    country,
    device,
    value_band,
    attempts,
    approved,
    declined,
    pending,
    canceled,
    p AS approval_rate,
    CASE WHEN n > 0 THEN GREATEST(0.0,
        (p + 3.841458820694124 / (2.0 * n)) / (1.0 + 3.841458820694124 / n)
        - 1.959963984540054 * SQRT(p * (1.0 - p) / n + 3.841458820694124 / (4.0 * n * n))
          / (1.0 + 3.841458820694124 / n)) END AS approval_rate_lo,
    CASE WHEN n > 0 THEN LEAST(1.0,
        (p + 3.841458820694124 / (2.0 * n)) / (1.0 + 3.841458820694124 / n)
        + 1.959963984540054 * SQRT(p * (1.0 - p) / n + 3.841458820694124 / (4.0 * n * n))
          / (1.0 + 3.841458820694124 / n)) END AS approval_rate_hi,
    CASE WHEN currencies = 1 AND amount_decided <> 0
        THEN CAST(amount_approved AS DOUBLE) / CAST(amount_decided AS DOUBLE) END AS amount_approval_rate,
    orders,
    CASE WHEN decided_orders > 0
        THEN CAST(first_approved AS DOUBLE) / decided_orders END AS first_attempt_rate,
    CASE WHEN decided_orders > 0
        THEN CAST(eventual_approved AS DOUBLE) / decided_orders END AS eventual_rate,
    CASE WHEN decided_orders > 0
        THEN CAST(eventual_approved AS DOUBLE) / decided_orders
           - CAST(first_approved AS DOUBLE) / decided_orders END AS retry_uplift,
    immature_orders,
    (approved + declined < 30 OR decided_orders < 30) AS low_volume
FROM cells
ORDER BY country, device, band_lo, value_band
