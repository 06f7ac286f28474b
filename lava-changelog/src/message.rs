//! Splitting a commit message the way git's `%s` and `%b` do, and the few Python
//! string predicates gbp's formatting relies on.

/// git's notion of white space (`sane_ctype`'s `GIT_SPACE`): no `\v` or `\f`.
fn is_git_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Length of the line at the start of `msg`, including its `\n` (git's
/// `get_one_line`).
fn one_line_len(msg: &str) -> usize {
    msg.find('\n').map_or(msg.len(), |i| i + 1)
}

/// The line without trailing white space, or `None` if that leaves nothing
/// (git's `is_blank_line`).
fn trim_blank(line: &str) -> Option<&str> {
    let trimmed = line.trim_end_matches(|c: char| c.is_ascii() && is_git_space(c as u8));
    (!trimmed.is_empty()).then_some(trimmed)
}

/// Skips leading blank lines (git's `skip_blank_lines`).
fn skip_blank_lines(mut msg: &str) -> &str {
    loop {
        let len = one_line_len(msg);
        if len == 0 || trim_blank(&msg[..len]).is_some() {
            return msg;
        }
        msg = &msg[len..];
    }
}

/// Subject (`%s`) and body (`%b`) of a raw commit message, as git's pretty.c
/// computes them: the subject is the first paragraph's lines, each without
/// trailing white space, joined by one space; the body is everything after the
/// blank lines that follow it, verbatim.
pub(crate) fn subject_and_body(message: &str) -> (String, &str) {
    let mut msg = skip_blank_lines(message);
    let mut subject = String::new();
    loop {
        let len = one_line_len(msg);
        let line = &msg[..len];
        msg = &msg[len..];
        let Some(line) = (len > 0).then(|| trim_blank(line)).flatten() else {
            break;
        };
        if !subject.is_empty() {
            subject.push(' ');
        }
        subject.push_str(line);
    }
    (subject, skip_blank_lines(msg))
}

/// Python's `str.isspace()` for one character: Unicode white space plus the
/// information separators U+001C..U+001F, which Rust does not count.
pub(crate) fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` with no argument.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}

/// gbp's `_ispunct`: neither alphanumeric nor white space.
pub(crate) fn py_ispunct(c: char) -> bool {
    !c.is_alphanumeric() && !py_isspace(c)
}

/// Python's `str.splitlines()`: splits on every line boundary Python knows
/// (`\r\n` counting as one), dropping the boundaries and any final empty line.
pub(crate) fn py_splitlines(s: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\u{0b}'
                | '\u{0c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if !is_break {
            continue;
        }
        lines.push(&s[start..i]);
        start = i + c.len_utf8();
        if c == '\r' && chars.peek().map(|&(_, n)| n) == Some('\n') {
            chars.next();
            start += 1;
        }
    }
    if start < s.len() {
        lines.push(&s[start..]);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(message: &str, subject: &str, body: &str) {
        let (s, b) = subject_and_body(message);
        assert_eq!((s.as_str(), b), (subject, body), "message: {message:?}");
    }

    #[test]
    fn subject_is_first_paragraph_joined() {
        check("Fix the thing\n", "Fix the thing", "");
        check("Fix the\nthing  \n\nBody\n", "Fix the thing", "Body\n");
        check(
            "\n \nLeading blanks\n\n\n  \nBody  \nmore\n",
            "Leading blanks",
            "Body  \nmore\n",
        );
        check(
            "  indented\tsubject\t\r\n \t\nx",
            "  indented\tsubject",
            "x",
        );
        check("no newline", "no newline", "");
        check("", "", "");
    }

    #[test]
    fn splitlines_like_python() {
        assert_eq!(
            py_splitlines("a\nb\r\nc\rd\u{2028}e\n"),
            ["a", "b", "c", "d", "e"]
        );
        assert_eq!(py_splitlines("a\n\nb"), ["a", "", "b"]);
        assert!(py_splitlines("").is_empty());
        assert_eq!(py_splitlines("\n"), [""]);
    }

    #[test]
    fn python_predicates() {
        assert!(py_isspace('\u{1f}') && py_isspace('\u{a0}') && !py_isspace('x'));
        assert!(py_ispunct('.') && py_ispunct(')') && !py_ispunct('é') && !py_ispunct(' '));
        assert_eq!(py_strip("\u{1c} a b \t"), "a b");
    }
}
