//! Amazon Pay data as merchants really have it (issue 24): every JSON shape of Charge and
//! Refund objects, the first Checkout v2 variant, other kinds of files refused by name, and
//! settlement `TransactionType` spellings. One quirk per fixture (`tests/fixtures/json/`,
//! `tests/fixtures/settlement-types/`, each with a README saying where its shape comes from).

mod common;

use std::path::Path;

use common::*;
use payrecon::model::schema::{CHARGES, FILES, REFUNDS, REJECTS, SETTLEMENT_LINES};

fn ingest_file(dir: &Path, file: &Path) -> std::process::Output {
    payrecon(dir)
        .args(["ingest", "--lake", "lake"])
        .arg(file)
        .output()
        .unwrap()
}

fn json(name: &str) -> std::path::PathBuf {
    fixture("json").join(name)
}

/// A new lake with one fixture ingested, which must load cleanly (exit 0).
fn ingest_ok(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let out = ingest_file(tmp.path(), &json(name));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
    tmp
}

fn charge_ids(lake: &Path) -> Vec<String> {
    let mut ids: Vec<String> = rows(lake, &CHARGES)
        .iter()
        .map(|r| get(r, "charge_id").unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_pretty_printed_charge_and_refund_load() {
    let tmp = ingest_ok("charge-pretty.json");
    let out = ingest_file(tmp.path(), &json("refund-pretty.json"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lake = tmp.path().join("lake");
    let charges = rows(&lake, &CHARGES);
    assert_eq!(charges.len(), 1);
    let c = &charges[0];
    assert_eq!(get(c, "charge_id"), Some("S01-5105180-3221187-C056351"));
    assert_eq!(get(c, "state"), Some("Captured"));
    assert_eq!(get(c, "capture_amount"), Some("14.00"));
    assert_eq!(get(c, "merchant_reference_id"), Some("ORD-1001"));
    assert_eq!(get(c, "creation_timestamp"), Some("2019-07-14T15:53:00Z"));
    let refunds = rows(&lake, &REFUNDS);
    assert_eq!(refunds.len(), 1);
    assert_eq!(get(&refunds[0], "state"), Some("RefundInitiated"));
    assert_eq!(get(&refunds[0], "refund_amount"), Some("14.00"));
}

#[test]
fn objects_one_after_another_an_array_and_a_list_response_read_the_same() {
    let want = [
        "S01-5105180-3221101-C056301",
        "S01-5105180-3221102-C056302",
        "S01-5105180-3221103-C056303",
    ];
    for f in [
        "charges-concatenated.json",
        "charges-array.json",
        "charges-list-response.json",
    ] {
        let tmp = ingest_ok(f);
        let lake = tmp.path().join("lake");
        assert_eq!(charge_ids(&lake), want, "{f}");
        // rows read = loaded + rejected + duplicates.
        let files = rows(&lake, &FILES);
        assert_eq!(get(&files[0], "rows_read"), Some("3"), "{f}");
        assert_eq!(get(&files[0], "rows_loaded"), Some("3"), "{f}");
        // The line of each row is where its object starts.
        let mut lines: Vec<u64> = rows(&lake, &CHARGES)
            .iter()
            .map(|r| get(r, "source_line").unwrap().parse().unwrap())
            .collect();
        lines.sort();
        let text = std::fs::read_to_string(json(f)).unwrap();
        for l in &lines {
            let line = text.lines().nth(*l as usize - 1).unwrap();
            assert!(
                line.trim_start().starts_with('{'),
                "{f}: line {l} is {line:?}"
            );
        }
    }
}

#[test]
fn refunds_in_a_list_response_load() {
    let tmp = ingest_ok("refunds-list-response.json");
    let refunds = rows(&tmp.path().join("lake"), &REFUNDS);
    assert_eq!(refunds.len(), 2);
    assert!(refunds.iter().all(|r| get(r, "state") == Some("Refunded")));
}

#[test]
fn a_bad_object_is_rejected_at_its_first_line_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ingest_file(tmp.path(), &json("charges-bad-fields.json"));
    assert_eq!(out.status.code(), Some(1), "rejects are findings");
    let lake = tmp.path().join("lake");
    assert_eq!(charge_ids(&lake), ["S01-5105180-3221104-C056304"]);
    let rejects = rows(&lake, &REJECTS);
    assert_eq!(rejects.len(), 2);
    let text = std::fs::read_to_string(json("charges-bad-fields.json")).unwrap();
    let starts: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_end() == "  {")
        .map(|(i, _)| i + 1)
        .collect();
    let by_line = |n: usize| {
        rejects
            .iter()
            .find(|r| get(r, "source_line") == Some(&n.to_string()))
            .unwrap_or_else(|| panic!("no reject at line {n}: {rejects:?}"))
    };
    let state = by_line(starts[1]);
    assert_eq!(get(state, "column"), Some("statusDetails.state"));
    assert!(
        get(state, "reason").unwrap().contains("invalid type"),
        "{state:?}"
    );
    let amount = by_line(starts[2]);
    assert_eq!(get(amount, "column"), Some("chargeAmount.amount"));
    assert!(
        get(amount, "reason")
            .unwrap()
            .contains(&format!("object from line {}, column 3", starts[2])),
        "{amount:?}"
    );
}

#[test]
fn first_checkout_v2_objects_load() {
    let tmp = ingest_ok("charges-early-v2.jsonl");
    let lake = tmp.path().join("lake");
    let mut got: Vec<(String, String, String, String)> = rows(&lake, &CHARGES)
        .iter()
        .map(|r| {
            (
                get(r, "state").unwrap().to_string(),
                get(r, "reason_code").unwrap_or("").to_string(),
                get(r, "creation_timestamp").unwrap().to_string(),
                get(r, "last_updated_timestamp").unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "Captured".to_string(),
                String::new(),
                "2026-10-02T09:01:00.123Z".to_string(),
                "2026-10-02T09:02:01Z".to_string()
            ),
            (
                "Declined".to_string(),
                "HardDeclined".to_string(),
                "2026-10-02T09:02:00.123Z".to_string(),
                "2026-10-02T09:03:01Z".to_string()
            ),
        ]
    );
}

#[test]
fn other_kinds_of_file_are_refused_saying_what_they_look_like() {
    for (f, says) in [
        ("chargepermission.json", "ChargePermission"),
        ("marketplace-settlement.txt", "marketplace"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out = ingest_file(tmp.path(), &json(f));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{f}: {text}");
        assert!(text.contains(says), "{f}: {text}");
        assert!(text.contains("payrecon reads"), "{f}: {text}");
        assert!(rows(&tmp.path().join("lake"), &CHARGES).is_empty());
    }
}

#[test]
fn transaction_type_spellings_load_as_one_type_keeping_the_text() {
    let tmp = tempfile::tempdir().unwrap();
    let out = payrecon(tmp.path())
        .args(["ingest", "--lake", "lake"])
        .arg(fixture("settlement-types"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The one unknown type is loaded as written and counted in a warning.
    assert!(stderr.contains("ServiceFee"), "{stderr}");
    let lines = rows(&tmp.path().join("lake"), &SETTLEMENT_LINES);
    let mut got: Vec<(String, String)> = lines
        .iter()
        .map(|r| {
            (
                get(r, "transaction_type").unwrap().to_string(),
                get(r, "transaction_type_text").unwrap().to_string(),
            )
        })
        .filter(|(t, _)| t != "Transfer")
        .collect();
    got.sort();
    got.dedup();
    let want: Vec<(String, String)> = [
        ("A-to-z Guarantee Claim", "A to Z Guarantee Claim"),
        ("A-to-z Guarantee Claim", "A-to-z Guarantee - Claim"),
        ("A-to-z Guarantee Claim", "A-to-z Guarantee Claim"),
        ("Capture", "CAPTURE"),
        ("Capture", "Capture"),
        ("Chargeback", "charge back"),
        ("Refund", "refund"),
        ("ServiceFee", "ServiceFee"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
}
