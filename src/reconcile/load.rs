//! The reconciliation's inputs, read from the lake into typed records (parallel per file).

use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::ReconcileError;
use crate::lake::Lake;
use crate::lake::columns::{self, Batch, opt, opt_value};
use crate::model::money::Currency;
use crate::model::schema::{CHARGES, DEPOSITS, ORDERS, REFUNDS, SETTLEMENT_LINES, SETTLEMENTS};

#[derive(Debug, Clone)]
pub struct Order {
    pub id: Arc<str>,
    pub created: i64,
    /// Lake units (hundredths of the major unit).
    pub total: i64,
    pub currency: Currency,
    pub cancelled: bool,
    pub permission: Option<Arc<str>>,
}

#[derive(Debug, Clone)]
pub struct Charge {
    pub id: Arc<str>,
    pub permission: Arc<str>,
    pub merchant_ref: Option<Arc<str>>,
    pub seller_ref: Option<Arc<str>>,
    pub state: Arc<str>,
    pub capture_amount: Option<i64>,
    pub currency: Currency,
    pub created: i64,
    pub updated: i64,
}

impl Charge {
    pub fn captured(&self) -> bool {
        &*self.state == "Captured"
    }

    /// Still capturable: `AuthorizationInitiated`, `Authorized` or `CaptureInitiated`.
    pub fn capturable(&self) -> bool {
        matches!(
            &*self.state,
            "AuthorizationInitiated" | "Authorized" | "CaptureInitiated"
        )
    }
}

#[derive(Debug, Clone)]
pub struct Refund {
    pub id: Arc<str>,
    pub charge_id: Arc<str>,
    pub state: Arc<str>,
    pub amount: i64,
    pub currency: Currency,
    pub updated: i64,
}

#[derive(Debug, Clone)]
pub struct Line {
    pub settlement_id: Arc<str>,
    pub posted: i64,
    pub txn_id: Option<Arc<str>>,
    pub seller_ref: Option<Arc<str>>,
    pub ttype: Arc<str>,
    pub seller_order: Option<Arc<str>>,
    pub store: Option<Arc<str>>,
    pub currency: Currency,
    pub amount: i64,
    pub pct_fee: i64,
    pub fixed_fee: i64,
    pub total_fee: i64,
    pub net: i64,
    pub source_file: Arc<str>,
    pub source_line: i64,
}

impl Line {
    /// The line's id in results: its `AmazonTransactionId`, else `SettlementId:line`.
    pub fn item_id(&self) -> Arc<str> {
        match &self.txn_id {
            Some(t) => t.clone(),
            None => self.reference().into(),
        }
    }

    /// `SettlementId:line`, how results name a line as a counterpart.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.settlement_id, self.source_line)
    }
}

#[derive(Debug, Clone)]
pub struct Settlement {
    pub id: Arc<str>,
    pub start: Option<i64>,
    pub end: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Deposit {
    pub id: Arc<str>,
    /// Booking date, days since the epoch.
    pub booking: i32,
    pub amount: i64,
    pub currency: Currency,
    pub reference: Option<Arc<str>>,
}

/// Everything the reconciliation reads.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub orders: Vec<Order>,
    pub charges: Vec<Charge>,
    pub refunds: Vec<Refund>,
    pub lines: Vec<Line>,
    pub settlements: Vec<Settlement>,
    pub deposits: Vec<Deposit>,
}

fn currency(path: &std::path::Path, s: &str) -> Result<Currency, ReconcileError> {
    Ok(columns::currency(path, s)?)
}

fn owned(s: Option<&str>) -> Option<Arc<str>> {
    s.map(Arc::from)
}

/// Shares one allocation between equal values of a low-cardinality column within a batch.
#[derive(Default)]
struct Interner<'a>(FxHashMap<&'a str, Arc<str>>);

impl<'a> Interner<'a> {
    fn get(&mut self, s: &'a str) -> Arc<str> {
        self.0.entry(s).or_insert_with(|| Arc::from(s)).clone()
    }
}

/// Converts every batch with `f` in parallel and concatenates the results in batch order.
fn convert<T: Send>(
    batches: &[Batch],
    f: impl Fn(&Batch) -> Result<Vec<T>, ReconcileError> + Sync + Send,
) -> Result<Vec<T>, ReconcileError> {
    let parts: Vec<Vec<T>> = batches.par_iter().map(f).collect::<Result<_, _>>()?;
    // One allocation of the final size (a flattening collect would grow and copy).
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for p in parts {
        out.extend(p);
    }
    Ok(out)
}

/// Reads the six tables.
pub fn load(lake: &Lake) -> Result<Inputs, ReconcileError> {
    let orders = columns::read_table(
        lake,
        &ORDERS,
        &[
            "order_id",
            "created_at",
            "order_total",
            "currency",
            "status",
            "charge_permission_id",
        ],
    )?;
    let orders = convert(&orders, |(p, b)| {
        let (id, created, total, cur, status, perm) = (
            columns::text(p, b, "order_id")?,
            columns::timestamp(p, b, "created_at")?,
            columns::money(p, b, "order_total")?,
            columns::text(p, b, "currency")?,
            columns::text(p, b, "status")?,
            columns::text(p, b, "charge_permission_id")?,
        );
        (0..b.num_rows())
            .map(|i| {
                Ok(Order {
                    id: id.value(i).into(),
                    created: created.value(i),
                    total: total.value(i) as i64,
                    currency: currency(p, cur.value(i))?,
                    cancelled: opt(status, i) == Some("cancelled"),
                    permission: owned(opt(perm, i)),
                })
            })
            .collect()
    })?;
    let charges = columns::read_table(
        lake,
        &CHARGES,
        &[
            "charge_id",
            "charge_permission_id",
            "merchant_reference_id",
            "seller_reference_id",
            "state",
            "capture_amount",
            "currency",
            "creation_timestamp",
            "last_updated_timestamp",
        ],
    )?;
    let charges = convert(&charges, |(p, b)| {
        let (id, perm, mref, sref, state, cap, cur, created, updated) = (
            columns::text(p, b, "charge_id")?,
            columns::text(p, b, "charge_permission_id")?,
            columns::text(p, b, "merchant_reference_id")?,
            columns::text(p, b, "seller_reference_id")?,
            columns::text(p, b, "state")?,
            columns::money(p, b, "capture_amount")?,
            columns::text(p, b, "currency")?,
            columns::timestamp(p, b, "creation_timestamp")?,
            columns::timestamp(p, b, "last_updated_timestamp")?,
        );
        let mut states = Interner::default();
        (0..b.num_rows())
            .map(|i| {
                Ok(Charge {
                    id: id.value(i).into(),
                    permission: perm.value(i).into(),
                    merchant_ref: owned(opt(mref, i)),
                    seller_ref: owned(opt(sref, i)),
                    state: states.get(state.value(i)),
                    capture_amount: opt_value(cap, i).map(|v| v as i64),
                    currency: currency(p, cur.value(i))?,
                    created: created.value(i),
                    updated: updated.value(i),
                })
            })
            .collect()
    })?;
    let refunds = columns::read_table(
        lake,
        &REFUNDS,
        &[
            "refund_id",
            "charge_id",
            "state",
            "refund_amount",
            "currency",
            "last_updated_timestamp",
        ],
    )?;
    let refunds = convert(&refunds, |(p, b)| {
        let (id, charge, state, amount, cur, updated) = (
            columns::text(p, b, "refund_id")?,
            columns::text(p, b, "charge_id")?,
            columns::text(p, b, "state")?,
            columns::money(p, b, "refund_amount")?,
            columns::text(p, b, "currency")?,
            columns::timestamp(p, b, "last_updated_timestamp")?,
        );
        let mut states = Interner::default();
        (0..b.num_rows())
            .map(|i| {
                Ok(Refund {
                    id: id.value(i).into(),
                    charge_id: charge.value(i).into(),
                    state: states.get(state.value(i)),
                    amount: amount.value(i) as i64,
                    currency: currency(p, cur.value(i))?,
                    updated: updated.value(i),
                })
            })
            .collect()
    })?;
    let lines = columns::read_table(
        lake,
        &SETTLEMENT_LINES,
        &[
            "settlement_id",
            "transaction_posted_date",
            "amazon_transaction_id",
            "seller_reference_id",
            "transaction_type",
            "seller_order_id",
            "store_name",
            "currency",
            "transaction_amount",
            "transaction_percentage_fee",
            "transaction_fixed_fee",
            "total_transaction_fee",
            "net_transaction_amount",
            "source_file",
            "source_line",
        ],
    )?;
    let lines = convert(&lines, |(p, b)| {
        let sid = columns::text(p, b, "settlement_id")?;
        let posted = columns::timestamp(p, b, "transaction_posted_date")?;
        let txn = columns::text(p, b, "amazon_transaction_id")?;
        let sref = columns::text(p, b, "seller_reference_id")?;
        let ttype = columns::text(p, b, "transaction_type")?;
        let sorder = columns::text(p, b, "seller_order_id")?;
        let store = columns::text(p, b, "store_name")?;
        let cur = columns::text(p, b, "currency")?;
        let amount = columns::money(p, b, "transaction_amount")?;
        let pct = columns::money(p, b, "transaction_percentage_fee")?;
        let fixed = columns::money(p, b, "transaction_fixed_fee")?;
        let total = columns::money(p, b, "total_transaction_fee")?;
        let net = columns::money(p, b, "net_transaction_amount")?;
        let file = columns::text(p, b, "source_file")?;
        let line = columns::int(p, b, "source_line")?;
        let (mut sids, mut types, mut files, mut stores) = (
            Interner::default(),
            Interner::default(),
            Interner::default(),
            Interner::default(),
        );
        (0..b.num_rows())
            .map(|i| {
                Ok(Line {
                    settlement_id: sids.get(sid.value(i)),
                    posted: posted.value(i),
                    txn_id: owned(opt(txn, i)),
                    seller_ref: owned(opt(sref, i)),
                    ttype: types.get(ttype.value(i)),
                    seller_order: owned(opt(sorder, i)),
                    store: opt(store, i).map(|s| stores.get(s)),
                    currency: currency(p, cur.value(i))?,
                    amount: amount.value(i) as i64,
                    pct_fee: pct.value(i) as i64,
                    fixed_fee: fixed.value(i) as i64,
                    total_fee: total.value(i) as i64,
                    net: net.value(i) as i64,
                    source_file: files.get(file.value(i)),
                    source_line: line.value(i),
                })
            })
            .collect()
    })?;
    let settlements = columns::read_table(
        lake,
        &SETTLEMENTS,
        &["settlement_id", "settlement_start", "settlement_end"],
    )?;
    let settlements = convert(&settlements, |(p, b)| {
        let id = columns::text(p, b, "settlement_id")?;
        let start = columns::timestamp(p, b, "settlement_start")?;
        let end = columns::timestamp(p, b, "settlement_end")?;
        Ok((0..b.num_rows())
            .map(|i| Settlement {
                id: id.value(i).into(),
                start: opt_value(start, i),
                end: opt_value(end, i),
            })
            .collect())
    })?;
    let deposits = columns::read_table(
        lake,
        &DEPOSITS,
        &[
            "bank_transaction_id",
            "booking_date",
            "amount",
            "currency",
            "reference",
        ],
    )?;
    let deposits = convert(&deposits, |(p, b)| {
        let (id, booking, amount, cur, reference) = (
            columns::text(p, b, "bank_transaction_id")?,
            columns::date(p, b, "booking_date")?,
            columns::money(p, b, "amount")?,
            columns::text(p, b, "currency")?,
            columns::text(p, b, "reference")?,
        );
        (0..b.num_rows())
            .map(|i| {
                Ok(Deposit {
                    id: id.value(i).into(),
                    booking: booking.value(i),
                    amount: amount.value(i) as i64,
                    currency: currency(p, cur.value(i))?,
                    reference: owned(opt(reference, i)),
                })
            })
            .collect()
    })?;
    Ok(Inputs {
        orders,
        charges,
        refunds,
        lines,
        settlements,
        deposits,
    })
}
