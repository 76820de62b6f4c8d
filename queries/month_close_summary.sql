-- Month-close summary per currency and calendar month (UTC): the settled activity of the
-- Amazon Pay balance, as in the roll-forward of `payrecon close --month YYYY-MM` (which also
-- adds the opening and closing balances and uses the configured time zone). A `Transfer` line
-- counts in the month of its settlement's end.
WITH lines AS (
    SELECT
        l.currency,
        l.transaction_type,
        l.transaction_amount,
        l.total_transaction_fee,
        l.net_transaction_amount,
        CASE WHEN l.transaction_type = 'Transfer' AND s.settlement_end IS NOT NULL
            THEN s.settlement_end ELSE l.transaction_posted_date END AS posted
    FROM settlement_lines l
    LEFT JOIN settlements s ON s.settlement_id = l.settlement_id
),
dated AS (
    SELECT *, EXTRACT(YEAR FROM posted) AS year, EXTRACT(MONTH FROM posted) AS month
    FROM lines
)
SELECT
    currency,
    year,
    month,
    SUM(CASE WHEN transaction_type = 'Capture' THEN transaction_amount ELSE 0 END) AS captures,
    SUM(CASE WHEN transaction_type = 'Refund' THEN transaction_amount ELSE 0 END) AS refunds,
    SUM(CASE WHEN transaction_type IN ('Chargeback', 'A-to-z Guarantee Claim', 'Dispute')
        THEN transaction_amount ELSE 0 END) AS chargebacks_and_claims,
    SUM(CASE WHEN transaction_type NOT IN ('Capture', 'Refund', 'Chargeback',
        'A-to-z Guarantee Claim', 'Dispute', 'Transfer') THEN transaction_amount ELSE 0 END) AS adjustments,
    SUM(CASE WHEN transaction_type = 'Transfer' THEN 0 ELSE total_transaction_fee END) AS fees,
    SUM(CASE WHEN transaction_type = 'Transfer' THEN -net_transaction_amount ELSE 0 END) AS transfers_out,
    SUM(net_transaction_amount) AS balance_change,
    COUNT(*) AS lines
FROM dated
GROUP BY currency, year, month
ORDER BY currency, year, month
