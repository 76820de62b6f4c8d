//! `close-YYYY-MM.xlsx`: the month-close pack as an Excel workbook (rust_xlsxwriter).
//!
//! Sheets: Summary (figures × currencies: the balance roll-forward and the deposits-in-transit
//! tie, each closing with its difference, the ledger totals, line counts and what is open at
//! month end), Exceptions (aged at month end), In transit, Settlements, Payouts & deposits.
//! Numbers are stored as numbers, dates as dates; computed rows of the Summary are formulas
//! (with their exact results cached) so the tie can be followed in the spreadsheet. Every table
//! sheet has readable headers, a frozen header row repeated on each printed page, filters, a
//! totals row per currency, and columns as wide as their formatted text; every sheet prints
//! landscape, one page wide. Text a spreadsheet would run as a formula gets Excel's quote
//! prefix ([`crate::export`]). The workbook's creation time is the month's last day unless a
//! generation time was asked for, so the same lake gives the same bytes.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{Datelike, Timelike};
use polars::prelude::*;
use rust_xlsxwriter::utility::row_col_to_cell;
use rust_xlsxwriter::{
    DocProperties, ExcelDateTime, Format, FormatBorder, Formula, Workbook, Worksheet, XlsxError,
};

use super::{ReportError, ReportSettings};
use crate::model::money::{Currency, LAKE_SCALE};
use crate::reconcile::close::ClosePack;

/// Rows a sheet can hold, header included.
const MAX_ROWS: usize = 1_048_576;
/// The widest a column is made (characters); longer text wraps in print.
const MAX_WIDTH: usize = 60;
/// A4 in Excel's paper codes.
const PAPER_A4: u8 = 9;

/// The minor-unit digits shown for a currency code (2 when unknown).
fn digits_of(code: &str) -> u32 {
    code.parse::<Currency>().map(|c| c.exponent()).unwrap_or(2)
}

/// An amount in lake units as the workbook shows it: grouped, the currency's digits, `-` sign.
fn shown(amount: i128, digits: u32) -> String {
    let scale = LAKE_SCALE;
    let neg = amount < 0;
    let a = amount.unsigned_abs();
    let unit = 10u128.pow(scale);
    let int = a / unit;
    let frac = a % unit;
    let mut s = group(int);
    if digits > 0 {
        let frac = frac / 10u128.pow(scale.saturating_sub(digits));
        s.push_str(&format!(".{frac:0w$}", w = digits as usize));
    }
    if neg { format!("-{s}") } else { s }
}

/// `1234567` as `1,234,567`.
fn group(n: u128) -> String {
    crate::model::money::group_thousands(&n.to_string())
}

/// An amount in lake units as the number stored in a cell.
fn number(amount: i128) -> f64 {
    amount as f64 / 10f64.powi(LAKE_SCALE as i32)
}

/// A column name as a header: `expected_amount` → `Expected amount`, with the few whose
/// meaning the name alone does not carry spelled out.
fn header_label(name: &str, month_end: &str) -> String {
    match name {
        "age_days_at_month_end" | "age_days" => format!("Age at {month_end} (days)"),
        "age_bucket_at_month_end" | "age_bucket" => format!("Age bucket at {month_end}"),
        "item_id" => "Item id".to_string(),
        "counterpart_ids" => "Matched ids".to_string(),
        "net_balance" => "Net balance (0 = balanced)".to_string(),
        "other" => "Other (chargebacks, claims, adjustments)".to_string(),
        _ => {
            let mut s = name.replace('_', " ");
            if let Some(first) = s.get(0..1) {
                let up = first.to_uppercase();
                s.replace_range(0..1, &up);
            }
            s
        }
    }
}

/// Cell formats, made once per workbook and looked up by currency code.
struct Formats {
    header: Format,
    title: Format,
    bold: Format,
    note: Format,
    date: Format,
    integer: Format,
    integer_bold: Format,
    text_quoted: Format,
    /// (code, with the code after the number, bold) → format.
    money: HashMap<(String, bool, bool), Format>,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            header: Format::new()
                .set_bold()
                .set_background_color("#F2F4F7")
                .set_border_bottom(FormatBorder::Thin),
            title: Format::new().set_bold().set_font_size(14),
            bold: Format::new().set_bold(),
            note: Format::new().set_italic().set_font_color("#555555"),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            integer: Format::new().set_num_format("#,##0"),
            integer_bold: Format::new()
                .set_num_format("#,##0")
                .set_bold()
                .set_border_top(FormatBorder::Thin),
            text_quoted: Format::new().set_quote_prefix(),
            money: HashMap::new(),
        }
    }

    /// Makes the money formats of `code` (no-op when made).
    fn make(&mut self, code: &str) {
        if self.money.contains_key(&(code.to_string(), false, false)) {
            return;
        }
        let digits = digits_of(code);
        let n = if digits == 0 {
            "#,##0".to_string()
        } else {
            format!("#,##0.{}", "0".repeat(digits as usize))
        };
        for suffix in [false, true] {
            let num = if suffix {
                format!("{n} \"{code}\";-{n} \"{code}\"")
            } else {
                format!("{n};-{n}")
            };
            for bold in [false, true] {
                let mut f = Format::new().set_num_format(&num);
                if bold {
                    f = f.set_bold().set_border_top(FormatBorder::Thin);
                }
                self.money.insert((code.to_string(), suffix, bold), f);
            }
        }
    }

    /// A format [`Self::make`] made (a currency never made falls back to two digits).
    fn money(&self, code: Option<&str>, suffix: bool, bold: bool) -> &Format {
        let code = code.unwrap_or("");
        self.money
            .get(&(code.to_string(), suffix, bold))
            .or_else(|| self.money.get(&(String::new(), suffix, bold)))
            .expect("the fallback money format is made first")
    }
}

/// Column widths from the text each cell shows.
struct Widths(Vec<usize>);

impl Widths {
    fn new(columns: usize) -> Widths {
        Widths(vec![0; columns])
    }

    fn note(&mut self, col: usize, chars: usize) {
        if col >= self.0.len() {
            self.0.resize(col + 1, 0);
        }
        self.0[col] = self.0[col].max(chars.min(MAX_WIDTH));
    }

    fn note_text(&mut self, col: usize, text: &str) {
        self.note(col, text.chars().take(MAX_WIDTH).count());
    }

    /// Sets the widths: the text plus a margin, a bold header's extra ~10 %.
    fn apply(&self, ws: &mut Worksheet) -> Result<(), XlsxError> {
        for (c, &w) in self.0.iter().enumerate() {
            let w = (w.max(4) as f64 * 1.1).ceil() + 2.0;
            ws.set_column_width(c as u16, w)?;
        }
        Ok(())
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

/// Print setup shared by every sheet: A4 landscape, one page wide, narrow margins, the
/// workbook's title and the sheet's name on top, page numbers below.
fn print_setup(ws: &mut Worksheet, title: &str) {
    ws.set_paper_size(PAPER_A4)
        .set_landscape()
        .set_print_fit_to_pages(1, 0)
        .set_margins(0.4, 0.4, 0.6, 0.6, 0.3, 0.3)
        .set_header(format!("&L{title}&R&A"))
        .set_footer("&CPage &P of &N");
}

/// Per currency, the sums of a table's money columns.
type Totals = BTreeMap<String, (u64, Vec<i128>)>;

/// Writes `df` as a table at `first_row`: readable header, typed cells, then a totals row per
/// currency when the table has money columns. Money (decimal) columns take the format of the
/// row's `currency`. Returns the last row of the table proper (for filters) and the next free
/// row.
fn write_table(
    ws: &mut Worksheet,
    first_row: u32,
    df: &DataFrame,
    f: &mut Formats,
    widths: &mut Widths,
    month_end: &str,
) -> Result<(u32, u32), XlsxError> {
    let currencies = super::column_strs(df, "currency");
    for (c, col) in df.columns().iter().enumerate() {
        let label = header_label(col.name().as_str(), month_end);
        widths.note_text(c, &label);
        ws.write_string_with_format(first_row, c as u16, &label, &f.header)?;
    }
    let room = MAX_ROWS - first_row as usize - 3 - 2 * Currency::ALL.len();
    let rows = df.height().min(room);
    for code in currencies.iter().flatten() {
        f.make(code);
    }
    let money_cols: Vec<usize> = df
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.dtype(), DataType::Decimal(..)))
        .map(|(i, _)| i)
        .collect();
    let mut totals: Totals = BTreeMap::new();
    if !money_cols.is_empty() {
        for code in currencies.iter().take(rows) {
            let e = totals
                .entry(code.clone().unwrap_or_default())
                .or_insert_with(|| (0, vec![0; money_cols.len()]));
            e.0 += 1;
        }
    }
    let f = &*f;
    for (c, col) in df.columns().iter().enumerate() {
        let cc = c as u16;
        let values = col.as_materialized_series().iter();
        let money_at = money_cols.iter().position(|&m| m == c);
        for ((i, currency), v) in currencies.iter().enumerate().take(rows).zip(values) {
            let row = first_row + 1 + i as u32;
            match v {
                AnyValue::Null => {}
                AnyValue::Decimal(v, _, scale) => {
                    // Lake money has the lake's scale; anything else is rescaled to it.
                    let v = rescale(v, scale as u32);
                    let code = currency.as_deref();
                    let text = shown(v, code.map_or(2, digits_of));
                    widths.note(c, text.len() + code.map_or(0, |c| c.len() + 1));
                    ws.write_number_with_format(row, cc, number(v), f.money(code, true, false))?;
                    if let Some(m) = money_at {
                        let key = currency.clone().unwrap_or_default();
                        if let Some(t) = totals.get_mut(&key) {
                            t.1[m] += v;
                        }
                    }
                }
                AnyValue::Date(d) => {
                    widths.note(c, 10);
                    ws.write_datetime_with_format(row, cc, excel_date(d)?, &f.date)?;
                }
                AnyValue::Boolean(b) => {
                    widths.note(c, 5);
                    ws.write_boolean(row, cc, b)?;
                }
                AnyValue::Float32(_) | AnyValue::Float64(_) => {
                    let x = v.extract::<f64>().unwrap_or(f64::NAN);
                    widths.note(c, float_text(x).len());
                    ws.write_number(row, cc, x)?;
                }
                AnyValue::Int8(_)
                | AnyValue::Int16(_)
                | AnyValue::Int32(_)
                | AnyValue::Int64(_)
                | AnyValue::UInt8(_)
                | AnyValue::UInt16(_)
                | AnyValue::UInt32(_)
                | AnyValue::UInt64(_) => {
                    let n = v.extract::<i64>().unwrap_or(0);
                    let text = group(n.unsigned_abs() as u128);
                    widths.note(c, text.len() + usize::from(n < 0));
                    ws.write_number_with_format(row, cc, n as f64, &f.integer)?;
                }
                AnyValue::String(text) => {
                    widths.note_text(c, text);
                    write_text(ws, row, cc, text, f)?;
                }
                other => {
                    let text = crate::query::cell_text(&other).unwrap_or_default();
                    widths.note_text(c, &text);
                    write_text(ws, row, cc, &text, f)?;
                }
            }
        }
    }
    let last = first_row + rows as u32;
    let mut next = last + 1;
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
    if !totals.is_empty() {
        next += 1;
        let currency_col = df.get_column_index("currency");
        for (code, (n, sums)) in &totals {
            let label = format!("Total ({n} {})", if *n == 1 { "row" } else { "rows" });
            widths.note_text(0, &label);
            ws.write_string_with_format(next, 0, &label, &f.bold)?;
            if let Some(cc) = currency_col.filter(|&c| c > 0) {
                ws.write_string_with_format(next, cc as u16, code, &f.bold)?;
            }
            for (m, &c) in money_cols.iter().enumerate() {
                let code = Some(code.as_str()).filter(|c| !c.is_empty());
                let text = shown(sums[m], code.map_or(2, digits_of));
                widths.note(c, text.len() + code.map_or(0, |c| c.len() + 1));
                ws.write_number_with_format(
                    next,
                    c as u16,
                    number(sums[m]),
                    f.money(code, true, true),
                )?;
            }
            next += 1;
        }
    }
    Ok((last, next))
}

/// `v` at `scale` in lake units.
fn rescale(v: i128, scale: u32) -> i128 {
    let lake = LAKE_SCALE;
    if scale == lake {
        v
    } else if scale < lake {
        v * 10i128.pow(lake - scale)
    } else {
        v / 10i128.pow(scale - lake)
    }
}

/// A sheet holding one table, with filters, a frozen and repeated header and fitted columns.
fn table_sheet(
    wb: &mut Workbook,
    name: &str,
    df: &DataFrame,
    f: &mut Formats,
    title: &str,
    month_end: &str,
) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name(name)?;
    print_setup(ws, title);
    let mut widths = Widths::new(df.width());
    let (last, _) = write_table(ws, 0, df, f, &mut widths, month_end)?;
    if df.width() > 0 {
        ws.autofilter(0, 0, last.max(1), df.width() as u16 - 1)?;
    }
    ws.set_freeze_panes(1, 0)?;
    ws.set_repeat_rows(0, 0)?;
    widths.apply(ws)?;
    Ok(())
}

/// One row of a Summary block: a label and a value (or formula) per currency.
enum Cell {
    Money(i64),
    Count(u64),
    /// `=ROUND(SUM(first:last), digits)` over rows of this block, with its exact result.
    Sum(u32, u32, i64),
    /// `=ROUND(a - b, digits)` of two rows, with its exact result.
    Diff(u32, u32, i64),
}

/// The Summary sheet: blocks of figures × currencies.
struct Summary<'a> {
    ws: &'a mut Worksheet,
    f: &'a Formats,
    codes: Vec<&'static str>,
    widths: Widths,
    row: u32,
}

impl Summary<'_> {
    fn header(&mut self, title: &str) -> Result<(), XlsxError> {
        self.widths.note_text(0, title);
        self.ws
            .write_string_with_format(self.row, 0, title, &self.f.header)?;
        for (i, code) in self.codes.iter().enumerate() {
            let c = i as u16 + 1;
            self.ws
                .write_string_with_format(self.row, c, *code, &self.f.header)?;
            self.widths.note(c as usize, code.len());
        }
        self.row += 1;
        Ok(())
    }

    /// Writes a row; `cells` gives the cell of each currency. Returns the row written.
    fn line(
        &mut self,
        label: &str,
        bold: bool,
        cells: impl Fn(&str) -> Cell,
    ) -> Result<u32, XlsxError> {
        let row = self.row;
        self.widths.note_text(0, label);
        if bold {
            self.ws
                .write_string_with_format(row, 0, label, &self.f.bold)?;
        } else {
            self.ws.write_string(row, 0, label)?;
        }
        for (i, code) in self.codes.iter().enumerate() {
            let col = i as u16 + 1;
            let digits = digits_of(code);
            let money = self.f.money(Some(code), false, bold);
            let cell = |r: u32| row_col_to_cell(r, col);
            let (text, shown_text) = match cells(code) {
                Cell::Money(v) => {
                    self.ws
                        .write_number_with_format(row, col, number(v.into()), money)?;
                    (None, shown(v.into(), digits))
                }
                Cell::Count(n) => {
                    let fmt = if bold {
                        &self.f.integer_bold
                    } else {
                        &self.f.integer
                    };
                    self.ws.write_number_with_format(row, col, n as f64, fmt)?;
                    (None, group(n.into()))
                }
                Cell::Sum(a, b, v) => (
                    Some((format!("=ROUND(SUM({}:{}),{digits})", cell(a), cell(b)), v)),
                    shown(v.into(), digits),
                ),
                Cell::Diff(a, b, v) => (
                    Some((format!("=ROUND({}-{},{digits})", cell(a), cell(b)), v)),
                    shown(v.into(), digits),
                ),
            };
            if let Some((formula, v)) = text {
                let result = float_text(number(v.into()));
                self.ws.write_formula_with_format(
                    row,
                    col,
                    Formula::new(formula).set_result(result),
                    money,
                )?;
            }
            self.widths.note(col as usize, shown_text.len());
        }
        self.row += 1;
        Ok(row)
    }
}

/// A number as a formula's cached result: the shortest text that reads back as `x`.
fn float_text(x: f64) -> String {
    format!("{x}")
}

fn summary_sheet(
    wb: &mut Workbook,
    pack: &ClosePack,
    f: &mut Formats,
    title: &str,
) -> Result<(), XlsxError> {
    let (first, last) = {
        let (a, b) = super::month_days(&pack.month);
        (
            a.format("%Y-%m-%d").to_string(),
            b.format("%Y-%m-%d").to_string(),
        )
    };
    let mut codes: Vec<&'static str> = pack.roll_forward.keys().copied().collect();
    for c in pack.ledger.keys() {
        if !codes.contains(c) {
            codes.push(c);
        }
    }
    codes.sort_unstable();
    for code in &codes {
        f.make(code);
    }
    let ws = wb.add_worksheet();
    ws.set_name("Summary")?;
    print_setup(ws, title);
    ws.write_string_with_format(0, 0, title, &f.title)?;
    let notes = [
        "Amounts in each currency's own units. + adds to the Amazon Pay balance, - takes from it."
            .to_string(),
        format!(
            "Opening balance: every settlement line posted before {first}; closing: every line \
             posted to {last}. A Transfer counts at its settlement's end."
        ),
        format!(
            "Rows starting with = are formulas over the rows above; each Difference must be 0. \
             Ages on the Exceptions sheet are days to {last}."
        ),
    ];
    for (i, n) in notes.iter().enumerate() {
        ws.write_string_with_format(1 + i as u32, 0, n, &f.note)?;
    }
    let rf = |code: &str| pack.roll_forward.get(code).cloned().unwrap_or_default();
    let lg = |code: &str| pack.ledger.get(code).cloned().unwrap_or_default();
    let mut s = Summary {
        ws,
        f,
        codes,
        widths: Widths::new(1),
        row: 5,
    };

    s.header("Amazon Pay balance roll-forward")?;
    let top = s.line(&format!("Opening balance at {first}"), false, |c| {
        Cell::Money(rf(c).opening.0)
    })?;
    s.line("+ Captures", false, |c| Cell::Money(rf(c).captures.0))?;
    s.line("- Refunds", false, |c| Cell::Money(rf(c).refunds.0))?;
    s.line("- Chargebacks and claims", false, |c| {
        Cell::Money(rf(c).chargebacks.0)
    })?;
    s.line("+/- Adjustments", false, |c| {
        Cell::Money(rf(c).adjustments.0)
    })?;
    s.line("- Fees", false, |c| Cell::Money(rf(c).fees.0))?;
    s.line(
        "+/- Arithmetic differences (net is not amount + fee)",
        false,
        |c| Cell::Money(rf(c).arithmetic.0),
    )?;
    let bottom = s.line("- Transfers out to the bank", false, |c| {
        Cell::Money(-rf(c).transfers_out.0)
    })?;
    let computed = s.line(
        &format!("= Closing balance at {last}, computed"),
        true,
        |c| Cell::Sum(top, bottom, rf(c).computed_closing()),
    )?;
    let reported = s.line(
        &format!("Closing balance at {last} (settlement lines)"),
        false,
        |c| Cell::Money(rf(c).closing.0),
    )?;
    s.line("Difference (must be 0)", true, |c| {
        let r = rf(c);
        Cell::Diff(computed, reported, r.computed_closing() - r.closing.0)
    })?;
    s.row += 1;

    s.header("Deposits to the bank")?;
    let top = s.line(&format!("Deposits in transit at {first}"), false, |c| {
        Cell::Money(lg(c).in_transit_opening)
    })?;
    s.line("+ Paid out (Transfer lines of the month)", false, |c| {
        Cell::Money(lg(c).paid_out)
    })?;
    let bottom = s.line("- Deposited (reached the bank in the month)", false, |c| {
        Cell::Money(-lg(c).deposited)
    })?;
    let computed = s.line(
        &format!("= Deposits in transit at {last}, computed"),
        true,
        |c| Cell::Sum(top, bottom, lg(c).computed_in_transit()),
    )?;
    let listed = s.line(
        &format!("Deposits in transit at {last} (In transit sheet)"),
        false,
        |c| Cell::Money(lg(c).in_transit_closing),
    )?;
    s.line("Difference (must be 0)", true, |c| {
        let g = lg(c);
        Cell::Diff(
            computed,
            listed,
            g.computed_in_transit() - g.in_transit_closing,
        )
    })?;
    s.row += 1;

    s.header("Ledger totals of the month")?;
    s.line("Gross captured", false, |c| {
        Cell::Money(lg(c).gross_captured)
    })?;
    s.line("Refunds", false, |c| Cell::Money(lg(c).refunds))?;
    s.line("Fees", false, |c| Cell::Money(lg(c).fees))?;
    s.line("Net settled (all lines but transfers)", false, |c| {
        Cell::Money(lg(c).net_settled)
    })?;
    s.line("Paid out", false, |c| Cell::Money(lg(c).paid_out))?;
    s.line("Deposited", false, |c| Cell::Money(lg(c).deposited))?;
    s.row += 1;

    s.header("Settlement lines counted")?;
    for (label, pick) in [
        ("Before the month (opening)", 0usize),
        ("Captures", 1),
        ("Refunds", 2),
        ("Chargebacks and claims", 3),
        ("Adjustments", 4),
        ("Lines with fees", 5),
        ("Lines with arithmetic differences", 6),
        ("Transfers", 7),
        ("To the month end (closing)", 8),
    ] {
        s.line(label, pick == 8, |c| Cell::Count(rf(c).figures()[pick].1.1))?;
    }
    s.row += 1;

    s.header(&format!("Open at {last}"))?;
    let count = |kind: &str, c: &str| {
        pack.in_transit
            .iter()
            .filter(|t| t.kind == kind && t.currency.code() == c)
            .fold((0u64, 0i64), |(n, a), t| (n + 1, a + t.amount))
    };
    s.line("Captures not settled (count)", false, |c| {
        Cell::Count(count("capture", c).0)
    })?;
    s.line("Captures not settled (amount)", false, |c| {
        Cell::Money(count("capture", c).1)
    })?;
    s.line("Deposits in transit (count)", false, |c| {
        Cell::Count(count("deposit", c).0)
    })?;
    s.line("Exceptions (count, Exceptions sheet)", false, |c| {
        Cell::Count(
            pack.exceptions
                .iter()
                .filter(|r| r.currency.code() == c)
                .count() as u64,
        )
    })?;
    let Summary { ws, widths, .. } = s;
    // The notes and the title span the columns; they do not set the first column's width.
    widths.apply(ws)?;
    Ok(())
}

fn build(
    pack: &ClosePack,
    frames: &[(&str, DataFrame); 6],
    settings: &ReportSettings,
) -> Result<Vec<u8>, XlsxError> {
    let [
        _,
        _,
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
    let title = format!("Month close {}", settings.month.label());
    wb.set_properties(
        &DocProperties::new()
            .set_title(&title)
            .set_author("payrecon")
            .set_creation_datetime(&created),
    );
    let mut f = Formats::new();
    f.make("");
    let month_end = super::month_days(&settings.month)
        .1
        .format("%Y-%m-%d")
        .to_string();
    summary_sheet(
        &mut wb,
        pack,
        &mut f,
        &format!("{title}: Amazon Pay balance, payouts and deposits"),
    )?;
    table_sheet(
        &mut wb,
        "Exceptions",
        exceptions,
        &mut f,
        &title,
        &month_end,
    )?;
    table_sheet(&mut wb, "In transit", transit, &mut f, &title, &month_end)?;
    table_sheet(
        &mut wb,
        "Settlements",
        settlements,
        &mut f,
        &title,
        &month_end,
    )?;
    table_sheet(
        &mut wb,
        "Payouts & deposits",
        payouts,
        &mut f,
        &title,
        &month_end,
    )?;
    wb.save_to_buffer()
}

/// The workbook's bytes from the pack and its tables ([`super::close::frames`]; `path` is only for
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_groups_and_keeps_the_currency_digits() {
        assert_eq!(shown(1_022_344, 2), "10,223.44");
        assert_eq!(shown(-4_692, 2), "-46.92");
        assert_eq!(shown(239_643_700, 0), "2,396,437");
        assert_eq!(shown(5, 2), "0.05");
        assert_eq!(shown(0, 2), "0.00");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_000), "1,000");
    }

    #[test]
    fn headers_read_as_words_and_ages_say_to_when() {
        assert_eq!(
            header_label("expected_amount", "2026-10-31"),
            "Expected amount"
        );
        assert_eq!(
            header_label("age_days_at_month_end", "2026-10-31"),
            "Age at 2026-10-31 (days)"
        );
    }
}
