//! Benchmark: `audit` of generated fleets (guests of 10–40 devices, the three shapes
//! of `generate` (`tests/common/generate.rs`) in turn), 1,000 / 2,500 / 10,000 guests, to see the time
//! of a fleet and that it grows linearly with the number of guests.

// The same allocator as the `virt-pci` binary, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use virt_pci::audit::{Input, audit_all};
use virt_pci::context::Choices;
#[path = "../tests/common/generate.rs"]
mod generate;
use generate::{Shape, guest};

fn fleet(count: usize) -> Vec<Input> {
    let shapes = [Shape::Q35Bridges, Shape::I440fxNics, Shape::Q35Switches];
    (0..count)
        .map(|i| {
            let n = 10 + (i * 7) % 31;
            Input::Text(format!("guest-{i}"), Ok(guest(shapes[i % 3], n)))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("audit");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    let choices = Choices::default();
    for count in [1_000usize, 2_500, 10_000] {
        let inputs = fleet(count);
        g.throughput(Throughput::Elements(count as u64));
        g.bench_with_input(BenchmarkId::new("guests", count), &inputs, |b, inputs| {
            b.iter(|| audit_all(inputs, &choices, &|| {}))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
