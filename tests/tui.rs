//! Whole-designer tests: scripted keys drive the real event loop on ratatui's
//! `TestBackend`, and the screen is compared with snapshots in `snapshots/tui/`. Each
//! test reads as "open this guest, press these keys, expect this screen".

use std::path::{Path, PathBuf};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{MouseButton, MouseEventKind};
use virt_pci::core::topology::Topology;
use virt_pci::libvirt::{Document, read_topology};
use virt_pci::tui::{App, Options, Script, Session, keys, run_app};

use crate::support;

/// The designer on a bundled example (never saved anywhere).
fn example(name: &str) -> App {
    let path = support::root().join("assets/examples").join(name);
    let text = std::fs::read_to_string(&path).expect("example");
    let session = Session::from_text(&text, None, name.to_string()).expect("loads");
    App::new(session, &opts())
}

fn opts() -> Options {
    Options {
        mono: true,
        ..Options::default()
    }
}

/// Runs `script` through the event loop at `w` x `h` and returns the screen.
fn drive(app: &mut App, script: Script, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    let mut script = script;
    run_app(&mut term, app, &mut script).expect("event loop");
    screen(&term)
}

/// The screen as text, trailing blanks removed.
fn screen(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn snap(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/tui");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// The topology with origins and lines cleared, for comparing a saved file with the
/// model it came from.
fn plain(t: &Topology) -> Topology {
    let mut t = t.clone();
    for d in &mut t.devices {
        d.origin = virt_pci::core::Origin(0);
        d.line = 0;
    }
    t
}

fn read(path: &Path) -> Topology {
    let text = std::fs::read_to_string(path).expect("saved file");
    read_topology(&Document::parse(&text).expect("xml")).expect("domain")
}

/// A scratch copy of an example, in a directory of its own.
fn scratch(name: &str, tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("virt-pci-tui-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let to = dir.join(name);
    std::fs::copy(support::root().join("assets/examples").join(name), &to).expect("copy");
    to
}

#[test]
fn opens_at_80x24_with_tree_details_diagnostics_and_key_bar() {
    let mut app = example("centos6-q35-virtio.xml");
    let s = drive(&mut app, Script::default(), 80, 24);
    assert!(s.contains("pcie-root #0"));
    assert!(s.contains("VP0401"));
    // The whole key bar fits at 80 columns, quit included.
    let bar = s.lines().last().unwrap_or_default();
    assert!(bar.contains(" ? help") && bar.ends_with(" q quit"), "{bar}");
    snap("open_80x24", &s);
}

#[test]
fn every_example_opens_at_80x24_and_200x60() {
    for path in support::files(&support::root().join("assets/examples"), ".xml") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for (w, h) in [(80, 24), (200, 60)] {
            let mut app = example(&name);
            let s = drive(&mut app, keys("jjjjG"), w, h);
            assert!(s.contains("virt-pci"), "{name} at {w}x{h}");
        }
    }
}

#[test]
fn navigate_fold_and_details_follow_the_selection() {
    let mut app = example("centos6-q35-virtio.xml");
    // Down to the first root port, fold it, down to the next one, open its child.
    let s = drive(&mut app, keys("jjj<Enter>jl"), 80, 24);
    assert!(s.contains("▸ 00:02.0 pcie-root-port #1"));
    assert!(s.contains("usb controller qemu-xhci #0"));
    snap("navigate", &s);
    // h goes back to the parent, then folds it.
    let s = drive(&mut app, keys("hh"), 80, 24);
    assert!(s.contains("▸ 00:02.1 pcie-root-port #2"));
}

#[test]
fn add_a_root_port_then_a_disk_in_it() {
    let mut app = example("centos6-q35-virtio.xml");
    // a: add; the filter picks the root port; the first place offered is libvirt's.
    let s = drive(&mut app, keys("apcie-root-port<Enter>"), 80, 24);
    assert!(s.contains("where does the pcie-root-port go?"), "{s}");
    let s = drive(&mut app, keys("<Enter>"), 80, 24);
    assert!(s.contains("add pcie-root-port"), "{s}");
    // The new port is selected; add a disk and put it in that port (offered first).
    let s = drive(
        &mut app,
        keys("adisk<Enter>virtio-non<Enter><Down><Down><Enter>"),
        80,
        24,
    );
    let status = app.status.clone().map(|s| s.text).unwrap_or_default();
    assert_eq!(status, "add disk (virtio-blk) (virtio-non-transitional)");
    assert!(s.contains("disk virtio-non-transitional (vdb)"), "{s}");
    assert!(app.session.dirty());
    snap("add_root_port_and_disk", &s);
}

#[test]
fn move_a_device_onto_a_bridge_and_its_mode_changes() {
    let mut app = example("centos6-q35-virtio.xml");
    drive(&mut app, keys("apcie-to-pci<Enter><Enter>"), 100, 30);
    let t = app.topology();
    assert!(t.devices.iter().any(|d| {
        d.pci
            .as_ref()
            .is_some_and(|p| p.model == virt_pci::core::PciModel::PcieToPciBridge)
    }));
    // Find the disk, move it to the first slot of the bridge.
    let s = drive(&mut app, keys("/vda<Enter>"), 100, 30);
    assert!(s.contains("[modern] disk virtio (vda)"), "{s}");
    let s = drive(&mut app, keys("mpcie-to-pci<Enter>"), 100, 30);
    assert!(s.contains("[transitional] disk virtio (vda)"), "{s}");
    assert!(s.contains("move disk virtio (vda) to"), "{s}");
    snap("move_onto_bridge", &s);
}

#[test]
fn cut_and_paste_moves_to_the_selected_bus() {
    let mut app = example("centos6-q35-virtio.xml");
    // The rng sits in root port #6; port #7 is empty. Cut, select the empty slot, paste.
    let s = drive(&mut app, keys("/rng<Enter>x/empty<Enter>p"), 80, 24);
    assert!(s.contains("move rng virtio to 07:00.0"), "{s}");
    // Undo puts it back.
    let s = drive(&mut app, keys("u"), 80, 24);
    assert!(s.contains("undid: move rng virtio to 07:00.0"), "{s}");
    assert!(!app.session.dirty());
}

#[test]
fn exceeding_the_io_budget_shows_the_warning() {
    let mut app = example("q35-large.xml");
    let before = drive(&mut app, Script::default(), 120, 40);
    assert!(before.contains("IO "), "{before}");
    // OVMF 2022.11 pads every hotplug port: the large guest no longer fits.
    let s = drive(&mut app, keys("fovmf-2022<Enter>"), 120, 40);
    assert!(s.contains("firmware: OVMF"), "{s}");
    let io = &app.derived.analysis.io;
    assert_ne!(io.outcome, virt_pci::core::ioport::Outcome::Fits, "{s}");
    assert!(s.contains("VP05"), "{s}");
    snap("io_budget_exceeded", &s);
}

#[test]
fn fix_a_diagnostic_with_one_key_and_undo_it() {
    let mut app = example("centos6-q35-virtio.xml");
    let errors = |app: &App| {
        app.derived
            .problems
            .iter()
            .filter(|p| p.diag.severity == virt_pci::core::diag::Severity::Error)
            .count()
    };
    let before = errors(&app);
    assert!(before > 0);
    let s = drive(&mut app, keys("]F"), 80, 24);
    assert!(s.contains("fix VP0401"), "{s}");
    assert!(errors(&app) < before, "{s}");
    snap("fix_diagnostic", &s);
    drive(&mut app, keys("u"), 80, 24);
    assert_eq!(errors(&app), before);
}

#[test]
fn save_writes_the_file_keeps_a_backup_and_reads_back() {
    let path = scratch("centos6-q35-transitional.xml", "save");
    let original = std::fs::read_to_string(&path).expect("copy");
    let session =
        Session::from_text(&original, Some(path.clone()), "guest.xml".into()).expect("loads");
    let mut app = App::new(session, &opts());
    let s = drive(&mut app, keys("/vda<Enter>tvirtio-non<Enter>"), 80, 24);
    assert!(s.contains("[+]"), "unsaved marker: {s}");
    let s = drive(&mut app, keys("w"), 80, 24);
    assert!(!s.contains("[+]"), "{s}");
    assert!(s.contains("saved"), "{s}");
    let bak = path.with_file_name("centos6-q35-transitional.xml.bak");
    assert_eq!(std::fs::read_to_string(&bak).expect("backup"), original);
    assert_eq!(plain(&read(&path)), plain(app.topology()));
    let saved = std::fs::read_to_string(&path).expect("saved");
    // Only the edited element changed.
    let changed: Vec<(&str, &str)> = original
        .lines()
        .zip(saved.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].1.contains("virtio-non-transitional"));
    let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
}

#[test]
fn quit_asks_when_there_are_unsaved_changes() {
    let mut app = example("debian8-i440fx.xml");
    let s = drive(&mut app, keys("/rng<Enter>dq"), 80, 24);
    assert!(s.contains("unsaved changes"), "{s}");
    snap("quit_prompt", &s);
    assert!(!app.quit);
    drive(&mut app, keys("n"), 80, 24);
    assert!(!app.quit);
    drive(&mut app, keys("qy"), 80, 24);
    assert!(app.quit);
}

#[test]
fn help_and_palette_come_from_the_registry() {
    let mut app = example("debian8-i440fx.xml");
    let s = drive(&mut app, keys("?"), 80, 24);
    assert!(s.contains("keys and commands"));
    snap("help", &s);
    let s = drive(&mut app, keys("<Esc>:undo"), 80, 24);
    assert!(s.contains("edit.undo"), "{s}");
    snap("palette", &s);
    // Running a command from the palette: the IO plan.
    let s = drive(&mut app, keys("<Esc>:view.io<Enter>"), 80, 24);
    assert!(s.contains("IO port plan"), "{s}");
}

#[test]
fn delete_asks_when_a_controller_has_devices_behind_it() {
    let mut app = example("centos6-q35-transitional.xml");
    let s = drive(&mut app, keys("/pcie-to-pci-bridge<Enter>d"), 80, 24);
    assert!(s.contains("and the 5 devices behind"), "{s}");
    let n = app.topology().devices.len();
    drive(&mut app, keys("y"), 80, 24);
    assert_eq!(app.topology().devices.len(), n - 6);
}

#[test]
fn xml_view_diff_and_resize() {
    let mut app = example("debian8-i440fx.xml");
    let s = drive(&mut app, keys("/rng<Enter>e"), 80, 24);
    assert!(s.contains("<rng model="), "{s}");
    let s = drive(&mut app, keys("<Esc>tvirtio-trans<Enter>D"), 80, 24);
    assert!(s.contains("+    <rng model='virtio-transitional'>"), "{s}");
    let s = drive(
        &mut app,
        Script::default().keys("<Esc>").resize(200, 60),
        200,
        60,
    );
    assert!(s.lines().count() == 60 && s.contains("details"));
}

#[test]
fn mouse_click_selects_and_drag_moves() {
    let mut app = example("centos6-q35-virtio.xml");
    // Row 2 of the screen is the root bus's first child (the tree's inner area starts
    // at row 2).
    drive(&mut app, Script::default().click(10, 3), 80, 24);
    assert_eq!(app.selected, 1);
    drive(&mut app, keys("G"), 80, 24);
    assert!(app.selected > 1);
}

/// Dragging a device with the mouse: while the button is held its legal places light
/// up (as for cut and paste), releasing on an empty port moves it there, and releasing
/// where it started moves nothing.
#[test]
fn dragging_a_device_onto_an_empty_port_moves_it() {
    let mut app = example("centos6-q35-virtio.xml");
    let s = drive(&mut app, Script::default(), 100, 40);
    let row_of = |s: &str, what: &str| {
        s.lines()
            .position(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no row with {what}:\n{s}")) as u16
    };
    let rng = row_of(&s, "rng virtio");
    let empty = row_of(&s, "(empty");
    // Held over the target: the cut is pending and the status says where it may go.
    let held = Script::default()
        .mouse(MouseEventKind::Down(MouseButton::Left), 12, rng)
        .mouse(MouseEventKind::Drag(MouseButton::Left), 12, empty);
    let s = drive(&mut app, held, 100, 40);
    assert!(app.cut.is_some(), "a drag cuts the device:\n{s}");
    snap("drag_in_progress", &s);
    // Released there: moved to the empty port's slot, one undoable step.
    let s = drive(
        &mut app,
        Script::default().mouse(MouseEventKind::Up(MouseButton::Left), 12, empty),
        100,
        40,
    );
    assert!(s.contains("move rng virtio to 07:00.0"), "{s}");
    assert!(app.cut.is_none());
    drive(&mut app, keys("u"), 100, 40);
    assert!(!app.session.dirty());
    // A drag that ends where it began moves nothing.
    let s = drive(
        &mut app,
        Script::default().drag((12, rng), (12, rng)),
        100,
        40,
    );
    assert!(!app.session.dirty(), "{s}");
    assert!(app.cut.is_none());
}

/// The XML editor: `e` opens the selected element's XML, every change is checked (the
/// verdict is on screen), nothing is applied until the user confirms, and the applied
/// edit is one undo step that reaches the analyses.
#[test]
fn edit_an_elements_xml_check_it_confirm_and_undo() {
    let mut app = example("centos6-q35-virtio.xml");
    let original = app.session.text();
    let s = drive(&mut app, keys("/vda<Enter>e"), 80, 24);
    assert!(s.contains("edit XML: disk virtio (vda)"), "{s}");
    assert!(s.contains("<target dev='vda' bus='virtio'/>"), "{s}");
    assert!(s.contains("unchanged"), "{s}");
    // Break it: the verdict says where, and Ctrl-s applies nothing.
    let s = drive(&mut app, keys("<End><BS>"), 80, 24);
    assert!(s.contains("line 2: attribute '<driver'"), "{s}");
    let s = drive(&mut app, keys("<C-s>"), 80, 24);
    assert!(s.contains("not applied"), "{s}");
    assert!(!app.session.dirty());
    // Mend it and make the disk transitional.
    let s = drive(&mut app, keys(" model='virtio-transitional'>"), 80, 24);
    assert!(s.contains("libvirt accepts the guest with it"), "{s}");
    snap("xml_editor", &s);
    let s = drive(&mut app, keys("<C-s>"), 80, 24);
    assert!(s.contains("Apply the edited XML"), "{s}");
    let s = drive(&mut app, keys("y"), 80, 24);
    assert!(s.contains("edit the XML of disk virtio-tr"), "{s}");
    assert!(s.contains("[transitional] disk virtio-t"), "{s}");
    assert!(s.contains("mode      transitional"), "{s}");
    let text = app.session.text();
    assert!(text.contains("<disk type='file' device='disk' model='virtio-transitional'>"));
    assert_eq!(text.lines().count(), original.lines().count());
    // Undo: the file as opened, and the disk modern again.
    let s = drive(&mut app, keys("u"), 80, 24);
    assert_eq!(app.session.text(), original);
    assert!(s.contains("[modern] disk virtio (vda)"), "{s}");
    // Esc on a changed text asks before dropping it.
    let s = drive(&mut app, keys("e<End> <Esc>"), 80, 24);
    assert!(s.contains("drop the changes"), "{s}");
    drive(&mut app, keys("y"), 80, 24);
    assert_eq!(app.scope(), virt_pci::tui::commands::Scope::Main);
    assert_eq!(app.session.text(), original);
}

#[test]
fn ascii_and_monochrome_are_plain() {
    let mut app = example("win10-q35.xml");
    let s = drive(&mut app, keys(":view.ascii<Enter>"), 80, 24);
    let tree: String = s.lines().skip(2).take(8).collect();
    assert!(tree.contains("+-") || tree.contains("\\-"), "{s}");
}
