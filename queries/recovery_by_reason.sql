-- Recovery by the reason code of an order's first decline (spec/analytics.md): among decided
-- orders whose first decided attempt was declined with reason R, how many later got an approved
-- attempt, the recovery rate with its 95 % Wilson interval, and the median number of attempts
-- to recovery (all attempts up to and including the first approved one). The same numbers as
-- `payrecon recovery`. Orders are grouped by merchant_reference_id, else charge_permission_id,
-- and ordered by creation_timestamp, then charge_id.
WITH attempts AS (
    SELECT
        charge_id,
        creation_timestamp,
        COALESCE(merchant_reference_id, charge_permission_id) AS order_key,
        CASE
            WHEN state IN ('Authorized', 'CaptureInitiated', 'Captured') THEN 'approved'
            WHEN state = 'Canceled' AND reason_code = 'ExpiredUnused' THEN 'approved'
            WHEN state = 'Declined' THEN 'declined'
            WHEN state = 'AuthorizationInitiated' THEN 'pending'
            ELSE 'canceled'
        END AS outcome,
        CASE WHEN state = 'Declined' THEN COALESCE(reason_code, 'Declined') END AS reason
    FROM charges
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
first_declines AS (
    SELECT fd.order_key, a.reason
    FROM first_decided fd
    JOIN attempts a ON a.charge_id = fd.charge_id
    WHERE a.outcome = 'declined'
),
approved_ts AS (
    SELECT order_key, MIN(creation_timestamp) AS ts
    FROM attempts
    WHERE outcome = 'approved'
    GROUP BY order_key
),
first_approved AS (
    SELECT a.order_key, a2.ts, MIN(a.charge_id) AS charge_id
    FROM attempts a
    JOIN approved_ts a2 ON a2.order_key = a.order_key AND a2.ts = a.creation_timestamp
    WHERE a.outcome = 'approved'
    GROUP BY a.order_key, a2.ts
),
to_recovery AS (
    SELECT fa.order_key, COUNT(*) AS attempts
    FROM first_approved fa
    JOIN attempts a ON a.order_key = fa.order_key
    WHERE a.creation_timestamp < fa.ts
       OR (a.creation_timestamp = fa.ts AND a.charge_id <= fa.charge_id)
    GROUP BY fa.order_key
),
per_reason AS (
    SELECT
        d.reason AS reason_code,
        COUNT(*) AS orders,
        SUM(CASE WHEN r.attempts IS NULL THEN 0 ELSE 1 END) AS recovered,
        MEDIAN(r.attempts) AS median_attempts_to_recovery
    FROM first_declines d
    LEFT JOIN to_recovery r ON r.order_key = d.order_key
    GROUP BY d.reason
),
rated AS (
    SELECT *, CAST(orders AS DOUBLE) AS n, CAST(recovered AS DOUBLE) / orders AS p
    FROM per_reason
)
SELECT
    r.reason_code,
    COALESCE(rc.decline_class, 'unknown') AS decline_class,
    r.orders,
    r.recovered,
    r.p AS recovery_rate,
    GREATEST(0.0,
        (p + 3.841458820694124 / (2.0 * n)) / (1.0 + 3.841458820694124 / n)
        - 1.959963984540054 * SQRT(p * (1.0 - p) / n + 3.841458820694124 / (4.0 * n * n))
          / (1.0 + 3.841458820694124 / n)) AS recovery_rate_lo,
    LEAST(1.0,
        (p + 3.841458820694124 / (2.0 * n)) / (1.0 + 3.841458820694124 / n)
        + 1.959963984540054 * SQRT(p * (1.0 - p) / n + 3.841458820694124 / (4.0 * n * n))
          / (1.0 + 3.841458820694124 / n)) AS recovery_rate_hi,
    CAST(r.median_attempts_to_recovery AS DOUBLE) AS median_attempts_to_recovery
FROM rated r
LEFT JOIN reason_codes rc ON rc.code = r.reason_code
ORDER BY r.orders DESC, r.reason_code
