//! An SMTP sink on a 127.0.0.1 port: the announcement list's server for the tests and
//! the rehearsal. It speaks EHLO, STARTTLS (or TLS from the first byte) with a
//! self-signed certificate made by `openssl` for the sink, AUTH PLAIN and LOGIN against
//! one user and password, MAIL, RCPT, DATA, RSET, NOOP and QUIT, and records every
//! message it accepts (envelope and raw data, dot-stuffing undone). Faults make it answer
//! the data with 451 or drop the connection after reading it. It stops when dropped.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use base64::Engine as _;

/// How the sink protects its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Offers STARTTLS and refuses AUTH and MAIL before it.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// Plain text only.
    None,
}

/// A fault for the next message's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer the data with `451 4.3.0` and keep nothing.
    TempFail,
    /// Keep the message, then drop the connection before answering: the message
    /// arrived but its sender cannot know.
    DropAfterData,
}

/// A message the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// `MAIL FROM` address.
    pub mail_from: String,
    /// `RCPT TO` addresses.
    pub rcpt_to: Vec<String>,
    /// The data, CRLF line endings, dot-stuffing undone, without the final `.` line.
    pub data: Vec<u8>,
    /// Whether it came over TLS.
    pub tls: bool,
    /// The user that logged in, if any.
    pub user: Option<String>,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    faults: Mutex<VecDeque<Fault>>,
    failed_logins: Mutex<Vec<String>>,
}

/// The running sink; dropping it stops it.
pub struct SmtpSink {
    dir: tempfile::TempDir,
    port: u16,
    security: Security,
    user: String,
    password: String,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SmtpSink {
    /// Starts a sink that requires `user` and `password` over `security`.
    pub fn start(security: Security, user: &str, password: &str) -> anyhow::Result<SmtpSink> {
        let dir = tempfile::Builder::new().prefix("lava-smtp-").tempdir()?;
        let acceptor = match security {
            Security::None => None,
            Security::StartTls | Security::Tls => Some(Arc::new(tls_acceptor(dir.path())?)),
        };
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let session = Session {
            security,
            user: user.to_owned(),
            password: password.to_owned(),
            shared: Arc::clone(&shared),
            acceptor,
        };
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let session = session.clone();
                std::thread::spawn(move || {
                    // A broken connection ends that session only.
                    let _ = session.serve(stream);
                });
            }
        });
        Ok(SmtpSink {
            dir,
            port,
            security,
            user: user.to_owned(),
            password: password.to_owned(),
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// `smtp://127.0.0.1:PORT`, or `smtps://` for [`Security::Tls`].
    pub fn url(&self) -> String {
        let scheme = match self.security {
            Security::Tls => "smtps",
            Security::StartTls | Security::None => "smtp",
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The sink's self-signed certificate (PEM), for a client to trust.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The user the sink accepts.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Messages accepted so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }

    /// Users whose login was refused, in order.
    pub fn failed_logins(&self) -> Vec<String> {
        lock(&self.shared.failed_logins).clone()
    }

    /// Applies `fault` to the next message's data.
    pub fn fail_next(&self, fault: Fault) {
        lock(&self.shared.faults).push_back(fault);
    }

    /// An `[announce]` section sending to this sink as its user, with the password in
    /// `password_file` (written here), the sink's certificate trusted, and the
    /// release key's PGP/MIME signature when `sign`.
    pub fn announce_section(&self, password_file: &Path, sign: bool) -> anyhow::Result<String> {
        std::fs::write(password_file, format!("{}\n", self.password))
            .with_context(|| format!("cannot write {}", password_file.display()))?;
        let tls = match self.security {
            Security::StartTls => "starttls",
            Security::Tls => "tls",
            Security::None => "none",
        };
        Ok(format!(
            "[announce]\nsmtp = {url:?}\ntls = \"{tls}\"\nusername = {user:?}\npassword_file = {pw:?}\nca_file = {ca:?}\nsign = {sign}\ntimeout_secs = 10",
            url = self.url(),
            user = self.user,
            pw = password_file.display().to_string(),
            ca = self.ca_file().display().to_string(),
        ))
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A self-signed certificate for 127.0.0.1 and localhost, made with `openssl`.
fn tls_acceptor(dir: &Path) -> anyhow::Result<native_tls::TlsAcceptor> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=lava-release SMTP sink"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .context("cannot run openssl; install it with `apt-get install openssl`")?;
    ensure!(
        out.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let identity = native_tls::Identity::from_pkcs8(&std::fs::read(&cert)?, &std::fs::read(&key)?)
        .context("the sink's certificate and key do not load")?;
    Ok(native_tls::TlsAcceptor::new(identity)?)
}

#[derive(Clone)]
struct Session {
    security: Security,
    user: String,
    password: String,
    shared: Arc<Shared>,
    acceptor: Option<Arc<native_tls::TlsAcceptor>>,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<native_tls::TlsStream<TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// One connection: the stream and the bytes read but not yet consumed.
struct Conn {
    stream: Stream,
    buf: Vec<u8>,
}

impl Conn {
    /// The next line without its line ending; `None` at end of stream.
    fn line(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=i).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(line));
            }
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn reply(&mut self, text: &str) -> anyhow::Result<()> {
        self.stream.write_all(text.as_bytes())?;
        self.stream.write_all(b"\r\n")?;
        self.stream.flush()?;
        Ok(())
    }
}

impl Session {
    fn serve(&self, tcp: TcpStream) -> anyhow::Result<()> {
        tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut tls = false;
        let stream = match (self.security, &self.acceptor) {
            (Security::Tls, Some(acceptor)) => {
                tls = true;
                Stream::Tls(Box::new(acceptor.accept(tcp)?))
            }
            _ => Stream::Plain(tcp),
        };
        let mut conn = Conn {
            stream,
            buf: Vec::new(),
        };
        conn.reply("220 127.0.0.1 ESMTP lava-release sink")?;
        let mut user: Option<String> = None;
        let mut mail_from: Option<String> = None;
        let mut rcpt_to: Vec<String> = Vec::new();
        while let Some(line) = conn.line()? {
            let line = String::from_utf8_lossy(&line).into_owned();
            let (verb, arg) = match line.split_once(' ') {
                Some((verb, arg)) => (verb.to_ascii_uppercase(), arg.trim().to_owned()),
                None => (line.to_ascii_uppercase(), String::new()),
            };
            let needs_tls = self.security == Security::StartTls && !tls;
            match verb.as_str() {
                "EHLO" => {
                    let mut lines = vec!["127.0.0.1 greets you".to_owned()];
                    if needs_tls {
                        lines.push("STARTTLS".into());
                    } else {
                        lines.push("AUTH PLAIN LOGIN".into());
                    }
                    lines.push("8BITMIME".into());
                    let last = lines.len() - 1;
                    for (i, l) in lines.iter().enumerate() {
                        let sep = if i == last { ' ' } else { '-' };
                        conn.reply(&format!("250{sep}{l}"))?;
                    }
                }
                "HELO" => conn.reply("250 127.0.0.1")?,
                "STARTTLS" if needs_tls => {
                    conn.reply("220 2.0.0 Ready to start TLS")?;
                    let Stream::Plain(tcp) = conn.stream else {
                        bail!("STARTTLS on a TLS stream")
                    };
                    let acceptor = self.acceptor.as_ref().context("no TLS acceptor")?;
                    conn = Conn {
                        stream: Stream::Tls(Box::new(acceptor.accept(tcp)?)),
                        buf: Vec::new(),
                    };
                    tls = true;
                    (user, mail_from, rcpt_to) = (None, None, Vec::new());
                }
                "STARTTLS" => conn.reply("503 5.5.1 TLS already active or not offered")?,
                "AUTH" if needs_tls => {
                    conn.reply("530 5.7.0 Must issue a STARTTLS command first")?
                }
                "AUTH" => {
                    let (name, password) = self.auth(&mut conn, &arg)?;
                    if name == self.user && password == self.password {
                        user = Some(name);
                        conn.reply("235 2.7.0 Authentication successful")?;
                    } else {
                        lock(&self.shared.failed_logins).push(name);
                        conn.reply("535 5.7.8 Authentication credentials invalid")?;
                    }
                }
                "MAIL" if needs_tls => {
                    conn.reply("530 5.7.0 Must issue a STARTTLS command first")?
                }
                "MAIL" if user.is_none() => conn.reply("530 5.7.0 Authentication required")?,
                "MAIL" => {
                    mail_from = Some(address(&arg));
                    rcpt_to.clear();
                    conn.reply("250 2.1.0 Ok")?;
                }
                "RCPT" if mail_from.is_none() => conn.reply("503 5.5.1 MAIL first")?,
                "RCPT" => {
                    rcpt_to.push(address(&arg));
                    conn.reply("250 2.1.5 Ok")?;
                }
                "DATA" if rcpt_to.is_empty() => conn.reply("503 5.5.1 RCPT first")?,
                "DATA" => {
                    conn.reply("354 End data with <CR><LF>.<CR><LF>")?;
                    let mut data = Vec::new();
                    loop {
                        let Some(line) = conn.line()? else {
                            return Ok(());
                        };
                        if line == b"." {
                            break;
                        }
                        let line = line.strip_prefix(b".").unwrap_or(&line);
                        data.extend_from_slice(line);
                        data.extend_from_slice(b"\r\n");
                    }
                    let received = Received {
                        mail_from: mail_from.take().unwrap_or_default(),
                        rcpt_to: std::mem::take(&mut rcpt_to),
                        data,
                        tls,
                        user: user.clone(),
                    };
                    let fault = lock(&self.shared.faults).pop_front();
                    match fault {
                        Some(Fault::TempFail) => {
                            conn.reply("451 4.3.0 Temporary failure, try again later")?
                        }
                        Some(Fault::DropAfterData) => {
                            lock(&self.shared.received).push(received);
                            if let Stream::Plain(tcp) = &conn.stream {
                                let _ = tcp.shutdown(Shutdown::Both);
                            } else if let Stream::Tls(s) = &conn.stream {
                                let _ = s.get_ref().shutdown(Shutdown::Both);
                            }
                            return Ok(());
                        }
                        None => {
                            let n = {
                                let mut all = lock(&self.shared.received);
                                all.push(received);
                                all.len()
                            };
                            conn.reply(&format!("250 2.0.0 Ok: queued as SINK{n}"))?;
                        }
                    }
                }
                "RSET" => {
                    (mail_from, rcpt_to) = (None, Vec::new());
                    conn.reply("250 2.0.0 Ok")?;
                }
                "NOOP" => conn.reply("250 2.0.0 Ok")?,
                "QUIT" => {
                    conn.reply("221 2.0.0 Bye")?;
                    return Ok(());
                }
                _ => conn.reply("502 5.5.2 Command not recognized")?,
            }
        }
        Ok(())
    }

    /// Reads an AUTH exchange; returns the user and password given.
    fn auth(&self, conn: &mut Conn, arg: &str) -> anyhow::Result<(String, String)> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let decode = |s: &str| {
            String::from_utf8_lossy(&b64.decode(s.trim()).unwrap_or_default()).into_owned()
        };
        let ask = |conn: &mut Conn, prompt: &str| -> anyhow::Result<String> {
            conn.reply(&format!("334 {prompt}"))?;
            let line = conn.line()?.context("the client left during AUTH")?;
            Ok(decode(&String::from_utf8_lossy(&line)))
        };
        let (mechanism, initial) = match arg.split_once(' ') {
            Some((m, initial)) => (m.to_ascii_uppercase(), Some(initial.to_owned())),
            None => (arg.to_ascii_uppercase(), None),
        };
        Ok(match mechanism.as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some(initial) => decode(&initial),
                    None => ask(conn, "")?,
                };
                let mut fields = response.split('\0').skip(1);
                (
                    fields.next().unwrap_or_default().to_owned(),
                    fields.next().unwrap_or_default().to_owned(),
                )
            }
            "LOGIN" => {
                let name = match initial {
                    Some(initial) => decode(&initial),
                    None => ask(conn, "VXNlcm5hbWU6")?,
                };
                let password = ask(conn, "UGFzc3dvcmQ6")?;
                (name, password)
            }
            _ => (String::new(), String::new()),
        })
    }
}

/// The address in `FROM:<a@b> SIZE=1` or `TO:<a@b>`.
fn address(arg: &str) -> String {
    match (arg.find('<'), arg.find('>')) {
        (Some(open), Some(close)) if open < close => arg[open + 1..close].to_owned(),
        _ => arg
            .split_once(':')
            .map_or(arg, |(_, a)| a.trim())
            .to_owned(),
    }
}

impl Received {
    /// The raw data as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The first header field `name` of the message, unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        header_in(&self.text(), name)
    }

    /// The text body, its transfer encoding undone: the message's own, or the first
    /// part of a `multipart/signed` message.
    pub fn body(&self) -> anyhow::Result<String> {
        let text = self.text();
        let entity = match self.signed_parts()? {
            Some((signed, _)) => String::from_utf8_lossy(&signed).into_owned(),
            None => text,
        };
        let (head, body) = entity
            .split_once("\r\n\r\n")
            .context("the entity has no body")?;
        let qp = header_in(head, "Content-Transfer-Encoding")
            .is_some_and(|e| e.eq_ignore_ascii_case("quoted-printable"));
        let bytes = if qp {
            quoted_printable::decode(body, quoted_printable::ParseMode::Robust)?
        } else {
            body.as_bytes().to_vec()
        };
        Ok(String::from_utf8(bytes)?.replace("\r\n", "\n"))
    }

    /// For a PGP/MIME message (RFC 3156): the signed first part exactly as it appears
    /// between the boundaries, and the armored signature. `None` if not signed.
    pub fn signed_parts(&self) -> anyhow::Result<Option<(Vec<u8>, Vec<u8>)>> {
        let text = self.text();
        let (head, body) = text.split_once("\r\n\r\n").context("no body")?;
        let content_type = header_in(head, "Content-Type").unwrap_or_default();
        if !content_type.starts_with("multipart/signed") {
            return Ok(None);
        }
        ensure!(
            content_type.contains("protocol=\"application/pgp-signature\""),
            "not PGP/MIME: {content_type}"
        );
        let boundary = content_type
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("boundary="))
            .next()
            .context("multipart without a boundary")?
            .trim_matches('"');
        // RFC 2046: a delimiter is CRLF, `--`, the boundary; the CRLF belongs to it.
        let body = format!("\r\n{body}");
        let delimiter = format!("\r\n--{boundary}");
        let parts: Vec<&str> = body.split(&delimiter).collect();
        ensure!(
            parts.len() == 4,
            "expected two parts, found {}",
            parts.len() - 2
        );
        let first = parts[1]
            .strip_prefix("\r\n")
            .context("bad delimiter line")?;
        let second = parts[2]
            .strip_prefix("\r\n")
            .context("bad delimiter line")?;
        let (sig_head, signature) = second.split_once("\r\n\r\n").context("no signature")?;
        ensure!(
            header_in(sig_head, "Content-Type")
                .is_some_and(|t| t.starts_with("application/pgp-signature")),
            "the second part is not application/pgp-signature"
        );
        Ok(Some((
            first.as_bytes().to_vec(),
            signature.as_bytes().to_vec(),
        )))
    }

    /// Verifies the PGP/MIME signature with `gpg --verify`, GnuPG holding only the
    /// certificate in `public_key`; returns the fingerprint of the key that signed.
    pub fn gpg_verify(&self, public_key: &Path) -> anyhow::Result<String> {
        let (signed, signature) = self
            .signed_parts()?
            .context("the message is not PGP/MIME-signed")?;
        let home = tempfile::Builder::new()
            .prefix("lr-gpg")
            .tempdir_in("/tmp")?;
        let result = (|| -> anyhow::Result<String> {
            let (data, sig) = (home.path().join("part"), home.path().join("part.asc"));
            std::fs::write(&data, &signed)?;
            std::fs::write(&sig, &signature)?;
            let mut import = Command::new("gpg");
            import
                .arg("--homedir")
                .arg(home.path())
                .args(["--batch", "--quiet", "--import"])
                .arg(public_key);
            crate::sandbox::run(import, None)?;
            let verified = Command::new("gpg")
                .arg("--homedir")
                .arg(home.path())
                .args(["--batch", "--status-fd", "1", "--verify"])
                .arg(&sig)
                .arg(&data)
                .output()?;
            let status = String::from_utf8_lossy(&verified.stdout).into_owned();
            let valid = status
                .lines()
                .find_map(|l| l.strip_prefix("[GNUPG:] VALIDSIG "))
                .and_then(|rest| rest.split_whitespace().last())
                .map(str::to_owned);
            match valid {
                Some(fpr) if verified.status.success() => Ok(fpr),
                _ => bail!(
                    "gpg --verify failed: {}{}",
                    status.trim(),
                    String::from_utf8_lossy(&verified.stderr).trim()
                ),
            }
        })();
        crate::rehearsal::stop_agent(home.path());
        result
    }
}

fn header_in(head: &str, name: &str) -> Option<String> {
    let mut found: Option<String> = None;
    for line in head.split("\r\n") {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(value) = found.as_mut() {
                value.push_str(line);
            }
            continue;
        }
        if found.is_some() {
            break;
        }
        if let Some((key, value)) = line.split_once(':') {
            if key.eq_ignore_ascii_case(name) {
                found = Some(value.trim().to_owned());
            }
        }
    }
    found
}
