//! `payrecon codes`: the reason-code catalogue with decline classes.

use super::{CommandError, Outcome};
use crate::cli::{CodesArgs, CodesFormat};
use crate::model::catalogue::{Catalogue, parse_seed, to_csv};

pub(super) fn run(args: &CodesArgs) -> Result<Outcome, CommandError> {
    let owned;
    let entries = match &args.seed {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| CommandError::Io {
                path: path.clone(),
                source: e,
            })?;
            owned = parse_seed(&text)?;
            &owned[..]
        }
        None => Catalogue::embedded().entries(),
    };
    match args.format {
        CodesFormat::Csv => print!("{}", to_csv(entries)?),
        CodesFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(entries).expect("serialisable")
        ),
        CodesFormat::Table => {
            let w = entries
                .iter()
                .map(|e| e.code.len())
                .max()
                .unwrap_or(4)
                .max(4);
            println!(
                "{:<w$}  {:<14} {:<16} {:<10} {:<4} {:<4} decline_class",
                "code", "group", "level", "frequency", "tier", "http"
            );
            for e in entries {
                println!(
                    "{:<w$}  {:<14} {:<16} {:<10} {:<4} {:<4} {}",
                    e.code,
                    e.group,
                    e.level,
                    e.frequency,
                    e.tier,
                    e.http_status
                        .map(|h| h.to_string())
                        .unwrap_or_else(|| "-".into()),
                    e.decline_class
                );
            }
        }
    }
    Ok(Outcome::Clean)
}
