//! Benchmark: parse + assign + write of generated guests of growing size.

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

criterion_group!(benches, bench);
criterion_main!(benches);
