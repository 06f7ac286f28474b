//! Reading the top entry of a changelog, with dpkg-parsechangelog's rules
//! (`Dpkg::Changelog::Entry::Debian`'s header and trailer regexes).

use crate::{Error, Result, TopEntry};

/// dpkg's `$name_chars`: `[-+0-9a-z.]`, case-insensitive.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.')
}

/// The header's fields, or what is wrong with it.
struct Header<'a> {
    source: &'a str,
    version: &'a str,
    distributions: Vec<&'a str>,
    options: &'a str,
}

/// dpkg's `$regex_header`:
/// `^(\w$name_chars*) \(([^\(\) \t]+)\)((?:\s+$name_chars+)+)\;(.*?)\s*$`.
fn match_header(line: &str) -> Option<Header<'_>> {
    let (source, rest) = line.split_once(" (")?;
    let mut chars = source.chars();
    let first = chars.next()?;
    if !(first.is_alphanumeric() || first == '_') || !chars.all(is_name_char) {
        return None;
    }
    let (version, rest) = rest.split_once(')')?;
    if version.is_empty() || version.contains(['(', ' ', '\t']) {
        return None;
    }
    let (dists, options) = rest.split_once(';')?;
    // Every distribution is preceded by white space, and the last one is followed
    // directly by the `;`.
    if !dists.starts_with(char::is_whitespace) || dists.ends_with(char::is_whitespace) {
        return None;
    }
    let distributions: Vec<&str> = dists.split_whitespace().collect();
    if distributions.is_empty() || !distributions.iter().all(|d| d.chars().all(is_name_char)) {
        return None;
    }
    Some(Header {
        source,
        version,
        distributions,
        options: options.trim(),
    })
}

/// The `urgency` of a header's `key=value` options, lower-cased and cut at the
/// first white space as `dpkg-parsechangelog` reports it; `unknown` without one.
fn urgency(options: &str, line: usize) -> Result<String> {
    let mut urgency = None;
    for opt in options.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let bad = || Error::BadHeaderOption {
            line,
            option: opt.to_owned(),
        };
        let (key, value) = opt.split_once('=').ok_or_else(bad)?;
        let valid_key =
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        let value = value.trim_start();
        if !valid_key || value.is_empty() {
            return Err(bad());
        }
        if key.eq_ignore_ascii_case("urgency") {
            let word = value.split_whitespace().next().unwrap_or(value);
            urgency = Some(word.to_lowercase());
        }
    }
    Ok(urgency.unwrap_or_else(|| "unknown".to_owned()))
}

/// dpkg's `$regex_trailer`, loosely: ` -- Name <email>  date`. Returns the
/// maintainer as `Name <email>` and the date as written.
fn match_trailer(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix(" -- ")?;
    let close = rest.rfind('>')?;
    let maintainer = &rest[..=close];
    maintainer.rfind(" <")?;
    let date = rest[close + 1..].strip_prefix(' ')?;
    let date = date.strip_prefix(' ').unwrap_or(date).trim_end();
    (!date.is_empty()).then_some((maintainer, date))
}

pub(crate) fn parse_top(text: &str) -> Result<TopEntry> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let Some((header_line, header_text)) = lines.by_ref().find(|(_, l)| !l.trim().is_empty())
    else {
        return Err(Error::Empty);
    };
    let header = match_header(header_text).ok_or_else(|| Error::BadHeader {
        line: header_line,
        text: header_text.to_owned(),
    })?;
    let urgency = urgency(header.options, header_line)?;
    for (line, text) in lines {
        if text.starts_with(" --") {
            let (maintainer, date) = match_trailer(text).ok_or_else(|| Error::BadTrailer {
                line,
                text: text.to_owned(),
            })?;
            return Ok(TopEntry {
                source: header.source.to_owned(),
                version: header.version.to_owned(),
                distribution: header.distributions.join(" "),
                urgency,
                maintainer: maintainer.to_owned(),
                date: date.to_owned(),
            });
        }
        if match_header(text).is_some() {
            return Err(Error::MissingTrailer {
                line: header_line,
                next: Some(line),
            });
        }
    }
    Err(Error::MissingTrailer {
        line: header_line,
        next: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use insta::assert_snapshot;

    fn check(text: &str) -> String {
        match parse_top(text) {
            Ok(top) => format!("{top:?}"),
            Err(err) => format!("error: {err}"),
        }
    }

    #[test]
    fn released_entry() {
        assert_snapshot!(check("lava (2024.01-1) unstable; urgency=medium\n\n  * LAVA Software 2024.01 release\n\n -- Rémi Duraffort <remi@example.org>  Tue, 30 Jan 2024 10:11:12 +0100\n\nlava (2023.10-1) unstable; urgency=medium\n"), @r#"TopEntry { source: "lava", version: "2024.01-1", distribution: "unstable", urgency: "medium", maintainer: "Rémi Duraffort <remi@example.org>", date: "Tue, 30 Jan 2024 10:11:12 +0100" }"#);
    }

    #[test]
    fn dpkg_field_rules() {
        assert_snapshot!(check("\n\nlava-server (1:0.20~rc1-4)  unstable   experimental; urgency=HIGH (security), binary-only=yes  \n\n  * x\n\n -- N <n@x>  Fri, 07 Jun 2013 15:16:58 +0100\n"), @r#"TopEntry { source: "lava-server", version: "1:0.20~rc1-4", distribution: "unstable experimental", urgency: "high", maintainer: "N <n@x>", date: "Fri, 07 Jun 2013 15:16:58 +0100" }"#);
        assert_snapshot!(check("lava (1) UNRELEASED;\n\n  * x\n\n -- N <n@x>  Fri, 07 Jun 2013 15:16:58 +0100\n"), @r#"TopEntry { source: "lava", version: "1", distribution: "UNRELEASED", urgency: "unknown", maintainer: "N <n@x>", date: "Fri, 07 Jun 2013 15:16:58 +0100" }"#);
    }

    #[test]
    fn errors_name_the_line() {
        assert_snapshot!(check(""), @"error: the changelog is empty: expected an entry header such as `lava (2024.01-1) unstable; urgency=medium`");
        assert_snapshot!(check(" \n\t\n"), @"error: the changelog is empty: expected an entry header such as `lava (2024.01-1) unstable; urgency=medium`");
        assert_snapshot!(check("\n  * lava (1) unstable; urgency=medium\n"), @"error: line 2 is not a changelog entry header (`source (version) distribution; urgency=...`): `  * lava (1) unstable; urgency=medium`");
        assert_snapshot!(check("lava (1 2) unstable; urgency=low\n"), @"error: line 1 is not a changelog entry header (`source (version) distribution; urgency=...`): `lava (1 2) unstable; urgency=low`");
        assert_snapshot!(check("lava (1) unstable; urgency\n"), @"error: line 1: bad key-value after `;`: `urgency`");
        assert_snapshot!(check("lava (1) unstable; urgency=low\n\n  * x\n -- nobody\n"), @"error: line 4 is not a changelog trailer (` -- Name <email>  date`): ` -- nobody`");
        assert_snapshot!(check("lava (1) unstable; urgency=low\n\n  * x\n"), @"error: the entry at line 1 has no trailer (` -- Name <email>  date`) before the end of the file");
        assert_snapshot!(check("lava (2) unstable; urgency=low\n\n  * x\n\nlava (1) unstable; urgency=low\n"), @"error: the entry at line 1 has no trailer (` -- Name <email>  date`) before the next entry at line 5");
    }
}
