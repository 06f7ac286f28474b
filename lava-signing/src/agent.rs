//! The gpg-agent backend: a minimal Assuan client for `PKSIGN`.
//!
//! `sequoia-gpg-agent` would do this, but it pulls in `sequoia-ipc`, whose build
//! script needs the Cap'n Proto compiler, plus tokio; signing needs four
//! commands, so they are spoken here directly over the agent's Unix socket
//! (protocol: <https://www.gnupg.org/documentation/manuals/assuan/>).
//!
//! The public certificate and the keygrips come from `gpg --export` and
//! `gpg --list-keys --with-keygrip` of the GnuPG home, and the socket from
//! `gpgconf`: these programs are the only processes this crate runs.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::SystemTime;

use sequoia_openpgp::cert::CertParser;
use sequoia_openpgp::crypto::mpi::{self, MPI};
use sequoia_openpgp::packet::Key;
use sequoia_openpgp::packet::key::{PublicParts, UnspecifiedRole};
use sequoia_openpgp::parse::Parse;
use sequoia_openpgp::policy::StandardPolicy;
use sequoia_openpgp::types::HashAlgorithm;
use sequoia_openpgp::{Cert, Fingerprint};

use crate::error::{Error, Result, cause};
use crate::key::{KeySelector, signing_keys};
use crate::passphrase::{Passphrase, PassphraseSource};
use crate::pinentry::PinentrySession;

/// libgpg-error codes (the low 16 bits of an Assuan `ERR` code) we react to.
const GPG_ERR_BAD_PASSPHRASE: u32 = 11;
const GPG_ERR_NO_SECKEY: u32 = 17;
const GPG_ERR_NO_SCDAEMON: u32 = 119;

/// A signing key whose secret lives in gpg-agent.
pub(crate) struct AgentKey {
    /// The certificate's primary fingerprint, for messages.
    fingerprint: Fingerprint,
    public: Key<PublicParts, UnspecifiedRole>,
    keygrip: String,
    socket: PathBuf,
    passphrase: PassphraseSource,
    /// Where the agent's own pinentry appears.
    session: PinentrySession,
    /// A passphrase obtained once is reused, so `Prompt` asks only once per run.
    cached: Mutex<Option<Passphrase>>,
}

/// What [`open`] found: the public certificate, and the key to sign with.
pub(crate) struct Opened {
    pub(crate) cert: Cert,
    pub(crate) key: AgentKey,
}

/// Describes the GnuPG home for messages.
fn location(homedir: Option<&Path>) -> String {
    match homedir {
        Some(h) => format!("GnuPG home {h:?}"),
        None => "the default GnuPG home".to_owned(),
    }
}

/// Finds `wanted` in the GnuPG home and the agent, and picks the signing (sub)key.
pub(crate) fn open(
    homedir: Option<&Path>,
    wanted: &KeySelector,
    passphrase: PassphraseSource,
    session: PinentrySession,
    at: SystemTime,
) -> Result<Opened> {
    let location = location(homedir);
    let exported = run(
        homedir,
        "gpg",
        &["--batch", "--no-tty", "--export", &wanted.to_string()],
    )?;
    let not_found = || Error::KeyNotFound {
        key: wanted.to_string(),
        location: location.clone(),
    };
    if exported.is_empty() {
        return Err(not_found());
    }
    let cert = CertParser::from_bytes(&exported)
        .and_then(|parser| parser.collect::<sequoia_openpgp::Result<Vec<Cert>>>())
        .map_err(|e| Error::ParseKeys {
            what: format!("`gpg --export {wanted}` of {location}"),
            source: cause(e),
        })?
        .into_iter()
        .find(|c| wanted.matches(c))
        .ok_or_else(not_found)?;
    let fingerprint = cert.fingerprint();

    let listing = run(
        homedir,
        "gpg",
        &[
            "--batch",
            "--no-tty",
            "--with-colons",
            "--with-keygrip",
            "--list-keys",
            &fingerprint.to_hex(),
        ],
    )?;
    let keygrips = parse_keygrips(&String::from_utf8_lossy(&listing));

    run(homedir, "gpgconf", &["--launch", "gpg-agent"])?;
    let socket_line = run(homedir, "gpgconf", &["--list-dirs", "agent-socket"])?;
    let socket = PathBuf::from(String::from_utf8_lossy(&socket_line).trim());

    let policy = StandardPolicy::new();
    let candidates = signing_keys(&cert, &policy, at, wanted)?;
    let mut chosen = None;
    for ka in candidates {
        let Some(keygrip) = keygrips.get(&ka.key().fingerprint().to_hex()) else {
            continue;
        };
        let key = AgentKey {
            fingerprint: fingerprint.clone(),
            public: ka.key().clone().role_into_unspecified(),
            keygrip: keygrip.clone(),
            socket: socket.clone(),
            passphrase: passphrase.clone(),
            session: session.clone(),
            cached: Mutex::new(None),
        };
        if key.has_secret()? {
            chosen = Some(key);
            break;
        }
    }
    let key = chosen.ok_or_else(|| Error::AgentNoSecretKey {
        fingerprint: fingerprint.clone(),
        location,
    })?;
    key.check_card()?;
    Ok(Opened { cert, key })
}

/// Runs a GnuPG program for `homedir` and returns its standard output.
fn run(homedir: Option<&Path>, program: &str, args: &[&str]) -> Result<Vec<u8>> {
    let mut command = Command::new(program);
    if let Some(h) = homedir {
        command.arg("--homedir").arg(h);
    }
    command.args(args);
    let output = command.output().map_err(|source| Error::SpawnTool {
        program: program.to_owned(),
        source,
    })?;
    if !output.status.success() {
        return Err(Error::ToolFailed {
            command: format!("{command:?}"),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(output.stdout)
}

/// Maps each key's hex fingerprint to its keygrip, from `gpg --with-colons --with-keygrip`.
///
/// Each `pub`/`sub` record is followed by its `fpr` and then its `grp` record.
fn parse_keygrips(listing: &str) -> HashMap<String, String> {
    let mut grips = HashMap::new();
    let mut current: Option<String> = None;
    for line in listing.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        let value = fields.get(9).copied().unwrap_or_default();
        match fields.first().copied() {
            Some("pub" | "sub" | "sec" | "ssb") => current = None,
            Some("fpr") if current.is_none() => current = Some(value.to_ascii_uppercase()),
            Some("grp") => {
                if let Some(fpr) = current.take() {
                    grips.insert(fpr, value.to_ascii_uppercase());
                }
            }
            _ => {}
        }
    }
    grips
}

impl AgentKey {
    /// The public (sub)key that signs.
    pub(crate) fn public(&self) -> &Key<PublicParts, UnspecifiedRole> {
        &self.public
    }

    fn io_error(&self, source: std::io::Error) -> Error {
        Error::AgentIo {
            fingerprint: self.fingerprint.clone(),
            socket: self.socket.clone(),
            source,
        }
    }

    fn connect(&self) -> Result<Assuan> {
        Assuan::connect(&self.socket).map_err(|e| self.convert(e))
    }

    fn convert(&self, e: AssuanError) -> Error {
        match e {
            AssuanError::Io(source) => self.io_error(source),
            AssuanError::Protocol(detail) => Error::AgentProtocol {
                fingerprint: self.fingerprint.clone(),
                detail,
            },
            AssuanError::Inquiry(error) => error,
        }
    }

    fn refused(&self, command: &str, code: u32, message: String) -> Error {
        match code & 0xffff {
            GPG_ERR_BAD_PASSPHRASE => Error::WrongPassphrase {
                fingerprint: self.fingerprint.clone(),
            },
            _ => Error::AgentRefused {
                fingerprint: self.fingerprint.clone(),
                command: command.to_owned(),
                code,
                message,
            },
        }
    }

    /// Runs a command that needs no inquiry and expects `OK`.
    fn simple(&self, conn: &mut Assuan, command: &str) -> Result<Vec<u8>> {
        let verb = command.split(' ').next().unwrap_or(command);
        match conn
            .transact(command, &mut |_| Ok(Answer::Cancel))
            .map_err(|e| self.convert(e))?
        {
            Reply::Ok { data, .. } => Ok(data),
            Reply::Err { code, message } => Err(self.refused(verb, code, message)),
        }
    }

    /// Whether the agent holds the secret key (or a smartcard stub for it).
    fn has_secret(&self) -> Result<bool> {
        let mut conn = self.connect()?;
        match conn
            .transact(&format!("HAVEKEY {}", self.keygrip), &mut |_| {
                Ok(Answer::Cancel)
            })
            .map_err(|e| self.convert(e))?
        {
            Reply::Ok { .. } => Ok(true),
            Reply::Err { code, .. } if code & 0xffff == GPG_ERR_NO_SECKEY => Ok(false),
            Reply::Err { code, message } => Err(self.refused("HAVEKEY", code, message)),
        }
    }

    /// For a key on a smartcard (`KEYINFO` type `T`), that its card is the one inserted:
    /// otherwise the first signature would wait for it, or fail, mid-release.
    fn check_card(&self) -> Result<()> {
        let mut conn = self.connect()?;
        let Reply::Ok { status, .. } = conn
            .transact(&format!("KEYINFO {}", self.keygrip), &mut |_| {
                Ok(Answer::Cancel)
            })
            .map_err(|e| self.convert(e))?
        else {
            return Ok(());
        };
        // `KEYINFO <keygrip> <type> <serialno> <idstr> ...`
        let Some(serial) = status.iter().find_map(|line| {
            let mut fields = line.split(' ').skip(2);
            match (fields.next(), fields.next()) {
                (Some("T"), Some(serial)) if serial != "-" => Some(serial.to_owned()),
                _ => None,
            }
        }) else {
            return Ok(());
        };
        let inserted = match conn
            .transact("SCD SERIALNO", &mut |_| Ok(Answer::Cancel))
            .map_err(|e| self.convert(e))?
        {
            Reply::Ok { status, .. } => status.iter().find_map(|line| {
                line.strip_prefix("SERIALNO ")
                    .and_then(|rest| rest.split(' ').next())
                    .map(str::to_owned)
            }),
            Reply::Err { code, message } => {
                let why = if code & 0xffff == GPG_ERR_NO_SCDAEMON {
                    "gpg-agent has no scdaemon to reach it; install scdaemon".to_owned()
                } else {
                    message
                };
                return Err(Error::CardNotPresent {
                    fingerprint: self.fingerprint.clone(),
                    serial,
                    why,
                });
            }
        };
        match inserted {
            Some(inserted) if inserted.eq_ignore_ascii_case(&serial) => Ok(()),
            inserted => Err(Error::CardNotPresent {
                fingerprint: self.fingerprint.clone(),
                serial,
                why: format!(
                    "card {} is inserted instead",
                    inserted.as_deref().unwrap_or("without a serial number")
                ),
            }),
        }
    }

    /// Signs `digest` (made with `hash`) with the agent's secret key.
    pub(crate) fn sign(&self, hash: HashAlgorithm, digest: &[u8]) -> Result<mpi::Signature> {
        let mut conn = self.connect()?;
        // Where the agent's pinentry appears, as gpg says it. An agent that does not
        // know an option still signs, so a refusal is not an error.
        for option in self.session.options() {
            conn.transact(&format!("OPTION {option}"), &mut |_| Ok(Answer::Cancel))
                .map_err(|e| self.convert(e))?;
        }
        self.simple(&mut conn, "OPTION allow-pinentry-notify")?;
        // With a passphrase of our own, the agent must ask us (loopback) rather
        // than run its pinentry; without one, its pinentry or cache handles it.
        if !self.passphrase.is_none() {
            self.simple(&mut conn, "OPTION pinentry-mode=loopback")?;
        }
        self.simple(&mut conn, &format!("SIGKEY {}", self.keygrip))?;
        let description = format!(
            "Please enter the passphrase to unlock the OpenPGP secret key {:X} \
             (signing subkey {:X}) for the LAVA release.",
            self.fingerprint,
            self.public.fingerprint()
        );
        self.simple(
            &mut conn,
            &format!("SETKEYDESC {}", plus_escape(&description)),
        )?;
        self.simple(
            &mut conn,
            &format!("SETHASH {} {}", u8::from(hash), hex(digest)),
        )?;

        let mut asked = 0;
        let mut gave_up_on_passphrase = false;
        let reply = conn
            .transact("PKSIGN", &mut |keyword| match keyword {
                "PASSPHRASE" | "NEW_PASSPHRASE" => {
                    asked += 1;
                    // The agent asks again after a wrong passphrase; ours will not
                    // get better, so cancel instead of letting it retry.
                    if asked > 1 {
                        gave_up_on_passphrase = true;
                        return Ok(Answer::Cancel);
                    }
                    Ok(Answer::Data(self.passphrase()?))
                }
                // Sent when the agent starts pinentry; it only wants an END.
                "PINENTRY_LAUNCHED" => Ok(Answer::End),
                _ => Ok(Answer::Cancel),
            })
            .map_err(|e| self.convert(e))?;
        match reply {
            Reply::Ok { data, .. } => {
                let sexp = Sexp::parse(&data).ok_or_else(|| Error::AgentProtocol {
                    fingerprint: self.fingerprint.clone(),
                    detail: "PKSIGN returned no S-expression".to_owned(),
                })?;
                signature_from_sexp(&sexp).ok_or_else(|| Error::AgentProtocol {
                    fingerprint: self.fingerprint.clone(),
                    detail: "PKSIGN returned an S-expression that is not a known sig-val"
                        .to_owned(),
                })
            }
            Reply::Err { code, message } => {
                if gave_up_on_passphrase || code & 0xffff == GPG_ERR_BAD_PASSPHRASE {
                    self.forget_passphrase();
                    return Err(Error::WrongPassphrase {
                        fingerprint: self.fingerprint.clone(),
                    });
                }
                Err(self.refused("PKSIGN", code, message))
            }
        }
    }

    fn passphrase(&self) -> Result<Passphrase> {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = cached.as_ref() {
            return Ok(p.clone());
        }
        let p = self.passphrase.obtain(&self.fingerprint)?.ok_or_else(|| {
            Error::PassphraseRequired {
                fingerprint: self.fingerprint.clone(),
            }
        })?;
        *cached = Some(p.clone());
        Ok(p)
    }

    fn forget_passphrase(&self) {
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Makes an [`AgentKey`] usable as sequoia's `Signer`.
pub(crate) struct AgentSigner<'a>(pub(crate) &'a AgentKey);

impl sequoia_openpgp::crypto::Signer for AgentSigner<'_> {
    fn public(&self) -> &Key<PublicParts, UnspecifiedRole> {
        self.0.public()
    }

    fn sign(
        &mut self,
        hash_algo: HashAlgorithm,
        digest: &[u8],
    ) -> sequoia_openpgp::Result<mpi::Signature> {
        // Our error travels inside sequoia's anyhow::Error and is downcast again
        // by the caller, so a wrong passphrase stays a `WrongPassphrase`.
        self.0.sign(hash_algo, digest).map_err(Into::into)
    }
}

/// How to answer an `INQUIRE`.
enum Answer {
    /// Send the passphrase as data, then `END`.
    Data(Passphrase),
    /// Send just `END`.
    End,
    /// Refuse with `CAN`.
    Cancel,
}

/// The final response to a command: `OK` with the data and status lines that preceded
/// it, or `ERR`.
enum Reply {
    Ok { data: Vec<u8>, status: Vec<String> },
    Err { code: u32, message: String },
}

enum AssuanError {
    Io(std::io::Error),
    Protocol(String),
    Inquiry(Error),
}

impl From<std::io::Error> for AssuanError {
    fn from(e: std::io::Error) -> Self {
        AssuanError::Io(e)
    }
}

/// One Assuan connection to the agent.
struct Assuan {
    stream: BufReader<UnixStream>,
}

impl Assuan {
    fn connect(socket: &Path) -> Result<Assuan, AssuanError> {
        let mut conn = Assuan {
            stream: BufReader::new(UnixStream::connect(socket)?),
        };
        let greeting = conn.read_line()?;
        if !greeting.starts_with(b"OK") {
            return Err(AssuanError::Protocol(format!(
                "the greeting was `{}`",
                String::from_utf8_lossy(&greeting)
            )));
        }
        Ok(conn)
    }

    fn read_line(&mut self) -> Result<Vec<u8>, AssuanError> {
        let mut line = Vec::new();
        let n = self.stream.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Err(AssuanError::Protocol(
                "the agent closed the connection".to_owned(),
            ));
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        Ok(line)
    }

    fn write_line(&mut self, line: &[u8]) -> Result<(), AssuanError> {
        let stream = self.stream.get_mut();
        stream.write_all(line)?;
        stream.write_all(b"\n")?;
        Ok(())
    }

    /// Sends `command` and reads responses up to `OK` or `ERR`, answering inquiries.
    fn transact(
        &mut self,
        command: &str,
        inquire: &mut dyn FnMut(&str) -> Result<Answer>,
    ) -> Result<Reply, AssuanError> {
        self.write_line(command.as_bytes())?;
        let mut data = Vec::new();
        let mut status = Vec::new();
        loop {
            let line = self.read_line()?;
            if line == b"OK" || line.starts_with(b"OK ") {
                return Ok(Reply::Ok { data, status });
            } else if let Some(rest) = line.strip_prefix(b"ERR ") {
                let rest = String::from_utf8_lossy(rest);
                let (code, message) = rest.split_once(' ').unwrap_or((&rest, ""));
                return Ok(Reply::Err {
                    code: code.parse().unwrap_or(0),
                    message: message.to_owned(),
                });
            } else if let Some(d) = line.strip_prefix(b"D ") {
                data.extend(percent_unescape(d));
            } else if let Some(rest) = line.strip_prefix(b"INQUIRE ") {
                let rest = String::from_utf8_lossy(rest);
                let keyword = rest.split(' ').next().unwrap_or_default();
                match inquire(keyword).map_err(AssuanError::Inquiry) {
                    Ok(Answer::Data(passphrase)) => {
                        passphrase.map(|bytes| self.send_data(bytes))?;
                        self.write_line(b"END")?;
                    }
                    Ok(Answer::End) => self.write_line(b"END")?,
                    Ok(Answer::Cancel) => self.write_line(b"CAN")?,
                    Err(e) => {
                        // Leave the agent in a sane state, then report our error.
                        self.write_line(b"CAN")?;
                        return Err(e);
                    }
                }
            } else if let Some(rest) = line.strip_prefix(b"S ") {
                status.push(String::from_utf8_lossy(rest).into_owned());
            }
            // Comment (`#`) lines carry nothing.
        }
    }

    /// Sends `bytes` as `D` lines, escaped and short enough for Assuan's 1000-byte lines.
    fn send_data(&mut self, bytes: &[u8]) -> Result<(), AssuanError> {
        for chunk in bytes.chunks(300) {
            let mut line = b"D ".to_vec();
            for &b in chunk {
                match b {
                    b'%' | b'\r' | b'\n' => line.extend(format!("%{b:02X}").bytes()),
                    _ => line.push(b),
                }
            }
            self.write_line(&line)?;
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn percent_unescape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let digits = bytes
                .get(i + 1..i + 3)
                .and_then(|d| std::str::from_utf8(d).ok());
            if let Some(b) = digits.and_then(|d| u8::from_str_radix(d, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Escapes a string for an Assuan argument that the agent decodes with
/// plus-and-percent unescaping (as `SETKEYDESC` does).
fn plus_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b' ' => out.push('+'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b',' | b'(' | b')' | b'-' | b'_' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A canonical S-expression, as the agent returns signatures.
#[derive(Debug, PartialEq, Eq)]
enum Sexp {
    Atom(Vec<u8>),
    List(Vec<Sexp>),
}

impl Sexp {
    fn parse(input: &[u8]) -> Option<Sexp> {
        let (sexp, rest) = Self::parse_at(input)?;
        rest.iter()
            .all(|b| b.is_ascii_whitespace() || *b == 0)
            .then_some(sexp)
    }

    fn parse_at(input: &[u8]) -> Option<(Sexp, &[u8])> {
        match input.first()? {
            b'(' => {
                let mut items = Vec::new();
                let mut rest = &input[1..];
                loop {
                    if let Some(r) = rest.strip_prefix(b")") {
                        return Some((Sexp::List(items), r));
                    }
                    let (item, r) = Self::parse_at(rest)?;
                    items.push(item);
                    rest = r;
                }
            }
            b'0'..=b'9' => {
                let colon = input.iter().position(|&b| b == b':')?;
                let len: usize = std::str::from_utf8(&input[..colon]).ok()?.parse().ok()?;
                let start = colon + 1;
                let end = start.checked_add(len)?;
                let atom = input.get(start..end)?;
                Some((Sexp::Atom(atom.to_vec()), &input[end..]))
            }
            _ => None,
        }
    }

    fn atom(&self) -> Option<&[u8]> {
        match self {
            Sexp::Atom(a) => Some(a),
            Sexp::List(_) => None,
        }
    }

    /// For a list `(name ...)`, its name.
    fn name(&self) -> Option<&[u8]> {
        match self {
            Sexp::List(items) => items.first()?.atom(),
            Sexp::Atom(_) => None,
        }
    }

    /// For a list, the value of its sub-list `(key value)`.
    fn value(&self, key: &[u8]) -> Option<&[u8]> {
        match self {
            Sexp::List(items) => {
                items
                    .iter()
                    .find(|i| i.name() == Some(key))
                    .and_then(|i| match i {
                        Sexp::List(kv) => kv.get(1)?.atom(),
                        Sexp::Atom(_) => None,
                    })
            }
            Sexp::Atom(_) => None,
        }
    }
}

/// Converts `(sig-val (ALGO (r R) (s S)))` to sequoia's signature MPIs.
fn signature_from_sexp(sexp: &Sexp) -> Option<mpi::Signature> {
    if sexp.name() != Some(b"sig-val") {
        return None;
    }
    let Sexp::List(items) = sexp else {
        return None;
    };
    // Skip optional `(flags ...)` or `(hash ...)` lists; the first known algorithm wins.
    items.iter().skip(1).find_map(|alg| {
        let r = || alg.value(b"r").map(MPI::new);
        let s = || alg.value(b"s").map(MPI::new);
        match alg.name()? {
            b"rsa" => Some(mpi::Signature::RSA { s: s()? }),
            b"dsa" => Some(mpi::Signature::DSA { r: r()?, s: s()? }),
            b"ecdsa" => Some(mpi::Signature::ECDSA { r: r()?, s: s()? }),
            b"eddsa" => Some(mpi::Signature::EdDSA { r: r()?, s: s()? }),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_eddsa_sig_val() {
        let mut input = b"(7:sig-val(5:eddsa(1:r4:".to_vec();
        input.extend_from_slice(&[0, 1, 2, 3]);
        input.extend_from_slice(b")(1:s2:");
        input.extend_from_slice(&[9, 8]);
        input.extend_from_slice(b")))");
        let sig = signature_from_sexp(&Sexp::parse(&input).unwrap()).unwrap();
        assert_eq!(
            sig,
            mpi::Signature::EdDSA {
                r: MPI::new(&[1, 2, 3]),
                s: MPI::new(&[9, 8])
            }
        );
    }

    #[test]
    fn parses_rsa_sig_val_and_skips_flags() {
        let sexp = Sexp::parse(b"(7:sig-val(5:flags)(3:rsa(1:s3:abc)))").unwrap();
        assert_eq!(
            signature_from_sexp(&sexp),
            Some(mpi::Signature::RSA {
                s: MPI::new(b"abc")
            })
        );
    }

    #[test]
    fn refuses_truncated_and_foreign_sexps() {
        assert_eq!(Sexp::parse(b"(7:sig-val(5:eddsa(1:r9:abc"), None);
        let other = Sexp::parse(b"(7:enc-val(3:rsa(1:a1:x)))").unwrap();
        assert_eq!(signature_from_sexp(&other), None);
    }

    #[test]
    fn keygrips_follow_their_fingerprints() {
        let listing = "\
tru::1:1700000000:0:3:1:5
pub:u:255:22:A791358F2E49B100:1700000000:::u:::scSC::::::23::0:
fpr:::::::::C87D63FD935535CFB0CAF5C2A791358F2E49B100:
grp:::::::::1111111111111111111111111111111111111111:
uid:u::::1700000000::HASH::LAVA <release@lava.invalid>::::::::::0:
sub:u:255:22:0123456789ABCDEF:1700000000::::::s::::::23:
fpr:::::::::ffffffffffffffffffffffff0123456789abcdef:
grp:::::::::2222222222222222222222222222222222222222:
";
        let grips = parse_keygrips(listing);
        assert_eq!(
            grips["C87D63FD935535CFB0CAF5C2A791358F2E49B100"],
            "1111111111111111111111111111111111111111"
        );
        assert_eq!(
            grips["FFFFFFFFFFFFFFFFFFFFFFFF0123456789ABCDEF"],
            "2222222222222222222222222222222222222222"
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(plus_escape("Key A1 (x):\n%"), "Key+A1+(x)%3A%0A%25");
        assert_eq!(percent_unescape(b"a%25b%0A%"), b"a%b\n%");
    }
}
