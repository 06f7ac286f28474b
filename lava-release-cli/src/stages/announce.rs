//! Stage `announce`: the release mail to the announcement list, through `lava-announce`.
//!
//! A mail cannot be taken back, and a list that receives it twice shows it twice, so the
//! stage keeps its progress beside the journal in `.git/lava-release/`: the composed
//! message is written to `VERSION-announce.eml` (atomically) before it is sent, and
//! `VERSION-announce.json` records it as sent once the server has accepted it. A run
//! interrupted in between finds the prepared message and sends that same file, with the
//! same Message-ID, so list software that drops duplicate Message-IDs (Mailman does)
//! keeps a single copy even if the first attempt did arrive.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use lava_announce::{Announcement, Email, Password, Smtp, TlsMode};
use time::format_description::well_known::Rfc3339;

use crate::config::{Config, SmtpTls};
use crate::error::UsageError;
use crate::notes::ReleaseContent;
use crate::shared::announce::{Sent, State};
use crate::step::{Absent, Context, Credential, Need, Status, Step};
use crate::version::Release;

/// Inputs of the `announce` stage.
#[derive(Debug, Clone)]
pub struct Announce {
    /// The version announced.
    pub version: String,
    /// The list.
    pub to: String,
    /// The SMTP server URL.
    pub smtp: String,
    /// Whether the mail is PGP/MIME-signed with the release key.
    pub sign: bool,
}

/// How far the stage got.
enum Progress {
    Sent(State, Sent),
    /// Composed and written, not known to be sent.
    Prepared(Email),
    NotStarted,
}

impl Step for Announce {
    /// Planned when `[announce]` is enabled and names an SMTP server.
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        let announce = &config.announce;
        if !announce.enabled {
            return Err(Absent::new("announce", "announce.enabled is false"));
        }
        let smtp = announce
            .smtp
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Absent::new("announce", "announce.smtp is not set"))?;
        Ok(Self {
            version: release.version.to_string(),
            to: announce.to.clone(),
            smtp: smtp.to_owned(),
            sign: announce.sign,
        })
    }

    fn name(&self) -> &'static str {
        "announce"
    }

    fn irreversible(&self) -> bool {
        true
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    fn credentials(&self) -> Vec<Credential> {
        if self.sign {
            vec![Credential::ReleaseKey]
        } else {
            Vec::new()
        }
    }

    fn describe(&self) -> String {
        let signed = if self.sign {
            ", signed (PGP/MIME) with the release key"
        } else {
            ""
        };
        format!(
            "mail the announcement of {} to {} through {}{signed}",
            self.version, self.to, self.smtp
        )
    }

    /// Read-only: done when the state file records the message as sent.
    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        Ok(match self.progress(ctx)? {
            Progress::Sent(state, sent) => Status::Done {
                evidence: self.evidence(&state.message_id, &sent),
            },
            Progress::Prepared(email) => Status::ToDo {
                detail: Some(format!(
                    "message {} in {} was prepared by an interrupted run and is not known to be sent; the run sends that same message again (its Message-ID lets the list drop a duplicate)",
                    email.message_id(),
                    self.path(ctx, ".eml").display()
                )),
            },
            Progress::NotStarted => Status::todo(),
        })
    }

    /// Composes and writes the message (or takes the one an interrupted run wrote),
    /// sends it, and records it as sent.
    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let smtp = smtp(ctx)?;
        let (email, again) = match self.progress(ctx)? {
            Progress::Sent(state, sent) => return Ok(self.evidence(&state.message_id, &sent)),
            Progress::Prepared(email) => (email, true),
            Progress::NotStarted => {
                let email = compose(ctx)?;
                email.write(&self.path(ctx, ".eml"))?;
                self.save(
                    ctx,
                    &State {
                        message_id: email.message_id().to_owned(),
                        prepared_at: now(),
                        sent: None,
                    },
                )?;
                (email, false)
            }
        };
        ctx.failpoint("announce:prepared");
        let receipt = smtp.send(&email)?;
        let mut state = self.load(ctx)?.unwrap_or_else(|| State {
            message_id: email.message_id().to_owned(),
            prepared_at: now(),
            sent: None,
        });
        let sent = Sent {
            server: receipt.server,
            at: now(),
            reply: receipt.reply,
        };
        state.sent = Some(sent.clone());
        self.save(ctx, &state)?;
        let evidence = self.evidence(email.message_id(), &sent);
        Ok(if again {
            format!("{evidence} (the message an interrupted run prepared, sent again)")
        } else {
            evidence
        })
    }

    /// The sender and the recipient are addresses and the mail server takes the login
    /// (connect, TLS, EHLO, AUTH; nothing sent), unless the announcement went out
    /// already.
    fn ready(&self, ctx: &Context<'_>) -> Vec<String> {
        if matches!(self.load(ctx), Ok(Some(State { sent: Some(_), .. }))) {
            return Vec::new();
        }
        let config = &ctx.config.announce;
        let missing = crate::config::missing_paths(&[
            ("announce.ca_file", config.ca_file.as_ref()),
            ("announce.password_file", config.password_file.as_ref()),
        ]);
        let login = missing.is_empty();
        let mut problems = missing;
        if let Err(e) = lava_announce::mailbox(&config.to, "recipient") {
            problems.push(format!("announce.to: {e}"));
        }
        match sender(ctx) {
            Ok(from) => {
                if let Err(e) = lava_announce::mailbox(&from, "sender") {
                    problems.push(format!("announce.from: {e}"));
                }
            }
            Err(e) => problems.push(crate::error::one_line(&e)),
        }
        // A missing file would fail the login too: say it once.
        if login && let Err(e) = smtp(ctx).and_then(|server| Ok(server.check()?)) {
            problems.push(crate::error::one_line(&e));
        }
        problems
    }

    /// Dry run: writes the message that would be sent to the scratch directory
    /// (`.git/lava-release/dry-run/VERSION/VERSION-announce.eml`).
    fn rehearse(&self, ctx: &Context<'_>) -> anyhow::Result<Option<String>> {
        smtp(ctx)?;
        let path = ctx
            .scratch_dir()?
            .join(format!("{}-announce.eml", self.version));
        let email = match self.progress(ctx)? {
            Progress::Prepared(email) => email,
            _ => compose(ctx)?,
        };
        email.write(&path)?;
        Ok(Some(format!(
            "message written to {} (not sent)",
            path.display()
        )))
    }
}

impl Announce {
    fn path(&self, ctx: &Context<'_>, suffix: &str) -> PathBuf {
        ctx.state_dir()
            .join(format!("{}-announce{suffix}", self.version))
    }

    fn load(&self, ctx: &Context<'_>) -> anyhow::Result<Option<State>> {
        State::load(ctx, &self.version)
    }

    fn progress(&self, ctx: &Context<'_>) -> anyhow::Result<Progress> {
        let eml = self.path(ctx, ".eml");
        let state = self.load(ctx)?;
        if let Some(state) = state.clone() {
            if let Some(sent) = state.sent.clone() {
                return Ok(Progress::Sent(state, sent));
            }
        }
        if !eml.exists() {
            return Ok(Progress::NotStarted);
        }
        // The file is written before the state and sending comes after both, so a
        // message without a state was never sent either; sending it is just as safe.
        let email = Email::from_eml(&eml)?;
        if let Some(state) = state {
            anyhow::ensure!(
                state.message_id == email.message_id(),
                "{} holds message {} but {} records {}; remove both to compose the announcement anew",
                eml.display(),
                email.message_id(),
                self.path(ctx, ".json").display(),
                state.message_id
            );
        }
        Ok(Progress::Prepared(email))
    }

    fn evidence(&self, message_id: &str, sent: &Sent) -> String {
        format!(
            "sent {message_id} to {} via {} at {}",
            self.to, sent.server, sent.at
        )
    }

    fn save(&self, ctx: &Context<'_>, state: &State) -> anyhow::Result<()> {
        let path = self.path(ctx, ".json");
        let json = serde_json::to_string_pretty(state).expect("the state is plain data");
        lava_io::write_atomically(&path, format!("{json}\n").as_bytes())
            .with_context(|| format!("cannot record the announcement in {}", path.display()))
    }
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .expect("a UTC date formats as RFC 3339")
}

/// The announcement for `ctx.release`: the templates filled from the changelog entry
/// and the commits ([`ReleaseContent`], the GitLab release's source too), signed when
/// `announce.sign` says so.
pub fn compose(ctx: &Context<'_>) -> anyhow::Result<Email> {
    let config = &ctx.config.announce;
    let version = ctx.release.version.to_string();
    let content = ReleaseContent::read(ctx)?;
    let from = sender(ctx)?;
    let release_url = format!(
        "{}/{}/-/releases/{version}",
        ctx.config.gitlab.url.trim_end_matches('/'),
        ctx.config.gitlab.project
    );
    let debian_version = ctx.release.debian_version.to_string();
    let commits = content.oneline();
    let values = [
        ("version", version.as_str()),
        ("debian_version", debian_version.as_str()),
        (
            "previous",
            content
                .previous
                .as_deref()
                .unwrap_or("the previous release"),
        ),
        ("release_url", release_url.as_str()),
        ("notes", content.entry.as_str()),
        ("commits", commits.as_str()),
    ];
    let subject = lava_announce::fill(&config.subject, &values);
    let body = lava_announce::fill(&config.body, &values);
    let to = vec![config.to.clone()];
    let message_id = lava_announce::message_id(&version, &from)?;
    let signer = if config.sign {
        Some(ctx.release_signer()?)
    } else {
        None
    };
    Ok(lava_announce::compose(
        &Announcement {
            from: &from,
            to: &to,
            subject: &subject,
            body: &body,
            date: ctx.now.into(),
            message_id: &message_id,
        },
        signer,
    )?)
}

/// The sender: `announce.from`, else the release manager of the changelog trailer.
fn sender(ctx: &Context<'_>) -> anyhow::Result<String> {
    Ok(match &ctx.config.announce.from {
        Some(from) => from.clone(),
        None => {
            let trailer = crate::entry::trailer(ctx)?;
            format!("{} <{}>", trailer.name, trailer.email)
        }
    })
}

/// The SMTP server, protection and login `[announce]` configures.
pub fn smtp(ctx: &Context<'_>) -> anyhow::Result<Smtp> {
    let config = &ctx.config.announce;
    let url = config
        .smtp
        .as_deref()
        .ok_or_else(|| UsageError("announce.smtp is not set".into()))?;
    let tls = config.tls.map(|tls| match tls {
        SmtpTls::Starttls => TlsMode::StartTls,
        SmtpTls::Tls => TlsMode::Tls,
        SmtpTls::None => TlsMode::None,
    });
    let mut smtp = Smtp::new(url, tls)
        .map_err(|e| UsageError(format!("announce.smtp: {e}")))?
        .timeout(Duration::from_secs(config.timeout_secs));
    if let Some(path) = &config.ca_file {
        smtp = smtp.ca_file(path);
    }
    match (&config.username, password(ctx)?) {
        (Some(user), Some(password)) => smtp = smtp.credentials(user, password),
        (None, None) => {}
        (Some(user), None) => {
            return Err(UsageError(format!(
                "announce.username is `{user}` but there is no password: set announce.password_env, password_file or smtp_password"
            ))
            .into());
        }
        (None, Some(_)) => {
            return Err(UsageError(
                "an SMTP password is configured but announce.username is not set".into(),
            )
            .into());
        }
    }
    Ok(smtp)
}

/// The SMTP password: `smtp_password`, the variable `password_env` names, or the first
/// line of `password_file`.
fn password(ctx: &Context<'_>) -> anyhow::Result<Option<Password>> {
    let config = &ctx.config.announce;
    if let Some(secret) = &config.smtp_password {
        return Ok(Some(Password::new(secret.expose())));
    }
    if let Some(var) = &config.password_env {
        let value = ctx.env.var(var).ok_or_else(|| {
            UsageError(format!(
                "the environment variable {var} (announce.password_env) is not set"
            ))
        })?;
        return Ok(Some(Password::new(value)));
    }
    if let Some(path) = &config.password_file {
        return Ok(Some(Password::new(read_password(path)?)));
    }
    Ok(None)
}

fn read_password(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the SMTP password file {}", path.display()))?;
    Ok(text.lines().next().unwrap_or_default().to_owned())
}
