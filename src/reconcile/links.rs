//! What the layers match on, declared once. A [`Link`] names two fields of two tables that the
//! rule of a layer joins when their values are equal, and the namespace of their keys. The rule
//! reads its fields through the link (so the declaration is what it matches on), and the
//! incremental components key every row by all declared links (`components::push_keys`), so a rule and
//! the partition it relies on cannot drift apart: a new link in a layer's list joins its rows'
//! components with nothing else to change.

use super::load::{Charge, Line, Order, Refund};
use crate::model::keys::{Namespace, key};

/// Two fields that a layer's rule joins on equal values (empty values join nothing).
pub(crate) struct Link<A: 'static, B: 'static> {
    pub(crate) namespace: Namespace,
    pub(crate) a: fn(&A) -> Option<&str>,
    pub(crate) b: fn(&B) -> Option<&str>,
    /// What it joins, in words: `charge.merchantReferenceId = order.id` (tests name it).
    pub(crate) what: &'static str,
}

/// A row of one of the four item tables.
#[derive(Clone, Copy)]
pub(crate) enum Row<'a> {
    Order(&'a Order),
    Charge(&'a Charge),
    Refund(&'a Refund),
    Line(&'a Line),
}

/// A record type a link can name.
pub(crate) trait Side: Sized + 'static {
    fn of<'a>(row: Row<'a>) -> Option<&'a Self>;
}

macro_rules! side {
    ($t:ty, $v:ident) => {
        impl Side for $t {
            fn of<'a>(row: Row<'a>) -> Option<&'a Self> {
                match row {
                    Row::$v(x) => Some(x),
                    _ => None,
                }
            }
        }
    };
}
side!(Order, Order);
side!(Charge, Charge);
side!(Refund, Refund);
side!(Line, Line);

/// Most link keys a row has (its own included); [`tests`] checks every table fits.
pub(crate) const KEY_SLOTS: usize = 4;

/// A row's link keys, its own first (the key its results are found by), each once.
pub(crate) type Keys = ([u64; KEY_SLOTS], usize);

/// Adds `text`'s key unless empty or already there.
pub(crate) fn push(keys: &mut Keys, namespace: Namespace, text: Option<&str>) {
    if let Some(t) = text.filter(|t| !t.is_empty()) {
        let k = key(namespace, t);
        if !keys.0[..keys.1].contains(&k) {
            keys.0[keys.1] = k;
            keys.1 += 1;
        }
    }
}

/// A link of any two tables, for lists.
pub(crate) trait AnyLink: Sync {
    /// Adds the keys of `row`'s side(s) of the link.
    fn push_keys(&self, row: Row<'_>, keys: &mut Keys);
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests"))]
    fn what(&self) -> &'static str;
}

impl<A: Side + Sync, B: Side + Sync> AnyLink for Link<A, B> {
    fn push_keys(&self, row: Row<'_>, keys: &mut Keys) {
        if let Some(a) = A::of(row) {
            push(keys, self.namespace, (self.a)(a));
        }
        if let Some(b) = B::of(row) {
            push(keys, self.namespace, (self.b)(b));
        }
    }
    fn what(&self) -> &'static str {
        self.what
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::money::Currency;
    use crate::model::states::{ChargeState, RefundState, TransactionType};
    use crate::reconcile::components::{Components, all_links as all, push_keys};
    use crate::reconcile::load::{Inputs, Text};
    use crate::reconcile::{ItemType, Options, orders, reconcile, settlement_lines};
    use proptest::prelude::*;

    const DAY: i64 = 86_400_000_000;

    fn t(s: &str) -> Text {
        Text::from(s)
    }

    fn order(id: &str, permission: Option<&str>, total: i64) -> Order {
        Order {
            id: t(id),
            created: 10 * DAY,
            total,
            currency: Currency::EUR,
            cancelled: false,
            permission: permission.map(t),
            facts_digest: 0,
        }
    }

    fn charge(id: &str, permission: &str, merchant: Option<&str>, seller: Option<&str>) -> Charge {
        Charge {
            id: t(id),
            permission: t(permission),
            merchant_ref: merchant.map(t),
            seller_ref: seller.map(t),
            state: ChargeState::Captured,
            capture_amount: Some(1000),
            currency: Currency::EUR,
            created: 10 * DAY,
            updated: 10 * DAY,
            facts_digest: 0,
        }
    }

    fn refund(id: &str, charge_id: &str) -> Refund {
        Refund {
            id: t(id),
            charge_id: t(charge_id),
            state: RefundState::Refunded,
            amount: 1000,
            currency: Currency::EUR,
            created: 11 * DAY,
            updated: 11 * DAY,
        }
    }

    fn line(
        n: i64,
        ttype: &str,
        txn: Option<&str>,
        seller: Option<&str>,
        order: Option<&str>,
    ) -> Line {
        let amount = if ttype == "Refund" { -1000 } else { 1000 };
        Line {
            settlement_id: t("S1"),
            posted: 12 * DAY,
            txn_id: txn.map(t),
            seller_ref: seller.map(t),
            ttype: TransactionType::parse(ttype),
            seller_order: order.map(t),
            store: None,
            currency: Currency::EUR,
            amount,
            pct_fee: 0,
            fixed_fee: 0,
            total_fee: 0,
            net: amount,
            source_file: t("s.csv"),
            source_line: n,
        }
    }

    fn options() -> Options {
        Options {
            settlement_lag_days: 3,
            deposit_lag_days: 5,
            fallback_window_days: 30,
            tolerance: 0,
            cutoff: Some(40 * DAY),
            latest: i64::MAX,
            amazon_pay_references: vec!["AMAZON PAY".into()],
        }
    }

    fn inputs(
        orders: Vec<Order>,
        charges: Vec<Charge>,
        refunds: Vec<Refund>,
        lines: Vec<Line>,
    ) -> Inputs {
        Inputs {
            orders,
            charges,
            refunds,
            lines,
            settlements: Vec::new(),
            deposits: Vec::new(),
        }
    }

    /// Every pair of rows the reconciliation joined (an item and a counterpart named in its
    /// layer 1 or 2 row) lies in one component of the declared links: a rule that matches on
    /// a field no link declares fails here.
    fn joined_rows_share_a_component(inputs: &Inputs) -> Result<usize, String> {
        let rec = reconcile(inputs, &options());
        let components = Components::build(inputs);
        let mut checked = 0;
        for r in rec.rows.iter().filter(|r| r.layer <= 2) {
            let Some(mine) = components.of_item(r.item_type, &r.item_id) else {
                continue;
            };
            let text = r.counterparts.text();
            for cp in text.split(';').filter(|c| !c.is_empty()) {
                // Counterparts name orders' charges and refunds, items' lines (by id or by
                // `settlement:line`) and lines' items.
                let theirs = [ItemType::Charge, ItemType::SettlementLine]
                    .iter()
                    .find_map(|&ty| components.of_item(ty, cp))
                    .or_else(|| {
                        let l = inputs.lines.iter().find(|l| l.reference() == cp)?;
                        components.of_item(ItemType::SettlementLine, &l.item_id())
                    });
                // A capture without its order names the missing order: nothing to join.
                let Some(theirs) = theirs else { continue };
                if theirs != mine {
                    return Err(format!(
                        "{:?} {} ({:?}) joined {cp} outside its component",
                        r.item_type, r.item_id, r.status
                    ));
                }
                checked += 1;
            }
        }
        Ok(checked)
    }

    /// One join per declared link, each found by the rule and inside one component.
    #[test]
    fn each_declared_link_joins_its_rows_in_the_rule_and_the_components() {
        let cases: Vec<(&str, Inputs)> = vec![
            (
                orders::CHARGE_ORDER_ID.what,
                inputs(
                    vec![order("O1", None, 1000)],
                    vec![charge("C1", "P9", Some("O1"), None)],
                    vec![],
                    vec![],
                ),
            ),
            (
                orders::CHARGE_PERMISSION.what,
                inputs(
                    vec![order("O1", Some("P1"), 1000)],
                    vec![charge("C1", "P1", None, None)],
                    vec![],
                    vec![],
                ),
            ),
            (
                orders::REFUND_CHARGE.what,
                inputs(
                    vec![order("O1", None, 1000)],
                    vec![charge("C1", "P1", Some("O1"), None)],
                    vec![refund("F1", "C1")],
                    vec![],
                ),
            ),
            (
                settlement_lines::CHARGE_LINE.what,
                inputs(
                    vec![],
                    vec![charge("C1", "P1", None, None)],
                    vec![],
                    vec![line(2, "Capture", Some("C1"), None, None)],
                ),
            ),
            (
                settlement_lines::REFUND_LINE.what,
                inputs(
                    vec![],
                    vec![charge("C1", "P1", None, None)],
                    vec![refund("F1", "C1")],
                    vec![line(2, "Refund", Some("F1"), None, None)],
                ),
            ),
            (
                settlement_lines::CHARGE_LINE_REFERENCE.what,
                inputs(
                    vec![],
                    vec![charge("C1", "P1", None, Some("R1"))],
                    vec![],
                    vec![line(2, "Capture", Some("X"), Some("R1"), None)],
                ),
            ),
            (
                settlement_lines::ORDER_LINE.what,
                inputs(
                    vec![order("O1", Some("P1"), 1000)],
                    vec![charge("C1", "P1", None, None)],
                    vec![],
                    vec![line(2, "Capture", Some("X"), None, Some("O1"))],
                ),
            ),
            (
                settlement_lines::CHARGE_ORDER_LINE.what,
                inputs(
                    vec![],
                    vec![charge("C1", "P1", Some("O1"), None)],
                    vec![],
                    vec![line(2, "Capture", Some("X"), None, Some("O1"))],
                ),
            ),
        ];
        let declared: Vec<&str> = all().map(|l| l.what()).collect();
        assert_eq!(
            declared.len(),
            cases.len(),
            "a declared link without a case here"
        );
        for (what, inputs) in &cases {
            assert!(declared.contains(what), "{what} is not declared");
            let joined =
                joined_rows_share_a_component(inputs).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(joined > 0, "{what}: the rule joined nothing");
        }
    }

    /// Every table's keys fit [`KEY_SLOTS`] with every field set and distinct.
    #[test]
    fn every_table_fits_its_key_slots() {
        let o = order("O1", Some("P1"), 1);
        let c = charge("C1", "P2", Some("O2"), Some("R1"));
        let r = refund("F1", "C2");
        let l = line(2, "Capture", Some("T1"), Some("R2"), Some("O3"));
        for row in [
            Row::Order(&o),
            Row::Charge(&c),
            Row::Refund(&r),
            Row::Line(&l),
        ] {
            let keys = push_keys(row);
            assert!(keys.1 <= KEY_SLOTS);
        }
    }

    fn pick(pool: &'static [&'static str]) -> impl Strategy<Value = Option<&'static str>> {
        proptest::option::of(proptest::sample::select(pool))
    }

    proptest! {
        /// Random inputs from small pools of ids, so rows link in every way at once.
        #[test]
        fn joins_stay_inside_components(
            orders in proptest::collection::vec((pick(&["P1", "P2", "P3"]), prop::bool::ANY), 0..5),
            charges in proptest::collection::vec(
                (proptest::sample::select(&["P1", "P2", "P3"][..]), pick(&["O0", "O1", "O2", "O3"]), pick(&["R1", "R2"])),
                0..6,
            ),
            refunds in proptest::collection::vec(proptest::sample::select(&["C0", "C1", "C2", "C3"][..]), 0..4),
            lines in proptest::collection::vec(
                (prop::bool::ANY, pick(&["C0", "C1", "C2", "F0", "F1", "X"]), pick(&["R1", "R2"]), pick(&["O0", "O1", "O2"])),
                0..8,
            ),
        ) {
            let orders: Vec<Order> = orders.iter().enumerate()
                .map(|(i, (p, big))| order(&format!("O{i}"), *p, if *big { 2000 } else { 1000 }))
                .collect();
            let charges: Vec<Charge> = charges.iter().enumerate()
                .map(|(i, (p, m, s))| charge(&format!("C{i}"), p, *m, *s))
                .collect();
            let refunds: Vec<Refund> = refunds.iter().enumerate()
                .map(|(i, c)| refund(&format!("F{i}"), c))
                .collect();
            let lines: Vec<Line> = lines.iter().enumerate()
                .map(|(i, (capture, txn, s, o))| {
                    line(2 + i as i64, if *capture { "Capture" } else { "Refund" }, *txn, *s, *o)
                })
                .collect();
            let inputs = inputs(orders, charges, refunds, lines);
            joined_rows_share_a_component(&inputs).map_err(TestCaseError::fail)?;
        }
    }
}
