//! The world the generator simulates: countries with their currencies, devices, value bands
//! and their approval odds, and the decline reasons weighted by the catalogue.

use super::*;

pub(super) struct CountryDef {
    pub(super) code: &'static str,
    pub(super) weight: f64,
    pub(super) currency: Currency,
    pub(super) logit: f64,
}

pub(super) const COUNTRIES: &[CountryDef] = &[
    CountryDef {
        code: "US",
        weight: 34.0,
        currency: Currency::USD,
        logit: 0.0,
    },
    CountryDef {
        code: "DE",
        weight: 15.0,
        currency: Currency::EUR,
        logit: 0.35,
    },
    CountryDef {
        code: "GB",
        weight: 12.0,
        currency: Currency::GBP,
        logit: 0.1,
    },
    CountryDef {
        code: "JP",
        weight: 8.0,
        currency: Currency::JPY,
        logit: 0.45,
    },
    CountryDef {
        code: "FR",
        weight: 6.0,
        currency: Currency::EUR,
        logit: -0.25,
    },
    CountryDef {
        code: "IT",
        weight: 5.0,
        currency: Currency::EUR,
        logit: -0.55,
    },
    CountryDef {
        code: "ES",
        weight: 5.0,
        currency: Currency::EUR,
        logit: -0.4,
    },
    CountryDef {
        code: "CA",
        weight: 4.0,
        currency: Currency::CAD,
        logit: 0.05,
    },
    CountryDef {
        code: "AU",
        weight: 3.0,
        currency: Currency::AUD,
        logit: -0.1,
    },
    CountryDef {
        code: "AT",
        weight: 2.0,
        currency: Currency::EUR,
        logit: 0.2,
    },
    CountryDef {
        code: "NL",
        weight: 2.0,
        currency: Currency::EUR,
        logit: 0.25,
    },
    CountryDef {
        code: "CH",
        weight: 1.5,
        currency: Currency::CHF,
        logit: 0.3,
    },
    CountryDef {
        code: "SE",
        weight: 1.0,
        currency: Currency::SEK,
        logit: 0.1,
    },
    CountryDef {
        code: "DK",
        weight: 0.75,
        currency: Currency::DKK,
        logit: 0.1,
    },
    CountryDef {
        code: "NO",
        weight: 0.75,
        currency: Currency::NOK,
        logit: 0.0,
    },
];

pub(super) const DEVICES: &[(&str, f64, f64)] = &[
    ("desktop", 40.0, 0.25),
    ("mobile_web", 30.0, -0.45),
    ("ios_app", 12.0, 0.3),
    ("android_app", 12.0, -0.2),
    ("tablet", 6.0, 0.0),
];

/// Major-unit edges of the default value bands and the approval logit of each band.
pub(super) const BAND_LOGIT: [(f64, f64); 6] = [
    (0.0, 0.35),
    (25.0, 0.2),
    (50.0, 0.0),
    (100.0, -0.3),
    (250.0, -0.75),
    (500.0, -1.3),
];

/// Per currency: units per USD (for order values and band placement), fee rate, fixed fee.
pub(super) fn currency_params(c: Currency) -> (f64, f64, i64) {
    match c {
        Currency::USD => (1.0, 0.029, 30),
        Currency::EUR => (0.92, 0.019, 35),
        Currency::GBP => (0.79, 0.019, 20),
        Currency::JPY => (150.0, 0.039, 40),
        Currency::CAD => (1.36, 0.029, 30),
        Currency::AUD => (1.52, 0.029, 30),
        Currency::CHF => (0.88, 0.029, 30),
        Currency::SEK => (10.6, 0.029, 300),
        Currency::DKK => (6.9, 0.029, 250),
        Currency::NOK => (10.8, 0.029, 300),
    }
}

/// Decline reasons of a Charge, with weights and retry chances drawn from the catalogue: every
/// catalogue code whose level includes `Decline` (except checkout-session and shipment codes),
/// plus `ProcessingFailure`; weight by the catalogue's frequency (Common 10, Occasional 3,
/// Rare 1), soft declines boosted to be the most common; the buyer retries by decline class.
pub(super) fn decline_reasons() -> Vec<(&'static str, f64, f64)> {
    const NOT_CHARGE_DECLINES: [&str; 5] = [
        "Canceled",
        "NonChargeable",
        "RefundDeclined",
        "StopShipmentAtypicalAuth",
        "CheckoutSessionCanceled",
    ];
    let cat = Catalogue::embedded();
    cat.entries()
        .iter()
        .filter(|e| {
            (e.level.contains("Decline") && !NOT_CHARGE_DECLINES.contains(&e.code.as_str()))
                || e.code == "ProcessingFailure"
        })
        .map(|e| {
            let weight = match e.frequency.as_str() {
                "Common" => 10.0,
                "Occasional" => 3.0,
                _ => 1.0,
            } * if e.code == "SoftDeclined" { 4.0 } else { 1.0 };
            let retry = match cat.decline_class(Some(&e.code)) {
                DeclineClass::Soft => 0.75,
                DeclineClass::BuyerAction => 0.55,
                DeclineClass::Hard => 0.25,
                DeclineClass::Integration | DeclineClass::Unknown => 0.2,
            };
            (e.code.as_str(), weight, retry)
        })
        .collect()
}
