//! The month-close pack (`spec/reconciliation.md`, "Outputs"): per currency, the roll-forward of
//! the Amazon Pay balance, captures and deposits in transit at month end, the exceptions open at
//! month end with ageing, and ledger totals.
//!
//! A settlement line belongs to the month (in the merchant's time zone) of its
//! `TransactionPostedDate`; a `Transfer` line is posted at its settlement's end.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, TimeZone};
use rustc_hash::FxHashMap;

use super::load::Inputs;
use super::load::Text;
use super::{Counterparts, ItemType, Reconciliation, ResultRow, Status};
use crate::model::money::Currency;
use crate::model::states::TransactionType;

/// One month in the merchant's time zone.
#[derive(Debug, Clone, Copy)]
pub struct Month {
    pub year: i32,
    pub month: u32,
    /// First instant (µs) of the month and of the next one.
    pub start: i64,
    pub end: i64,
}

impl Month {
    /// Parses `YYYY-MM` in `tz`.
    pub fn parse(text: &str, tz: chrono_tz::Tz) -> Option<Month> {
        let first = NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d").ok()?;
        let next = first.checked_add_months(chrono::Months::new(1))?;
        let instant = |d: NaiveDate| {
            tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
                .earliest()
                .map(|t| crate::model::time::to_micros(t.with_timezone(&chrono::Utc)))
        };
        Some(Month {
            year: first.year(),
            month: first.month(),
            start: instant(first)?,
            end: instant(next)?,
        })
    }

    pub fn label(&self) -> String {
        format!("{}-{:02}", self.year, self.month)
    }

    pub fn contains(&self, ts: i64) -> bool {
        ts >= self.start && ts < self.end
    }
}

/// The roll-forward figures of one currency; amounts in lake units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollForward {
    pub opening: (i64, u64),
    pub captures: (i64, u64),
    pub refunds: (i64, u64),
    pub chargebacks: (i64, u64),
    pub adjustments: (i64, u64),
    pub fees: (i64, u64),
    /// Σ (net − amount − fee) of lines whose arithmetic does not add up (normally 0).
    pub arithmetic: (i64, u64),
    /// Paid out to the bank (a positive figure, subtracted).
    pub transfers_out: (i64, u64),
    pub closing: (i64, u64),
}

impl RollForward {
    /// opening + activity − transfers out, which must equal the closing balance.
    pub fn computed_closing(&self) -> i64 {
        self.opening.0
            + self.captures.0
            + self.refunds.0
            + self.chargebacks.0
            + self.adjustments.0
            + self.fees.0
            + self.arithmetic.0
            - self.transfers_out.0
    }

    pub fn ties(&self) -> bool {
        self.computed_closing() == self.closing.0
    }

    /// (name, amount, lines) in roll-forward order.
    pub fn figures(&self) -> [(&'static str, (i64, u64)); 9] {
        [
            ("opening_balance", self.opening),
            ("captures", self.captures),
            ("refunds", self.refunds),
            ("chargebacks_and_claims", self.chargebacks),
            ("adjustments", self.adjustments),
            ("fees", self.fees),
            ("arithmetic_differences", self.arithmetic),
            ("transfers_out", self.transfers_out),
            ("closing_balance", self.closing),
        ]
    }
}

/// Ledger totals of one currency for the month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    pub gross_captured: i64,
    pub refunds: i64,
    pub fees: i64,
    /// Σ net of the month's lines other than transfers.
    pub net_settled: i64,
    pub paid_out: i64,
    /// Σ transfers that reached the bank in the month: booked by the bank (or, when it booked
    /// one before the settlement ended, at that end).
    pub deposited: i64,
    /// Σ transfers made before the month that had not reached the bank at its start.
    pub in_transit_opening: i64,
    /// Σ transfers made by the month's end that had not reached the bank by then: the
    /// `deposit` rows of [`ClosePack::in_transit`].
    pub in_transit_closing: i64,
}

impl Ledger {
    /// Deposits in transit at the start + paid out − deposited, which must equal
    /// [`Self::in_transit_closing`].
    pub fn computed_in_transit(&self) -> i64 {
        self.in_transit_opening + self.paid_out - self.deposited
    }

    pub fn ties(&self) -> bool {
        self.computed_in_transit() == self.in_transit_closing
    }
}

/// Something in transit at month end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InTransit {
    /// `capture` (captured in the month, settled later or not yet) or `deposit` (paid out in
    /// the month, booked by the bank later or not yet).
    pub kind: &'static str,
    pub currency: Currency,
    pub item_id: Text,
    pub amount: i64,
    /// Capture time or settlement end (µs).
    pub date: i64,
    /// When it arrived, if it has: the line's posting time or the deposit's booking date (µs).
    pub arrived: Option<i64>,
    pub counterpart: Counterparts,
}

/// One settlement period that ended in the month, with its activity and both checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementSummary {
    pub id: Text,
    /// `StoreName` of its lines (`;`-separated when several).
    pub stores: String,
    pub currency: Currency,
    /// Header `SettlementStartDate` (µs), when the report had one.
    pub start: Option<i64>,
    /// Header `SettlementEndDate`, else the last posting (µs).
    pub end: i64,
    pub lines: u64,
    pub captures: i64,
    pub refunds: i64,
    pub fees: i64,
    /// Chargebacks, claims, adjustments and other lines (amounts).
    pub other: i64,
    /// Paid out by the `Transfer` line(s) (positive).
    pub paid_out: i64,
    /// Σ net of all lines: 0 when the settlement balances.
    pub net: i64,
    /// Layer 3: `settlement_balanced` or `settlement_imbalance`.
    pub balance_status: Status,
    /// Layer 4: `deposited`, `deposit_in_transit`, `missing_deposit`, ... or `no_payout`.
    pub payout_status: Option<Status>,
    /// The bank deposit that paid it out, if any.
    pub deposit: Counterparts,
}

/// The pack.
#[derive(Debug, Clone)]
pub struct ClosePack {
    pub month: Month,
    pub roll_forward: BTreeMap<&'static str, RollForward>,
    pub ledger: BTreeMap<&'static str, Ledger>,
    pub in_transit: Vec<InTransit>,
    /// Exceptions on items dated before the month's end, aged at month end.
    pub exceptions: Vec<ResultRow>,
    /// Settlements that ended in the month, by end then id.
    pub settlements: Vec<SettlementSummary>,
    /// Layer-4 results dated in the month (payouts and Amazon Pay deposits; bank lines that are
    /// no Amazon Pay payout are left out), by date, type and id, each with the bank's reference
    /// text of its deposit.
    pub payouts: Vec<(ResultRow, Option<Text>)>,
}

impl ClosePack {
    /// Both ties hold in every currency: the balance roll-forward and the deposits in transit.
    pub fn ties(&self) -> bool {
        self.roll_forward.values().all(RollForward::ties) && self.ledger.values().all(Ledger::ties)
    }
}

fn category(ttype: TransactionType) -> u8 {
    use TransactionType as T;
    match ttype {
        T::Capture => 0,
        T::Refund => 1,
        T::Chargeback | T::AtoZGuaranteeClaim | T::Dispute => 2,
        T::Transfer => 4,
        _ => 3,
    }
}

/// A settlement line as the month packs add it up: the month it counts in, its settlement's
/// number, currency, category and amounts. Every month's pack walks all lines; comparing their
/// type and currency texts and hashing their settlement ids each time was most of its cost.
#[derive(Debug, Clone, Copy)]
struct LineFact {
    /// When it counts: a transfer at its settlement's end, any other line when posted.
    effective: i64,
    settlement: u32,
    currency: Currency,
    category: u8,
    amount: i64,
    total_fee: i64,
    net: i64,
}

/// Numbers the settlements of `lines` in order of first appearance: the numbers, and each
/// line's. A settlement's lines come together, so only a change of settlement is looked up.
fn settlement_numbers(lines: &[super::load::Line]) -> (FxHashMap<&str, u32>, Vec<u32>) {
    let mut numbers: FxHashMap<&str, u32> = FxHashMap::default();
    let mut last: Option<(&str, u32)> = None;
    let of = lines
        .iter()
        .map(|l| match last {
            Some((s, n)) if s == &*l.settlement_id => n,
            _ => {
                let next = numbers.len() as u32;
                let n = *numbers.entry(&*l.settlement_id).or_insert(next);
                last = Some((&l.settlement_id, n));
                n
            }
        })
        .collect();
    (numbers, of)
}

/// Per-currency accumulators, by `Currency as usize`, into a map by code (the packs' order).
fn by_code<T>(items: [Option<T>; Currency::ALL.len()]) -> BTreeMap<&'static str, T> {
    Currency::ALL
        .into_iter()
        .zip(items)
        .filter_map(|(c, v)| Some((c.code(), v?)))
        .collect()
}

/// The lookups every month's pack uses, built once (in parallel) for all the months of a run.
pub struct CloseIndex<'a> {
    /// Settlement start by settlement id.
    starts: FxHashMap<&'a str, Option<i64>>,
    /// Posting time of each line.
    arrivals: std::borrow::Cow<'a, Arrivals>,
    /// Booking time of each deposit.
    booking: FxHashMap<&'a str, i64>,
    /// Bank reference of each deposit.
    references: FxHashMap<&'a str, &'a Text>,
    /// The settlement lines (whole or heads).
    lines: &'a [super::load::Line],
    /// What the packs add up of each line (beside `lines`), decoded once for every month.
    facts: Vec<LineFact>,
    /// The number of each settlement with lines (`LineFact::settlement`).
    numbers: FxHashMap<&'a str, u32>,
    /// The layer-4 row of each settlement.
    payout: FxHashMap<&'a str, &'a ResultRow>,
    /// The rows a pack reads, so that a month does not scan every row: layer-2 charges (sorted
    /// by date), layer-3 settlements, layer 4, exceptions (each in the results' order).
    charges: Vec<&'a ResultRow>,
    settlement_rows: Vec<&'a ResultRow>,
    layer4: Vec<&'a ResultRow>,
    exceptions: Vec<&'a ResultRow>,
}

impl<'a> CloseIndex<'a> {
    pub fn new(inputs: &'a Inputs, rec: &'a Reconciliation) -> Self {
        Self::from_parts(
            &inputs.lines,
            std::borrow::Cow::Owned(Arrivals::new(&inputs.lines)),
            &inputs.settlements,
            &inputs.deposits,
            rec.rows.iter(),
        )
    }

    /// The lookups from the lines (whole, or only their heads: see
    /// [`super::load::load_line_heads`]) and their [`Arrivals`], settlements, deposits and the
    /// reconciliation's rows, of which only the settlement-wide rows and those
    /// [`Arrivals::reads_item_row`] accepts are read: any superset of them gives the same packs.
    pub fn from_parts(
        lines: &'a [super::load::Line],
        arrivals: std::borrow::Cow<'a, Arrivals>,
        settlements: &'a [super::load::Settlement],
        deposits: &'a [super::load::Deposit],
        rec_rows: impl Iterator<Item = &'a ResultRow> + Send,
    ) -> Self {
        use rayon::prelude::*;
        let ((payout, rows), ((ends, starts), (booking, references))) = rayon::join(
            || {
                let mut payout: FxHashMap<&str, &ResultRow> = FxHashMap::default();
                let mut rows = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for r in rec_rows {
                    match (r.layer, r.item_type) {
                        (2, ItemType::Charge) => rows.0.push(r),
                        (3, ItemType::Settlement) => rows.1.push(r),
                        (4, t) => {
                            if t == ItemType::Settlement {
                                payout.entry(&*r.item_id).or_insert(r);
                            }
                            rows.2.push(r);
                        }
                        _ => {}
                    }
                    if r.is_exception() {
                        rows.3.push(r);
                    }
                }
                rows.0.par_sort_by_key(|r| r.item_ts);
                (payout, rows)
            },
            || {
                let s = settlements;
                let d = deposits;
                (
                    (
                        s.iter().filter_map(|s| Some((&*s.id, s.end?))).collect(),
                        s.iter().map(|s| (&*s.id, s.start)).collect(),
                    ),
                    (
                        d.iter()
                            .map(|d| (&*d.id, d.booking as i64 * 86_400_000_000))
                            .collect(),
                        d.iter()
                            .filter_map(|d| Some((&*d.id, d.reference.as_ref()?)))
                            .collect(),
                    ),
                )
            },
        );
        let ends: FxHashMap<&str, i64> = ends;
        let (numbers, settlement_of) = settlement_numbers(lines);
        let facts: Vec<LineFact> = lines
            .par_iter()
            .zip(settlement_of)
            .map(|(l, settlement)| {
                let category = category(l.ttype);
                LineFact {
                    effective: if category == 4 {
                        ends.get(&*l.settlement_id).copied().unwrap_or(l.posted)
                    } else {
                        l.posted
                    },
                    settlement,
                    currency: l.currency,
                    category,
                    amount: l.amount,
                    total_fee: l.total_fee,
                    net: l.net,
                }
            })
            .collect();
        CloseIndex {
            lines,
            facts,
            numbers,
            starts,
            arrivals,
            booking,
            references,
            payout,
            charges: rows.0,
            settlement_rows: rows.1,
            layer4: rows.2,
            exceptions: rows.3,
        }
    }
}

/// When each settlement line was posted, by (settlement, line): when a counterpart arrived.
/// Built once a run and shared by the incremental state's filter and every month's pack.
///
/// The lines' numbers and times are kept ordered by (settlement, line), each settlement's
/// a range found by its number: a binary search, and no hash table of every line to build.
/// Of two lines with the same settlement and number, the later in lake order counts.
#[derive(Debug, Clone, Default)]
pub struct Arrivals {
    settlements: FxHashMap<String, u32>,
    /// Where each settlement's lines begin in `line` and `posted` (one more entry at the end).
    starts: Vec<u32>,
    line: Vec<i64>,
    posted: Vec<i64>,
}

impl Arrivals {
    pub fn new(lines: &[super::load::Line]) -> Self {
        use rayon::prelude::*;
        let (numbers, settlement_of) = settlement_numbers(lines);
        // Lake order is usually (settlement, line) order already: a settlement's lines come
        // together, numbered in order of first appearance, in the order of their file.
        let ordered = (1..lines.len()).all(|i| {
            let (a, b) = (settlement_of[i - 1], settlement_of[i]);
            a < b || (a == b && lines[i - 1].source_line <= lines[i].source_line)
        });
        let (line, posted, settlement_of): (Vec<i64>, Vec<i64>, Vec<u32>) = if ordered {
            let (line, posted) = rayon::join(
                || lines.par_iter().map(|l| l.source_line).collect(),
                || lines.par_iter().map(|l| l.posted).collect(),
            );
            (line, posted, settlement_of)
        } else {
            let mut at: Vec<u32> = (0..lines.len() as u32).collect();
            at.par_sort_by_key(|&i| (settlement_of[i as usize], lines[i as usize].source_line));
            (
                at.iter().map(|&i| lines[i as usize].source_line).collect(),
                at.iter().map(|&i| lines[i as usize].posted).collect(),
                at.iter().map(|&i| settlement_of[i as usize]).collect(),
            )
        };
        let mut starts = Vec::with_capacity(numbers.len() + 1);
        for (i, &s) in settlement_of.iter().enumerate() {
            while starts.len() <= s as usize {
                starts.push(i as u32);
            }
        }
        while starts.len() <= numbers.len() {
            starts.push(line.len() as u32);
        }
        Arrivals {
            settlements: numbers
                .into_iter()
                .map(|(s, n)| (s.to_string(), n))
                .collect(),
            starts,
            line,
            posted,
        }
    }

    fn get(&self, settlement: &str, line: i64) -> Option<i64> {
        let s = *self.settlements.get(settlement)? as usize;
        let (from, to) = (self.starts[s] as usize, self.starts[s + 1] as usize);
        let p = from + self.line[from..to].partition_point(|&l| l <= line);
        (p > from && self.line[p - 1] == line).then(|| self.posted[p - 1])
    }

    /// When the matched line(s) of a row's counterparts were posted (the earliest).
    pub fn arrived(&self, c: &Counterparts) -> Option<i64> {
        match c {
            Counterparts::Line(s, l) => self.get(s, *l as i64),
            Counterparts::Many(t) => t
                .split(';')
                .filter_map(|r| {
                    let (s, l) = r.rsplit_once(':')?;
                    self.get(s, l.parse().ok()?)
                })
                .min(),
            Counterparts::Id(_) | Counterparts::None => None,
        }
    }

    /// Whether a pack reads this item row (of layers 1 to 3): an exception, or a layer-2
    /// charge still in transit at the end of its local month (`month_end`: the first instant
    /// of the next month). A pack reads no other item row, so these (with every layer-3
    /// settlement and layer-4 row) stand for the whole reconciliation in
    /// [`CloseIndex::from_parts`].
    pub fn reads_item_row(&self, r: &ResultRow, month_end: impl Fn(i64) -> i64) -> bool {
        r.is_exception()
            || (r.layer == 2 && r.item_type == ItemType::Charge && {
                let settled = matches!(r.status, Status::Settled | Status::SettledByReference);
                !settled
                    || self
                        .arrived(&r.counterparts)
                        .is_none_or(|t| t >= month_end(r.item_ts))
            })
    }
}

/// The first instant of the next local month, for any instant: month starts precomputed over
/// a range, then a binary search.
pub struct MonthEnds {
    starts: Vec<i64>,
    tz: chrono_tz::Tz,
}

impl MonthEnds {
    /// For instants from `from` to `to` (others are computed one by one).
    pub fn new(tz: chrono_tz::Tz, from: i64, to: i64) -> Self {
        let mut starts = Vec::new();
        if from <= to {
            let d = crate::model::time::from_micros(from).with_timezone(&tz);
            let (mut y, mut m) = (d.year(), d.month());
            while let Some(month) = Month::parse(&format!("{y}-{m:02}"), tz) {
                if starts.is_empty() {
                    starts.push(month.start);
                }
                starts.push(month.end);
                if month.end > to {
                    break;
                }
                (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            }
        }
        MonthEnds { starts, tz }
    }

    pub fn end_of(&self, ts: i64) -> i64 {
        let i = self.starts.partition_point(|&s| s <= ts);
        if i > 0 && i < self.starts.len() {
            return self.starts[i];
        }
        let d = crate::model::time::from_micros(ts).with_timezone(&self.tz);
        Month::parse(&format!("{}-{:02}", d.year(), d.month()), self.tz).map_or(i64::MAX, |m| m.end)
    }
}

/// Builds the pack for `month` from the inputs and their reconciliation.
pub fn close(inputs: &Inputs, rec: &Reconciliation, month: Month) -> ClosePack {
    close_with(&CloseIndex::new(inputs, rec), month)
}

/// [`close`] with the lookups (and the rows of the reconciliation it reads) built once for
/// several months.
pub fn close_with(ix: &CloseIndex, month: Month) -> ClosePack {
    let mut rf: [Option<RollForward>; Currency::ALL.len()] = Default::default();
    let mut ledger: [Option<Ledger>; Currency::ALL.len()] = Default::default();
    for l in &ix.facts {
        let t = l.effective;
        if t >= month.end {
            continue;
        }
        let r = rf[l.currency as usize].get_or_insert_with(Default::default);
        r.closing.0 += l.net;
        r.closing.1 += 1;
        if t < month.start {
            r.opening.0 += l.net;
            r.opening.1 += 1;
            continue;
        }
        let g = ledger[l.currency as usize].get_or_insert_with(Default::default);
        let add = |f: &mut (i64, u64), v: i64| {
            f.0 += v;
            f.1 += 1;
        };
        match l.category {
            4 => {
                add(&mut r.transfers_out, -l.net);
                g.paid_out += -l.net;
                continue;
            }
            0 => {
                add(&mut r.captures, l.amount);
                g.gross_captured += l.amount;
            }
            1 => {
                add(&mut r.refunds, l.amount);
                g.refunds += l.amount;
            }
            2 => add(&mut r.chargebacks, l.amount),
            _ => add(&mut r.adjustments, l.amount),
        }
        if l.total_fee != 0 {
            add(&mut r.fees, l.total_fee);
        }
        g.fees += l.total_fee;
        g.net_settled += l.net;
        let diff = l.net - l.amount - l.total_fee;
        if diff != 0 {
            add(&mut r.arithmetic, diff);
        }
    }

    let posted = |c: &Counterparts| ix.arrivals.arrived(c);
    let booking = &ix.booking;
    let mut in_transit = Vec::new();
    // The month's charges: a slice of the charges sorted by date.
    let from = ix.charges.partition_point(|r| r.item_ts < month.start);
    let to = ix.charges.partition_point(|r| r.item_ts < month.end);
    for r in ix.charges[from..to.max(from)].iter().copied() {
        let arrived = posted(&r.counterparts);
        let settled = matches!(r.status, Status::Settled | Status::SettledByReference);
        if !settled || arrived.is_none_or(|t| t >= month.end) {
            in_transit.push(InTransit {
                kind: "capture",
                currency: r.currency,
                item_id: r.item_id.clone(),
                amount: r.actual.unwrap_or(0),
                date: r.item_ts,
                arrived: arrived.filter(|_| settled),
                counterpart: r.counterparts.clone(),
            });
        }
    }
    // Transfers against the bank: each one made by the month's end is in transit from its
    // settlement's end until it arrives (its deposit's booking, never before that end).
    for r in ix.layer4.iter().copied() {
        if r.item_type != ItemType::Settlement
            || r.item_ts >= month.end
            || matches!(r.status, Status::NoPayout | Status::NotAmazonPay)
        {
            continue;
        }
        let booked = booking.get(&*r.counterparts.text()).copied();
        let arrived = booked
            .filter(|_| r.status == Status::Deposited)
            .map(|b| b.max(r.item_ts));
        let amount = r.expected.unwrap_or(0);
        let g = ledger[r.currency as usize].get_or_insert_with(Default::default);
        if r.item_ts < month.start && arrived.is_none_or(|t| t >= month.start) {
            g.in_transit_opening += amount;
        }
        if arrived.is_some_and(|t| month.contains(t)) {
            g.deposited += amount;
        }
        if arrived.is_none_or(|t| t >= month.end) {
            g.in_transit_closing += amount;
            in_transit.push(InTransit {
                kind: "deposit",
                currency: r.currency,
                item_id: r.item_id.clone(),
                amount,
                date: r.item_ts,
                arrived: booked.filter(|_| r.status == Status::Deposited),
                counterpart: r.counterparts.clone(),
            });
        }
    }
    in_transit.sort_by(|a, b| {
        (a.kind, a.currency.code(), a.date, &a.item_id).cmp(&(
            b.kind,
            b.currency.code(),
            b.date,
            &b.item_id,
        ))
    });
    let exceptions: Vec<ResultRow> = ix
        .exceptions
        .iter()
        .filter(|r| r.item_ts < month.end)
        .map(|r| (*r).clone())
        .collect();
    ClosePack {
        month,
        roll_forward: by_code(rf),
        ledger: by_code(ledger),
        in_transit,
        exceptions,
        settlements: settlements(ix, month),
        payouts: payouts(ix, month),
    }
}

fn settlements(ix: &CloseIndex, month: Month) -> Vec<SettlementSummary> {
    let (starts, payout) = (&ix.starts, &ix.payout);
    let mut out: Vec<SettlementSummary> = Vec::new();
    // The month's settlements by number (those without lines have none).
    let mut index: Vec<Option<u32>> = vec![None; ix.numbers.len()];
    for r in ix.settlement_rows.iter().copied() {
        if month.contains(r.item_ts) {
            if let Some(&n) = ix.numbers.get(&*r.item_id) {
                index[n as usize] = Some(out.len() as u32);
            }
            out.push(SettlementSummary {
                id: r.item_id.clone(),
                stores: String::new(),
                currency: r.currency,
                start: starts.get(&*r.item_id).copied().flatten(),
                end: r.item_ts,
                lines: 0,
                captures: 0,
                refunds: 0,
                fees: 0,
                other: 0,
                paid_out: 0,
                net: r.actual.unwrap_or(0),
                balance_status: r.status,
                payout_status: None,
                deposit: r.counterparts.clone(),
            });
        }
    }
    let mut stores: Vec<std::collections::BTreeSet<&str>> = vec![Default::default(); out.len()];
    for (l, f) in ix.lines.iter().zip(&ix.facts) {
        let Some(i) = index[f.settlement as usize] else {
            continue;
        };
        let i = i as usize;
        if let Some(store) = &l.store {
            stores[i].insert(store);
        }
        let s = &mut out[i];
        s.lines += 1;
        match f.category {
            0 => s.captures += l.amount,
            1 => s.refunds += l.amount,
            4 => {
                s.paid_out -= l.net;
                continue;
            }
            _ => s.other += l.amount,
        }
        s.fees += l.total_fee;
    }
    for (s, names) in out.iter_mut().zip(stores) {
        s.stores = names.into_iter().collect::<Vec<_>>().join(";");
        if let Some(p) = payout.get(&*s.id) {
            s.payout_status = Some(p.status);
            s.deposit = p.counterparts.clone();
        }
    }
    out.sort_by(|a, b| (a.end, &a.id).cmp(&(b.end, &b.id)));
    out
}

fn payouts(ix: &CloseIndex, month: Month) -> Vec<(ResultRow, Option<Text>)> {
    let references = &ix.references;
    let mut out: Vec<(ResultRow, Option<Text>)> = ix
        .layer4
        .iter()
        .copied()
        .filter(|r| month.contains(r.item_ts) && r.status != Status::NotAmazonPay)
        .map(|r| {
            let counterparts = r.counterparts.text();
            let deposit = match r.item_type {
                ItemType::Deposit => &*r.item_id,
                _ => &*counterparts,
            };
            (r.clone(), references.get(deposit).map(|s| (*s).clone()))
        })
        .collect();
    out.sort_by(|(a, _), (b, _)| {
        (a.item_ts, a.item_type, &a.item_id).cmp(&(b.item_ts, b.item_type, &b.item_id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::load::{Line, Text};

    fn line(settlement: &str, source_line: i64, posted: i64) -> Line {
        Line {
            settlement_id: Text::from(settlement),
            posted,
            txn_id: None,
            seller_ref: None,
            ttype: TransactionType::Capture,
            seller_order: None,
            store: None,
            currency: Currency::EUR,
            amount: 0,
            pct_fee: 0,
            fixed_fee: 0,
            total_fee: 0,
            net: 0,
            source_file: Text::default(),
            source_line,
        }
    }

    /// Arrivals equal a map of every (settlement, line) in lake order, the later line winning,
    /// whether the lines come in (settlement, line) order or not.
    #[test]
    fn arrivals_are_the_posting_times_by_settlement_and_line() {
        let ordered: Vec<Line> = (0..300)
            .map(|i| line(&format!("S{}", i / 100), 2 + (i % 100) * 3, 1_000 + i))
            .collect();
        let mut shuffled = ordered.clone();
        shuffled.swap(10, 250);
        shuffled.swap(3, 4);
        shuffled.push(line("S1", 5, 7)); // S1's line 5 again, later: it counts
        shuffled.push(line("S0", 2, 9));
        shuffled.insert(50, line("S2", 1, 11)); // S2 seen first in the middle of S0
        for lines in [ordered, shuffled] {
            let mut want: FxHashMap<(String, i64), i64> = FxHashMap::default();
            for l in &lines {
                want.insert((l.settlement_id.to_string(), l.source_line), l.posted);
            }
            let a = Arrivals::new(&lines);
            for s in ["S0", "S1", "S2", "S3"] {
                for n in -1..305 {
                    assert_eq!(
                        a.get(s, n),
                        want.get(&(s.to_string(), n)).copied(),
                        "{s}:{n}"
                    );
                }
            }
        }
        assert_eq!(Arrivals::new(&[]).get("S0", 1), None);
    }
}
