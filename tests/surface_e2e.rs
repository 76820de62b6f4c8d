//! What people see (issue 23): exit codes by severity and the lines that say what to open.

mod common;

use std::path::Path;

use common::payrecon;

/// The shipped sample data in `dir/sample-data`.
fn with_sample_data(dir: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
    let dst = dir.join("sample-data");
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn the_first_run_on_the_sample_data_is_green_and_says_what_to_open() {
    let tmp = tempfile::tempdir().unwrap();
    with_sample_data(tmp.path());
    let out = payrecon(tmp.path()).args(["-q", "run"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("run ok: "), "{stdout}");
    assert!(
        lines[0].contains("exceptions 2 (high 0, medium 0, low 2)"),
        "{stdout}"
    );
    assert_eq!(
        lines[1],
        "open reports/2026-10/approvals.html (approvals) and reports/2026-10/close-2026-10.xlsx \
         (month close); 2 months in reports"
    );
    assert_eq!(
        lines[2],
        "2 exceptions within the thresholds (2 low); listed in reports/reconcile/exceptions.csv"
    );
    assert_eq!(lines[3], "to look at:", "{stdout}");
    assert!(
        lines[4].starts_with("  low    order ORD-")
            && lines[4].contains("order_not_captured (nothing captured: the authorization lapsed)")
            && lines[4].ends_with("days old"),
        "{stdout}"
    );
    assert_eq!(lines.len(), 6, "{stdout}");
    for f in [
        "reports/2026-10/approvals.html",
        "reports/2026-10/close-2026-10.xlsx",
    ] {
        assert!(tmp.path().join(f).is_file(), "{f}");
    }
    // Nothing printed twice: no error, no warning on standard error with -q.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_severity_above_its_threshold_exits_1_and_says_why_and_where() {
    let tmp = tempfile::tempdir().unwrap();
    with_sample_data(tmp.path());
    std::fs::write(
        tmp.path().join("payrecon.toml"),
        "[thresholds]\nmax_low = 1\n",
    )
    .unwrap();
    let out = payrecon(tmp.path()).args(["-q", "run"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with("run finished with findings: "),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "findings: 2 low-severity exceptions (more than [thresholds] max_low = 1); \
             listed in reports/reconcile/exceptions.csv"
        ),
        "{stdout}"
    );

    // `reconcile` says the same at its end, with its own output folder.
    let out = payrecon(tmp.path())
        .args(["-q", "reconcile", "--out", "rec"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(
        stdout.lines().last(),
        Some(
            "findings: 2 low-severity exceptions (more than [thresholds] max_low = 1); \
             listed in rec/exceptions.csv"
        ),
        "{stdout}"
    );
    // A total cap applies to every severity together.
    std::fs::write(
        tmp.path().join("payrecon.toml"),
        "[thresholds]\nmax_exceptions = 1\n",
    )
    .unwrap();
    let out = payrecon(tmp.path())
        .args(["-q", "reconcile", "--out", "rec"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("2 exceptions in all (more than [thresholds] max_exceptions = 1)")
    );
}

#[test]
fn errors_once_with_did_you_mean_and_the_list_of_tables() {
    let tmp = tempfile::tempdir().unwrap();
    with_sample_data(tmp.path());
    payrecon(tmp.path())
        .args(["-q", "ingest", "sample-data"])
        .assert()
        .success();
    let out = payrecon(tmp.path())
        .args(["query", "select * from charge"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: no table \"charge\"; did you mean \"charges\"?; the tables are bank_pending, charges, deposits,"),
        "{err}"
    );
    let out = payrecon(tmp.path())
        .args(["approvals", "--by", "contry"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("did you mean \"country\"?"), "{err}");
    let out = payrecon(tmp.path())
        .args(["approvals", "--from", "2026-10-20", "--to", "2026-10-01"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: --from 2026-10-20 is after --to 2026-10-01: no day is in that period\n"
    );
    // With JSON logs the error is one JSON event instead.
    let out = payrecon(tmp.path())
        .args(["--log-format", "json", "approvals", "--by", "contry"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with('{') && err.contains("\"level\":\"ERROR\""),
        "{err}"
    );
}

#[test]
fn colour_is_off_unless_asked_and_never_with_no_color() {
    let tmp = tempfile::tempdir().unwrap();
    let esc = |o: &std::process::Output| o.stderr.contains(&0x1b);
    // Not a terminal: no colour by default; `--color always` forces it; NO_COLOR does not
    // override an explicit `always`, but `never` wins everywhere.
    std::fs::write(tmp.path().join("junk.csv"), "not,a,known,header\n").unwrap();
    let run = |args: &[&str], no_color: bool| {
        let mut c = payrecon(tmp.path());
        c.args(args).args(["ingest", "junk.csv"]);
        if no_color {
            c.env("NO_COLOR", "1");
        }
        c.output().unwrap()
    };
    assert!(!esc(&run(&["-v"], false)));
    assert!(esc(&run(&["-v", "--color", "always"], false)));
    assert!(!esc(&run(&["-v", "--color", "never"], true)));
    assert!(!esc(&run(&["-v", "--color", "auto"], true)));
}

#[test]
fn init_writes_a_commented_config_that_loads_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let out = payrecon(d).arg("init").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("wrote payrecon.toml"));
    let text = std::fs::read_to_string(d.join("payrecon.toml")).unwrap();
    assert!(text.lines().filter(|l| l.starts_with('#')).count() > 30);
    // It loads (a command reading the configuration runs) ...
    std::fs::create_dir(d.join("in")).unwrap();
    payrecon(d).args(["ingest", "in"]).assert().success();
    // ... and a second init refuses to overwrite it, unless --force.
    let again = payrecon(d).arg("init").output().unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    payrecon(d).args(["init", "--force"]).assert().success();
    // An edit with a typo is an error naming the key.
    std::fs::write(
        d.join("payrecon.toml"),
        text.replace("min_n = 30", "min_m = 30"),
    )
    .unwrap();
    let bad = payrecon(d).args(["ingest", "in"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("min_m"));
}

#[test]
fn completions_and_man_pages_come_from_the_command_line_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef payrecon"),
        ("fish", "__fish_payrecon"),
    ] {
        let out = payrecon(d).args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(marker), "{shell}");
        assert!(
            text.contains("reconcile") && (text.contains("--by") || text.contains("-l by")),
            "{shell}"
        );
    }
    let out = payrecon(d).arg("man").output().unwrap();
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH payrecon"),
        "{page}"
    );
    payrecon(d).args(["man", "--out", "man"]).assert().success();
    for page in ["payrecon.1", "payrecon-run.1", "payrecon-approvals.1"] {
        assert!(d.join("man").join(page).is_file(), "{page}");
    }
    // A mistyped value gets clap's suggestion.
    let bad = payrecon(d).args(["completions", "bsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("bash"));
}

#[test]
fn periods_default_to_the_last_complete_one_and_empty_ones_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    common::generated_lake(d, &["--orders", "300", "--seed", "4"]);
    let stderr = |args: &[&str]| {
        let out = payrecon(d)
            .args(["--lake", "lake"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The data runs a few days into November: the last complete week and month come first.
    let (code, err) = stderr(&["changes", "--period", "week"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("the last complete week"), "{err}");
    let (code, err) = stderr(&["report", "--out", "reports"]);
    assert_eq!(code.map(|c| c < 2), Some(true), "{err}");
    assert!(
        err.contains("reporting 2026-10, the last complete month"),
        "{err}"
    );
    assert!(d.join("reports/2026-10/approvals.html").is_file());
    // A period without data is a warning that says what the lake has.
    let (code, err) = stderr(&["approvals", "--from", "2025-01-01", "--to", "2025-01-31"]);
    assert_eq!(code, Some(0));
    assert!(
        err.contains(
            "no attempts from 2025-01-01 to 2025-01-31; the lake's attempts run from 2026-10-"
        ),
        "{err}"
    );
    // Closing a month before every settlement line is an error, not an empty pack.
    let (code, err) = stderr(&["close", "--month", "2025-01", "--out", "close"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("nothing to close in 2025-01"), "{err}");
    assert!(err.contains("settlement lines from 2026-"), "{err}");
    assert!(!d.join("close").exists());
}

#[test]
fn the_reconcile_summary_reads_in_words() {
    // Golden: tests/golden/reconcile-summary.txt; refresh with
    // PAYRECON_BLESS=1 cargo test --test surface_e2e the_reconcile_summary
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    with_sample_data(d);
    payrecon(d)
        .args(["-q", "ingest", "--no-progress", "sample-data"])
        .assert()
        .success();
    let out = payrecon(d)
        .args(["reconcile", "--out", "rec"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "1. orders and their charges",
        "2. charges and refunds on settlement reports",
        "3. settlements that balance",
        "4. payouts and bank deposits",
        "to look at:",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/reconcile-summary.txt");
    if std::env::var_os("PAYRECON_BLESS").is_some() {
        std::fs::write(&golden, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&golden).unwrap();
    assert!(
        text == want,
        "the reconcile summary differs from {}; if intended, run PAYRECON_BLESS=1 cargo test \
         --test surface_e2e the_reconcile_summary\n{text}",
        golden.display()
    );
}
