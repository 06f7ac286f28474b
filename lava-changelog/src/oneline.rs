//! The flat style: one bullet per commit, `git log --oneline` wrapped by `fmt`.
//!
//! The reference pipeline, per line of `git log --no-merges --no-decorate --oneline
//! OLD..HEAD`, is
//!
//! ```sh
//! printf '    %s\n' "$line" | fmt -s -w 71 -u | sed '1s/^    /  * /'
//! ```
//!
//! that is, `fmt -s -w 71 -u` on the bullet with its continuation lines indented to
//! the text (4 columns), each bullet on its own: `fmt` uses tabs for output spacing
//! once it has seen a tab in its input, and one `fmt` over the whole list would let a
//! tab in one subject change how every later bullet is spaced. LAVA's flat entries
//! (lava-tool 0.25-1) put the release manager's bullet first and the commits right
//! below it, newest first, with no blank line between.

use crate::wrap::fmt_split;
use crate::{Entry, GbpOptions, format_date};

/// `fmt -w`: the widest line, indentation included.
const WIDTH: usize = 71;

/// What an entry with no bullet at all says, as gbp does (see [`crate::Style::Gbp`]).
const NO_CHANGES: &str = "UNRELEASED";

pub(crate) fn render(entry: &Entry<'_>, opts: &GbpOptions) -> String {
    let header = entry.header;
    let mut out = format!(
        "{} ({}) {}; urgency={}\n\n",
        header.source, header.version, header.distribution, header.urgency
    );
    let mut bullets: Vec<String> = Vec::new();
    bullets.extend(opts.first_bullet.iter().cloned());
    for commit in entry.commits {
        let (subject, _) = crate::message::subject_and_body(&commit.message);
        bullets.push(format!("{} {subject}", commit.short_id));
    }
    if bullets.is_empty() {
        bullets.push(NO_CHANGES.to_owned());
    }
    for text in bullets {
        out.push_str(&bullet(&text));
        out.push('\n');
    }
    out.push_str(&format!(
        "\n -- {} <{}>  {}\n",
        entry.trailer.name,
        entry.trailer.email,
        format_date(entry.trailer.date)
    ));
    out
}

/// One `  * ` bullet wrapped as the reference pipeline wraps it, without the final
/// newline.
pub(crate) fn bullet(text: &str) -> String {
    let wrapped = fmt_split(&format!("    {text}"), WIDTH, true);
    match wrapped.strip_prefix("    ") {
        Some(rest) => format!("  * {rest}"),
        // Only an all-blank text leaves fmt nothing to indent.
        None => wrapped,
    }
}

#[cfg(test)]
mod tests {
    use super::bullet;
    use insta::assert_snapshot;

    fn check(text: &str) -> String {
        bullet(text)
    }

    #[test]
    fn short_bullet_stays_on_one_line() {
        assert_snapshot!(check("abc1234 Fix the frobnicator"), @"  * abc1234 Fix the frobnicator");
    }

    #[test]
    fn continuation_is_indented_to_the_text() {
        assert_snapshot!(check("abc1234 LAVA-1234 lava-server: make the scheduler skip devices that are retired or in maintenance mode, and log why"), @r"
          * abc1234 LAVA-1234 lava-server: make the scheduler skip devices
            that are retired or in maintenance mode, and log why
        ");
    }

    #[test]
    fn uniform_spacing_keeps_two_spaces_after_sentences() {
        assert_snapshot!(check("abc1234 Drop   python2.   Use python3 now!  Really? yes"), @"  * abc1234 Drop python2.  Use python3 now!  Really? yes");
    }

    #[test]
    fn long_word_overflows() {
        assert_snapshot!(check(&format!("abc1234 see {}", "x".repeat(80))), @r"
          * abc1234 see
            xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
        ");
    }
}
