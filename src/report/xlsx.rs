//! `close-YYYY-MM.xlsx`: the month-close pack as an Excel workbook (rust_xlsxwriter).
//!
//! Sheets: Summary (the roll-forward per currency, amounts in that currency's format, and the
//! ledger totals), Exceptions (aged at month end), In transit, Settlements, Payouts & deposits.
//! Numbers are stored as numbers, dates as dates; every table sheet has a frozen header row,
//! filters and fitted columns. Text a spreadsheet would run as a formula gets Excel's quote
//! prefix ([`crate::export`]). The workbook's creation time is the month's last day unless a
//! generation time was asked for, so the same lake gives the same bytes.

use std::collections::HashMap;
use std::path::Path;

use chrono::{Datelike, Timelike};
use polars::prelude::*;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use super::{ReportError, ReportSettings};
use crate::model::money::Currency;
use crate::reconcile::close::ClosePack;

/// Rows a sheet can hold, header included.
const MAX_ROWS: usize = 1_048_576;

/// Cell formats, made once per workbook.
struct Formats {
    header: Format,
    title: Format,
    date: Format,
    integer: Format,
    text_quoted: Format,
    money: HashMap<String, Format>,
    money_plain: Format,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            header: Format::new().set_bold().set_background_color("#F2F4F7"),
            title: Format::new().set_bold().set_font_size(14),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            integer: Format::new().set_num_format("#,##0"),
            text_quoted: Format::new().set_quote_prefix(),
            money: HashMap::new(),
            money_plain: Format::new().set_num_format("#,##0.00;-#,##0.00"),
        }
    }

    /// [`Self::money`] of a code already made.
    fn money_made(&self, code: Option<&str>) -> &Format {
        code.and_then(|c| self.money.get(c))
            .unwrap_or(&self.money_plain)
    }

    /// The number format of an amount in `code` (its own minor units, ISO code after it).
    fn money(&mut self, code: Option<&str>) -> &Format {
        let Some(code) = code else {
            return &self.money_plain;
        };
        let digits = code.parse::<Currency>().map(|c| c.exponent()).unwrap_or(2);
        self.money.entry(code.to_string()).or_insert_with(|| {
            let n = if digits == 0 {
                "#,##0".to_string()
            } else {
                format!("#,##0.{}", "0".repeat(digits as usize))
            };
            Format::new().set_num_format(format!("{n} \"{code}\";-{n} \"{code}\""))
        })
    }
}

fn excel_date(days: i32) -> Result<ExcelDateTime, XlsxError> {
    let d = crate::model::time::from_epoch_days(days);
    ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
}

/// Writes text, with the quote prefix when a spreadsheet would read it as a formula.
fn write_text(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    text: &str,
    f: &Formats,
) -> Result<(), XlsxError> {
    if crate::export::is_formula_like(text) {
        ws.write_string_with_format(row, col, text, &f.text_quoted)?;
    } else {
        ws.write_string(row, col, text)?;
    }
    Ok(())
}

/// Writes `df` as a table at `first_row`: bold header, typed cells. Money (decimal) columns take
/// the format of the row's `currency` when the table has one. Returns the next free row.
fn write_table(
    ws: &mut Worksheet,
    first_row: u32,
    df: &DataFrame,
    f: &mut Formats,
) -> Result<u32, XlsxError> {
    let currencies = super::column_strs(df, "currency");
    for (c, col) in df.columns().iter().enumerate() {
        ws.write_string_with_format(first_row, c as u16, col.name().as_str(), &f.header)?;
    }
    let room = MAX_ROWS - first_row as usize - 2;
    let rows = df.height().min(room);
    // Each currency's format made once, before the cells borrow them.
    for code in currencies.iter().flatten() {
        if !f.money.contains_key(code) {
            f.money(Some(code));
        }
    }
    let f = &*f;
    for (c, col) in df.columns().iter().enumerate() {
        let c = c as u16;
        let values = col.as_materialized_series().iter();
        for ((i, currency), v) in currencies.iter().enumerate().take(rows).zip(values) {
            let row = first_row + 1 + i as u32;
            match v {
                AnyValue::Null => {}
                AnyValue::Decimal(v, _, scale) => {
                    let x = v as f64 / 10f64.powi(scale as i32);
                    ws.write_number_with_format(row, c, x, f.money_made(currency.as_deref()))?;
                }
                AnyValue::Date(d) => {
                    ws.write_datetime_with_format(row, c, excel_date(d)?, &f.date)?;
                }
                AnyValue::Boolean(b) => {
                    ws.write_boolean(row, c, b)?;
                }
                AnyValue::Float32(_) | AnyValue::Float64(_) => {
                    ws.write_number(row, c, v.extract::<f64>().unwrap_or(f64::NAN))?;
                }
                AnyValue::Int8(_)
                | AnyValue::Int16(_)
                | AnyValue::Int32(_)
                | AnyValue::Int64(_)
                | AnyValue::UInt8(_)
                | AnyValue::UInt16(_)
                | AnyValue::UInt32(_)
                | AnyValue::UInt64(_) => {
                    let n = v.extract::<i64>().unwrap_or(0) as f64;
                    ws.write_number_with_format(row, c, n, &f.integer)?;
                }
                AnyValue::String(text) => write_text(ws, row, c, text, f)?,
                other => {
                    let text = crate::query::cell_text(&other).unwrap_or_default();
                    write_text(ws, row, c, &text, f)?;
                }
            }
        }
    }
    let mut next = first_row + 1 + rows as u32;
    if rows < df.height() {
        tracing::warn!(
            rows = df.height(),
            written = rows,
            "a sheet holds at most {MAX_ROWS} rows; the CSV has them all"
        );
        ws.write_string(
            next,
            0,
            format!("... {} more rows in the CSV file", df.height() - rows),
        )?;
        next += 1;
    }
    Ok(next)
}

/// A sheet holding one table, with filters, a frozen header and fitted columns.
fn table_sheet(
    wb: &mut Workbook,
    name: &str,
    df: &DataFrame,
    f: &mut Formats,
) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name(name)?;
    let end = write_table(ws, 0, df, f)?;
    if df.width() > 0 {
        ws.autofilter(0, 0, end.saturating_sub(1).max(1), df.width() as u16 - 1)?;
    }
    ws.set_freeze_panes(1, 0)?;
    ws.set_autofit_max_width(320).autofit();
    Ok(())
}

fn build(
    pack: &ClosePack,
    frames: &[(&str, DataFrame); 6],
    settings: &ReportSettings,
) -> Result<Vec<u8>, XlsxError> {
    let [
        (_, roll),
        (_, ledger),
        (_, transit),
        (_, exceptions),
        (_, settlements),
        (_, payouts),
    ] = frames;
    let mut wb = Workbook::new();
    // Excel's own level: about 30 % faster to save than the default 6, for ~5 % more bytes
    // (rust_xlsxwriter's performance notes); the zip was a tenth of a night's report time.
    wb.set_zip_compression_level(3);
    let created = match &settings.generated_at {
        Some(t) => ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day() as u8)?
            .and_hms(t.hour() as u16, t.minute() as u8, t.second())?,
        None => {
            let last = super::month_days(&settings.month).1;
            ExcelDateTime::from_ymd(last.year() as u16, last.month() as u8, last.day() as u8)?
                .and_hms(0, 0, 0)?
        }
    };
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!("Month close {}", settings.month.label()))
            .set_author("payrecon")
            .set_creation_datetime(&created),
    );
    let mut f = Formats::new();

    let ws = wb.add_worksheet();
    ws.set_name("Summary")?;
    ws.write_string_with_format(
        0,
        0,
        format!(
            "Month close {}: Amazon Pay balance roll-forward",
            settings.month.label()
        ),
        &f.title,
    )?;
    ws.write_string(
        1,
        0,
        "opening + captures + refunds + chargebacks and claims + adjustments + fees \
         + arithmetic differences - transfers out = closing",
    )?;
    let mut row = write_table(ws, 3, roll, &mut f)?;
    row += 1;
    ws.write_string_with_format(row, 0, "Check", &f.header)?;
    ws.write_string_with_format(row, 1, "computed closing", &f.header)?;
    ws.write_string_with_format(row, 2, "ties", &f.header)?;
    row += 1;
    for (code, r) in &pack.roll_forward {
        ws.write_string(row, 0, *code)?;
        let fmt = f.money(Some(code)).clone();
        ws.write_number_with_format(row, 1, r.computed_closing() as f64 / 100.0, &fmt)?;
        ws.write_boolean(row, 2, r.ties())?;
        row += 1;
    }
    row += 1;
    ws.write_string_with_format(row, 0, "Ledger totals", &f.title)?;
    write_table(ws, row + 1, ledger, &mut f)?;
    ws.set_autofit_max_width(320).autofit();

    table_sheet(&mut wb, "Exceptions", exceptions, &mut f)?;
    table_sheet(&mut wb, "In transit", transit, &mut f)?;
    table_sheet(&mut wb, "Settlements", settlements, &mut f)?;
    table_sheet(&mut wb, "Payouts & deposits", payouts, &mut f)?;
    wb.save_to_buffer()
}

/// The workbook's bytes from the pack and its tables ([`crate::reconcile::close::frames`]; `path` is only for
/// messages).
pub fn close_workbook(
    pack: &ClosePack,
    frames: &[(&str, DataFrame); 6],
    settings: &ReportSettings,
    path: &Path,
) -> Result<Vec<u8>, ReportError> {
    build(pack, frames, settings).map_err(|source| ReportError::Workbook {
        path: path.to_path_buf(),
        source,
    })
}
