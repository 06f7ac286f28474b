//! The cleartext signature framework (RFC 9580 section 7), written and read the
//! way GnuPG does, so `gpgv` and apt's InRelease splitter accept our output.
//!
//! sequoia has its own cleartext writer, but it strips trailing whitespace from
//! the emitted text and always adds an empty line before the signature; gpg
//! keeps the text byte for byte and lets the input's final line ending end the
//! text. This module does pure byte work; the signature itself is an ordinary
//! detached text-mode signature over [`signed_data`].

use crate::error::{Error, Result};

const BEGIN_MESSAGE: &[u8] = b"-----BEGIN PGP SIGNED MESSAGE-----";
const BEGIN_SIGNATURE: &[u8] = b"-----BEGIN PGP SIGNATURE-----";
const END_SIGNATURE: &[u8] = b"-----END PGP SIGNATURE-----";

/// The bytes a cleartext signature covers: each line without trailing spaces,
/// tabs and carriage returns, lines joined by CRLF, and no line ending after the
/// last line (that one belongs to the framework, before the signature armor).
pub(crate) fn signed_data(text: &[u8]) -> Vec<u8> {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let mut out = Vec::with_capacity(body.len() + body.len() / 32);
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(trim_trailing_whitespace(line));
    }
    out
}

/// Frames `text` and its armored text-mode signature as a cleartext-signed message.
pub(crate) fn frame(text: &[u8], hash_name: &str, armored_signature: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + armored_signature.len() + 128);
    out.extend_from_slice(BEGIN_MESSAGE);
    out.push(b'\n');
    out.extend_from_slice(format!("Hash: {hash_name}\n\n").as_bytes());
    for line in text.split_inclusive(|&b| b == b'\n') {
        // Dash-escape every line starting with '-', as the RFC requires, and lines
        // starting with "From ", as gpg does so that mail transports leave them alone.
        if line.starts_with(b"-") || line.starts_with(b"From ") {
            out.extend_from_slice(b"- ");
        }
        out.extend_from_slice(line);
    }
    if !text.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(armored_signature);
    out
}

/// A cleartext-signed message taken apart.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Parts {
    /// The dash-unescaped text, including the last line's line ending.
    pub(crate) text: Vec<u8>,
    /// The armored signature block, from its BEGIN line to its END line.
    pub(crate) signature: Vec<u8>,
}

/// Splits a cleartext-signed message into its text and signature.
///
/// It is as strict as apt: the message must start with the BEGIN line, the
/// only armor headers allowed are `Hash:`, every text line starting with `-`
/// must be dash-escaped, and nothing but whitespace may follow the signature.
pub(crate) fn split(message: &[u8]) -> Result<Parts> {
    let mut lines = message.split_inclusive(|&b| b == b'\n').enumerate();
    let malformed = |index: usize, reason: &str| Error::MalformedCleartext {
        line: index + 1,
        reason: reason.to_owned(),
    };

    match lines.next() {
        Some((_, line)) if trim_line(line) == BEGIN_MESSAGE => {}
        _ => {
            return Err(malformed(
                0,
                "it does not start with `-----BEGIN PGP SIGNED MESSAGE-----`",
            ));
        }
    }

    loop {
        match lines.next() {
            None => {
                return Err(malformed(
                    1,
                    "the armor headers are not followed by an empty line",
                ));
            }
            Some((_, line)) if trim_line(line).is_empty() => break,
            Some((_, line)) if line.starts_with(b"Hash:") => {}
            Some((i, _)) => {
                return Err(malformed(
                    i,
                    "only `Hash:` armor headers may precede the text",
                ));
            }
        }
    }

    let mut text = Vec::new();
    let mut begin = None;
    for (i, line) in lines.by_ref() {
        if trim_line(line) == BEGIN_SIGNATURE {
            begin = Some(line);
            break;
        }
        if let Some(unescaped) = line.strip_prefix(b"- ") {
            text.extend_from_slice(unescaped);
        } else if line.starts_with(b"-") {
            return Err(malformed(
                i,
                "a text line starts with `-` but is not dash-escaped",
            ));
        } else {
            text.extend_from_slice(line);
        }
    }
    let Some(begin) = begin else {
        return Err(malformed(
            message
                .split_inclusive(|&b| b == b'\n')
                .count()
                .saturating_sub(1),
            "there is no `-----BEGIN PGP SIGNATURE-----` line",
        ));
    };

    let mut signature = begin.to_vec();
    let mut ended = false;
    for (i, line) in lines {
        if ended {
            if !trim_line(line).is_empty() {
                return Err(malformed(
                    i,
                    "there is data after `-----END PGP SIGNATURE-----`",
                ));
            }
            continue;
        }
        signature.extend_from_slice(line);
        ended = trim_line(line) == END_SIGNATURE;
    }
    if !ended {
        return Err(malformed(
            message
                .split_inclusive(|&b| b == b'\n')
                .count()
                .saturating_sub(1),
            "the signature has no `-----END PGP SIGNATURE-----` line",
        ));
    }
    Ok(Parts { text, signature })
}

/// `text` with trailing spaces and tabs removed from each line, line endings kept.
pub(crate) fn without_trailing_whitespace(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for line in text.split_inclusive(|&b| b == b'\n') {
        let (content, ending): (&[u8], &[u8]) = if let Some(c) = line.strip_suffix(b"\r\n") {
            (c, b"\r\n")
        } else if let Some(c) = line.strip_suffix(b"\n") {
            (c, b"\n")
        } else {
            (line, b"")
        };
        let end = content
            .iter()
            .rposition(|&b| !matches!(b, b' ' | b'\t'))
            .map_or(0, |p| p + 1);
        out.extend_from_slice(&content[..end]);
        out.extend_from_slice(ending);
    }
    out
}

fn trim_trailing_whitespace(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|&b| !matches!(b, b' ' | b'\t' | b'\r'))
        .map_or(0, |p| p + 1);
    &line[..end]
}

/// A line without its line ending and trailing whitespace, for matching armor lines.
fn trim_line(line: &[u8]) -> &[u8] {
    trim_trailing_whitespace(line.strip_suffix(b"\n").unwrap_or(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &[u8] = b"-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n";

    #[test]
    fn signed_data_is_canonical_text_without_final_line_ending() {
        assert_eq!(signed_data(b"a  \nb\t\n"), b"a\r\nb");
        assert_eq!(signed_data(b"a\r\nb\r\n"), b"a\r\nb");
        assert_eq!(signed_data(b"a\nb"), b"a\r\nb");
        assert_eq!(signed_data(b"a\n\n"), b"a\r\n");
        assert_eq!(signed_data(b""), b"");
    }

    #[test]
    fn frame_dash_escapes_like_gpg() {
        let framed = frame(b"a  \n-dash\nFrom x\nb\n", "SHA512", SIG);
        let expect = b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\na  \n- -dash\n- From x\nb\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n";
        assert_eq!(
            String::from_utf8_lossy(&framed),
            String::from_utf8_lossy(expect)
        );
    }

    #[test]
    fn frame_adds_the_missing_final_line_ending() {
        let framed = frame(b"a\nb", "SHA512", SIG);
        assert!(framed.ends_with(
            b"\na\nb\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n"
        ));
    }

    #[test]
    fn split_undoes_frame() {
        for text in [
            &b"a  \n-dash\nFrom x\n- -\nb\n"[..],
            b"a\r\nb\r\n",
            b"\n",
            b"x\n\n",
        ] {
            let parts = split(&frame(text, "SHA256", SIG)).unwrap();
            assert_eq!(parts.text, text);
            assert_eq!(parts.signature, SIG);
            assert_eq!(signed_data(&parts.text), signed_data(text));
        }
    }

    #[test]
    fn trailing_whitespace_goes_and_line_endings_stay() {
        assert_eq!(
            without_trailing_whitespace(b"a \t\nb\t\r\n c"),
            b"a\nb\r\n c"
        );
        assert_eq!(without_trailing_whitespace(b""), b"");
    }

    #[test]
    fn split_refuses_what_apt_refuses() {
        let check = |message: &[u8], expect: &str| {
            assert_eq!(split(message).unwrap_err().to_string(), expect);
        };
        check(
            b"junk\n-----BEGIN PGP SIGNED MESSAGE-----\n",
            "malformed cleartext-signed message at line 1: it does not start with `-----BEGIN PGP SIGNED MESSAGE-----`",
        );
        check(
            b"-----BEGIN PGP SIGNED MESSAGE-----\nComment: x\n\na\n",
            "malformed cleartext-signed message at line 2: only `Hash:` armor headers may precede the text",
        );
        check(
            b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n-a\n",
            "malformed cleartext-signed message at line 4: a text line starts with `-` but is not dash-escaped",
        );
        check(
            b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\na\n",
            "malformed cleartext-signed message at line 4: there is no `-----BEGIN PGP SIGNATURE-----` line",
        );
        let mut trailing = frame(b"a\n", "SHA512", SIG);
        trailing.extend_from_slice(b"Origin: evil\n");
        check(
            &trailing,
            "malformed cleartext-signed message at line 9: there is data after `-----END PGP SIGNATURE-----`",
        );
    }
}
