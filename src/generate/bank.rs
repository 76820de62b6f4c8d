//! A generated day's bank lines written as a bank would send them: camt.053, MT940 or BAI2
//! (the payrecon CSV is written beside the other CSVs in `generate/write.rs`).
//!
//! Every format carries the same lines with the same ids (the generator's `BT…`/`BX…` fit
//! MT940's 16-character bank reference), and texts are wrapped at spaces so that the reader's
//! join (one space between parts) gives back the reference exactly: the formats load into the
//! same `deposits` rows. One statement per currency account, with opening and closing
//! balances; a damaged line (`--messy`) is written unreadable where its format would break
//! (a date, or a BAI2 amount), so it is rejected in every format alike.

use std::io::{self, Write};

use chrono::{Datelike, NaiveDate};

use crate::model::Currency;
use crate::model::money::format_minor;

/// The format `payrecon generate --bank-format` writes bank lines in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BankFormat {
    /// payrecon's own five-column CSV.
    #[default]
    Csv,
    /// ISO 20022 camt.053.001.02.
    Camt053,
    /// SWIFT MT940.
    Mt940,
    /// BAI2.
    Bai2,
}

impl BankFormat {
    pub fn extension(self) -> &'static str {
        match self {
            BankFormat::Csv => "csv",
            BankFormat::Camt053 => "xml",
            BankFormat::Mt940 => "sta",
            BankFormat::Bai2 => "bai",
        }
    }
}

/// One line of a statement.
pub(super) struct Line<'a> {
    pub id: &'a str,
    /// Signed minor units.
    pub amount: i64,
    pub reference: &'a str,
    pub damaged: bool,
}

/// One currency account's statement of the day.
pub(super) struct Account<'a> {
    pub currency: Currency,
    pub opening: i64,
    pub lines: Vec<Line<'a>>,
}

impl Account<'_> {
    fn number(&self) -> String {
        format!("10023456{}", self.currency.code())
    }

    fn closing(&self) -> i64 {
        self.opening + self.lines.iter().map(|l| l.amount).sum::<i64>()
    }
}

/// Writes the day's statements in `format` (not [`BankFormat::Csv`]).
pub(super) fn write(
    format: BankFormat,
    w: &mut dyn Write,
    day: NaiveDate,
    accounts: &[Account<'_>],
) -> io::Result<()> {
    match format {
        BankFormat::Camt053 => camt053(w, day, accounts),
        BankFormat::Mt940 => mt940(w, day, accounts),
        BankFormat::Bai2 => bai2(w, day, accounts),
        BankFormat::Csv => Err(io::Error::other("the CSV is written by the generator")),
    }
}

/// `text` cut at spaces into parts of at most `width` characters (a word longer than that is
/// cut where it must be, which the reader's join would then split: generated words are short).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let extra = usize::from(!cur.is_empty());
        if !cur.is_empty() && cur.chars().count() + extra + word.chars().count() > width {
            out.push(std::mem::take(&mut cur));
        } else if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

fn camt053(w: &mut dyn Write, day: NaiveDate, accounts: &[Account<'_>]) -> io::Result<()> {
    let d = day.format("%Y-%m-%d");
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#
    )?;
    writeln!(w, "  <BkToCstmrStmt>")?;
    writeln!(
        w,
        "    <GrpHdr><MsgId>PAYRECON-{d}</MsgId><CreDtTm>{d}T22:00:00</CreDtTm></GrpHdr>"
    )?;
    for a in accounts {
        let ccy = a.currency.code();
        let bal = |w: &mut dyn Write, code: &str, v: i64| {
            writeln!(
                w,
                r#"      <Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="{ccy}">{}</Amt><CdtDbtInd>{}</CdtDbtInd><Dt><Dt>{d}</Dt></Dt></Bal>"#,
                format_minor(v.abs(), a.currency),
                if v < 0 { "DBIT" } else { "CRDT" }
            )
        };
        writeln!(w, "    <Stmt>")?;
        writeln!(w, "      <Id>{d}-{ccy}</Id>")?;
        writeln!(w, "      <CreDtTm>{d}T22:00:00</CreDtTm>")?;
        writeln!(
            w,
            "      <Acct><Id><Othr><Id>{}</Id></Othr></Id><Ccy>{ccy}</Ccy></Acct>",
            a.number()
        )?;
        bal(w, "OPBD", a.opening)?;
        bal(w, "CLBD", a.closing())?;
        for l in &a.lines {
            let date = if l.damaged {
                day.format("%d/%m/%Y").to_string()
            } else {
                d.to_string()
            };
            writeln!(w, "      <Ntry>")?;
            writeln!(
                w,
                r#"        <Amt Ccy="{ccy}">{}</Amt>"#,
                format_minor(l.amount.abs(), a.currency)
            )?;
            writeln!(
                w,
                "        <CdtDbtInd>{}</CdtDbtInd>",
                if l.amount < 0 { "DBIT" } else { "CRDT" }
            )?;
            writeln!(w, "        <Sts>BOOK</Sts>")?;
            writeln!(w, "        <BookgDt><Dt>{date}</Dt></BookgDt>")?;
            writeln!(w, "        <ValDt><Dt>{d}</Dt></ValDt>")?;
            writeln!(w, "        <AcctSvcrRef>{}</AcctSvcrRef>", escape(l.id))?;
            writeln!(w, "        <NtryDtls><TxDtls><RmtInf>")?;
            // Longer texts split over several `Ustrd`, as banks do at 140 characters (here at
            // 35, so that the split is exercised).
            for part in wrap(l.reference, 35) {
                writeln!(w, "          <Ustrd>{}</Ustrd>", escape(&part))?;
            }
            writeln!(w, "        </RmtInf></TxDtls></NtryDtls>")?;
            writeln!(w, "      </Ntry>")?;
        }
        writeln!(w, "    </Stmt>")?;
    }
    writeln!(w, "  </BkToCstmrStmt>")?;
    writeln!(w, "</Document>")
}

/// MT940 text lines end in CRLF.
fn mt940(w: &mut dyn Write, day: NaiveDate, accounts: &[Account<'_>]) -> io::Result<()> {
    let yymmdd = day.format("%y%m%d").to_string();
    let prev = day.pred_opt().unwrap_or(day).format("%y%m%d").to_string();
    let mmdd = day.format("%m%d").to_string();
    let amount = |v: i64, c: Currency| format_minor(v.abs(), c).replace('.', ",");
    let amount = |v: i64, c: Currency| {
        let t = amount(v, c);
        if t.contains(',') { t } else { format!("{t},") }
    };
    let seq = day.ordinal();
    for a in accounts {
        let ccy = a.currency.code();
        let sign = |v: i64| if v < 0 { "D" } else { "C" };
        write!(
            w,
            "{{1:F01PAYRXXXXAXXX0000000000}}{{2:I940PAYRXXXXXXXXN}}{{4:\r\n"
        )?;
        write!(w, ":20:PAYRECON{yymmdd}\r\n")?;
        write!(w, ":25:{}\r\n", a.number())?;
        write!(w, ":28C:{seq:05}/001\r\n")?;
        write!(
            w,
            ":60F:{}{prev}{ccy}{}\r\n",
            sign(a.opening),
            amount(a.opening, a.currency)
        )?;
        for l in &a.lines {
            let value = if l.damaged {
                format!("{}99", &yymmdd[..4])
            } else {
                yymmdd.clone()
            };
            write!(
                w,
                ":61:{value}{mmdd}{}{}NTRFNONREF//{}\r\n",
                sign(l.amount),
                amount(l.amount, a.currency),
                l.id
            )?;
            // `:86:` holds 6 lines of 65 characters; the first starts after the tag.
            for (i, part) in wrap(l.reference, 61).iter().enumerate() {
                if i == 0 {
                    write!(w, ":86:{part}\r\n")?;
                } else {
                    write!(w, "{part}\r\n")?;
                }
            }
        }
        let close = a.closing();
        write!(
            w,
            ":62F:{}{yymmdd}{ccy}{}\r\n",
            sign(close),
            amount(close, a.currency)
        )?;
        write!(w, "-}}\r\n")?;
    }
    Ok(())
}

fn bai2(w: &mut dyn Write, day: NaiveDate, accounts: &[Account<'_>]) -> io::Result<()> {
    let yymmdd = day.format("%y%m%d").to_string();
    let file_id = day.format("%Y%m%d").to_string();
    let mut records: Vec<String> = Vec::new();
    let mut group_total: i128 = 0;
    let mut group_records = 1u64; // the 02
    records.push(format!("02,MERCHANT,PAYRECON,1,{yymmdd},2400,,2/"));
    for a in accounts {
        let start = records.len();
        let closing = a.closing();
        let mut total = i128::from(a.opening) + i128::from(closing);
        records.push(format!(
            "03,{},{},010,{},,,015,{},,/",
            a.number(),
            a.currency.code(),
            a.opening,
            closing
        ));
        for l in &a.lines {
            let abs = l.amount.abs();
            total += i128::from(abs);
            let code = if l.amount < 0 { 495 } else { 195 };
            let amount = if l.damaged {
                format!("{abs}X")
            } else {
                abs.to_string()
            };
            // 80-character records: the text runs on in `88` continuations.
            let head = format!("16,{code},{amount},Z,{},,", l.id);
            let parts = wrap(l.reference, 79 - head.len().min(60));
            let mut parts = parts.into_iter();
            records.push(format!("{head}{}", parts.next().unwrap_or_default()));
            for p in parts {
                records.push(format!("88,{p}"));
            }
        }
        let count = (records.len() - start + 1) as u64;
        records.push(format!("49,{total},{count}/"));
        group_total += total;
        group_records += count;
    }
    group_records += 1; // the 98
    records.push(format!(
        "98,{group_total},{},{group_records}/",
        accounts.len()
    ));
    writeln!(w, "01,PAYRECON,MERCHANT,{yymmdd},0600,{file_id},,,2/")?;
    for r in &records {
        writeln!(w, "{r}")?;
    }
    writeln!(w, "99,{group_total},1,{}/", group_records + 2)
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrapping_joins_back_with_one_space() {
        let text = "AMAZON PAYMENTS EUROPE S.C.A. 5044042006 SETTLEMENT OF THE DAY";
        for width in [10, 20, 35, 61, 200] {
            let parts = wrap(text, width);
            assert_eq!(parts.join(" "), text, "{width}");
            assert!(
                parts.iter().all(|p| p.chars().count() <= width.max(10)),
                "{parts:?}"
            );
        }
    }
}
