//! Amazon Pay settlement reports: the header block, then the transaction lines, into
//! `settlements` and `settlement_lines`.

use super::*;

/// Lines of a settlement report's header block looked through for its column row.
const MAX_HEADER_BLOCK: usize = 1000;

pub(super) fn read_settlement<R: std::io::Read>(
    source: R,
    job: &FileJob,
    opts: &IngestOptions,
    scratch: &Path,
    budget: &MemoryBudget,
    progress: &dyn Fn(u64),
) -> Result<(FileRead, R), IngestError> {
    let lake_err = IngestError::Lake;
    let io = |e| IngestError::io(&job.path, e);
    let mut rdr = Records::new(source, b',', opts.max_record_bytes);
    let mut rec = Record::default();
    let mut meta: Vec<(String, String)> = Vec::new();
    let mut block = 0;
    let (header, header_line) = loop {
        if !rdr.read(&mut rec).map_err(io)? || block == MAX_HEADER_BLOCK {
            return Err(IngestError::file(
                job,
                rec.line.max(1),
                Some(rows::line::POSTED.into()),
                format!(
                    "settlement report has no `TransactionPostedDate` column row{}",
                    if block == MAX_HEADER_BLOCK {
                        format!(" in its first {MAX_HEADER_BLOCK} lines")
                    } else {
                        String::new()
                    }
                ),
            ));
        }
        block += 1;
        if rec.oversize {
            return Err(IngestError::file(
                job,
                rec.line,
                None,
                oversize_header(opts),
            ));
        }
        let first = String::from_utf8_lossy(rec.get(0).unwrap_or_default())
            .trim()
            .to_string();
        if first == rows::line::POSTED {
            break (header_index(&rec), rec.line);
        }
        if !first.is_empty() {
            let value = String::from_utf8_lossy(rec.get(1).unwrap_or_default())
                .trim()
                .to_string();
            meta.push((first, value));
        }
    };
    check_required(job, header_line, &header.names, &rows::line::REQUIRED)?;
    let mut lines = Spiller::new(&SETTLEMENT_LINES, scratch, job.seq, budget);
    let mut rejects = Rejects::new(job);
    let mut per_settlement: BTreeMap<String, (u64, u64)> = BTreeMap::new(); // id -> (count, first line)
    let mut unknown_types: BTreeMap<String, u64> = BTreeMap::new();
    let read = each_row(
        &mut rdr,
        &mut rec,
        (&header, job, opts, false),
        &mut rejects,
        progress,
        |row, line| match rows::push_settlement_line(row, &opts.window, &mut lines.builder) {
            Ok((id, unknown)) => {
                if unknown {
                    let t = row.get(rows::line::TYPE).unwrap_or("").trim();
                    *unknown_types
                        .entry(printable(t, MAX_NAME_CHARS).into_owned())
                        .or_default() += 1;
                }
                let e = per_settlement.entry(id.to_string()).or_insert((0, line));
                e.0 += 1;
                lines.builder.finish_row(&job.display, line, job.seq);
                lines.row_done().map_err(lake_err)?;
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(e)),
        },
    )?;
    // One `settlements` row per settlement id in the report, carrying the header block.
    let mut heads = Spiller::new(&SETTLEMENTS, scratch, job.seq, budget);
    let header_json = {
        let pairs: Vec<String> = meta
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}:{}",
                    serde_json::Value::from(k.as_str()),
                    serde_json::Value::from(v.as_str())
                )
            })
            .collect();
        format!("{{{}}}", pairs.join(","))
    };
    // A header date that is not a plausible timestamp is left empty (and said), never stored.
    let meta_ts = |key: &str| {
        let (_, v) = meta.iter().find(|(k, _)| k == key)?;
        let checked = parse_timestamp(v)
            .map_err(|e| e.to_string())
            .and_then(|t| opts.window.check_timestamp(to_micros(t)));
        match checked {
            Ok(t) => Some(t),
            Err(why) => {
                tracing::warn!(file = %job.display, "header {key} left empty: {}", printable(&why, MAX_MESSAGE_CHARS));
                None
            }
        }
    };
    let seller = meta
        .iter()
        .find(|(k, _)| k == "SellerId")
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty());
    for (id, (count, first_line)) in &per_settlement {
        let b = &mut heads.builder;
        b.push(Value::Str(Some(id)));
        b.push(Value::Str(seller));
        b.push(Value::Ts(meta_ts("SettlementStartDate")));
        b.push(Value::Ts(meta_ts("SettlementEndDate")));
        b.push(Value::Ts(meta_ts("DepositDate")));
        b.push(Value::Str(Some(&header_json)));
        b.push(Value::Int(Some(*count as i64)));
        b.finish_row(&job.display, *first_line, job.seq);
    }
    let warnings: u64 = unknown_types.values().sum();
    if !unknown_types.is_empty() {
        tracing::warn!(file = %job.display, types = ?unknown_types, "unknown settlement TransactionType values loaded as-is");
    }
    let (rejected, rejects) = rejects.finish();
    Ok((
        FileRead {
            rows_read: read,
            rejected,
            warnings,
            unknown_types,
            tables: vec![
                lines.finish().map_err(lake_err)?,
                heads.finish().map_err(lake_err)?,
            ],
            rejects,
            sha256: None,
            notes: Vec::new(),
        },
        rdr.into_inner(),
    ))
}
