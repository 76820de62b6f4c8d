//! Safe exports: text that a spreadsheet program would run as a formula.
//!
//! A cell whose text begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read by
//! Excel, LibreOffice and Google Sheets as a formula (OWASP "CSV injection"). Every CSV and
//! workbook payrecon writes for people passes its text through here: in CSV such text gets a
//! leading `'` (the usual neutralisation, shown as text by every spreadsheet), in a workbook the
//! cell keeps its text and gets Excel's "quote prefix" style. Numbers are typed columns and are
//! never touched, so `-12.50` stays a number.

use std::borrow::Cow;

use polars::prelude::*;

/// Whether a spreadsheet would read `text` as a formula.
pub fn is_formula_like(text: &str) -> bool {
    matches!(
        text.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// `text`, prefixed with `'` when a spreadsheet would read it as a formula.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    if is_formula_like(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// `df` with every text column neutralised (other columns unchanged).
pub fn neutralise_frame(df: &DataFrame) -> DataFrame {
    let columns = df
        .columns()
        .iter()
        .map(|c| match c.dtype() {
            DataType::String => {
                let ca = c.str().expect("a String column");
                if !ca.iter().flatten().any(is_formula_like) {
                    return c.clone();
                }
                let safe: StringChunked = ca
                    .iter()
                    .map(|v| v.map(|t| neutralise(t).into_owned()))
                    .collect();
                safe.with_name(c.name().clone()).into_column()
            }
            _ => c.clone(),
        })
        .collect();
    DataFrame::new(df.height(), columns).expect("same shape")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralises_formula_starts_only() {
        for t in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(t), format!("'{t}"));
        }
        for t in ["P01-123", "", "a=b", "'=x", "Store & Co"] {
            assert_eq!(neutralise(t), t);
        }
    }

    #[test]
    fn frames_keep_numbers() {
        let df = df!(
            "id" => ["=HYPERLINK(\"http://x\")", "ok"],
            "amount" => [-12.5, 3.0],
        )
        .unwrap();
        let safe = neutralise_frame(&df);
        let ids: Vec<_> = safe
            .column("id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        assert_eq!(ids, ["'=HYPERLINK(\"http://x\")", "ok"]);
        assert_eq!(safe.column("amount").unwrap().dtype(), &DataType::Float64);
    }
}
