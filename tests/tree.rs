//! Snapshot tests of `virt-pci tree`: the text tree of every guest in `tests/guests/`
//! and `assets/examples/` with the analyses, as the CLI prints it, plus one ASCII and
//! one JSON rendering, so that a change in the output shows up as a reviewable diff;
//! and the analyses' annotations checked against facts (measured IO windows, libvirt's
//! placement).

use std::path::{Path, PathBuf};

use virt_pci::context::{Choices, context};
use virt_pci::core::analyses::{Analysis, analyse};
use virt_pci::core::topology::Topology;
use virt_pci::libvirt::{Document, read_topology};
use virt_pci::render::tree::{
    render_json, render_json_analysed, render_text, render_text_analysed,
};

use crate::support;

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

/// The topology and its analysis as `virt-pci tree` makes them.
fn analysed(path: &Path) -> Result<(Topology, Analysis), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let doc = Document::parse_bytes(&bytes)
        .map_err(|e| format!("{}:{}: error: {}", e.pos.line, e.pos.column, e.message))?;
    let t = read_topology(&doc).map_err(|e| format!("{e}"))?;
    let ctx = context(&doc, &Choices::default())?;
    let a = analyse(&t, &ctx);
    Ok((t, a))
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
            let text =
                analysed(&path).map_or_else(|e| e, |(t, a)| render_text_analysed(&t, false, &a));
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

/// The `io=` badges of the tree are the IO windows SeaBIOS really assigned: the IO
/// corpus holds the firmware's measured windows for the bundled examples.
#[test]
fn io_badges_are_the_measured_windows() {
    let root = support::root();
    let mut checked = 0;
    for name in [
        "centos6-q35-transitional",
        "centos6-q35-virtio",
        "debian8-i440fx",
        "win10-q35",
    ] {
        let (t, a) = analysed(&root.join(format!("assets/examples/{name}.xml"))).expect("loads");
        let text = render_text_analysed(&t, false, &a);
        let measured: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                root.join(format!("tests/io-corpus/cases/example-{name}.seabios.json")),
            )
            .expect("measurement"),
        )
        .expect("JSON");
        let Some(windows) = measured["windows"].as_object() else {
            panic!("{name}: no windows in the measurement")
        };
        let firmware_forced = a.firmware.id != "seabios";
        if firmware_forced {
            continue; // measured under SeaBIOS; the domain boots UEFI
        }
        for (index, w) in windows {
            let io = w["io"].as_u64().unwrap_or(0);
            let line = text
                .lines()
                .find(|l| l.contains(&format!(" #{index} [")))
                .unwrap_or_else(|| panic!("{name}: no row for controller {index}:\n{text}"));
            let badge = if io == 0 {
                None
            } else {
                Some(format!(" io={}K", io / 1024))
            };
            match badge {
                Some(b) => assert!(line.contains(&b), "{name}: {line} should show {b}"),
                None => assert!(!line.contains(" io="), "{name}: {line} has no window"),
            }
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} windows checked");
}

#[test]
fn every_virtio_device_has_its_mode_and_diagnostics_mark_their_rows() {
    let path = support::root().join("assets/examples/centos6-q35-virtio.xml");
    let (t, a) = analysed(&path).expect("loads");
    let text = render_text_analysed(&t, false, &a);
    let flagged: Vec<&str> = text.lines().filter(|l| l.contains("!VP0401")).collect();
    assert_eq!(flagged.len(), 5, "{text}");
    assert!(
        flagged.iter().all(|l| l.contains("virtio=modern-only")),
        "{text}"
    );
    assert!(text.contains("guest OS: CentOS 6.10 (centos6.10): legacy virtio (0.9) drivers only"));
    let io = text
        .lines()
        .find(|l| l.starts_with("IO ports under SeaBIOS"))
        .expect("IO line");
    assert!(io.ends_with(", fits"), "{io}");
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.contains("5 error(s)")),
        "{text}"
    );
}

/// A device written without an address shows where libvirt will put it: the same
/// address `assign` writes.
#[test]
fn unaddressed_devices_show_where_libvirt_places_them() {
    let src = std::fs::read_to_string(
        support::root().join("assets/examples/centos6-q35-transitional.xml"),
    )
    .expect("example");
    let stripped: String = src
        .lines()
        .filter(|l| !l.contains("<address type='pci'") || l.contains("bus='0x00'"))
        .map(|l| format!("{l}\n"))
        .collect();
    let doc = Document::parse(&stripped).expect("parses");
    let t = read_topology(&doc).expect("domain");
    let a = analyse(&t, &context(&doc, &Choices::default()).expect("ctx"));
    assert!(a.refused.is_none());
    let text = render_text_analysed(&t, false, &a);
    let placed: Vec<&str> = text.lines().filter(|l| l.contains(" -> ")).collect();
    assert!(placed.len() >= 5, "{text}");
    for line in placed {
        let at = line
            .split(" -> ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .expect("address");
        // The defined guest has a device at that address with the same label.
        let label = line
            .split("─ ")
            .nth(1)
            .and_then(|r| r.split(" [").next())
            .expect("label");
        let def = a
            .defined
            .devices
            .iter()
            .find(|d| d.pci_addr().is_some_and(|p| p.bdf() == at))
            .unwrap_or_else(|| panic!("nothing at {at}"));
        let described = def.describe(&a.defined.machine);
        assert!(
            described.ends_with(label.trim()),
            "{line}: {described} at {at}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&render_json_analysed(&t, &a)).expect("JSON");
    let first = &json["unassigned"][0];
    assert!(first["placed_at"].is_string(), "{first}");
}

#[test]
fn a_refused_domain_shows_the_refusal_and_no_analysis() {
    let path = support::root().join("tests/guests/tree-q35-edge.xml");
    let (t, a) = analysed(&path).expect("loads");
    assert!(a.refused.is_some());
    let text = render_text_analysed(&t, false, &a);
    assert!(
        !text.contains("virtio=") && !text.contains(" io="),
        "{text}"
    );
    assert!(
        text.contains("libvirt refuses this domain: [VP0101]"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&render_json_analysed(&t, &a)).expect("JSON");
    assert_eq!(json["analysis"]["refused"]["code"], "VP0101");
    assert!(json["analysis"]["io_outcome"].is_null());
}
