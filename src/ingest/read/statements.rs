//! Bank statements into `deposits` (and `bank_pending`): configured bank CSV layouts, and the
//! camt.053, MT940 and BAI2 parsers' events with ids derived per statement.

use super::*;

/// A bank's own CSV export, read by its `[[bank.csv]]` layout: transcoded to UTF-8 as it
/// streams, the preamble skipped by lines, amounts with the layout's decimal separator, dates
/// in its format, references joined from several columns, ids derived when it has none.
pub(super) fn read_bank_csv<R: std::io::Read>(
    mut source: R,
    job: &FileJob,
    layout: &crate::settings::BankCsvLayout,
    opts: &IngestOptions,
    scratch: &Path,
    budget: &MemoryBudget,
    progress: &dyn Fn(u64),
) -> Result<(FileRead, R), IngestError> {
    use crate::model::Currency;
    let io = |e| IngestError::io(&job.path, e);
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(layout.encoding()))
        .strip_bom(true)
        .build(&mut source);
    let mut spiller = Spiller::new(&DEPOSITS, scratch, job.seq, budget);
    let mut rejects = Rejects::new(job);
    let mut rdr = Records::new(decoded, layout.delimiter_byte(), opts.max_record_bytes);
    rdr.skip_lines(layout.skip_lines).map_err(io)?;
    let mut rec = Record::default();
    let header = read_header(&mut rdr, &mut rec, job, opts)?;
    check_required(job, rec.line, &header.names, &layout.headers())?;
    let c = &layout.columns;
    let fixed_currency = layout
        .currency
        .as_deref()
        .and_then(|t| t.parse::<Currency>().ok());
    let references = c.reference.names();
    // Identical lines within the file (the statement) are told apart by their count.
    let mut seen: FxHashMap<String, u32> = FxHashMap::default();
    // A trailing delimiter (an empty last field on data lines only) is tolerated.
    let read = each_row(
        &mut rdr,
        &mut rec,
        (&header, job, opts, true),
        &mut rejects,
        progress,
        |row, line| {
            let parsed = (|| -> Result<(), RowError> {
                let date_text = rows::required(row, &c.booking_date)?;
                let booking = chrono::NaiveDate::parse_from_str(date_text, &layout.date_format)
                    .map_err(|_| {
                        format!(
                            "{date_text:?} is not a date in the format {:?}",
                            layout.date_format
                        )
                    })
                    .and_then(|d| opts.window.check_date(d))
                    .map_err(|e| RowError::at(&c.booking_date, e))?;
                let currency = match &c.currency {
                    Some(col) => rows::required(row, col)?
                        .parse::<Currency>()
                        .map_err(|e| RowError::at(col, e.to_string()))?,
                    None => fixed_currency.ok_or_else(|| RowError::row("no currency"))?,
                };
                let amount = |col: &str| -> Result<Option<i64>, RowError> {
                    rows::optional(row, col)
                        .map(|t| {
                            bank_amount(t, layout.decimal_byte(), currency)
                                .map_err(|e| RowError::at(col, e))
                        })
                        .transpose()
                };
                let minor = match (&c.amount, &c.credit, &c.debit) {
                    (Some(col), _, _) => {
                        amount(col)?.ok_or_else(|| RowError::at(col, "required field is empty"))?
                    }
                    (None, Some(cr), Some(dr)) => match (amount(cr)?, amount(dr)?) {
                        (Some(a), None) => a.abs(),
                        (None, Some(b)) => -b.abs(),
                        (None, None) => {
                            return Err(RowError::at(cr, format!("both {cr} and {dr} are empty")));
                        }
                        (Some(_), Some(_)) => {
                            return Err(RowError::at(
                                dr,
                                format!("both {cr} and {dr} hold an amount"),
                            ));
                        }
                    },
                    _ => return Err(RowError::row("the layout maps no amount")),
                };
                let reference: Vec<&str> = references
                    .iter()
                    .filter_map(|col| rows::optional(row, col))
                    .collect();
                let reference = reference.join(" ");
                let account = c
                    .account
                    .as_deref()
                    .and_then(|col| rows::optional(row, col));
                let derived;
                let id = match &c.bank_transaction_id {
                    Some(col) => rows::required(row, col)?,
                    None => {
                        let key = format!(
                            "{}|{booking}|{minor}|{}|{reference}",
                            account.unwrap_or(""),
                            currency.code()
                        );
                        let n = seen.entry(key).or_insert(0);
                        *n += 1;
                        derived = rows::derived_bank_id(
                            account.unwrap_or(""),
                            booking,
                            minor,
                            currency,
                            &reference,
                            *n,
                        );
                        &derived
                    }
                };
                rows::push_bank_line(
                    &rows::BankLine {
                        id,
                        booking,
                        amount: i128::from(minor) * i128::from(currency.lake_factor()),
                        currency,
                        reference: Some(&reference),
                        account,
                        statement: None,
                    },
                    &mut spiller.builder,
                );
                Ok(())
            })();
            if parsed.is_ok() {
                spiller.builder.finish_row(&job.display, line, job.seq);
                spiller.row_done().map_err(IngestError::Lake)?;
            }
            Ok(parsed)
        },
    )?;
    drop(rdr);
    Ok((FileRead::one_table(read, rejects, spiller)?, source))
}

/// Reads a camt, MT940 or BAI2 statement file: booked lines into `deposits`, pending ones into
/// `bank_pending`, ids derived per statement where the format gives none.
pub(super) fn read_bank_statement<R: std::io::Read>(
    mut source: R,
    job: &FileJob,
    format: FileFormat,
    opts: &IngestOptions,
    scratch: &Path,
    budget: &MemoryBudget,
) -> Result<(FileRead, R), IngestError> {
    use crate::ingest::bank::{self, Event, Limits, Stop};
    use crate::model::schema::BANK_PENDING;
    let mut booked = Spiller::new(&DEPOSITS, scratch, job.seq, budget);
    let mut pending = Spiller::new(&BANK_PENDING, scratch, job.seq, budget);
    let mut rejects = Rejects::new(job);
    let mut notes = Vec::new();
    let mut rows_read = 0u64;
    // Identical lines are told apart by their count within one statement.
    let mut seen: FxHashMap<String, u32> = FxHashMap::default();
    let limits = Limits {
        window: &opts.window,
        max_record_bytes: opts.max_record_bytes,
    };
    let mut sink = |event: Event<'_>| -> Result<(), IngestError> {
        match event {
            Event::StatementEnd => seen.clear(),
            Event::Note(n) => {
                let n = printable(&n, MAX_MESSAGE_CHARS).into_owned();
                // Printed under the file in the summary; logged only in detail.
                tracing::debug!(file = %job.display, "{n}");
                notes.push(n);
            }
            Event::Line {
                statement,
                line,
                entry,
                raw,
            } => {
                rows_read += 1;
                let e = match entry {
                    Ok(e) => e,
                    Err(err) => {
                        rejects.add(line, err, raw);
                        return Ok(());
                    }
                };
                let account = statement.account.as_deref().unwrap_or("");
                let derived;
                let id = match &e.id {
                    Some(id) => id.as_str(),
                    None => {
                        let key = format!(
                            "{account}|{}|{}|{}|{}",
                            e.booking,
                            e.minor,
                            e.currency.code(),
                            e.reference
                        );
                        let n = seen.entry(key).or_insert(0);
                        *n += 1;
                        derived = rows::derived_bank_id(
                            account,
                            e.booking,
                            e.minor,
                            e.currency,
                            &e.reference,
                            *n,
                        );
                        derived.as_str()
                    }
                };
                let spiller = if e.pending { &mut pending } else { &mut booked };
                rows::push_bank_line(
                    &rows::BankLine {
                        id,
                        booking: e.booking,
                        amount: i128::from(e.minor) * i128::from(e.currency.lake_factor()),
                        currency: e.currency,
                        reference: Some(&e.reference)
                            .filter(|r| !r.is_empty())
                            .map(|r| r.as_str()),
                        account: statement.account.as_deref(),
                        statement: statement.id.as_deref(),
                    },
                    &mut spiller.builder,
                );
                spiller.builder.finish_row(&job.display, line, job.seq);
                spiller.row_done().map_err(IngestError::Lake)?;
            }
        }
        Ok(())
    };
    let result = match format {
        FileFormat::Camt => bank::camt::read(&mut source, limits, &mut sink),
        FileFormat::Mt940 => bank::mt940::read(&mut source, limits, &mut sink),
        FileFormat::Bai2 => bank::bai2::read(&mut source, limits, &mut sink),
        other => {
            return Err(IngestError::Internal(format!(
                "{} is not a bank statement format",
                other.as_str()
            )));
        }
    };
    match result {
        Ok(()) => {}
        Err(Stop::Sink(e)) => return Err(e),
        Err(Stop::Io(e)) => return Err(IngestError::io(&job.path, e)),
        Err(Stop::Format {
            line,
            column,
            message,
        }) => {
            return Err(IngestError::file(
                job,
                line,
                column.map(|c| c.to_string()),
                format!("not readable as {}: {message}", format.as_str()),
            ));
        }
    }
    let (rejected, rejects) = rejects.finish();
    Ok((
        FileRead {
            rows_read,
            rejected,
            warnings: 0,
            unknown_types: BTreeMap::new(),
            tables: vec![
                booked.finish().map_err(IngestError::Lake)?,
                pending.finish().map_err(IngestError::Lake)?,
            ],
            rejects,
            sha256: None,
            notes,
        },
        source,
    ))
}

/// A bank's amount text in minor units: `decimal` separates the fraction and the other of `.`
/// and `,` may group digits; a sign may lead or trail (`-12,50`, `12,50-`, `+3.00`).
pub(super) fn bank_amount(
    text: &str,
    decimal: u8,
    currency: crate::model::Currency,
) -> Result<i64, String> {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (neg, body) = if let Some(b) = t.strip_suffix('-') {
        (true, b)
    } else if let Some(b) = t.strip_prefix('-') {
        (true, b)
    } else {
        (false, t.strip_prefix('+').unwrap_or(&t))
    };
    let group = if decimal == b',' { '.' } else { ',' };
    let plain: String = body
        .chars()
        .filter(|&c| c != group)
        .map(|c| if c == decimal as char { '.' } else { c })
        .collect();
    let v = crate::model::money::parse_minor(&plain, currency).map_err(|e| e.to_string())?;
    if plain.starts_with('-') || plain.starts_with('+') {
        return Err(format!("{text:?} has two signs"));
    }
    Ok(if neg { -v } else { v })
}
