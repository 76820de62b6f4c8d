//! Inline SVG charts for the HTML report: horizontal rate bars with interval whiskers, count
//! bars, and a daily trend line with its interval band. Every data mark carries a class the
//! browser check counts (`bar`, `point`) and a `<title>` with the exact figures; all text goes
//! through maud, so it is escaped.

use maud::{Markup, html};

use super::{Rate, pct};

/// One bar of a rate chart.
pub struct RateBar {
    pub label: String,
    pub rate: Rate,
    pub low_volume: bool,
}

/// One bar of a count chart.
pub struct CountBar {
    pub label: String,
    pub count: u64,
    pub share: Option<f64>,
    /// CSS class of the bar's colour.
    pub class: String,
}

/// One day of a trend.
pub struct TrendPoint {
    pub label: String,
    pub rate: Rate,
}

/// A count with thousands separators.
fn count(v: u64) -> String {
    crate::model::money::group_thousands(&v.to_string())
}

fn f(v: f64) -> String {
    format!("{v:.1}")
}

/// The rate axis: from a round value below every rate and bound, to 100 %.
fn axis_start(rates: impl Iterator<Item = f64>) -> f64 {
    let min = rates.fold(1.0f64, f64::min);
    ((min * 10.0).floor() / 10.0 - 0.1).clamp(0.0, 0.9)
}

fn ticks(lo: f64) -> Vec<f64> {
    let step = if 1.0 - lo <= 0.31 { 0.05 } else { 0.1 };
    let mut v = Vec::new();
    let mut t = lo;
    while t <= 1.0 + 1e-9 {
        v.push(t);
        t += step;
    }
    v
}

const LABEL_W: f64 = 140.0;
const PLOT_W: f64 = 420.0;
const VALUE_W: f64 = 190.0;
const ROW_H: f64 = 24.0;
const TOP: f64 = 22.0;

/// Horizontal bars of a rate per segment, with 95 % interval whiskers; low-volume segments are
/// hatched and say so.
pub fn rate_bars(chart: &str, title: &str, bars: &[RateBar]) -> Markup {
    let lo = axis_start(bars.iter().flat_map(|b| [b.rate.rate, b.rate.lo]).flatten());
    let x = |v: f64| LABEL_W + (v - lo).max(0.0) / (1.0 - lo) * PLOT_W;
    let width = LABEL_W + PLOT_W + VALUE_W;
    let height = TOP + ROW_H * bars.len() as f64 + 8.0;
    html! {
        svg class="chart" data-chart=(chart) viewBox=(format!("0 0 {} {}", f(width), f(height)))
            width=(f(width)) height=(f(height)) role="img" aria-label=(title) {
            title { (title) }
            @for t in ticks(lo) {
                line class="grid" x1=(f(x(t))) x2=(f(x(t))) y1=(f(TOP - 4.0)) y2=(f(height - 6.0)) {}
                text class="tick" x=(f(x(t))) y=(f(TOP - 8.0)) text-anchor="middle" {
                    (format!("{:.0}%", t * 100.0))
                }
            }
            @for (i, b) in bars.iter().enumerate() {
                @let y = TOP + ROW_H * i as f64;
                @let end = b.rate.rate.map(x).unwrap_or(LABEL_W);
                g {
                    title {
                        (b.label) ": " (pct(b.rate.rate)) ", 95 % interval " (b.rate.interval_text())
                        ", " (count(b.rate.n)) " decided" @if b.low_volume { " (low volume)" }
                    }
                    text class="label" x=(f(LABEL_W - 6.0)) y=(f(y + 16.0)) text-anchor="end" { (b.label) }
                    rect class=(if b.low_volume { "bar low" } else { "bar" }) x=(f(LABEL_W))
                        y=(f(y + 5.0)) width=(f(end - LABEL_W)) height=(f(ROW_H - 10.0)) {}
                    @if let (Some(l), Some(h)) = (b.rate.lo, b.rate.hi) {
                        line class="whisker" x1=(f(x(l))) x2=(f(x(h))) y1=(f(y + 12.0)) y2=(f(y + 12.0)) {}
                        line class="whisker" x1=(f(x(l))) x2=(f(x(l))) y1=(f(y + 7.0)) y2=(f(y + 17.0)) {}
                        line class="whisker" x1=(f(x(h))) x2=(f(x(h))) y1=(f(y + 7.0)) y2=(f(y + 17.0)) {}
                    }
                    text class="value" x=(f(LABEL_W + PLOT_W + 8.0)) y=(f(y + 16.0)) {
                        (pct(b.rate.rate)) "  n=" (count(b.rate.n)) @if b.low_volume { "  low n" }
                    }
                }
            }
        }
    }
}

/// Horizontal bars of counts, longest first as given.
pub fn count_bars(chart: &str, title: &str, bars: &[CountBar]) -> Markup {
    let max = bars.iter().map(|b| b.count).max().unwrap_or(0).max(1) as f64;
    let width = LABEL_W + PLOT_W + VALUE_W;
    let height = 8.0 + ROW_H * bars.len() as f64 + 8.0;
    html! {
        svg class="chart" data-chart=(chart) viewBox=(format!("0 0 {} {}", f(width), f(height)))
            width=(f(width)) height=(f(height)) role="img" aria-label=(title) {
            title { (title) }
            @for (i, b) in bars.iter().enumerate() {
                @let y = 8.0 + ROW_H * i as f64;
                g {
                    title { (b.label) ": " (b.count) " (" (pct(b.share)) ")" }
                    text class="label" x=(f(LABEL_W - 6.0)) y=(f(y + 16.0)) text-anchor="end" { (b.label) }
                    rect class=(format!("bar {}", b.class)) x=(f(LABEL_W)) y=(f(y + 4.0))
                        width=(f(b.count as f64 / max * PLOT_W)) height=(f(ROW_H - 8.0)) {}
                    text class="value" x=(f(LABEL_W + PLOT_W + 8.0)) y=(f(y + 16.0)) {
                        (count(b.count)) "  (" (pct(b.share)) ")"
                    }
                }
            }
        }
    }
}

/// The daily attempt approval rate as a line with its 95 % interval band; one point per day
/// with decided attempts.
pub fn trend(chart: &str, title: &str, points: &[TrendPoint]) -> Markup {
    let (w, h, left, right, top, bottom) = (760.0, 260.0, 48.0, 12.0, 14.0, 34.0);
    let lo = axis_start(
        points
            .iter()
            .flat_map(|p| [p.rate.rate, p.rate.lo])
            .flatten(),
    );
    let n = points.len().max(2) as f64;
    let x = |i: usize| left + (i as f64 + 0.5) / n * (w - left - right);
    let y = |v: f64| top + (1.0 - v) / (1.0 - lo) * (h - top - bottom);
    let with_rate: Vec<(usize, &TrendPoint)> = points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.rate.rate.is_some())
        .collect();
    let line: Vec<String> = with_rate
        .iter()
        .map(|(i, p)| format!("{},{}", f(x(*i)), f(y(p.rate.rate.unwrap_or(0.0)))))
        .collect();
    let band: Vec<String> = with_rate
        .iter()
        .filter_map(|(i, p)| Some(format!("{},{}", f(x(*i)), f(y(p.rate.hi?)))))
        .chain(
            with_rate
                .iter()
                .rev()
                .filter_map(|(i, p)| Some(format!("{},{}", f(x(*i)), f(y(p.rate.lo?))))),
        )
        .collect();
    let every = (points.len() / 8).max(1);
    html! {
        svg class="chart" data-chart=(chart) viewBox=(format!("0 0 {} {}", f(w), f(h)))
            width=(f(w)) height=(f(h)) role="img" aria-label=(title) {
            title { (title) }
            @for t in ticks(lo) {
                line class="grid" x1=(f(left)) x2=(f(w - right)) y1=(f(y(t))) y2=(f(y(t))) {}
                text class="tick" x=(f(left - 6.0)) y=(f(y(t) + 4.0)) text-anchor="end" {
                    (format!("{:.0}%", t * 100.0))
                }
            }
            @if !band.is_empty() {
                polygon class="band" points=(band.join(" ")) {}
            }
            @if line.len() > 1 {
                polyline class="line" points=(line.join(" ")) {}
            }
            @for (i, p) in &with_rate {
                circle class="point" cx=(f(x(*i))) cy=(f(y(p.rate.rate.unwrap_or(0.0)))) r="3.5" {
                    title {
                        (p.label) ": " (pct(p.rate.rate)) ", 95 % interval "
                        (p.rate.interval_text()) ", " (count(p.rate.n)) " decided"
                    }
                }
            }
            @for (i, p) in points.iter().enumerate() {
                @if i % every == 0 {
                    text class="tick" x=(f(x(i))) y=(f(h - bottom + 16.0)) text-anchor="middle" {
                        (p.label.get(5..).unwrap_or(&p.label))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_counted() {
        let bars = [
            RateBar {
                label: "<script>alert(1)</script>".into(),
                rate: Rate {
                    rate: Some(0.9),
                    lo: Some(0.85),
                    hi: Some(0.94),
                    n: 200,
                },
                low_volume: false,
            },
            RateBar {
                label: "DE".into(),
                rate: Rate {
                    rate: Some(0.5),
                    lo: Some(0.2),
                    hi: Some(0.8),
                    n: 4,
                },
                low_volume: true,
            },
        ];
        let svg = rate_bars("c", "t", &bars).into_string();
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert_eq!(svg.matches("class=\"bar").count(), 2);
        assert_eq!(svg.matches("class=\"bar low\"").count(), 1);
    }

    #[test]
    fn axis_starts_below_the_smallest_value() {
        assert_eq!(axis_start([0.93, 0.97].into_iter()), 0.8);
        assert_eq!(axis_start([0.05].into_iter()), 0.0);
        assert_eq!(axis_start(std::iter::empty()), 0.9);
    }
}
