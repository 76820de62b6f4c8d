//! `payrecon init`: a commented `payrecon.toml` with every setting at its default.

use std::path::{Path, PathBuf};

use super::{CommandError, Outcome};
use crate::cli::InitArgs;
use crate::settings::{DEFAULT_CONFIG, INIT_TEMPLATE};

pub(super) fn run(args: &InitArgs, config_flag: Option<&Path>) -> Result<Outcome, CommandError> {
    let path: PathBuf = args
        .path
        .clone()
        .or_else(|| config_flag.map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    if path.exists() && !args.force {
        return Err(CommandError::Usage(format!(
            "{} exists; `payrecon init --force` overwrites it, or name another file",
            path.display()
        )));
    }
    crate::durable::write_atomic(&path, INIT_TEMPLATE.as_bytes())?;
    println!(
        "wrote {}: every setting at its default, with what it does; edit what you need, then \
         `payrecon run`",
        path.display()
    );
    Ok(Outcome::Clean)
}
