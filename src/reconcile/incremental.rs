//! The nightly reconciliation, incremental: only the components ([`super::components`]) that
//! the rows loaded since the last run touch are reconciled again; every other item keeps its
//! rows. The state that makes this possible lives beside the results (`_state.bin` in the
//! reconciliation's output folder) and is written after them, so a killed run leaves a state
//! no newer than the results, and the next run applies the same rows again (which changes
//! nothing twice).
//!
//! A night reads: the rows loaded after the state's mark (`file_seq`), the lake partitions of
//! the touched components' rows, the heads of every settlement line (for the settlement-wide
//! layers and the month-close packs), settlements and deposits. It rewrites the results files
//! that hold the touched components' rows, before or after, and the settlement and deposit
//! files. The state keeps, besides the components, the item rows that the packs and the
//! exceptions read ([`super::close::Arrivals::reads_item_row`]) and every in-transit row (a
//! later cut-off may turn it into a break), so that no later step needs the whole
//! reconciliation.

use std::path::Path;

use rayon::prelude::*;
use xxhash_rust::xxh3::Xxh3;

use super::close::{Arrivals, CloseIndex, MonthEnds};
use super::components::{Components, is_item_row, is_item_row_of};
use super::load::{self, Deposit, Inputs, Line, Settlement, Text};
use super::results::{ResultsWrite, encode_row_head, encode_row_source, write_results_night};
use super::{Counterparts, ItemType, Options, ReconcileError, ResultRow, Status};
use crate::analytics::facts::{self, FactOptions, KeyedFacts};
use crate::lake::Lake;
use crate::model::catalogue::Catalogue;
use crate::model::schema::{CHARGES, REFUNDS};
use crate::state::codec::{
    Reader, Sink, get_strings, le32, le64, put_fixed_n, put_opt, put_strings, put_text, put_u32s,
};
use crate::state::digest::hash_this_build;

/// The state file, inside the reports folder (beside the run state).
pub use crate::state::RECONCILE_STATE as STATE_FILE;
const MAGIC: &[u8; 8] = b"PRCINC01";

/// What an incremental night starts from.
pub struct State {
    /// [`settings_digest`] of the run that wrote it.
    pub settings: u128,
    /// The greatest `file_seq` in the lake when it was written: rows above it are new.
    pub mark: i64,
    /// The cut-off its statuses were decided at.
    pub cutoff: i64,
    pub components: Components,
    /// The item rows (layers 1 to 3) the packs and the exceptions read, and every in-transit
    /// row; sorted as the reconciliation sorts.
    pub item_rows: Vec<ResultRow>,
    /// The attempt facts of the lake (their orders lie in components as the items do).
    pub facts: KeyedFacts,
}

/// What the exceptions, the month-close packs and the summary read of a reconciliation: a
/// subset of its rows (every one they read) and the lines (heads suffice), settlements and
/// deposits.
#[derive(Debug, Clone)]
pub struct View {
    pub cutoff: i64,
    /// Sorted as the reconciliation sorts.
    pub rows: Vec<ResultRow>,
    pub lines: Vec<Line>,
    /// When each of `lines` was posted.
    pub arrivals: Arrivals,
    pub settlements: Vec<Settlement>,
    pub deposits: Vec<Deposit>,
}

impl View {
    pub fn exceptions(&self) -> impl Iterator<Item = &ResultRow> {
        self.rows.iter().filter(|r| r.is_exception())
    }

    pub fn close_index(&self) -> CloseIndex<'_> {
        CloseIndex::from_parts(
            &self.lines,
            std::borrow::Cow::Borrowed(&self.arrivals),
            &self.settlements,
            &self.deposits,
            self.rows.iter(),
        )
    }
}

/// What the state depends on besides the lake: this build, the reconciliation's options (the
/// cut-off as given: an explicit instant, or none for the lake's newest) and the time zone
/// (the packs' months). Another digest: a full reconciliation.
pub fn settings_digest(options: &Options, timezone: &str) -> u128 {
    let mut h = Xxh3::new();
    h.update(MAGIC);
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    hash_this_build(&mut h);
    h.update(
        format!(
            "{}|{}|{}|{}|{:?}|{:?}|{timezone}",
            options.settlement_lag_days,
            options.deposit_lag_days,
            options.fallback_window_days,
            options.tolerance,
            options.cutoff,
            options.amazon_pay_references
        )
        .as_bytes(),
    );
    h.digest128()
}

/// The rows of a reconciliation that the state keeps (see [`State::item_rows`]).
fn kept_item_rows<'a>(
    rows: impl ParallelIterator<Item = &'a ResultRow>,
    arrivals: &Arrivals,
    tz: chrono_tz::Tz,
    span: (i64, i64),
) -> Vec<ResultRow> {
    let ends = MonthEnds::new(tz, span.0, span.1);
    rows.filter(|r| {
        is_item_row(r)
            && (r.status == Status::InTransit || arrivals.reads_item_row(r, |t| ends.end_of(t)))
    })
    .cloned()
    .collect()
}

fn span(rows: &[ResultRow]) -> (i64, i64) {
    rows.par_iter()
        .map(|r| (r.item_ts, r.item_ts))
        .reduce(|| (i64::MAX, i64::MIN), |a, b| (a.0.min(b.0), a.1.max(b.1)))
}

/// The greatest `file_seq` of any file the lake knows.
pub fn lake_mark(lake: &Lake) -> Result<i64, ReconcileError> {
    Ok(lake.known_files()?.iter().map(|f| f.1).max().unwrap_or(0))
}

/// After a full reconciliation of `inputs`: its view and the state a next night starts from.
pub fn after_full(
    inputs: Inputs,
    rows: &[ResultRow],
    facts: KeyedFacts,
    cutoff: i64,
    mark: i64,
    settings: u128,
    tz: chrono_tz::Tz,
) -> (View, State) {
    let (components, (item_rows, arrivals)) = rayon::join(
        || Components::build(&inputs),
        || {
            let arrivals = Arrivals::new(&inputs.lines);
            let kept = kept_item_rows(rows.par_iter(), &arrivals, tz, span(rows));
            (kept, arrivals)
        },
    );
    let mut view_rows: Vec<ResultRow> = item_rows.clone();
    view_rows.extend(rows.iter().filter(|r| !is_item_row(r)).cloned());
    super::sort_rows(&mut view_rows);
    let view = View {
        cutoff,
        rows: view_rows,
        lines: inputs.lines,
        arrivals,
        settlements: inputs.settlements,
        deposits: inputs.deposits,
    };
    let state = State {
        settings,
        mark,
        cutoff,
        components,
        item_rows,
        facts,
    };
    (view, state)
}

/// The newest timestamp of the lake, as [`super::newest_timestamp`] of its inputs: charges and
/// refunds from their files' statistics, lines and deposits from what is loaded. `None` when a
/// file has no statistics.
fn newest_timestamp(
    lake: &Lake,
    lines: &[Line],
    deposits: &[Deposit],
) -> Result<Option<i64>, ReconcileError> {
    use crate::lake::parquet_io::int_column_max;
    let mut newest = i64::MIN;
    for (table, columns) in [
        (
            &CHARGES,
            &["creation_timestamp", "last_updated_timestamp"][..],
        ),
        (&REFUNDS, &["last_updated_timestamp"][..]),
    ] {
        for path in lake.table_files(table)? {
            for c in columns {
                match int_column_max(&path, c)? {
                    Some(m) => newest = newest.max(m),
                    None => return Ok(None),
                }
            }
        }
    }
    let l = lines.par_iter().map(|l| l.posted).max();
    let d = deposits
        .iter()
        .map(|d| d.booking as i64 * super::DAY_US + super::DAY_US - 1)
        .max();
    let all = [Some(newest), l, d].into_iter().flatten().max();
    Ok(all.filter(|&t| t != i64::MIN).or(Some(0)))
}

/// What a night did, for the logs.
#[derive(Debug, Default)]
pub struct NightStats {
    pub changed_rows: usize,
    pub touched_components: usize,
    pub reconciled_rows: usize,
    pub results: ResultsWrite,
}

/// One incremental night: reconciles the touched components, rewrites their results files
/// (in `out`, the reconciliation's output folder) and returns the view and the next state.
/// `Ok(None)`: this night cannot be incremental (the cut-off went back, or a lake file has no
/// statistics), reconcile in full.
pub fn night(
    lake: &Lake,
    out: &Path,
    mut state: State,
    options: &Options,
    fact_options: &FactOptions,
    catalogue: &Catalogue,
) -> Result<Option<(View, State, NightStats)>, ReconcileError> {
    let tz = fact_options.tz;
    let mut clock = std::time::Instant::now();
    let mut lap = |what: &'static str| {
        tracing::debug!(
            elapsed_ms = clock.elapsed().as_millis() as u64,
            "incremental reconcile: {what}"
        );
        clock = std::time::Instant::now();
    };
    let (changed, (lines, found)) = rayon::join(
        || load::load_changed(lake, state.mark),
        || {
            rayon::join(
                || load::load_line_heads(lake),
                || load::load_settlements_and_deposits(lake),
            )
        },
    );
    let reads = changed?;
    let newest_seq = reads.newest_seq;
    let changed = &reads.changed;
    let lines = lines?;
    let (settlements, deposits) = found?;
    let changed_rows =
        changed.orders.len() + changed.charges.len() + changed.refunds.len() + changed.lines.len();
    lap("changed rows, line heads, settlements and deposits");
    let cutoff = match options.cutoff {
        Some(c) => c,
        None => match newest_timestamp(lake, &lines, &deposits)? {
            Some(c) => c.min(options.latest),
            None => return Ok(None),
        },
    };
    if cutoff < state.cutoff {
        return Ok(None);
    }
    let mut touched = state.components.update(changed);
    if cutoff != state.cutoff {
        // An item in transit may be a break at the later cut-off.
        state.components.touch_items(
            state
                .item_rows
                .iter()
                .filter(|r| r.status == Status::InTransit)
                .map(|r| (r.item_type, &*r.item_id)),
            &mut touched,
        );
    }
    let plan = state.components.plan(&touched);
    let keys = &plan.keys;
    let (mut subset, (fact_orders, fact_charges)) =
        reads.members(lake, &plan.days, &|t, path, batch| {
            let own = super::components::own_keys(t, path, batch)?;
            Ok(own.iter().map(|k| Some(keys[t].contains(k))).collect())
        })?;
    subset.settlements = settlements.clone();
    subset.deposits = deposits.clone();
    lap("components updated, their rows read");
    let opts = Options {
        cutoff: Some(cutoff),
        ..options.clone()
    };
    let ((recomputed, sub_facts), (mut settlement_wide, arrivals)) = rayon::join(
        || {
            rayon::join(
                || {
                    let rec = super::reconcile(&subset, &opts);
                    rec.rows
                        .into_iter()
                        .filter(is_item_row)
                        .collect::<Vec<ResultRow>>()
                },
                || {
                    facts::build_keyed_from_batches(
                        fact_orders,
                        fact_charges,
                        catalogue,
                        fact_options,
                    )
                },
            )
        },
        || {
            rayon::join(
                || {
                    let mut rows = Vec::new();
                    super::settlement_wide(
                        &lines,
                        &settlements,
                        &deposits,
                        &opts,
                        cutoff,
                        &mut rows,
                    );
                    rows
                },
                || Arrivals::new(&lines),
            )
        },
    );
    super::sort_rows(&mut settlement_wide);
    let sub_facts = sub_facts.map_err(|e| ReconcileError::Incremental(e.to_string()))?;
    let reconciled_rows = recomputed.len();
    lap("touched components reconciled, their facts built");
    let charge_keys = &plan.keys[1];
    state
        .facts
        .replace(&|k| charge_keys.contains(&k), sub_facts, fact_options);
    lap("facts replaced");
    // An item row is in a touched component exactly when its item's own key is a member's
    // (two items of a table with one hash share a link key, so a component): a hash lookup,
    // not a search of every key.
    let keep_item = |layer: u8, item_type: ItemType, id: &str| {
        let table = match item_type {
            ItemType::Order => 0,
            ItemType::Charge => 1,
            ItemType::Refund => 2,
            ItemType::SettlementLine => 3,
            ItemType::Settlement | ItemType::Deposit => return false,
        };
        is_item_row_of(layer, item_type)
            && !super::components::item_key(item_type, id).is_some_and(|k| keys[table].contains(&k))
    };
    let keep = |r: &ResultRow| keep_item(r.layer, r.item_type, &r.item_id);
    let (results, item_rows) = rayon::join(
        || {
            write_results_night(
                out,
                &plan.results,
                &keep_item,
                &recomputed,
                &settlement_wide,
            )
        },
        || {
            let rows: Vec<ResultRow> = std::mem::take(&mut state.item_rows)
                .into_par_iter()
                .filter(|r| keep(r))
                .collect();
            let new = kept_item_rows(recomputed.par_iter(), &arrivals, tz, span(&recomputed));
            super::merge_rows(rows, new)
        },
    );
    let results = results?;
    lap("results files written");
    let view_rows = super::merge_rows(item_rows.clone(), settlement_wide);
    let stats = NightStats {
        changed_rows,
        touched_components: touched.len(),
        reconciled_rows,
        results,
    };
    let state = State {
        settings: state.settings,
        mark: newest_seq.max(state.mark),
        cutoff,
        components: state.components,
        item_rows,
        facts: state.facts,
    };
    let view = View {
        cutoff,
        rows: view_rows,
        lines,
        arrivals,
        settlements,
        deposits,
    };
    Ok(Some((view, state, stats)))
}

// ------------------------------------------------------------------------------ persistence

/// Every field of a row, losslessly.
pub(crate) fn encode_row(r: &ResultRow, b: &mut Vec<u8>) {
    encode_row_head(r, b);
    b.extend_from_slice(&r.item_ts.to_le_bytes());
    match &r.counterparts {
        Counterparts::None => b.push(0),
        Counterparts::Id(t) => {
            b.push(1);
            put_text(b, t);
        }
        Counterparts::Line(s, l) => {
            b.push(2);
            put_text(b, s);
            b.extend_from_slice(&l.to_le_bytes());
        }
        Counterparts::Many(t) => {
            b.push(3);
            put_text(b, t);
        }
    }
    encode_row_source(r, b);
}

pub(crate) fn decode_row(r: &mut Reader) -> Option<ResultRow> {
    let layer = r.u8()?;
    let item_type = *ItemType::ALL.get(r.u8()? as usize)?;
    let item_id = Text::from(r.text()?);
    let status = *Status::ALL.get(r.u8()? as usize)?;
    let currency = r.text()?.parse().ok()?;
    let expected = r.opt()?;
    let actual = r.opt()?;
    let item_ts = r.i64()?;
    let counterparts = match r.u8()? {
        0 => Counterparts::None,
        1 => Counterparts::Id(Text::from(r.text()?)),
        2 => {
            let s = Text::from(r.text()?);
            Counterparts::Line(s, r.u32()?)
        }
        3 => Counterparts::Many(Text::from(r.text()?)),
        _ => return None,
    };
    let source_file = match r.u8()? {
        0 => None,
        1 => Some(Text::from(r.text()?)),
        _ => return None,
    };
    let source_line = r.opt()?;
    Some(ResultRow {
        layer,
        item_type,
        item_id,
        status,
        currency,
        expected,
        actual,
        item_ts,
        counterparts,
        source_file,
        source_line,
    })
}

const OUTCOMES: [facts::Outcome; 4] = [
    facts::Outcome::Approved,
    facts::Outcome::Declined,
    facts::Outcome::Pending,
    facts::Outcome::Canceled,
];

const CLASSES: [crate::model::catalogue::DeclineClass; 5] = {
    use crate::model::catalogue::DeclineClass::*;
    [Soft, Hard, BuyerAction, Integration, Unknown]
};

fn currency_index(c: crate::model::money::Currency) -> u8 {
    crate::model::money::Currency::ALL
        .iter()
        .position(|&x| x == c)
        .expect("a known currency") as u8
}

const ATTEMPT_BYTES: usize = 8 + 8 + 7 * 4 + 2 + 8;
const ORDER_BYTES: usize = 8 + 7 * 4 + 2 + 8;

fn encode_facts(k: &KeyedFacts, b: &mut Sink) {
    let f = &k.facts;
    for d in [&f.countries, &f.devices, &f.bands, &f.reasons] {
        put_strings(b, d);
    }
    for c in &f.reason_classes {
        b.push(CLASSES.iter().position(|x| x == c).expect("a class") as u8);
    }
    put_opt(b, f.newest_ts);
    put_opt(b, f.newest_day.map(i64::from));
    put_fixed_n(b, f.attempts.len(), ATTEMPT_BYTES, |i, out| {
        let (a, key) = (&f.attempts[i], k.attempt_keys[i]);
        out[..8].copy_from_slice(&a.ts.to_le_bytes());
        out[8..16].copy_from_slice(&a.amount.to_le_bytes());
        put_u32s(
            out,
            16,
            &[
                a.order,
                a.record,
                a.day as u32,
                a.country,
                a.device,
                a.band,
                a.reason,
            ],
        );
        out[44] = currency_index(a.currency);
        out[45] = a.outcome as u8;
        out[46..].copy_from_slice(&key.to_le_bytes());
    });
    put_fixed_n(b, f.orders.len(), ORDER_BYTES, |i, out| {
        let (o, key) = (&f.orders[i], k.order_keys[i]);
        out[..8].copy_from_slice(&o.first_ts.to_le_bytes());
        put_u32s(out, 8, &o.codes());
        out[36] = currency_index(o.currency);
        out[37] = o.flags();
        out[38..].copy_from_slice(&key.to_le_bytes());
    });
}

/// `size`-byte records after their count, each of which `check` accepts.
fn records<'a>(
    r: &mut Reader<'a>,
    size: usize,
    check: &(dyn Fn(&[u8]) -> bool + Sync),
) -> Option<&'a [u8]> {
    let n = usize::try_from(r.i64()?).ok()?;
    let bytes = r.take(n.checked_mul(size)?)?;
    bytes.par_chunks_exact(size).all(check).then_some(bytes)
}

fn decode_facts(r: &mut Reader) -> Option<KeyedFacts> {
    use crate::model::money::Currency;
    let countries = get_strings(r)?;
    let devices = get_strings(r)?;
    let bands = get_strings(r)?;
    let reasons = get_strings(r)?;
    let reason_classes = (0..reasons.len())
        .map(|_| CLASSES.get(r.u8()? as usize).copied())
        .collect::<Option<Vec<_>>>()?;
    let newest_ts = r.opt()?;
    let newest_day = r.opt()?.map(|d| d as i32);
    let u = |b: &[u8], i: usize| le32(&b[i..i + 4]);
    // Checked first, then decoded straight into the two columns each.
    let n_cur = Currency::ALL.len() as u8;
    let bytes = records(r, ATTEMPT_BYTES, &|b| b[44] < n_cur && b[45] < 4)?;
    let (attempts, attempt_keys): (Vec<facts::AttemptFact>, Vec<u64>) = bytes
        .par_chunks_exact(ATTEMPT_BYTES)
        .map(|b| {
            (
                facts::AttemptFact {
                    ts: le64(&b[..8]) as i64,
                    amount: le64(&b[8..16]) as i64,
                    order: u(b, 16),
                    record: u(b, 20),
                    day: u(b, 24) as i32,
                    country: u(b, 28),
                    device: u(b, 32),
                    band: u(b, 36),
                    reason: u(b, 40),
                    currency: Currency::ALL[b[44] as usize],
                    outcome: OUTCOMES[b[45] as usize],
                },
                le64(&b[46..]),
            )
        })
        .unzip();
    let bytes = records(r, ORDER_BYTES, &|b| b[36] < n_cur)?;
    let (orders, order_keys): (Vec<facts::OrderFact>, Vec<u64>) = bytes
        .par_chunks_exact(ORDER_BYTES)
        .map(|b| {
            let mut o = facts::OrderFact {
                first_ts: le64(&b[..8]) as i64,
                first_day: u(b, 8) as i32,
                country: u(b, 12),
                device: u(b, 16),
                band: u(b, 20),
                attempts: u(b, 24),
                first_decline_reason: u(b, 28),
                attempts_to_recovery: u(b, 32),
                currency: Currency::ALL[b[36] as usize],
                decided: false,
                first_approved: false,
                eventual_approved: false,
                immature: false,
            };
            o.set_flags(b[37]);
            (o, le64(&b[38..]))
        })
        .unzip();
    Some(KeyedFacts {
        facts: facts::Facts {
            attempts,
            orders,
            countries,
            devices,
            bands,
            reasons,
            reason_classes,
            newest_ts,
            newest_day,
        },
        attempt_keys,
        order_keys,
    })
}

impl State {
    /// Writes the state into `out` ([`crate::state::save_streamed`]: in place, its pages were
    /// just read). Returns the file's digest as [`State::load`] gives it.
    pub fn save(&self, out: &Path) -> Result<String, ReconcileError> {
        let digest = crate::state::save_streamed(&out.join(STATE_FILE), |b| {
            b.extend_from_slice(MAGIC);
            b.extend_from_slice(&self.settings.to_le_bytes());
            b.extend_from_slice(&self.mark.to_le_bytes());
            b.extend_from_slice(&self.cutoff.to_le_bytes());
            self.components.encode(b);
            b.extend_from_slice(&(self.item_rows.len() as u64).to_le_bytes());
            for r in &self.item_rows {
                encode_row(r, b);
                b.maybe_flush();
            }
            encode_facts(&self.facts, b);
        })?;
        Ok(digest.to_string())
    }

    /// The state in `out`, when there is a whole one, with the digest of its file as the run
    /// state records outputs (`xxh3-128 hex:bytes`), so the file is read once.
    pub fn load(out: &Path) -> Option<(State, String)> {
        let (state, digest) = crate::state::load_sealed(&out.join(STATE_FILE), MAGIC, |r| {
            let settings = r.u128()?;
            let mark = r.i64()?;
            let cutoff = r.i64()?;
            let components = Components::decode(r)?;
            let n = r.i64()? as usize;
            let mut item_rows = Vec::with_capacity(n.min(r.rest().len() / 16));
            for _ in 0..n {
                item_rows.push(decode_row(r)?);
            }
            let facts = decode_facts(r)?;
            Some(State {
                settings,
                mark,
                cutoff,
                components,
                item_rows,
                facts,
            })
        })?;
        Some((state, digest.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::money::Currency;

    fn row(id: &str, status: Status, counterparts: Counterparts) -> ResultRow {
        ResultRow {
            layer: 2,
            item_type: ItemType::Charge,
            item_id: id.into(),
            status,
            currency: Currency::EUR,
            expected: None,
            actual: Some(-1250),
            item_ts: 1_790_000_000_123_456,
            counterparts,
            source_file: Some("s/settlement.csv".into()),
            source_line: Some(7),
        }
    }

    #[test]
    fn a_saved_state_loads_as_it_was_and_a_damaged_one_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let state = State {
            settings: 0x1234_5678_9abc_def0_1122_3344_5566_7788,
            mark: 921,
            cutoff: 1_790_000_000_000_000,
            components: Components::build(&Inputs::default()),
            facts: KeyedFacts {
                facts: facts::Facts {
                    attempts: vec![],
                    orders: vec![],
                    countries: vec!["DE".into(), "unknown".into()],
                    devices: vec!["unknown".into()],
                    bands: vec!["<50".into()],
                    reasons: vec!["SoftDeclined".into()],
                    reason_classes: vec![crate::model::catalogue::DeclineClass::Soft],
                    newest_ts: Some(5),
                    newest_day: Some(1),
                },
                attempt_keys: vec![],
                order_keys: vec![],
            },
            item_rows: vec![
                row("C1", Status::InTransit, Counterparts::None),
                row(
                    "C2",
                    Status::AmountMismatch,
                    Counterparts::Line("S1".into(), 12),
                ),
                row(
                    "C3",
                    Status::Ambiguous,
                    Counterparts::Many("S1:3;S1:4".into()),
                ),
                row("C4", Status::Settled, Counterparts::Id("L9".into())),
            ],
        };
        let saved = state.save(dir.path()).unwrap();
        let (back, digest) = State::load(dir.path()).expect("a whole state");
        assert_eq!(saved, digest);
        let bytes = std::fs::read(dir.path().join(STATE_FILE)).unwrap();
        assert!(digest.ends_with(&format!(":{}", bytes.len())));
        assert_eq!(back.settings, state.settings);
        assert_eq!((back.mark, back.cutoff), (state.mark, state.cutoff));
        assert_eq!(back.components, state.components);
        assert_eq!(back.item_rows, state.item_rows);
        assert_eq!(back.facts.facts.countries, state.facts.facts.countries);
        assert_eq!(
            back.facts.facts.reason_classes,
            state.facts.facts.reason_classes
        );
        assert_eq!(back.facts.facts.newest_ts, Some(5));
        // Every counterpart kind comes back as the same kind.
        assert!(matches!(
            back.item_rows[1].counterparts,
            Counterparts::Line(_, 12)
        ));
        let path = dir.path().join(STATE_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(State::load(dir.path()).is_none());
        std::fs::write(&path, b"PRCINC01").unwrap();
        assert!(State::load(dir.path()).is_none());
    }
}
