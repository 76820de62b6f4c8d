//! `approvals.html`: one self-contained page (no network, no scripts, no web fonts; inline CSS
//! and SVG) with the month's headline approval rates; rates by country, device, order value
//! band and currency (bars on one 0–100 % axis, sorted by rate, the overall rate as a
//! reference line); declines by class and by reason code, reasons by week; the daily trend
//! with the daily volume under it; the largest week-over-week movers and the significant
//! changes; recovery by reason code and the catalogue's advice for the top decline reasons.
//! Each section links to the CSV file of its table. Readable from a 390 px phone to a laptop
//! screen, and printable.
//!
//! Every data value is escaped by maud's `html!`.

use std::collections::BTreeMap;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::bars::{self, CountBar, RateBar};
use super::svg::{self, DayVolume, TrendPoint};
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
.narrow { display: none; }
h2 { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: baseline; gap: 4px 12px; }
h2 a.csv { font-size: 12px; font-weight: 400; color: var(--bar); }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
.scroll table { min-width: 520px; }
.bars { margin-top: 8px; }
.bars .row, .bars .axis { display: grid; grid-template-columns: minmax(56px, 190px) minmax(120px, 1fr) minmax(130px, 220px);
  gap: 10px; align-items: center; }
.bars .row { min-height: 24px; }
.bars .lbl { text-align: right; font-size: 13px; overflow-wrap: anywhere; }
.bars .track { position: relative; height: 14px; background: #f4f6f8; border-radius: 2px; }
.bars .bar { position: absolute; left: 0; top: 0; bottom: 0; background: var(--bar); border-radius: 2px; min-width: 1px; }
.bars .bar.low { background: repeating-linear-gradient(45deg, #eef1f4 0 3px, #9aa7b4 3px 5px); }
.bars .bar.soft { background: #e0a33a; } .bars .bar.hard { background: #c2452d; }
.bars .bar.buyer_action { background: #7b5ea7; } .bars .bar.integration { background: #3a8f7b; }
.bars .bar.unknown, .bars .bar.none { background: #8a96a3; }
.bars .ci { position: absolute; top: 6px; height: 2px; background: var(--ink); }
.bars .ci::before, .bars .ci::after { content: ""; position: absolute; top: -4px; height: 10px; border-left: 1.5px solid var(--ink); }
.bars .ci::before { left: 0; } .bars .ci::after { right: 0; }
.bars .ref { position: absolute; top: -5px; bottom: -5px; border-left: 2px dashed #c2452d; }
.bars .val { font-size: 12px; color: var(--muted); font-variant-numeric: tabular-nums; }
.bars .val strong { color: var(--ink); }
.bars .axis .ticks { position: relative; height: 16px; font-size: 11px; color: var(--muted); }
.bars .axis .ticks span { position: absolute; transform: translateX(-50%); }
.bars .axis .ticks span:first-child { transform: none; }
.bars .axis .ticks span:last-child { transform: translateX(-100%); }
.legend { font-size: 12px; color: var(--muted); margin: 6px 0 0; }
.refkey { display: inline-block; width: 16px; border-top: 2px dashed #c2452d; vertical-align: middle; margin-right: 6px; }
svg .approved { fill: var(--bar); } svg .declined { fill: #c2452d; } svg .other { fill: #c9d1d9; }
td.heat { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
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
@media (max-width: 600px) {
  body { padding: 14px 12px 32px; font-size: 14px; }
  h1 { font-size: 21px; } h2 { font-size: 17px; }
  .card .value { font-size: 22px; }
  .wide { display: none; } .narrow { display: block; }
  .bars .row, .bars .axis { grid-template-columns: minmax(0, 1fr) auto; grid-template-areas: "lbl val" "track track"; gap: 2px 8px; }
  .bars .row { margin-bottom: 6px; }
  .bars .lbl { grid-area: lbl; text-align: left; }
  .bars .val { grid-area: val; text-align: right; }
  .bars .track { grid-area: track; }
  .bars .axis { grid-template-areas: "track track"; }
  .bars .axis .ticks { grid-area: track; }
  .bars .axis > span:not(.ticks) { display: none; }
}
@media print {
  body { max-width: none; padding: 0; font-size: 12px; }
  h2 { break-after: avoid; } section, svg, table { break-inside: avoid; }
  .card { border-color: #999; }
}
"#;

/// The hatch pattern low-volume bars are filled with (defined once, referenced by CSS).
const DEFS: &str = r##"<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eef1f4"></rect><line x1="0" y1="0" x2="0" y2="6" stroke="#9aa7b4" stroke-width="2"></line></pattern></defs></svg>"##;

/// Reason codes in the reasons chart and the reason × week table.
const REASONS_SHOWN: usize = 12;
/// Rows of the largest movers table.
const MOVERS_SHOWN: usize = 10;

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
            extra: None,
        })
        .collect()
}

/// The currency bars, each with its amount-weighted rate.
fn currency_bars(t: &Tables) -> Vec<RateBar> {
    let amount = column_f64s(&t.by_currency, "amount_approval_rate");
    let mut v = rate_bars_of(&t.by_currency, "currency");
    for (b, a) in v.iter_mut().zip(amount) {
        b.extra = Some(format!("by amount {}", pct(a)));
    }
    v
}

/// The most frequent decline reasons (as the declines table orders them), coloured by class.
fn reason_bars(t: &Tables, top: usize) -> Vec<CountBar> {
    let df = &t.declines;
    let reason = column_strs(df, "reason_code");
    let class = column_strs(df, "decline_class");
    let count = column_u64s(df, "declines");
    let share = column_f64s(df, "share_of_declines");
    (0..df.height().min(top))
        .map(|i| CountBar {
            label: reason[i].clone().unwrap_or_else(|| "(none)".into()),
            count: count[i],
            share: share[i],
            class: class[i].clone().unwrap_or_else(|| "none".into()),
        })
        .collect()
}

/// A section heading with a link to the CSV file of its table.
fn heading(title: &str, csv: &str) -> Markup {
    html! {
        h2 { (title) a class="csv" href=(csv) download { (csv) } }
    }
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
            div class="scroll" { table data-table="changes" {
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
            } }
        }
    }
}

/// The largest week-over-week changes by country and device, significant or not: cells with at
/// least `min_n` decided attempts in both weeks, by the size of the change.
fn movers_table(t: &Tables, settings: &ReportSettings, top: usize) -> Markup {
    let df = &t.changes;
    let (country, device) = (column_strs(df, "country"), column_strs(df, "device"));
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
    let sig = column_bools(df, "significant");
    let mut rows: Vec<usize> = (0..df.height())
        .filter(|&i| change[i].is_some() && pd[i] >= settings.min_n && d[i] >= settings.min_n)
        .collect();
    rows.sort_by(|&a, &b| {
        let (x, y) = (
            change[a].unwrap_or(0.0).abs(),
            change[b].unwrap_or(0.0).abs(),
        );
        y.total_cmp(&x)
            .then_with(|| country[a].cmp(&country[b]))
            .then_with(|| device[a].cmp(&device[b]))
    });
    rows.truncate(top);
    html! {
        p class="note" {
            "Week over week by country and device, the " (rows.len()) " largest changes in cells with at least "
            (settings.min_n) " decided attempts in both weeks, whether significant or not; q-values after Benjamini–Hochberg."
        }
        @if !rows.is_empty() {
            div class="scroll" {
                table data-table="movers" {
                    thead { tr {
                        th { "country" } th { "device" }
                        th class="num" { "previous" } th class="num" { "n" }
                        th class="num" { "this week" } th class="num" { "n" }
                        th class="num" { "change (pts)" } th class="num" { "q-value" } th { "significant" }
                    } }
                    tbody {
                        @for i in rows {
                            tr {
                                td { (opt(&country[i])) } td { (opt(&device[i])) }
                                td class="num" { (pct(prev[i])) } td class="num" { (num(pd[i])) }
                                td class="num" { (pct(rate[i])) } td class="num" { (num(d[i])) }
                                td class="num" { (change[i].map(|c| format!("{:+.1}", c * 100.0)).unwrap_or_default()) }
                                td class="num" { (q[i].map(|q| format!("{q:.4}")).unwrap_or_default()) }
                                td { @if sig[i] { span class="tag drop" { "yes" } } @else { "no" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Declines of the top reason codes per ISO week of the month: the count and its share of the
/// week's attempts, shaded by that share.
fn reason_week_table(t: &Tables, top: usize) -> Markup {
    let reasons: Vec<String> = column_strs(&t.declines, "reason_code")
        .into_iter()
        .take(top)
        .map(|r| r.unwrap_or_else(|| "(none)".into()))
        .collect();
    let df = &t.declines_by_week;
    let (week, reason) = (column_strs(df, "week"), column_strs(df, "reason_code"));
    let (count, share) = (
        column_u64s(df, "declines"),
        column_f64s(df, "share_of_attempts"),
    );
    let weeks: std::collections::BTreeSet<String> = column_strs(&t.by_week, "week")
        .into_iter()
        .flatten()
        .collect();
    let mut cell: BTreeMap<(&str, &str), (u64, Option<f64>)> = BTreeMap::new();
    for i in 0..df.height() {
        if let (Some(w), Some(r)) = (&week[i], &reason[i]) {
            cell.insert((r.as_str(), w.as_str()), (count[i], share[i]));
        }
    }
    let max = cell
        .values()
        .filter_map(|c| c.1)
        .fold(0.0f64, f64::max)
        .max(1e-9);
    html! {
        @if reasons.is_empty() {
            p class="note" { "No declines this month." }
        } @else {
            p class="note" { "Declined attempts per ISO week (the month's days of it) and their share of the week's attempts; darker is a larger share." }
            div class="scroll" {
                table data-table="reason-week" {
                    thead { tr {
                        th { "reason code" }
                        @for w in &weeks { th class="num" { (w) } }
                    } }
                    tbody {
                        @for r in &reasons {
                            tr {
                                td { (r) }
                                @for w in &weeks {
                                    @match cell.get(&(r.as_str(), w.as_str())) {
                                        Some((n, sh)) => {
                                            td class="heat" style=(format!("background:rgba(194,69,45,{:.3})", sh.unwrap_or(0.0) / max * 0.45)) {
                                                (num(*n)) " · " (pct(*sh))
                                            }
                                        }
                                        None => { td class="heat" { "0" } }
                                    }
                                }
                            }
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
            div class="scroll" { table data-table="recovery" {
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
            } }
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
            div class="scroll" { table data-table="advice" {
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
            } }
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
    let volume: Vec<DayVolume> = {
        let (a, d) = (
            column_u64s(&t.by_day, "approved"),
            column_u64s(&t.by_day, "declined"),
        );
        let n = column_u64s(&t.by_day, "attempts");
        (0..t.by_day.height())
            .map(|i| DayVolume {
                label: days[i].clone().unwrap_or_default(),
                approved: a[i],
                declined: d[i],
                other: n[i].saturating_sub(a[i] + d[i]),
            })
            .collect()
    };
    let trend_axis = svg::axis_start(
        trend
            .iter()
            .flat_map(|p| [p.rate.rate, p.rate.lo])
            .flatten(),
    );
    let overall = h.attempt.rate;
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
                    (heading("Approval rate by country", "approvals-by-country.csv"))
                    p class="note" { "Attempt approval rate with its 95 % Wilson interval, highest first; every bar chart shares one axis from 0 to 100 %, with the month's overall rate as the dashed line. Hatched bars have fewer than " (settings.min_n) " decided attempts or orders (low volume)." }
                    (bars::rate_bars("country", "Approval rate by country", &mut rate_bars_of(&t.by_country, "country"), overall, false))
                }
                section id="device" {
                    (heading("Approval rate by device", "approvals-by-device.csv"))
                    (bars::rate_bars("device", "Approval rate by device", &mut rate_bars_of(&t.by_device, "device"), overall, false))
                }
                section id="value-band" {
                    (heading("Approval rate by order value band", "approvals-by-value-band.csv"))
                    p class="note" { "Bands of the order's value in its currency, smallest first." }
                    (bars::rate_bars("value_band", "Approval rate by order value band", &mut rate_bars_of(&t.by_value_band, "value_band"), overall, true))
                }
                section id="currency" {
                    (heading("Approval rate by currency", "approvals-by-currency.csv"))
                    p class="note" { "Attempt approval rate, and the share of the decided amount approved (within one currency)." }
                    (bars::rate_bars("currency", "Approval rate by currency", &mut currency_bars(t), overall, false))
                }
                section id="classes" {
                    (heading("Declines by class", "declines-by-reason.csv"))
                    (bars::count_bars("classes", "Declined attempts by decline class", &class_bars(t)))
                }
                section id="reasons" {
                    (heading("Decline reasons", "declines-by-reason.csv"))
                    p class="note" { "Declined attempts by reason code, the " (REASONS_SHOWN) " most frequent, coloured by class, with their share of all declines." }
                    (bars::count_bars("reasons", "Declined attempts by reason code", &reason_bars(t, REASONS_SHOWN)))
                }
                section id="reason-week" {
                    (heading("Decline reasons by week", "declines-by-week.csv"))
                    (reason_week_table(t, REASONS_SHOWN))
                }
                section id="trend" {
                    (heading("Daily trend", "approvals-by-day.csv"))
                    p class="note" {
                        "Attempt approval rate per local day, with its 95 % interval band (this axis starts at "
                        (format!("{:.0}", trend_axis * 100.0)) " % to show the daily movement); attempts per day below: approved, declined, pending or canceled."
                    }
                    div class="wide" {
                        (svg::trend("trend", "Daily attempt approval rate", &trend, 760.0))
                        (svg::volume("volume", "Attempts per day", &volume, 760.0))
                    }
                    div class="narrow" {
                        (svg::trend("trend-phone", "Daily attempt approval rate", &trend, 360.0))
                        (svg::volume("volume-phone", "Attempts per day", &volume, 360.0))
                    }
                }
                section id="movers" {
                    (heading("Largest movers", "changes-week.csv"))
                    (movers_table(t, settings, MOVERS_SHOWN))
                }
                section id="changes" {
                    (heading("Significant changes", "changes-week.csv"))
                    (changes_table(t, settings))
                }
                section id="recovery" {
                    (heading("Recovery by first decline reason", "recovery-by-reason.csv"))
                    p class="note" { "Orders whose first decided attempt was declined, and how many were approved later." }
                    (recovery_table(t))
                }
                section id="advice" {
                    (heading("Top decline reasons: what to do", "declines-by-reason.csv"))
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
