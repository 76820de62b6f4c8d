//! The reconciliation's inputs, read from the lake into typed records (parallel per file).
//!
//! Text values are [`Text`]: substrings of one shared allocation per column of each Parquet
//! batch, so loading millions of ids allocates a few hundred times, not once per id, and a
//! cloned id is a reference count, not a copy.

use std::path::Path;

use arcstr::ArcStr;
use arrow_array::{Array, RecordBatch, StringArray};
use rayon::prelude::*;

use super::ReconcileError;
use crate::lake::Lake;
use crate::lake::columns::{self, Batch, opt_value};
use crate::model::money::Currency;
use crate::model::schema::{CHARGES, DEPOSITS, ORDERS, REFUNDS, SETTLEMENT_LINES, SETTLEMENTS};
use crate::model::states::{ChargeState, RefundState, TransactionType};

/// A shared, immutable piece of text (an id, a state, a file name).
pub type Text = arcstr::Substr;

#[derive(Debug, Clone)]
pub struct Order {
    pub id: Text,
    pub created: i64,
    /// Lake units (hundredths of the major unit).
    pub total: i64,
    pub currency: Currency,
    pub cancelled: bool,
    pub permission: Option<Text>,
    /// Hash of what the attempt facts read besides the above (country, device).
    pub facts_digest: u64,
}

#[derive(Debug, Clone)]
pub struct Charge {
    pub id: Text,
    pub permission: Text,
    pub merchant_ref: Option<Text>,
    pub seller_ref: Option<Text>,
    pub state: ChargeState,
    pub capture_amount: Option<i64>,
    pub currency: Currency,
    pub created: i64,
    pub updated: i64,
    /// Hash of what the attempt facts read besides the above (state, reason code, amount).
    pub facts_digest: u64,
}

impl Charge {
    pub fn captured(&self) -> bool {
        self.state.is_captured()
    }

    /// Still capturable: `AuthorizationInitiated`, `Authorized` or `CaptureInitiated`.
    pub fn capturable(&self) -> bool {
        self.state.is_capturable()
    }
}

#[derive(Debug, Clone)]
pub struct Refund {
    pub id: Text,
    pub charge_id: Text,
    pub state: RefundState,
    pub amount: i64,
    pub currency: Currency,
    /// Creation time (µs): the refund's lake partition.
    pub created: i64,
    pub updated: i64,
}

#[derive(Debug, Clone)]
pub struct Line {
    pub settlement_id: Text,
    pub posted: i64,
    pub txn_id: Option<Text>,
    pub seller_ref: Option<Text>,
    pub ttype: TransactionType,
    pub seller_order: Option<Text>,
    pub store: Option<Text>,
    pub currency: Currency,
    pub amount: i64,
    pub pct_fee: i64,
    pub fixed_fee: i64,
    pub total_fee: i64,
    pub net: i64,
    pub source_file: Text,
    pub source_line: i64,
}

impl Line {
    /// The line with its texts copied: it keeps none of its batch's shared buffers alive.
    pub fn detached(&self) -> Line {
        let own = |t: &Text| Text::from(&**t);
        Line {
            settlement_id: own(&self.settlement_id),
            txn_id: self.txn_id.as_ref().map(own),
            seller_ref: self.seller_ref.as_ref().map(own),
            seller_order: self.seller_order.as_ref().map(own),
            store: self.store.as_ref().map(own),
            source_file: own(&self.source_file),
            ..*self
        }
    }

    /// The line's id in results: its `AmazonTransactionId`, else `SettlementId:line`.
    pub fn item_id(&self) -> Text {
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
    pub id: Text,
    pub start: Option<i64>,
    pub end: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Deposit {
    pub id: Text,
    /// Booking date, days since the epoch.
    pub booking: i32,
    pub amount: i64,
    pub currency: Currency,
    pub reference: Option<Text>,
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

/// A text column of one batch with all its values copied into one allocation; each value is a
/// substring of it.
pub(crate) struct Shared<'a> {
    array: &'a StringArray,
    text: ArcStr,
    base: usize,
}

impl<'a> Shared<'a> {
    pub(crate) fn new(path: &Path, b: &'a RecordBatch, name: &str) -> Result<Self, ReconcileError> {
        let array = columns::text(path, b, name)?;
        let offsets = array.value_offsets();
        let (base, end) = (offsets[0] as usize, offsets[array.len()] as usize);
        // Every value is UTF-8, so their concatenation is too.
        let text = std::str::from_utf8(&array.value_data()[base..end])
            .map(ArcStr::from)
            .map_err(|e| {
                crate::lake::LakeError::corrupt(path, format!("column {name} is not UTF-8: {e}"))
            })?;
        Ok(Self { array, text, base })
    }

    pub(crate) fn get(&self, i: usize) -> Text {
        let o = self.array.value_offsets();
        self.text
            .substr(o[i] as usize - self.base..o[i + 1] as usize - self.base)
    }

    /// `None` when null or empty (as [`columns::opt`]).
    pub(crate) fn opt(&self, i: usize) -> Option<Text> {
        let o = self.array.value_offsets();
        (self.array.is_valid(i) && o[i] != o[i + 1]).then(|| self.get(i))
    }
}

/// Every row's value of a closed set (a currency, a state, a type), parsed once per run of
/// equal values.
fn codes<T: Copy>(
    path: &Path,
    b: &RecordBatch,
    name: &str,
    parse: impl Fn(&str) -> Result<T, crate::lake::LakeError>,
) -> Result<Vec<T>, ReconcileError> {
    let a = columns::text(path, b, name)?;
    let mut out = Vec::with_capacity(a.len());
    let mut last: Option<(&str, T)> = None;
    for i in 0..a.len() {
        let text = a.value(i);
        let v = match last {
            Some((t, v)) if t == text => v,
            _ => parse(text)?,
        };
        last = Some((text, v));
        out.push(v);
    }
    Ok(out)
}

/// Every row's state (or type), checked: the lake holds only values ingest accepted, so one
/// `parse` refuses is a corrupt lake.
fn states<T: Copy>(
    path: &Path,
    b: &RecordBatch,
    name: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<Vec<T>, ReconcileError> {
    codes(path, b, name, |text| {
        parse(text).ok_or_else(|| {
            crate::lake::LakeError::corrupt(
                path,
                format!("column {name} holds {text:?}, which no ingest writes"),
            )
        })
    })
}

/// Every row's currency, checked (the lake holds only supported ones).
fn currencies(path: &Path, b: &RecordBatch, name: &str) -> Result<Vec<Currency>, ReconcileError> {
    codes(path, b, name, |code| columns::currency(path, code))
}

/// Converts every batch's rows into records, in parallel, straight into one vector of the final
/// size: `prepare` checks and readies a batch's columns, `row` builds one record.
fn convert<'b, P: Sync + Send, T: Send>(
    batches: &'b [Batch],
    prepare: impl Fn(&'b Path, &'b RecordBatch) -> Result<P, ReconcileError> + Sync + Send,
    row: impl Fn(&P, usize) -> T + Sync + Send,
) -> Result<Vec<T>, ReconcileError> {
    let mut out = Vec::new();
    convert_into(batches, prepare, row, &mut out)?;
    Ok(out)
}

/// [`convert`], appending to `out` (in place, in parallel).
fn convert_into<'b, P: Sync + Send, T: Send>(
    batches: &'b [Batch],
    prepare: impl Fn(&'b Path, &'b RecordBatch) -> Result<P, ReconcileError> + Sync + Send,
    row: impl Fn(&P, usize) -> T + Sync + Send,
    out: &mut Vec<T>,
) -> Result<(), ReconcileError> {
    let prepared: Vec<P> = batches
        .par_iter()
        .map(|(p, b)| prepare(p, b))
        .collect::<Result<_, _>>()?;
    let mut starts = Vec::with_capacity(batches.len() + 1);
    starts.push(0usize);
    for (_, b) in batches {
        starts.push(starts[starts.len() - 1] + b.num_rows());
    }
    let total = starts[starts.len() - 1];
    out.par_extend((0..total).into_par_iter().map(|g| {
        let k = starts.partition_point(|&s| s <= g) - 1;
        row(&prepared[k], g - starts[k])
    }));
    Ok(())
}

/// Reads the six tables (each table's Parquet batches are freed once its records are built).
pub fn load(lake: &Lake) -> Result<Inputs, ReconcileError> {
    let orders = columns::read_table(lake, &ORDERS, ORDER_COLUMNS)?;
    let charges = columns::read_table(lake, &CHARGES, CHARGE_COLUMNS)?;
    load_with(lake, orders, charges)
}

/// [`load`], with the `orders` and `charges` batches already read (at least [`ORDER_COLUMNS`]
/// and [`CHARGE_COLUMNS`]; others are ignored), as the nightly run does to read them once for
/// the facts and the reconciliation.
pub fn load_with(
    lake: &Lake,
    orders: Vec<Batch>,
    charges: Vec<Batch>,
) -> Result<Inputs, ReconcileError> {
    Ok(Inputs {
        orders: load_orders(orders)?,
        charges: load_charges(charges)?,
        refunds: load_refunds(columns::read_table(lake, &REFUNDS, REFUND_COLUMNS)?)?,
        lines: load_lines(columns::read_table(lake, &SETTLEMENT_LINES, LINE_COLUMNS)?)?,
        settlements: load_settlements(lake)?,
        deposits: load_deposits(lake)?,
    })
}

/// The columns of `orders` the reconciliation reads.
pub const ORDER_COLUMNS: &[&str] = &[
    "order_id",
    "created_at",
    "order_total",
    "currency",
    "status",
    "charge_permission_id",
    "country",
    "device",
];

/// The columns of `charges` the reconciliation reads.
pub const CHARGE_COLUMNS: &[&str] = &[
    "charge_id",
    "charge_permission_id",
    "merchant_reference_id",
    "seller_reference_id",
    "state",
    "capture_amount",
    "currency",
    "creation_timestamp",
    "last_updated_timestamp",
    "reason_code",
    "charge_amount",
];

fn load_orders(batches: Vec<Batch>) -> Result<Vec<Order>, ReconcileError> {
    convert(
        &batches,
        |p, b| {
            Ok((
                Shared::new(p, b, "order_id")?,
                columns::timestamp(p, b, "created_at")?,
                columns::money(p, b, "order_total")?,
                currencies(p, b, "currency")?,
                columns::text(p, b, "status")?,
                Shared::new(p, b, "charge_permission_id")?,
                (
                    columns::text(p, b, "country")?,
                    columns::text(p, b, "device")?,
                ),
            ))
        },
        |(id, created, total, cur, status, perm, (country, device)), i| Order {
            id: id.get(i),
            created: created.value(i),
            total: total.value(i) as i64,
            currency: cur[i],
            cancelled: columns::opt(status, i) == Some("cancelled"),
            permission: perm.opt(i),
            facts_digest: facts_digest(&[
                country.is_valid(i).then(|| country.value(i).as_bytes()),
                device.is_valid(i).then(|| device.value(i).as_bytes()),
            ]),
        },
    )
}

fn load_charges(batches: Vec<Batch>) -> Result<Vec<Charge>, ReconcileError> {
    convert(
        &batches,
        |p, b| {
            Ok((
                (
                    Shared::new(p, b, "charge_id")?,
                    Shared::new(p, b, "charge_permission_id")?,
                    Shared::new(p, b, "merchant_reference_id")?,
                    Shared::new(p, b, "seller_reference_id")?,
                    states(p, b, "state", ChargeState::parse)?,
                ),
                columns::money(p, b, "capture_amount")?,
                currencies(p, b, "currency")?,
                columns::timestamp(p, b, "creation_timestamp")?,
                columns::timestamp(p, b, "last_updated_timestamp")?,
                (
                    columns::text(p, b, "reason_code")?,
                    columns::money(p, b, "charge_amount")?,
                ),
            ))
        },
        |((id, perm, mref, sref, state), cap, cur, created, updated, (reason, amount)), i| Charge {
            id: id.get(i),
            permission: perm.get(i),
            merchant_ref: mref.opt(i),
            seller_ref: sref.opt(i),
            state: state[i],
            capture_amount: opt_value(*cap, i).map(|v| v as i64),
            currency: cur[i],
            created: created.value(i),
            updated: updated.value(i),
            facts_digest: facts_digest(&[
                Some(state[i].as_str().as_bytes()),
                reason.is_valid(i).then(|| reason.value(i).as_bytes()),
                opt_value(*amount, i)
                    .map(|v| v.to_le_bytes())
                    .as_ref()
                    .map(|b| &b[..]),
            ]),
        },
    )
}

/// A hash of the values the attempt facts read of a row besides those the reconciliation
/// reads: a row whose digest changes touches its component ([`super::components`]).
fn facts_digest(values: &[Option<&[u8]>]) -> u64 {
    values
        .iter()
        .fold(crate::state::digest::Fields::new(0), |h, v| h.bytes(*v))
        .finish()
}

/// The columns of `refunds` the reconciliation reads.
pub const REFUND_COLUMNS: &[&str] = &[
    "refund_id",
    "charge_id",
    "state",
    "refund_amount",
    "currency",
    "creation_timestamp",
    "last_updated_timestamp",
];

fn load_refunds(batches: Vec<Batch>) -> Result<Vec<Refund>, ReconcileError> {
    convert(
        &batches,
        |p, b| {
            Ok((
                Shared::new(p, b, "refund_id")?,
                Shared::new(p, b, "charge_id")?,
                states(p, b, "state", RefundState::parse)?,
                columns::money(p, b, "refund_amount")?,
                currencies(p, b, "currency")?,
                columns::timestamp(p, b, "creation_timestamp")?,
                columns::timestamp(p, b, "last_updated_timestamp")?,
            ))
        },
        |(id, charge, state, amount, cur, created, updated), i| Refund {
            id: id.get(i),
            charge_id: charge.get(i),
            state: state[i],
            amount: amount.value(i) as i64,
            currency: cur[i],
            created: created.value(i),
            updated: updated.value(i),
        },
    )
}

/// The columns of `settlement_lines` the reconciliation reads.
pub const LINE_COLUMNS: &[&str] = &[
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
];

fn load_lines(batches: Vec<Batch>) -> Result<Vec<Line>, ReconcileError> {
    convert(
        &batches,
        |p, b| {
            Ok((
                (
                    Shared::new(p, b, "settlement_id")?,
                    Shared::new(p, b, "amazon_transaction_id")?,
                    Shared::new(p, b, "seller_reference_id")?,
                    states(p, b, "transaction_type", |t| {
                        Some(TransactionType::parse(t))
                    })?,
                    Shared::new(p, b, "seller_order_id")?,
                    Shared::new(p, b, "store_name")?,
                    Shared::new(p, b, "source_file")?,
                ),
                (
                    columns::money(p, b, "transaction_amount")?,
                    columns::money(p, b, "transaction_percentage_fee")?,
                    columns::money(p, b, "transaction_fixed_fee")?,
                    columns::money(p, b, "total_transaction_fee")?,
                    columns::money(p, b, "net_transaction_amount")?,
                ),
                columns::timestamp(p, b, "transaction_posted_date")?,
                currencies(p, b, "currency")?,
                columns::int(p, b, "source_line")?,
            ))
        },
        |(
            (sid, txn, sref, ttype, sorder, store, file),
            (amount, pct, fixed, total, net),
            posted,
            cur,
            line,
        ),
         i| Line {
            settlement_id: sid.get(i),
            posted: posted.value(i),
            txn_id: txn.opt(i),
            seller_ref: sref.opt(i),
            ttype: ttype[i],
            seller_order: sorder.opt(i),
            store: store.opt(i),
            currency: cur[i],
            amount: amount.value(i) as i64,
            pct_fee: pct.value(i) as i64,
            fixed_fee: fixed.value(i) as i64,
            total_fee: total.value(i) as i64,
            net: net.value(i) as i64,
            source_file: file.get(i),
            source_line: line.value(i),
        },
    )
}

/// The columns of `settlement_lines` that the settlement-wide layers and the month-close pack
/// read (see [`load_line_heads`]).
pub const LINE_HEAD_COLUMNS: &[&str] = &[
    "settlement_id",
    "transaction_posted_date",
    "transaction_type",
    "store_name",
    "currency",
    "transaction_amount",
    "total_transaction_fee",
    "net_transaction_amount",
    "source_line",
];

/// Every settlement line with only what the settlement-wide layers (balances, payouts) and the
/// month-close pack read: the ids, references, fee parts and source file are left empty, which
/// saves most of the work of [`load`]'s lines. Lake order, as [`load`].
///
/// The files are read a few at a time, each few's Parquet batches freed once their lines are
/// built: the next few reuse that memory rather than every file's batches being fresh memory at
/// once (each fresh page is a fault, a good part of reading them).
pub fn load_line_heads(lake: &Lake) -> Result<Vec<Line>, ReconcileError> {
    let files = lake.table_files(&SETTLEMENT_LINES)?;
    let mut out = Vec::new();
    for few in files.chunks(2 * rayon::current_num_threads()) {
        let batches = columns::read_files(few, LINE_HEAD_COLUMNS)?;
        line_heads_into(&batches, &mut out)?;
    }
    Ok(out)
}

/// The lines of `batches` (at least [`LINE_HEAD_COLUMNS`]) with only their heads (see
/// [`load_line_heads`]).
pub(crate) fn line_heads(batches: &[Batch]) -> Result<Vec<Line>, ReconcileError> {
    let mut out = Vec::new();
    line_heads_into(batches, &mut out)?;
    Ok(out)
}

/// The lines of `batches` with only their heads (see [`load_line_heads`]), appended to `out`.
fn line_heads_into(batches: &[Batch], out: &mut Vec<Line>) -> Result<(), ReconcileError> {
    let empty = Text::default();
    convert_into(
        batches,
        |p, b| {
            Ok((
                (
                    Shared::new(p, b, "settlement_id")?,
                    states(p, b, "transaction_type", |t| {
                        Some(TransactionType::parse(t))
                    })?,
                    Shared::new(p, b, "store_name")?,
                ),
                (
                    columns::money(p, b, "transaction_amount")?,
                    columns::money(p, b, "total_transaction_fee")?,
                    columns::money(p, b, "net_transaction_amount")?,
                ),
                columns::timestamp(p, b, "transaction_posted_date")?,
                currencies(p, b, "currency")?,
                columns::int(p, b, "source_line")?,
            ))
        },
        |((sid, ttype, store), (amount, total, net), posted, cur, line), i| Line {
            settlement_id: sid.get(i),
            posted: posted.value(i),
            txn_id: None,
            seller_ref: None,
            ttype: ttype[i],
            seller_order: None,
            store: store.opt(i),
            currency: cur[i],
            amount: amount.value(i) as i64,
            pct_fee: 0,
            fixed_fee: 0,
            total_fee: total.value(i) as i64,
            net: net.value(i) as i64,
            source_file: empty.clone(),
            source_line: line.value(i),
        },
        out,
    )
}

/// What a night reads of the four item tables: the rows loaded after the mark, and the whole
/// files that held them (kept, so that [`NightReads::members`] reads no file twice).
pub struct NightReads {
    /// The rows loaded after the mark; settlements and deposits left empty.
    pub changed: Inputs,
    /// The greatest `file_seq` of the four tables (at least the mark).
    pub newest_seq: i64,
    /// The files read whole, per table (orders, charges, refunds, lines).
    files: [Vec<Batch>; 4],
}

const ITEM_TABLES: [(&crate::model::schema::TableDef, &[&str]); 4] = [
    (&ORDERS, ORDER_COLUMNS),
    (&CHARGES, CHARGE_COLUMNS),
    (&REFUNDS, REFUND_COLUMNS),
    (&SETTLEMENT_LINES, LINE_COLUMNS),
];

/// The rows of the four item tables loaded after `mark` (`file_seq` greater).
pub fn load_changed(lake: &Lake, mark: i64) -> Result<NightReads, ReconcileError> {
    let mut files: [Vec<Batch>; 4] = Default::default();
    let mut newest_seq = mark;
    for (i, (table, cols)) in ITEM_TABLES.iter().enumerate() {
        let (batches, newest) = columns::read_changed_files(lake, table, cols, mark)?;
        newest_seq = newest_seq.max(newest);
        files[i] = batches;
    }
    let changed = Inputs {
        orders: load_orders(columns::rows_since(&files[0], mark)?)?,
        charges: load_charges(columns::rows_since(&files[1], mark)?)?,
        refunds: load_refunds(columns::rows_since(&files[2], mark)?)?,
        lines: load_lines(columns::rows_since(&files[3], mark)?)?,
        settlements: vec![],
        deposits: vec![],
    };
    Ok(NightReads {
        changed,
        newest_seq,
        files,
    })
}

/// Which rows of a batch of item table `t` to keep.
pub type Keep<'a> = dyn Fn(usize, &Path, &RecordBatch) -> Result<arrow_array::BooleanArray, crate::lake::LakeError>
    + Sync
    + 'a;

/// The `orders` and `charges` batches of the attempt facts.
pub type FactBatches = (Vec<Batch>, Vec<Batch>);

impl NightReads {
    /// The rows of the partitions `days[t]` of each item table `t` that `keep(t, path, batch)`
    /// marks, in lake order: files already read are not read again. Settlements and deposits
    /// are left empty. Also returns the batches of the orders and charges kept (with the
    /// attempt facts' columns).
    pub fn members(
        self,
        lake: &Lake,
        days: &[Vec<i32>; 4],
        keep: &Keep<'_>,
    ) -> Result<(Inputs, FactBatches), ReconcileError> {
        use std::collections::HashMap;
        let mut out: [Vec<Batch>; 4] = Default::default();
        for (t, kept) in self.files.into_iter().enumerate() {
            let (table, cols) = ITEM_TABLES[t];
            let mut have: HashMap<std::path::PathBuf, Vec<Batch>> = HashMap::new();
            for (p, b) in kept {
                have.entry(p.clone()).or_default().push((p, b));
            }
            let paths: Vec<std::path::PathBuf> = days[t]
                .iter()
                .map(|&d| lake.root().join(Lake::partition_file(table, d)))
                .collect();
            let missing: Vec<std::path::PathBuf> = paths
                .iter()
                .filter(|p| !have.contains_key(*p) && p.exists())
                .cloned()
                .collect();
            for (p, b) in columns::read_files(&missing, cols)? {
                have.entry(p.clone()).or_default().push((p, b));
            }
            let batches: Vec<Batch> = paths
                .iter()
                .filter_map(|p| have.remove(p))
                .flatten()
                .collect();
            out[t] = batches
                .into_par_iter()
                .map(|(p, b)| {
                    let mask = keep(t, &p, &b)?;
                    let b = arrow_select::filter::filter_record_batch(&b, &mask)
                        .map_err(|e| crate::lake::LakeError::corrupt(&p, e.to_string()))?;
                    Ok((p, b))
                })
                .collect::<Result<Vec<Batch>, ReconcileError>>()?;
        }
        let [o, c, r, l] = out;
        let batches = (o.clone(), c.clone());
        let inputs = Inputs {
            orders: load_orders(o)?,
            charges: load_charges(c)?,
            refunds: load_refunds(r)?,
            lines: load_lines(l)?,
            settlements: vec![],
            deposits: vec![],
        };
        Ok((inputs, batches))
    }
}

/// The settlements and deposits (both small), read whole.
pub fn load_settlements_and_deposits(
    lake: &Lake,
) -> Result<(Vec<Settlement>, Vec<Deposit>), ReconcileError> {
    Ok((load_settlements(lake)?, load_deposits(lake)?))
}

fn load_settlements(lake: &Lake) -> Result<Vec<Settlement>, ReconcileError> {
    let batches = columns::read_table(
        lake,
        &SETTLEMENTS,
        &["settlement_id", "settlement_start", "settlement_end"],
    )?;
    convert(
        &batches,
        |p, b| {
            Ok((
                Shared::new(p, b, "settlement_id")?,
                columns::timestamp(p, b, "settlement_start")?,
                columns::timestamp(p, b, "settlement_end")?,
            ))
        },
        |(id, start, end), i| Settlement {
            id: id.get(i),
            start: opt_value(*start, i),
            end: opt_value(*end, i),
        },
    )
}

fn load_deposits(lake: &Lake) -> Result<Vec<Deposit>, ReconcileError> {
    let batches = columns::read_table(
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
    convert(
        &batches,
        |p, b| {
            Ok((
                Shared::new(p, b, "bank_transaction_id")?,
                columns::date(p, b, "booking_date")?,
                columns::money(p, b, "amount")?,
                currencies(p, b, "currency")?,
                Shared::new(p, b, "reference")?,
            ))
        },
        |(id, booking, amount, cur, reference), i| Deposit {
            id: id.get(i),
            booking: booking.value(i),
            amount: amount.value(i) as i64,
            currency: cur[i],
            reference: reference.opt(i),
        },
    )
}

/// The batches of item table `table` (0 orders, 1 charges, 2 refunds, 3 settlement lines)
/// with the columns its records read, a few files at a time, in lake order (as [`load`] reads
/// them): `each(first, batches)` gets each few, `first` being the table's row number of their
/// first row, before the next few are read.
pub(crate) fn read_item_batches(
    lake: &Lake,
    table: usize,
    each: &mut dyn FnMut(usize, Vec<Batch>) -> Result<(), ReconcileError>,
) -> Result<(), ReconcileError> {
    let (def, cols) = ITEM_TABLES[table];
    let files = lake.table_files(def)?;
    let mut first = 0usize;
    for few in files.chunks(2 * rayon::current_num_threads()) {
        let batches = columns::read_files(few, cols)?;
        let n: usize = batches.iter().map(|(_, b)| b.num_rows()).sum();
        each(first, batches)?;
        first += n;
    }
    Ok(())
}

/// The records of item table `table`'s `batches` (only that table filled).
pub(crate) fn item_records(table: usize, batches: Vec<Batch>) -> Result<Inputs, ReconcileError> {
    let mut inputs = Inputs::default();
    match table {
        0 => inputs.orders = load_orders(batches)?,
        1 => inputs.charges = load_charges(batches)?,
        2 => inputs.refunds = load_refunds(batches)?,
        _ => inputs.lines = load_lines(batches)?,
    }
    Ok(inputs)
}
