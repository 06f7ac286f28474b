//! The I/O every lava-release crate shares, so that each concern is written once: files
//! that another run relies on are replaced atomically, and network calls retry under one
//! policy.
//!
//! It knows nothing of git, OpenPGP, Debian, GitLab or registries, and depends on no other
//! lava crate: every crate may use it without taking on another crate's concern.
#![warn(missing_docs)]

mod atomic;
mod error;
pub mod retry;
pub mod transfer;

pub use atomic::{AtomicFile, write_atomically};
pub use error::{Error, Result};
