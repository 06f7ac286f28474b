//! The two flat styles LAVA wrote before it used gbp: the release bullet, then one
//! `git log --no-merges --oneline` line per commit under it, with no bullet of their own.
//!
//! [`render`] is the layout of LAVA's `do-debian-release` script (2019.04 to 2019.09):
//!
//! ```sh
//! git log --no-merges --oneline $OLDTAG..HEAD |
//!     awk '{printf("ZZZZ%s\n", $0)}' | fmt -s -w 71 -u |
//!     awk '/^ZZZZ/ { gsub("^ZZZZ","    "); print $0; next};
//!                  { printf("              %s\n",$0);}'
//! ```
//!
//! The marker counts toward fmt's 71 columns and is then replaced by 4 spaces; fmt's
//! continuation lines start in column 0 and get 14 spaces in front, so a continuation
//! may be longer than 71 columns. With `-s` every input line is a paragraph of its own
//! and the marker leaves no indentation, so the lines are wrapped one by one, with one
//! piece of state carried from line to line as one `fmt` over the whole list carries
//! it: once fmt has seen a tab, it spaces with tabs wherever a space reaches a tab stop.
//!
//! [`render_log`] is the plain `git log` layout (2019.01, 2019.10 to 2020.04): the same
//! lines indented by 4 spaces, not wrapped, oldest first unless asked otherwise.

use crate::wrap::fmt_split_more;
use crate::{Entry, Options, format_date};

/// `fmt -w`: the widest line, the marker included.
const WIDTH: usize = 71;

/// The script's marker before each `git log` line; fmt sees it as part of the first word.
const MARKER: &str = "ZZZZ";

/// What replaces the marker.
const COMMIT_INDENT: &str = "    ";

/// What goes before each of fmt's continuation lines.
const CONTINUATION_INDENT: &str = "              ";

/// The `do-debian-release` entry: release bullet, wrapped commit lines, newest first.
pub(crate) fn render(entry: &Entry<'_>, opts: &Options) -> String {
    let mut out = head(entry, opts);
    let mut tabs = false;
    for commit in entry.commits {
        out.push_str(&commit_line(&oneline(commit), &mut tabs));
        out.push('\n');
    }
    out.push_str(&trailer(entry));
    out
}

/// The `git log` entry: release bullet, one unwrapped line per commit.
pub(crate) fn render_log(entry: &Entry<'_>, opts: &Options) -> String {
    let mut out = head(entry, opts);
    let mut push = |commit| {
        out.push_str(COMMIT_INDENT);
        out.push_str(&oneline(commit));
        out.push('\n');
    };
    if opts.newest_first {
        entry.commits.iter().for_each(&mut push);
    } else {
        entry.commits.iter().rev().for_each(&mut push);
    }
    out.push_str(&trailer(entry));
    out
}

/// Header line, blank line and the release bullet (when there is one).
fn head(entry: &Entry<'_>, opts: &Options) -> String {
    let header = entry.header;
    let mut out = format!(
        "{} ({}) {}; urgency={}\n\n",
        header.source, header.version, header.distribution, header.urgency
    );
    if let Some(message) = &opts.first_bullet {
        out.push_str(&format!("  * {message}\n"));
    }
    out
}

/// Blank line and ` -- NAME <EMAIL>  DATE`, the date in UTC as the script's `date -u`.
fn trailer(entry: &Entry<'_>) -> String {
    format!(
        "\n -- {} <{}>  {}\n",
        entry.trailer.name,
        entry.trailer.email,
        format_date(entry.trailer.date)
    )
}

/// `git log --oneline`'s line for a commit: `%h %s`.
fn oneline(commit: &crate::Commit) -> String {
    let (subject, _) = crate::message::subject_and_body(&commit.message);
    format!("{} {subject}", commit.short_id)
}

/// One `git log --oneline` line through the script's marker, fmt and awk steps, without
/// the final newline; `tabs` is fmt's state from the lines before (see the module).
pub(crate) fn commit_line(line: &str, tabs: &mut bool) -> String {
    let wrapped = fmt_split_more(&format!("{MARKER}{line}"), WIDTH, true, tabs);
    let mut out = String::with_capacity(wrapped.len() + 16);
    for (i, part) in wrapped.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        // awk's `/^ZZZZ/`: a continuation that happens to start with the marker is
        // treated as a commit line, exactly as the script treats it.
        match part.strip_prefix(MARKER) {
            Some(rest) => {
                out.push_str(COMMIT_INDENT);
                out.push_str(rest);
            }
            None => {
                out.push_str(CONTINUATION_INDENT);
                out.push_str(part);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use insta::assert_snapshot;

    fn commit_line(line: &str) -> String {
        super::commit_line(line, &mut false)
    }

    #[test]
    fn short_line_stays_on_one_line() {
        assert_snapshot!(commit_line("181823456 device-types: add meson-g12a-u200"), @"    181823456 device-types: add meson-g12a-u200");
    }

    #[test]
    fn continuation_gets_fourteen_spaces() {
        // LAVA 2019.09-1, as the script wrote it.
        assert_snapshot!(commit_line("757fe4824 Revert xmlrpc API changes to device and device_type calls."), @r"
            757fe4824 Revert xmlrpc API changes to device and device_type
                      calls.
        ");
    }

    #[test]
    fn continuation_may_pass_seventy_one_columns() {
        assert_snapshot!(commit_line("6c6e5205a is_authenticated is a variable and not a function anymore Signed-off-by: Rémi Duraffort <remi.duraffort@linaro.org>"), @r"
            6c6e5205a is_authenticated is a variable and not a function
                      anymore Signed-off-by: Rémi Duraffort <remi.duraffort@linaro.org>
        ");
    }

    #[test]
    fn uniform_spacing_keeps_two_spaces_after_sentences() {
        assert_snapshot!(commit_line("abc123456 Drop   python2.   Use python3 now!  Really? yes"), @"    abc123456 Drop python2.  Use python3 now!  Really? yes");
    }

    #[test]
    fn a_tab_in_an_earlier_line_makes_fmt_space_with_tabs() {
        // As `fmt -s -w 71 -u` prints these two lines, one after the other.
        let line = "9e034e1 Sentence one.  Sentence two?  Yes!  A fourth sentence that is long enough to wrap the line";
        let mut tabs = false;
        assert_snapshot!(super::commit_line(line, &mut tabs), @r"
            9e034e1 Sentence one.  Sentence two?  Yes!  A fourth sentence
                      that is long enough to wrap the line
        ");
        assert_snapshot!(super::commit_line("def1234 Tabs\tbetween words", &mut tabs), @"    def1234 Tabs between words");
        assert!(tabs);
        assert_snapshot!(super::commit_line(line, &mut tabs), @r"
            9e034e1 Sentence one.  Sentence two?  Yes!	A fourth sentence
                      that is long enough to wrap the line
        ");
    }

    #[test]
    fn long_word_overflows() {
        assert_snapshot!(commit_line(&format!("abc123456 see {}", "x".repeat(80))), @r"
            abc123456 see
                      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
        ");
    }
}
