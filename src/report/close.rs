//! The month-close pack as people read it: its tables (the `close-YYYY-MM-*.csv` files and the
//! workbook's sheets) and its Markdown summary. The pack itself, and every figure in it, is
//! computed by `reconcile::close`; nothing here decides a number.

use std::collections::BTreeMap;

use crate::reconcile::close::{ClosePack, Ledger, SettlementSummary};
use crate::reconcile::{ItemType, ResultRow, Status};

/// The pack as tables: roll-forward (long: currency, figure, lines, amount), ledger totals,
/// in transit, and exceptions open at month end (aged at month end).
pub fn frames(pack: &ClosePack) -> [(&'static str, polars::prelude::DataFrame); 6] {
    use crate::reconcile::results::{exceptions_frame, money_column};
    use polars::prelude::*;
    let (mut cur, mut fig, mut lines, mut amt) = (vec![], vec![], vec![], vec![]);
    for (c, r) in &pack.roll_forward {
        for (name, (amount, n)) in r.figures() {
            cur.push(c.to_string());
            fig.push(name.to_string());
            lines.push(n);
            amt.push(Some(amount));
        }
    }
    let n = cur.len();
    let roll = DataFrame::new(
        n,
        vec![
            Column::new("currency".into(), cur),
            Column::new("figure".into(), fig),
            Column::new("lines".into(), lines),
            money_column("amount", amt),
        ],
    )
    .expect("equal lengths");
    let l: Vec<(&&str, &Ledger)> = pack.ledger.iter().collect();
    let get = |f: fn(&Ledger) -> i64| l.iter().map(|(_, g)| Some(f(g))).collect::<Vec<_>>();
    let ledger = DataFrame::new(
        l.len(),
        vec![
            Column::new(
                "currency".into(),
                l.iter().map(|(c, _)| c.to_string()).collect::<Vec<_>>(),
            ),
            money_column("gross_captured", get(|g| g.gross_captured)),
            money_column("refunds", get(|g| g.refunds)),
            money_column("fees", get(|g| g.fees)),
            money_column("net_settled", get(|g| g.net_settled)),
            money_column("paid_out", get(|g| g.paid_out)),
            money_column("deposited", get(|g| g.deposited)),
            money_column("deposits_in_transit_opening", get(|g| g.in_transit_opening)),
            money_column("deposits_in_transit_closing", get(|g| g.in_transit_closing)),
        ],
    )
    .expect("equal lengths");
    let t = &pack.in_transit;
    let day = |ts: i64| ts.div_euclid(86_400_000_000) as i32;
    let dates = |name: &str, v: Vec<Option<i32>>| {
        Series::new(name.into(), v)
            .cast(&DataType::Date)
            .expect("i32 casts to Date")
            .into_column()
    };
    let transit = DataFrame::new(
        t.len(),
        vec![
            Column::new("kind".into(), t.iter().map(|x| x.kind).collect::<Vec<_>>()),
            Column::new(
                "currency".into(),
                t.iter().map(|x| x.currency.code()).collect::<Vec<_>>(),
            ),
            Column::new(
                "item_id".into(),
                t.iter().map(|x| &*x.item_id).collect::<Vec<&str>>(),
            ),
            money_column("amount", t.iter().map(|x| Some(x.amount)).collect()),
            dates("date", t.iter().map(|x| Some(day(x.date))).collect()),
            dates("arrived", t.iter().map(|x| x.arrived.map(day)).collect()),
            Column::new(
                "counterpart_ids".into(),
                t.iter()
                    .map(|x| (!x.counterpart.is_empty()).then(|| x.counterpart.to_string()))
                    .collect::<Vec<Option<String>>>(),
            ),
        ],
    )
    .expect("equal lengths");
    // Aged at month end, named so (`exceptions.csv` ages to the cut-off).
    let mut exceptions = exceptions_frame(&pack.exceptions, pack.month.end - 1);
    for (from, to) in [
        ("age_days", "age_days_at_month_end"),
        ("age_bucket", "age_bucket_at_month_end"),
    ] {
        exceptions
            .rename(from, to.into())
            .expect("the exceptions frame has its age columns");
    }
    let st = &pack.settlements;
    let money = |name: &str, f: fn(&SettlementSummary) -> i64| {
        money_column(name, st.iter().map(|s| Some(f(s))).collect())
    };
    let settlements = DataFrame::new(
        st.len(),
        vec![
            Column::new(
                "settlement_id".into(),
                st.iter().map(|s| &*s.id).collect::<Vec<&str>>(),
            ),
            Column::new(
                "store_name".into(),
                st.iter()
                    .map(|s| Some(s.stores.as_str()).filter(|x| !x.is_empty()))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "currency".into(),
                st.iter().map(|s| s.currency.code()).collect::<Vec<_>>(),
            ),
            dates("start", st.iter().map(|s| s.start.map(day)).collect()),
            dates("end", st.iter().map(|s| Some(day(s.end))).collect()),
            Column::new(
                "lines".into(),
                st.iter().map(|s| s.lines).collect::<Vec<_>>(),
            ),
            money("captures", |s| s.captures),
            money("refunds", |s| s.refunds),
            money("other", |s| s.other),
            money("fees", |s| s.fees),
            money("paid_out", |s| s.paid_out),
            money("net_balance", |s| s.net),
            Column::new(
                "balance_status".into(),
                st.iter()
                    .map(|s| s.balance_status.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "payout_status".into(),
                st.iter()
                    .map(|s| s.payout_status.map(Status::as_str))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "deposit_id".into(),
                st.iter()
                    .map(|s| (!s.deposit.is_empty()).then(|| s.deposit.to_string()))
                    .collect::<Vec<Option<String>>>(),
            ),
        ],
    )
    .expect("equal lengths");
    let p: Vec<&ResultRow> = pack.payouts.iter().map(|(r, _)| r).collect();
    let payouts = DataFrame::new(
        p.len(),
        vec![
            Column::new(
                "kind".into(),
                p.iter()
                    .map(|r| match r.item_type {
                        ItemType::Deposit => "deposit",
                        _ => "payout",
                    })
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "item_id".into(),
                p.iter().map(|r| &*r.item_id).collect::<Vec<&str>>(),
            ),
            Column::new(
                "currency".into(),
                p.iter().map(|r| r.currency.code()).collect::<Vec<_>>(),
            ),
            dates("date", p.iter().map(|r| Some(day(r.item_ts))).collect()),
            money_column("expected_amount", p.iter().map(|r| r.expected).collect()),
            money_column("actual_amount", p.iter().map(|r| r.actual).collect()),
            money_column("difference", p.iter().map(|r| r.difference()).collect()),
            Column::new(
                "status".into(),
                p.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "counterpart_ids".into(),
                p.iter()
                    .map(|r| (!r.counterparts.is_empty()).then(|| r.counterparts.to_string()))
                    .collect::<Vec<Option<String>>>(),
            ),
            Column::new(
                "bank_reference".into(),
                pack.payouts
                    .iter()
                    .map(|(_, reference)| reference.as_deref())
                    .collect::<Vec<Option<&str>>>(),
            ),
        ],
    )
    .expect("equal lengths");
    [
        ("rollforward", roll),
        ("ledger", ledger),
        ("in_transit", transit),
        ("exceptions", exceptions),
        ("settlements", settlements),
        ("payouts", payouts),
    ]
}

/// A short Markdown summary of the pack.
pub fn markdown(pack: &ClosePack) -> String {
    use crate::reconcile::results::amount_text;
    let mut out = format!("# Month close {}\n\n", pack.month.label());
    out.push_str("## Amazon Pay balance roll-forward\n\n");
    for (c, r) in &pack.roll_forward {
        out.push_str(&format!(
            "### {c}\n\n| figure | lines | amount |\n|---|---:|---:|\n"
        ));
        for (name, (amount, n)) in r.figures() {
            out.push_str(&format!("| {name} | {n} | {} |\n", amount_text(amount)));
        }
        out.push_str(&format!(
            "\nopening + activity - transfers out = {} ; closing = {} : {}\n\n",
            amount_text(r.computed_closing()),
            amount_text(r.closing.0),
            if r.ties() { "ties" } else { "DOES NOT TIE" }
        ));
    }
    out.push_str("## Ledger totals\n\n| currency | gross captured | refunds | fees | net settled | paid out | deposited | in transit at start | in transit at end |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (c, g) in &pack.ledger {
        out.push_str(&format!(
            "| {c} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            amount_text(g.gross_captured),
            amount_text(g.refunds),
            amount_text(g.fees),
            amount_text(g.net_settled),
            amount_text(g.paid_out),
            amount_text(g.deposited),
            amount_text(g.in_transit_opening),
            amount_text(g.in_transit_closing)
        ));
    }
    out.push('\n');
    for (c, g) in &pack.ledger {
        out.push_str(&format!(
            "{c}: in transit at start + paid out - deposited = {} ; in transit at end = {} : {}\n",
            amount_text(g.computed_in_transit()),
            amount_text(g.in_transit_closing),
            if g.ties() { "ties" } else { "DOES NOT TIE" }
        ));
    }
    out.push_str("\n## In transit at month end\n\n| kind | currency | items | amount |\n|---|---|---:|---:|\n");
    let mut groups: BTreeMap<(&str, &str), (u64, i64)> = BTreeMap::new();
    for t in &pack.in_transit {
        let e = groups.entry((t.kind, t.currency.code())).or_default();
        e.0 += 1;
        e.1 += t.amount;
    }
    for ((k, c), (n, a)) in &groups {
        out.push_str(&format!("| {k} | {c} | {n} | {} |\n", amount_text(*a)));
    }
    out.push_str("\n## Exceptions open at month end\n\n| status | items | oldest (days) |\n|---|---:|---:|\n");
    let mut ex: BTreeMap<&str, (u64, i64)> = BTreeMap::new();
    for r in &pack.exceptions {
        let e = ex.entry(r.status.as_str()).or_default();
        e.0 += 1;
        e.1 = e.1.max(r.age_days(pack.month.end - 1));
    }
    for (s, (n, age)) in &ex {
        out.push_str(&format!("| {s} | {n} | {age} |\n"));
    }
    if ex.is_empty() {
        out.push_str("| (none) | 0 | |\n");
    }
    out
}
