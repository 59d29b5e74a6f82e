//! The benchmark guest generator (`tests/common/generate.rs`) writes guests libvirt
//! would accept: disk names it can parse, controller indexes below 256.

use crate::generate::{Shape, disk_name, guest};
use virt_pci::core::assign::assign;
use virt_pci::libvirt::{Document, read_topology};

#[test]
fn disk_names_count_like_libvirt() {
    let names: Vec<String> = [0, 25, 26, 27, 701, 702].map(disk_name).to_vec();
    assert_eq!(names, ["vda", "vdz", "vdaa", "vdab", "vdzz", "vdaaa"]);
}

#[test]
fn controller_indexes_stay_below_256() {
    for n in [10, 100, 250, 1000, 4000] {
        for shape in [Shape::I440fxNics, Shape::Q35Switches, Shape::Q35Bridges] {
            let doc = Document::parse(&guest(shape, n)).unwrap();
            let topo = read_topology(&doc).unwrap();
            let max = topo
                .devices
                .iter()
                .filter_map(|d| d.index)
                .max()
                .unwrap_or(0);
            assert!(max <= 255, "{shape:?} {n}: index {max}");
        }
    }
}

#[test]
fn generated_guests_are_accepted_at_every_benchmark_size() {
    for (shape, sizes) in [
        (Shape::I440fxNics, &[10, 100, 1000, 4000][..]),
        (Shape::Q35Bridges, &[10, 100, 1000, 4000][..]),
        (Shape::Q35Switches, &[10, 100][..]),
    ] {
        for &n in sizes {
            let doc = Document::parse(&guest(shape, n)).unwrap();
            let topo = read_topology(&doc).unwrap();
            let plan = assign(&topo).unwrap_or_else(|d| panic!("{shape:?} {n}: {d}"));
            let placed = plan
                .fills
                .iter()
                .filter(|(_, f)| f.address.is_some())
                .count();
            assert!(placed >= n, "{shape:?} {n}: only {placed} addresses");
        }
    }
}
