//! Debian side of the release: dev build, dget, source-only upload.
#![warn(missing_docs)]

mod error;

pub use error::{Error, Result};
