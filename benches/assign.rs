//! Benchmark: parse + assign + write of generated guests of growing size, and
//! `check`'s rules on hostile guests just under 1 MB (thousands of one kind of
//! device, each a case that once made the work grow with its square).

// The same allocator as the `virt-pci` binary, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use virt_pci::core::assign::assign;
#[path = "../tests/common/generate.rs"]
mod generate;
use generate::{Shape, guest};
use virt_pci::libvirt::{Document, read_topology, write_plan};

fn parse_assign_write(xml: &str) -> String {
    let mut doc = Document::parse(xml).expect("generated guests parse");
    let topo = read_topology(&doc).expect("generated guests are domains");
    let plan = assign(&topo).expect("generated guests are accepted");
    write_plan(&mut doc, &topo, &plan);
    doc.write()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse+assign+write");
    for (shape, name, sizes) in [
        (
            Shape::I440fxNics,
            "i440fx-nics",
            &[10usize, 100, 1000, 4000][..],
        ),
        (
            Shape::Q35Bridges,
            "q35-bridges",
            &[10usize, 100, 1000, 4000][..],
        ),
        (Shape::Q35Switches, "q35-switches", &[10usize, 100][..]),
    ] {
        for &n in sizes {
            let xml = guest(shape, n);
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::new(name, n), &xml, |b, xml| {
                b.iter(|| parse_assign_write(xml))
            });
        }
    }
    g.finish();
}

/// A guest of one machine type with `n` copies of one device element.
fn many(machine: &str, n: usize, element: impl Fn(usize) -> String) -> String {
    let mut xml = format!(
        "<domain type='kvm'><name>hostile</name><memory>1048576</memory>\
         <os><type arch='x86_64' machine='{machine}'>hvm</type></os><devices>\n"
    );
    for i in 0..n {
        xml.push_str(&element(i));
        xml.push('\n');
    }
    xml.push_str("</devices></domain>\n");
    xml
}

/// A disk name for disk number `i` (`sdaaa`, `sdaab`, ...).
fn sd(i: usize) -> String {
    let letters: String = (0..3)
        .rev()
        .map(|k| char::from(b'a' + ((i / 26usize.pow(k)) % 26) as u8))
        .collect();
    format!("sd{letters}")
}

fn hostile(c: &mut Criterion) {
    let shapes = [
        (
            "8000-sata-disks",
            many("q35", 8000, |i| {
                format!(
                    "<disk type='file' device='disk'><source file='/x{i}'/>\
                     <target dev='{}' bus='sata'/></disk>",
                    sd(i)
                )
            }),
        ),
        (
            "8000-usb2-controllers",
            many("pc", 8000, |i| {
                format!("<controller type='usb' index='{i}' model='ich9-ehci1'/>")
            }),
        ),
        (
            "9000-virtio-nics",
            many("q35", 9000, |_| {
                "<interface type='network'><source network='default'/>\
                 <model type='virtio'/></interface>"
                    .to_string()
            }),
        ),
        (
            "5000-hostdevs",
            many("q35", 5000, |i| {
                format!(
                    "<hostdev mode='subsystem' type='pci' managed='yes'><source>\
                     <address domain='0' bus='{}' slot='{}' function='{}'/></source></hostdev>",
                    i / 256,
                    (i / 8) % 32,
                    i % 8
                )
            }),
        ),
    ];
    let mut g = c.benchmark_group("check-hostile");
    g.sample_size(10);
    for (name, xml) in &shapes {
        assert!(xml.len() < 1 << 20, "{name} is {} bytes", xml.len());
        g.bench_with_input(BenchmarkId::from_parameter(name), xml, |b, xml| {
            b.iter(|| {
                let topo = read_topology(&Document::parse(xml).expect("parses")).expect("reads");
                virt_pci::core::assign::check_all(&topo)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench, hostile);
criterion_main!(benches);
