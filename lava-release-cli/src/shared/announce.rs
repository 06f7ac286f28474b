//! The announcement's record, `.git/lava-release/VERSION-announce.json`: written by the
//! `announce` stage around sending, read by the release manifest for its Message-ID.

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::step::Context;

/// What `VERSION-announce.json` records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// The prepared message's Message-ID.
    pub message_id: String,
    /// When the message was composed (RFC 3339).
    pub prepared_at: String,
    /// Set once the server accepted the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<Sent>,
}

/// The server's acceptance of the message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sent {
    /// The server, `smtp://HOST:PORT`.
    pub server: String,
    /// When it accepted the message (RFC 3339).
    pub at: String,
    /// Its reply.
    pub reply: String,
}

impl State {
    /// Where the record of `version` lives.
    pub fn path(ctx: &Context<'_>, version: &str) -> std::path::PathBuf {
        ctx.state_dir().join(format!("{version}-announce.json"))
    }

    /// The record of `version`, if the message was prepared.
    pub fn load(ctx: &Context<'_>, version: &str) -> anyhow::Result<Option<Self>> {
        let path = Self::path(ctx, version);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                Ok(Some(serde_json::from_str(&text).with_context(|| {
                    format!("{} is corrupt", path.display())
                })?))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }
}

/// The Message-ID of the announcement of `version`, once a server accepted it.
pub fn sent_message_id(ctx: &Context<'_>, version: &str) -> anyhow::Result<Option<String>> {
    Ok(State::load(ctx, version)?.and_then(|state| state.sent.map(|_| state.message_id)))
}
