-- Daily attempt approval rate with its 95 % Wilson interval (spec/analytics.md), by the UTC day
-- of creation_timestamp (the lake's `day` partition). The same numbers as
-- `payrecon approvals --by day` with the default time zone (UTC).
WITH daily AS (
    SELECT
        day,
        COUNT(*) AS attempts,
        SUM(CASE WHEN state IN ('Authorized', 'CaptureInitiated', 'Captured')
                   OR (state = 'Canceled' AND reason_code = 'ExpiredUnused') THEN 1 ELSE 0 END) AS approved,
        SUM(CASE WHEN state = 'Declined' THEN 1 ELSE 0 END) AS declined
    FROM charges
    GROUP BY day
),
rated AS (
    SELECT
        *,
        CAST(approved + declined AS DOUBLE) AS n,
        CASE WHEN approved + declined > 0
            THEN CAST(approved AS DOUBLE) / (approved + declined) END AS p
    FROM daily
)
SELECT
    day,
    attempts,
    approved,
    declined,
    p AS approval_rate,
    CASE WHEN n > 0 THEN GREATEST(0.0,
        (p + 3.841458820694124 / (2.0 * n)) / (1.0 + 3.841458820694124 / n)
        - 1.959963984540054 * SQRT(p * (1.0 - p) / n + 3.841458820694124 / (4.0 * n * n))
          / (1.0 + 3.841458820694124 / n)) END AS approval_rate_lo,
    CASE WHEN n > 0 THEN LEAST(1.0,
        (p + 3.841458820694124 / (2.0 * n)) / (1.0 + 3.841458820694124 / n)
        + 1.959963984540054 * SQRT(p * (1.0 - p) / n + 3.841458820694124 / (4.0 * n * n))
          / (1.0 + 3.841458820694124 / n)) END AS approval_rate_hi
FROM rated
ORDER BY day
