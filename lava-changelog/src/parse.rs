//! Reading the top entry of a changelog, with dpkg-parsechangelog's rules
//! (`Dpkg::Changelog::Entry::Debian`'s header and trailer regexes).

use crate::{Error, Result, TopEntry, Warning};

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
/// first white space as `dpkg-parsechangelog` reports it; `unknown` without one. A
/// malformed option is a warning, as dpkg makes it one.
fn urgency(options: &str, line: usize, warnings: &mut Vec<Warning>) -> String {
    let mut urgency = None;
    for opt in options.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let valid = opt.split_once('=').filter(|(key, value)| {
            !key.is_empty()
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !value.trim_start().is_empty()
        });
        let Some((key, value)) = valid else {
            warnings.push(Warning::new(
                line,
                format!("bad key-value after `;`: `{opt}`"),
            ));
            continue;
        };
        if key.eq_ignore_ascii_case("urgency") {
            let value = value.trim_start();
            let word = value.split_whitespace().next().unwrap_or(value);
            urgency = Some(word.to_lowercase());
        }
    }
    urgency.unwrap_or_else(|| "unknown".to_owned())
}

/// A trailer line's maintainer (`Name <email>`) and date, read leniently: whatever
/// lies between `--` and the last `>`, and what follows it.
fn read_trailer(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix("--")?.trim_start();
    let close = rest.rfind('>')?;
    rest[..close].contains('<').then_some(())?;
    Some((rest[..=close].trim(), rest[close + 1..].trim()))
}

/// dpkg's `$regex_trailer`, `^ \-\- (.*) <(.*)>(  ?)(DATE)\s*$`, with what dpkg also
/// warns about: an empty name, one space before the date.
fn trailer_is_well_formed(line: &str) -> bool {
    let Some(rest) = line.strip_prefix(" -- ") else {
        return false;
    };
    let Some(close) = rest.rfind('>') else {
        return false;
    };
    let Some(open) = rest[..close].rfind(" <") else {
        return false;
    };
    !rest[..open].trim().is_empty()
        && rest[close + 1..]
            .strip_prefix("  ")
            .is_some_and(|date| date_is_well_formed(date.trim_end()))
}

/// dpkg's trailer date,
/// `(\w+\,\s*)?\d{1,2}\s+\w+\s+\d{4}\s+\d{1,2}:\d\d:\d\d\s+[-+]\d{4}(\s+\([^\\\(\)]\))?`.
fn date_is_well_formed(date: &str) -> bool {
    let date = match date.split_once(',') {
        Some((day, rest)) if !day.is_empty() && day.chars().all(is_word_char) => rest,
        Some(_) => return false,
        None => date,
    };
    let digits = |s: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    let time = |s: &str| {
        let mut parts = s.split(':');
        let (Some(h), Some(m), Some(sec), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        digits(h, 1..=2) && digits(m, 2..=2) && digits(sec, 2..=2)
    };
    let zone =
        |s: &str| s.len() == 5 && matches!(s.as_bytes()[0], b'+' | b'-') && digits(&s[1..], 4..=4);
    let mut words = date.split_whitespace();
    let fields: Vec<&str> = words.by_ref().take(5).collect();
    let comment: Vec<&str> = words.collect();
    let comment = comment.join(" ");
    match fields.as_slice() {
        [day, month, year, hms, tz] => {
            digits(day, 1..=2)
                && !month.is_empty()
                && month.chars().all(is_word_char)
                && digits(year, 4..=4)
                && time(hms)
                && zone(tz)
                && (comment.is_empty() || comment.starts_with('(') && comment.ends_with(')'))
        }
        _ => false,
    }
}

/// Perl's `\w`.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
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
    let mut warnings = Vec::new();
    let urgency = urgency(header.options, header_line, &mut warnings);
    let (mut maintainer, mut date, mut ended) = (None, None, false);
    for (line, text) in lines {
        // A trailer indented by hand must otherwise be one, date and all: a change
        // line may well start with `-- `.
        let indented_trailer = text.trim_start().starts_with("-- ")
            && read_trailer(text).is_some_and(|(_, date)| date_is_well_formed(date));
        let trailer = text.starts_with(" --") || indented_trailer;
        if trailer {
            if !text.starts_with(" --") {
                warnings.push(Warning::new(
                    line,
                    format!(
                        "trailer indented by hand (dpkg reads it as a change): `{}`",
                        text.trim_end()
                    ),
                ));
            } else if !trailer_is_well_formed(text) {
                warnings.push(Warning::new(
                    line,
                    format!("badly formatted trailer line: `{}`", text.trim_end()),
                ));
            }
            if let Some((who, when)) = read_trailer(text) {
                maintainer = Some(who.to_owned());
                date = (!when.is_empty()).then(|| when.to_owned());
            }
            ended = true;
            break;
        }
        if match_header(text).is_some() {
            warnings.push(Warning::new(
                line,
                format!(
                    "the next entry starts before the trailer of the entry at line {header_line}"
                ),
            ));
            ended = true;
            break;
        }
    }
    if !ended {
        warnings.push(Warning::new(
            header_line,
            "the entry has no trailer before the end of the file".to_owned(),
        ));
    }
    Ok(TopEntry {
        source: header.source.to_owned(),
        version: header.version.to_owned(),
        distribution: header.distributions.join(" "),
        urgency,
        maintainer,
        date,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use insta::assert_snapshot;

    fn check(text: &str) -> String {
        match parse_top(text) {
            Ok(top) => {
                let mut out = format!(
                    "{} {} {} {} | {} | {}",
                    top.source,
                    top.version,
                    top.distribution,
                    top.urgency,
                    top.maintainer.as_deref().unwrap_or("-"),
                    top.date.as_deref().unwrap_or("-"),
                );
                for warning in &top.warnings {
                    out.push_str(&format!("\nwarning: {warning}"));
                }
                out
            }
            Err(err) => format!("error: {err}"),
        }
    }

    const TRAILER: &str = " -- Rémi Duraffort <remi@example.org>  Tue, 30 Jan 2024 10:11:12 +0100";

    #[test]
    fn released_entry() {
        assert_snapshot!(check(&format!("lava (2024.01-1) unstable; urgency=medium\n\n  * LAVA Software 2024.01 release\n\n{TRAILER}\n\nlava (2023.10-1) unstable; urgency=medium\n")), @"lava 2024.01-1 unstable medium | Rémi Duraffort <remi@example.org> | Tue, 30 Jan 2024 10:11:12 +0100");
    }

    #[test]
    fn dpkg_field_rules() {
        assert_snapshot!(check("\n\nlava-server (1:0.20~rc1-4)  unstable   experimental; urgency=HIGH (security), binary-only=yes  \n\n  * x\n\n -- N <n@x>  Fri, 07 Jun 2013 15:16:58 +0100\n"), @"lava-server 1:0.20~rc1-4 unstable experimental high | N <n@x> | Fri, 07 Jun 2013 15:16:58 +0100");
        assert_snapshot!(check("lava (1) UNRELEASED;\n\n  * x\n\n -- N <n@x>  07 Jun 2013 15:16:58 +0100 (a comment)\n"), @"lava 1 UNRELEASED unknown | N <n@x> | 07 Jun 2013 15:16:58 +0100 (a comment)");
    }

    #[test]
    fn hand_edits_are_warnings_as_dpkg_makes_them() {
        // Each hand edit seen in real changelogs, which dpkg-parsechangelog and gbp read.
        assert_snapshot!(check("lava (2024.05-1) unstable; urgency=medium\n\n  *  two spaces after the star  \n   \n\n  -- Rémi Duraffort <remi@example.org>  Tue, 30 Jan 2024 10:11:12 +0100\n\nlava (2024.03-1) unstable; urgency=medium\n"), @r"
        lava 2024.05-1 unstable medium | Rémi Duraffort <remi@example.org> | Tue, 30 Jan 2024 10:11:12 +0100
        warning: line 6: trailer indented by hand (dpkg reads it as a change): `  -- Rémi Duraffort <remi@example.org>  Tue, 30 Jan 2024 10:11:12 +0100`
        ");
        assert_snapshot!(check("lava (2024.05-1) unstable; urgency=medium\n\n  * x\n\n -- <remi@example.org>  Tue, 30 Jan 2024 10:11:12 +0100   \n"), @r"
        lava 2024.05-1 unstable medium | <remi@example.org> | Tue, 30 Jan 2024 10:11:12 +0100
        warning: line 5: badly formatted trailer line: ` -- <remi@example.org>  Tue, 30 Jan 2024 10:11:12 +0100`
        ");
        assert_snapshot!(check("lava (2024.05-1) unstable; urgency=medium\n\n  * x\n\n -- R <r@x> Tue, 30 Jan 2024 10:11:12 +0100\n"), @r"
        lava 2024.05-1 unstable medium | R <r@x> | Tue, 30 Jan 2024 10:11:12 +0100
        warning: line 5: badly formatted trailer line: ` -- R <r@x> Tue, 30 Jan 2024 10:11:12 +0100`
        ");
        assert_snapshot!(check("lava (2024.05-1) unstable; urgency=medium\n\n  * x\n\n -- nobody\n"), @r"
        lava 2024.05-1 unstable medium | - | -
        warning: line 5: badly formatted trailer line: ` -- nobody`
        ");
        assert_snapshot!(check("lava (1) unstable; urgency\n\n  * x\n\n -- R <r@x>  Tue, 30 Jan 2024 10:11:12 +0100\n"), @r"
        lava 1 unstable unknown | R <r@x> | Tue, 30 Jan 2024 10:11:12 +0100
        warning: line 1: bad key-value after `;`: `urgency`
        ");
        assert_snapshot!(check("lava (1) unstable; urgency=low\n\n  * x\n"), @r"
        lava 1 unstable low | - | -
        warning: line 1: the entry has no trailer before the end of the file
        ");
        // A change line that starts like a trailer is a change line.
        assert_snapshot!(check("lava (1) unstable; urgency=low\n\n  * x\n    -- see <https://lava.example/>\n\n -- R <r@x>  Tue, 30 Jan 2024 10:11:12 +0100\n"), @"lava 1 unstable low | R <r@x> | Tue, 30 Jan 2024 10:11:12 +0100");
        assert_snapshot!(check("lava (2) unstable; urgency=low\n\n  * x\n\nlava (1) unstable; urgency=low\n"), @r"
        lava 2 unstable low | - | -
        warning: line 5: the next entry starts before the trailer of the entry at line 1
        ");
    }

    #[test]
    fn what_dpkg_cannot_read_is_refused() {
        assert_snapshot!(check(""), @"error: the changelog is empty: expected an entry header such as `lava (2024.01-1) unstable; urgency=medium`");
        assert_snapshot!(check(" \n\t\n"), @"error: the changelog is empty: expected an entry header such as `lava (2024.01-1) unstable; urgency=medium`");
        assert_snapshot!(check("\n  * lava (1) unstable; urgency=medium\n"), @"error: line 2 is not a changelog entry header (`source (version) distribution; urgency=...`): `  * lava (1) unstable; urgency=medium`");
        assert_snapshot!(check("lava (1 2) unstable; urgency=low\n"), @"error: line 1 is not a changelog entry header (`source (version) distribution; urgency=...`): `lava (1 2) unstable; urgency=low`");
    }
}
