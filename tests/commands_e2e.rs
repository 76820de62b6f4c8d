//! End-to-end tests of the other commands, and of determinism: same inputs, same bytes.

mod common;

use common::*;
use predicates::str::contains;

#[test]
fn generate_is_deterministic_for_a_seed() {
    let tmp = tempfile::tempdir().unwrap();
    for out in ["a", "b"] {
        payrecon(tmp.path())
            .args([
                "generate", "--orders", "150", "--seed", "9", "--messy", "--out", out,
            ])
            .assert()
            .success()
            .stdout(contains("generated 150 orders"));
    }
    let (a, b) = (
        snapshot(&tmp.path().join("a")),
        snapshot(&tmp.path().join("b")),
    );
    assert!(
        a.len() > 20,
        "expected files of every kind, got {}",
        a.len()
    );
    assert_eq!(a, b);
    let kinds = ["orders-", "charges-", "refunds-", "settlement-", "bank-"];
    for k in kinds {
        assert!(
            a.iter().any(|(p, _)| p.to_string_lossy().starts_with(k)),
            "no {k} file"
        );
    }
    payrecon(tmp.path())
        .args(["generate", "--orders", "150", "--seed", "10", "--out", "c"])
        .assert()
        .success();
    assert_ne!(a, snapshot(&tmp.path().join("c")));
}

#[test]
fn the_same_files_make_the_same_lake_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    payrecon(tmp.path())
        .args([
            "generate", "--orders", "200", "--seed", "4", "--messy", "--out", "data",
        ])
        .assert()
        .success();
    for lake in ["lake1", "lake2"] {
        payrecon(tmp.path())
            .args(["ingest", "--lake", lake, "data"])
            .assert()
            .code(1);
    }
    assert_eq!(
        snapshot(&tmp.path().join("lake1")),
        snapshot(&tmp.path().join("lake2"))
    );
}

#[test]
fn codes_prints_the_shipped_catalogue() {
    let tmp = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/reason-codes.csv"),
    )
    .unwrap();
    payrecon(tmp.path())
        .args(["codes", "--format", "csv"])
        .assert()
        .success()
        .stdout(shipped);
    payrecon(tmp.path())
        .arg("codes")
        .assert()
        .success()
        .stdout(
            predicates::str::is_match(
                r"(?m)^SoftDeclined\s+Error Codes\s+Decline\s+Common\s+T0\s+-\s+soft$",
            )
            .unwrap(),
        )
        .stdout(predicates::str::is_match(r"(?m)^TooManyRequests\s.*\s429\s+soft$").unwrap());
}

#[test]
fn run_processes_an_inbox_and_leaves_the_demo_inbox_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    payrecon(tmp.path())
        .args([
            "generate", "--orders", "100", "--seed", "2", "--out", "inbox",
        ])
        .assert()
        .success();
    let files = std::fs::read_dir(tmp.path().join("inbox")).unwrap().count();
    let out = payrecon(tmp.path())
        .args(["run", "--inbox", "inbox"])
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)));
    let line = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        line.starts_with("run ") && line.contains(&format!("{files} files")),
        "{line}"
    );
    assert!(tmp.path().join("reports/2026-10/approvals.html").exists());
    assert!(tmp.path().join("reports/reconcile/exceptions.csv").exists());
    // Processed files moved to the archive beside the inbox (generate's README.md is no data).
    let left: Vec<_> = std::fs::read_dir(tmp.path().join("inbox"))
        .unwrap()
        .collect();
    assert!(left.len() <= 1, "{left:?}");
    assert!(tmp.path().join("archive").is_dir());
    payrecon(tmp.path())
        .args(["run", "--inbox", "inbox"])
        .assert()
        .stdout(contains("0 new"));
    payrecon(tmp.path())
        .args(["run", "--inbox", "nowhere"])
        .assert()
        .code(2)
        .stderr(contains("not a folder"));

    // With no arguments, `run` reads ./sample-data and never moves its files.
    let demo = tmp.path().join("demo");
    std::fs::create_dir_all(&demo).unwrap();
    payrecon(&demo)
        .args([
            "generate",
            "--orders",
            "50",
            "--seed",
            "3",
            "--out",
            "sample-data",
        ])
        .assert()
        .success();
    let before = snapshot(&demo.join("sample-data"));
    let out = payrecon(&demo).arg("run").output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)));
    assert!(before == snapshot(&demo.join("sample-data")));
    assert!(!demo.join("archive").exists());
}
