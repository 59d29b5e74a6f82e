//! Architecture checks: the core stays pure and every module says what it owns.

use crate::support;

#[test]
fn core_imports_no_ui_xml_or_cli_crate_and_does_no_io() {
    let forbidden = [
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
        "println!",
        "eprintln!",
    ];
    let files = support::files(&support::root().join("src/core"), ".rs");
    assert!(!files.is_empty());
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for word in forbidden {
            assert!(
                !text.contains(word),
                "{} mentions `{word}`: the core must stay free of UI, XML, CLI crates and I/O",
                f.display()
            );
        }
    }
}

#[test]
fn every_module_starts_with_a_doc_line() {
    let mut files = support::files(&support::root().join("src"), ".rs");
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
