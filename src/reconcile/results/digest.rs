//! Digests of results files' rows: an unambiguous encoding of what a file holds of each row,
//! hashed in chunks (in parallel) and combined, seeded by everything else a file's bytes
//! depend on ([`format_seed`]).

use super::frames::date_of;
use super::parquet::{WRITER, results_schema};
use crate::reconcile::ResultRow;
use crate::state::codec::{put_opt, put_text};

/// What a results file's bytes depend on besides its rows (the schema, the text of every status
/// and item type, the writer's settings, the version), hashed into every digest: a version that
/// would write other bytes for the same rows rewrites every file.
pub(super) fn format_seed() -> u128 {
    use crate::reconcile::{ItemType, Status};
    static SEED: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| {
        let types = ItemType::ALL;
        let text = format!(
            "{:?}|{:?}|{:?}|{WRITER}|rows as files hold them|{}",
            results_schema(),
            Status::ALL.map(|s| (s as u8, s.as_str())),
            types.map(|t| (t as u8, t.as_str())),
            env!("CARGO_PKG_VERSION"),
        );
        xxhash_rust::xxh3::xxh3_128(text.as_bytes())
    })
}

/// Appends an unambiguous encoding of what a results file holds of `r` to `b` (lengths before
/// texts, a tag before optional values and counterparts): rows read back from a file
/// ([`read_results_file`]) encode as the rows it was written from.
pub(super) fn encode_row(r: &ResultRow, b: &mut Vec<u8>) {
    use crate::reconcile::Counterparts;
    encode_row_head(r, b);
    // What the file holds: the item's UTC date, the counterparts' text.
    b.extend_from_slice(&date_of(r.item_ts).to_le_bytes());
    match &r.counterparts {
        Counterparts::None => b.push(0),
        c => {
            b.push(1);
            put_text(b, &c.text());
        }
    }
    encode_row_source(r, b);
}

/// The fields every encoding of a row starts with: layer, item, status, currency, amounts.
pub(crate) fn encode_row_head(r: &ResultRow, b: &mut Vec<u8>) {
    b.push(r.layer);
    b.push(r.item_type as u8);
    put_text(b, &r.item_id);
    b.push(r.status as u8);
    put_text(b, r.currency.code());
    put_opt(b, r.expected);
    put_opt(b, r.actual);
}

/// The fields every encoding of a row ends with: where a line is.
pub(crate) fn encode_row_source(r: &ResultRow, b: &mut Vec<u8>) {
    match &r.source_file {
        Some(f) => {
            b.push(1);
            put_text(b, f);
        }
        None => b.push(0),
    }
    put_opt(b, r.source_line);
}

/// A digest of rows (every field a file of them is made of, and `format_seed`): equal
/// digests, equal files. Rows are encoded into a buffer a chunk at a time and each chunk hashed
/// whole, in parallel; the chunks' hashes are combined in order.
pub(super) fn rows_digest(rows: &[&ResultRow]) -> String {
    use rayon::prelude::*;
    let parts: Vec<u128> = rows
        .par_chunks(DIGEST_CHUNK)
        .map(|chunk| {
            let mut b = Vec::with_capacity(chunk.len() * 96);
            for r in chunk {
                encode_row(r, &mut b);
            }
            xxhash_rust::xxh3::xxh3_128(&b)
        })
        .collect();
    combine_digest(rows.len(), &parts)
}

/// Rows per hashed chunk of a digest.
pub(super) const DIGEST_CHUNK: usize = 1 << 14;

/// A digest of `n` rows from the hashes of their chunks of [`DIGEST_CHUNK`] rows, in order.
pub(super) fn combine_digest(n: usize, parts: &[u128]) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&format_seed().to_le_bytes());
    h.update(&(n as u64).to_le_bytes());
    for p in parts {
        h.update(&p.to_le_bytes());
    }
    format!("{:032x}", h.digest128())
}
