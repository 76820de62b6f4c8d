//! Inline SVG charts for the HTML report: the daily trend line with its interval band and the
//! daily volume under it, each drawn at a screen's and a phone's width (the page shows one).
//! Every data mark carries a class the browser check counts (`bar`, `point`) and a `<title>`
//! with the exact figures; all text goes through maud, so it is escaped. (Bar charts are HTML:
//! [`super::bars`].)

use maud::{Markup, html};

use super::{Rate, pct};

/// One day of a trend.
pub(super) struct TrendPoint {
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

/// The trend's rate axis: from a round value below every rate and bound, to 100 % (a line
/// chart need not start at 0; the page says where it starts).
pub(super) fn axis_start(rates: impl Iterator<Item = f64>) -> f64 {
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

/// The plot's width for a page `w` wide (the volume chart under the trend uses the same x).
fn plot_x(w: f64, n: usize) -> impl Fn(usize) -> f64 {
    let (left, right) = (LEFT, RIGHT);
    let n = n.max(2) as f64;
    move |i: usize| left + (i as f64 + 0.5) / n * (w - left - right)
}

const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;

/// Day labels on the x axis: about one per 90 units of width.
fn label_every(w: f64, n: usize) -> usize {
    let fit = ((w - LEFT - RIGHT) / 90.0).max(2.0) as usize;
    n.div_ceil(fit).max(1)
}

/// The daily attempt approval rate as a line with its 95 % interval band; one point per day
/// with decided attempts. `w` is the drawing's width (760 on a screen, 360 on a phone).
pub(super) fn trend(chart: &str, title: &str, points: &[TrendPoint], w: f64) -> Markup {
    let (h, top, bottom) = (if w < 500.0 { 220.0 } else { 260.0 }, 14.0, 34.0);
    let (left, right) = (LEFT, RIGHT);
    let lo = axis_start(
        points
            .iter()
            .flat_map(|p| [p.rate.rate, p.rate.lo])
            .flatten(),
    );
    let x = plot_x(w, points.len());
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
    let every = label_every(w, points.len());
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

/// One day of the volume chart.
pub(super) struct DayVolume {
    pub label: String,
    pub approved: u64,
    pub declined: u64,
    /// Pending and canceled attempts.
    pub other: u64,
}

/// Attempts per day as stacked bars (approved, declined, pending or canceled), on the trend's
/// x axis so the two read together.
pub(super) fn volume(chart: &str, title: &str, days: &[DayVolume], w: f64) -> Markup {
    let (h, top, bottom) = (120.0, 10.0, 26.0);
    let x = plot_x(w, days.len());
    let max = days
        .iter()
        .map(|d| d.approved + d.declined + d.other)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let y = |v: f64| top + (1.0 - v / max) * (h - top - bottom);
    let slot = (w - LEFT - RIGHT) / days.len().max(2) as f64;
    let bw = (slot * 0.7).max(1.0);
    let every = label_every(w, days.len());
    html! {
        svg class="chart" data-chart=(chart) viewBox=(format!("0 0 {} {}", f(w), f(h)))
            width=(f(w)) height=(f(h)) role="img" aria-label=(title) {
            title { (title) }
            line class="grid" x1=(f(LEFT)) x2=(f(w - RIGHT)) y1=(f(y(0.0))) y2=(f(y(0.0))) {}
            line class="grid" x1=(f(LEFT)) x2=(f(w - RIGHT)) y1=(f(y(max))) y2=(f(y(max))) {}
            text class="tick" x=(f(LEFT - 6.0)) y=(f(y(max) + 4.0)) text-anchor="end" { (count(max as u64)) }
            text class="tick" x=(f(LEFT - 6.0)) y=(f(y(0.0) + 4.0)) text-anchor="end" { "0" }
            @for (i, d) in days.iter().enumerate() {
                @let total = d.approved + d.declined + d.other;
                @let x0 = x(i) - bw / 2.0;
                @let a = d.approved as f64;
                @let dd = d.declined as f64;
                g class="bar" {
                    title {
                        (d.label) ": " (count(total)) " attempts, " (count(d.approved)) " approved, "
                        (count(d.declined)) " declined, " (count(d.other)) " pending or canceled"
                    }
                    rect class="approved" x=(f(x0)) width=(f(bw)) y=(f(y(a))) height=(f(y(0.0) - y(a))) {}
                    rect class="declined" x=(f(x0)) width=(f(bw)) y=(f(y(a + dd))) height=(f(y(a) - y(a + dd))) {}
                    rect class="other" x=(f(x0)) width=(f(bw)) y=(f(y(total as f64))) height=(f(y(a + dd) - y(total as f64))) {}
                }
            }
            @for (i, d) in days.iter().enumerate() {
                @if i % every == 0 {
                    text class="tick" x=(f(x(i))) y=(f(h - bottom + 16.0)) text-anchor="middle" {
                        (d.label.get(5..).unwrap_or(&d.label))
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
    fn volume_bars_one_per_day_and_escaped() {
        let days = [
            DayVolume {
                label: "2026-10-01".into(),
                approved: 90,
                declined: 9,
                other: 1,
            },
            DayVolume {
                label: "<b>".into(),
                approved: 0,
                declined: 0,
                other: 0,
            },
        ];
        let svg = volume("v", "t", &days, 360.0).into_string();
        assert_eq!(svg.matches("class=\"bar\"").count(), 2);
        assert!(!svg.contains("<b>"));
    }

    #[test]
    fn axis_starts_below_the_smallest_value() {
        assert_eq!(axis_start([0.93, 0.97].into_iter()), 0.8);
        assert_eq!(axis_start([0.05].into_iter()), 0.0);
        assert_eq!(axis_start(std::iter::empty()), 0.9);
    }
}
