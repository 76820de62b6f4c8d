//! `payrecon completions SHELL` and `payrecon man`: generated from the clap definitions, so
//! they say what `--help` says.

use std::io::Write;

use clap::CommandFactory;

use super::{CommandError, Outcome};
use crate::cli::{Cli, CompletionsArgs, ManArgs};

pub(super) fn completions(args: &CompletionsArgs) -> Result<Outcome, CommandError> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "payrecon", &mut std::io::stdout());
    Ok(Outcome::Clean)
}

pub(super) fn man(args: &ManArgs) -> Result<Outcome, CommandError> {
    let cmd = Cli::command();
    let io =
        |path: std::path::PathBuf| move |e: std::io::Error| CommandError::Io { path, source: e };
    match &args.out {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(io("<stdout>".into()))?;
            std::io::stdout()
                .write_all(&out)
                .map_err(io("<stdout>".into()))?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(io(dir.clone()))?;
            clap_mangen::generate_to(cmd, dir).map_err(io(dir.clone()))?;
            let mut pages: Vec<String> = std::fs::read_dir(dir)
                .map_err(io(dir.clone()))?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".1"))
                .collect();
            pages.sort();
            println!(
                "wrote {} manual pages into {} ({}); read one with `man -l {}/payrecon.1`",
                pages.len(),
                dir.display(),
                pages.join(", "),
                dir.display()
            );
        }
    }
    Ok(Outcome::Clean)
}
