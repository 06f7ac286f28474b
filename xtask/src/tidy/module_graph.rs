//! A crate's module graph, one node per module file, read from its sources: which file
//! refers to which through `crate::…`, `super::…` and `self::…` paths and `use` items
//! (whose paths may also start at a child module). Inline modules (`mod tests { … }`)
//! count as their file.
//!
//! `mod` declarations and `pub use` re-exports are the facade, not dependencies: a
//! reference to a re-exported name (`crate::Error`) is an edge to the module that defines
//! it (`error`), and the module re-exporting it gets none.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// A module path below the crate root (`["stages", "gate"]`); the root is empty.
type ModPath = Vec<String>;

/// The module files of one crate root and who refers to whom.
#[derive(Debug, Default)]
pub struct Graph {
    /// Each module file's module path (the first is the crate root).
    files: Vec<ModPath>,
    /// Edges between indices of `files`.
    edges: BTreeMap<usize, BTreeSet<usize>>,
}

impl Graph {
    /// Reads the crate whose root file is `root` (`src/lib.rs`, `src/main.rs`), following
    /// its `mod` declarations through `read`.
    pub fn read(root: &Path, read: &dyn Fn(&Path) -> Option<String>) -> Graph {
        let mut sources: Vec<(ModPath, Vec<Token>)> = Vec::new();
        // Every module, inline ones included, and the index of the file holding it.
        let mut modules: BTreeMap<ModPath, usize> = BTreeMap::new();
        let mut queue = VecDeque::from([(root.to_owned(), ModPath::new(), true)]);
        while let Some((path, module, owns_dir)) = queue.pop_front() {
            let Some(text) = read(&path) else { continue };
            let tokens = lex(&text);
            let index = sources.len();
            modules.insert(module.clone(), index);
            // `lib.rs`, `main.rs` and `mod.rs` keep their children beside them;
            // `x.rs` keeps them in `x/`.
            let dir = match (owns_dir, path.parent()) {
                (true, Some(dir)) => dir.to_owned(),
                (false, Some(dir)) => dir.join(module.last().map_or("", String::as_str)),
                (_, None) => PathBuf::new(),
            };
            for (inline, name, declared) in declarations(&tokens) {
                let mut child = module.clone();
                child.extend(inline.iter().cloned());
                child.push(name.clone());
                if declared {
                    let base = inline.iter().fold(dir.clone(), |d, m| d.join(m));
                    let file = base.join(format!("{name}.rs"));
                    if read(&file).is_some() {
                        queue.push_back((file, child, false));
                    } else {
                        queue.push_back((base.join(&name).join("mod.rs"), child, true));
                    }
                } else {
                    modules.insert(child, index);
                }
            }
            sources.push((module, tokens));
        }

        let mut reexports: BTreeMap<(ModPath, String), ModPath> = BTreeMap::new();
        let mut references: Vec<(usize, ModPath)> = Vec::new();
        for (index, (module, tokens)) in sources.iter().enumerate() {
            for reference in references_of(tokens) {
                let mut scope = module.clone();
                scope.extend(reference.inline.iter().cloned());
                let Some(absolute) = absolute(&scope, &reference.path, &modules) else {
                    continue;
                };
                match reference.reexport_as {
                    Some(name) => {
                        reexports.insert((scope, name), absolute);
                    }
                    None => references.push((index, absolute)),
                }
            }
        }

        let mut graph = Graph {
            files: sources.into_iter().map(|(m, _)| m).collect(),
            edges: BTreeMap::new(),
        };
        for (from, path) in references {
            let to = modules[&resolve(&path, &modules, &reexports)];
            if to != from {
                graph.edges.entry(from).or_default().insert(to);
            }
        }
        graph
    }

    /// The shortest cycle through each file that is on one, as names
    /// (`sign -> changes -> sign`; the root is `crate`), each cycle once.
    pub fn cycles(&self) -> Vec<String> {
        let name = |i: usize| {
            if self.files[i].is_empty() {
                "crate".to_owned()
            } else {
                self.files[i].join("::")
            }
        };
        let mut cycles: BTreeSet<Vec<usize>> = BTreeSet::new();
        for component in self.components().into_iter().filter(|c| c.len() > 1) {
            for &start in &component {
                let mut cycle = self.shortest_cycle(start, &component);
                // The same cycle found from another of its files reads the same.
                let first = (0..cycle.len())
                    .min_by_key(|&k| cycle[k])
                    .expect("a cycle is not empty");
                cycle.rotate_left(first);
                cycles.insert(cycle);
            }
        }
        cycles
            .into_iter()
            .map(|cycle| {
                let mut names: Vec<String> = cycle.iter().map(|&i| name(i)).collect();
                names.push(name(cycle[0]));
                names.join(" -> ")
            })
            .collect()
    }

    /// The strongly connected components (Tarjan), each sorted.
    fn components(&self) -> Vec<BTreeSet<usize>> {
        struct State<'a> {
            edges: &'a BTreeMap<usize, BTreeSet<usize>>,
            index: Vec<Option<usize>>,
            low: Vec<usize>,
            stack: Vec<usize>,
            on_stack: Vec<bool>,
            next: usize,
            out: Vec<BTreeSet<usize>>,
        }
        fn visit(s: &mut State<'_>, v: usize) {
            s.index[v] = Some(s.next);
            s.low[v] = s.next;
            s.next += 1;
            s.stack.push(v);
            s.on_stack[v] = true;
            for &w in s.edges.get(&v).into_iter().flatten() {
                match s.index[w] {
                    None => {
                        visit(s, w);
                        s.low[v] = s.low[v].min(s.low[w]);
                    }
                    Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                    Some(_) => {}
                }
            }
            if Some(s.low[v]) == s.index[v] {
                let mut component = BTreeSet::new();
                while let Some(w) = s.stack.pop() {
                    s.on_stack[w] = false;
                    component.insert(w);
                    if w == v {
                        break;
                    }
                }
                s.out.push(component);
            }
        }
        let n = self.files.len();
        let mut state = State {
            edges: &self.edges,
            index: vec![None; n],
            low: vec![0; n],
            stack: Vec::new(),
            on_stack: vec![false; n],
            next: 0,
            out: Vec::new(),
        };
        for v in 0..n {
            if state.index[v].is_none() {
                visit(&mut state, v);
            }
        }
        state.out.sort();
        state.out
    }

    /// The shortest path from `start` back to itself inside `component` (breadth first),
    /// without the final `start`.
    fn shortest_cycle(&self, start: usize, component: &BTreeSet<usize>) -> Vec<usize> {
        let mut came_from: BTreeMap<usize, usize> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(v) = queue.pop_front() {
            for &w in self.edges.get(&v).into_iter().flatten() {
                if !component.contains(&w) {
                    continue;
                }
                if w == start {
                    let mut path = vec![v];
                    while let Some(&p) = came_from.get(path.last().expect("not empty")) {
                        path.push(p);
                    }
                    path.reverse();
                    return path;
                }
                if let std::collections::btree_map::Entry::Vacant(e) = came_from.entry(w) {
                    e.insert(v);
                    queue.push_back(w);
                }
            }
        }
        vec![start]
    }
}

/// The absolute module path (plus item names) `path`, written in `scope`, stands for;
/// `None` for a path into another crate.
fn absolute(
    scope: &ModPath,
    path: &[String],
    modules: &BTreeMap<ModPath, usize>,
) -> Option<ModPath> {
    let (first, rest) = path.split_first()?;
    let mut base = match first.as_str() {
        "crate" | "$crate" => ModPath::new(),
        "self" => scope.clone(),
        "super" => scope[..scope.len().saturating_sub(1)].to_vec(),
        // A `use` path may start at a child module of the current one.
        name => {
            let mut child = scope.clone();
            child.push(name.to_owned());
            if !modules.contains_key(&child) {
                return None;
            }
            return Some(child.into_iter().chain(rest.iter().cloned()).collect());
        }
    };
    let mut rest = rest;
    while let Some((seg, tail)) = rest.split_first() {
        if seg != "super" {
            break;
        }
        base.pop();
        rest = tail;
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The module that defines what the absolute `path` names, through re-exports.
fn resolve(
    path: &[String],
    modules: &BTreeMap<ModPath, usize>,
    reexports: &BTreeMap<(ModPath, String), ModPath>,
) -> ModPath {
    let mut path = path.to_vec();
    // A re-export may name another re-export; a bound stops a loop of them.
    for _ in 0..16 {
        let mut module = ModPath::new();
        let mut item = None;
        for seg in &path {
            let mut child = module.clone();
            child.push(seg.clone());
            if modules.contains_key(&child) {
                module = child;
            } else {
                item = Some(seg.clone());
                break;
            }
        }
        match item.and_then(|item| reexports.get(&(module.clone(), item))) {
            Some(target) => path = target.clone(),
            None => return module,
        }
    }
    ModPath::new()
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Ident(String),
    PathSep,
    Punct(char),
}

/// Identifiers, `::` and punctuation; comments, strings, characters, lifetimes and
/// numbers are dropped.
fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_string(&chars, i);
        } else if c == '\'' {
            if at(i + 1) == '\\' {
                // An escaped character literal: quote, backslash, the escaped character.
                i += 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                // A lifetime or label: drop the quote, the name is an identifier.
                i += 1;
            }
        } else if c == '$' || c == '_' || c.is_alphabetic() {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i] == '_' || chars[i].is_alphanumeric()) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let raw_hashes = (i..).take_while(|&j| at(j) == '#').count();
            if matches!(word.as_str(), "r" | "br" | "cr") && at(i + raw_hashes) == '"' {
                // A raw string ends at a quote followed by as many `#`.
                i += raw_hashes + 1;
                while i < chars.len()
                    && !(chars[i] == '"' && (1..=raw_hashes).all(|k| at(i + k) == '#'))
                {
                    i += 1;
                }
                i += 1 + raw_hashes;
            } else if matches!(word.as_str(), "b" | "c") && at(i) == '"' {
                i = skip_string(&chars, i);
            } else if word == "r" && at(i) == '#' {
                // A raw identifier.
                i += 1;
            } else {
                tokens.push(Token::Ident(word));
            }
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i] == '_' || chars[i].is_alphanumeric()) {
                i += 1;
            }
        } else if c == ':' && at(i + 1) == ':' {
            tokens.push(Token::PathSep);
            i += 2;
        } else {
            tokens.push(Token::Punct(c));
            i += 1;
        }
    }
    tokens
}

/// The index just past the string literal whose opening quote is at `i`.
fn skip_string(chars: &[char], mut i: usize) -> usize {
    i += 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

fn ident(tokens: &[Token], i: usize) -> Option<&str> {
    match tokens.get(i) {
        Some(Token::Ident(s)) => Some(s),
        _ => None,
    }
}

/// Walks `tokens` keeping track of the inline modules around each position.
struct Scopes {
    depth: usize,
    inline: Vec<(String, usize)>,
    pending: Option<String>,
}

impl Scopes {
    fn new() -> Scopes {
        Scopes {
            depth: 0,
            inline: Vec::new(),
            pending: None,
        }
    }

    /// Updates the scopes for the token at `i`.
    fn step(&mut self, tokens: &[Token], i: usize) {
        match &tokens[i] {
            Token::Ident(k) if k == "mod" => {
                if let (Some(name), Some(Token::Punct('{'))) =
                    (ident(tokens, i + 1), tokens.get(i + 2))
                {
                    self.pending = Some(name.to_owned());
                }
            }
            Token::Punct('{') => {
                self.depth += 1;
                if let Some(name) = self.pending.take() {
                    self.inline.push((name, self.depth));
                }
            }
            Token::Punct('}') => {
                if self.inline.last().is_some_and(|(_, d)| *d == self.depth) {
                    self.inline.pop();
                }
                self.depth = self.depth.saturating_sub(1);
            }
            _ => {}
        }
    }

    fn names(&self) -> Vec<String> {
        self.inline.iter().map(|(n, _)| n.clone()).collect()
    }
}

/// The modules a file declares: the inline modules around the declaration, the name,
/// and whether it is a `mod name;` in another file (else an inline `mod name { … }`).
fn declarations(tokens: &[Token]) -> Vec<(Vec<String>, String, bool)> {
    let mut out = Vec::new();
    let mut scopes = Scopes::new();
    for i in 0..tokens.len() {
        if ident(tokens, i) == Some("mod")
            && let Some(name) = ident(tokens, i + 1)
        {
            match tokens.get(i + 2) {
                Some(Token::Punct(';')) => out.push((scopes.names(), name.to_owned(), true)),
                Some(Token::Punct('{')) => out.push((scopes.names(), name.to_owned(), false)),
                _ => {}
            }
        }
        scopes.step(tokens, i);
    }
    out
}

/// A path a file mentions.
struct Reference {
    /// The inline modules around it.
    inline: Vec<String>,
    /// Its segments, `crate`/`super`/`self` included.
    path: Vec<String>,
    /// For a `pub use`, the name it re-exports the path as.
    reexport_as: Option<String>,
}

/// Every `use` path and every other path of two or more segments in `tokens`.
fn references_of(tokens: &[Token]) -> Vec<Reference> {
    let mut out = Vec::new();
    let mut scopes = Scopes::new();
    let mut i = 0;
    while i < tokens.len() {
        // `use<'a>` is a precise-capturing bound, not a `use` item.
        if ident(tokens, i) == Some("use") && tokens.get(i + 1) != Some(&Token::Punct('<')) {
            let public = is_public(tokens, i);
            let end = (i..tokens.len())
                .find(|&j| tokens[j] == Token::Punct(';'))
                .unwrap_or(tokens.len());
            let mut trees = Vec::new();
            use_tree(&tokens[i + 1..end], &[], &mut trees);
            for (path, name) in trees {
                match (public, name) {
                    // A glob re-export names nothing a reference could be resolved
                    // through: the facade stays the target.
                    (true, None) => {}
                    (true, Some(name)) => out.push(Reference {
                        inline: scopes.names(),
                        path,
                        reexport_as: Some(name),
                    }),
                    (false, _) => out.push(Reference {
                        inline: scopes.names(),
                        path,
                        reexport_as: None,
                    }),
                }
            }
            for j in i..end.min(tokens.len()) {
                scopes.step(tokens, j);
            }
            i = end;
            continue;
        }
        // Outside `use` items only `crate::`, `super::` and `self::` paths count: a
        // module calling into its own child (`gbp::render(…)`) is the module tree
        // itself, not an import.
        let starts_path = matches!(
            ident(tokens, i),
            Some("crate" | "$crate" | "super" | "self")
        ) && tokens.get(i + 1) == Some(&Token::PathSep)
            && (i == 0 || tokens[i - 1] != Token::PathSep);
        if starts_path {
            let mut path = Vec::new();
            let mut j = i;
            while let Some(seg) = ident(tokens, j) {
                path.push(seg.to_owned());
                if tokens.get(j + 1) != Some(&Token::PathSep) {
                    break;
                }
                j += 2;
            }
            out.push(Reference {
                inline: scopes.names(),
                path,
                reexport_as: None,
            });
        }
        scopes.step(tokens, i);
        i += 1;
    }
    out
}

/// Whether the `use` at `i` is `pub` or `pub(…)`.
fn is_public(tokens: &[Token], i: usize) -> bool {
    match i.checked_sub(1).map(|p| &tokens[p]) {
        Some(Token::Ident(k)) => k == "pub",
        Some(Token::Punct(')')) => {
            let open = (0..i - 1).rev().find(|&p| tokens[p] == Token::Punct('('));
            open.is_some_and(|p| p > 0 && ident(tokens, p - 1) == Some("pub"))
        }
        _ => false,
    }
}

/// Expands a use tree (`crate::{a::X, b::{self, Y as Z}}`) into its paths, each with
/// the name it brings into scope (`None` for a glob).
fn use_tree(tokens: &[Token], prefix: &[String], out: &mut Vec<(Vec<String>, Option<String>)>) {
    let mut path = prefix.to_vec();
    let mut named = false;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Ident(k) if k == "as" => {
                out.push((path, ident(tokens, i + 1).map(str::to_owned)));
                return;
            }
            Token::Ident(seg) => {
                // `b::{self, …}` names `b` itself.
                if !(seg == "self" && !named && !prefix.is_empty()) {
                    path.push(seg.clone());
                }
                named = true;
                i += 1;
            }
            Token::Punct('*') => {
                out.push((path, None));
                return;
            }
            Token::Punct('{') => {
                // Each part between the group's top-level commas is a tree of its own.
                let mut depth = 0;
                let mut start = i + 1;
                for j in i..tokens.len() {
                    match tokens[j] {
                        Token::Punct('{') => depth += 1,
                        Token::Punct('}') | Token::Punct(',') if depth == 1 => {
                            use_tree(&tokens[start..j], &path, out);
                            start = j + 1;
                            if tokens[j] == Token::Punct('}') {
                                return;
                            }
                        }
                        Token::Punct('}') => depth -= 1,
                        _ => {}
                    }
                }
                return;
            }
            _ => i += 1,
        }
    }
    if named {
        let name = path.last().cloned();
        out.push((path, name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(files: &[(&str, &str)]) -> Graph {
        let files: BTreeMap<PathBuf, String> = files
            .iter()
            .map(|(p, t)| (PathBuf::from(p), (*t).to_owned()))
            .collect();
        Graph::read(Path::new("src/lib.rs"), &|p| files.get(p).cloned())
    }

    #[test]
    fn finds_a_cycle_through_use_items_and_paths() {
        let g = graph(&[
            (
                "src/lib.rs",
                "mod changes;\nmod sign;\nmod error;\npub use error::Error;\n",
            ),
            ("src/changes.rs", "use crate::{Error, sign::strip};\n"),
            (
                "src/sign.rs",
                r##"/// Not [`crate::error`].
fn f() {
    let (s, t, u) = ("crate::error", r"C:\", r#"crate::error "quoted""#);
    crate::changes::sums(); /* crate::error /* nested */ crate::error */
}
"##,
            ),
            ("src/error.rs", "pub enum Error {}\n"),
        ]);
        assert_eq!(g.cycles(), ["changes -> sign -> changes"]);
    }

    #[test]
    fn facades_tests_and_leaves_make_no_cycle() {
        let g = graph(&[
            (
                "src/lib.rs",
                "mod a;\nmod b;\npub use a::A;\npub(crate) use b::{self, B as C};\n",
            ),
            (
                "src/a.rs",
                "use crate::C;\npub struct A;\n#[cfg(test)]\nmod tests { use super::*; fn f<'a>(x: &'a str) -> char { '}' } }\n",
            ),
            ("src/b.rs", "pub struct B;\n"),
        ]);
        assert_eq!(g.cycles(), Vec::<String>::new());
        assert_eq!(g.edges, BTreeMap::from([(1, BTreeSet::from([2]))]));
    }

    #[test]
    fn follows_nested_modules_and_super() {
        let g = graph(&[
            ("src/lib.rs", "pub mod stages;\nmod run;\n"),
            ("src/run.rs", "use crate::stages::gate::Record;\n"),
            ("src/stages/mod.rs", "mod gate;\nmod repo;\n"),
            (
                "src/stages/gate.rs",
                "pub struct Record;\nfn f() { super::repo::x(); }\n",
            ),
            ("src/stages/repo.rs", "fn x() { crate::run::go(); }\n"),
        ]);
        assert_eq!(g.cycles(), ["run -> stages::gate -> stages::repo -> run"]);
    }
}
