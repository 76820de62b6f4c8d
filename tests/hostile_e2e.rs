//! Nothing a file can contain stops the night (issue 21): one quirk per test, on the real
//! binary, asserting the exit code, the rows and the message.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::{fixture, get, payrecon, rows};
use payrecon::model::schema::{CHARGES, DEPOSITS, FILES, ORDERS, REJECTS};

const CHARGE_HEADER: &str = "ChargeId,ChargePermissionId,MerchantReferenceId,CreationTimestamp,\
LastUpdatedTimestamp,State,ReasonCode,ChargeAmount,CaptureAmount,RefundedAmount,CurrencyCode,\
SellerReferenceId,ReleaseEnvironment";

fn charge_row(n: u32, created: &str) -> String {
    format!(
        "P01-{n:07}-{n:07}-C{n:06},P01-{n:07}-{n:07},ORD-1,{created},{created},Declined,SoftDeclined,\
         49.99,,,USD,,Live"
    )
}

/// A working folder with the base inbox and a configuration that tolerates the exceptions a
/// world without settlements has (declined orders), so that exit codes speak of the inputs.
fn world() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let inbox = tmp.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    for f in ["orders.csv", "charges.csv"] {
        std::fs::copy(fixture("hostile/base").join(f), inbox.join(f)).unwrap();
    }
    std::fs::write(
        tmp.path().join("payrecon.toml"),
        "[thresholds]\nmax_exceptions = 1000\n",
    )
    .unwrap();
    (tmp, inbox)
}

fn add_fixture(inbox: &Path, name: &str) {
    for e in std::fs::read_dir(fixture("hostile").join(name)).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(
            &p,
            inbox.join(format!(
                "{name}-{}",
                p.file_name().unwrap().to_string_lossy()
            )),
        )
        .unwrap();
    }
}

fn run(dir: &Path, extra: &[&str]) -> Output {
    payrecon(dir)
        .args(["run", "--inbox", "inbox"])
        .args(extra)
        .timeout(Duration::from_secs(180))
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn rejects(dir: &Path) -> Vec<(String, String, String, String)> {
    rows(&dir.join("lake"), &REJECTS)
        .iter()
        .map(|r| {
            (
                get(r, "source_file").unwrap_or("").to_string(),
                get(r, "source_line").unwrap_or("").to_string(),
                get(r, "column").unwrap_or("").to_string(),
                get(r, "reason").unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn month_folders(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 7 && n.as_bytes()[4] == b'-')
        .collect();
    v.sort();
    v
}

#[test]
fn times_before_the_earliest_date_are_rejected_not_a_panic() {
    let (tmp, inbox) = world();
    add_fixture(&inbox, "before-1970");
    let out = run(tmp.path(), &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("3 rejected"), "{stdout}");
    let r = rejects(tmp.path());
    assert_eq!(r.len(), 3, "{r:?}");
    assert!(
        r.iter()
            .any(|(f, line, col, why)| f.ends_with("before-1970-charges.csv")
                && line == "3"
                && col == "CreationTimestamp"
                && why.contains(
                    "1969-07-20T20:17:00Z is before the earliest plausible date 2000-01-01"
                ))
    );
    assert!(
        r.iter()
            .any(|(_, line, col, _)| line == "4" && col == "LastUpdatedTimestamp")
    );
    assert!(r.iter().any(|(f, line, col, why)| f.ends_with("bank.csv")
        && line == "3"
        && col == "booking_date"
        && why.contains("earliest")));
    // The good rows of the same files are in.
    assert_eq!(rows(&tmp.path().join("lake"), &CHARGES).len(), 3);
    assert_eq!(rows(&tmp.path().join("lake"), &DEPOSITS).len(), 1);
    // A configured earliest date moves the rule.
    let tmp2 = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp2.path().join("payrecon.toml"),
        "[ingest]\nearliest_date = \"1960-01-01\"\n",
    )
    .unwrap();
    payrecon(tmp2.path())
        .arg("ingest")
        .arg(fixture("hostile/before-1970/charges.csv"))
        .assert()
        .success();
    assert_eq!(rows(&tmp2.path().join("lake"), &CHARGES).len(), 3);
}

#[test]
fn far_future_dates_neither_brick_the_run_nor_make_months() {
    let (tmp, inbox) = world();
    add_fixture(&inbox, "far-future");
    let out = run(tmp.path(), &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let r = rejects(tmp.path());
    assert_eq!(r.len(), 3, "{r:?}");
    for (line, when) in [
        ("3", "9999-12-31T00:00:00Z"),
        ("4", "2036-10-01T12:00:00Z"),
        ("5", "+10000-01-01T04:00:00Z"),
    ] {
        assert!(
            r.iter().any(|(_, l, c, why)| l == line
                && c == "CreationTimestamp"
                && why.contains(when)
                && why.contains("in the future")),
            "{line}: {r:?}"
        );
    }
    assert_eq!(month_folders(tmp.path()), ["2026-10"]);
    let lake = tmp.path().join("lake/charges");
    let parts: Vec<String> = std::fs::read_dir(&lake)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        parts.iter().all(|p| p.starts_with("day=2026-")),
        "{parts:?}"
    );
    // The next night runs (the rows never reached the lake).
    let out = run(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    // The clock is the run's: replayed as of 2037, the 2036 row is plausible.
    let tmp2 = tempfile::tempdir().unwrap();
    let out = payrecon(tmp2.path())
        .env("PAYRECON_NOW", "2037-01-01T00:00:00Z")
        .arg("ingest")
        .arg(fixture("hostile/far-future/charges.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(rows(&tmp2.path().join("lake"), &CHARGES).len(), 2);
}

#[test]
fn a_file_name_that_is_not_utf8_is_read_and_archived_under_its_own_bytes() {
    let (tmp, inbox) = world();
    let name = std::ffi::OsStr::from_bytes(b"\xdcberweisung.csv");
    std::fs::rename(inbox.join("charges.csv"), inbox.join(name)).unwrap();
    let out = run(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(!inbox.join(name).exists());
    let archived: Vec<PathBuf> = walk(&tmp.path().join("archive"));
    assert!(
        archived
            .iter()
            .any(|p| p.file_name().unwrap().as_bytes() == b"\xdcberweisung.csv"),
        "{archived:?}"
    );
    let files = rows(&tmp.path().join("lake"), &FILES);
    assert!(
        files
            .iter()
            .any(|r| get(r, "path").unwrap().ends_with("\u{fffd}berweisung.csv"))
    );
    // Every later night, and a rebuild from the archive, still work.
    assert_eq!(run(tmp.path(), &[]).status.code(), Some(0));
    let out = run(tmp.path(), &["--full"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(rows(&tmp.path().join("lake"), &CHARGES).len(), 2);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn odd_inbox_entries_are_skipped_with_a_warning_and_block_nothing() {
    let (tmp, inbox) = world();
    std::os::unix::fs::symlink(tmp.path().join("gone.csv"), inbox.join("dangling.csv")).unwrap();
    std::os::unix::fs::symlink(&inbox, inbox.join("loop")).unwrap();
    let fifo = inbox.join("pipe.csv");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let out = run(tmp.path(), &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("3 inbox entries skipped"), "{stdout}");
    assert!(
        stderr.contains("dangling.csv") && stderr.contains("symbolic link"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pipe.csv") && stderr.contains("FIFO"),
        "{stderr}"
    );
    assert_eq!(rows(&tmp.path().join("lake"), &ORDERS).len(), 2);
    // They stay where they are; the real files were archived.
    assert!(fifo.exists() && inbox.join("loop").exists());
    assert!(!inbox.join("orders.csv").exists());

    // Following links, a loop is named and read once, and a dangling link is named.
    let (tmp, inbox) = world();
    std::fs::write(
        tmp.path().join("payrecon.toml"),
        "[ingest]\nfollow_symlinks = true\n[thresholds]\nmax_exceptions = 1000\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&inbox, inbox.join("loop")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("gone.csv"), inbox.join("dangling.csv")).unwrap();
    let out = run(tmp.path(), &["--keep"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("link loop"), "{stderr}");
    assert!(stderr.contains("cannot be followed"), "{stderr}");
    assert_eq!(rows(&tmp.path().join("lake"), &ORDERS).len(), 2);
}

#[test]
fn an_empty_file_is_archived_and_counted_not_an_error() {
    let (tmp, inbox) = world();
    std::fs::write(inbox.join("empty.csv"), "").unwrap();
    std::fs::write(inbox.join("blank.jsonl"), "\u{feff}\r\n\n").unwrap();
    let out = run(tmp.path(), &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 empty"), "{stdout}");
    assert!(!inbox.join("empty.csv").exists() && !inbox.join("blank.jsonl").exists());
    assert_eq!(run(tmp.path(), &[]).status.code(), Some(0));
}

#[test]
fn records_longer_than_the_limit_are_rejected_at_their_line() {
    let tmp = tempfile::tempdir().unwrap();
    let big = "x".repeat(3 << 20);
    let csv = format!(
        "{CHARGE_HEADER}\n{}\n{}\n{}\n",
        charge_row(1, "2026-10-01T10:00:00Z"),
        charge_row(2, "2026-10-01T10:00:00Z").replace("ORD-1", &big),
        charge_row(3, "2026-10-01T10:00:00Z"),
    );
    std::fs::write(tmp.path().join("charges.csv"), csv).unwrap();
    // A JSON line that is a 5 MB run of NUL bytes.
    let mut jsonl = br#"{"refundId":"R1","chargeId":"C1","refundAmount":{"amount":"1.00","currencyCode":"USD"},"creationTimestamp":"20261003T155300Z","statusDetails":{"state":"Refunded","lastUpdatedTimestamp":"20261003T165300Z"}}"#.to_vec();
    jsonl.push(b'\n');
    jsonl.extend(std::iter::repeat_n(0u8, 5 << 20));
    jsonl.push(b'\n');
    jsonl.extend_from_slice(&jsonl.clone()[..jsonl.iter().position(|&b| b == b'\n').unwrap() + 1]);
    std::fs::write(tmp.path().join("refunds.jsonl"), jsonl).unwrap();
    let out = payrecon(tmp.path())
        .args(["ingest", "charges.csv", "refunds.jsonl"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let r = rejects(tmp.path());
    assert_eq!(r.len(), 2, "{r:?}");
    let csv_reject = r.iter().find(|x| x.0 == "charges.csv").unwrap();
    assert_eq!(csv_reject.1, "3");
    assert!(
        csv_reject
            .3
            .contains("longer than the limit of 1048576 bytes"),
        "{}",
        csv_reject.3
    );
    let json_reject = r.iter().find(|x| x.0 == "refunds.jsonl").unwrap();
    assert_eq!(json_reject.1, "2");
    // The rows around them are in, at their lines.
    let charges = rows(&tmp.path().join("lake"), &CHARGES);
    let lines: Vec<&str> = charges
        .iter()
        .map(|c| get(c, "source_line").unwrap())
        .collect();
    assert_eq!(lines, ["2", "4"]);
    assert!(
        stdout.contains("2 rows rejected") || stdout.contains("1 row rejected"),
        "{stdout}"
    );
    // Reject reasons and kept records are bounded.
    for row in rows(&tmp.path().join("lake"), &REJECTS) {
        assert!(get(&row, "reason").unwrap().len() < 1000);
        assert!(get(&row, "record").unwrap_or("").chars().count() <= 2000);
    }
}

#[test]
fn reasons_are_bounded_and_file_text_cannot_forge_log_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let state = "S".repeat(2_400_000 / 8);
    let csv = format!(
        "{CHARGE_HEADER}\n{}\n",
        charge_row(1, "2026-10-01T10:00:00Z").replace("Declined", &state)
    );
    std::fs::write(tmp.path().join("charges.csv"), csv).unwrap();
    std::fs::write(
        tmp.path().join("forged.csv"),
        "\"a\nERROR payrecon: forged line\",\u{1b}[2Jb\n1,2\n",
    )
    .unwrap();
    let out = payrecon(tmp.path())
        .args(["ingest", "charges.csv", "forged.csv"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    for line in stdout.lines().chain(stderr.lines()) {
        assert!(!line.starts_with("ERROR payrecon: forged"), "{line}");
        assert!(!line.contains('\u{1b}'), "{line:?}");
        assert!(line.len() < 2000, "a line of {} bytes", line.len());
    }
    assert!(stdout.contains("unrecognised header"), "{stdout}");
    let r = rejects(tmp.path());
    assert_eq!(r.len(), 1);
    assert!(
        r[0].3.len() < 500 && r[0].3.contains("more characters"),
        "{}",
        r[0].3
    );
}

#[test]
fn every_csv_the_cli_writes_is_neutralised_and_binary_columns_are_hex() {
    let tmp = tempfile::tempdir().unwrap();
    payrecon(tmp.path())
        .arg("ingest")
        .arg(fixture("hostile/formula"))
        .assert()
        .success();
    let approvals = payrecon(tmp.path())
        .args(["approvals", "--by", "device", "--format", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&approvals.stdout);
    assert!(approvals.status.success(), "{text}");
    // (devices are stored in lower case)
    assert!(text.contains("'=cmd|' /c calc'!a0"), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("=cmd")), "{text}");
    let declines = payrecon(tmp.path())
        .args(["declines", "--by", "device", "--format", "csv"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&declines.stdout).contains("'=cmd"));
    payrecon(tmp.path())
        .args(["query", "select device from orders", "--output", "x.csv"])
        .assert()
        .success();
    let x = std::fs::read_to_string(tmp.path().join("x.csv")).unwrap();
    assert_eq!(x, "device\n'=cmd|' /c calc'!a0\n");
    // `select *` over a table with the binary row hash, piped or as CSV.
    let q = payrecon(tmp.path())
        .args(["query", "select * from charges"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&q.stdout);
    assert!(q.status.success(), "{}", String::from_utf8_lossy(&q.stderr));
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let hash_at = header.iter().position(|h| *h == "row_hash").unwrap();
    let first: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
    assert!(
        first[hash_at].len() >= 16 && first[hash_at].bytes().all(|b| b.is_ascii_hexdigit()),
        "{}",
        first[hash_at]
    );
    for format in ["json", "md", "table"] {
        let q = payrecon(tmp.path())
            .args(["query", "select row_hash from charges", "--format", format])
            .output()
            .unwrap();
        assert!(
            q.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&q.stderr)
        );
    }
}

#[test]
fn a_json_lines_file_whose_first_line_is_over_64_kib_is_recognised() {
    let tmp = tempfile::tempdir().unwrap();
    let pad = "p".repeat(100 * 1024);
    let line = |id: &str| {
        format!(
            r#"{{"chargeId":"{id}","chargePermissionId":"P01-1","chargeAmount":{{"amount":"1.00","currencyCode":"USD"}},"statusDetails":{{"state":"Declined","reasonCode":"SoftDeclined","lastUpdatedTimestamp":"20261001T100000Z"}},"creationTimestamp":"20261001T100000Z","merchantMetadata":{{"merchantReferenceId":"ORD-1","customInformation":"{pad}"}}}}"#
        )
    };
    std::fs::write(
        tmp.path().join("charges.jsonl"),
        format!("{}\n{}\n", line("C1"), line("C2")),
    )
    .unwrap();
    payrecon(tmp.path())
        .args(["ingest", "charges.jsonl"])
        .assert()
        .success();
    assert_eq!(rows(&tmp.path().join("lake"), &CHARGES).len(), 2);
}

#[test]
fn a_lone_cr_is_data_and_shifts_no_line() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = format!(
        "{CHARGE_HEADER}\r\n{}\r\n{}\r{}\r\n{}\r\n",
        charge_row(1, "2026-10-01T10:00:00Z"),
        charge_row(2, "2026-10-01T10:00:00Z"),
        charge_row(3, "2026-10-01T10:00:00Z"),
        charge_row(4, "2026-10-01T10:00:00Z"),
    );
    std::fs::write(tmp.path().join("charges.csv"), csv).unwrap();
    let out = payrecon(tmp.path())
        .args(["ingest", "charges.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    // Rows 2 and 3, joined by the CR, are one bad row at line 3 (read 3 = 2 + 1).
    let files = rows(&tmp.path().join("lake"), &FILES);
    let counts: Vec<&str> = ["rows_read", "rows_loaded", "rows_rejected"]
        .iter()
        .map(|c| get(&files[0], c).unwrap())
        .collect();
    assert_eq!(counts, ["3", "2", "1"]);
    let r = rejects(tmp.path());
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].1, "3");
    let charges = rows(&tmp.path().join("lake"), &CHARGES);
    let lines: Vec<&str> = charges
        .iter()
        .map(|c| get(c, "source_line").unwrap())
        .collect();
    assert_eq!(lines, ["2", "4"]);
}

#[test]
fn a_query_during_a_live_commit_waits_for_it() {
    let tmp = tempfile::tempdir().unwrap();
    payrecon(tmp.path())
        .arg("ingest")
        .arg(fixture("hostile/base/orders.csv"))
        .assert()
        .success();
    let mut slow = std::process::Command::new(assert_cmd::cargo::cargo_bin("payrecon"))
        .current_dir(tmp.path())
        .env("PAYRECON_PAUSE_AT", "mid-apply:3000")
        .args(["ingest", "-q"])
        .arg(fixture("hostile/base/charges.csv"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let journal = tmp.path().join("lake/_txn/journal.json");
    let t = std::time::Instant::now();
    while !journal.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the commit never began"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let q = payrecon(tmp.path())
        .args([
            "query",
            "select count(*) as n from charges",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(slow.wait().unwrap().success());
    let (stdout, stderr) = text(&q);
    assert!(q.status.success(), "{stderr}");
    assert!(!stderr.contains("interrupted"), "{stderr}");
    assert_eq!(stdout, "n\n2\n");
}

#[test]
fn a_lake_already_holding_far_future_rows_still_runs() {
    // Rows a build without the window (or another clock) let in: the night neither panics nor
    // makes their months, and the cut-off stays at the run's clock + tolerance.
    let (tmp, inbox) = world();
    payrecon(tmp.path())
        .env("PAYRECON_NOW", "9999-12-31T23:59:59Z")
        .arg("ingest")
        .arg(fixture("hostile/far-future/charges.csv"))
        .assert()
        .success();
    let _ = inbox;
    let out = run(tmp.path(), &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("outside the plausible time window"),
        "{stderr}"
    );
    assert_eq!(month_folders(tmp.path()), ["2026-10"]);
    // TEST_NOW is 2027-06-30: +2 days is the cut-off, so ORD-1 (2026-10-01) is 274 days old.
    let exceptions =
        std::fs::read_to_string(tmp.path().join("reports/reconcile/exceptions.csv")).unwrap();
    let ord1 = exceptions.lines().find(|l| l.contains(",ORD-1,")).unwrap();
    assert!(ord1.contains(",274,"), "{ord1}");
}

#[test]
fn a_lake_of_an_older_format_is_refused_with_the_fix_and_full_rebuilds_it() {
    let (tmp, _inbox) = world();
    assert_eq!(run(tmp.path(), &[]).status.code(), Some(0));
    let marker = tmp.path().join("lake/_payrecon.json");
    std::fs::write(
        &marker,
        "{\"format\": \"payrecon-lake\", \"version\": \"1\"}\n",
    )
    .unwrap();
    let out = run(tmp.path(), &[]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("format 1") && stderr.contains("run --full"),
        "{stderr}"
    );
    let out = run(tmp.path(), &["--full"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(std::fs::read_to_string(&marker).unwrap().contains(&format!(
        "\"version\": \"{}\"",
        payrecon::model::schema::LAKE_FORMAT_VERSION
    )));
    assert_eq!(rows(&tmp.path().join("lake"), &ORDERS).len(), 2);
}
