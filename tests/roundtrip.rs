//! Lossless XML: reading and writing a document without edits gives back every byte.

use crate::support;
use virt_pci::libvirt::Document;

fn assert_round_trip(path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap();
    let doc = Document::parse_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let out = doc.write();
    assert!(
        out.as_bytes() == bytes.as_slice(),
        "{} does not round-trip byte for byte",
        path.display()
    );
}

#[test]
fn every_conformance_xml_round_trips() {
    let Some(shared) = support::shared_for("roundtrip::every_conformance_xml_round_trips") else {
        return;
    };
    let files = support::files(&shared.join("conformance"), ".xml");
    assert!(
        files.len() > 600,
        "expected the whole corpus, found {}",
        files.len()
    );
    for f in &files {
        assert_round_trip(f);
    }
    eprintln!("{} corpus files round-tripped", files.len());
}

#[test]
fn own_awkward_guests_round_trip() {
    let files = support::own_guests();
    assert!(files.len() >= 15, "only {} own guests", files.len());
    for f in &files {
        assert_round_trip(f);
    }
}

#[test]
fn crlf_bom_and_missing_newline_survive() {
    let src = "\u{feff}<?xml version='1.0'?>\r\n<domain type='kvm'>\r\n  <!-- a -->\r\n  <name>x</name>\r\n</domain>";
    assert_eq!(Document::parse(src).unwrap().write(), src);
}
