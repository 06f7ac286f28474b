//! Cuts a LAVA release as a plan of stages that it prints, runs, journals and resumes.
//!
//! This crate composes the others. [`plan::plan`] turns the configuration and version
//! into a [`plan::Plan`]: stages, each a value implementing [`step::Step`] (one file per
//! stage under `stages/`). [`run::run`] executes it against the world with a journal,
//! enforcing what each stage needs from earlier ones. [`ops`] is the embedding API that
//! the `lava-release` binary (a thin clap front end) and other tooling call. It is the
//! only crate that reads the environment ([`env::Env::from_process`]); it leaves turning
//! errors into messages and exit codes to the binary. It holds no stage logic a second
//! front end could not reuse: each stage calls one library crate.
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod consistency;
pub mod entry;
pub mod env;
pub mod error;
pub mod gbp_conf;
pub mod journal;
pub mod manifest;
pub mod notes;
pub mod ops;
pub mod packages;
pub mod plan;
pub mod run;
pub mod shared;
pub mod signing;
pub mod stages;
pub mod step;
pub mod ui;
pub mod verify_release;
pub mod version;

pub use env::Env;
pub use error::UsageError;
pub use step::{Context, FAILPOINT_EXIT};
