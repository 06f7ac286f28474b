//! Renders a `debian/changelog` entry for a LAVA release from values alone.
//!
//! This crate does no I/O: it never opens a repository, reads the clock or the
//! environment. The caller (lava-release-cli, through lava-git) supplies the commits,
//! the maintainer identity and the date. It knows two styles LAVA has used:
//!
//! - [`Style::Gbp`]: the entry `gbp dch --git-author --id-length=9 --release debian`
//!   writes, byte for byte, plus the release manager's first bullet;
//! - [`Style::Oneline`]: `git log --no-merges --oneline` as bullets, wrapped as
//!   `fmt -s -w 71 -u` would.
//!
//! It also reads and edits a changelog file's text: the top entry's header and
//! trailer ([`TopEntry`]), and prepending a new entry ([`prepend`]).
#![warn(missing_docs)]

mod error;

pub use error::{Error, Result};

use time::OffsetDateTime;

/// One commit, as git records it: the facts the renderers need and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Full hexadecimal object id.
    pub id: String,
    /// The abbreviation `git log --oneline` prints for this commit (`%h`).
    pub short_id: String,
    /// Author name exactly as recorded (no mailmap).
    pub author_name: String,
    /// Author e-mail exactly as recorded (no mailmap).
    pub author_email: String,
    /// The raw commit message (subject, blank line, body), as in the commit object,
    /// after decoding to UTF-8.
    pub message: String,
}

/// Header of the entry to write: `source (version) distribution; urgency=urgency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Source package name (`lava`).
    pub source: String,
    /// Full Debian version, e.g. `2024.05-1`.
    pub version: String,
    /// Target distribution, e.g. `unstable`.
    pub distribution: String,
    /// Urgency, e.g. `medium`.
    pub urgency: String,
}

/// The trailer's identity and date: ` -- Name <email>  date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailer {
    /// Maintainer name (DEBFULLNAME, else git's user.name).
    pub name: String,
    /// Maintainer e-mail (DEBEMAIL, else git's user.email).
    pub email: String,
    /// The date, rendered in RFC 2822 form in UTC.
    pub date: OffsetDateTime,
}

/// Which of LAVA's two historical entry styles to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// `gbp dch --git-author --id-length=9 --release debian`, author blocks and all.
    #[default]
    Gbp,
    /// `git log --no-merges --oneline`, wrapped at 71 columns.
    Oneline,
}

/// Options of the `gbp` style, mirroring `gbp dch`'s and `debchange`'s knobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GbpOptions {
    /// `--id-length`: how many hex digits of the commit id prefix each bullet (0: none).
    pub id_length: usize,
    /// `--multimaint-merge`: one `[ Author ]` block per author instead of a new block
    /// each time the author changes.
    pub multimaint_merge: bool,
    /// The bullet the release manager types first (without `* `), e.g.
    /// `LAVA Software 2024.05 release`; `None` leaves the entry as gbp wrote it.
    pub first_bullet: Option<String>,
}

impl Default for GbpOptions {
    fn default() -> Self {
        Self { id_length: 9, multimaint_merge: false, first_bullet: None }
    }
}

/// Everything needed to render one entry.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// The header line's fields.
    pub header: &'a Header,
    /// The commits, newest first, as `git log` lists them (merges already removed).
    pub commits: &'a [Commit],
    /// Trailer identity and date.
    pub trailer: &'a Trailer,
}

/// Renders the entry in `style`: header line, blank line, bullets, blank line, trailer,
/// ending with a newline (no blank line after the trailer; see [`prepend`]).
pub fn render(entry: &Entry<'_>, style: Style, gbp: &GbpOptions) -> String {
    let _ = (entry, style, gbp);
    String::new()
}

/// Formats a trailer date as `debchange` does (`date -R` in UTC):
/// `Tue, 05 Mar 2024 14:03:09 +0000`.
pub fn format_date(date: OffsetDateTime) -> String {
    let _ = date;
    String::new()
}

/// The name of gbp's Debian tag for `version` (`debian/%(version)s`, with `~` as `_`
/// and `:` as `%`, as gbp mangles it).
pub fn debian_tag(version: &str) -> String {
    format!("debian/{}", version.replace('~', "_").replace(':', "%"))
}

/// The top entry of an existing changelog, as `dpkg-parsechangelog` would report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopEntry {
    /// Source package name.
    pub source: String,
    /// Full Debian version string.
    pub version: String,
    /// Distribution(s) as written.
    pub distribution: String,
    /// Urgency value.
    pub urgency: String,
}

/// Parses the top entry's header line of changelog `text`.
pub fn parse_top(text: &str) -> Result<TopEntry> {
    let _ = text;
    Err(Error::BadHeader { line: 1, text: String::new() })
}

/// Puts `entry` (as [`render`] returns it) on top of the existing changelog `text`,
/// separated by one blank line.
pub fn prepend(entry: &str, text: &str) -> String {
    format!("{entry}\n{text}")
}
