//! `payrecon generate`: a synthetic data set.

use std::time::Instant;

use super::{CommandError, Outcome, thousands};
use crate::cli::{BankFormatArg, GenerateArgs};
use crate::generate::{BankFormat, GenerateOptions, generate};

pub(super) fn run(args: &GenerateArgs) -> Result<Outcome, CommandError> {
    let start = Instant::now();
    let s = generate(&GenerateOptions {
        orders: args.orders,
        seed: args.seed,
        month: args.month.clone(),
        months: args.months,
        out: args.out.clone(),
        messy: args.messy,
        store: args.store.clone(),
        bank_format: match args.bank_format {
            BankFormatArg::Csv => BankFormat::Csv,
            BankFormatArg::Camt053 => BankFormat::Camt053,
            BankFormatArg::Mt940 => BankFormat::Mt940,
            BankFormatArg::Bai2 => BankFormat::Bai2,
        },
    })?;
    println!(
        "generated {} orders ({} attempts) into {} in {:.1} s: {} files, {:.1} MB",
        thousands(s.orders),
        thousands(s.attempts),
        args.out.display(),
        start.elapsed().as_secs_f64(),
        s.files,
        s.bytes as f64 / 1e6
    );
    println!(
        "  charge rows {}, refund rows {}, settlement reports {}, settlement lines {}, bank lines {}{}",
        thousands(s.charge_rows),
        thousands(s.refund_rows),
        thousands(s.settlements),
        thousands(s.settlement_lines),
        thousands(s.deposit_rows),
        if args.messy {
            format!(", malformed rows {}", thousands(s.malformed_rows))
        } else {
            String::new()
        }
    );
    Ok(Outcome::Clean)
}
