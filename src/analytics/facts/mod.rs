//! Attempt facts and order facts, built from the lake's `charges` and `orders` tables.
//!
//! Reading is parallel per Parquet file (rayon), with only the needed columns projected. Each
//! charge becomes an [`AttemptFact`] with its outcome, decline class and segment; attempts are
//! then grouped into orders by one parallel sort on (order key, `creation_timestamp`,
//! `charge_id`), which also gives each order's attempt sequence. Every definition is
//! `spec/analytics.md`'s; `docs/ANALYTICS.md` states the choices the spec leaves open.

use std::path::{Path, PathBuf};

use arrow_array::types::{Decimal128Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch, StringArray};
use chrono::{Datelike, NaiveDate, Offset, TimeZone};
use rayon::prelude::*;
use rust_decimal::Decimal;
use rustc_hash::{FxHashMap, FxHashSet};

use super::AnalyticsError;
use crate::lake::Lake;
use crate::lake::columns::{self, opt};
use crate::model::catalogue::{Catalogue, DeclineClass};
use crate::model::money::Currency;
use crate::model::schema::{CHARGES, ORDERS};
use crate::model::time::{from_epoch_days, to_epoch_days};
use crate::settings::ValueBands;

mod build;
mod calendar;
mod keyed;

pub use build::{
    CHARGE_COLUMNS, ORDER_COLUMNS, build, build_from_batches, build_keyed_from_batches,
};
pub use calendar::{Bands, LocalDays, iso_week, month, month_label, parse_day, week_label};

/// "No value" in a dictionary-coded column.
pub const NONE: u32 = u32::MAX;

/// An attempt's outcome (`spec/analytics.md`, "Attempts and outcomes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Approved,
    Declined,
    Pending,
    Canceled,
}

impl Outcome {
    /// The outcome of a charge's latest `state` and `reason_code`.
    pub fn of(state: &str, reason_code: Option<&str>) -> Outcome {
        match state {
            "Authorized" | "CaptureInitiated" | "Captured" => Outcome::Approved,
            "Canceled" if reason_code == Some("ExpiredUnused") => Outcome::Approved,
            "Declined" => Outcome::Declined,
            "AuthorizationInitiated" => Outcome::Pending,
            _ => Outcome::Canceled,
        }
    }

    pub fn is_decided(self) -> bool {
        matches!(self, Outcome::Approved | Outcome::Declined)
    }
}

/// One charge (payment attempt) at its latest state, with its segment.
#[derive(Debug, Clone, Copy)]
pub struct AttemptFact {
    /// `creation_timestamp`, µs since the epoch (UTC).
    pub ts: i64,
    /// `charge_amount`, in lake units (hundredths of the major unit, for every currency).
    pub amount: i64,
    /// Index of the order (see [`Facts::orders`]).
    pub order: u32,
    /// Index of the matched order record, or [`NONE`].
    pub record: u32,
    /// Local calendar day of `creation_timestamp` (days since 1970-01-01).
    pub day: i32,
    /// Index into [`Facts::countries`].
    pub country: u32,
    /// Index into [`Facts::devices`].
    pub device: u32,
    /// Index into [`Facts::bands`].
    pub band: u32,
    /// Index into [`Facts::reasons`] for a declined attempt, else [`NONE`].
    pub reason: u32,
    /// The charge's currency.
    pub currency: Currency,
    pub outcome: Outcome,
}

/// One order: its attempts in (`creation_timestamp`, `charge_id`) order, summarised.
#[derive(Debug, Clone, Copy)]
pub struct OrderFact {
    /// First attempt's `creation_timestamp` (µs).
    pub first_ts: i64,
    /// First attempt's local day.
    pub first_day: i32,
    pub country: u32,
    pub device: u32,
    pub band: u32,
    /// The order record's currency (the first attempt's when there is no record).
    pub currency: Currency,
    /// Number of attempts (of every outcome).
    pub attempts: u32,
    /// At least one decided attempt.
    pub decided: bool,
    /// The first decided attempt was approved.
    pub first_approved: bool,
    /// Some attempt was approved.
    pub eventual_approved: bool,
    /// Reason of the first decided attempt when it was declined, else [`NONE`].
    pub first_decline_reason: u32,
    /// Attempts up to and including the first approved one, when the first decided attempt was
    /// declined and a later one approved (0 otherwise).
    pub attempts_to_recovery: u32,
    /// The first attempt is within the retry window of the newest attempt in the lake.
    pub immature: bool,
}

impl OrderFact {
    /// The order's day and codes as the incremental state stores them and the tables cache
    /// hashes them: first day, country, device, band, attempts, first decline reason,
    /// attempts to recovery.
    pub fn codes(&self) -> [u32; 7] {
        [
            self.first_day as u32,
            self.country,
            self.device,
            self.band,
            self.attempts,
            self.first_decline_reason,
            self.attempts_to_recovery,
        ]
    }

    /// `decided`, `first_approved`, `eventual_approved` and `immature` as bits 0 to 3, as the
    /// incremental state stores them and the tables cache hashes them.
    pub fn flags(&self) -> u8 {
        self.decided as u8
            | (self.first_approved as u8) << 1
            | (self.eventual_approved as u8) << 2
            | (self.immature as u8) << 3
    }

    /// Sets the four flags from [`Self::flags`]' bits.
    pub fn set_flags(&mut self, bits: u8) {
        self.decided = bits & 1 != 0;
        self.first_approved = bits & 2 != 0;
        self.eventual_approved = bits & 4 != 0;
        self.immature = bits & 8 != 0;
    }
}

/// Everything the reports need, built once per command.
pub struct Facts {
    pub attempts: Vec<AttemptFact>,
    pub orders: Vec<OrderFact>,
    pub countries: Vec<String>,
    pub devices: Vec<String>,
    pub bands: Vec<String>,
    /// Reason codes of declined attempts (an empty one is `Declined`), sorted.
    pub reasons: Vec<String>,
    /// Decline class of each entry of `reasons`.
    pub reason_classes: Vec<DeclineClass>,
    /// Newest `creation_timestamp` in the lake (µs), when there are charges.
    pub newest_ts: Option<i64>,
    /// Local day of `newest_ts`.
    pub newest_day: Option<i32>,
}

/// Facts that an incremental night can update: each attempt's charge key and each order's
/// (the charge key of its first attempt), as [`crate::reconcile::components`] keys charges.
/// All charges of an order share its key (`merchant_reference_id`, else the permission), a
/// link key of the reconciliation's components, so an order's attempts are all in one
/// component: replacing the facts of the touched components' charges replaces whole orders.
pub struct KeyedFacts {
    pub facts: Facts,
    pub attempt_keys: Vec<u64>,
    pub order_keys: Vec<u64>,
}

impl Facts {
    /// The attempts made and the orders first tried on local days `from..=to`, with every
    /// dictionary: the same cells as the whole for those days, from a fraction of the rows.
    /// (`order` indices of the attempts name the whole's orders.)
    pub fn days(&self, from: i32, to: i32) -> Facts {
        let (attempts, orders) = rayon::join(
            || {
                self.attempts
                    .par_iter()
                    .filter(|a| a.day >= from && a.day <= to)
                    .copied()
                    .collect()
            },
            || {
                self.orders
                    .par_iter()
                    .filter(|o| o.first_day >= from && o.first_day <= to)
                    .copied()
                    .collect()
            },
        );
        Facts {
            attempts,
            orders,
            countries: self.countries.clone(),
            devices: self.devices.clone(),
            bands: self.bands.clone(),
            reasons: self.reasons.clone(),
            reason_classes: self.reason_classes.clone(),
            newest_ts: self.newest_ts,
            newest_day: self.newest_day,
        }
    }
}

/// Options of the transforms.
#[derive(Debug, Clone)]
pub struct FactOptions {
    pub tz: chrono_tz::Tz,
    pub bands: ValueBands,
    pub retry_window_hours: u64,
}
