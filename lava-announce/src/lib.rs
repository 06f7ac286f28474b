//! The release announcement: composes the mail, signs it, writes it and sends it.
//!
//! [`compose`] turns an [`Announcement`] (addresses, subject, body, date and a
//! Message-ID from [`message_id`]) into an [`Email`]: RFC 5322 bytes with CRLF line
//! endings and a quoted-printable UTF-8 `text/plain` body, or, given a
//! `lava_signing::Signer`, a PGP/MIME message (RFC 3156: `multipart/signed`, the
//! signature made over the canonical first part). [`Email::write`] saves it as an
//! `.eml` file (atomically), [`Email::from_eml`] reads one back, and [`Smtp::send`]
//! hands the exact bytes to an SMTP server (STARTTLS, implicit TLS or plain; AUTH
//! PLAIN/LOGIN; an extra trusted CA certificate), so that a message prepared before a
//! crash is sent again with the same Message-ID.
//!
//! [`fill`] replaces `{name}` placeholders in the configured templates.
//!
//! This crate does not decide what the announcement says (the CLI renders the release
//! notes), does not remember what was sent (the CLI's state file does), reads no
//! environment variable, and never prints the SMTP password: it is a [`Password`],
//! whose `Debug` is `<redacted>`.
#![warn(missing_docs)]

mod error;
mod message;
mod smtp;
mod template;

pub use error::{Error, Result};
pub use message::{Announcement, Email, compose, mailbox, message_id};
pub use smtp::{Password, Receipt, Smtp, TlsMode};
pub use template::fill;
