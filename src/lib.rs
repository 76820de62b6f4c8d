//! payrecon: Amazon Pay settlement ingest, decline analytics and month-close reconciliation.
//!
//! Stages, one module each: [`ingest`] (source files to typed rows), [`lake`] (the Parquet
//! lake), [`analytics`] (approval and decline reports), [`reconcile`] (matching and the
//! month-close pack), [`report`] (the HTML report, the close workbook and their tables),
//! [`query`] (SQL over the lake), [`export`] (formula-injection-safe text for spreadsheets),
//! [`printable`] (file text made safe for logs and terminals),
//! [`generate`] (synthetic data), with [`model`] holding the typed records, newtypes and
//! the one schema definition, and [`settings`] the configuration. [`commands`] glues them to the
//! command line; only it and [`cli`] know about clap.

pub mod analytics;
pub mod cli;
pub mod commands;
pub mod durable;
pub mod export;
pub mod fetch;
pub mod generate;
pub mod ingest;
pub mod lake;
pub mod model;
pub mod printable;
pub mod query;
pub mod reconcile;
pub mod report;
pub mod settings;
pub mod state;
pub mod suggest;
