//! The calendar and value bands the facts are coded by: local days in the merchant's time zone,
//! ISO weeks and months as ids, and each currency's value bands.

use super::*;

/// A value-band table: per-currency edges in lake units and the labels of all bands.
#[derive(Debug, Clone)]
pub struct Bands {
    /// Band labels, ordered by lower edge.
    pub labels: Vec<String>,
    /// Per currency (indexed like `Currency::ALL`): ascending edges (lake units) and the label
    /// index of `< first edge`, then of each `[edge_i, edge_i+1)`.
    per_currency: Vec<(Vec<i64>, Vec<u32>)>,
}

impl Bands {
    /// Builds the table from the configured edges (major units).
    pub fn new(config: &ValueBands) -> Bands {
        let text = |d: &Decimal| d.normalize().to_string();
        // (sort key, label) for every band of every currency.
        let mut all: Vec<(Decimal, Decimal, String)> = Vec::new();
        let mut raw: Vec<(Vec<i64>, Vec<String>)> = Vec::new();
        for c in Currency::ALL {
            let edges = config.edges_for(c.code());
            let mut labels = Vec::with_capacity(edges.len() + 1);
            let below = format!("<{}", edges.first().map(text).unwrap_or_default());
            all.push((Decimal::MIN, Decimal::MIN, below.clone()));
            labels.push(below);
            for (i, lo) in edges.iter().enumerate() {
                let (label, hi) = match edges.get(i + 1) {
                    Some(hi) => (format!("{}-{}", text(lo), text(hi)), *hi),
                    None => (format!("{}+", text(lo)), Decimal::MAX),
                };
                all.push((*lo, hi, label.clone()));
                labels.push(label);
            }
            let units = edges
                .iter()
                .map(|e| {
                    (e * Decimal::from(100))
                        .trunc()
                        .to_string()
                        .parse::<i64>()
                        .unwrap_or(i64::MAX)
                })
                .collect();
            raw.push((units, labels));
        }
        all.sort();
        all.dedup_by(|a, b| a.2 == b.2);
        let labels: Vec<String> = all.into_iter().map(|(_, _, l)| l).collect();
        let index: FxHashMap<&str, u32> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i as u32))
            .collect();
        let per_currency = raw
            .iter()
            .map(|(edges, ls)| {
                (
                    edges.clone(),
                    ls.iter().map(|l| index[l.as_str()]).collect(),
                )
            })
            .collect();
        Bands {
            labels,
            per_currency,
        }
    }

    /// The band index of `amount` (lake units) in `currency`.
    pub fn band(&self, currency: Currency, amount: i64) -> u32 {
        let ci = Currency::ALL
            .iter()
            .position(|&c| c == currency)
            .unwrap_or(0);
        let (edges, ids) = &self.per_currency[ci];
        let above = edges.partition_point(|&e| e <= amount);
        ids[above]
    }
}

/// Local calendar days of UTC instants in the configured time zone.
#[derive(Clone)]
pub struct LocalDays {
    tz: chrono_tz::Tz,
    utc: bool,
    /// UTC quarter-hour -> offset seconds (every zone changes offset on a quarter hour).
    cache: FxHashMap<i64, i64>,
}

const QUARTER_HOUR_US: i64 = 900 * 1_000_000;
const DAY_US: i64 = 86_400 * 1_000_000;

impl LocalDays {
    pub fn new(tz: chrono_tz::Tz) -> LocalDays {
        LocalDays {
            tz,
            utc: tz == chrono_tz::UTC,
            cache: FxHashMap::default(),
        }
    }

    /// The local day (days since 1970-01-01) of an instant in µs.
    pub fn day(&mut self, micros: i64) -> i32 {
        if self.utc {
            return micros.div_euclid(DAY_US) as i32;
        }
        let bucket = micros.div_euclid(QUARTER_HOUR_US);
        let tz = self.tz;
        let offset = *self.cache.entry(bucket).or_insert_with(|| {
            let utc = crate::model::time::from_micros(bucket * QUARTER_HOUR_US).naive_utc();
            tz.offset_from_utc_datetime(&utc).fix().local_minus_utc() as i64
        });
        (micros + offset * 1_000_000).div_euclid(DAY_US) as i32
    }
}

/// Sortable id of a day's ISO week: `year * 100 + week` (label `2026-W43`).
pub fn iso_week(day: i32) -> u32 {
    let w = from_epoch_days(day).iso_week();
    (w.year() * 100 + w.week() as i32) as u32
}

/// Sortable id of a day's month: `year * 100 + month` (label `2026-10`).
pub fn month(day: i32) -> u32 {
    let d = from_epoch_days(day);
    (d.year() * 100 + d.month() as i32) as u32
}

/// Label of an [`iso_week`] id.
pub fn week_label(id: u32) -> String {
    format!("{}-W{:02}", id / 100, id % 100)
}

/// Label of a [`month`] id.
pub fn month_label(id: u32) -> String {
    format!("{}-{:02}", id / 100, id % 100)
}

/// A date from `YYYY-MM-DD` as days since the epoch.
pub fn parse_day(text: &str) -> Result<i32, AnalyticsError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map(to_epoch_days)
        .map_err(|_| AnalyticsError::Usage(format!("{text:?} is not a date (YYYY-MM-DD)")))
}
