//! The layout of this test binary: fixtures live in `builders/`, and a test file reaches the
//! rest of the binary only through `crate::builders`, never through another test file.

use std::path::{Path, PathBuf};

/// The one module a test file may import from.
const FIXTURES: &str = "builders";

#[test]
fn test_files_import_fixtures_only_from_builders() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("it");
    let modules = top_level_modules(&root);
    assert!(
        modules.iter().any(|m| m == FIXTURES) && modules.len() > 2,
        "expected {FIXTURES}/ and the test files in {}, found {modules:?}",
        root.display()
    );
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut checked = 0;
    let mut bad = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).expect("under tests/it");
        if relative.starts_with(FIXTURES) {
            continue;
        }
        checked += 1;
        let src = std::fs::read_to_string(file).expect("read a test file");
        for (line, path) in violations(&src, &modules) {
            bad.push(format!("tests/it/{}:{line}: {path}", relative.display()));
        }
    }
    assert!(
        checked > 2,
        "found only {checked} test files in {}",
        root.display()
    );
    assert!(
        bad.is_empty(),
        "test files must take fixtures from crate::{FIXTURES} only (move a shared helper into \
         tests/it/{FIXTURES}/):\n{}",
        bad.join("\n")
    );
}

/// The check itself: it must see a bad path wherever one can be written, and nothing in
/// comments or strings.
#[test]
fn the_import_check_catches_other_modules_and_ignores_comments_and_strings() {
    let modules: Vec<String> = ["builders", "booking", "directory", "helpers"]
        .map(String::from)
        .to_vec();
    let src = r##"
use crate::builders::{spawn_app, TestApp};
use crate::directory::{make_therapist, Made};
use crate::{builders::book, booking::slots};
use crate :: helpers;
use super::directory::Spec;
use crate::*;
// use crate::helpers::spawn_app;
/* use crate::booking::book; /* nested */ crate::helpers */
fn f<'a>(x: &'a str) -> char {
    let _ = "use crate::helpers::spawn_app";
    let _ = r#"crate::booking::"book""#;
    let _ = crate::builders::new_client();
    let _ = crate::helpers::with_conn(x);
    let _ = ('"', '\'', '\u{1F600}');
    pub(crate) fn g() {}
    'x'
}
"##;
    let found: Vec<(usize, String)> = violations(src, &modules);
    let expected = [
        (3, "crate::directory"),
        (4, "crate::booking"),
        (5, "crate::helpers"),
        (6, "super::directory"),
        (7, "crate::*"),
        (14, "crate::helpers"),
    ]
    .map(|(l, p)| (l, p.to_string()))
    .to_vec();
    assert_eq!(found, expected);
}

/// The modules declared by `main.rs`, by file and folder name.
fn top_level_modules(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .expect("read tests/it")
        .map(|e| e.expect("directory entry").path())
        .filter_map(|p| {
            let stem = p.file_stem()?.to_str()?.to_string();
            (p.is_dir() || p.extension().is_some_and(|e| e == "rs")).then_some(stem)
        })
        .filter(|name| name != "main")
        .collect();
    names.sort();
    names
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a test directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every path in `src` that leaves the file for another module of the binary than
/// `builders`: `crate::x` with `x` not `builders` (in a `use`, a `use crate::{...}` group or an
/// expression), and `super::x` with `x` another top-level module. As (line, `root::x`).
fn violations(src: &str, modules: &[String]) -> Vec<(usize, String)> {
    let toks = tokens(&code_only(src));
    let mut found = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let root = toks[i].1.as_str();
        if (root != "crate" && root != "super")
            || toks.get(i + 1).map(|t| t.1.as_str()) != Some("::")
        {
            i += 1;
            continue;
        }
        let mut j = i + 2;
        while root == "super"
            && toks.get(j).map(|t| t.1.as_str()) == Some("super")
            && toks.get(j + 1).map(|t| t.1.as_str()) == Some("::")
        {
            j += 2;
        }
        for (line, first) in first_segments(&toks, j) {
            let bad = match root {
                "crate" => first != FIXTURES,
                _ => first != FIXTURES && modules.contains(&first),
            };
            if bad {
                found.push((line, format!("{root}::{first}")));
            }
        }
        i = j;
    }
    found
}

/// The first segment of the path that starts at `toks[at]`, or of each path in a
/// `{a::b, c}` group there.
fn first_segments(toks: &[(usize, String)], at: usize) -> Vec<(usize, String)> {
    let Some((line, tok)) = toks.get(at) else {
        return Vec::new();
    };
    if tok != "{" {
        return vec![(*line, tok.clone())];
    }
    let mut out = Vec::new();
    let mut depth = 0;
    let mut item_start = true;
    for (line, tok) in &toks[at..] {
        match tok.as_str() {
            "{" => {
                depth += 1;
                item_start = depth == 1;
                continue;
            }
            "}" => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            "," if depth == 1 => {
                item_start = true;
                continue;
            }
            _ if item_start => out.push((*line, tok.clone())),
            _ => {}
        }
        item_start = false;
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Identifiers, `::` and single punctuation characters, each with its line.
fn tokens(code: &str) -> Vec<(usize, String)> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < c.len() {
        if c[i] == '\n' {
            line += 1;
            i += 1;
        } else if c[i].is_whitespace() {
            i += 1;
        } else if is_ident(c[i]) {
            let start = i;
            while i < c.len() && is_ident(c[i]) {
                i += 1;
            }
            out.push((line, c[start..i].iter().collect()));
        } else if c[i] == ':' && c.get(i + 1) == Some(&':') {
            out.push((line, "::".to_string()));
            i += 2;
        } else {
            out.push((line, c[i].to_string()));
            i += 1;
        }
    }
    out
}

/// `src` with its comments and the insides of its string and character literals blanked
/// out, newlines kept so that line numbers still hold.
fn code_only(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let blank = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        let ident_before = i > 0 && is_ident(c[i - 1]);
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && (!ident_before || (c[i - 1] == 'b' && (i < 2 || !is_ident(c[i - 2]))))
            && matches!(next, Some('"') | Some('#'))
        {
            let mut j = i + 1;
            while c.get(j) == Some(&'#') {
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            out.extend(&c[i..=j]);
            i = j + 1;
            while i < c.len() {
                if c[i] == '"' && (1..=hashes).all(|k| c.get(i + k) == Some(&'#')) {
                    out.extend(&c[i..=i + hashes]);
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(c[i]));
                i += 1;
            }
        } else if c[i] == '"' {
            out.push('"');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < c.len() {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
            if i < c.len() {
                out.push('"');
                i += 1;
            }
        } else if c[i] == '\'' && next == Some('\\') {
            // An escaped character: '\n', '\'', '\u{..}'.
            out.push_str("'  ");
            i += 3;
            while i < c.len() && c[i] != '\'' {
                out.push(' ');
                i += 1;
            }
            if i < c.len() {
                out.push('\'');
                i += 1;
            }
        } else if c[i] == '\'' && c.get(i + 2) == Some(&'\'') {
            out.push_str("' '");
            i += 3;
        } else {
            // Code, or the quote of a lifetime or label.
            out.push(c[i]);
            i += 1;
        }
    }
    out
}
