//! `approvals.html`: one self-contained page (no network, no scripts, no web fonts; inline CSS
//! and SVG) with the month's headline approval rates, rates by country and device, decline
//! classes, the daily trend, significant changes, recovery by reason code and the catalogue's
//! advice for the top decline reasons. Readable on a laptop screen and printable.
//!
//! Every data value is escaped by maud's `html!`.

use std::collections::BTreeMap;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::svg::{self, CountBar, RateBar, TrendPoint};
use super::{
    Headline, Rate, ReportSettings, Tables, amount_rates, column_bools, column_f64s, column_strs,
    column_u64s, pct, rates,
};

const CSS: &str = r#"
:root { --ink:#1d2733; --muted:#5b6875; --line:#d5dbe1; --bar:#2f6db5; --low:#9aa7b4; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  color: var(--ink); margin: 0 auto; max-width: 1080px; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 34px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
p.meta, p.note { color: var(--muted); margin: 4px 0; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin-top: 18px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .name { color: var(--muted); font-size: 13px; }
.card .value { font-size: 28px; font-weight: 600; }
.card .ci { color: var(--muted); font-size: 13px; }
.card .cur { font-size: 16px; } .card .cur strong { font-size: 18px; }
.two { display: grid; grid-template-columns: 1fr; gap: 8px; }
svg.chart { max-width: 100%; height: auto; display: block; }
svg .grid { stroke: #eceff2; stroke-width: 1; }
svg .tick { font-size: 11px; fill: var(--muted); }
svg .label { font-size: 12px; fill: var(--ink); }
svg .value { font-size: 12px; fill: var(--muted); }
svg .bar { fill: var(--bar); }
svg .bar.low { fill: url(#hatch); stroke: var(--low); }
svg .whisker { stroke: var(--ink); stroke-width: 1.4; }
svg .band { fill: #2f6db5; fill-opacity: 0.15; stroke: none; }
svg .line { fill: none; stroke: var(--bar); stroke-width: 2; }
svg .point { fill: var(--bar); }
svg .soft { fill: #e0a33a; } svg .hard { fill: #c2452d; } svg .buyer_action { fill: #7b5ea7; }
svg .integration { fill: #3a8f7b; } svg .unknown { fill: #8a96a3; } svg .none { fill: #8a96a3; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin-top: 8px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f4f6f8; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.low td { color: var(--muted); }
.tag { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px; }
.tag.drop { background: #fbe3de; color: #8c2a17; } .tag.rise { background: #dff1e6; color: #1d6b3c; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media (max-width: 800px) { .cards { grid-template-columns: repeat(2, 1fr); } }
@media print {
  body { max-width: none; padding: 0; font-size: 12px; }
  h2 { break-after: avoid; } section, svg, table { break-inside: avoid; }
  .card { border-color: #999; }
}
"#;

/// The hatch pattern low-volume bars are filled with (defined once, referenced by CSS).
const DEFS: &str = r##"<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eef1f4"></rect><line x1="0" y1="0" x2="0" y2="6" stroke="#9aa7b4" stroke-width="2"></line></pattern></defs></svg>"##;

fn card(name: &str, r: &Rate, note: &str) -> Markup {
    html! {
        div class="card" {
            div class="name" { (name) }
            div class="value" { (pct(r.rate)) }
            div class="ci" { "95 % CI " (r.interval_text()) }
            div class="ci" { (num(r.n)) " " (note) }
        }
    }
}

fn rate_bars_of(df: &polars::prelude::DataFrame, dim: &str) -> Vec<RateBar> {
    let labels = column_strs(df, dim);
    let low = column_bools(df, "low_volume");
    rates(df, "approval_rate", "approved", "declined")
        .into_iter()
        .enumerate()
        .map(|(i, rate)| RateBar {
            label: labels[i].clone().unwrap_or_else(|| "(none)".into()),
            rate,
            low_volume: low[i],
        })
        .collect()
}

/// Declines by class, in the catalogue's class order, from the declines-by-reason table.
fn class_bars(t: &Tables) -> Vec<CountBar> {
    let classes = column_strs(&t.declines, "decline_class");
    let counts = column_u64s(&t.declines, "declines");
    let mut by: BTreeMap<usize, (String, u64)> = BTreeMap::new();
    const ORDER: [&str; 5] = ["soft", "hard", "buyer_action", "integration", "unknown"];
    for (c, n) in classes.iter().zip(counts) {
        let name = c.clone().unwrap_or_else(|| "none".into());
        let k = ORDER.iter().position(|o| *o == name).unwrap_or(ORDER.len());
        let e = by.entry(k).or_insert((name, 0));
        e.1 += n;
    }
    let total: u64 = by.values().map(|v| v.1).sum();
    by.into_values()
        .map(|(name, count)| CountBar {
            class: name.clone(),
            label: name.replace('_', " "),
            count,
            share: (total > 0).then(|| count as f64 / total as f64),
        })
        .collect()
}

fn num(v: u64) -> String {
    crate::model::money::group_thousands(&v.to_string())
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// The significant changes (drops first), or a sentence saying there are none.
fn changes_table(t: &Tables, settings: &ReportSettings) -> Markup {
    let df = &t.changes;
    let sig = column_bools(df, "significant");
    let rows: Vec<usize> = (0..df.height()).filter(|&i| sig[i]).collect();
    let (country, device, period, previous, direction) = (
        column_strs(df, "country"),
        column_strs(df, "device"),
        column_strs(df, "period"),
        column_strs(df, "previous_period"),
        column_strs(df, "direction"),
    );
    let (prev, rate, change, q) = (
        column_f64s(df, "previous_rate"),
        column_f64s(df, "approval_rate"),
        column_f64s(df, "change"),
        column_f64s(df, "q_value"),
    );
    let (pd, d) = (
        column_u64s(df, "previous_decided"),
        column_u64s(df, "decided"),
    );
    html! {
        p class="note" {
            "Week over week, by country and device: " (df.height()) " cells tested with a two-proportion "
            "z-test, Benjamini–Hochberg at a false discovery rate of " (settings.fdr) "; "
            (rows.len()) " significant."
            @if let (Some(p), Some(c)) = (period.first().cloned().flatten(), previous.first().cloned().flatten()) {
                " Week " (p) " against " (c) "."
            }
        }
        @if !rows.is_empty() {
            table data-table="changes" {
                thead { tr {
                    th { "country" } th { "device" } th { "direction" }
                    th class="num" { "previous" } th class="num" { "n" }
                    th class="num" { "this week" } th class="num" { "n" }
                    th class="num" { "change (pts)" } th class="num" { "q-value" }
                } }
                tbody {
                    @for i in rows {
                        tr {
                            td { (opt(&country[i])) } td { (opt(&device[i])) }
                            td { span class=(format!("tag {}", opt(&direction[i]))) { (opt(&direction[i])) } }
                            td class="num" { (pct(prev[i])) } td class="num" { (num(pd[i])) }
                            td class="num" { (pct(rate[i])) } td class="num" { (num(d[i])) }
                            td class="num" { (change[i].map(|c| format!("{:+.1}", c * 100.0)).unwrap_or_default()) }
                            td class="num" { (q[i].map(|q| format!("{q:.4}")).unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    }
}

fn recovery_table(t: &Tables) -> Markup {
    let df = &t.recovery;
    let reason = column_strs(df, "reason_code");
    let class = column_strs(df, "decline_class");
    let orders = column_u64s(df, "orders");
    let recovered = column_u64s(df, "recovered");
    let rate = column_f64s(df, "recovery_rate");
    let lo = column_f64s(df, "recovery_rate_lo");
    let hi = column_f64s(df, "recovery_rate_hi");
    let median = column_f64s(df, "median_attempts_to_recovery");
    let low = column_bools(df, "low_volume");
    html! {
        @if df.height() == 0 {
            p class="note" { "No declined orders this month." }
        } @else {
            table data-table="recovery" {
                thead { tr {
                    th { "first decline reason" } th { "class" } th class="num" { "orders" }
                    th class="num" { "recovered" } th class="num" { "recovery rate" }
                    th class="num" { "95 % CI" } th class="num" { "median attempts" }
                } }
                tbody {
                    @for i in 0..df.height() {
                        tr class=[low[i].then_some("low")] {
                            td { (reason[i].as_deref().unwrap_or("(none)")) @if low[i] { " (low n)" } }
                            td { (opt(&class[i])) }
                            td class="num" { (num(orders[i])) } td class="num" { (num(recovered[i])) }
                            td class="num" { (pct(rate[i])) }
                            td class="num" { (Rate { rate: rate[i], lo: lo[i], hi: hi[i], n: 0 }.interval_text()) }
                            td class="num" { (median[i].map(|m| format!("{m}")).unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    }
}

fn advice_table(t: &Tables) -> Markup {
    let df = &t.declines;
    let reason = column_strs(df, "reason_code");
    let class = column_strs(df, "decline_class");
    let count = column_u64s(df, "declines");
    let share = column_f64s(df, "share_of_declines");
    let action = column_strs(df, "action");
    let advice = column_strs(df, "advice");
    let n = df.height().min(5);
    html! {
        @if n == 0 {
            p class="note" { "No declines this month." }
        } @else {
            table data-table="advice" {
                thead { tr {
                    th { "reason code" } th { "class" } th class="num" { "declines" }
                    th class="num" { "share" } th { "what to do" }
                } }
                tbody {
                    @for i in 0..n {
                        tr {
                            td { (reason[i].as_deref().unwrap_or("(none)")) }
                            td { (opt(&class[i])) }
                            td class="num" { (num(count[i])) } td class="num" { (pct(share[i])) }
                            td { (opt(&action[i])) @if advice[i].as_deref().is_some_and(|a| !a.is_empty()) { " " (opt(&advice[i])) } }
                        }
                    }
                }
            }
        }
    }
}

/// The whole page.
pub fn approvals_page(t: &Tables, settings: &ReportSettings) -> String {
    let h = Headline::of(&t.headline);
    let days = column_strs(&t.by_day, "day");
    let trend: Vec<TrendPoint> = rates(&t.by_day, "approval_rate", "approved", "declined")
        .into_iter()
        .enumerate()
        .map(|(i, rate)| TrendPoint {
            label: days[i].clone().unwrap_or_default(),
            rate,
        })
        .collect();
    let label = settings.month.label();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Amazon Pay approvals " (label) }
                style { (PreEscaped(CSS)) }
            }
            body {
                (PreEscaped(DEFS))
                header {
                    h1 { "Amazon Pay approvals, " (label) }
                    p class="meta" {
                        "Local days " (t.first_day.to_string()) " to " (t.last_day.to_string()) " (" (settings.timezone) ")"
                        @match t.newest_day { Some(d) => { "; data up to " (d.to_string()) "." } None => { "; no attempts in this month." } }
                        " " (num(h.attempts)) " attempts on " (num(h.orders)) " orders: "
                        (num(h.approved)) " approved, " (num(h.declined)) " declined, " (num(h.pending)) " pending."
                    }
                    @if let Some(at) = &settings.generated_at { p class="meta" { "Generated " (crate::model::time::format_timestamp(*at)) "." } }
                }
                section id="headline" {
                    div class="cards" {
                        (card("Attempt approval rate", &h.attempt, "decided attempts"))
                        (card("First-attempt approval", &h.first, "decided orders"))
                        (card("Eventual approval", &h.eventual, "decided orders"))
                        div class="card" {
                            div class="name" { "Amount-weighted approval" }
                            @match h.amount {
                                Some(_) => { div class="value" { (pct(h.amount)) } }
                                None => {
                                    @for (c, r) in amount_rates(t).iter().take(3) {
                                        div class="cur" { span { (c) } " " strong { (pct(*r)) } }
                                    }
                                }
                            }
                            div class="ci" { "share of decided value approved, per currency" }
                        }
                    }
                }
                section id="country" {
                    h2 { "Approval rate by country" }
                    p class="note" { "Attempt approval rate with its 95 % Wilson interval; hatched bars have fewer than " (settings.min_n) " decided attempts or orders (low volume)." }
                    (svg::rate_bars("country", "Approval rate by country", &rate_bars_of(&t.by_country, "country")))
                }
                section id="device" {
                    h2 { "Approval rate by device" }
                    (svg::rate_bars("device", "Approval rate by device", &rate_bars_of(&t.by_device, "device")))
                }
                section id="classes" {
                    h2 { "Declines by class" }
                    (svg::count_bars("classes", "Declined attempts by decline class", &class_bars(t)))
                }
                section id="trend" {
                    h2 { "Daily trend" }
                    p class="note" { "Attempt approval rate per local day, with its 95 % interval band." }
                    (svg::trend("trend", "Daily attempt approval rate", &trend))
                }
                section id="changes" {
                    h2 { "Significant changes" }
                    (changes_table(t, settings))
                }
                section id="recovery" {
                    h2 { "Recovery by first decline reason" }
                    p class="note" { "Orders whose first decided attempt was declined, and how many were approved later." }
                    (recovery_table(t))
                }
                section id="advice" {
                    h2 { "Top decline reasons: what to do" }
                    (advice_table(t))
                }
                footer {
                    "payrecon. Definitions: attempt approval = approved ÷ (approved + declined); "
                    "first-attempt and eventual approval over decided orders; intervals are 95 % Wilson score intervals."
                }
            }
        }
    };
    page.into_string()
}
