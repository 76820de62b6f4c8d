//! The reconciliation's components, for incremental runs: two rows are in one component when a
//! chain of shared link keys joins them, and layers 1 and 2 (and layer 3's line checks) never
//! look outside an item's component. So when a night changes a few rows, only the components
//! those rows touch need reconciling again; every other item keeps its rows.
//!
//! Link keys are hashes of every value the layers match on ([`crate::model::keys`]): a row's
//! own id, then every field a layer declares it joins on ([`super::links`]; the layer files
//! hold the declarations beside their rules). A new join in a layer is a new declared link,
//! and rows are keyed by it here with nothing else to change; `links::tests` fails if a rule
//! joins rows the declarations do not. Settlement ids are never linked (a settlement would
//! join everything); layer 3's settlement balances and layer 4 are recomputed over all
//! settlements instead. A hash collision only merges two components, so the partition stays
//! valid (coarser, never wrong).
//!
//! A changed row touches its component only when a value the reconciliation or the attempt
//! facts read changed (its *relevance digest*): an order moving from `placed` to `shipped`
//! touches nothing. The facts group an order's charges by `merchant_reference_id`, else the
//! permission, and find its record by the same keys, so their orders lie in one component too.

use petgraph::unionfind::UnionFind;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::ItemType;
use super::links::{AnyLink, KEY_SLOTS, Keys, Row};
use super::load::{Charge, Inputs, Line, Order, Refund};
use crate::model::keys::Namespace;
use crate::model::states::RefundState;
use crate::state::codec::{Reader, Sink, get_fixed, le32, le64, put_fixed};
use crate::state::digest::Fields;

/// A component's label.
pub type Component = u32;

/// Every layer's links, in the order keys are added.
pub(crate) fn all_links() -> impl Iterator<Item = &'static dyn AnyLink> {
    super::orders::LINKS
        .iter()
        .chain(super::settlement_lines::LINKS.iter())
        .copied()
}

/// A row's own key (the identity its result rows carry) and then the key of each declared link
/// it is a side of.
pub(crate) fn push_keys(row: Row<'_>) -> Keys {
    let own = match row {
        Row::Order(o) => key(Namespace::OrderId, &o.id),
        Row::Charge(c) => key(Namespace::ItemId, &c.id),
        Row::Refund(r) => key(Namespace::ItemId, &r.id),
        Row::Line(l) => key(Namespace::ItemId, &l.item_id()),
    };
    let mut keys: Keys = ([0; KEY_SLOTS], 1);
    keys.0[0] = own;
    for link in all_links() {
        link.push_keys(row, &mut keys);
    }
    keys
}

/// Row identities (hash seeds) of the keyed tables.
const ORDER_ROW: u64 = 11;
const CHARGE_ROW: u64 = 12;
const REFUND_ROW: u64 = 13;

fn key(namespace: Namespace, text: &str) -> u64 {
    crate::model::keys::key(namespace, text)
}

fn row_key(seed: u64, text: &str) -> u64 {
    xxh3_64_with_seed(text.as_bytes(), seed)
}

fn order_keys(o: &Order) -> Keys {
    push_keys(Row::Order(o))
}

fn charge_keys(c: &Charge) -> Keys {
    push_keys(Row::Charge(c))
}

fn refund_keys(r: &Refund) -> Keys {
    push_keys(Row::Refund(r))
}

fn line_keys(l: &Line) -> Keys {
    push_keys(Row::Line(l))
}

/// The own key of every row of a lake batch of item table `table` (0 orders, 1 charges, 2
/// refunds, 3 settlement lines), as the loaded records' keys: without building them.
pub fn own_keys(
    table: usize,
    path: &std::path::Path,
    b: &arrow_array::RecordBatch,
) -> Result<Vec<u64>, crate::lake::LakeError> {
    use crate::lake::columns::{int, text};
    use arrow_array::Array;
    let ids = |name: &str, ns: Namespace| -> Result<Vec<u64>, crate::lake::LakeError> {
        let a = text(path, b, name)?;
        Ok((0..a.len()).map(|i| key(ns, a.value(i))).collect())
    };
    match table {
        0 => ids("order_id", Namespace::OrderId),
        1 => ids("charge_id", Namespace::ItemId),
        2 => ids("refund_id", Namespace::ItemId),
        _ => {
            let txn = text(path, b, "amazon_transaction_id")?;
            let sid = text(path, b, "settlement_id")?;
            let line = int(path, b, "source_line")?;
            Ok((0..b.num_rows())
                .map(|i| {
                    if txn.is_valid(i) && !txn.value(i).is_empty() {
                        key(Namespace::ItemId, txn.value(i))
                    } else {
                        key(
                            Namespace::ItemId,
                            &format!("{}:{}", sid.value(i), line.value(i)),
                        )
                    }
                })
                .collect())
        }
    }
}

/// The own key of a result row's item (layers 1 and 2, and layer 3's lines).
pub fn item_key(item_type: ItemType, item_id: &str) -> Option<u64> {
    match item_type {
        ItemType::Order => Some(key(Namespace::OrderId, item_id)),
        ItemType::Charge | ItemType::Refund | ItemType::SettlementLine => {
            Some(key(Namespace::ItemId, item_id))
        }
        ItemType::Settlement | ItemType::Deposit => None,
    }
}

/// (identity, relevance digest) of a keyed row.
fn order_row(o: &Order) -> (u64, u64) {
    let d = Fields::new(ORDER_ROW)
        .int(Some(o.created))
        .int(Some(o.total))
        .text(Some(o.currency.code()))
        .int(Some(o.cancelled as i64))
        .text(o.permission.as_deref())
        .int(Some(o.facts_digest as i64))
        .finish();
    (row_key(ORDER_ROW, &o.id), d)
}

fn charge_row(c: &Charge) -> (u64, u64) {
    // The state only through what the layers ask of it.
    let state = if c.captured() {
        0
    } else if c.capturable() {
        1
    } else {
        2
    };
    let d = Fields::new(CHARGE_ROW)
        .text(Some(&c.permission))
        .text(c.merchant_ref.as_deref())
        .text(c.seller_ref.as_deref())
        .int(Some(state))
        .int(c.capture_amount)
        .text(Some(c.currency.code()))
        .int(Some(c.created))
        .int(Some(c.updated))
        .int(Some(c.facts_digest as i64))
        .finish();
    (row_key(CHARGE_ROW, &c.id), d)
}

fn refund_row(r: &Refund) -> (u64, u64) {
    let d = Fields::new(REFUND_ROW)
        .text(Some(&r.charge_id))
        .int(Some((r.state == RefundState::Refunded) as i64))
        .int(Some(r.amount))
        .text(Some(r.currency.code()))
        .int(Some(r.updated))
        .finish();
    (row_key(REFUND_ROW, &r.id), d)
}

/// Every row's link keys, in [`Inputs`] order: orders, charges, refunds, lines.
fn all_keys(inputs: &Inputs) -> Vec<Keys> {
    let mut out = Vec::new();
    out.par_extend(inputs.orders.par_iter().map(order_keys));
    out.par_extend(inputs.charges.par_iter().map(charge_keys));
    out.par_extend(inputs.refunds.par_iter().map(refund_keys));
    out.par_extend(inputs.lines.par_iter().map(line_keys));
    out
}

/// The four item tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Table {
    #[default]
    Orders = 0,
    Charges = 1,
    Refunds = 2,
    Lines = 3,
}

impl Table {
    pub const ALL: [Table; 4] = [Table::Orders, Table::Charges, Table::Refunds, Table::Lines];

    /// The item type of its result rows.
    pub fn item_type(self) -> ItemType {
        match self {
            Table::Orders => ItemType::Order,
            Table::Charges => ItemType::Charge,
            Table::Refunds => ItemType::Refund,
            Table::Lines => ItemType::SettlementLine,
        }
    }
}

/// Where a row is: its component, its lake partition, the day of its result rows (the results
/// file they are in) and its own key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Member {
    pub component: Component,
    pub table: Table,
    pub lake_day: i32,
    pub result_day: i32,
    pub key: u64,
}

fn day(ts: i64) -> i32 {
    ts.div_euclid(super::DAY_US) as i32
}

fn order_member(o: &Order) -> (Table, i32, i32) {
    (Table::Orders, day(o.created), day(o.created))
}

fn charge_member(c: &Charge) -> (Table, i32, i32) {
    (Table::Charges, day(c.created), day(c.updated))
}

fn refund_member(r: &Refund) -> (Table, i32, i32) {
    (Table::Refunds, day(r.created), day(r.updated))
}

fn line_member(l: &Line) -> (Table, i32, i32) {
    (Table::Lines, day(l.posted), day(l.posted))
}

/// Every row's place (without its component), in [`Inputs`] order.
fn all_places(inputs: &Inputs) -> Vec<(Table, i32, i32)> {
    let mut out = Vec::new();
    out.par_extend(inputs.orders.par_iter().map(order_member));
    out.par_extend(inputs.charges.par_iter().map(charge_member));
    out.par_extend(inputs.refunds.par_iter().map(refund_member));
    out.par_extend(inputs.lines.par_iter().map(line_member));
    out
}

/// The component of every link key seen, the relevance digest of every keyed row, and every
/// row's place by component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Components {
    /// (key, component), sorted by key, each key once.
    keys: Vec<(u64, Component)>,
    /// (row identity, relevance digest), sorted, each identity once.
    rows: Vec<(u64, u64)>,
    /// Sorted by component. A row that changed keeps its earlier place too (the results file of
    /// its earlier rows is rewritten with its component's).
    members: Vec<Member>,
    /// The next unused label.
    next: Component,
}

/// What a reconciliation of some components reads and rewrites.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Lake partitions to read, per table (sorted).
    pub days: [Vec<i32>; 4],
    /// Own keys of the rows to keep, per table.
    pub keys: [FxHashSet<u64>; 4],
    /// Results files (day, item type) holding rows of these components, earlier or now.
    pub results: std::collections::BTreeSet<(i32, ItemType)>,
}

impl Plan {
    /// Keeps the rows of `inputs` that are members (lake order kept).
    pub fn select(&self, inputs: Inputs) -> Inputs {
        let [o, c, r, l] = &self.keys;
        let keep = |set: &FxHashSet<u64>, k: Keys| set.contains(&k.0[0]);
        Inputs {
            orders: inputs
                .orders
                .into_iter()
                .filter(|x| keep(o, order_keys(x)))
                .collect(),
            charges: inputs
                .charges
                .into_iter()
                .filter(|x| keep(c, charge_keys(x)))
                .collect(),
            refunds: inputs
                .refunds
                .into_iter()
                .filter(|x| keep(r, refund_keys(x)))
                .collect(),
            lines: inputs
                .lines
                .into_iter()
                .filter(|x| keep(l, line_keys(x)))
                .collect(),
            settlements: inputs.settlements,
            deposits: inputs.deposits,
        }
    }
}

/// What changed rows touched: the components to reconcile again (labels after the update).
pub type Touched = FxHashSet<Component>;

impl Components {
    /// The components of `inputs`, from scratch.
    pub fn build(inputs: &Inputs) -> Self {
        let keys = all_keys(inputs);
        // (key, row) pairs sorted by key: rows sharing a key are neighbours.
        let mut pairs: Vec<(u64, u32)> = keys
            .par_iter()
            .enumerate()
            .flat_map_iter(|(i, k)| k.0[..k.1].iter().map(move |&h| (h, i as u32)))
            .collect();
        pairs.par_sort_unstable();
        let mut uf: UnionFind<u32> = UnionFind::new(keys.len());
        for w in pairs.windows(2) {
            if w[0].0 == w[1].0 {
                uf.union(w[0].1, w[1].1);
            }
        }
        let label = uf.into_labeling();
        let mut out: Vec<(u64, Component)> = Vec::with_capacity(pairs.len());
        for (h, row) in pairs {
            if out.last().is_none_or(|l| l.0 != h) {
                out.push((h, label[row as usize]));
            }
        }
        let mut rows: Vec<(u64, u64)> = Vec::new();
        rows.par_extend(inputs.orders.par_iter().map(order_row));
        rows.par_extend(inputs.charges.par_iter().map(charge_row));
        rows.par_extend(inputs.refunds.par_iter().map(refund_row));
        rows.par_sort_unstable();
        let mut members: Vec<Member> = all_places(inputs)
            .into_par_iter()
            .zip(keys.par_iter())
            .enumerate()
            .map(|(i, ((table, lake_day, result_day), k))| Member {
                component: label[i],
                table,
                lake_day,
                result_day,
                key: k.0[0],
            })
            .collect();
        members.par_sort_unstable();
        members.dedup();
        Components {
            keys: out,
            rows,
            members,
            next: keys.len() as Component,
        }
    }

    /// The bytes of [`Self::decode`]: little-endian counts and fixed-size records, encoded in
    /// parallel.
    pub(crate) fn encode(&self, out: &mut Sink) {
        out.extend_from_slice(&self.next.to_le_bytes());
        put_fixed(out, &self.keys, 12, |(k, c), b| {
            b[..8].copy_from_slice(&k.to_le_bytes());
            b[8..].copy_from_slice(&c.to_le_bytes());
        });
        put_fixed(out, &self.rows, 16, |(k, d), b| {
            b[..8].copy_from_slice(&k.to_le_bytes());
            b[8..].copy_from_slice(&d.to_le_bytes());
        });
        put_fixed(out, &self.members, 21, |m, b| {
            b[..4].copy_from_slice(&m.component.to_le_bytes());
            b[4] = m.table as u8;
            b[5..9].copy_from_slice(&m.lake_day.to_le_bytes());
            b[9..13].copy_from_slice(&m.result_day.to_le_bytes());
            b[13..].copy_from_slice(&m.key.to_le_bytes());
        });
    }

    /// Reads what `Self::encode` wrote from the front of `b`, which it advances; `None` when
    /// the bytes are not such an encoding.
    pub fn decode(b: &mut Reader<'_>) -> Option<Self> {
        let next = b.u32()?;
        let keys = get_fixed(b, 12, |x| Some((le64(&x[..8]), le32(&x[8..]))))?;
        let rows = get_fixed(b, 16, |x| Some((le64(&x[..8]), le64(&x[8..]))))?;
        let members = get_fixed(b, 21, |x| {
            Some(Member {
                component: le32(&x[..4]),
                table: *Table::ALL.get(x[4] as usize)?,
                lake_day: le32(&x[5..9]) as i32,
                result_day: le32(&x[9..13]) as i32,
                key: le64(&x[13..]),
            })
        })?;
        Some(Components {
            keys,
            rows,
            members,
            next,
        })
    }

    /// Number of rows placed (a row that changed counts once per place it had).
    pub fn members(&self) -> usize {
        self.members.len()
    }

    /// What reconciling the `touched` components reads and rewrites.
    pub fn plan(&self, touched: &Touched) -> Plan {
        let mut plan = Plan::default();
        let mut list: Vec<Component> = touched.iter().copied().collect();
        list.sort_unstable();
        let mut days: [FxHashSet<i32>; 4] = Default::default();
        for c in list {
            let from = self.members.partition_point(|m| m.component < c);
            for m in self.members[from..].iter().take_while(|m| m.component == c) {
                let t = m.table as usize;
                days[t].insert(m.lake_day);
                plan.keys[t].insert(m.key);
                plan.results.insert((m.result_day, m.table.item_type()));
            }
        }
        for (t, d) in days.into_iter().enumerate() {
            plan.days[t] = d.into_iter().collect();
            plan.days[t].sort_unstable();
        }
        plan
    }

    /// Number of link keys known.
    pub fn keys(&self) -> usize {
        self.keys.len()
    }

    /// The component of a key.
    pub fn of_key(&self, key: u64) -> Option<Component> {
        self.keys
            .binary_search_by_key(&key, |e| e.0)
            .ok()
            .map(|i| self.keys[i].1)
    }

    /// The component of a result row's item (`None` for settlements and deposits, or an item
    /// never seen).
    pub fn of_item(&self, item_type: ItemType, item_id: &str) -> Option<Component> {
        self.of_key(item_key(item_type, item_id)?)
    }

    fn relevance(&self, identity: u64) -> Option<u64> {
        self.rows
            .binary_search_by_key(&identity, |e| e.0)
            .ok()
            .map(|i| self.rows[i].1)
    }

    /// Takes in `changed`: the new or changed rows (their current versions; lines are only
    /// ever new). Rows whose relevance digest is unchanged are skipped. Returns the components
    /// the others are in now (merged where the rows' keys joined components).
    pub fn update(&mut self, changed: &Inputs) -> Touched {
        // The changed rows that matter, each with its keys (the searches in parallel).
        type Changed = ((u64, u64), Keys, (Table, i32, i32));
        let mut all: Vec<Changed> = Vec::with_capacity(
            changed.orders.len() + changed.charges.len() + changed.refunds.len(),
        );
        all.par_extend(
            changed
                .orders
                .par_iter()
                .map(|o| (order_row(o), order_keys(o), order_member(o))),
        );
        all.par_extend(
            changed
                .charges
                .par_iter()
                .map(|c| (charge_row(c), charge_keys(c), charge_member(c))),
        );
        all.par_extend(
            changed
                .refunds
                .par_iter()
                .map(|r| (refund_row(r), refund_keys(r), refund_member(r))),
        );
        let kept: Vec<Changed> = all
            .into_par_iter()
            .filter(|(row, _, _)| self.relevance(row.0) != Some(row.1))
            .collect();
        let mut digests: Vec<(u64, u64)> = kept.iter().map(|c| c.0).collect();
        let mut moved: Vec<Keys> = kept.iter().map(|c| c.1).collect();
        let mut places: Vec<(Table, i32, i32)> = kept.iter().map(|c| c.2).collect();
        drop(kept);
        moved.par_extend(changed.lines.par_iter().map(line_keys));
        places.par_extend(changed.lines.par_iter().map(line_member));
        // The component of every key of theirs, if it has one.
        let found: Vec<[Option<Component>; KEY_SLOTS]> = moved
            .par_iter()
            .map(|k| {
                let mut f = [None; KEY_SLOTS];
                for (j, &h) in k.0[..k.1].iter().enumerate() {
                    f[j] = self.of_key(h);
                }
                f
            })
            .collect();

        // Union over the changed rows and the components their keys already belong to.
        let mut local: FxHashMap<Component, u32> = FxHashMap::default();
        let mut new_keys: FxHashMap<u64, u32> = FxHashMap::default();
        let mut uf: UnionFind<u32> = UnionFind::new(moved.len());
        for (i, k) in moved.iter().enumerate() {
            for (j, &h) in k.0[..k.1].iter().enumerate() {
                let other = match found[i][j] {
                    Some(c) => *local.entry(c).or_insert_with(|| uf.new_set()),
                    None => *new_keys.entry(h).or_insert(i as u32),
                };
                uf.union(i as u32, other);
            }
        }
        // Each group's label: the smallest existing component in it, else a new one.
        let mut group_label: FxHashMap<u32, Component> = FxHashMap::default();
        for (&c, &e) in &local {
            let g = uf.find(e);
            group_label
                .entry(g)
                .and_modify(|l| *l = (*l).min(c))
                .or_insert(c);
        }
        let mut touched = Touched::default();
        let mut label_of = |uf: &UnionFind<u32>, e: u32, next: &mut Component| -> Component {
            let g = uf.find(e);
            let l = *group_label.entry(g).or_insert_with(|| {
                *next += 1;
                *next - 1
            });
            touched.insert(l);
            l
        };
        let mut next = self.next;
        let remap: FxHashMap<Component, Component> = local
            .iter()
            .map(|(&c, &e)| (c, label_of(&uf, e, &mut next)))
            .filter(|(c, l)| c != l)
            .collect();
        let mut added: Vec<(u64, Component)> = new_keys
            .iter()
            .map(|(&h, &i)| (h, label_of(&uf, i, &mut next)))
            .collect();
        let mut placed: Vec<Member> = (0..moved.len())
            .map(|i| {
                let (table, lake_day, result_day) = places[i];
                Member {
                    component: label_of(&uf, i as u32, &mut next),
                    table,
                    lake_day,
                    result_day,
                    key: moved[i].0[0],
                }
            })
            .collect();
        self.next = next;

        if !remap.is_empty() {
            self.keys.par_iter_mut().for_each(|e| {
                if let Some(&l) = remap.get(&e.1) {
                    e.1 = l;
                }
            });
            // The relabelled members join the new places (the rest stay sorted, in place).
            placed.extend(
                self.members
                    .extract_if(.., |m| remap.contains_key(&m.component))
                    .map(|mut m| {
                        m.component = remap[&m.component];
                        m
                    }),
            );
        }
        // Members are unique: a placed one already there is not added again.
        placed.sort_unstable();
        placed.dedup();
        added.sort_unstable();
        digests.sort_unstable();
        digests.dedup_by_key(|d| d.0);
        let (members, keys, rows) = (&mut self.members, &mut self.keys, &mut self.rows);
        rayon::join(
            || merge_into(members, placed, true),
            || {
                rayon::join(
                    || merge_into(keys, added, false),
                    || {
                        // A changed row's digest replaces its old one in place; new rows are
                        // merged in.
                        let mut at = 0;
                        digests.retain(|d| {
                            at = gallop(rows, at, |e| e.0 < d.0);
                            if rows.get(at).is_some_and(|e| e.0 == d.0) {
                                rows[at] = *d;
                                false
                            } else {
                                true
                            }
                        });
                        merge_into(rows, digests, false)
                    },
                )
            },
        );
        touched
    }

    /// Adds the components of these result items (for example those `in_transit`, when the
    /// cut-off moved) to `touched`.
    pub fn touch_items<'a>(
        &self,
        items: impl Iterator<Item = (ItemType, &'a str)>,
        touched: &mut Touched,
    ) {
        touched.extend(items.filter_map(|(t, id)| self.of_item(t, id)));
    }

    /// The rows of `inputs` in the `touched` components, in their order.
    pub fn subset(&self, inputs: &Inputs, touched: &Touched) -> Inputs {
        let keep = |k: Keys| self.of_key(k.0[0]).is_some_and(|c| touched.contains(&c));
        Inputs {
            orders: pick(&inputs.orders, |o| keep(order_keys(o))),
            charges: pick(&inputs.charges, |c| keep(charge_keys(c))),
            refunds: pick(&inputs.refunds, |r| keep(refund_keys(r))),
            lines: pick(&inputs.lines, |l| keep(line_keys(l))),
            settlements: inputs.settlements.clone(),
            deposits: inputs.deposits.clone(),
        }
    }
}

fn pick<T: Clone + Sync + Send>(rows: &[T], keep: impl Fn(&T) -> bool + Sync) -> Vec<T> {
    rows.par_iter().filter(|r| keep(r)).cloned().collect()
}

/// The first index from `from` on where `before` is false (`before` holds, then does not,
/// along `a`): an exponential search from `from`, then a binary one in the last step. Cheap and
/// local when the answer is near, where a binary search over all of `a` touches cold memory.
fn gallop<T>(a: &[T], from: usize, before: impl Fn(&T) -> bool) -> usize {
    let (mut lo, mut hi, mut step) = (from, from, 1);
    while hi < a.len() && before(&a[hi]) {
        lo = hi + 1;
        hi += step;
        step <<= 1;
    }
    let hi = hi.min(a.len());
    lo + a[lo..hi].partition_point(before)
}

/// [`gallop`] from the end: the first index where `before` is false, found by an exponential
/// search back from `a.len()`, then a binary one in the last step.
fn gallop_back<T>(a: &[T], before: impl Fn(&T) -> bool) -> usize {
    let (mut hi, mut step) = (a.len(), 1);
    let lo = loop {
        if step > hi {
            break 0;
        }
        let k = hi - step;
        if before(&a[k]) {
            break k + 1;
        }
        hi = k;
        step <<= 1;
    };
    lo + a[lo..hi].partition_point(before)
}

/// Merges the sorted run `b` into the sorted `a`, in place (equal values: `a`'s first; with
/// `unique`, a value of `b` that `a` holds already is left out). `b` is a night's few against
/// all of history in `a`: `a` grows at its end (into the room its decoding left) and its runs
/// are moved up from the back, each once, to make room for `b`'s values, found by galloping.
/// A merge into a new vector would touch hundreds of MB of fresh pages, which the kernel must
/// zero first: that was most of a night's components phase.
fn merge_into<T: Ord + Copy>(a: &mut Vec<T>, mut b: Vec<T>, unique: bool) {
    if unique {
        let mut at = 0;
        b.retain(|x| {
            at = gallop(a, at, |y| y < x);
            a.get(at) != Some(x)
        });
    }
    let Some(&first) = b.first() else {
        return;
    };
    let (n, m) = (a.len(), b.len());
    a.resize(n + m, first);
    let (mut i, mut end) = (n, n + m);
    for &x in b.iter().rev() {
        let p = gallop_back(&a[..i], |y| *y <= x);
        let run = i - p;
        a.copy_within(p..i, end - run);
        end -= run + 1;
        a[end] = x;
        i = p;
    }
}

/// Whether a result row belongs to its item's component (layers 1 and 2, layer 3's lines)
/// rather than to the settlement-wide layers (layer 3's settlements, layer 4).
pub fn is_item_row(r: &super::ResultRow) -> bool {
    is_item_row_of(r.layer, r.item_type)
}

/// [`is_item_row`] by a row's layer and item type.
pub fn is_item_row_of(layer: u8, item_type: ItemType) -> bool {
    layer <= 2 || (layer == 3 && item_type == ItemType::SettlementLine)
}

/// The reconciliation after a change, from the previous one: the previous rows of items in
/// untouched components, `recomputed` (the reconciliation of the touched components' rows)
/// for the touched ones, and the settlement-wide rows of `settlement_wide`. Sorted as
/// [`super::reconcile`] sorts.
pub fn merge(
    previous: Vec<super::ResultRow>,
    components: &Components,
    touched: &Touched,
    recomputed: Vec<super::ResultRow>,
    settlement_wide: Vec<super::ResultRow>,
) -> Vec<super::ResultRow> {
    let mut rows: Vec<super::ResultRow> = previous
        .into_par_iter()
        .filter(|r| {
            is_item_row(r)
                && !components
                    .of_item(r.item_type, &r.item_id)
                    .is_some_and(|c| touched.contains(&c))
        })
        .collect();
    rows.extend(recomputed.into_iter().filter(is_item_row));
    rows.extend(settlement_wide.into_iter().filter(|r| !is_item_row(r)));
    super::sort_rows(&mut rows);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged<T: Ord + Copy>(mut a: Vec<T>, b: Vec<T>, unique: bool) -> Vec<T> {
        merge_into(&mut a, b, unique);
        a
    }

    #[test]
    fn sorted_runs_merge() {
        assert_eq!(
            merged(vec![1, 4, 9], vec![2, 3, 10], false),
            [1, 2, 3, 4, 9, 10]
        );
        assert_eq!(merged(Vec::<u8>::new(), vec![1], false), [1]);
        assert_eq!(merged(vec![1, 4], vec![1, 4, 5], false), [1, 1, 4, 4, 5]);
        assert_eq!(merged(vec![1, 4], vec![0, 1, 4, 5], true), [0, 1, 4, 5]);
        assert_eq!(merged(vec![5, 6], vec![0, 1], false), [0, 1, 5, 6]);
    }

    proptest::proptest! {
        /// Galloping finds what a binary search over the rest finds, from any start.
        #[test]
        fn gallop_finds_the_partition_point(
            mut a in proptest::collection::vec(0u16..500, 0..300),
            x in 0u16..500,
            from in 0usize..300,
        ) {
            a.sort_unstable();
            let from = from.min(a.len());
            let want = from + a[from..].partition_point(|y| *y <= x);
            proptest::prop_assert_eq!(gallop(&a, from, |y| *y <= x), want);
            let want = a.partition_point(|y| *y <= x);
            proptest::prop_assert_eq!(gallop_back(&a, |y| *y <= x), want);
        }

        /// A merge equals sorting the two runs together (less `b`'s values `a` has, if unique).
        #[test]
        fn merges_equal_sorts(
            mut a in proptest::collection::btree_set(0u16..300, 0..200),
            b in proptest::collection::btree_set(0u16..300, 0..50),
            unique in proptest::bool::ANY,
        ) {
            let av: Vec<u16> = std::mem::take(&mut a).into_iter().collect();
            let bv: Vec<u16> = b.iter().copied().collect();
            let mut want: Vec<u16> = av.iter().chain(&bv).copied().collect();
            want.sort_unstable();
            if unique {
                want.dedup();
            }
            proptest::prop_assert_eq!(merged(av, bv, unique), want);
        }
    }
}
