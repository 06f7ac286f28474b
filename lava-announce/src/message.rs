//! The announcement as an RFC 5322 message, plain or PGP/MIME-signed, and as a file.

use std::path::Path;
use std::str::FromStr as _;
use std::time::SystemTime;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};

use crate::error::{Error, Result};

/// `micalg` of the signed multipart: `lava_signing::Signer` signs with SHA-512 only.
const MICALG: &str = "pgp-sha512";

/// What the announcement says, and to whom.
#[derive(Debug, Clone)]
pub struct Announcement<'a> {
    /// The sender, `Name <address>` or a bare address.
    pub from: &'a str,
    /// The recipients (the list), each `Name <address>` or a bare address.
    pub to: &'a [String],
    /// The subject.
    pub subject: &'a str,
    /// The body, plain UTF-8 text with `\n` line endings.
    pub body: &'a str,
    /// The `Date` header.
    pub date: SystemTime,
    /// The `Message-ID` header, angle brackets included (see [`message_id`]).
    pub message_id: &'a str,
}

/// A composed message: its bytes and the envelope they travel in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    message_id: String,
    sender: String,
    recipients: Vec<String>,
    bytes: Vec<u8>,
}

/// A Message-ID for the announcement of `version` from `from`:
/// `<lava-release.VERSION.RANDOM@DOMAIN>`, with the sender's domain and 64 random bits,
/// so that it names the release and is never reused by another message.
pub fn message_id(version: &str, from: &str) -> Result<String> {
    let mailbox = mailbox(from, "sender")?;
    Ok(format!(
        "<lava-release.{version}.{:016x}@{}>",
        fastrand::u64(..),
        mailbox.email.domain()
    ))
}

/// Composes the announcement: `text/plain; charset=utf-8` in quoted-printable, or with
/// `signer` a PGP/MIME message (RFC 3156) whose first part is that text, signed over its
/// canonical (CRLF) form exactly as it appears in the message.
pub fn compose(a: &Announcement<'_>, signer: Option<&lava_signing::Signer>) -> Result<Email> {
    let from = mailbox(a.from, "sender")?;
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(a.subject)
        .date(a.date)
        .message_id(Some(a.message_id.to_owned()));
    let mut recipients = Vec::new();
    for to in a.to {
        let to = mailbox(to, "recipient")?;
        recipients.push(to.email.to_string());
        builder = builder.to(to);
    }
    // Quoted-printable keeps the text 7-bit, as RFC 3156 requires of signed data, and
    // encodes trailing spaces so no relay can change what was signed.
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .header(ContentTransferEncoding::QuotedPrintable)
        .body(a.body.to_owned());
    let compose_error = |source| Error::Compose {
        subject: a.subject.to_owned(),
        source,
    };
    let message = match signer {
        None => builder.singlepart(text).map_err(compose_error)?,
        Some(signer) => {
            let signed = signed_data(&text);
            let signature =
                signer
                    .sign_detached_armored(&signed)
                    .map_err(|source| Error::Sign {
                        fingerprint: signer.fingerprint().to_hex(),
                        source,
                    })?;
            let signature = SinglePart::builder()
                .header(
                    ContentType::parse("application/pgp-signature; name=\"signature.asc\"")
                        .expect("a valid media type"),
                )
                .header(ContentTransferEncoding::SevenBit)
                .body(signature);
            let multipart = MultiPart::signed("application/pgp-signature".into(), MICALG.into())
                .singlepart(text)
                .singlepart(signature);
            builder.multipart(multipart).map_err(compose_error)?
        }
    };
    Ok(Email {
        message_id: a.message_id.to_owned(),
        sender: from.email.to_string(),
        recipients,
        bytes: message.formatted(),
    })
}

/// The bytes a PGP/MIME signature covers: the part's headers and body as they appear
/// between the boundaries. lettre writes a part as headers, CRLF, body, CRLF; that last
/// CRLF belongs to the following boundary delimiter (RFC 2046, section 5.1.1).
fn signed_data(part: &SinglePart) -> Vec<u8> {
    let mut bytes = part.formatted();
    if bytes.ends_with(b"\r\n") {
        bytes.truncate(bytes.len() - 2);
    }
    bytes
}

/// Parses `Name <address>` or a bare address; `what` (`sender`, `recipient`) names it
/// in the error.
pub fn mailbox(text: &str, what: &'static str) -> Result<Mailbox> {
    let text = text.trim();
    let (name, address) = match text.rsplit_once('<') {
        Some((name, rest)) if rest.ends_with('>') => {
            let name = name.trim().trim_matches('"').trim();
            (
                (!name.is_empty()).then(|| name.to_owned()),
                rest.trim_end_matches('>'),
            )
        }
        _ => (None, text),
    };
    let address = Address::from_str(address.trim()).map_err(|source| Error::Address {
        what,
        address: text.to_owned(),
        source,
    })?;
    Ok(Mailbox::new(name, address))
}

impl Email {
    /// The `Message-ID`, angle brackets included.
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// The envelope sender (`MAIL FROM`).
    pub fn sender(&self) -> &str {
        &self.sender
    }

    /// The envelope recipients (`RCPT TO`).
    pub fn recipients(&self) -> &[String] {
        &self.recipients
    }

    /// The message, CRLF line endings, as sent and as written to an `.eml` file.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Writes the message to `path` (creating its directory) through
    /// [`lava_io::write_atomically`], so that a crash leaves either no file or the whole
    /// message.
    pub fn write(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Write {
                path: path.to_owned(),
                source,
            })?;
        }
        lava_io::write_atomically(path, &self.bytes)?;
        Ok(())
    }

    /// Reads a message [`Email::write`] wrote: its bytes unchanged, the envelope from
    /// its `From` and `To` headers, and its `Message-ID`.
    pub fn from_eml(path: &Path) -> Result<Email> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        let headers = headers(&bytes);
        let field = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_str())
        };
        let message_id = field("Message-ID")
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Error::NoMessageId {
                path: path.to_owned(),
            })?
            .to_owned();
        let sender = addresses(field("From").unwrap_or_default())
            .into_iter()
            .next()
            .unwrap_or_default();
        let recipients = addresses(field("To").unwrap_or_default());
        Ok(Email {
            message_id,
            sender,
            recipients,
            bytes,
        })
    }
}

/// The header fields of a message, unfolded, in order.
fn headers(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.split("\r\n").flat_map(|l| l.split('\n')) {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    fields
}

/// The addresses of an address-list header value (`a@x, "B, C" <b@y>`).
fn addresses(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let (mut current, mut quoted) = (String::new(), false);
    for c in value.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    items.push(current);
    items
        .iter()
        .map(|item| {
            let item = item.trim();
            match item.rsplit_once('<') {
                Some((_, rest)) => rest.trim_end_matches('>').trim().to_owned(),
                None => item.to_owned(),
            }
        })
        .filter(|a| !a.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn announcement<'a>(to: &'a [String], body: &'a str) -> Announcement<'a> {
        Announcement {
            from: "Rémi Release <rm@lavasoftware.example>",
            to,
            subject: "LAVA Software 2024.05 release",
            body,
            date: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_714_557_600),
            message_id: "<lava-release.2024.05.0123456789abcdef@lavasoftware.example>",
        }
    }

    fn text(email: &Email) -> String {
        String::from_utf8(email.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn message_id_names_the_release_and_the_sender_domain() {
        let id = message_id("2024.05", "Rémi <rm@lavasoftware.example>").unwrap();
        assert!(id.starts_with("<lava-release.2024.05."), "{id}");
        assert!(id.ends_with("@lavasoftware.example>"), "{id}");
        assert_ne!(
            id,
            message_id("2024.05", "rm@lavasoftware.example").unwrap()
        );
        let err = message_id("2024.05", "not an address").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the sender `not an address` is not an e-mail address"
        );
    }

    #[test]
    fn plain_message_has_the_headers_and_a_quoted_printable_body() {
        let to = ["lava-announce@lists.lavasoftware.example".to_owned()];
        let body = "LAVA 2024.05 by Rémi.\n\n  * abc fix\n";
        let email = compose(&announcement(&to, body), None).unwrap();
        let raw = text(&email);
        for header in [
            "Subject: LAVA Software 2024.05 release\r\n",
            "To: lava-announce@lists.lavasoftware.example\r\n",
            "Date: Wed, 01 May 2024 10:00:00 +0000\r\n",
            "Message-ID: <lava-release.2024.05.0123456789abcdef@lavasoftware.example>\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
            "Content-Transfer-Encoding: quoted-printable\r\n",
        ] {
            assert!(raw.contains(header), "no {header:?} in\n{raw}");
        }
        assert!(raw.contains("From: =?utf-8?"), "{raw}");
        assert!(!raw.contains("\n\n") && !raw.replace("\r\n", "").contains('\n'));
        let (_, encoded) = raw.split_once("\r\n\r\n").unwrap();
        let decoded =
            quoted_printable::decode(encoded, quoted_printable::ParseMode::Robust).unwrap();
        // lettre ends a message with a CRLF after the body.
        assert_eq!(
            String::from_utf8(decoded).unwrap().replace("\r\n", "\n"),
            format!("{body}\n")
        );
        assert_eq!(email.sender(), "rm@lavasoftware.example");
        assert_eq!(email.recipients(), to);
    }

    #[test]
    fn signed_message_verifies_over_its_first_part() {
        let now = SystemTime::now();
        let key =
            lava_signing::keygen::KeySpec::new("LAVA Release", "rm@lavasoftware.example", now)
                .generate()
                .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("release.key");
        key.write_secret_key(&path).unwrap();
        let signer = lava_signing::Signer::from_key_file(
            &path,
            &key.fingerprint().to_hex().parse().unwrap(),
            &lava_signing::PassphraseSource::None,
            now,
        )
        .unwrap();
        let to = ["lava-announce@lists.lavasoftware.example".to_owned()];
        let body = "Trailing space \nand Rémi.\n";
        let email = compose(&announcement(&to, body), Some(&signer)).unwrap();
        let raw = text(&email);
        assert!(raw.contains("multipart/signed"), "{raw}");
        assert!(
            raw.contains("protocol=\"application/pgp-signature\""),
            "{raw}"
        );
        assert!(raw.contains("micalg=\"pgp-sha512\""), "{raw}");

        // Split as a receiving agent does (RFC 1847): the first part is everything
        // between the first delimiter line and the CRLF before the second.
        let boundary = raw
            .split("boundary=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap();
        let delimiter = format!("\r\n--{boundary}");
        let parts: Vec<&str> = raw.split(&delimiter).collect();
        assert_eq!(parts.len(), 4, "{raw}");
        let first = parts[1].strip_prefix("\r\n").unwrap();
        let signature = parts[2].split_once("\r\n\r\n").unwrap().1;
        assert!(first.starts_with("Content-Type: text/plain; charset=utf-8\r\n"));
        lava_signing::verify_detached(first.as_bytes(), signature.as_bytes(), &key.keyring())
            .unwrap();
        let tampered = first.replace("Trailing", "trailing");
        assert!(
            lava_signing::verify_detached(
                tampered.as_bytes(),
                signature.as_bytes(),
                &key.keyring()
            )
            .is_err()
        );
    }

    #[test]
    fn eml_round_trips_with_its_envelope() {
        let to = [
            "lava-announce@lists.lavasoftware.example".to_owned(),
            "\"Doe, Jane\" <jane@example.org>".to_owned(),
        ];
        let email = compose(&announcement(&to, "hello\n"), None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/2024.05-announce.eml");
        email.write(&path).unwrap();
        let read = Email::from_eml(&path).unwrap();
        assert_eq!(read, email);
        assert_eq!(
            read.recipients(),
            [
                "lava-announce@lists.lavasoftware.example",
                "jane@example.org"
            ]
        );

        std::fs::write(&path, "Subject: x\r\n\r\nbody\r\n").unwrap();
        let err = Email::from_eml(&path).unwrap_err();
        assert!(
            err.to_string().contains("has no Message-ID header"),
            "{err}"
        );
    }
}
