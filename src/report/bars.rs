//! Bar charts of the HTML report as HTML and CSS, not SVG: their text is page text, so it keeps
//! its size on a phone, and the bars are percentages of their track, so they fit any width.
//!
//! Rate bars share one axis from 0 to 100 % (bar lengths are comparable across charts) and
//! carry the overall rate as a dashed reference line, the 95 % interval as a whisker, and a
//! hatch for low volume. Count bars scale to the largest count. Every bar has the class `bar`
//! (the browser check counts them) and a `title` with its exact figures; all text goes through
//! maud, so it is escaped.

use maud::{Markup, html};

use super::{Rate, pct};

/// One bar of a rate chart.
pub(super) struct RateBar {
    pub label: String,
    pub rate: Rate,
    pub low_volume: bool,
    /// Extra text after the rate (e.g. the amount-weighted rate).
    pub extra: Option<String>,
}

/// One bar of a count chart.
pub(super) struct CountBar {
    pub label: String,
    pub count: u64,
    pub share: Option<f64>,
    /// CSS class of the bar's colour (a decline class).
    pub class: String,
}

/// A count with thousands separators.
fn count(v: u64) -> String {
    crate::model::money::group_thousands(&v.to_string())
}

/// A share of the track as a CSS percentage.
fn at(v: f64) -> String {
    format!("{:.2}%", (v * 100.0).clamp(0.0, 100.0))
}

/// Rate bars, highest rate first (ties by label) unless `keep_order` (an ordinal dimension
/// such as the value band), with `overall` as the reference line.
pub(super) fn rate_bars(
    chart: &str,
    title: &str,
    bars: &mut [RateBar],
    overall: Option<f64>,
    keep_order: bool,
) -> Markup {
    if !keep_order {
        bars.sort_by(|a, b| {
            b.rate
                .rate
                .unwrap_or(-1.0)
                .total_cmp(&a.rate.rate.unwrap_or(-1.0))
                .then_with(|| a.label.cmp(&b.label))
        });
    }
    html! {
        div class="bars" data-chart=(chart) role="figure" aria-label=(title) {
            div class="axis" aria-hidden="true" {
                span {}
                span class="ticks" {
                    @for t in [0, 25, 50, 75, 100] {
                        span style=(format!("left:{t}%")) { (t) "%" }
                    }
                }
                span {}
            }
            @for b in bars.iter() {
                div class="row" title=(format!(
                    "{}: {}, 95 % interval {}, {} decided{}",
                    b.label, pct(b.rate.rate), b.rate.interval_text(), count(b.rate.n),
                    if b.low_volume { " (low volume)" } else { "" }
                )) {
                    span class="lbl" { (b.label) }
                    span class="track" {
                        span class=(if b.low_volume { "bar low" } else { "bar" })
                            style=(format!("width:{}", at(b.rate.rate.unwrap_or(0.0)))) {}
                        @if let (Some(l), Some(h)) = (b.rate.lo, b.rate.hi) {
                            span class="ci" style=(format!("left:{};width:{}", at(l), at(h - l))) {}
                        }
                        @if let Some(o) = overall {
                            span class="ref" style=(format!("left:{}", at(o))) {}
                        }
                    }
                    span class="val" {
                        strong { (pct(b.rate.rate)) } " n=" (count(b.rate.n))
                        @if let Some(x) = &b.extra { " · " (x) }
                        @if b.low_volume { " · low n" }
                    }
                }
            }
            @if let Some(o) = overall {
                p class="legend" { span class="refkey" {} "overall " (pct(Some(o))) "; whiskers: 95 % interval; axis 0–100 %" }
            }
        }
    }
}

/// Count bars in the order given, scaled to the largest.
pub(super) fn count_bars(chart: &str, title: &str, bars: &[CountBar]) -> Markup {
    let max = bars.iter().map(|b| b.count).max().unwrap_or(0).max(1) as f64;
    html! {
        div class="bars" data-chart=(chart) role="figure" aria-label=(title) {
            @for b in bars {
                div class="row" title=(format!("{}: {} ({})", b.label, count(b.count), pct(b.share))) {
                    span class="lbl" { (b.label) }
                    span class="track" {
                        span class=(format!("bar {}", b.class))
                            style=(format!("width:{}", at(b.count as f64 / max))) {}
                    }
                    span class="val" { strong { (count(b.count)) } " (" (pct(b.share)) ")" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, rate: f64, low: bool) -> RateBar {
        RateBar {
            label: label.into(),
            rate: Rate {
                rate: Some(rate),
                lo: Some(rate - 0.05),
                hi: Some(rate + 0.04),
                n: 200,
            },
            low_volume: low,
            extra: None,
        }
    }

    #[test]
    fn sorted_by_rate_escaped_and_counted() {
        let mut bars = [
            bar("<script>alert(1)</script>", 0.5, false),
            bar("DE", 0.9, true),
        ];
        let html = rate_bars("c", "t", &mut bars, Some(0.8), false).into_string();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert_eq!(html.matches("class=\"bar\"").count(), 1);
        assert_eq!(html.matches("class=\"bar low\"").count(), 1);
        assert!(html.find("DE").unwrap() < html.find("&lt;script").unwrap());
        assert!(html.contains("left:80.00%"), "reference line");
        assert!(html.contains("width:90.00%"), "bars from 0 %");
    }

    #[test]
    fn ordinal_bars_keep_their_order() {
        let mut bars = [bar("0-25", 0.9, false), bar("25-50", 0.7, false)];
        let html = rate_bars("c", "t", &mut bars, None, true).into_string();
        assert!(html.find("0-25").unwrap() < html.find("25-50").unwrap());
    }
}
