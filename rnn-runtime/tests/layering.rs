//! The runtime's module graph is layered and acyclic.
//!
//! This test reads every file under `src/`, collects the module-to-module edges that
//! `crate::…`, `super::…`, `self::…` and child-module paths create, and checks two rules:
//!
//! 1. the graph (at the granularity of `node_of`) has no cycle;
//! 2. every edge goes to a module of the same or a lower layer of `LAYERS`.
//!
//! Code under `#[cfg(test)]` is left out: a unit test may use a higher layer to build its
//! inputs, as an integration test would. Comments and literals are left out too, so a doc
//! link is not a dependency. The crate root (`lib.rs`) is the facade that re-exports the
//! public API and may use anything; no module may import through it.
//!
//! `cargo test -p rnn-runtime --test layering -- --nocapture` prints the edge list;
//! `LAYERING_SRC=path/to/src` runs the same check on another tree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module may use modules of its own layer (without a cycle)
/// and of the layers before it. Modules split into submodules in the graph are named with
/// their submodule (`kernels::gemm`); their `mod.rs` is the plain name (`kernels`).
const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaves",
        &["error", "params", "rng", "state_dict", "data", "io", "zip"],
    ),
    (
        "kernels",
        &[
            "kernels::simd",
            "kernels::matvec",
            "kernels::tiled",
            "kernels::gemm",
            "kernels::activation",
            "kernels::cell_activation",
            "kernels::step",
            "kernels",
        ],
    ),
    (
        "descriptions",
        &["architecture", "summary", "loss", "init", "dropout"],
    ),
    ("layers", &["layers", "quant"]),
    ("model trait", &["model"]),
    (
        "batch compute",
        &[
            "metrics",
            "batch::clip",
            "batch::norms",
            "batch::grads",
            "batch::shards",
            "batch::lengths",
            "batch::compute",
            "batch::states",
            "batch",
        ],
    ),
    ("optimisers", &["optim"]),
    (
        "file formats",
        &[
            "flat",
            "keras",
            "torch",
            "onnx::proto",
            "onnx::builder",
            "onnx::weights",
            "onnx::lengths",
            "onnx::unroll",
            "onnx::graph",
            "onnx",
        ],
    ),
    (
        "training",
        &[
            "train::grad_norms",
            "train::history",
            "train::history_io",
            "train::callbacks",
            "train::state",
            "train::options",
            "train::checkpoints",
            "train::fit",
            "train::series",
            "train",
        ],
    ),
    ("plots", &["plot"]),
];

/// Top-level modules whose submodules are nodes of their own.
const SPLIT: &[&str] = &["kernels", "batch", "onnx", "train"];

fn layer_of(node: &str) -> Option<(usize, &'static str)> {
    LAYERS
        .iter()
        .enumerate()
        .find(|(_, (_, nodes))| nodes.contains(&node))
        .map(|(i, (name, _))| (i, *name))
}

// ---------------------------------------------------------------------------------------
// Lexing: just enough of Rust to find paths outside comments, strings and test code.

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

/// Tokens with their line numbers; comments, string and char literals, lifetimes and
/// numbers are dropped.
fn lex(src: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = src.chars().collect();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    let count_lines = |from: usize, to: usize, line: &mut usize| {
        *line += c[from..to].iter().filter(|&&ch| ch == '\n').count();
    };
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && next == Some('*') {
            // Block comments nest in Rust.
            let (start, mut depth) = (i, 0);
            loop {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            count_lines(start, i, &mut line);
        } else if ch == '"' || ((ch == 'b' || ch == 'c') && next == Some('"')) {
            let start = i;
            i += if ch == '"' { 1 } else { 2 };
            while c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            count_lines(start, i, &mut line);
        } else if (ch == 'r' || ch == 'b') && raw_string_start(&c, i).is_some() {
            let (body, hashes) = raw_string_start(&c, i).unwrap();
            let start = i;
            i = body;
            loop {
                if c[i] == '"' && (1..=hashes).all(|k| c.get(i + k) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
            count_lines(start, i, &mut line);
        } else if ch == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if next == Some('\\') {
                i += 2;
                while c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(c[start..i].iter().collect()), line));
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '.') {
                // `0..n` is a range, not a float.
                if c[i] == '.' && c.get(i + 1) == Some(&'.') {
                    break;
                }
                i += 1;
            }
        } else if ch == ':' && next == Some(':') {
            out.push((Tok::PathSep, line));
            i += 2;
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

/// `r"…"`, `r#"…"#`, `br"…"`: the index after the opening quote and the number of `#`.
fn raw_string_start(c: &[char], i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    if c[j] == 'b' {
        j += 1;
    }
    if c.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while c.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (c.get(j) == Some(&'"')).then_some((j + 1, hashes))
}

// ---------------------------------------------------------------------------------------
// Paths.

/// One source file: its module path (`["layers", "cell"]`) and text.
struct File {
    module: Vec<String>,
    path: PathBuf,
    text: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// Expands the use tree or path that starts at `toks[i]` (just after `prefix::`) into
/// full paths, and returns the index after it.
fn expand(
    toks: &[(Tok, usize)],
    mut i: usize,
    prefix: &[String],
    out: &mut Vec<Vec<String>>,
) -> usize {
    match toks.get(i).map(|t| &t.0) {
        Some(Tok::Punct('{')) => {
            i += 1;
            loop {
                match toks.get(i).map(|t| &t.0) {
                    Some(Tok::Punct('}')) => return i + 1,
                    Some(Tok::Punct(',')) => i += 1,
                    None => return i,
                    _ => i = expand(toks, i, prefix, out),
                }
            }
        }
        Some(Tok::Ident(name)) if name == "self" => {
            out.push(prefix.to_vec());
            i + 1
        }
        Some(Tok::Ident(name)) => {
            let mut path = prefix.to_vec();
            path.push(name.clone());
            if toks.get(i + 1).map(|t| &t.0) == Some(&Tok::PathSep)
                && matches!(
                    toks.get(i + 2).map(|t| &t.0),
                    Some(Tok::Ident(_) | Tok::Punct('{' | '*'))
                )
            {
                expand(toks, i + 2, &path, out)
            } else {
                out.push(path);
                i + 1
            }
        }
        // `*` (a glob) or anything else ends the path at the prefix.
        _ => {
            out.push(prefix.to_vec());
            i + 1
        }
    }
}

/// Every module path the file's non-test code refers to, with the line and the module
/// the reference is made from (inline `mod x { … }` blocks included), and the children
/// it declares under `#[cfg(test)]`.
#[allow(clippy::type_complexity)]
fn references(
    file: &File,
    modules: &BTreeSet<Vec<String>>,
) -> (Vec<(Vec<String>, Vec<String>, usize)>, Vec<String>) {
    let toks = lex(&file.text);
    let mut refs = Vec::new();
    let mut test_children = Vec::new();
    // Inline modules: (name, brace depth at which their block closes).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < toks.len() {
        let here = {
            let mut m = file.module.clone();
            m.extend(inline.iter().map(|(n, _)| n.clone()));
            m
        };
        let ident = |k: usize| match toks.get(k).map(|t| &t.0) {
            Some(Tok::Ident(s)) => Some(s.as_str()),
            _ => None,
        };
        let is = |k: usize, t: Tok| toks.get(k).map(|x| &x.0) == Some(&t);
        // `#[cfg(test)]`: skip the item it guards.
        if is(i, Tok::Punct('#'))
            && is(i + 1, Tok::Punct('['))
            && ident(i + 2) == Some("cfg")
            && is(i + 3, Tok::Punct('('))
            && ident(i + 4) == Some("test")
            && is(i + 5, Tok::Punct(')'))
        {
            i += 7;
            let mut d = 0;
            while i < toks.len() {
                match toks[i].0 {
                    Tok::Ident(ref s) if s == "mod" && d == 0 && is(i + 2, Tok::Punct(';')) => {
                        test_children.push(ident(i + 1).unwrap().to_string());
                    }
                    Tok::Punct('{') => d += 1,
                    Tok::Punct('}') => {
                        d -= 1;
                        if d == 0 {
                            i += 1;
                            break;
                        }
                    }
                    Tok::Punct(';') if d == 0 => {
                        i += 1;
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
            continue;
        }
        match &toks[i].0 {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
                continue;
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth -= 1;
                i += 1;
                continue;
            }
            Tok::Ident(s) if s == "mod" && is(i + 2, Tok::Punct('{')) => {
                inline.push((ident(i + 1).unwrap().to_string(), depth + 1));
                i += 1;
                continue;
            }
            _ => {}
        }
        let starts_path = i == 0 || !matches!(toks[i - 1].0, Tok::PathSep);
        let line = toks[i].1;
        let mut paths = Vec::new();
        match ident(i) {
            // `crate::` and, in macro bodies, `$crate::`.
            Some("crate") if starts_path && is(i + 1, Tok::PathSep) => {
                i = expand(&toks, i + 2, &[], &mut paths);
            }
            Some("super") if starts_path && is(i + 1, Tok::PathSep) => {
                let mut base = here.clone();
                while ident(i) == Some("super") && is(i + 1, Tok::PathSep) {
                    base.pop();
                    i += 2;
                }
                i = expand(&toks, i, &base, &mut paths);
            }
            Some("self") if starts_path && is(i + 1, Tok::PathSep) => {
                i = expand(&toks, i + 2, &here, &mut paths);
            }
            // A path through a child module (`use tensor::Tensor`, `gemm::gemm(…)`).
            Some(name)
                if starts_path && is(i + 1, Tok::PathSep) && {
                    let mut child = here.clone();
                    child.push(name.to_string());
                    modules.contains(&child)
                } =>
            {
                i = expand(&toks, i, &here, &mut paths);
            }
            _ => i += 1,
        }
        refs.extend(paths.into_iter().map(|p| (here.clone(), p, line)));
    }
    (refs, test_children)
}

/// The graph node of a module path: the top-level module, or for the modules in
/// [`SPLIT`] their submodule; a path that names an item rather than a module belongs to
/// the module that holds it. The crate root is `crate`.
fn node_of(path: &[String], modules: &BTreeSet<Vec<String>>) -> String {
    let Some(top) = path.first() else {
        return "crate".to_string();
    };
    if !modules.contains(&vec![top.clone()]) {
        return "crate".to_string();
    }
    if SPLIT.contains(&top.as_str()) && path.len() > 1 && modules.contains(&path[..2].to_vec()) {
        return format!("{top}::{}", path[1]);
    }
    top.clone()
}

type Edges = BTreeMap<(String, String), Vec<String>>;

fn edges() -> Edges {
    // `LAYERING_SRC` points the check at another tree (an older commit's `src/`, say)
    // to compare graphs.
    let src = std::env::var_os("LAYERING_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    paths.sort();
    let files: Vec<File> = paths
        .iter()
        .map(|p| File {
            module: module_of(&src, p),
            path: p.strip_prefix(&src).unwrap().to_path_buf(),
            text: std::fs::read_to_string(p).unwrap(),
        })
        .collect();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    // First pass: which files are test-only (declared `#[cfg(test)] mod x;`).
    let mut test_only = BTreeSet::new();
    let mut refs = Vec::new();
    for f in &files {
        let (r, tests) = references(f, &modules);
        for t in tests {
            let mut m = f.module.clone();
            m.push(t);
            test_only.insert(m);
        }
        refs.push(r);
    }
    let mut edges = Edges::new();
    for (f, r) in files.iter().zip(refs) {
        if test_only.iter().any(|t| f.module.starts_with(t)) {
            continue;
        }
        for (from, to, line) in r {
            let (a, b) = (node_of(&from, &modules), node_of(&to, &modules));
            // The root is the facade: its edges are re-exports, not dependencies.
            if a == b || a == "crate" {
                continue;
            }
            edges.entry((a, b)).or_default().push(format!(
                "{}:{line} ({})",
                f.path.display(),
                to.join("::")
            ));
        }
    }
    edges
}

/// The groups of modules that import each other in a circle (the strongly connected
/// components with more than one module), each with the edges inside it.
fn cycles(edges: &Edges) -> Vec<Vec<(String, String)>> {
    let mut nodes: BTreeSet<&str> = BTreeSet::new();
    for (a, b) in edges.keys() {
        nodes.insert(a);
        nodes.insert(b);
    }
    // Two modules are in one component when each reaches the other.
    let reach = |from: &str| {
        let mut seen = BTreeSet::from([from.to_string()]);
        let mut todo = vec![from.to_string()];
        while let Some(n) = todo.pop() {
            for (a, b) in edges.keys() {
                if *a == n && seen.insert(b.clone()) {
                    todo.push(b.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&str, BTreeSet<String>> =
        nodes.iter().map(|&n| (n, reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for &n in &nodes {
        if done.contains(n) {
            continue;
        }
        let component: BTreeSet<&str> = nodes
            .iter()
            .copied()
            .filter(|&m| reachable[n].contains(m) && reachable[m].contains(n))
            .collect();
        done.extend(component.iter().copied());
        if component.len() > 1 {
            out.push(
                edges
                    .keys()
                    .filter(|(a, b)| {
                        component.contains(a.as_str()) && component.contains(b.as_str())
                    })
                    .cloned()
                    .collect(),
            );
        }
    }
    out
}

#[test]
fn the_module_graph_is_layered_and_acyclic() {
    let edges = edges();
    println!("{} module edges (from -> to, first use):", edges.len());
    for ((a, b), at) in &edges {
        println!("{a} -> {b}    {}", at[0]);
    }

    let mut problems = Vec::new();
    for ((a, b), at) in &edges {
        let where_ = at.join(", ");
        match (layer_of(a), layer_of(b)) {
            (None, _) => problems.push(format!("module `{a}` is in no layer of LAYERS (add it)")),
            (_, None) if b == "crate" => problems.push(format!(
                "{a} -> crate: a module imports through the crate root's re-exports; \
                 import from the defining module instead ({where_})"
            )),
            (_, None) => problems.push(format!("module `{b}` is in no layer of LAYERS (add it)")),
            (Some((la, na)), Some((lb, nb))) if lb > la => problems.push(format!(
                "{a} -> {b}: layer `{na}` uses the higher layer `{nb}` ({where_})"
            )),
            _ => {}
        }
    }
    for cycle in cycles(&edges) {
        let steps: Vec<String> = cycle
            .iter()
            .map(|(a, b)| format!("  {a} -> {b}    {}", edges[&(a.clone(), b.clone())][0]))
            .collect();
        problems.push(format!(
            "import cycle among these edges:\n{}",
            steps.join("\n")
        ));
    }
    problems.sort();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "the runtime's layering is broken:\n- {}",
        problems.join("\n- ")
    );
}

#[test]
fn the_scanner_sees_use_trees_super_and_inline_paths() {
    let text = "use crate::{a::{B, c::D}, e};\n\
                // use crate::commented;\n\
                fn f() { let _ = \"crate::in_a_string\"; crate::g::h(); super::sib::x(); }\n\
                #[cfg(test)]\nmod tests { use crate::only_tests; }\n";
    let file = File {
        module: vec!["m".into(), "n".into()],
        path: PathBuf::from("m/n.rs"),
        text: text.into(),
    };
    let (refs, _) = references(&file, &BTreeSet::new());
    let got: Vec<String> = refs.iter().map(|(_, p, _)| p.join("::")).collect();
    assert_eq!(got, ["a::B", "a::c::D", "e", "g::h", "m::sib::x"]);
}
