//! The crate's modules import in a direction: read from the `crate::` paths of every file under
//! `src/`, no two modules import each other, directly or around a circle (top-level modules such
//! as `web` and `services`, and the modules one level down, such as `services::booking`), and the
//! layers keep their rules: `domain` uses neither diesel nor actix, `web` and `api` never use
//! `db::schema`, `web` and `api` do not import each other, and the search engine imports no
//! service.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every module of `src/` (by path, `""` for the crate root) and its source without comments.
fn modules() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files
        .into_iter()
        .map(|f| {
            let rel = f.strip_prefix(&root).unwrap().with_extension("");
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
            let src = std::fs::read_to_string(&f).unwrap();
            (parts.join("::"), without_comments(&src))
        })
        .collect()
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

/// The source without `//` comments (doc comments name modules in prose).
fn without_comments(src: &str) -> String {
    src.lines()
        .map(|l| match l.find("//") {
            // A `//` inside a string ("https://") is kept: only one that starts a comment goes.
            Some(i) if l[..i].matches('"').count() % 2 == 0 => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path that follows `crate::` in the source, with `{a, b::{c, d}}` groups expanded.
fn crate_paths(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `bodywork_crate::`, not ours
        }
        let mut chars = rest.chars().peekable();
        tree(&mut chars, String::new(), &mut out);
    }
    out
}

/// Parses one use-tree (`a::b`, `a::{b, c::d}`, `{a, b}`) from `chars`, pushing full paths.
fn tree(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    prefix: String,
    out: &mut Vec<String>,
) {
    let mut path = prefix;
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek() == Some(&'{') {
            chars.next();
            loop {
                tree(chars, path.clone(), out);
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                match chars.next() {
                    Some(',') => {
                        while chars.peek().is_some_and(|c| c.is_whitespace()) {
                            chars.next();
                        }
                        if chars.peek() == Some(&'}') {
                            chars.next();
                            return;
                        }
                    }
                    _ => return,
                }
            }
        }
        let mut ident = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_alphanumeric() || c == '_' {
                ident.push(c);
                chars.next();
            } else {
                break;
            }
        }
        if !ident.is_empty() && ident != "self" {
            if !path.is_empty() {
                path.push_str("::");
            }
            path.push_str(&ident);
        }
        let mut look = chars.clone();
        if look.next() == Some(':') && look.next() == Some(':') {
            chars.next();
            chars.next();
            continue;
        }
        // ` as alias`, `;`, `,`, `}` or anything else ends the path; an alias is skipped.
        if !path.is_empty() {
            out.push(path);
        }
        let mut look = chars.clone();
        while look.peek().is_some_and(|c| c.is_whitespace()) {
            look.next();
        }
        if look.next() == Some('a') && look.next() == Some('s') && look.peek() == Some(&' ') {
            while look.peek().is_some_and(|c| c.is_whitespace()) {
                look.next();
            }
            while look
                .peek()
                .is_some_and(|c| c.is_alphanumeric() || *c == '_')
            {
                look.next();
            }
            *chars = look;
        }
        return;
    }
}

/// The module a path lands in: the longest module that is the path or a parent of it.
fn resolve<'m>(path: &str, modules: &'m BTreeMap<String, String>) -> Option<&'m str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|p| modules.get_key_value(&p).map(|(k, _)| k.as_str()))
}

/// The module at `level` segments (`services::booking` at 2, `services` at 1).
fn at_level(module: &str, level: usize) -> String {
    module
        .split("::")
        .take(level)
        .collect::<Vec<_>>()
        .join("::")
}

fn related(a: &str, b: &str) -> bool {
    a == b || a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"))
}

/// The import edges between modules at `level` (a module and its parent or child are not an
/// edge: a parent declares its children, and children reach their parent's items).
fn edges(
    modules: &BTreeMap<String, String>,
    level: usize,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut e: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (m, src) in modules {
        if m.is_empty() {
            continue;
        }
        for path in crate_paths(src) {
            let Some(target) = resolve(&path, modules) else {
                continue;
            };
            if target.is_empty() {
                continue;
            }
            let (a, b) = (at_level(m, level), at_level(target, level));
            if !related(&a, &b) {
                e.entry(a)
                    .or_default()
                    .entry(b)
                    .or_insert(format!("{m} uses crate::{path}"));
            }
        }
    }
    e
}

/// A circle in the graph, as the list of its edges' witnesses, if there is one.
fn find_circle(edges: &BTreeMap<String, BTreeMap<String, String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeMap<String, String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|n| n == node) {
            let mut circle: Vec<String> = stack[i..].to_vec();
            circle.push(node.to_string());
            return Some(
                circle
                    .windows(2)
                    .map(|w| edges[&w[0]][&w[1]].clone())
                    .collect(),
            );
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flat_map(|m| m.keys()) {
            if let Some(c) = visit(next, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

#[test]
fn modules_import_in_a_direction() {
    let modules = modules();
    assert!(
        modules.len() > 40 && modules.contains_key("services::booking"),
        "the modules of src/ were read: {:?}",
        modules.keys().collect::<Vec<_>>()
    );
    for level in [1, 2] {
        let e = edges(&modules, level);
        assert!(e.len() > 5, "level {level}: edges were found");
        if let Some(circle) = find_circle(&e) {
            panic!(
                "modules import each other around a circle (level {level}):\n  {}",
                circle.join("\n  ")
            );
        }
    }
}

#[test]
fn layers_keep_their_rules() {
    let modules = modules();
    let mut broken = Vec::new();
    for (m, src) in &modules {
        let top = at_level(m, 1);
        if top == "domain" && (src.contains("diesel") || src.contains("actix")) {
            broken.push(format!("{m}: domain uses diesel or actix"));
        }
        for path in crate_paths(src) {
            let Some(target) = resolve(&path, &modules) else {
                continue;
            };
            let face = top == "web" || top == "api";
            if face && (target == "db::schema" || path.starts_with("db::schema")) {
                broken.push(format!("{m}: uses crate::{path}"));
            }
            let other = at_level(target, 1);
            if top == "search" && other == "services" {
                broken.push(format!(
                    "{m}: uses crate::{path} (the search engine sits below the services)"
                ));
            }
            if (top == "web" && other == "api") || (top == "api" && other == "web") {
                broken.push(format!("{m}: uses crate::{path} (web and api stay apart)"));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// The reading itself: groups, aliases, nested groups and comments; and a circle is found.
#[test]
fn the_reading_finds_paths_and_circles() {
    let src = "use crate::{a::{b, c as d}, e};\nfn f() { crate::g::h(); }\n// crate::ignored\nlet s = \"https://x\"; crate::k::l;";
    let paths = crate_paths(&without_comments(src));
    assert_eq!(paths, ["a::b", "a::c", "e", "g::h", "k::l"]);
    let mut e: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (a, b) in [("x", "y"), ("y", "z"), ("z", "x"), ("w", "x")] {
        e.entry(a.into())
            .or_default()
            .insert(b.into(), format!("{a}->{b}"));
    }
    let circle = find_circle(&e).expect("x -> y -> z -> x");
    assert_eq!(circle.len(), 3);
    e.get_mut("z").unwrap().clear();
    assert_eq!(find_circle(&e), None);
}
