//! Snapshot tests of `virt-pci tree`: the text tree of every guest in `tests/guests/`
//! and `assets/examples/`, plus one ASCII and one JSON rendering, so that a change in
//! the output shows up as a reviewable diff.

use std::path::{Path, PathBuf};

use virt_pci::core::topology::Topology;
use virt_pci::libvirt::{Document, read_topology};
use virt_pci::render::tree::{render_json, render_text};

/// The XML files of a directory under the crate root, sorted by name.
fn guests(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "xml"));
    files.sort();
    files
}

fn load(path: &Path) -> Topology {
    try_load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The topology, or the error `virt-pci tree` would report instead of a tree.
fn try_load(path: &Path) -> Result<Topology, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let doc = Document::parse_bytes(&bytes)
        .map_err(|e| format!("{}:{}: error: {}", e.pos.line, e.pos.column, e.message))?;
    read_topology(&doc).map_err(|e| format!("{e}"))
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Runs `check` under snapshot settings that name the input file, and reports
/// whether it passed, so that one changed guest does not hide the others.
fn snapshot(path: &Path, check: impl FnOnce()) -> bool {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/tree");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_input_file(path);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| settings.bind(check))).is_ok()
}

#[test]
fn text_tree_of_every_guest() {
    let mut failed = Vec::new();
    let mut seen = 0;
    for (prefix, dir) in [("guests", "tests/guests"), ("examples", "assets/examples")] {
        for path in guests(dir) {
            seen += 1;
            // A guest the reader refuses has its error as the snapshot, so that a
            // fixture meant for the parser does not stop the others.
            let text = try_load(&path).map_or_else(|e| e, |t| render_text(&t, false));
            let name = format!("{prefix}__{}", stem(&path));
            if !snapshot(&path, || insta::assert_snapshot!(name.clone(), text)) {
                failed.push(name);
            }
        }
    }
    assert!(seen > 0, "no guests found");
    assert!(failed.is_empty(), "tree snapshots differ: {failed:?}");
}

#[test]
fn ascii_tree_is_plain_ascii() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guests/tree-q35-edge.xml");
    let text = render_text(&load(&path), true);
    assert!(text.is_ascii());
    assert!(snapshot(&path, || insta::assert_snapshot!(
        "ascii__tree-q35-edge",
        text
    )));
}

#[test]
fn json_tree_snapshot() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guests/tree-i440fx.xml");
    let json = render_json(&load(&path));
    let value: serde_json::Value = serde_json::from_str(&json).expect("tree --json is JSON");
    for key in [
        "name",
        "machine",
        "root",
        "virtio_mmio",
        "unassigned",
        "dangling",
    ] {
        assert!(value.get(key).is_some(), "missing {key}");
    }
    assert!(snapshot(&path, || insta::assert_snapshot!(
        "json__tree-i440fx",
        json
    )));
}
