//! Benchmark: one key press in the designer on a 1,000-device guest: handle the key,
//! re-run every analysis, rebuild the rows and render into a 200x60 buffer.

// The same allocator as the `virt-pci` binary, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::Event;
#[path = "../tests/common/generate.rs"]
mod generate;
use generate::{Shape, guest};
use virt_pci::tui::commands::Message;
use virt_pci::tui::event::parse_keys;
use virt_pci::tui::{App, Options, Session};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("tui key press");
    for (shape, name, assigned) in [
        (Shape::Q35Bridges, "q35-bridges-1000", false),
        (Shape::Q35Bridges, "q35-bridges-1000-assigned", true),
        (Shape::I440fxNics, "i440fx-nics-1000", false),
    ] {
        let xml = guest(shape, 1000);
        let session = Session::from_text(&xml, None, name.into()).expect("generated guest");
        let mut app = App::new(session, &Options::default());
        if assigned {
            app.update(Message::AutoAssign);
        }
        let mut term = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
        app.size = (200, 60);
        let down = Event::Key(parse_keys("j")[0]);
        let up = Event::Key(parse_keys("k")[0]);
        let mut flip = false;
        g.bench_function(name, |b| {
            b.iter(|| {
                flip = !flip;
                app.handle_event(if flip { &down } else { &up });
                app.refresh();
                term.draw(|f| app.render(f)).expect("draw");
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
