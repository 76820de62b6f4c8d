//! The house's layering, checked on the sources: every module imports only downwards.
//!
//! - The stages keep the order of [`RANKS`]: a module may name (`crate::…`, `super::…`, or a
//!   child) only modules of its own stage or of a lower rank.
//! - No two files import each other, directly or around a circle (unit tests excluded).
//! - Only `cli.rs`, `main.rs` and `commands/` name clap.
//!
//! A failure names the file and the import that breaks the rule; `docs/DESIGN.md` draws the
//! same picture.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module's rank: a module may import only modules of a rank lower than its own,
/// or its own stage.
const RANKS: &[(&str, u8)] = &[
    ("model", 0),
    ("printable", 0),
    ("suggest", 0),
    ("durable", 0),
    ("export", 0),
    ("fetch", 1),
    ("lake", 1),
    ("generate", 1),
    ("settings", 2),
    ("ingest", 3),
    ("query", 3),
    ("analytics", 3),
    ("state", 3),
    ("reconcile", 4),
    ("report", 5),
    ("cli", 6),
    ("commands", 7),
];

type Module = Vec<String>;

fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] {
        parts.clear();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The file's code without its unit tests and comments.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path that starts with `crate::` or `super::` in `code`, as its segments.
fn paths(code: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            let mut segs = Vec::new();
            let mut rest = &code[at + start.len()..];
            loop {
                let n = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                if n == 0 {
                    break;
                }
                segs.push(rest[..n].to_string());
                rest = &rest[n..];
                match rest.strip_prefix("::") {
                    Some(r) => rest = r,
                    None => break,
                }
            }
            out.push((start.trim_end_matches("::").to_string(), segs));
        }
    }
    out
}

/// The module a path names: the longest prefix that is a module of the crate.
fn target(
    from: &Module,
    kind: &str,
    segs: &[String],
    modules: &BTreeSet<Module>,
) -> Option<Module> {
    let mut base: Module = if kind == "crate" {
        Vec::new()
    } else {
        from[..from.len().saturating_sub(1)].to_vec()
    };
    let mut segs = segs;
    while segs.first().is_some_and(|s| s == "super") {
        base.pop();
        segs = &segs[1..];
    }
    let full: Module = base.iter().cloned().chain(segs.iter().cloned()).collect();
    (0..=full.len())
        .rev()
        .map(|k| full[..k].to_vec())
        .find(|m| modules.contains(m))
}

struct Graph {
    edges: BTreeMap<Module, BTreeSet<Module>>,
    files: BTreeMap<Module, PathBuf>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let files: BTreeMap<Module, PathBuf> = files
        .into_iter()
        .filter(|f| !f.ends_with("main.rs"))
        .map(|f| (module_of(&src, &f), f))
        .collect();
    let modules: BTreeSet<Module> = files.keys().cloned().collect();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (m, f) in &files {
        let text = code(&std::fs::read_to_string(f).unwrap());
        for (kind, segs) in paths(&text) {
            if let Some(t) = target(m, &kind, &segs, &modules)
                && &t != m
                && !t.is_empty()
            {
                edges.entry(m.clone()).or_default().insert(t);
            }
        }
    }
    Graph { edges, files }
}

fn name(m: &Module) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

fn rank(m: &Module) -> Option<u8> {
    let top = m.first()?;
    RANKS.iter().find(|(n, _)| n == top).map(|(_, r)| *r)
}

#[test]
fn every_top_level_module_has_a_rank() {
    let g = graph();
    let unranked: BTreeSet<String> = g
        .files
        .keys()
        .filter(|m| !m.is_empty() && rank(m).is_none())
        .map(|m| m[0].clone())
        .collect();
    assert!(
        unranked.is_empty(),
        "give these modules a rank in RANKS: {unranked:?}"
    );
}

#[test]
fn stages_import_only_downwards() {
    let g = graph();
    let mut wrong = Vec::new();
    for (from, tos) in &g.edges {
        let (Some(rf), Some(top)) = (rank(from), from.first()) else {
            continue;
        };
        for to in tos {
            let (Some(rt), Some(to_top)) = (rank(to), to.first()) else {
                continue;
            };
            if to_top != top && rt >= rf {
                wrong.push(format!(
                    "{} imports {} (rank {rf} may only import lower ranks, {} is {rt})",
                    g.files[from].display(),
                    name(to),
                    to_top
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_import_circles() {
    let g = graph();
    // Depth-first search for a back edge; report the circle it closes.
    fn visit(
        m: &Module,
        g: &Graph,
        state: &mut BTreeMap<Module, u8>,
        stack: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        state.insert(m.clone(), 1);
        stack.push(m.clone());
        for t in g.edges.get(m).into_iter().flatten() {
            match state.get(t).copied() {
                Some(1) => {
                    let i = stack.iter().position(|s| s == t).unwrap();
                    let mut c = stack[i..].to_vec();
                    c.push(t.clone());
                    return Some(c);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(t, g, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(m.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in g.files.keys() {
        if !state.contains_key(m) {
            let mut stack = Vec::new();
            if let Some(c) = visit(m, &g, &mut state, &mut stack) {
                let names: Vec<String> = c.iter().map(name).collect();
                panic!("an import circle: {}", names.join(" → "));
            }
        }
    }
}

#[test]
fn only_the_command_line_knows_clap() {
    let g = graph();
    let mut wrong = Vec::new();
    for (m, f) in &g.files {
        let allowed = m.first().is_some_and(|t| t == "cli" || t == "commands");
        let text = code(&std::fs::read_to_string(f).unwrap());
        if !allowed && text.contains("clap::") {
            wrong.push(f.display().to_string());
        }
    }
    assert!(wrong.is_empty(), "clap used below commands/: {wrong:?}");
}
