//! `payrecon fetch` end to end against a local Amazon Pay Reports API (issue 24): a server of
//! our own that answers as the documented API does (pages with `nextToken`, a report still in
//! progress, an expired document URL, a 429 then success, a 503 then success, a 403 with
//! Amazon's error body) and verifies every API request's signature with the public key,
//! rebuilding the canonical request from what arrived on the wire.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use common::{fixture, payrecon};
use sha2::{Digest, Sha256};

/// How the server behaves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Every quirk of the issue, once each.
    Normal,
    /// Get Reports refuses with 403 and Amazon's error body.
    Forbidden,
    /// The document of report R1 stalls half-way (to be killed mid-download).
    Stall,
}

#[derive(Default)]
struct Seen {
    /// Every request: method, path and query.
    requests: Vec<String>,
    /// Requests whose signature did not verify, with why.
    bad_signatures: Vec<String>,
    /// Every signature seen (none may appear in any output).
    signatures: Vec<String>,
    /// Count of calls by key, for the one-off quirks.
    calls: BTreeMap<String, u32>,
}

struct Server {
    port: u16,
    seen: Arc<Mutex<Seen>>,
    mode: Arc<Mutex<Mode>>,
}

/// The reports' documents: real settlement reports of the sample data.
fn documents() -> BTreeMap<&'static str, Vec<u8>> {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
    [
        ("D1", "settlement-2026-10-01-EUR.txt"),
        ("D4", "settlement-2026-10-01-GBP.txt"),
        ("D5", "settlement-2026-10-01-JPY.txt"),
    ]
    .into_iter()
    .map(|(id, f)| (id, std::fs::read(sample.join(f)).unwrap()))
    .collect()
}

const TYPE: &str = "_GET_FLAT_FILE_OFFAMAZONPAYMENTS_SETTLEMENT_DATA_";

fn report(id: &str, status: &str, doc: Option<&str>, created: &str) -> serde_json::Value {
    let mut r = serde_json::json!({
        "reportId": id,
        "reportType": TYPE,
        "startTime": "20261001T000000Z",
        "endTime": "20261002T000000Z",
        "createdTime": created,
        "processingStatus": status,
        "processingStartTime": created,
    });
    if let Some(d) = doc {
        r["reportDocumentId"] = d.into();
        r["processingEndTime"] = created.into();
    }
    r
}

/// RFC 3986 decoding and PHP `rawurlencode` re-encoding: the server's own canonical query.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn raw_url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Verifies a request's signature as Amazon does; `Err` says why not.
fn verify(rq: &tiny_http::Request, public: &[u8]) -> Result<String, String> {
    let header = |name: &str| {
        rq.headers()
            .iter()
            .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str().to_string())
    };
    let auth = header("authorization").ok_or("no authorization header")?;
    let rest = auth
        .strip_prefix("AMZN-PAY-RSASSA-PSS-V2 ")
        .ok_or("not AMZN-PAY-RSASSA-PSS-V2")?;
    let mut parts = BTreeMap::new();
    for p in rest.split(", ") {
        let (k, v) = p.split_once('=').ok_or("bad authorization part")?;
        parts.insert(k.to_string(), v.to_string());
    }
    let key_id = parts.get("PublicKeyId").ok_or("no PublicKeyId")?;
    if key_id != "AHTESTKEYFORPAYRECON" {
        return Err(format!("unknown key id {key_id}"));
    }
    let signed = parts.get("SignedHeaders").ok_or("no SignedHeaders")?;
    let sig = parts.get("Signature").ok_or("no Signature")?.clone();
    let (path, query) = rq.url().split_once('?').unwrap_or((rq.url(), ""));
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    pairs.sort();
    let canonical_query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", raw_url_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut canonical = format!("{}\n{path}\n{canonical_query}\n", rq.method().as_str());
    let names: Vec<&str> = signed.split(';').collect();
    for want in [
        "accept",
        "content-type",
        "x-amz-pay-date",
        "x-amz-pay-host",
        "x-amz-pay-region",
    ] {
        if !names.contains(&want) {
            return Err(format!("{want} is not signed"));
        }
    }
    for n in &names {
        let v = header(n).ok_or(format!("signed header {n} not sent"))?;
        canonical.push_str(&format!("{n}:{}\n", v.trim()));
    }
    canonical.push('\n');
    canonical.push_str(signed);
    canonical.push('\n');
    canonical.push_str(&hex(&Sha256::digest(b"")));
    let to_sign = format!(
        "AMZN-PAY-RSASSA-PSS-V2\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&sig)
        .map_err(|e| e.to_string())?;
    // ring checks PSS with a salt of the digest's length: the V2 scheme's 32 bytes.
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PSS_2048_8192_SHA256, public)
        .verify(to_sign.as_bytes(), &raw)
        .map_err(|_| format!("signature does not verify for:\n{canonical}"))?;
    let date = header("x-amz-pay-date").unwrap_or_default();
    let t = chrono::NaiveDateTime::parse_from_str(&date, "%Y%m%dT%H%M%SZ")
        .map_err(|e| format!("x-amz-pay-date {date}: {e}"))?;
    if (chrono::Utc::now().naive_utc() - t).num_minutes().abs() > 15 {
        return Err(format!("x-amz-pay-date {date} is not now"));
    }
    if header("x-amz-pay-region").as_deref() != Some("eu") {
        return Err("x-amz-pay-region is not eu".into());
    }
    Ok(sig)
}

fn json(status: u16, v: serde_json::Value) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    tiny_http::Response::from_data(serde_json::to_vec(&v).unwrap())
        .with_status_code(status)
        .with_header(
            "content-type: application/json"
                .parse::<tiny_http::Header>()
                .unwrap(),
        )
}

/// A body that sends its first half, then stalls.
struct Stalling(Vec<u8>, usize);
impl Read for Stalling {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let half = self.0.len() / 2;
        if self.1 >= half {
            std::thread::sleep(Duration::from_secs(60));
            return Ok(0);
        }
        let n = buf.len().min(half - self.1);
        buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
        self.1 += n;
        Ok(n)
    }
}

fn start(mode: Mode) -> Server {
    let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
    let port = server.server_addr().to_ip().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mode = Arc::new(Mutex::new(mode));
    let public = std::fs::read(fixture("fetch/test-key-public-pkcs1.der")).unwrap();
    let docs = documents();
    let (s2, m2) = (seen.clone(), mode.clone());
    std::thread::spawn(move || {
        for rq in server.incoming_requests() {
            let (seen, mode, public, docs) = (
                s2.clone(),
                *m2.lock().unwrap(),
                public.clone(),
                docs.clone(),
            );
            std::thread::spawn(move || handle(rq, &seen, mode, &public, &docs, port));
        }
    });
    Server { port, seen, mode }
}

fn handle(
    rq: tiny_http::Request,
    seen: &Mutex<Seen>,
    mode: Mode,
    public: &[u8],
    docs: &BTreeMap<&str, Vec<u8>>,
    port: u16,
) {
    let url = rq.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let count = |key: &str| {
        let mut s = seen.lock().unwrap();
        s.requests.push(url.clone());
        let c = s.calls.entry(key.to_string()).or_default();
        *c += 1;
        *c
    };
    // Document downloads: pre-signed URLs of Amazon's storage (no signature of ours).
    if let Some(id) = path.strip_prefix("/documents/") {
        let n = count(&format!("download {id}"));
        let body = docs[id].clone();
        if id == "D1" && mode == Mode::Stall {
            let len = body.len();
            let resp = tiny_http::Response::new(
                tiny_http::StatusCode(200),
                vec![],
                Stalling(body, 0),
                Some(len),
                None,
            );
            let _ = rq.respond(resp);
            return;
        }
        if id == "D1" && n == 1 && mode == Mode::Normal {
            // The first URL of D1 has expired by the time it is used.
            let xml = "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
            let _ = rq.respond(tiny_http::Response::from_string(xml).with_status_code(403));
            return;
        }
        let _ = rq.respond(tiny_http::Response::from_data(body));
        return;
    }
    let sig = match verify(&rq, public) {
        Ok(sig) => sig,
        Err(why) => {
            seen.lock()
                .unwrap()
                .bad_signatures
                .push(format!("{url}: {why}"));
            let _ = rq.respond(json(
                401,
                serde_json::json!({"reasonCode": "InvalidRequestSignature", "message": why}),
            ));
            return;
        }
    };
    seen.lock().unwrap().signatures.push(sig);
    if path == "/sandbox/v2/reports" {
        let token = query.split('&').find_map(|p| p.strip_prefix("nextToken="));
        if token.is_some() && query.contains('&') {
            let _ = rq.respond(json(
                400,
                serde_json::json!({"reasonCode": "InvalidParameterValue", "message": "nextToken must be sent alone"}),
            ));
            return;
        }
        if mode == Mode::Forbidden {
            count("reports");
            let _ = rq.respond(json(
                403,
                serde_json::json!({"reasonCode": "UnauthorizedAccess", "message": "The public key ID is not authorized for this merchant."}),
            ));
            return;
        }
        let page = if token == Some("page2") {
            serde_json::json!({"reports": [
                report("R4", "COMPLETED", Some("D4"), "20261002T031500Z"),
                report("R5", "COMPLETED", Some("D5"), "20261002T041500Z"),
            ]})
        } else {
            if count("reports page 1") == 1 && mode == Mode::Normal {
                let _ = rq.respond(json(
                    429,
                    serde_json::json!({"reasonCode": "TooManyRequests", "message": "throttled"}),
                ));
                return;
            }
            serde_json::json!({"reports": [
                report("R1", "COMPLETED", Some("D1"), "20261001T031500Z"),
                report("R2", "IN_PROGRESS", None, "20261001T041500Z"),
                report("R3", "CANCELLED", None, "20261001T051500Z"),
            ], "nextToken": "page2"})
        };
        count("reports");
        let _ = rq.respond(json(200, page));
        return;
    }
    if let Some(doc) = path.strip_prefix("/sandbox/v2/report-documents/") {
        let n = count(&format!("document {doc}"));
        if doc == "D4" && n == 1 {
            let _ = rq.respond(json(
                503,
                serde_json::json!({"reasonCode": "ServiceUnavailable", "message": "try later"}),
            ));
            return;
        }
        let _ = rq.respond(json(
            200,
            serde_json::json!({
                "reportDocumentId": doc,
                "url": format!("http://127.0.0.1:{port}/documents/{doc}?X-Amz-Expires=30&n={n}"),
                "compressionAlgorithm": "N/A",
            }),
        ));
        return;
    }
    let _ = rq.respond(json(
        404,
        serde_json::json!({"reasonCode": "ResourceNotFound", "message": url}),
    ));
}

/// A working folder with a configuration pointing at the server.
fn world(server: &Server) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let key = fixture("fetch/test-key-private.pem");
    std::fs::write(
        tmp.path().join("payrecon.toml"),
        format!(
            "[amazon_pay]\npublic_key_id = \"AHTESTKEYFORPAYRECON\"\nprivate_key = {:?}\n\
             region = \"eu\"\nsandbox = true\nendpoint = \"http://127.0.0.1:{}\"\n\
             max_retries = 3\nretry_initial_ms = 20\n\n[thresholds]\nmax_exceptions = 100000\n\
             max_high = 100000\nmax_medium = 100000\n",
            key, server.port
        ),
    )
    .unwrap();
    let inbox = tmp.path().join("inbox");
    (tmp, inbox)
}

/// A fetch of the server's window.
const FETCH: [&str; 7] = [
    "fetch",
    "--inbox",
    "inbox",
    "--since",
    "2026-10-01",
    "--until",
    "2026-10-03",
];

fn fetch(dir: &Path) -> std::process::Output {
    payrecon(dir)
        .args(FETCH)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap()
}

fn inbox_files(inbox: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(inbox)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// No secret in any output: not the private key, not a signature.
fn assert_no_secret(texts: &[&[u8]], seen: &Seen) {
    let pem = std::fs::read_to_string(fixture("fetch/test-key-private.pem")).unwrap();
    let key_lines: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for t in texts {
        let t = String::from_utf8_lossy(t);
        for l in &key_lines {
            assert!(!t.contains(l), "a line of the private key in the output");
        }
        for s in &seen.signatures {
            assert!(!t.contains(&s[..40]), "a signature in the output");
        }
        assert!(
            !t.contains("Signature="),
            "an authorization header in the output"
        );
    }
}

fn name(report: &str) -> String {
    format!("GET_FLAT_FILE_OFFAMAZONPAYMENTS_SETTLEMENT_DATA-{report}.csv")
}

#[test]
fn exactly_the_finished_reports_arrive_byte_for_byte_and_once() {
    let server = start(Mode::Normal);
    let (tmp, inbox) = world(&server);
    let out = fetch(tmp.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let seen = server.seen.lock().unwrap();
    assert!(seen.bad_signatures.is_empty(), "{:#?}", seen.bad_signatures);
    // Every API request was signed and checked: 2 + 1 pages, 2 + 2 + 1 documents.
    assert_eq!(seen.signatures.len(), 8, "{:#?}", seen.requests);
    // Throttled once, then the page; the 503 and the expired URL each asked again.
    assert_eq!(seen.calls["reports page 1"], 2);
    assert_eq!(seen.calls["document D4"], 2);
    assert_eq!(seen.calls["download D1"], 2);
    assert_eq!(seen.calls["document D1"], 2);
    assert!(
        stderr.contains("429") && stderr.contains("retrying"),
        "{stderr}"
    );
    assert_eq!(inbox_files(&inbox), [name("R1"), name("R4"), name("R5")]);
    let docs = documents();
    for (r, d) in [("R1", "D1"), ("R4", "D4"), ("R5", "D5")] {
        assert_eq!(std::fs::read(inbox.join(name(r))).unwrap(), docs[d], "{r}");
    }
    assert!(stdout.contains("3 reports"), "{stdout}");
    assert!(stdout.contains("1 still in progress"), "{stdout}");
    assert!(stdout.contains("1 cancelled or failed"), "{stdout}");
    let ledger = std::fs::read(tmp.path().join("lake.fetch/reports.json")).unwrap();
    assert_no_secret(&[&out.stdout, &out.stderr, &ledger], &seen);
    let before = seen.requests.len();
    drop(seen);

    // Again: nothing downloaded, nothing written.
    let again = fetch(tmp.path());
    assert_eq!(again.status.code(), Some(0));
    let seen = server.seen.lock().unwrap();
    let new: Vec<&String> = seen.requests[before..].iter().collect();
    assert!(
        new.iter().all(|r| r.starts_with("/sandbox/v2/reports")),
        "{new:?}"
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 reports"));
    assert!(String::from_utf8_lossy(&again.stdout).contains("3 fetched before"));
    assert_eq!(inbox_files(&inbox).len(), 3);
    assert!(seen.bad_signatures.is_empty(), "{:#?}", seen.bad_signatures);
}

#[test]
fn a_refusal_exits_2_with_amazons_reason_and_no_secret() {
    let server = start(Mode::Forbidden);
    let (tmp, _inbox) = world(&server);
    let out = fetch(tmp.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("GET /sandbox/v2/reports"), "{stderr}");
    assert!(stderr.contains("HTTP 403 UnauthorizedAccess"), "{stderr}");
    assert!(
        stderr.contains("not authorized for this merchant"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("error").count(), 1, "{stderr}");
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.calls["reports"], 1, "a 403 is not retried");
    assert_no_secret(&[&out.stdout, &out.stderr], &seen);
}

#[test]
fn a_fetch_killed_mid_download_leaves_nothing_half_written() {
    let server = start(Mode::Stall);
    let (tmp, inbox) = world(&server);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("payrecon"))
        .current_dir(tmp.path())
        .env("PAYRECON_NOW", common::TEST_NOW)
        .args(FETCH)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Until the download of R1 is under way (its first half arrived).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let partial = inbox_files(&inbox)
            .iter()
            .any(|f| f.starts_with(".payrecon-fetch-"));
        let started = server
            .seen
            .lock()
            .unwrap()
            .calls
            .contains_key("download D1");
        if partial && started {
            std::thread::sleep(Duration::from_millis(300));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the download never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let files = inbox_files(&inbox);
    assert!(
        files.iter().all(|f| f.starts_with('.')),
        "only a hidden partial file (which ingest skips) may remain: {files:?}"
    );
    // The next fetch removes it and brings every finished report whole.
    *server.mode.lock().unwrap() = Mode::Normal;
    let out = fetch(tmp.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(inbox_files(&inbox), [name("R1"), name("R4"), name("R5")]);
    assert_eq!(
        std::fs::read(inbox.join(name("R1"))).unwrap(),
        documents()["D1"]
    );
}

#[test]
fn run_fetch_downloads_then_ingests() {
    let server = start(Mode::Normal);
    let (tmp, inbox) = world(&server);
    std::fs::create_dir_all(&inbox).unwrap();
    let out = payrecon(tmp.path())
        .args(["run", "--fetch", "--inbox", "inbox", "--keep"])
        .env("PAYRECON_AMAZON_PAY_PUBLIC_KEY_ID", "AHTESTKEYFORPAYRECON")
        .timeout(Duration::from_secs(180))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("3 reports"), "{stdout}");
    let lines = common::rows(
        &tmp.path().join("lake"),
        &payrecon::model::schema::SETTLEMENT_LINES,
    );
    assert!(!lines.is_empty());
    let seen = server.seen.lock().unwrap();
    assert!(seen.bad_signatures.is_empty(), "{:#?}", seen.bad_signatures);
    assert_no_secret(&[&out.stdout, &out.stderr], &seen);
}

#[test]
fn run_fetch_needs_an_inbox_and_a_key() {
    let tmp = tempfile::tempdir().unwrap();
    let out = payrecon(tmp.path())
        .args(["run", "--fetch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fetch needs --inbox"));
    let out = payrecon(tmp.path())
        .args(["fetch", "--inbox", "inbox"])
        .env_remove("PAYRECON_AMAZON_PAY_PUBLIC_KEY_ID")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("public_key_id"), "{stderr}");
    assert!(
        stderr.contains("PAYRECON_AMAZON_PAY_PUBLIC_KEY_ID"),
        "{stderr}"
    );
}

#[test]
fn a_dry_run_lists_what_would_arrive_and_writes_nothing() {
    let server = start(Mode::Normal);
    let (tmp, inbox) = world(&server);
    let out = payrecon(tmp.path())
        .args([
            "fetch",
            "--inbox",
            "inbox",
            "--dry-run",
            "--since",
            "2026-10-01",
        ])
        .args(["--until", "2026-10-03"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("3 reports to download"), "{stdout}");
    assert_eq!(stdout.matches("would download").count(), 3, "{stdout}");
    assert!(inbox_files(&inbox).is_empty());
    let seen = server.seen.lock().unwrap();
    assert!(
        seen.requests
            .iter()
            .all(|r| r.starts_with("/sandbox/v2/reports"))
    );
    assert!(!tmp.path().join("lake.fetch/reports.json").exists());
    // --since after --until is refused.
    let out = payrecon(tmp.path())
        .args(["fetch", "--since", "2026-10-03", "--until", "2026-10-01"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not before --until"));
}
