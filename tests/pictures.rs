//! `tree --format svg|dot`: snapshots of the pictures of the bundled examples, and
//! facts checked on every guest: the SVG is well-formed XML, there is one box per
//! row of the tree, and the boxes with an error border are the devices the analyses
//! report errors for.

use std::path::Path;

use virt_pci::context::{Choices, context};
use virt_pci::core::analyses::analyse;
use virt_pci::core::diag::Severity;
use virt_pci::libvirt::{Document, read_topology};
use virt_pci::render::picture::{Picture, picture};

use crate::support;

fn picture_of(path: &Path) -> Option<Picture> {
    let doc = Document::parse_bytes(&std::fs::read(path).ok()?).ok()?;
    let t = read_topology(&doc).ok()?;
    let ctx = context(&doc, &Choices::default()).ok()?;
    let a = analyse(&t, &ctx);
    Some(picture(&t, &a))
}

fn snapshot(name: &str, text: String) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/pictures");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name.to_string(), text));
}

#[test]
fn svg_and_dot_snapshots() {
    for name in [
        "centos6-q35-transitional",
        "centos6-q35-virtio",
        "debian8-i440fx",
    ] {
        let path = support::root().join(format!("assets/examples/{name}.xml"));
        let p = picture_of(&path).expect("example reads");
        snapshot(&format!("{name}.svg"), virt_pci::render::svg::render(&p));
        snapshot(&format!("{name}.dot"), virt_pci::render::dot::render(&p));
    }
}

#[test]
fn every_guest_draws_well_formed_svg_with_its_errors_marked() {
    let mut checked = 0;
    for path in support::own_guests() {
        let Some(p) = picture_of(&path) else { continue };
        let svg = virt_pci::render::svg::render(&p);
        let doc = Document::parse(&svg)
            .unwrap_or_else(|e| panic!("{}: SVG not well-formed: {e}", path.display()));
        drop(doc);
        // One box (a group with a class) per node, and no more.
        assert_eq!(
            svg.matches("<g class=\"").count(),
            p.nodes.len(),
            "{}",
            path.display()
        );
        // The red border marks exactly the nodes of devices with an error finding.
        let doc = Document::parse_bytes(&std::fs::read(&path).unwrap()).unwrap();
        let t = read_topology(&doc).unwrap();
        let a = analyse(&t, &context(&doc, &Choices::default()).unwrap());
        if a.refused.is_none() {
            let with_errors: std::collections::BTreeSet<String> = a
                .findings
                .iter()
                .filter(|f| f.diag.severity == Severity::Error)
                .filter_map(|f| f.diag.device)
                .filter_map(|i| a.defined.devices.get(i))
                .filter_map(|d| d.pci_addr())
                .map(|addr| addr.bdf())
                .collect();
            let marked: std::collections::BTreeSet<String> = p
                .nodes
                .iter()
                .filter(|n| n.error)
                .map(|n| n.title.split(' ').next().unwrap_or("").to_string())
                .collect();
            assert!(
                marked.is_subset(&with_errors),
                "{}: marked {marked:?}, errors at {with_errors:?}",
                path.display()
            );
        }
        assert_eq!(
            svg.matches("stroke=\"#b00020\" stroke-width=\"3.5\"")
                .count(),
            p.nodes.iter().filter(|n| n.error).count() + 1,
            "{}: error borders (plus the legend's)",
            path.display()
        );
        checked += 1;
    }
    assert!(checked > 5, "only {checked} guests drawn");
}
