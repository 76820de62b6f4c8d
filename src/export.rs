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

/// `df` with every binary column as lowercase hex text (text formats cannot hold bytes).
pub fn binary_as_hex(df: &DataFrame) -> DataFrame {
    if !df.columns().iter().any(|c| c.dtype() == &DataType::Binary) {
        return df.clone();
    }
    let columns = df
        .columns()
        .iter()
        .map(|c| match c.dtype() {
            DataType::Binary => {
                let ca = c.binary().expect("a Binary column");
                let hex: StringChunked = ca
                    .iter()
                    .map(|v| {
                        v.map(|b| {
                            b.iter()
                                .fold(String::with_capacity(b.len() * 2), |mut s, x| {
                                    use std::fmt::Write;
                                    let _ = write!(s, "{x:02x}");
                                    s
                                })
                        })
                    })
                    .collect();
                hex.with_name(c.name().clone()).into_column()
            }
            _ => c.clone(),
        })
        .collect();
    DataFrame::new(df.height(), columns).expect("same shape")
}

/// Decimal places a float keeps in text output: rates and shares are exact to far less, and
/// the arithmetic's last-bit noise (`6.938893903907228e-18` for a zero uplift) goes.
pub const FLOAT_DECIMALS: u32 = 12;

/// `df` with every float column rounded to [`FLOAT_DECIMALS`] places (and `-0` as `0`).
pub fn floats_rounded(df: &DataFrame) -> DataFrame {
    if !df.columns().iter().any(|c| c.dtype().is_float()) {
        return df.clone();
    }
    let columns = df
        .columns()
        .iter()
        .map(|c| {
            if !c.dtype().is_float() {
                return c.clone();
            }
            let s = c.as_materialized_series();
            match s
                .round(FLOAT_DECIMALS, RoundMode::HalfToEven)
                .and_then(|r| r.cast(&DataType::Float64))
            {
                Ok(r) => {
                    let ca = r.f64().expect("cast to f64");
                    // A rounded `-0.0` prints as `-0.0`: write it as zero.
                    let ca: Float64Chunked = ca.apply_values(|v| if v == 0.0 { 0.0 } else { v });
                    ca.with_name(c.name().clone()).into_column()
                }
                Err(_) => c.clone(),
            }
        })
        .collect();
    DataFrame::new(df.height(), columns).expect("same shape")
}

/// The one way the command line writes CSV for people: binary columns as hex, floats without
/// last-bit noise, text that a spreadsheet would run as a formula neutralised.
pub fn csv_safe_frame(df: &DataFrame) -> DataFrame {
    neutralise_frame(&floats_rounded(&binary_as_hex(df)))
}

/// Writes `df` as CSV to `w` (made safe by [`csv_safe_frame`]): every CSV payrecon writes goes
/// through here.
pub fn write_csv<W: std::io::Write>(
    df: &DataFrame,
    w: W,
    include_header: bool,
) -> PolarsResult<()> {
    let mut safe = csv_safe_frame(df);
    CsvWriter::new(w)
        .include_header(include_header)
        .finish(&mut safe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_lose_their_noise_and_negative_zero() {
        let df = df!("x" => [6.938893903907228e-18, -1e-17, 0.1 + 0.2, 0.8819]).unwrap();
        let mut out = Vec::new();
        write_csv(&df, &mut out, true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "x\n0.0\n0.0\n0.3\n0.8819\n"
        );
    }

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

    #[test]
    fn binary_columns_become_hex() {
        let bytes = BinaryChunked::from_iter([Some(&[0x00u8, 0xab][..]), None])
            .with_name("row_hash".into())
            .into_column();
        let df = DataFrame::new(2, vec![bytes]).unwrap();
        let out = csv_safe_frame(&df);
        let col = out.column("row_hash").unwrap().str().unwrap();
        assert_eq!(col.get(0), Some("00ab"));
        assert_eq!(col.get(1), None);
    }
}
