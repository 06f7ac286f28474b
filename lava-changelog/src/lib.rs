//! Renders a `debian/changelog` entry for a LAVA release from values alone.
//!
//! This crate does no I/O: it never opens a repository, reads the clock or the
//! environment. The caller (lava-release-cli, through lava-git) supplies the commits,
//! the maintainer identity and the date. It knows the three styles LAVA has used:
//!
//! - [`Style::Gbp`]: the entry `gbp dch --git-author --id-length=9 --release debian`
//!   writes, byte for byte, plus the release manager's first bullet (2020.05 on);
//! - [`Style::Oneline`]: the release bullet and `git log --no-merges --oneline` under
//!   it, wrapped as LAVA's `do-debian-release` script wrapped it (2019.04 to 2019.09);
//! - [`Style::GitLog`]: the same lines, not wrapped (2019.01, 2019.10 to 2020.04).
//!
//! It also reads and edits a changelog file's text: the top entry's header and
//! trailer as `dpkg-parsechangelog` reads them, hand edits and all ([`TopEntry`]),
//! checks an entry a person edited ([`check_edited`]), and prepends a new entry
//! ([`prepend`]).
#![warn(missing_docs)]

mod error;
mod gbp;
mod message;
mod oneline;
mod parse;
mod wrap;

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
    /// Target distribution, e.g. `unstable`. With [`Style::Gbp`] this is what
    /// `debchange --release` starts from (the previous entry's distribution): an
    /// `UNRELEASED` here becomes `unstable`, and a `~bpoNN+`/`+debNNu` version or an
    /// `Upload to X`/`Rebuild for X` bullet overrides it, as debchange does.
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

/// Which of LAVA's three historical entry styles to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// `gbp dch --git-author --id-length=9 --release debian`, author blocks and all.
    ///
    /// Each commit is one bullet: `[id] subject`, plus the body's non-blank lines
    /// for `Gbp-Dch: Full`, `Thanks to X` for `Thanks: X`, and `(Closes: #1, #2)` /
    /// `(LP: #3)` for `Closes:`/`LP:` lines; `Gbp-Dch: Ignore` drops the commit.
    /// Lines are never wrapped. Bullets are in commit order, oldest first, grouped
    /// in `[ Author ]` blocks whenever an author other than the trailer's name
    /// appears (see the crate's `gbp` module for debchange's exact rules). The
    /// release manager's [`Options::first_bullet`] comes first, followed by a blank
    /// line when commits follow. gbp's placeholder bullet `UNRELEASED` appears only
    /// when there is neither a commit nor a first bullet.
    #[default]
    Gbp,
    /// LAVA's `do-debian-release`: the first bullet, then one `git log --oneline`
    /// line per commit, newest first, indented by 4 and wrapped by `fmt -s -w 71 -u`
    /// with continuation lines indented by 14; the trailer's date in UTC.
    Oneline,
    /// The first bullet, then one `git log --oneline` line per commit indented by 4,
    /// not wrapped: oldest first (`git log --reverse`) unless
    /// [`Options::newest_first`].
    GitLog,
}

/// Options of the styles: `gbp dch`'s and `debchange`'s knobs for [`Style::Gbp`],
/// `first_bullet` for every style, `newest_first` for [`Style::GitLog`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `--id-length`: how many hex digits of the commit id prefix each bullet (0: none).
    pub id_length: usize,
    /// `--multimaint-merge`: one `[ Author ]` block per author instead of a new block
    /// each time the author changes.
    pub multimaint_merge: bool,
    /// The bullet the release manager types first (without `* `), e.g.
    /// `LAVA Software 2024.05 release`; `None` leaves the entry as gbp wrote it.
    pub first_bullet: Option<String>,
    /// [`Style::GitLog`]: commits newest first, as `git log` without `--reverse`.
    pub newest_first: bool,
    /// `--meta` (gbp's default): `Closes:`, `LP:` and `Thanks:` lines of a commit body
    /// become notes on its bullet; off, they are body lines like any other.
    pub meta: bool,
    /// `--full`: every non-blank body line follows the subject (`Gbp-Dch: Short` opts a
    /// commit out); off, only `Gbp-Dch: Full` commits get their body.
    pub full: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            id_length: 9,
            multimaint_merge: false,
            first_bullet: None,
            newest_first: false,
            meta: true,
            full: false,
        }
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
pub fn render(entry: &Entry<'_>, style: Style, gbp: &Options) -> String {
    match style {
        Style::Gbp => gbp::render(entry, gbp),
        Style::Oneline => oneline::render(entry, gbp),
        Style::GitLog => oneline::render_log(entry, gbp),
    }
}

/// Formats a trailer date as `debchange` does (`date -R` in UTC):
/// `Tue, 05 Mar 2024 14:03:09 +0000`.
pub fn format_date(date: OffsetDateTime) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let d = date.to_offset(time::UtcOffset::UTC);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000",
        DAYS[d.weekday().number_days_from_monday() as usize],
        d.day(),
        MONTHS[usize::from(u8::from(d.month())) - 1],
        d.year(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// The name of gbp's Debian tag for `version` under its default format,
/// `debian/%(version)s`, mangled as [`gbp_tag`] does.
pub fn debian_tag(version: &str) -> String {
    gbp_tag("debian/%(version)s", version)
}

/// A tag name from a gbp tag format (`debian-tag`, `upstream-tag`) and a version, as
/// gbp's `version_to_tag` makes it: `%(version)s` is the version made a valid git ref
/// name as DEP-14 says (`~` as `_`, `:` as `%`, a `.` before another `.`, at the end or
/// before `lock` followed by `#`), `%(hversion)s` the same with `.` as `-`, and
/// `%(version%A%B)s` the version with the character `A` replaced by `B` first (`\%` is a
/// `%` in `B`).
pub fn gbp_tag(format: &str, version: &str) -> String {
    let (format, version) = match mangling(format) {
        Some((start, end, from, to)) => (
            format!("{}%(version)s{}", &format[..start], &format[end..]),
            version.replace(from, &to),
        ),
        None => (format.to_owned(), version.to_owned()),
    };
    let clean = sanitize_version(&version);
    format
        .replace("%(hversion)s", &clean.replace('.', "-"))
        .replace("%(version)s", &clean)
}

/// The first `%(version%A%B)s` in `format`: its span, `A` and `B`.
fn mangling(format: &str) -> Option<(usize, usize, char, String)> {
    let start = format.find("%(version%")?;
    let rest = &format[start + "%(version%".len()..];
    let mut chars = rest.char_indices();
    let (_, from) = chars.next().filter(|(_, c)| *c != '%')?;
    let (_, sep) = chars.next()?;
    if sep != '%' {
        return None;
    }
    let mut to = String::new();
    let mut escaped = false;
    for (i, c) in chars {
        match c {
            '\\' if !escaped => escaped = true,
            '%' if escaped => {
                to.push('%');
                escaped = false;
            }
            ')' if !escaped && rest[i..].starts_with(")s") && !to.is_empty() => {
                let end = start + "%(version%".len() + i + 2;
                return Some((start, end, from, to));
            }
            '%' => return None,
            c => {
                if escaped {
                    to.push('\\');
                    escaped = false;
                }
                to.push(c);
            }
        }
    }
    None
}

/// gbp's `_sanitize_version`: a version git takes in a tag name (DEP-14).
fn sanitize_version(version: &str) -> String {
    let mut out = String::with_capacity(version.len());
    for (i, c) in version.char_indices() {
        out.push(c);
        let rest = &version[i + c.len_utf8()..];
        if c == '.' && (rest.is_empty() || rest.starts_with('.') || rest == "lock") {
            out.push('#');
        }
    }
    out.replace('~', "_").replace(':', "%")
}

/// The top entry of an existing changelog, as `dpkg-parsechangelog` would report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopEntry {
    /// Source package name.
    pub source: String,
    /// Full Debian version string.
    pub version: String,
    /// Distribution(s), separated by one space (`Distribution:`).
    pub distribution: String,
    /// Urgency, lower-cased without its comment (`medium` for `MEDIUM (why)`), or
    /// `unknown` when the header has none (`Urgency:`).
    pub urgency: String,
    /// The trailer's `Name <email>` (`Maintainer:`), `None` without a readable trailer.
    pub maintainer: Option<String>,
    /// The trailer's date as written, e.g. `Tue, 30 Jan 2024 10:11:12 +0100` (`Date:`).
    pub date: Option<String>,
    /// What `dpkg-parsechangelog` would warn about in this entry, in line order.
    pub warnings: Vec<Warning>,
}

/// Something a person edited by hand that dpkg reads with a warning: a trailer
/// indented or badly formatted, a missing trailer, a malformed header option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line number in the changelog.
    pub line: usize,
    /// What is wrong, quoting the line where that helps.
    pub message: String,
}

impl Warning {
    pub(crate) fn new(line: usize, message: String) -> Self {
        Self { line, message }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses the top entry of changelog `text` as `dpkg-parsechangelog` does: its header
/// line (after any blank lines) and its trailer line. What dpkg reads with a warning
/// is read, and the warning kept in [`TopEntry::warnings`]; only what leaves no
/// entry to read (no header, or a header dpkg cannot parse) is an error.
pub fn parse_top(text: &str) -> Result<TopEntry> {
    parse::parse_top(text)
}

/// Checks an entry a person edited (the text of the whole changelog with the entry on
/// top): it still starts with the header for `version` and has a trailer.
pub fn check_edited(text: &str, version: &str) -> Result<TopEntry> {
    let top = parse::parse_top(text)?;
    if top.version != version {
        return Err(Error::EditedVersion {
            expected: version.to_owned(),
            found: top.version,
        });
    }
    if top.maintainer.is_none() {
        return Err(Error::EditedTrailer {
            version: version.to_owned(),
        });
    }
    Ok(top)
}

/// A commit message's subject as `git log --format=%s` (and `--oneline`) prints it:
/// the first paragraph's lines, trailing white space removed, joined by one space.
pub fn subject(message: &str) -> String {
    message::subject_and_body(message).0
}

/// Puts `entry` (as [`render`] returns it) on top of the existing changelog `text`,
/// separated by one blank line.
pub fn prepend(entry: &str, text: &str) -> String {
    format!("{entry}\n{text}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use insta::assert_snapshot;
    use time::macros::datetime;

    #[test]
    fn date_is_rfc2822_in_utc() {
        assert_snapshot!(format_date(datetime!(2024-03-05 14:03:09 UTC)), @"Tue, 05 Mar 2024 14:03:09 +0000");
        assert_snapshot!(format_date(datetime!(2024-01-01 00:30:00 +01:00)), @"Sun, 31 Dec 2023 23:30:00 +0000");
    }

    #[test]
    fn debian_tag_mangles_like_gbp() {
        assert_eq!(debian_tag("1:2024.05~rc1-1"), "debian/1%2024.05_rc1-1");
    }

    #[test]
    fn gbp_tag_formats_as_gbp_version_to_tag() {
        // gbp's own doctests of version_to_tag and _sanitize_version.
        assert_eq!(gbp_tag("debian/%(version)s", "0:0~0"), "debian/0%0_0");
        assert_eq!(gbp_tag("libfoo-%(hversion)s", "1.8.1"), "libfoo-1-8-1");
        assert_eq!(gbp_tag("v%(version%.%_)s", "1.2.3"), "v1_2_3");
        assert_eq!(gbp_tag(r"%(version%-%\%)s", "0-1.2.3"), "0%1.2.3");
        assert_eq!(gbp_tag("%(version)s", "0....0"), "0.#.#.#.0");
        assert_eq!(gbp_tag("%(version)s", "0.lock"), "0.#lock");
        assert_eq!(
            gbp_tag("upstream/%(version)s", "2026.07"),
            "upstream/2026.07"
        );
    }

    #[test]
    fn prepend_separates_with_one_blank_line() {
        assert_snapshot!(prepend("new\n\n -- x\n", "old\n"), @r"
        new

         -- x

        old
        ");
    }
}
