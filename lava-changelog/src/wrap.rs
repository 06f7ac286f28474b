//! A port of GNU coreutils' `fmt` (src/fmt.c), split-only mode, for one line.
//!
//! `fmt` is not greedy: it picks the breaks of a paragraph that minimise a cost
//! (distance from a goal width of 93% of the maximum, raggedness, penalties for
//! widows and orphans, bonuses for breaking at sentence ends and punctuation), so
//! matching it byte for byte means porting the cost model, not re-implementing
//! "wrap at N columns". Like `fmt`, this counts bytes, not characters: a line with
//! non-ASCII text is filled to fewer visible columns, exactly as `fmt` fills it.
//! White space is ASCII white space; `fmt` treats other bytes as word characters
//! in any locale whose multi-byte characters are not single `isspace` bytes.

/// A cost, in tenths of a column squared (`fmt.c`'s `COST`).
type Cost = i64;

const fn equiv(n: Cost) -> Cost {
    n * n
}
const fn short_cost(n: Cost) -> Cost {
    equiv(n * 10)
}
const fn ragged_cost(n: Cost) -> Cost {
    short_cost(n) / 2
}
const LINE_COST: Cost = equiv(70);
const fn widow_cost(n: Cost) -> Cost {
    equiv(200) / (n + 2)
}
const fn orphan_cost(n: Cost) -> Cost {
    equiv(150) / (n + 2)
}
const SENTENCE_BONUS: Cost = equiv(50);
const NOBREAK_COST: Cost = equiv(600);
const PAREN_BONUS: Cost = equiv(40);
const PUNCT_BONUS: Cost = equiv(40);
const LINE_CREDIT: Cost = equiv(3);

/// `fmt.c`'s paragraph buffer limits; reaching them flushes part of the paragraph.
const MAXWORDS: usize = 1000;
const MAXCHARS: usize = 5000;
const TABWIDTH: usize = 8;
/// `fmt.c`'s LEEWAY: the goal is this many percent shorter than the maximum.
const LEEWAY: usize = 7;

#[derive(Debug, Clone, Default)]
struct Word {
    /// Byte range in `Fmt::buf`.
    start: usize,
    length: usize,
    space: usize,
    paren: bool,
    period: bool,
    punct: bool,
    is_final: bool,
    line_length: usize,
    best_cost: Cost,
    next_break: usize,
}

/// The C locale's `isspace`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The state of one `fmt -s [-u] -w WIDTH` run over a single input line.
struct Fmt<'a> {
    input: &'a [u8],
    pos: usize,
    max_width: usize,
    goal_width: usize,
    uniform: bool,
    out: Vec<u8>,
    tabs: bool,
    in_column: usize,
    out_column: usize,
    buf: Vec<u8>,
    word: Vec<Word>,
    first_indent: usize,
    other_indent: usize,
    last_line_length: usize,
}

/// What `printf '%s\n' "$line" | fmt -s [-u] -w WIDTH` prints, without the final
/// newline: `line` split into lines of at most `max_width` bytes where words allow,
/// continuation lines indented like the first.
#[cfg(test)]
pub(crate) fn fmt_split(line: &str, max_width: usize, uniform: bool) -> String {
    fmt_split_more(line, max_width, uniform, &mut false)
}

/// [`fmt_split`] for one line of a longer input: `tabs` says whether fmt has seen a
/// tab in an earlier line, which makes it space with tabs from then on, and is set
/// when this line has one.
pub(crate) fn fmt_split_more(
    line: &str,
    max_width: usize,
    uniform: bool,
    tabs: &mut bool,
) -> String {
    let mut fmt = Fmt {
        input: line.as_bytes(),
        pos: 0,
        max_width,
        goal_width: max_width * (2 * (100 - LEEWAY) + 1) / 200,
        uniform,
        out: Vec::new(),
        tabs: *tabs,
        in_column: 0,
        out_column: 0,
        buf: Vec::with_capacity(line.len()),
        word: Vec::new(),
        first_indent: 0,
        other_indent: 0,
        last_line_length: 0,
    };
    fmt.run();
    *tabs = fmt.tabs;
    if fmt.out.last() == Some(&b'\n') {
        fmt.out.pop();
    }
    // Only ASCII white space separates words, so valid UTF-8 stays valid except
    // when a single word longer than MAXCHARS is flushed in pieces.
    String::from_utf8_lossy(&fmt.out).into_owned()
}

impl Fmt<'_> {
    /// `getc`: the input line, then the newline `printf` adds, then EOF.
    fn getc(&mut self) -> Option<u8> {
        let c = match self.pos.cmp(&self.input.len()) {
            std::cmp::Ordering::Less => Some(self.input[self.pos]),
            std::cmp::Ordering::Equal => Some(b'\n'),
            std::cmp::Ordering::Greater => None,
        };
        self.pos += 1;
        c
    }

    fn run(&mut self) {
        // fmt(): get_prefix, then one paragraph per non-blank line (split mode).
        let mut c = self.get_prefix();
        loop {
            // Blank lines are copied as empty lines (copy_rest).
            let first = loop {
                match c {
                    None => return,
                    Some(b'\n') => {
                        self.out.push(b'\n');
                        c = self.get_prefix();
                    }
                    Some(b) => break b,
                }
            };
            self.first_indent = self.in_column;
            // set_other_indent in split mode.
            self.other_indent = self.first_indent;
            self.buf.clear();
            self.word.clear();
            self.last_line_length = 0;
            c = self.get_line(first);
            let limit = self.word.len();
            let last = &mut self.word[limit - 1];
            last.period = true;
            last.is_final = true;
            // fmt.c uses the slot after the last word as the sentinel.
            self.word.push(Word::default());
            self.fmt_paragraph(limit);
            self.put_paragraph(limit);
        }
    }

    /// Leading blanks of a line (there is no prefix); returns the first other byte.
    fn get_prefix(&mut self) -> Option<u8> {
        self.in_column = 0;
        let c = self.getc();
        self.get_space(c)
    }

    fn get_space(&mut self, mut c: Option<u8>) -> Option<u8> {
        loop {
            match c {
                Some(b' ') => self.in_column += 1,
                Some(b'\t') => {
                    self.tabs = true;
                    self.in_column = (self.in_column / TABWIDTH + 1) * TABWIDTH;
                }
                _ => return c,
            }
            c = self.getc();
        }
    }

    /// Reads the words of one line, starting with the non-blank byte `first`;
    /// returns the first non-blank byte of the next line.
    fn get_line(&mut self, first: u8) -> Option<u8> {
        let mut byte = first;
        loop {
            // Like fmt.c, the byte that starts a word is taken whatever it is (a
            // `\r` after a word starts the next one).
            let mut w = Word {
                start: self.buf.len(),
                ..Word::default()
            };
            let mut c;
            loop {
                if self.buf.len() == MAXCHARS {
                    // The buffer is full: flush, carrying the unfinished word over.
                    self.word.push(w);
                    self.flush_paragraph();
                    w = self
                        .word
                        .pop()
                        .expect("the unfinished word was pushed above");
                }
                self.buf.push(byte);
                c = self.getc();
                match c {
                    Some(b) if !is_space(b) => byte = b,
                    _ => break,
                }
            }
            w.length = self.buf.len() - w.start;
            self.in_column += w.length;
            self.check_punctuation(&mut w);

            let start = self.in_column;
            c = self.get_space(c);
            w.space = self.in_column - start;
            w.is_final = c.is_none() || (w.period && (c == Some(b'\n') || w.space > 1));
            if matches!(c, Some(b'\n') | None) || self.uniform {
                w.space = if w.is_final { 2 } else { 1 };
            }
            self.word.push(w);
            if self.word.len() - 1 == MAXWORDS - 2 {
                self.flush_paragraph();
            }
            match c {
                Some(b'\n') | None => break,
                Some(b) => byte = b,
            }
        }
        self.get_prefix()
    }

    fn check_punctuation(&self, w: &mut Word) {
        let text = &self.buf[w.start..w.start + w.length];
        let mut finish = text.len() - 1;
        w.paren = b"(['`\"".contains(&text[0]);
        w.punct = text[finish].is_ascii_punctuation();
        while finish > 0 && b")]'\"".contains(&text[finish]) {
            finish -= 1;
        }
        w.period = b".?!".contains(&text[finish]);
    }

    /// Prints part of an over-long paragraph and keeps the rest. The last word in
    /// `self.word` is the one being read (`word_limit` in fmt.c).
    fn flush_paragraph(&mut self) {
        let limit = self.word.len() - 1;
        if limit == 0 {
            // All one word: print what there is of it.
            self.out.extend_from_slice(&self.buf);
            self.buf.clear();
            return;
        }
        self.fmt_paragraph(limit);
        let mut split_point = limit;
        let mut best_break = Cost::MAX;
        let mut w = self.word[0].next_break;
        while w != limit {
            let next = self.word[w].next_break;
            let cost = self.word[w].best_cost - self.word[next].best_cost;
            if cost < best_break {
                split_point = w;
                best_break = cost;
            }
            if best_break <= Cost::MAX - LINE_CREDIT {
                best_break += LINE_CREDIT;
            }
            w = next;
        }
        self.put_paragraph(split_point);
        let shift = self.word[split_point].start;
        self.buf.drain(..shift);
        self.word.drain(..split_point);
        for w in &mut self.word {
            w.start -= shift;
        }
    }

    /// Optimal breaks for words `0..limit`, computed from the last suffix back;
    /// `self.word[limit]` is the sentinel.
    fn fmt_paragraph(&mut self, limit: usize) {
        self.word[limit].best_cost = 0;
        let saved_length = self.word[limit].length;
        // No line can reach past the end.
        self.word[limit].length = self.max_width;
        for start in (0..limit).rev() {
            let mut best = Cost::MAX;
            let mut len = if start == 0 {
                self.first_indent
            } else {
                self.other_indent
            };
            let mut w = start;
            len += self.word[w].length;
            loop {
                w += 1;
                let mut wcost = self.line_cost(w, len, limit) + self.word[w].best_cost;
                if start == 0 && self.last_line_length > 0 {
                    wcost += ragged_cost(len as Cost - self.last_line_length as Cost);
                }
                if wcost < best {
                    best = wcost;
                    self.word[start].next_break = w;
                    self.word[start].line_length = len;
                }
                if w == limit {
                    break;
                }
                len += self.word[w - 1].space + self.word[w].length;
                if len >= self.max_width {
                    break;
                }
            }
            self.word[start].best_cost = best + self.base_cost(start);
        }
        self.word[limit].length = saved_length;
    }

    /// The constant part of the cost of breaking before word `this`.
    fn base_cost(&self, this: usize) -> Cost {
        let mut cost = LINE_COST;
        if this > 0 {
            let prev = &self.word[this - 1];
            if prev.period {
                if prev.is_final {
                    cost -= SENTENCE_BONUS;
                } else {
                    cost += NOBREAK_COST;
                }
            } else if prev.punct {
                cost -= PUNCT_BONUS;
            } else if this > 1 && self.word[this - 2].is_final {
                cost += widow_cost(prev.length as Cost);
            }
        }
        let w = &self.word[this];
        if w.paren {
            cost -= PAREN_BONUS;
        } else if w.is_final {
            cost += orphan_cost(w.length as Cost);
        }
        cost
    }

    /// The part of the cost of breaking before `next` that depends on `len`, the
    /// length of the line ending there.
    fn line_cost(&self, next: usize, len: usize, limit: usize) -> Cost {
        if next == limit {
            return 0;
        }
        let mut cost = short_cost(self.goal_width as Cost - len as Cost);
        if self.word[next].next_break != limit {
            cost += ragged_cost(len as Cost - self.word[next].line_length as Cost);
        }
        cost
    }

    fn put_paragraph(&mut self, finish: usize) {
        self.put_line(0, self.first_indent);
        let mut w = self.word[0].next_break;
        while w != finish {
            self.put_line(w, self.other_indent);
            w = self.word[w].next_break;
        }
    }

    fn put_line(&mut self, mut w: usize, indent: usize) {
        self.out_column = 0;
        self.put_space(indent);
        let endline = self.word[w].next_break - 1;
        while w != endline {
            self.put_word(w);
            self.put_space(self.word[w].space);
            w += 1;
        }
        self.put_word(w);
        self.last_line_length = self.out_column;
        self.out.push(b'\n');
    }

    fn put_word(&mut self, w: usize) {
        let Word { start, length, .. } = self.word[w];
        self.out.extend_from_slice(&self.buf[start..start + length]);
        self.out_column += length;
    }

    /// `space` columns of white space, as tabs where they reach a tab stop if the
    /// input had tabs.
    fn put_space(&mut self, space: usize) {
        let space_target = self.out_column + space;
        if self.tabs {
            let tab_target = space_target / TABWIDTH * TABWIDTH;
            if self.out_column + 1 < tab_target {
                while self.out_column < tab_target {
                    self.out.push(b'\t');
                    self.out_column = (self.out_column / TABWIDTH + 1) * TABWIDTH;
                }
            }
        }
        while self.out_column < space_target {
            self.out.push(b' ');
            self.out_column += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fmt_split;
    use insta::assert_snapshot;
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    fn check(line: &str, width: usize) -> String {
        fmt_split(line, width, true)
    }

    #[test]
    fn edge_cases() {
        // Sentence ends get two spaces, other runs one; closers after the period count.
        assert_snapshot!(check("a.  b. c (d.)  e?\"  f!' g", 75), @r#"a.  b. c (d.)  e?"  f!' g"#);
        // A word longer than the width sits alone, never split.
        assert_snapshot!(check("    ab cdefghijklmnop qr", 10), @r"
            ab
            cdefghijklmnop
            qr
        ");
        // Non-ASCII counts in bytes, as fmt counts it.
        assert_snapshot!(check("éééé éééé ab", 17), @r"
        éééé
        éééé ab
        ");
        // Tabs in the input make fmt space with tabs where it reaches a tab stop.
        assert_snapshot!(check("\tabcde.  next", 75), @"\tabcde.\tnext");
        assert_snapshot!(check("   ", 75), @"");
    }

    /// A small deterministic generator (xorshift64*), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    /// A commit-subject-like line: words of all lengths, punctuation, sentence ends
    /// with one or two spaces, tabs, non-ASCII, the odd control character.
    fn subject(rng: &mut Rng, words: usize) -> String {
        const WORDS: &[&str] = &[
            "fix",
            "the",
            "lava-server",
            "scheduler:",
            "LAVA-1234",
            "device",
            "(dispatcher)",
            "don't",
            "a",
            "I",
            "e.g.",
            "v2.0",
            "Rémi",
            "naïve",
            "日本語のテキスト",
            "über",
            "x86_64",
            "[ci]",
            "\"quoted\"",
            "'single'",
            "`code`",
            "--option=value",
            "tests.",
            "Done.",
            "why?",
            "now!",
            "(see",
            "above).",
            "end.)",
            "it.\"",
            "Mr.",
            "etc.,",
        ];
        const SPACES: &[&str] = &[" ", " ", " ", " ", "  ", "   ", "\t", " \t ", "\r", "\x0b"];
        let mut line = String::new();
        for i in 0..words {
            if i > 0 {
                line.push_str(rng.pick(SPACES));
            }
            match rng.below(12) {
                0 => line.push_str(&"y".repeat(rng.below(90) + 1)),
                1 => line.push_str(&format!("{:x}", rng.next())),
                _ => line.push_str(rng.pick(WORDS)),
            }
        }
        line
    }

    fn real_fmt(line: &str, width: usize, uniform: bool) -> String {
        let mut args = vec!["-s".to_owned(), format!("-w{width}")];
        if uniform {
            args.push("-u".into());
        }
        let mut child = Command::new("fmt")
            .args(&args)
            .env("LC_ALL", "C.UTF-8")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("fmt (coreutils) must be installed to test the wrapping against it");
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("fmt reads its input");
        drop(stdin);
        let out = child.wait_with_output().expect("fmt runs");
        assert!(out.status.success(), "fmt failed on {line:?}");
        let mut text = String::from_utf8(out.stdout).expect("fmt keeps UTF-8 intact");
        if text.ends_with('\n') {
            text.pop();
        }
        text
    }

    #[test]
    fn matches_coreutils_fmt() {
        let mut rng = Rng(0x5eed_1a7a);
        let mut cases: Vec<(String, usize, bool)> = Vec::new();
        for i in 0..600 {
            let words = 1 + rng.below(40);
            let indent = ["", "    ", "  ", "\t"][rng.below(4)];
            let line = format!("{indent}{}", subject(&mut rng, words));
            // Mostly our own setting, sometimes others to exercise the cost model.
            let width = if i % 3 == 0 { 20 + rng.below(80) } else { 71 };
            cases.push((line, width, i % 5 != 0));
        }
        // Paragraph-buffer limits: more than 1000 words, more than 5000 bytes.
        cases.push((subject(&mut Rng(7), 1500), 71, true));
        cases.push((format!("    a {} b", "z".repeat(6000)), 71, true));
        let mut wrapped = 0;
        for (line, width, uniform) in cases {
            let ours = fmt_split(&line, width, uniform);
            wrapped += usize::from(ours.contains('\n'));
            assert_eq!(
                ours,
                real_fmt(&line, width, uniform),
                "fmt -s -w{width}{} on {line:?}",
                if uniform { " -u" } else { "" },
            );
        }
        // The generator must exercise the line breaking, not just short lines.
        assert!(wrapped > 300, "only {wrapped} of the cases wrapped");
    }
}
