-- Declined attempts by reason code (spec/analytics.md): count, share of all declines, share of
-- all attempts, decline class and the catalogue's resolution tier and advice. The same numbers
-- as `payrecon declines`. An empty reason code counts as `Declined`; a code the catalogue
-- (table `reason_codes`) lacks is class `unknown`.
WITH declined AS (
    SELECT COALESCE(reason_code, 'Declined') AS reason_code
    FROM charges
    WHERE state = 'Declined'
),
totals AS (
    SELECT
        COUNT(*) AS attempts,
        SUM(CASE WHEN state = 'Declined' THEN 1 ELSE 0 END) AS declines
    FROM charges
),
by_reason AS (
    SELECT reason_code, COUNT(*) AS declines
    FROM declined
    GROUP BY reason_code
)
SELECT
    r.reason_code,
    COALESCE(rc.decline_class, 'unknown') AS decline_class,
    r.declines,
    CAST(r.declines AS DOUBLE) / t.declines AS share_of_declines,
    CAST(r.declines AS DOUBLE) / t.attempts AS share_of_attempts,
    rc.tier AS resolution_tier,
    rc.frequency,
    rc.description AS advice
FROM by_reason r
CROSS JOIN totals t
LEFT JOIN reason_codes rc ON rc.code = r.reason_code
ORDER BY r.declines DESC, r.reason_code
