//! Strict parsing of one row of each kind into typed lake values.
//!
//! A parser validates the whole row first and returns either the typed record or a
//! [`RowError`] naming the column; only valid records reach a builder, so a bad row leaves
//! no trace but its reject.

use crate::lake::builder::{RowBuilder, Value};
use crate::model::money::parse_minor;
use crate::model::time::{TimeWindow, parse_date, parse_timestamp, to_epoch_days, to_micros};
use crate::model::{CHARGE_STATES, Currency, REFUND_STATES};

/// Why a row was rejected: the column to blame (if any) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub column: Option<String>,
    pub reason: String,
}

impl RowError {
    pub fn at(column: &str, reason: impl Into<String>) -> Self {
        RowError {
            column: Some(column.to_string()),
            reason: reason.into(),
        }
    }
    pub fn row(reason: impl Into<String>) -> Self {
        RowError {
            column: None,
            reason: reason.into(),
        }
    }
}

pub type RowResult<T> = Result<T, RowError>;

/// Source of named fields of one row (a CSV record through its header, or a JSON object).
pub trait Fields {
    /// The raw text of a field; `None` when the column is absent from the file.
    fn get(&self, name: &str) -> Option<&str>;
}

/// A required non-empty text field.
pub fn required<'a>(f: &'a impl Fields, name: &str) -> RowResult<&'a str> {
    match f.get(name).map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        Some(_) => Err(RowError::at(name, "required field is empty")),
        None => Err(RowError::at(name, "required field is missing")),
    }
}

/// An optional text field: absent or blank is `None`.
pub fn optional<'a>(f: &'a impl Fields, name: &str) -> Option<&'a str> {
    f.get(name).map(str::trim).filter(|v| !v.is_empty())
}

/// A required timestamp, within the plausible window.
fn timestamp(f: &impl Fields, name: &str, w: &TimeWindow) -> RowResult<i64> {
    let v = required(f, name)?;
    parse_timestamp(v)
        .map_err(|e| e.to_string())
        .and_then(|t| w.check_timestamp(to_micros(t)))
        .map_err(|e| RowError::at(name, e))
}

fn currency(f: &impl Fields, name: &str) -> RowResult<Currency> {
    let v = required(f, name)?;
    v.parse::<Currency>()
        .map_err(|e| RowError::at(name, e.to_string()))
}

/// A money field as the lake's unscaled DECIMAL(18,2).
fn money(f: &impl Fields, name: &str, cur: Currency) -> RowResult<i128> {
    let v = required(f, name)?;
    lake_money(v, cur).map_err(|e| RowError::at(name, e))
}

fn money_opt(f: &impl Fields, name: &str, cur: Currency) -> RowResult<Option<i128>> {
    optional(f, name)
        .map(|v| lake_money(v, cur).map_err(|e| RowError::at(name, e)))
        .transpose()
}

fn lake_money(text: &str, cur: Currency) -> Result<i128, String> {
    parse_minor(text, cur)
        .map(|m| i128::from(m) * i128::from(cur.lake_factor()))
        .map_err(|e| e.to_string())
}

fn one_of<'a>(f: &'a impl Fields, name: &str, allowed: &[&str]) -> RowResult<&'a str> {
    let v = required(f, name)?;
    if allowed.contains(&v) {
        Ok(v)
    } else {
        Err(RowError::at(
            name,
            format!(
                "unknown {name} {v:?} (expected one of {})",
                allowed.join(", ")
            ),
        ))
    }
}

/// Field names of a charge row (CSV header names; JSON paths map onto them).
pub mod charge {
    pub const ID: &str = "ChargeId";
    pub const PERMISSION: &str = "ChargePermissionId";
    pub const MERCHANT_REF: &str = "MerchantReferenceId";
    pub const CREATED: &str = "CreationTimestamp";
    pub const UPDATED: &str = "LastUpdatedTimestamp";
    pub const STATE: &str = "State";
    pub const REASON: &str = "ReasonCode";
    pub const AMOUNT: &str = "ChargeAmount";
    pub const CAPTURE: &str = "CaptureAmount";
    pub const REFUNDED: &str = "RefundedAmount";
    pub const CURRENCY: &str = "CurrencyCode";
    pub const SELLER_REF: &str = "SellerReferenceId";
    pub const ENV: &str = "ReleaseEnvironment";
    pub const REQUIRED: [&str; 7] = [ID, PERMISSION, CREATED, UPDATED, STATE, AMOUNT, CURRENCY];
}

/// Parses a charge and pushes it into a `charges` builder.
pub fn push_charge(f: &impl Fields, w: &TimeWindow, b: &mut RowBuilder) -> RowResult<()> {
    use charge::*;
    let id = required(f, ID)?;
    let permission = required(f, PERMISSION)?;
    let created = timestamp(f, CREATED, w)?;
    let updated = timestamp(f, UPDATED, w)?;
    let state = one_of(f, STATE, &CHARGE_STATES)?;
    let cur = currency(f, CURRENCY)?;
    let amount = money(f, AMOUNT, cur)?;
    let capture = money_opt(f, CAPTURE, cur)?;
    let refunded = money_opt(f, REFUNDED, cur)?;
    b.push(Value::Str(Some(id)));
    b.push(Value::Str(Some(permission)));
    b.push(Value::Str(optional(f, MERCHANT_REF)));
    b.push(Value::Ts(Some(created)));
    b.push(Value::Ts(Some(updated)));
    b.push(Value::Str(Some(state)));
    b.push(Value::Str(optional(f, REASON)));
    b.push(Value::Money(Some(amount)));
    b.push(Value::Money(capture));
    b.push(Value::Money(refunded));
    b.push(Value::Str(Some(cur.code())));
    b.push(Value::Str(optional(f, SELLER_REF)));
    b.push(Value::Str(optional(f, ENV)));
    Ok(())
}

pub mod refund {
    pub const ID: &str = "RefundId";
    pub const CHARGE: &str = "ChargeId";
    pub const CREATED: &str = "CreationTimestamp";
    pub const UPDATED: &str = "LastUpdatedTimestamp";
    pub const STATE: &str = "State";
    pub const REASON: &str = "ReasonCode";
    pub const AMOUNT: &str = "RefundAmount";
    pub const CURRENCY: &str = "CurrencyCode";
    pub const REQUIRED: [&str; 7] = [ID, CHARGE, CREATED, UPDATED, STATE, AMOUNT, CURRENCY];
}

/// Parses a refund and pushes it into a `refunds` builder.
pub fn push_refund(f: &impl Fields, w: &TimeWindow, b: &mut RowBuilder) -> RowResult<()> {
    use refund::*;
    let id = required(f, ID)?;
    let charge = required(f, CHARGE)?;
    let created = timestamp(f, CREATED, w)?;
    let updated = timestamp(f, UPDATED, w)?;
    let state = one_of(f, STATE, &REFUND_STATES)?;
    let cur = currency(f, CURRENCY)?;
    let amount = money(f, AMOUNT, cur)?;
    b.push(Value::Str(Some(id)));
    b.push(Value::Str(Some(charge)));
    b.push(Value::Ts(Some(created)));
    b.push(Value::Ts(Some(updated)));
    b.push(Value::Str(Some(state)));
    b.push(Value::Str(optional(f, REASON)));
    b.push(Value::Money(Some(amount)));
    b.push(Value::Str(Some(cur.code())));
    Ok(())
}

/// `s` in lower (or ASCII upper) case, borrowed when it already is.
fn canonical(s: &str, lower: bool) -> std::borrow::Cow<'_, str> {
    let done = if lower {
        !s.chars().any(char::is_uppercase)
    } else {
        !s.bytes().any(|b| b.is_ascii_lowercase())
    };
    match (done, lower) {
        (true, _) => std::borrow::Cow::Borrowed(s),
        (false, true) => std::borrow::Cow::Owned(s.to_lowercase()),
        (false, false) => std::borrow::Cow::Owned(s.to_ascii_uppercase()),
    }
}

/// Parses an order (field names from the configured mapping) and pushes it.
pub fn push_order(
    f: &impl Fields,
    cols: &crate::settings::OrderColumns,
    w: &TimeWindow,
    b: &mut RowBuilder,
) -> RowResult<()> {
    let id = required(f, &cols.order_id)?;
    let created = timestamp(f, &cols.created_at, w)?;
    let country = canonical(required(f, &cols.country)?, false);
    if country.len() != 2 || !country.bytes().all(|c| c.is_ascii_uppercase()) {
        return Err(RowError::at(
            &cols.country,
            format!("{country:?} is not an ISO 3166-1 alpha-2 code"),
        ));
    }
    let device = canonical(required(f, &cols.device)?, true);
    let cur = currency(f, &cols.currency)?;
    let total = money(f, &cols.order_total, cur)?;
    let status = optional(f, &cols.status).map(|s| canonical(s, true));
    b.push(Value::Str(Some(id)));
    b.push(Value::Ts(Some(created)));
    b.push(Value::Str(Some(&country)));
    b.push(Value::Str(Some(&device)));
    b.push(Value::Money(Some(total)));
    b.push(Value::Str(Some(cur.code())));
    b.push(Value::Str(status.as_deref()));
    b.push(Value::Str(optional(f, &cols.charge_permission_id)));
    Ok(())
}

pub mod deposit {
    pub const DATE: &str = "booking_date";
    pub const AMOUNT: &str = "amount";
    pub const CURRENCY: &str = "currency";
    pub const REFERENCE: &str = "reference";
    pub const ID: &str = "bank_transaction_id";
    pub const REQUIRED: [&str; 4] = [DATE, AMOUNT, CURRENCY, ID];
}

/// Parses a bank statement line and pushes it into a `deposits` builder.
pub fn push_deposit(f: &impl Fields, w: &TimeWindow, b: &mut RowBuilder) -> RowResult<()> {
    use deposit::*;
    let id = required(f, ID)?;
    let date = parse_date(required(f, DATE)?)
        .map_err(|e| e.to_string())
        .and_then(|d| w.check_date(d))
        .map_err(|e| RowError::at(DATE, e))?;
    let cur = currency(f, CURRENCY)?;
    let amount = money(f, AMOUNT, cur)?;
    b.push(Value::Str(Some(id)));
    b.push(Value::Date(Some(to_epoch_days(date))));
    b.push(Value::Money(Some(amount)));
    b.push(Value::Str(Some(cur.code())));
    b.push(Value::Str(optional(f, REFERENCE)));
    b.push(Value::Str(None));
    b.push(Value::Str(None));
    Ok(())
}

/// A bank statement line of any format, already split into its fields: pushed into a
/// `deposits` builder. `amount` is in the lake's units.
pub struct BankLine<'a> {
    pub id: &'a str,
    pub booking: chrono::NaiveDate,
    pub amount: i128,
    pub currency: Currency,
    pub reference: Option<&'a str>,
    pub account: Option<&'a str>,
    pub statement: Option<&'a str>,
}

/// Pushes a bank statement line into a `deposits` builder.
pub fn push_bank_line(line: &BankLine<'_>, b: &mut RowBuilder) {
    b.push(Value::Str(Some(line.id)));
    b.push(Value::Date(Some(to_epoch_days(line.booking))));
    b.push(Value::Money(Some(line.amount)));
    b.push(Value::Str(Some(line.currency.code())));
    b.push(Value::Str(line.reference.filter(|r| !r.is_empty())));
    b.push(Value::Str(line.account.filter(|a| !a.is_empty())));
    b.push(Value::Str(line.statement.filter(|s| !s.is_empty())));
}

/// The derived `bank_transaction_id` of `spec/inputs.md` §5: the first 16 hex digits of SHA-256
/// over `account|booking_date|amount|currency|reference|n`, `n` counting identical lines within
/// one statement (1 for the first), the amount as signed decimal text (`-12.50`, JPY `5000`).
pub fn derived_bank_id(
    account: &str,
    booking: chrono::NaiveDate,
    amount_minor: i64,
    currency: Currency,
    reference: &str,
    n: u32,
) -> String {
    use sha2::{Digest, Sha256};
    let text = format!(
        "{account}|{booking}|{}|{}|{reference}|{n}",
        crate::model::money::format_minor(amount_minor, currency),
        currency.code()
    );
    let digest = Sha256::digest(text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

pub mod line {
    pub const POSTED: &str = "TransactionPostedDate";
    pub const SETTLEMENT: &str = "SettlementId";
    pub const TXN_ID: &str = "AmazonTransactionId";
    pub const SELLER_REF: &str = "SellerReferenceId";
    pub const TYPE: &str = "TransactionType";
    pub const ORDER_REF: &str = "AmazonOrderReferenceId";
    pub const SELLER_ORDER: &str = "SellerOrderId";
    pub const STORE: &str = "StoreName";
    pub const CURRENCY: &str = "CurrencyCode";
    pub const DESCRIPTION: &str = "TransactionDescription";
    pub const AMOUNT: &str = "TransactionAmount";
    pub const PCT_FEE: &str = "TransactionPercentageFee";
    pub const FIXED_FEE: &str = "TransactionFixedFee";
    pub const TOTAL_FEE: &str = "TotalTransactionFee";
    pub const NET: &str = "NetTransactionAmount";
    pub const REQUIRED: [&str; 6] = [POSTED, SETTLEMENT, TYPE, CURRENCY, AMOUNT, NET];
}

/// Parses a settlement body line and pushes it; returns its settlement id and whether its
/// `TransactionType` is unknown (loaded, but counted as a warning).
pub fn push_settlement_line<'a>(
    f: &'a impl Fields,
    w: &TimeWindow,
    b: &mut RowBuilder,
) -> RowResult<(&'a str, bool)> {
    use line::*;
    let posted = timestamp(f, POSTED, w)?;
    let settlement = required(f, SETTLEMENT)?;
    let ttype_text = required(f, TYPE)?;
    let ttype = crate::model::canonical_transaction_type(ttype_text);
    let cur = currency(f, CURRENCY)?;
    let amount = money(f, AMOUNT, cur)?;
    let zero_if_blank = |name: &str| money_opt(f, name, cur).map(|v| v.unwrap_or(0));
    let pct = zero_if_blank(PCT_FEE)?;
    let fixed = zero_if_blank(FIXED_FEE)?;
    let total = zero_if_blank(TOTAL_FEE)?;
    let net = money(f, NET, cur)?;
    b.push(Value::Str(Some(settlement)));
    b.push(Value::Ts(Some(posted)));
    b.push(Value::Str(optional(f, TXN_ID)));
    b.push(Value::Str(optional(f, SELLER_REF)));
    b.push(Value::Str(Some(ttype.unwrap_or(ttype_text))));
    b.push(Value::Str(Some(ttype_text)));
    b.push(Value::Str(optional(f, ORDER_REF)));
    b.push(Value::Str(optional(f, SELLER_ORDER)));
    b.push(Value::Str(optional(f, STORE)));
    b.push(Value::Str(Some(cur.code())));
    b.push(Value::Str(optional(f, DESCRIPTION)));
    b.push(Value::Money(Some(amount)));
    b.push(Value::Money(Some(pct)));
    b.push(Value::Money(Some(fixed)));
    b.push(Value::Money(Some(total)));
    b.push(Value::Money(Some(net)));
    Ok((settlement, ttype.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schema::{CHARGES, ORDERS};
    use std::collections::HashMap;

    struct Map(HashMap<&'static str, &'static str>);
    impl Fields for Map {
        fn get(&self, name: &str) -> Option<&str> {
            self.0.get(name).copied()
        }
    }

    fn window() -> TimeWindow {
        TimeWindow::new(
            crate::model::time::DEFAULT_EARLIEST,
            parse_timestamp("2026-12-01T00:00:00Z").unwrap(),
            2,
        )
    }

    fn charge(overrides: &[(&'static str, &'static str)]) -> Map {
        let mut m: HashMap<_, _> = [
            ("ChargeId", "P01-1-C1"),
            ("ChargePermissionId", "P01-1"),
            ("CreationTimestamp", "2026-10-01T10:00:00Z"),
            ("LastUpdatedTimestamp", "20261001T100500Z"),
            ("State", "Captured"),
            ("ChargeAmount", "49.99"),
            ("CaptureAmount", "49.99"),
            ("CurrencyCode", "USD"),
        ]
        .into_iter()
        .collect();
        m.extend(overrides.iter().copied());
        Map(m)
    }

    #[test]
    fn valid_charge_pushes_a_row() {
        let mut b = RowBuilder::new(&CHARGES, 1);
        push_charge(&charge(&[]), &window(), &mut b).unwrap();
        b.finish_row("f.csv", 2, 1);
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn each_bad_charge_field_is_named() {
        let cases: [(&[(&str, &str)], &str); 10] = [
            (
                &[("CreationTimestamp", "1969-12-31T23:59:59Z")],
                "CreationTimestamp",
            ),
            (
                &[("CreationTimestamp", "9999-12-31T00:00:00Z")],
                "CreationTimestamp",
            ),
            (
                &[("LastUpdatedTimestamp", "2036-01-01T00:00:00Z")],
                "LastUpdatedTimestamp",
            ),
            (&[("ChargeId", " ")], "ChargeId"),
            (&[("State", "Settled")], "State"),
            (&[("CurrencyCode", "XXX")], "CurrencyCode"),
            (&[("ChargeAmount", "1.234")], "ChargeAmount"),
            (&[("CaptureAmount", "abc")], "CaptureAmount"),
            (&[("CreationTimestamp", "01/10/2026")], "CreationTimestamp"),
            (&[("LastUpdatedTimestamp", "")], "LastUpdatedTimestamp"),
        ];
        for (over, col) in cases {
            let mut b = RowBuilder::new(&CHARGES, 1);
            let err = push_charge(&charge(over), &window(), &mut b).unwrap_err();
            assert_eq!(err.column.as_deref(), Some(col), "{over:?}: {err:?}");
            assert!(b.is_empty());
        }
    }

    #[test]
    fn orders_normalise_case_and_check_country() {
        let cols = crate::settings::OrderColumns::default();
        let mut m: HashMap<_, _> = [
            ("order_id", "ORD-1"),
            ("created_at", "2026-10-01T10:00:00Z"),
            ("country", "de"),
            ("device", "Mobile_Web"),
            ("order_total", "\u{31},234.50"),
            ("currency", "EUR"),
        ]
        .into_iter()
        .collect();
        let mut b = RowBuilder::new(&ORDERS, 1);
        push_order(&Map(m.clone()), &cols, &window(), &mut b).unwrap();
        b.finish_row("o.csv", 2, 1);
        m.insert("country", "Germany");
        let err = push_order(&Map(m), &cols, &window(), &mut b).unwrap_err();
        assert_eq!(err.column.as_deref(), Some("country"));
    }
}
