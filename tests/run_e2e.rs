//! `payrecon run` end to end: three nights equal one full run, `--full` equals the nights, the
//! lock, kills at every stage, dry runs change nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{mtimes, payrecon, snapshot};
use payrecon::model::schema::TABLES;

/// Generated files split into nights by the date in their names.
struct Nights {
    all: Vec<PathBuf>,
}

impl Nights {
    fn generate(dir: &Path, args: &[&str]) -> Nights {
        payrecon(dir)
            .arg("generate")
            .args(args)
            .args(["--out", "gen"])
            .assert()
            .success();
        let mut all: Vec<PathBuf> = std::fs::read_dir(dir.join("gen"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e != "md"))
            .collect();
        all.sort();
        Nights { all }
    }

    /// Files of night `n` of 3: dates up to 10-10, up to 10-20, the rest.
    fn night(&self, n: usize) -> Vec<&PathBuf> {
        self.all
            .iter()
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                let date = name
                    .split('-')
                    .skip(1)
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("-");
                let night = if date.as_str() <= "2026-10-10" {
                    1
                } else if date.as_str() <= "2026-10-20" {
                    2
                } else {
                    3
                };
                night == n
            })
            .collect()
    }

    fn drop_into(&self, inbox: &Path, files: &[&PathBuf]) {
        std::fs::create_dir_all(inbox).unwrap();
        for f in files {
            std::fs::copy(f, inbox.join(f.file_name().unwrap())).unwrap();
        }
    }
}

fn run(dir: &Path, extra: &[&str]) -> Output {
    payrecon(dir)
        .args(["--lake", "lake", "run", "--inbox", "inbox"])
        .args(extra)
        .output()
        .unwrap()
}

/// `payrecon run` started in the background (output captured).
fn spawn_run(dir: &Path, extra: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_payrecon"))
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("PAYRECON_CRASH_AT")
        .args(["--lake", "lake", "run", "--inbox", "inbox"])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// `payrecon run` aborted at `point` (`PAYRECON_CRASH_AT`), as a kill there would.
fn crashed_run(dir: &Path, point: &str, extra: &[&str]) {
    let out = payrecon(dir)
        .env("PAYRECON_CRASH_AT", point)
        .args(["--lake", "lake", "run", "--inbox", "inbox"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_none(),
        "{point}: the run was not killed"
    );
}

/// The `run finished` event of a run with `--log-format json` (one JSON object per line).
fn run_finished(out: &Output) -> serde_json::Value {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON log line"))
        .find(|v| v["fields"]["message"] == "run finished")
        .expect("a run finished event")
}

fn ok(out: &Output) {
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "exit {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every lake table's rows without `file_seq` (which numbers files in ingest order), sorted.
fn lake_rows(lake: &Path) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for t in TABLES {
        let mut rows: Vec<Vec<String>> = common::rows(lake, t)
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .filter(|(c, _)| *c != "file_seq")
                    .map(|(c, v)| format!("{c}={}", v.unwrap_or_default()))
                    .collect()
            })
            .collect();
        rows.sort();
        for r in rows {
            out.push((t.name.to_string(), r));
        }
    }
    out
}

fn assert_same_outputs(a: &Path, b: &Path) {
    let (la, lb) = (lake_rows(&a.join("lake")), lake_rows(&b.join("lake")));
    assert_eq!(la.len(), lb.len(), "lake row counts");
    assert!(la == lb, "lake contents differ");
    // The run state (`.payrecon-run.json`) names the lake's files, which differ in numbering;
    // so does the incremental reconciliation's state (`.payrecon-reconcile-state.bin`), whose
    // component labels also depend on the order rows came in.
    let reports = |d: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        snapshot(&d.join("reports"))
            .into_iter()
            .filter(|(p, _)| !p.to_string_lossy().starts_with(".payrecon-"))
            .collect()
    };
    let (ra, rb) = (reports(a), reports(b));
    let names = |s: &[(PathBuf, Vec<u8>)]| s.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ra), names(&rb), "report files");
    for ((p, x), (_, y)) in ra.iter().zip(&rb) {
        assert!(x == y, "{} differs", p.display());
    }
    assert!(ra.len() >= 20, "{} report files", ra.len());
}

const GEN: [&str; 6] = ["--orders", "600", "--seed", "21", "--messy", "--month"];

fn three_nights(dir: &Path, nights: &Nights) {
    for n in 1..=3 {
        nights.drop_into(&dir.join("inbox"), &nights.night(n));
        let out = run(dir, &[]);
        ok(&out);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.starts_with("run "), "{stdout}");
        // One summary line, then what to open and why it has findings.
        for l in stdout.lines().skip(1) {
            assert!(
                l.starts_with("open ")
                    || l.starts_with("findings: ")
                    || l.contains("within the thresholds")
                    || l.ends_with("to look at:")
                    || (l.starts_with("  ") && l.ends_with(" old")),
                "{stdout}"
            );
        }
        // The inbox is empty: everything processed went to the archive.
        assert_eq!(std::fs::read_dir(dir.join("inbox")).unwrap().count(), 0);
    }
}

#[test]
fn three_nights_equal_one_full_run_and_full_rebuild() {
    let tmp = tempfile::tempdir().unwrap();
    let nightly = tmp.path().join("nightly");
    let once = tmp.path().join("once");
    std::fs::create_dir_all(&nightly).unwrap();
    std::fs::create_dir_all(&once).unwrap();
    let nights = Nights::generate(tmp.path(), &[GEN.as_slice(), &["2026-10"]].concat());
    assert!(nights.night(1).len() > 20 && nights.night(3).len() > 20);
    three_nights(&nightly, &nights);

    let all: Vec<&PathBuf> = nights.all.iter().collect();
    nights.drop_into(&once.join("inbox"), &all);
    ok(&run(&once, &[]));
    assert_same_outputs(&nightly, &once);
    // Archived per run: three folders holding every file once.
    let runs = std::fs::read_dir(nightly.join("archive")).unwrap().count();
    assert_eq!(runs, 3);

    // A re-dropped file changes nothing.
    let before = snapshot(&nightly.join("reports"));
    nights.drop_into(&nightly.join("inbox"), &nights.night(2)[..3]);
    let out = run(&nightly, &[]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 new"));
    assert!(before == snapshot(&nightly.join("reports")));
    // Nothing was even rewritten: the results table's files keep their modification times.
    let results = nightly.join("reports/reconcile/results");
    let mtime = mtimes(&results);
    assert!(mtime.len() > 10, "{} results files", mtime.len());
    ok(&run(&nightly, &[]));
    assert_eq!(mtimes(&results), mtime);

    // --full rebuilds the lake from the archive and rewrites every report: same results.
    let out = run(&nightly, &["--full"]);
    ok(&out);
    assert_same_outputs(&nightly, &once);
    assert!(!nightly.join("lake.rebuild").exists() && !nightly.join("lake.old").exists());

    // --full refuses to drop history it cannot find again (files run with --keep elsewhere).
    let before = lake_rows(&nightly.join("lake"));
    let out = payrecon(&nightly)
        .args(["--lake", "lake", "run", "--inbox", "inbox", "--full"])
        .args(["--archive", "empty-archive"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the lake was left as it was"));
    assert!(before == lake_rows(&nightly.join("lake")));
    assert!(!nightly.join("lake.rebuild").exists());
}

#[test]
fn a_second_run_exits_2_while_one_holds_the_lock_or_waits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("inbox")).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lake.run-lock"))
        .unwrap();
    lock.lock().unwrap();
    let out = run(dir, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another payrecon run is in progress"), "{err}");
    assert!(err.contains("--wait"), "{err}");

    let child = spawn_run(dir, &["--wait"]);
    std::thread::sleep(std::time::Duration::from_millis(700));
    let mut child = child;
    assert!(child.try_wait().unwrap().is_none(), "--wait did not wait");
    drop(lock);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// Killed at each stage (ingest, commit, archive, reconcile, reports, --full swap), the next run
/// ends with what an uninterrupted run gives.
#[test]
fn killed_at_any_point_the_next_run_finishes_the_job() {
    let tmp = tempfile::tempdir().unwrap();
    let nights = Nights::generate(
        tmp.path(),
        &[
            "--orders", "300", "--seed", "4", "--messy", "--month", "2026-10",
        ],
    );
    // The reference: night 1, then night 2, uninterrupted.
    let reference = tmp.path().join("reference");
    for n in 1..=2 {
        nights.drop_into(&reference.join("inbox"), &nights.night(n));
        ok(&run(&reference, &[]));
    }
    let points = [
        "after-read",
        "after-merge",
        "after-journal",
        "mid-apply",
        "before-cleanup",
        "run-after-ingest",
        "run-mid-archive",
        "run-after-reconcile",
        "run-mid-reports",
    ];
    for point in points {
        let dir = tmp.path().join(point);
        nights.drop_into(&dir.join("inbox"), &nights.night(1));
        ok(&run(&dir, &[]));
        nights.drop_into(&dir.join("inbox"), &nights.night(2));
        crashed_run(&dir, point, &[]);
        ok(&run(&dir, &[]));
        assert_same_outputs(&dir, &reference);
        assert_eq!(
            std::fs::read_dir(dir.join("inbox")).unwrap().count(),
            0,
            "{point}"
        );
    }
    // --full killed before and in the middle of the lake swap.
    for point in ["run-before-swap", "run-mid-swap"] {
        let dir = tmp.path().join(point);
        for n in 1..=2 {
            nights.drop_into(&dir.join("inbox"), &nights.night(n));
            ok(&run(&dir, &[]));
        }
        crashed_run(&dir, point, &["--full"]);
        ok(&run(&dir, &[]));
        assert_same_outputs(&dir, &reference);
    }
}

/// A real SIGKILL at several moments of a run.
#[test]
fn sigkill_at_several_moments() {
    let tmp = tempfile::tempdir().unwrap();
    let nights = Nights::generate(
        tmp.path(),
        &["--orders", "1500", "--seed", "8", "--month", "2026-10"],
    );
    let reference = tmp.path().join("reference");
    for n in 1..=2 {
        nights.drop_into(&reference.join("inbox"), &nights.night(n));
        ok(&run(&reference, &[]));
    }
    let mut killed = 0;
    for delay_ms in [5u64, 40, 120, 300, 600] {
        let dir = tmp.path().join(format!("kill-{delay_ms}"));
        nights.drop_into(&dir.join("inbox"), &nights.night(1));
        ok(&run(&dir, &[]));
        nights.drop_into(&dir.join("inbox"), &nights.night(2));
        let mut child = spawn_run(&dir, &[]);
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        if child.wait().unwrap().code().is_none() {
            killed += 1;
        }
        ok(&run(&dir, &[]));
        assert_same_outputs(&dir, &reference);
    }
    assert!(
        killed >= 3,
        "only {killed} of 5 runs were still running when killed"
    );
}

#[test]
fn dry_run_changes_nothing_and_says_what_it_would_do() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let nights = Nights::generate(
        dir,
        &["--orders", "100", "--seed", "2", "--month", "2026-10"],
    );
    nights.drop_into(&dir.join("inbox"), &nights.night(1));
    std::fs::write(dir.join("inbox/notes.txt"), "not a data file\n").unwrap();
    let before = snapshot(dir);
    let out = run(dir, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(before == snapshot(dir), "a dry run changed files");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ingest charges"), "{text}");
    assert!(
        text.contains("not recognised, stays in the inbox"),
        "{text}"
    );
    assert!(text.contains("would archive"), "{text}");
    // JSON logs: one object per line on standard error, the summary among them.
    let out = run(dir, &["--log-format", "json"]);
    ok(&out);
    let finished = run_finished(&out);
    assert!(finished["fields"]["rows_loaded"].as_u64().unwrap() > 0);
    // The unrecognised file stays in the inbox; the rest is archived.
    let left: Vec<_> = std::fs::read_dir(dir.join("inbox")).unwrap().collect();
    assert_eq!(left.len(), 1);
}

/// The figures of a summary line: from the approval rate to the exception counts.
fn figures(stdout: &str) -> &str {
    let from = stdout.find("approval").expect("an approval rate");
    let to = from + stdout[from..].find(')').expect("exception counts") + 1;
    &stdout[from..to]
}

#[test]
fn a_run_with_nothing_new_leaves_the_last_outputs_and_recomputes_when_they_change() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let nights = Nights::generate(
        dir,
        &[
            "--orders", "150", "--seed", "5", "--messy", "--month", "2026-10",
        ],
    );
    nights.drop_into(&dir.join("inbox"), &nights.night(1));
    let first = run(dir, &[]);
    ok(&first);
    let first_out = String::from_utf8_lossy(&first.stdout).to_string();
    let reports = snapshot(&dir.join("reports"));
    assert!(dir.join("reports/.payrecon-run.json").is_file());

    // Nothing new: the last run's figures and exit code, nothing recomputed or rewritten.
    let results = dir.join("reports/reconcile/results");
    let mtime = mtimes(&results);
    let out = run(dir, &["--log-format", "json"]);
    ok(&out);
    assert_eq!(out.status.code(), first.status.code());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("nothing changed since the last run"),
        "{text}"
    );
    assert_eq!(figures(&text), figures(&first_out));
    let finished = run_finished(&out);
    assert_eq!(finished["fields"]["unchanged_since_last_run"], true);
    assert!(reports == snapshot(&dir.join("reports")));
    assert_eq!(mtimes(&results), mtime);
    let dry = String::from_utf8_lossy(&run(dir, &["--dry-run"]).stdout).to_string();
    assert!(dry.contains("would stand as they are"), "{dry}");

    // An output deleted or edited: the run recomputes and puts back the same bytes.
    let month = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("summary.md").is_file())
        .expect("a month folder");
    std::fs::remove_file(month.join("summary.md")).unwrap();
    let exceptions = dir.join("reports/reconcile/exceptions.csv");
    let mut edited = std::fs::read(&exceptions).unwrap();
    edited.extend_from_slice(b"tampered\n");
    std::fs::write(&exceptions, edited).unwrap();
    // A results file with one byte changed (same size, same rows on record).
    let (results_file, _) = mtimes(&results)
        .into_iter()
        .find(|(p, _)| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let results_file = results.join(results_file);
    let mut flipped = std::fs::read(&results_file).unwrap();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 1;
    std::fs::write(&results_file, flipped).unwrap();
    let out = run(dir, &[]);
    ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("nothing changed"), "{text}");
    assert!(
        reports == snapshot(&dir.join("reports")),
        "outputs restored"
    );

    // Another cut-off is another input; the same one again is not.
    let out = run(dir, &["--cutoff", "2026-10-09T00:00:00Z"]);
    ok(&out);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("nothing changed"));
    let out = run(dir, &["--cutoff", "2026-10-09T00:00:00Z"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing changed"));

    // A new night is new input.
    nights.drop_into(&dir.join("inbox"), &nights.night(2));
    let out = run(dir, &[]);
    ok(&out);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("nothing changed"));
}

/// The date in a generated file's name (`kind-YYYY-MM-DD…`).
fn file_date(p: &Path) -> String {
    let name = p.file_name().unwrap().to_string_lossy().into_owned();
    let i = name.find("-20").expect("a date in the name") + 1;
    name[i..i + 10].to_string()
}

/// Night after night over two months (a base, then one day of files a night, each with new
/// charges, status updates, refunds, settlements and bank lines, and a later cut-off): every
/// night after the first reconciles incrementally, and the last one's lake, results and
/// reports are those of one full run over the same files.
#[test]
fn daily_incremental_nights_equal_one_full_run() {
    let tmp = tempfile::tempdir().unwrap();
    let nightly = tmp.path().join("nightly");
    let once = tmp.path().join("once");
    std::fs::create_dir_all(&nightly).unwrap();
    std::fs::create_dir_all(&once).unwrap();
    let nights = Nights::generate(
        tmp.path(),
        &[
            "--orders", "500", "--seed", "7", "--messy", "--month", "2026-09", "--months", "2",
        ],
    );
    let mut dates: Vec<String> = nights.all.iter().map(|p| file_date(p)).collect();
    dates.sort();
    dates.dedup();
    let base: Vec<&PathBuf> = nights
        .all
        .iter()
        .filter(|p| file_date(p).as_str() <= "2026-10-24")
        .collect();
    nights.drop_into(&nightly.join("inbox"), &base);
    let first = run(&nightly, &["--log-format", "json"]);
    ok(&first);
    assert_eq!(run_finished(&first)["fields"]["reconciliation"], "full");
    let later: Vec<&String> = dates.iter().filter(|d| d.as_str() > "2026-10-24").collect();
    assert!(later.len() >= 8, "{} later days", later.len());
    // Months whose tables a night took from the last run (their attempts did not change).
    let mut months_kept = 0;
    for day in later {
        let files: Vec<&PathBuf> = nights.all.iter().filter(|p| file_date(p) == *day).collect();
        nights.drop_into(&nightly.join("inbox"), &files);
        let out = run(&nightly, &["--log-format", "json", "-v"]);
        ok(&out);
        assert_eq!(
            run_finished(&out)["fields"]["reconciliation"],
            "incremental",
            "night {day}"
        );
        months_kept += String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["fields"]["message"] == "rendered the reports")
            .and_then(|v| v["fields"]["from_the_last_run"].as_u64())
            .expect("a rendered-the-reports event");
    }
    // The tables cache is used, and the bytes below still equal one full run's.
    assert!(months_kept > 0, "no month's tables came from the last run");
    // The run state of a night vouches for every output as it is on disk (the digests of the
    // results files the night left alone come from the last run's record): nothing changed.
    let out = run(&nightly, &[]);
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("nothing changed"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let all: Vec<&PathBuf> = nights.all.iter().collect();
    nights.drop_into(&once.join("inbox"), &all);
    ok(&run(&once, &[]));
    assert_same_outputs(&nightly, &once);
}
