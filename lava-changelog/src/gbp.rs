//! The entry `gbp dch --git-author --new-version=V --id-length=N --release` writes.
//!
//! gbp formats each commit (`gbp/dch.py`'s `format_changelog_entry`), then calls
//! `debchange` once per commit, oldest first: `--newversion` for the first, which
//! opens the section, and the default append for the others, each time with
//! DEBFULLNAME set to the commit's author. debchange knows nothing of the message:
//! gbp passes a placeholder bullet and swaps it for the formatted lines afterwards,
//! so nothing is ever wrapped. What debchange does add is its multi-maintainer
//! `[ Author ]` blocks, and the rules for those are subtle enough that this module
//! replays its state machine (`/usr/bin/debchange`, the `$opt_a` branch) rather
//! than computing blocks directly. Then gbp's `fixup_section` runs debchange once
//! more as the release manager, which can add the first author's block, and
//! `--release` sets the distribution and refreshes the trailer.

use crate::message::{py_ispunct, py_isspace, py_splitlines, py_strip, subject_and_body};
use crate::{Commit, Entry, Options, format_date};

/// gbp's `MAX_CHANGELOG_LINE_LENGTH`: a `(Closes: ...)` note that would make the
/// line this long goes on a line of its own.
const MAX_CHANGELOG_LINE_LENGTH: usize = 76;

/// The message gbp puts in a section when no commit made it in (`dch.py` main).
const NO_CHANGES: &str = "UNRELEASED";

/// Renders the whole entry, header to trailer.
pub(crate) fn render(entry: &Entry<'_>, opts: &Options) -> String {
    let rm = entry.trailer.name.as_str();
    let mut changes = Changes::default();
    // gbp walks `git log` backwards: oldest first.
    for commit in entry.commits.iter().rev() {
        let Some(lines) = format_commit(commit, opts) else {
            continue;
        };
        // gbp passes the author as DEBFULLNAME only when it is not empty; otherwise
        // debchange falls back to the environment, the release manager's identity.
        let author = match py_strip(&commit.author_name) {
            "" => rm,
            name => name,
        };
        changes.add(author, &lines, opts.multimaint_merge);
    }
    if changes.lines.is_empty() && opts.first_bullet.is_none() {
        // No section yet: gbp adds one with a dummy message, without an author. The
        // release manager's own bullet, typed in the editor, replaces it.
        changes.add(rm, &[NO_CHANGES.to_owned()], opts.multimaint_merge);
    }
    changes.fixup(rm);

    let header = entry.header;
    let distribution = release_distribution(&header.distribution, &header.version, &changes.lines);
    let mut out = format!(
        "{} ({}) {}; urgency={}\n\n",
        header.source, header.version, distribution, header.urgency
    );
    if let Some(bullet) = &opts.first_bullet {
        // What the release manager types in the editor gbp opens after --release,
        // with a blank line before gbp's own bullets.
        out.push_str(&format!("  * {bullet}\n"));
        if !changes.lines.is_empty() {
            out.push('\n');
        }
    }
    for line in &changes.lines {
        out.push_str(line);
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

/// One commit as gbp's `format_changelog_entry` formats it: the lines of one bullet,
/// without the `  * ` or `    ` indentation, or `None` for `Gbp-Dch: Ignore`. Of the
/// options, `id_length`, `meta` and `full` matter.
pub(crate) fn format_commit(commit: &Commit, opts: &Options) -> Option<Vec<String>> {
    let id_length = opts.id_length;
    let (subject, body) = subject_and_body(&commit.message);
    let mut commands = Vec::new();
    let mut rest = Vec::new();
    for line in py_splitlines(body) {
        match line
            .strip_prefix("Git-Dch: ")
            .or_else(|| line.strip_prefix("Gbp-Dch: "))
        {
            // `line.split(' ', 1)[1].strip().lower()`.
            Some(cmd) => commands.push(py_strip(cmd).to_lowercase()),
            None => rest.push(line),
        }
    }
    if commands.iter().any(|c| c == "ignore") {
        return None;
    }
    let mut entry = vec![subject];
    if id_length > 0 {
        let id: String = commit.id.chars().take(id_length).collect();
        entry[0] = format!("[{id}] {}", entry[0]);
    }

    // --meta (gbp's default): bug-closing and Thanks: lines leave the body.
    let mut bts: Vec<(&str, Vec<String>)> = Vec::new();
    let mut thanks = Vec::new();
    let mut body = Vec::new();
    for line in rest {
        if !opts.meta {
            body.push(line);
        } else if let Some(key) = match_bts(line) {
            let bugs = find_bug_numbers(line);
            match bts.iter_mut().find(|(k, _)| *k == key) {
                Some((_, nums)) => nums.extend(bugs),
                None => bts.push((key, bugs)),
            }
        } else if is_thanks(line) {
            // `line.split(' ', 1)[1].strip()`; gbp raises IndexError when the line
            // has no space at all (`Thanks:\tX`), here the name is then empty.
            thanks.push(line.split_once(' ').map_or("", |(_, name)| py_strip(name)));
        } else {
            body.push(line);
        }
    }
    // `Gbp-Dch: Full` turns --full on for one commit, `Gbp-Dch: Short` off.
    let has = |command: &str| commands.iter().any(|c| c == command);
    if has("full") || (opts.full && !has("short")) {
        entry.extend(
            body.iter()
                .filter(|l| !py_strip(l).is_empty())
                .map(|l| l.to_string()),
        );
    }
    if let Some(name) = thanks.last() {
        // "Last wins for now (match old behavior)."
        entry.push(format!("Thanks to {name}"));
    }
    for (key, nums) in bts {
        let note = format!("({key}: {})", nums.join(", "));
        let last = entry.last_mut().expect("entry starts with the subject");
        if last.chars().count() + note.chars().count() >= MAX_CHANGELOG_LINE_LENGTH {
            entry.push(note);
        } else {
            last.push(' ');
            last.push_str(&note);
        }
    }
    terminate_first_line_if_needed(&mut entry);
    Some(entry)
}

/// gbp's `terminate_first_line_if_needed`: a multi-line entry's first line gets a
/// full stop unless it ends in punctuation or the next line continues it.
fn terminate_first_line_if_needed(entry: &mut [String]) {
    let [first, second, ..] = entry else {
        return;
    };
    if first.chars().last().is_some_and(py_ispunct) {
        return;
    }
    if second
        .chars()
        .next()
        .is_some_and(|c| py_ispunct(c) || c.is_lowercase())
    {
        return;
    }
    first.push('.');
}

/// Matches gbp's `(?P<bts>Closes|LP):\s+(?:bug|issue)?\#?\s?\d+` (case-insensitive,
/// anchored at the start) and returns the `bts` group as written.
fn match_bts(line: &str) -> Option<&str> {
    let key_len = ["closes", "lp"].into_iter().find_map(|k| {
        let head = line.get(..k.len())?;
        head.eq_ignore_ascii_case(k).then_some(k.len())
    })?;
    let after = line[key_len..].strip_prefix(':')?;
    // `\s+` backtracks, so any non-empty run of leading white space may end it.
    let mut spaces = after.char_indices().take_while(|&(_, c)| py_isspace(c));
    spaces
        .any(|(i, c)| bug_number_at(&after[i + c.len_utf8()..]).is_some())
        .then(|| &line[..key_len])
}

/// Length of the leftmost-preferred match of `(?:bug|issue)?\#?\s?\d+` at the start
/// of `s`, as Python's backtracking engine picks it.
fn bug_number_at(s: &str) -> Option<usize> {
    let word = ["bug", "issue"].into_iter().find_map(|w| {
        let head = s.get(..w.len())?;
        head.eq_ignore_ascii_case(w).then_some(w.len())
    });
    for skip_word in word.into_iter().chain([0]) {
        let s1 = &s[skip_word..];
        let hash = s1.starts_with('#').then_some(1);
        for skip_hash in hash.into_iter().chain([0]) {
            let s2 = &s1[skip_hash..];
            let space = s2
                .chars()
                .next()
                .filter(|&c| py_isspace(c))
                .map(char::len_utf8);
            for skip_space in space.into_iter().chain([0]) {
                let s3 = &s2[skip_space..];
                let digits: usize = s3
                    .chars()
                    .take_while(|c| c.is_numeric())
                    .map(char::len_utf8)
                    .sum();
                if digits > 0 {
                    return Some(skip_word + skip_hash + skip_space + digits);
                }
            }
        }
    }
    None
}

/// gbp's `_bug_re.findall(line, re.I)`: the flag lands in findall's `pos`
/// argument, so the search starts at the third character. Each match is stripped.
fn find_bug_numbers(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut i = line.char_indices().nth(2).map_or(line.len(), |(i, _)| i);
    while i < line.len() {
        match bug_number_at(&line[i..]) {
            Some(len) => {
                found.push(py_strip(&line[i..i + len]).to_owned());
                i += len;
            }
            None => i += line[i..].chars().next().map_or(1, char::len_utf8),
        }
    }
    found
}

/// gbp's `thanks:\s+`, case-insensitive, anchored at the start.
fn is_thanks(line: &str) -> bool {
    line.get(..7)
        .is_some_and(|h| h.eq_ignore_ascii_case("thanks:"))
        && line[7..].chars().next().is_some_and(py_isspace)
}

/// The changes part of the new section while debchange edits it: the lines between
/// the header's blank line and the blank line before the trailer, plus the name in
/// the trailer, which debchange's append mode never rewrites.
#[derive(Debug, Default)]
struct Changes {
    lines: Vec<String>,
    trailer_name: String,
}

impl Changes {
    /// One debchange call that adds the bullet `text` as `maintainer`.
    fn add(&mut self, maintainer: &str, text: &[String], merge: bool) {
        let bullet = text.iter().enumerate().map(|(i, line)| match i {
            0 => format!("  * {line}"),
            _ => format!("    {line}"),
        });
        if self.lines.is_empty() && self.trailer_name.is_empty() {
            // `dch --newversion`: a fresh section, no blocks, signed by the author.
            self.lines = bullet.collect();
            self.trailer_name = maintainer.to_owned();
            return;
        }
        let bullet: Vec<String> = bullet.collect();
        self.append(maintainer, Some(&bullet), merge);
    }

    /// gbp's `fixup_section`: debchange with an empty message as the release
    /// manager. It adds no bullet, but may still label the first author's block.
    fn fixup(&mut self, rm: &str) {
        self.append(rm, None, false);
        self.trailer_name = rm.to_owned();
    }

    /// debchange's append branch (`$opt_a`) for `maintainer`, with `text` or, for an
    /// empty command-line message, nothing.
    fn append(&mut self, maintainer: &str, text: Option<&[String]>, merge: bool) {
        // Line numbers count from the header (0); the changes start at line 2.
        const FIRST: usize = 2;
        let own_block = format!("  [ {maintainer} ]");

        // With --multimaint-merge: where this maintainer's block starts, and the
        // name on the block that follows it. debchange counts `$maintline` up to the
        // next block's header line.
        let (mut maintline, mut nextmaint) = (None::<usize>, false);
        if merge {
            for (i, line) in self.lines.iter().enumerate() {
                if *line == own_block {
                    maintline.get_or_insert(FIRST + i);
                } else if maintline.is_some() && !nextmaint {
                    nextmaint = block_name_strict(line).is_some();
                }
                if !nextmaint {
                    if let Some(m) = maintline.as_mut() {
                        *m += 1;
                    }
                }
            }
        }

        let lastmultimaint = self.lines.iter().rev().find_map(|l| block_name_loose(l));
        let labelled = lastmultimaint.is_some();
        let multimaint = match lastmultimaint {
            None => self.trailer_name != maintainer,
            Some(last) => last != maintainer,
        } || nextmaint;
        if multimaint && !labelled {
            // `s/^(  .+)$/  [ $lastmaint ]\n$1/m`: label what is there so far.
            if let Some(i) = self
                .lines
                .iter()
                .position(|l| l.len() > 2 && l.starts_with("  "))
            {
                self.lines.insert(i, format!("  [ {} ]", self.trailer_name));
            }
        }
        let Some(text) = text else {
            return;
        };
        match (maintline, nextmaint) {
            (Some(maintline), true) => {
                // Into this maintainer's block, before the blank line ending it.
                let at = maintline - 1 - FIRST;
                self.lines.splice(at..at, text.iter().cloned());
            }
            _ => {
                if multimaint && maintline.is_none() {
                    self.lines.push(String::new());
                    self.lines.push(own_block);
                }
                self.lines.extend(text.iter().cloned());
            }
        }
    }
}

/// debchange's `^  \[ (.*) \]$`: the block lines its --multimaint-merge scan sees.
/// A name Perl finds false (`""`, `"0"`) never counts, as `$nextmaint ||= $1` goes.
fn block_name_strict(line: &str) -> Option<&str> {
    let name = line.strip_prefix("  [ ")?.strip_suffix(" ]")?;
    (!name.is_empty() && name != "0").then_some(name)
}

/// debchange's `^\s+\[\s+([^\]]+)\s+]\s*$`: the block lines that decide whether the
/// entry is already multi-maintainer. Looser than [`block_name_strict`]: any
/// indentation, so even a `Gbp-Dch: Full` body line can count.
fn block_name_loose(line: &str) -> Option<&str> {
    let is_space = |c: char| c.is_whitespace();
    let rest = line.strip_prefix(is_space)?.trim_start_matches(is_space);
    let rest = rest.strip_prefix('[')?;
    let rest = rest.strip_prefix(is_space)?.trim_start_matches(is_space);
    let close = rest.find(']')?;
    if !rest[close + 1..].chars().all(is_space) {
        return None;
    }
    // `([^\]]+)\s+` is greedy: the name keeps all but the last white space.
    let inner = &rest[..close];
    let last = inner.chars().last().filter(|&c| is_space(c))?;
    let name = &inner[..inner.len() - last.len_utf8()];
    (!name.is_empty()).then_some(name)
}

/// The distribution `debchange --release` gives an UNRELEASED section: a
/// distribution the new entry itself names (`Upload to X`, `Rebuild for X`,
/// a `~bpoNN+` or `+debNNu` version), else the previous entry's, else `unstable`.
fn release_distribution(previous: &str, version: &str, lines: &[String]) -> String {
    let dists = [
        ("10", "buster"),
        ("11", "bullseye"),
        ("12", "bookworm"),
        ("13", "trixie"),
    ];
    let numbered = |marker: &str, suffix: char| -> Option<&str> {
        let at = version.find(marker)? + marker.len();
        let digits: &str = &version[at..];
        let end = digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        if end == 0 || !digits[end..].starts_with(suffix) {
            return None;
        }
        dists
            .iter()
            .find(|(n, _)| *n == &digits[..end])
            .map(|(_, d)| *d)
    };
    let mut indicator = None;
    if let Some(d) = numbered("~bpo", '+') {
        indicator = Some(format!("{d}-backports"));
    }
    if let Some(d) = numbered("+deb", 'u') {
        indicator = Some(d.to_owned());
    }
    for line in lines {
        if let Some(dist) = upload_target(line) {
            indicator = Some(dist);
        }
    }
    indicator.unwrap_or_else(|| match previous {
        "UNRELEASED" | "" => "unstable".to_owned(),
        dist => dist.to_owned(),
    })
}

/// debchange's `/  \* (?:Upload to|Rebuild for) (\S+).*$/`, minus one trailing
/// `[!:.,;]`.
fn upload_target(line: &str) -> Option<String> {
    // Every position, not `match_indices`: matches of `  * ` may overlap.
    for i in (0..line.len()).filter(|&i| line.as_bytes()[i..].starts_with(b"  * ")) {
        let rest = &line[i + 4..];
        for verb in ["Upload to ", "Rebuild for "] {
            let word = rest
                .strip_prefix(verb)
                .and_then(|after| after.split(char::is_whitespace).next())
                .filter(|word| !word.is_empty());
            if let Some(word) = word {
                let word = word.strip_suffix(['!', ':', '.', ',', ';']).unwrap_or(word);
                return Some(word.to_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Header, Style, Trailer, render};
    use insta::assert_snapshot;
    use time::macros::datetime;

    /// Renders `(author, message)` pairs, newest first as git log lists them, as
    /// Rita Manager; commit ids are `1111…`, `2222…` in list order.
    fn check(commits: &[(&str, &str)], merge: bool) -> String {
        check_with(commits, merge, None)
    }

    /// [`check`] with the release manager's first bullet.
    fn check_with(commits: &[(&str, &str)], merge: bool, bullet: Option<&str>) -> String {
        let commits: Vec<Commit> = commits
            .iter()
            .enumerate()
            .map(|(i, (author, message))| {
                let digit = char::from_digit(i as u32 + 1, 16).expect("fewer than 15 commits");
                Commit {
                    id: digit.to_string().repeat(40),
                    short_id: digit.to_string().repeat(7),
                    author_name: author.to_string(),
                    author_email: "someone@example.org".into(),
                    message: message.to_string(),
                }
            })
            .collect();
        let header = Header {
            source: "lava".into(),
            version: "2024.05-1".into(),
            distribution: "unstable".into(),
            urgency: "medium".into(),
        };
        let trailer = Trailer {
            name: "Rita Manager".into(),
            email: "rm@example.org".into(),
            date: datetime!(2024-05-06 07:08:09 UTC),
        };
        let entry = Entry {
            header: &header,
            commits: &commits,
            trailer: &trailer,
        };
        let opts = Options {
            id_length: 9,
            multimaint_merge: merge,
            first_bullet: bullet.map(str::to_owned),
            ..Options::default()
        };
        render(&entry, Style::Gbp, &opts)
    }

    /// The bullet lines gbp makes of one commit message.
    fn lines(message: &str) -> String {
        let commit = Commit {
            id: "0123456789abcdef".into(),
            short_id: "0123456".into(),
            author_name: "A".into(),
            author_email: "a@example.org".into(),
            message: message.into(),
        };
        let opts = Options {
            id_length: 7,
            ..Options::default()
        };
        match format_commit(&commit, &opts) {
            Some(lines) => lines.join("\n"),
            None => "<ignored>".into(),
        }
    }

    #[test]
    fn only_the_release_manager_no_block() {
        assert_snapshot!(check(&[("Rita Manager", "Second\n"), ("Rita Manager", "First\n")], false), @r"
        lava (2024.05-1) unstable; urgency=medium

          * [222222222] First
          * [111111111] Second

         -- Rita Manager <rm@example.org>  Mon, 06 May 2024 07:08:09 +0000
        ");
    }

    #[test]
    fn single_other_author_gets_a_block_from_the_fixup() {
        assert_snapshot!(check(&[("Ann", "Two\n"), ("Ann", "One\n")], false), @r"
        lava (2024.05-1) unstable; urgency=medium

          [ Ann ]
          * [222222222] One
          * [111111111] Two

         -- Rita Manager <rm@example.org>  Mon, 06 May 2024 07:08:09 +0000
        ");
    }

    #[test]
    fn a_new_block_whenever_the_author_changes() {
        let commits = [
            ("Ann", "5\n"),
            ("Bob", "4\n"),
            ("Bob", "3\n"),
            ("Ann", "2\n"),
            ("Rita Manager", "1\n"),
        ];
        assert_snapshot!(check(&commits, false), @r"
        lava (2024.05-1) unstable; urgency=medium

          [ Rita Manager ]
          * [555555555] 1

          [ Ann ]
          * [444444444] 2

          [ Bob ]
          * [333333333] 3
          * [222222222] 4

          [ Ann ]
          * [111111111] 5

         -- Rita Manager <rm@example.org>  Mon, 06 May 2024 07:08:09 +0000
        ");
        assert_snapshot!(check(&commits, true), @r"
        lava (2024.05-1) unstable; urgency=medium

          [ Rita Manager ]
          * [555555555] 1

          [ Ann ]
          * [444444444] 2
          * [111111111] 5

          [ Bob ]
          * [333333333] 3
          * [222222222] 4

         -- Rita Manager <rm@example.org>  Mon, 06 May 2024 07:08:09 +0000
        ");
    }

    #[test]
    fn no_commits_is_gbps_dummy_entry() {
        assert_snapshot!(check(&[], false), @r"
        lava (2024.05-1) unstable; urgency=medium

          * UNRELEASED

         -- Rita Manager <rm@example.org>  Mon, 06 May 2024 07:08:09 +0000
        ");
        assert_eq!(
            check(&[("Ann", "x\n\nGbp-Dch: Ignore\n")], false),
            check(&[], false)
        );
    }

    #[test]
    fn the_release_bullet_replaces_the_dummy_entry() {
        // LAVA 2026.05-1: nothing under debian/ since 2026.04.
        let entry = check_with(&[], true, Some("LAVA Software 2024.05 release"));
        assert_snapshot!(entry, @r"
        lava (2024.05-1) unstable; urgency=medium

          * LAVA Software 2024.05 release

         -- Rita Manager <rm@example.org>  Mon, 06 May 2024 07:08:09 +0000
        ");
        assert_eq!(
            check_with(
                &[("Ann", "x\n\nGbp-Dch: Ignore\n")],
                true,
                Some("LAVA Software 2024.05 release")
            ),
            entry
        );
        assert_snapshot!(check_with(&[("Ann", "Fix it\n")], true, Some("LAVA Software 2024.05 release")), @r"
        lava (2024.05-1) unstable; urgency=medium

          * LAVA Software 2024.05 release

          [ Ann ]
          * [111111111] Fix it

         -- Rita Manager <rm@example.org>  Mon, 06 May 2024 07:08:09 +0000
        ");
    }

    #[test]
    fn meta_tags() {
        assert_snapshot!(lines("Fix it\n\nCloses: #123, #456\nLP: #789\nThanks: Jane Doe\n"), @r"
        [0123456] Fix it.
        Thanks to Jane Doe (Closes: #123, #456) (LP: #789)
        ");
        assert_snapshot!(lines("Fix it\n\nsome body\nGbp-Dch: Short\n"), @"[0123456] Fix it");
        assert_snapshot!(lines("Fix it\n\nsome body\n\n  indented more\nGbp-Dch: Full\n"), @r"
        [0123456] Fix it
        some body
          indented more
        ");
        assert_snapshot!(lines("Fix it\n\nGbp-Dch: ignore\n"), @"<ignored>");
        assert_snapshot!(lines("Fix it\n\ncloses: bug 12 and issue #3\nclosing: #4\n"), @"[0123456] Fix it (closes: bug 12, #3)");
        assert_snapshot!(lines("Fix it\n\nCloses: bug #12\nThanks:\tnobody here\n"), @"[0123456] Fix it.\nThanks to here");
    }

    #[test]
    fn without_meta_the_tags_are_body_lines_and_full_shows_them() {
        let commit = Commit {
            id: "0123456789abcdef".into(),
            short_id: "0123456".into(),
            author_name: "A".into(),
            author_email: "a@example.org".into(),
            message: "Fix it\n\nsome body\nCloses: #123\nThanks: Jane\n".into(),
        };
        let render = |meta, full| {
            let opts = Options {
                id_length: 7,
                meta,
                full,
                ..Options::default()
            };
            format_commit(&commit, &opts).unwrap().join("\n")
        };
        assert_snapshot!(render(false, false), @"[0123456] Fix it");
        assert_snapshot!(render(false, true), @r"
        [0123456] Fix it
        some body
        Closes: #123
        Thanks: Jane
        ");
        assert_snapshot!(render(true, true), @r"
        [0123456] Fix it
        some body
        Thanks to Jane (Closes: #123)
        ");
    }

    #[test]
    fn long_bug_note_goes_on_its_own_line() {
        let subject = "x".repeat(60);
        assert_snapshot!(lines(&format!("{subject}\n\nCloses: #1234567\n")), @r"
        [0123456] xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
        (Closes: #1234567)
        ");
    }

    #[test]
    fn full_stop_rules() {
        assert_snapshot!(lines("Ends with punctuation!\n\nGbp-Dch: Full\nNext line\n"), @r"
        [0123456] Ends with punctuation!
        Next line
        ");
        assert_snapshot!(lines("Continues\n\nGbp-Dch: Full\nlower case\n"), @r"
        [0123456] Continues
        lower case
        ");
    }

    #[test]
    fn block_names() {
        assert_eq!(
            block_name_loose("  [ Rémi Duraffort ]"),
            Some("Rémi Duraffort")
        );
        assert_eq!(block_name_loose("\t[  spaced  ]  "), Some("spaced "));
        assert_eq!(block_name_loose("  * [abc] x ]"), None);
        assert_eq!(block_name_loose("[ A ]"), None);
        assert_eq!(block_name_strict("  [ A ] b ]"), Some("A ] b"));
        assert_eq!(block_name_strict("  [ 0 ]"), None);
    }

    #[test]
    fn release_distribution_like_debchange() {
        let none: [String; 0] = [];
        assert_eq!(release_distribution("unstable", "1-1", &none), "unstable");
        assert_eq!(release_distribution("UNRELEASED", "1-1", &none), "unstable");
        assert_eq!(
            release_distribution("unstable", "1-1~bpo12+1", &none),
            "bookworm-backports"
        );
        assert_eq!(
            release_distribution("unstable", "1-1+deb11u2", &none),
            "bullseye"
        );
        let lines = [
            "  * [abc] x".to_owned(),
            "  * Upload to experimental.".to_owned(),
        ];
        assert_eq!(
            release_distribution("unstable", "1-1", &lines),
            "experimental"
        );
    }
}
