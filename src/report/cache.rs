//! The month tables of the last run, so that a night recomputes the analytics of only the
//! months whose attempts changed (every month's close pack is still drawn afresh: its
//! exceptions age with the cut-off).
//!
//! Each month's [`Tables`] are kept under a digest of everything they read: the month's label
//! and settings, this build, the facts' dictionaries, the month's newest day, and the attempts
//! and orders of the days the tables look at. The digest is a sum of per-fact hashes, so it does
//! not depend on the order the facts are kept in (an incremental night keeps them in another
//! order than a full build). Equal digests, equal tables; anything else is recomputed. The file
//! (`.payrecon-tables.bin` in the reports folder) verifies itself: a damaged one is ignored.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;
use xxhash_rust::xxh3::{Xxh3, xxh3_128};

use super::{ReportError, ReportSettings, Tables, month_bounds};
use crate::analytics::MonthTables;
use crate::analytics::facts::{AttemptFact, Facts, OrderFact};
use crate::model::time::{from_epoch_days, to_epoch_days};
use crate::state::codec::{Reader, put_bytes, put_text, put_u32s};

/// The cache file, in the reports folder.
pub use crate::state::TABLES_CACHE as CACHE_FILE;
const MAGIC: &[u8; 8] = b"PRTBL003";
/// Frames per month, in [`frames`] order.
const FRAMES: usize = 11;

fn attempt_hash(a: &AttemptFact) -> u128 {
    let mut b = [0u8; 34];
    b[..8].copy_from_slice(&a.amount.to_le_bytes());
    put_u32s(
        &mut b,
        8,
        &[a.day as u32, a.country, a.device, a.band, a.reason],
    );
    b[28..31].copy_from_slice(a.currency.code().as_bytes());
    b[31] = a.outcome as u8;
    b[32] = 1;
    xxh3_128(&b)
}

fn order_hash(o: &OrderFact) -> u128 {
    let mut b = [0u8; 40];
    put_u32s(&mut b, 0, &o.codes());
    b[28..31].copy_from_slice(o.currency.code().as_bytes());
    b[31] = o.flags();
    b[32] = 2;
    xxh3_128(&b)
}

/// The digest of everything the month's tables read (see the module docs). The tables read
/// the month's attempts and orders, and the week-over-week changes the attempts of the two
/// weeks up to the month's newest day, which may begin 13 days before the month and end 6 days
/// after it.
pub fn digest(facts: &Facts, settings: &ReportSettings) -> u128 {
    let (first, last, newest) = month_bounds(facts, settings);
    let (first, last) = (to_epoch_days(first), to_epoch_days(last));
    let mut h = Xxh3::new();
    h.update(MAGIC);
    crate::state::digest::hash_this_build(&mut h);
    h.update(
        format!(
            "{}|{}|{}|{}|{:?}|{newest:?}",
            settings.month.label(),
            settings.timezone,
            settings.min_n,
            settings.fdr,
            settings.generated_at
        )
        .as_bytes(),
    );
    for dict in [
        &facts.countries,
        &facts.devices,
        &facts.bands,
        &facts.reasons,
    ] {
        h.update(&(dict.len() as u64).to_le_bytes());
        for s in dict {
            h.update(&(s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
    }
    h.update(format!("{:?}", facts.reason_classes).as_bytes());
    let (attempts, orders) = rayon::join(
        || {
            facts
                .attempts
                .par_iter()
                .filter(|a| a.day >= first - 13 && a.day <= last + 6)
                .map(attempt_hash)
                .reduce(|| 0, u128::wrapping_add)
        },
        || {
            facts
                .orders
                .par_iter()
                .filter(|o| o.first_day >= first && o.first_day <= last)
                .map(order_hash)
                .reduce(|| 0, u128::wrapping_add)
        },
    );
    h.update(&attempts.to_le_bytes());
    h.update(&orders.to_le_bytes());
    h.digest128()
}

/// Months' tables by label: (digest, the frames as Parquet).
#[derive(Debug, Default)]
pub struct TablesCache {
    months: BTreeMap<String, (u128, Vec<Vec<u8>>)>,
}

impl TablesCache {
    /// The cache in `reports`; empty when there is none or it does not verify.
    pub fn load(reports: &Path) -> TablesCache {
        crate::state::load_sealed(&reports.join(CACHE_FILE), MAGIC, Self::decode)
            .map(|(cache, _)| cache)
            .unwrap_or_default()
    }

    fn decode(r: &mut Reader<'_>) -> Option<TablesCache> {
        let mut months = BTreeMap::new();
        for _ in 0..r.u64()? {
            let label = r.text()?.to_string();
            let digest = r.u128()?;
            let blobs = (0..FRAMES)
                .map(|_| r.bytes().map(<[u8]>::to_vec))
                .collect::<Option<Vec<_>>>()?;
            months.insert(label, (digest, blobs));
        }
        Some(TablesCache { months })
    }

    /// The tables of `settings.month` when they were kept under `digest`.
    pub fn get(&self, digest: u128, facts: &Facts, settings: &ReportSettings) -> Option<Tables> {
        let (d, blobs) = self.months.get(&settings.month.label())?;
        if *d != digest {
            return None;
        }
        let mut f = blobs
            .iter()
            .map(|b| ParquetReader::new(Cursor::new(b.clone())).finish().ok());
        let mut next = || f.next().flatten();
        let (first, last, newest) = month_bounds(facts, settings);
        Some(Tables {
            frames: MonthTables {
                headline: next()?,
                by_country: next()?,
                by_device: next()?,
                by_currency: next()?,
                by_day: next()?,
                by_value_band: next()?,
                by_week: next()?,
                declines: next()?,
                declines_by_week: next()?,
                changes: next()?,
                recovery: next()?,
            },
            first_day: first,
            last_day: last,
            newest_day: newest.map(from_epoch_days),
        })
    }

    /// The frames of `tables` as the cache in `reports` keeps them.
    pub fn encode(tables: &Tables, reports: &Path) -> Result<Vec<Vec<u8>>, ReportError> {
        tables
            .frames()
            .into_iter()
            .map(|df| {
                let mut out = Vec::new();
                ParquetWriter::new(&mut out)
                    .finish(&mut df.clone())
                    .map_err(|source| ReportError::Cache {
                        path: reports.join(CACHE_FILE),
                        source,
                    })?;
                Ok(out)
            })
            .collect()
    }

    /// Keeps the frames of a month's tables ([`Self::encode`]) under `digest`.
    pub fn insert(&mut self, label: String, digest: u128, frames: Vec<Vec<u8>>) {
        self.months.insert(label, (digest, frames));
    }

    /// Keeps the entry of `label` from `other`.
    pub fn keep_from(&mut self, other: &TablesCache, label: &str) {
        if let Some(e) = other.months.get(label) {
            self.months.insert(label.to_string(), e.clone());
        }
    }

    /// Writes the cache into `reports` (atomically).
    pub fn save(&self, reports: &Path) -> Result<(), ReportError> {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&(self.months.len() as u64).to_le_bytes());
        for (label, (digest, blobs)) in &self.months {
            put_text(&mut b, label);
            b.extend_from_slice(&digest.to_le_bytes());
            for blob in blobs {
                put_bytes(&mut b, blob);
            }
        }
        crate::state::save_sealed(&reports.join(CACHE_FILE), b)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::catalogue::Catalogue;
    use crate::reconcile::close::Month;

    fn settings(month: &str) -> ReportSettings {
        ReportSettings {
            month: Month::parse(month, chrono_tz::UTC).unwrap(),
            timezone: "UTC".into(),
            min_n: 30,
            fdr: 0.05,
            generated_at: None,
        }
    }

    #[test]
    fn kept_tables_come_back_equal_and_only_under_their_digest() {
        let mut facts = crate::analytics::tests::facts();
        let s = settings("2025-11");
        let tables = super::super::tables(&facts, Catalogue::embedded(), &s).unwrap();
        let d = digest(&facts, &s);
        let dir = tempfile::tempdir().unwrap();
        let mut cache = TablesCache::default();
        cache.insert(
            s.month.label(),
            d,
            TablesCache::encode(&tables, dir.path()).unwrap(),
        );
        cache.save(dir.path()).unwrap();
        let back = TablesCache::load(dir.path());
        let got = back.get(d, &facts, &s).expect("kept");
        for (a, b) in tables.frames().into_iter().zip(got.frames()) {
            assert!(a.equals_missing(b), "{a:?} != {b:?}");
            assert_eq!(a.schema(), b.schema());
        }
        assert_eq!(got.newest_day, tables.newest_day);
        // The order facts are kept in does not count; their content does.
        facts.attempts.reverse();
        facts.orders.reverse();
        assert_eq!(digest(&facts, &s), d);
        // An attempt of the month changes: another digest.
        let nov_20 = to_epoch_days(chrono::NaiveDate::from_ymd_opt(2025, 11, 20).unwrap());
        let i = facts.attempts.iter().position(|a| a.day == nov_20).unwrap();
        facts.attempts[i].outcome = match facts.attempts[i].outcome {
            crate::analytics::facts::Outcome::Canceled => crate::analytics::facts::Outcome::Pending,
            _ => crate::analytics::facts::Outcome::Canceled,
        };
        assert_ne!(digest(&facts, &s), d);
        assert!(back.get(d ^ 1, &facts, &s).is_none());
        assert!(back.get(d, &facts, &settings("2025-12")).is_none());
        // A damaged file is no cache.
        let path = dir.path().join(CACHE_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[20] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert!(TablesCache::load(dir.path()).months.is_empty());
    }
}
