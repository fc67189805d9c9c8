//! Tidy checks on the runtime's module structure, reading `batpak-runtime/src` as
//! text. The rule: a lower layer never names a higher one. Layers, bottom-up:
//! `event` and `coordinate`; `schema`; the store's model (`error`, `config`,
//! `index`, `codec`, `options`, `signing`, `frontier`, `locking`, `registry`,
//! `keys`, `observe`, `prefetch`);
//! `store::log`;
//! `store::ledger`; `store::writer`; the rest of `store` (the `Store` API);
//! `gate`; `aggregate`; `testing`. A file's module comes from its path (`store/log/frame.rs` is
//! `store::log::frame`, a `mod.rs` is its directory) and its layer is the longest
//! matching prefix. The paths a file names are its `crate::…`, `self::…` and
//! `super::…` paths, grouped `use` trees included, comments and literals ignored.
//! Besides, no files may import each other around a loop, within a layer or not
//! (a path names the file of its longest existing module prefix, and a parent
//! naming its own descendants, to declare and re-export them, is no dependency).
//! Unit-test files (`tests.rs`, `*_tests.rs`, `test_*.rs`, `tests/` directories,
//! inline `#[cfg(test)] mod … { … }` blocks) are exempt.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;

/// Bottom-up; each layer is a list of module path prefixes.
const LAYERS: &[&[&str]] = &[
    &["event", "coordinate"],
    &["schema"],
    // The store's model: types every layer of the store shares.
    &[
        "store::error",
        "store::config",
        "store::index",
        "store::codec",
        "store::options",
        "store::signing",
        "store::frontier",
        "store::locking",
        "store::registry",
        "store::keys",
        "store::observe",
        "store::prefetch",
    ],
    &["store::log"],
    &["store::ledger"],
    &["store::writer"],
    &["store"],
    &["gate"],
    &["aggregate"],
    &["testing"],
];

/// Source files as (path under the crate's `src`, `/`-separated; text).
type Tree = [(String, String)];
/// A token and its line.
type Tok = (String, usize);

fn is_test_file(rel: &str) -> bool {
    let mut parts: Vec<&str> = rel.split('/').collect();
    let name = parts.pop().unwrap_or_default();
    let test_name = name == "tests.rs" || name.ends_with("_tests.rs") || name.starts_with("test_");
    test_name || parts.contains(&"tests")
}

fn module_of(rel: &str) -> String {
    let mut parts: Vec<&str> = rel.trim_end_matches(".rs").split('/').collect();
    let root_file = parts.len() == 1 && matches!(parts[0], "lib" | "main");
    if root_file || matches!(parts.last(), Some(&("mod" | "tests"))) {
        parts.pop();
    }
    parts.join("::")
}

/// `prefix` is `path` or one of its ancestors, segment-wise (`""` is the root).
fn is_prefix(prefix: &str, path: &str) -> bool {
    let rest = path.strip_prefix(prefix);
    prefix.is_empty() || rest.is_some_and(|r| r.is_empty() || r.starts_with("::"))
}

/// `(layer index, matched prefix)` of a module path, by longest prefix.
fn layer_of(path: &str) -> Option<(usize, &'static str)> {
    let all = LAYERS
        .iter()
        .enumerate()
        .flat_map(|(i, l)| l.iter().map(move |p| (i, *p)));
    all.filter(|(_, p)| is_prefix(p, path))
        .max_by_key(|(_, p)| p.len())
}

/// Identifiers, `::` and other punctuation, skipping comments and string/char
/// literals (non-nested block comments, raw strings, `'x'` vs `'lifetime`).
fn tokenize(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
    let find = |from: usize, pat: &[char]| {
        (from..c.len())
            .find(|&k| c[k..].starts_with(pat))
            .map_or(c.len(), |k| k + pat.len())
    };
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let (mut toks, mut line, mut i) = (Vec::new(), 1, 0);
    while i < c.len() {
        let hashes = (i + 1..c.len()).take_while(|&k| c[k] == '#').count();
        let raw = at(i) == 'r'
            && at(i + 1 + hashes) == '"'
            && (i == 0 || !ident(c[i - 1]) || c[i - 1] == 'b');
        let skip_to = if at(i) == '/' && at(i + 1) == '/' {
            Some((i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len()))
        } else if at(i) == '/' && at(i + 1) == '*' {
            Some(find(i + 2, &['*', '/']))
        } else if raw {
            let close: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            Some(find(i + 2 + hashes, &close))
        } else if at(i) == '"' {
            let mut k = i + 1;
            while k < c.len() && c[k] != '"' {
                k += if c[k] == '\\' { 2 } else { 1 };
            }
            Some(k + 1)
        } else if at(i) == '\'' && at(i + 1) == '\\' {
            Some(find(i + 3, &['\'']))
        } else if at(i) == '\'' && at(i + 2) == '\'' {
            Some(i + 3)
        } else {
            None
        };
        if let Some(end) = skip_to {
            let end = end.clamp(i + 1, c.len());
            line += c[i..end].iter().filter(|&&ch| ch == '\n').count();
            i = end;
        } else if ident(c[i]) {
            let len = c[i..].iter().take_while(|&&ch| ident(ch)).count();
            toks.push((c[i..i + len].iter().collect(), line));
            i += len;
        } else if c[i] == ':' && at(i + 1) == ':' {
            toks.push(("::".to_owned(), line));
            i += 2;
        } else {
            line += usize::from(c[i] == '\n');
            if !c[i].is_whitespace() {
                toks.push((c[i].to_string(), line));
            }
            i += 1;
        }
    }
    toks
}

fn tok(toks: &[Tok], k: usize) -> &str {
    toks.get(k).map_or("", |(s, _)| s.as_str())
}

/// Drops `#[cfg(test)] [#[…]] [pub[(…)]] mod name { … }` blocks.
fn drop_test_modules(toks: Vec<Tok>) -> Vec<Tok> {
    const CFG_TEST: [&str; 7] = ["#", "[", "cfg", "(", "test", ")", "]"];
    let t = |k: usize| tok(&toks, k);
    let past = |from: usize, close: &str| {
        (from..toks.len())
            .find(|&k| t(k) == close)
            .map_or(toks.len(), |k| k + 1)
    };
    let mut keep = vec![true; toks.len()];
    for i in 0..toks.len() {
        if !CFG_TEST.iter().enumerate().all(|(k, s)| t(i + k) == *s) {
            continue;
        }
        let mut j = i + CFG_TEST.len();
        while t(j) == "#" {
            j = past(j, "]");
        }
        if t(j) == "pub" {
            j = if t(j + 1) == "(" { past(j, ")") } else { j + 1 };
        }
        if t(j) != "mod" || t(j + 2) != "{" {
            continue;
        }
        let mut depth = 0usize;
        let end = (j + 2..toks.len()).find(|&k| {
            depth = depth + usize::from(t(k) == "{") - usize::from(t(k) == "}");
            depth == 0
        });
        keep[i..=end.unwrap_or(toks.len() - 1)].fill(false);
    }
    toks.into_iter()
        .zip(keep)
        .filter_map(|(t, keep)| keep.then_some(t))
        .collect()
}

/// Parses the path (or `use` tree) at `i`: its leaf paths, as raw segments, and
/// the index after it. Stops at anything else (`<`, `;`, `(`, …).
fn parse_tree(toks: &[Tok], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let t = |k: usize| tok(toks, k);
    let mut prefix: Vec<String> = Vec::new();
    loop {
        if t(i) == "{" {
            let mut leaves = Vec::new();
            i += 1;
            while !matches!(t(i), "}" | "") {
                let (sub, j) = parse_tree(toks, i);
                leaves.extend(sub.into_iter().map(|s| [prefix.as_slice(), &s].concat()));
                i = j.max(i + 1);
                i += usize::from(t(i) == ",");
            }
            return (leaves, i + 1);
        } else if t(i).starts_with(|ch: char| ch.is_alphanumeric() || ch == '_') {
            prefix.push(t(i).to_owned());
            if t(i + 1) == "::" {
                i += 2;
                continue;
            }
            i += if t(i + 1) == "as" { 3 } else { 1 };
        }
        i += usize::from(t(i) == "*");
        return (vec![prefix], i);
    }
}

/// Resolves raw segments in `module`; `None` when `super` climbs past the root.
fn resolve(module: &str, raw: &[String]) -> Option<String> {
    let mut path: Vec<&str> = match raw.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        _ => module.split("::").filter(|s| !s.is_empty()).collect(),
    };
    for seg in raw.iter().skip(usize::from(raw[0] == "crate")) {
        match seg.as_str() {
            "super" => {
                path.pop()?;
            }
            "self" => {}
            s => path.push(s),
        }
    }
    Some(path.join("::"))
}

/// Every `(file index, line, absolute path)` named by the non-test files.
fn named_paths(tree: &Tree) -> Vec<(usize, usize, String)> {
    let mut named = Vec::new();
    for (file, (rel, text)) in tree
        .iter()
        .enumerate()
        .filter(|(_, (rel, _))| !is_test_file(rel))
    {
        let module = module_of(rel);
        let toks = drop_test_modules(tokenize(text));
        let mut i = 0;
        while i < toks.len() {
            let t = |k: usize| tok(&toks, k);
            let starts = matches!(t(i), "crate" | "self" | "super") && t(i + 1) == "::";
            // Not the middle of a path, nor a visibility (`pub(in crate::store)`).
            let visibility = i > 1 && t(i - 1) == "in" && t(i - 2) == "(";
            if !starts || visibility || (i > 0 && t(i - 1) == "::") {
                i += 1;
                continue;
            }
            let (leaves, j) = parse_tree(&toks, i);
            let paths = leaves.iter().filter_map(|raw| resolve(&module, raw));
            named.extend(paths.map(|path| (file, toks[i].1, path)));
            i = j.max(i + 1);
        }
    }
    named
}

/// Module path -> index of its (non-test) file.
fn files_by_module(tree: &Tree) -> HashMap<String, usize> {
    let files = tree
        .iter()
        .enumerate()
        .filter(|(_, (rel, _))| !is_test_file(rel));
    files.map(|(f, (rel, _))| (module_of(rel), f)).collect()
}

/// The longest prefix of `path` that is a file's module, and that file.
fn owner<'p>(by_module: &HashMap<String, usize>, path: &'p str) -> Option<(&'p str, usize)> {
    let cuts = path.match_indices("::").map(|(k, _)| k).chain([path.len()]);
    let prefixes: Vec<&str> = std::iter::once("")
        .chain(cuts.map(|k| &path[..k]))
        .collect();
    prefixes
        .into_iter()
        .rev()
        .find_map(|p| by_module.get(p).map(|&f| (p, f)))
}

/// Every upward reference, one message per (file, named module).
fn layer_violations(tree: &Tree) -> Vec<String> {
    let by_module = files_by_module(tree);
    let mut found: BTreeMap<(usize, String), (usize, String, Vec<String>)> = BTreeMap::new();
    for (file, line, path) in named_paths(tree) {
        let (Some((from, from_name)), Some((to, to_name))) =
            (layer_of(&module_of(&tree[file].0)), layer_of(&path))
        else {
            continue;
        };
        // Grouped by the named module, as long as it is in the named path's layer.
        let module = owner(&by_module, &path).map(|(m, _)| m);
        let module = module.filter(|m| layer_of(m) == Some((to, to_name)));
        let module = module.unwrap_or(&path);
        if to > from {
            let layers = format!("layer {to} `{to_name}` above layer {from} `{from_name}`");
            let entry =
                found
                    .entry((file, module.to_owned()))
                    .or_insert((line, layers, Vec::new()));
            let item = path[module.len()..].trim_start_matches("::");
            if !item.is_empty() && !entry.2.iter().any(|i| i == item) {
                entry.2.push(item.to_owned());
            }
        }
    }
    let items = |i: &[String]| match i {
        [] => String::new(),
        [one] => format!("::{one}"),
        _ => format!("::{{{}}}", i.join(", ")),
    };
    let messages = found
        .into_iter()
        .map(|((file, module), (line, layers, i))| {
            format!(
                "{}:{line}: names `crate::{module}{}`, {layers}",
                tree[file].0,
                items(&i)
            )
        });
    messages.collect()
}

/// Every set of files importing each other around a loop (a strongly connected
/// component), with each member's edges inside it and one shortest cycle.
fn import_cycles(tree: &Tree) -> Vec<String> {
    let by_module = files_by_module(tree);
    let mut evidence: BTreeMap<(usize, usize), (usize, String)> = BTreeMap::new();
    for (from, line, path) in named_paths(tree) {
        let Some((_, to)) = owner(&by_module, &path) else {
            continue;
        };
        if !is_prefix(&module_of(&tree[from].0), &module_of(&tree[to].0)) {
            evidence.entry((from, to)).or_insert((line, path));
        }
    }
    let mut graph = vec![Vec::new(); tree.len()];
    evidence.keys().for_each(|&(from, to)| graph[from].push(to));
    // pred[v][w]: w's predecessor on a shortest path from v (pred[v][v]: a cycle's last hop).
    let pred: Vec<Vec<Option<usize>>> = (0..tree.len())
        .map(|v| {
            let (mut pred, mut queue) = (vec![None; tree.len()], VecDeque::from([v]));
            while let Some(u) = queue.pop_front() {
                for &w in &graph[u] {
                    if pred[w].is_none() {
                        pred[w] = Some(u);
                        queue.extend((w != v).then_some(w));
                    }
                }
            }
            pred
        })
        .collect();
    let cycle = |v: usize| {
        let mut path = vec![v];
        while let Some(u) = pred[v][*path.last().unwrap_or(&v)].filter(|&u| u != v) {
            path.push(u);
        }
        path.reverse();
        path.rotate_right(1);
        path
    };
    let name = |f: usize| tree[f].0.as_str();
    let mut out = Vec::new();
    for v in (0..tree.len()).filter(|&v| pred[v][v].is_some()) {
        let scc: Vec<usize> = (0..tree.len())
            .filter(|&w| pred[v][w].is_some() && pred[w][v].is_some())
            .collect();
        if scc[0] != v {
            continue; // reported with its first member
        }
        let names: Vec<&str> = scc.iter().map(|&f| name(f)).collect();
        let mut msg = format!("{} files import each other: ", scc.len()) + &names.join(", ");
        for &f in &scc {
            let inside: Vec<&str> = graph[f]
                .iter()
                .filter(|w| scc.contains(w))
                .map(|&w| name(w))
                .collect();
            msg += &format!("\n  {} -> {}", name(f), inside.join(", "));
        }
        let shortest = scc
            .iter()
            .map(|&w| cycle(w))
            .min_by_key(Vec::len)
            .unwrap_or_default();
        msg += "\n  shortest cycle:";
        for (k, &from) in shortest.iter().enumerate() {
            let to = shortest[(k + 1) % shortest.len()];
            let (line, path) = &evidence[&(from, to)];
            msg += &format!(
                "\n    {}:{line}: names `crate::{path}` ({})",
                name(from),
                name(to)
            );
        }
        out.push(msg);
    }
    out
}

/// The runtime's sources, sorted by path.
fn runtime_sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("dir entry").path();
            let name = path.file_name().expect("file name").to_string_lossy();
            let rel = format!("{rel}{name}");
            if path.is_dir() {
                walk(&path, &format!("{rel}/"), out);
            } else if rel.ends_with(".rs") {
                out.push((rel, std::fs::read_to_string(&path).expect("read source")));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("batpak-runtime/src");
    let mut out = Vec::new();
    walk(&root, "", &mut out);
    out.sort();
    assert!(
        out.iter().any(|(rel, _)| rel == "lib.rs"),
        "no lib.rs in {}",
        root.display()
    );
    out
}

#[test]
fn layers_only_point_down() {
    let problems = layer_violations(&runtime_sources());
    let n = problems.len();
    assert!(n == 0, "{n} upward reference(s):\n{}", problems.join("\n"));
}

#[test]
fn no_import_cycles_between_files() {
    let cycles = import_cycles(&runtime_sources());
    let n = cycles.len();
    assert!(n == 0, "{n} import cycle(s):\n{}", cycles.join("\n"));
}

/// A fake crate: an upward import (twice), a sibling cycle, and names that
/// must not count (comments, literals, a visibility, test files and modules).
const FAKE: &str = r##"
=== lib.rs
pub mod event; pub mod store; pub use crate::store::Store;
=== event/mod.rs
use crate::coordinate::C;
fn f() -> crate::store::Store { todo!() }
=== store/mod.rs
mod log; mod writer; pub use log::frame::Frame; use self::writer::W;
=== store/log/mod.rs
pub mod frame; pub mod segment;
=== store/log/frame.rs
use super::segment::Seg;
use super::super::writer::{W, X as Y};
pub(in crate::store) fn g() {}
=== store/log/segment.rs
// crate::gate::G
use crate::store::log::{frame::{self, F}};
=== store/log/quiet.rs
const S: &str = r#"crate::gate::G"#; fn f<'a>() { '"'; } /* crate::gate::G */
=== store/log/tests.rs
use crate::gate::G;
=== store/writer/mod.rs
use crate::store::log::F;
#[cfg(test)]
mod tests { use crate::gate::G; }
"##;

#[test]
fn analysis_catches_upward_references_and_cycles() {
    let tree: Vec<(String, String)> = FAKE
        .split("=== ")
        .filter_map(|file| file.split_once('\n'))
        .map(|(rel, text)| (rel.to_owned(), text.to_owned()))
        .collect();
    assert_eq!(
        layer_violations(&tree),
        [
            "event/mod.rs:2: names `crate::store::Store`, layer 6 `store` above layer 0 `event`",
            "store/log/frame.rs:2: names `crate::store::writer::{W, X}`, \
             layer 5 `store::writer` above layer 3 `store::log`",
        ]
    );
    assert_eq!(
        import_cycles(&tree),
        ["2 files import each other: store/log/frame.rs, store/log/segment.rs\n  \
          store/log/frame.rs -> store/log/segment.rs\n  \
          store/log/segment.rs -> store/log/frame.rs\n  \
          shortest cycle:\n    \
          store/log/frame.rs:1: names `crate::store::log::segment::Seg` (store/log/segment.rs)\n    \
          store/log/segment.rs:2: names `crate::store::log::frame` (store/log/frame.rs)"]
    );
}
