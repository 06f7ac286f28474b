//! Sending a composed [`Email`] to an SMTP server, byte for byte.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::SmtpTransport;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, Transport as _};

use crate::error::{Error, Result};
use crate::message::Email;

/// How the connection to the server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS, which the server must offer.
    StartTls,
    /// TLS from the first byte (`smtps://`, port 465).
    Tls,
    /// No TLS at all: only for a relay on the same host; no password is sent.
    None,
}

/// The SMTP password; its `Debug` is `<redacted>`.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Wraps the password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An SMTP server and how to talk to it.
#[derive(Debug, Clone)]
pub struct Smtp {
    url: String,
    host: String,
    port: u16,
    tls: TlsMode,
    credentials: Option<(String, Password)>,
    ca_file: Option<PathBuf>,
    timeout: Duration,
}

/// What the server said when it accepted a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The server, as `smtp://HOST:PORT`.
    pub server: String,
    /// The server's reply to the message (e.g. `250 2.0.0 Ok: queued as 4F2A1`).
    pub reply: String,
}

impl Smtp {
    /// The server at `url`, `smtp://HOST[:PORT]` (port 587, STARTTLS) or
    /// `smtps://HOST[:PORT]` (port 465, TLS); `tls` overrides the scheme's protection.
    /// The URL carries no user or password: see [`Smtp::credentials`].
    pub fn new(url: &str, tls: Option<TlsMode>) -> Result<Smtp> {
        let invalid = |reason| Error::ServerUrl {
            url: redact(url),
            reason,
        };
        let parsed = url::Url::parse(url).map_err(|_| invalid("not a URL"))?;
        let (default_tls, default_port) = match parsed.scheme() {
            "smtp" => (TlsMode::StartTls, 587),
            "smtps" => (TlsMode::Tls, 465),
            _ => return Err(invalid("the scheme is neither smtp nor smtps")),
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid(
                "a user or password belongs in the credentials, not in the URL",
            ));
        }
        if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() {
            return Err(invalid("a server URL has no path or query"));
        }
        let host = match parsed.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => return Err(invalid("no host")),
        };
        let port = parsed.port().unwrap_or(default_port);
        let shown_host = parsed.host_str().unwrap_or(&host);
        Ok(Smtp {
            url: format!("{}://{shown_host}:{port}", parsed.scheme()),
            host,
            port,
            tls: tls.unwrap_or(default_tls),
            credentials: None,
            ca_file: None,
            timeout: Duration::from_secs(60),
        })
    }

    /// Logs in as `username` with `password` (AUTH PLAIN or LOGIN, over TLS only).
    pub fn credentials(mut self, username: impl Into<String>, password: Password) -> Self {
        self.credentials = Some((username.into(), password));
        self
    }

    /// Also trusts the PEM certificate in `path` (a private CA, or a test server's
    /// self-signed certificate), besides the system's.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Gives up on a silent server after `timeout` (default one minute).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The server as `smtp://HOST:PORT` or `smtps://HOST:PORT`, for messages.
    pub fn server(&self) -> &str {
        &self.url
    }

    /// The protection in use.
    pub fn tls(&self) -> TlsMode {
        self.tls
    }

    /// Opens a session and closes it, sending nothing: the connection, TLS, EHLO and
    /// the login succeed (how a release checks its mail before the first irreversible
    /// step).
    pub fn check(&self) -> Result<()> {
        let transport = self.transport()?;
        match transport.test_connection() {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::Connect {
                server: self.url.clone(),
                source: None,
            }),
            Err(source) => {
                let code = source.status().map(u16::from);
                Err(match (&self.credentials, code) {
                    (Some((username, _)), Some(535 | 534)) => Error::Auth {
                        server: self.url.clone(),
                        username: username.clone(),
                        source,
                    },
                    _ if source.is_tls() => Error::Handshake {
                        server: self.url.clone(),
                        source,
                    },
                    _ => Error::Connect {
                        server: self.url.clone(),
                        source: Some(source),
                    },
                })
            }
        }
    }

    /// Sends `email` as it is: its bytes, to its envelope's recipients. `Ok` means the
    /// server accepted the message (a 2xx reply to the data).
    pub fn send(&self, email: &Email) -> Result<Receipt> {
        let transport = self.transport()?;
        let address = |text: &str, what| {
            text.parse::<Address>().map_err(|source| Error::Address {
                what,
                address: text.to_owned(),
                source,
            })
        };
        let recipients = email
            .recipients()
            .iter()
            .map(|r| address(r, "recipient"))
            .collect::<Result<Vec<_>>>()?;
        let envelope = Envelope::new(Some(address(email.sender(), "sender")?), recipients)
            .map_err(|source| Error::Envelope {
                message_id: email.message_id().to_owned(),
                source,
            })?;
        // lettre ends the data with CRLF `.` CRLF whatever the message ends with; without
        // the message's own final CRLF the server receives exactly the written bytes.
        let bytes = email.as_bytes();
        let bytes = bytes.strip_suffix(b"\r\n").unwrap_or(bytes);
        match transport.send_raw(&envelope, bytes) {
            Ok(reply) => Ok(Receipt {
                server: self.url.clone(),
                reply: format!(
                    "{} {}",
                    reply.code(),
                    reply.message().collect::<Vec<_>>().join(" ")
                )
                .trim_end()
                .to_owned(),
            }),
            Err(source) => Err(self.classify(email, source)),
        }
    }

    fn transport(&self) -> Result<SmtpTransport> {
        let tls = match self.tls {
            TlsMode::StartTls => Tls::Required(self.tls_parameters()?),
            TlsMode::Tls => Tls::Wrapper(self.tls_parameters()?),
            TlsMode::None => Tls::None,
        };
        let mut builder = SmtpTransport::builder_dangerous(&self.host)
            .port(self.port)
            .tls(tls)
            .timeout(Some(self.timeout));
        if let Some((username, password)) = &self.credentials {
            if self.tls == TlsMode::None {
                return Err(Error::PlainAuth {
                    server: self.url.clone(),
                    username: username.clone(),
                });
            }
            builder = builder
                .credentials(Credentials::new(username.clone(), password.0.clone()))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        Ok(builder.build())
    }

    fn tls_parameters(&self) -> Result<TlsParameters> {
        let mut builder = TlsParameters::builder(self.host.clone());
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path).map_err(|source| Error::ReadCa {
                path: path.clone(),
                source,
            })?;
            let certificate = Certificate::from_pem(&pem).map_err(|source| Error::Ca {
                path: path.clone(),
                source,
            })?;
            builder = builder.add_root_certificate(certificate);
        }
        builder.build_native().map_err(|source| Error::Tls {
            server: self.url.clone(),
            source,
        })
    }

    fn classify(&self, email: &Email, source: lettre::transport::smtp::Error) -> Error {
        let server = self.url.clone();
        let code = source.status().map(u16::from);
        match (&self.credentials, code) {
            // 535: credentials invalid; 534: mechanism too weak (RFC 4954).
            (Some((username, _)), Some(535 | 534)) => Error::Auth {
                server,
                username: username.clone(),
                source,
            },
            _ if source.is_tls() => Error::Handshake { server, source },
            (_, Some(_)) => Error::Rejected {
                server,
                message_id: email.message_id().to_owned(),
                source,
            },
            _ => Error::Send {
                server,
                message_id: email.message_id().to_owned(),
                source,
            },
        }
    }
}

/// `url` with any user information removed, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            // Neither call fails on a URL that has a host, which one with a user has.
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => match url.rsplit_once('@') {
            Some((_, host)) => format!("…@{host}"),
            None => url.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_gives_host_port_and_protection() {
        let s = Smtp::new("smtp://mail.example.org", None).unwrap();
        assert_eq!(
            (s.server(), s.tls()),
            ("smtp://mail.example.org:587", TlsMode::StartTls)
        );
        let s = Smtp::new("smtps://127.0.0.1:2465/", None).unwrap();
        assert_eq!(
            (s.server(), s.tls()),
            ("smtps://127.0.0.1:2465", TlsMode::Tls)
        );
        let s = Smtp::new("smtp://[::1]:25", Some(TlsMode::None)).unwrap();
        assert_eq!((s.server(), s.host.as_str()), ("smtp://[::1]:25", "::1"));
    }

    #[test]
    fn bad_urls_are_named_without_the_password() {
        let err = Smtp::new("smtp://rm:hunter2@mail.example.org", None).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("not in the URL"), "{text}");
        let err = Smtp::new("http://mail.example.org", None).unwrap_err();
        assert!(err.to_string().contains("neither smtp nor smtps"), "{err}");
    }

    #[test]
    fn a_bad_ca_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let smtp = Smtp::new("smtp://127.0.0.1:25", None).unwrap();
        let err = smtp.clone().ca_file(&missing).transport().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot read the CA certificate file {missing:?}")
        );
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate\n").unwrap();
        let err = smtp.ca_file(&garbage).transport().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("the CA certificate file {garbage:?} holds no PEM certificate")
        );
    }

    #[test]
    fn no_password_without_tls() {
        let smtp = Smtp::new("smtp://127.0.0.1:25", Some(TlsMode::None))
            .unwrap()
            .credentials("rm", Password::new("hunter2"));
        let err = smtp.transport().unwrap_err();
        assert_eq!(
            err.to_string(),
            "refusing to send the password for `rm` to smtp://127.0.0.1:25 without TLS; use STARTTLS or TLS"
        );
        assert!(!format!("{smtp:?}").contains("hunter2"));
    }
}
