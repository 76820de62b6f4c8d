//! The Amazon Pay API over HTTPS: signed requests, retries with back-off and jitter on
//! throttling (429) and server errors (5xx), Amazon's error bodies read into messages.
//!
//! Blocking HTTP (a batch job makes one request at a time) through reqwest with rustls, which
//! the lake's object-store support already builds; no OpenSSL.

use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::FetchError;
use super::sign::{self, Signer};

/// Where and as whom requests go.
#[derive(Debug)]
pub struct Endpoint {
    /// `https://pay-api.amazon.eu`, or the configured endpoint (a proxy, a test server).
    pub base: String,
    /// `x-amz-pay-host`: the base URL's host.
    pub host: String,
    pub region: String,
    /// `/live` or `/sandbox` before `/v2`, unless the key id says its environment.
    pub env_prefix: &'static str,
    pub public_key_id: String,
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub max_retries: u32,
    pub initial: Duration,
}

pub struct Client {
    http: reqwest::blocking::Client,
    endpoint: Endpoint,
    signer: Signer,
    retry: Retry,
    /// The clock for `x-amz-pay-date` (`PAYRECON_NOW` in tests moves it, not the real one).
    clock: fn() -> DateTime<Utc>,
}

/// Amazon's error body: `{"reasonCode": "…", "message": "…"}`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ApiError {
    #[serde(default)]
    reason_code: String,
    #[serde(default)]
    message: String,
}

/// What a request's response was, for the caller.
pub enum Outcome {
    Ok(reqwest::blocking::Response),
    /// A 4xx other than 429: not retried.
    Refused {
        status: u16,
        body: String,
    },
}

impl Client {
    pub fn new(endpoint: Endpoint, signer: Signer, retry: Retry) -> Result<Client, FetchError> {
        let http = reqwest::blocking::Client::builder()
            .user_agent(concat!("payrecon/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(600))
            .build()
            .map_err(|e| FetchError::Http {
                request: "starting the HTTP client".into(),
                message: e.to_string(),
            })?;
        Ok(Client {
            http,
            endpoint,
            signer,
            retry,
            clock: Utc::now,
        })
    }

    /// `GET {prefix}/v2/{path}` signed, as JSON; retried on 429 and 5xx; any other error
    /// status is an [`FetchError::Api`] naming the request and Amazon's reason.
    pub fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<T, FetchError> {
        let full_path = format!("{}/v2/{path}", self.endpoint.env_prefix);
        let label = format!("GET {full_path}");
        let resp = self.with_retries(&label, || self.signed_get(&full_path, query))?;
        let resp = match resp {
            Outcome::Ok(r) => r,
            Outcome::Refused { status, body } => {
                let err: ApiError = serde_json::from_str(&body).unwrap_or_default();
                return Err(FetchError::Api {
                    request: label,
                    status,
                    reason_code: err.reason_code,
                    message: if err.message.is_empty() {
                        crate::printable::printable(&body, 300).into_owned()
                    } else {
                        err.message
                    },
                });
            }
        };
        let body = resp.bytes().map_err(|e| FetchError::Http {
            request: label.clone(),
            message: e.to_string(),
        })?;
        serde_json::from_slice(&body).map_err(|e| FetchError::Http {
            request: label,
            message: format!("the response is not the JSON expected: {e}"),
        })
    }

    fn signed_get(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> reqwest::Result<reqwest::blocking::Response> {
        let date = (self.clock)().format("%Y%m%dT%H%M%SZ").to_string();
        let req = sign::Request {
            method: "GET",
            path,
            query,
            host: &self.endpoint.host,
            region: &self.endpoint.region,
            date: &date,
            body: b"",
        };
        let canonical = sign::canonical_request(&req);
        let signature = self
            .signer
            .sign(sign::string_to_sign(&canonical).as_bytes());
        let qs = sign::canonical_query(query);
        let url = if qs.is_empty() {
            format!("{}{path}", self.endpoint.base)
        } else {
            format!("{}{path}?{qs}", self.endpoint.base)
        };
        let mut builder = self.http.get(url);
        for (k, v) in sign::signed_headers(&req) {
            builder = builder.header(k, v);
        }
        builder
            .header(
                "authorization",
                sign::authorization(&self.endpoint.public_key_id, &signature),
            )
            .send()
    }

    /// Downloads a report document's URL (pre-signed by Amazon: no signature of ours) into
    /// `out`. `Ok(false)` when the URL was refused (expired): ask for the document again.
    pub fn download(&self, url: &str, out: &mut impl Write) -> Result<Option<u64>, FetchError> {
        let label = "GET the report document's URL".to_string();
        let resp = self.with_retries(&label, || self.http.get(url).send())?;
        let mut resp = match resp {
            Outcome::Ok(r) => r,
            Outcome::Refused { .. } => return Ok(None),
        };
        let n = resp.copy_to(out).map_err(|e| FetchError::Http {
            request: label,
            message: e.to_string(),
        })?;
        Ok(Some(n))
    }

    /// Sends until a response that is not 429/5xx, or the retries are spent; waits
    /// `initial × 2^attempt` with ±50 % jitter (or the server's `Retry-After`, when longer).
    fn with_retries(
        &self,
        label: &str,
        send: impl Fn() -> reqwest::Result<reqwest::blocking::Response>,
    ) -> Result<Outcome, FetchError> {
        let mut attempt = 0u32;
        loop {
            let (retryable, why, after) = match send() {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if resp.status().is_success() {
                        return Ok(Outcome::Ok(resp));
                    }
                    let after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let body = resp.text().unwrap_or_default();
                    if status != 429 && status < 500 {
                        return Ok(Outcome::Refused { status, body });
                    }
                    let err: ApiError = serde_json::from_str(&body).unwrap_or_default();
                    let why = if err.reason_code.is_empty() {
                        format!("HTTP {status}")
                    } else {
                        format!("HTTP {status} {}", err.reason_code)
                    };
                    (true, why, after)
                }
                Err(e) if e.is_timeout() || e.is_connect() || e.is_request() => {
                    (true, e.to_string(), None)
                }
                Err(e) => (false, e.to_string(), None),
            };
            if !retryable || attempt >= self.retry.max_retries {
                return Err(FetchError::Http {
                    request: label.to_string(),
                    message: if retryable {
                        format!("{why}, after {} retries", self.retry.max_retries)
                    } else {
                        why
                    },
                });
            }
            let base = self.retry.initial.saturating_mul(1 << attempt.min(16));
            let jitter = 0.5 + rand::random::<f64>();
            // A server's Retry-After is honoured up to five minutes.
            let after = after.unwrap_or_default().min(Duration::from_secs(300));
            let wait = base.mul_f64(jitter).max(after);
            tracing::warn!(
                request = label,
                "{why}; retrying in {:.1} s",
                wait.as_secs_f64()
            );
            std::thread::sleep(wait);
            attempt += 1;
        }
    }
}
