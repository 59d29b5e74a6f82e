//! Architecture checks: which layer may name which crate and module (read from the `use`
//! trees and paths of the code itself, not by grepping words), every module says what it
//! owns, and the codemap in ARCHITECTURE.md names every source file.

use crate::support;
use std::path::Path;

/// Source text with comments, string and character literals blanked out, so that only
/// code is left to read paths from (a doc comment that mentions `std::fs` is no import).
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == b'r' && matches!(b.get(i + 1), Some(b'"' | b'#')) && !ident_byte_before(b, i)
        {
            // raw string r"..." or r#"..."#
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == b'"'
                    && b[j + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == b'#')
                        .count()
                        == hashes
                {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == b'\'' {
            // a char literal ('x', '\n', '\u{..}') or a lifetime ('a)
            if b.get(i + 1) == Some(&b'\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != b'\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if let Some(len) = src[i + 1..].chars().next().map(char::len_utf8)
                && b.get(i + 1 + len) == Some(&b'\'')
            {
                i += len + 2;
                out.push_str("' '");
            } else {
                out.push('\'');
                i += 1;
            }
        } else {
            let ch = src[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn ident_byte_before(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

/// Tokens: identifiers, `::`, and single punctuation characters.
fn tokens(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = code.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if d.is_alphanumeric() || d == '_' {
                    end = j + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(code[i..end].to_string());
        } else if c == ':' && chars.peek().map(|&(_, d)| d) == Some(':') {
            chars.next();
            out.push("::".into());
        } else if !c.is_whitespace() {
            out.push(c.to_string());
        }
    }
    out
}

/// Expands a `use` tree starting at `t[*i]` (after the `use` keyword) into full paths.
fn use_tree(t: &[String], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    while *i < t.len() {
        let tok = t[*i].as_str();
        match tok {
            "::" => *i += 1,
            "{" => {
                *i += 1;
                loop {
                    use_tree(t, i, &path, out);
                    match t.get(*i).map(String::as_str) {
                        Some(",") => *i += 1,
                        Some("}") => {
                            *i += 1;
                            return;
                        }
                        _ => return,
                    }
                    if t.get(*i).map(String::as_str) == Some("}") {
                        *i += 1;
                        return;
                    }
                }
            }
            "as" => {
                *i += 2;
                out.push(path);
                return;
            }
            "," | "}" | ";" => {
                if path.len() > prefix.len() {
                    out.push(path);
                }
                return;
            }
            "*" => {
                *i += 1;
                out.push(path);
                return;
            }
            _ => {
                path.push(tok.to_string());
                *i += 1;
            }
        }
    }
}

/// Every path the code names (`use` trees expanded, and inline `a::b::c` paths), and every
/// macro it invokes (as `name!`).
fn names(src: &str) -> Vec<String> {
    let t = tokens(&code_only(src));
    let mut paths: Vec<Vec<String>> = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if t[i] == "use" && (i == 0 || t[i - 1] != "::") {
            i += 1;
            use_tree(&t, &mut i, &[], &mut paths);
            continue;
        }
        if t[i]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
        {
            if t.get(i + 1).map(String::as_str) == Some("!") {
                paths.push(vec![format!("{}!", t[i])]);
            }
            if i == 0 || t[i - 1] != "::" {
                let mut p = vec![t[i].clone()];
                let mut j = i + 1;
                while t.get(j).map(String::as_str) == Some("::")
                    && t.get(j + 1)
                        .is_some_and(|s| s.chars().all(|c| c.is_alphanumeric() || c == '_'))
                {
                    p.push(t[j + 1].clone());
                    j += 2;
                }
                if p.len() > 1 {
                    paths.push(p);
                }
            }
        }
        i += 1;
    }
    paths.into_iter().map(|p| p.join("::")).collect()
}

fn starts_with_path(name: &str, prefix: &str) -> bool {
    name == prefix || name.starts_with(&format!("{prefix}::"))
}

/// What the files under `dir` must never name.
fn check_layer(dir: &str, forbidden: &[&str], why: &str) {
    let files = support::files(&support::root().join(dir), ".rs");
    assert!(!files.is_empty(), "{dir} has no sources");
    let mut bad = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for n in names(&text) {
            if forbidden.iter().any(|p| starts_with_path(&n, p)) {
                bad.push(format!("{}: {n}", f.display()));
            }
        }
    }
    bad.sort();
    bad.dedup();
    assert!(bad.is_empty(), "{why}:\n{}", bad.join("\n"));
}

#[test]
fn the_path_reader_sees_use_trees_and_inline_paths() {
    let src = r#"
        //! use std::fs; (a comment, not an import)
        use std::{fs, io::{self, Write as _}};
        use crate::libvirt::xml::Document;
        fn f() { let s = "std::process"; std::env::var("X"); println!("{s}"); let c = '"'; }
        fn g<'a>(x: &'a str) -> &'a str { crate::tui::run(); x }
    "#;
    let n = names(src);
    for want in [
        "std::fs",
        "std::io::self",
        "std::io::Write",
        "crate::libvirt::xml::Document",
        "std::env::var",
        "println!",
        "crate::tui::run",
    ] {
        assert!(n.iter().any(|x| x == want), "{want} not found in {n:?}");
    }
    assert!(!n.iter().any(|x| x.starts_with("std::process")), "{n:?}");
    assert!(starts_with_path("std::io::self", "std::io"));
    assert!(!starts_with_path("std::iox", "std::io"));
}

#[test]
fn core_imports_no_ui_xml_or_cli_crate_and_does_no_io() {
    check_layer(
        "crates/core/src",
        &[
            "ratatui",
            "crossterm",
            "quick_xml",
            "clap",
            "tui_textarea",
            "serde_json",
            "std::fs",
            "std::io",
            "std::net",
            "std::process",
            "std::env",
            "crate::libvirt",
            "crate::tui",
            "crate::cli",
            "crate::render",
            "println!",
            "eprintln!",
            "print!",
            "eprint!",
            "dbg!",
        ],
        "the core must stay free of UI, XML and CLI crates, of the outer layers and of I/O",
    );
}

#[test]
fn the_libvirt_layer_knows_no_front_end() {
    check_layer(
        "src/libvirt",
        &[
            "ratatui",
            "crossterm",
            "clap",
            "tui_textarea",
            "crate::tui",
            "crate::cli",
            "crate::render",
        ],
        "the libvirt layer owns the document; it must not reach into a front end",
    );
}

#[test]
fn renderers_know_no_terminal_ui_or_command_line() {
    check_layer(
        "src/render",
        &[
            "ratatui",
            "crossterm",
            "tui_textarea",
            "clap",
            "crate::tui",
            "crate::cli",
        ],
        "renderers turn analyses into text; they must not depend on the designer or the CLI",
    );
}

#[test]
fn every_module_starts_with_a_doc_line() {
    let mut files = support::files(&support::root().join("src"), ".rs");
    files.extend(support::files(&support::root().join("crates"), ".rs"));
    files.extend(support::files(&support::root().join("tests"), ".rs"));
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} does not start with a `//!` line saying what it owns",
            f.display()
        );
    }
}

#[test]
fn the_codemap_names_every_source_file() {
    let root = support::root();
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut sources = support::files(&root.join("src"), ".rs");
    sources.extend(support::files(&root.join("crates"), ".rs"));
    let missing: Vec<String> = sources
        .iter()
        .map(|f| rel(&root, f))
        .filter(|r| !map.contains(&format!("`{r}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's codemap does not name (as `path`): {missing:?}"
    );
}

fn rel(root: &Path, f: &Path) -> String {
    f.strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

/// The core is its own crate so that the compiler, not only this file, keeps it free of
/// the XML, UI and CLI crates: it may depend on nothing but these.
const CORE_MAY_DEPEND_ON: &[&str] = &["serde", "thiserror"];

#[test]
fn the_core_crate_depends_only_on_what_it_may() {
    let manifest = std::fs::read_to_string(support::root().join("crates/core/Cargo.toml")).unwrap();
    let mut section = String::new();
    let mut bad = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.trim_matches(|c| c == '[' || c == ']').to_string();
            continue;
        }
        let is_deps = section == "dependencies" || section.ends_with(".dependencies");
        if let Some((name, _)) = line
            .split_once('=')
            .filter(|_| is_deps && !line.starts_with('#'))
        {
            let name = name.trim();
            if !CORE_MAY_DEPEND_ON.contains(&name) {
                bad.push(name.to_string());
            }
        }
    }
    assert!(bad.is_empty(), "crates/core may not depend on {bad:?}");
}

#[test]
fn the_two_front_ends_do_not_reach_into_each_other() {
    // What both need (exit statuses, saving, the target) lives in `crate::host`.
    check_layer(
        "src/tui",
        &["clap", "crate::cli"],
        "the designer is a front end of its own; shared needs belong in crate::host",
    );
    check_layer(
        "src/cli",
        &["ratatui::", "crossterm", "tui_textarea"],
        "the command line starts the designer through crate::tui, never draws itself",
    );
}

/// Every place outside the test tree whose code (comments and strings blanked) contains
/// `needle`, as `path` relative to the root.
fn code_sites(needle: &str) -> Vec<String> {
    let root = support::root();
    let mut files = support::files(&root.join("src"), ".rs");
    files.extend(support::files(&root.join("crates"), ".rs"));
    let mut at: Vec<String> = files
        .iter()
        .filter(|f| code_only(&std::fs::read_to_string(f).unwrap()).contains(needle))
        .map(|f| rel(&root, f))
        .collect();
    at.sort();
    at
}

#[test]
fn a_plan_is_applied_in_one_place_and_a_topology_written_in_one() {
    // Two appliers once placed added devices by different rules and two writers wrote
    // addresses differently: the analyses and the saved file disagreed.
    assert_eq!(
        code_sites(".fill_in("),
        ["crates/core/src/assign/plan.rs"],
        "fills are written onto devices only by Plan::define"
    );
    // (`host::libvirt` has a `define` of its own: libvirt's, of a domain.)
    let define: Vec<String> = code_sites(".define(")
        .into_iter()
        .filter(|p| p != "src/host/libvirt.rs")
        .collect();
    assert_eq!(
        define,
        [
            "crates/core/src/analyses.rs",
            "crates/core/src/edit/insert.rs"
        ],
        "a plan becomes a topology through the analyses or an edit, nowhere else"
    );
    for writer in ["fn write_address", "fn write_topology", "fn write_plan"] {
        assert_eq!(
            code_sites(writer),
            ["src/libvirt/write.rs"],
            "the document has one writer of the model"
        );
    }
}
