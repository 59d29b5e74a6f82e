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
            let xml = std::fs::read_to_string(&path).expect("example");
            let guest = xml
                .split_once("<name>")
                .and_then(|(_, r)| r.split_once("</name>"))
                .map(|(n, _)| n.trim().to_string())
                .expect("the example names its guest");
            let mut app = example(&name);
            let s = drive(&mut app, keys("jjjjG"), w, h);
            // The title names this guest, the tree pane is drawn, and the key bar ends
            // the screen: a layout that fails at this size loses one of them.
            let title = s.lines().next().unwrap_or_default();
            assert!(
                title.contains(&format!(" {guest} ")),
                "{name} at {w}x{h}: {title}"
            );
            assert!(s.contains("PCI topology"), "{name} at {w}x{h}:\n{s}");
            let bar = s.lines().last().unwrap_or_default();
            assert!(bar.contains("q quit"), "{name} at {w}x{h}: {bar}");
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
    let said = app
        .messages
        .last()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(said.contains("move disk virtio (vda) to"), "{said}");
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
    assert_ne!(io.outcome, virt_pci::core::io_space::Outcome::Fits, "{s}");
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
    let said = app
        .messages
        .last()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(said.contains("fix VP0401"), "{said}");
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

/// Snapshots of one state at both standard sizes.
fn snap_both(app: &mut App, name: &str) -> (String, String) {
    let small = drive(app, Script::default(), 80, 24);
    let large = drive(app, Script::default(), 160, 48);
    snap(&format!("{name}_80x24"), &small);
    snap(&format!("{name}_160x48"), &large);
    (small, large)
}

/// After `F` on the CentOS 6 guest the devices have no address yet: the tree shows
/// the pcie-to-pci-bridge and root port libvirt adds (`+`) and the devices where
/// libvirt puts them (`→`); `v` shows the file as written.
#[test]
fn the_tree_shows_what_libvirt_adds_and_v_shows_the_file_as_written() {
    let mut app = example("centos6-q35-virtio.xml");
    drive(&mut app, keys("F"), 80, 24);
    let (small, large) = snap_both(&mut app, "defined_after_fix");
    for s in [&small, &large] {
        assert!(
            s.contains("+ 01:00.0 pcie-to-pci-bridge") || s.contains("+ 0"),
            "{s}"
        );
        assert!(s.contains("→ "), "placed devices are marked:\n{s}");
        assert!(!s.contains("unassigned"), "{s}");
    }
    assert!(large.contains("(libvirt adds)"), "{large}");
    let s = drive(&mut app, keys("v"), 160, 48);
    assert!(app.as_written);
    assert!(s.contains("unassigned (libvirt picks the address)"), "{s}");
    assert!(!s.contains("(libvirt adds)"), "{s}");
    assert!(s.contains("the file as written"), "{s}");
}

/// One meaning for the gauge: demand against budget under every firmware, and the
/// whole outcome word at both sizes.
#[test]
fn the_io_gauge_is_demand_against_budget_with_the_whole_outcome() {
    let mut app = example("q35-large.xml");
    drive(&mut app, keys("fovmf-2022<Enter>"), 80, 24);
    let io = app.derived.analysis.io.clone();
    assert!(
        io.demand > io.budget && io.used < io.demand,
        "the case where the two differ"
    );
    let (small, large) = snap_both(&mut app, "io_gauge_ovmf");
    let want = format!("{:#x} of {:#x} {}", io.demand, io.budget, io.outcome.name());
    for s in [&small, &large] {
        let gauge = s.lines().nth_back(1).unwrap_or_default();
        assert!(gauge.contains(&want), "{want:?} in {gauge:?}");
        assert!(gauge.contains('▶'), "past the budget: {gauge}");
    }
    // Under SeaBIOS the same guest's gauge also shows its demand.
    drive(&mut app, keys("fseabios<Enter>"), 80, 24);
    let io = app.derived.analysis.io.clone();
    let s = drive(&mut app, Script::default(), 80, 24);
    assert!(
        s.contains(&format!(
            "{:#x} of {:#x} {}",
            io.demand,
            io.budget,
            io.outcome.name()
        )),
        "{s}"
    );
}

/// Tab focuses the panes; keys and the wheel scroll the focused pane or the one under
/// the pointer, not the tree; Enter on a diagnostic goes to its row.
#[test]
fn panes_take_focus_and_scroll_with_keys_and_the_wheel() {
    use virt_pci::tui::app::Pane;
    let mut app = example("centos6-q35-virtio.xml");
    drive(&mut app, keys("/vda<Enter>"), 80, 24);
    let selected = app.selected;
    // The details of a virtio disk are longer than the pane at 80x24.
    drive(&mut app, keys("<Tab>jjj"), 80, 24);
    assert_eq!(app.focus, Pane::Details);
    assert_eq!(app.details_scroll, 3);
    assert_eq!(app.selected, selected, "the tree did not move");
    // The wheel over the details pane scrolls it, not the tree.
    let scroll = app.scroll;
    drive(
        &mut app,
        Script::default().mouse(MouseEventKind::ScrollDown, 60, 6),
        80,
        24,
    );
    assert_eq!(app.details_scroll, 6);
    assert_eq!(app.scroll, scroll);
    // The diagnostics pane: errors come first, and Enter selects the row.
    let s = drive(&mut app, keys("<Tab>jj"), 80, 24);
    assert_eq!(app.focus, Pane::Diagnostics);
    assert_eq!(app.diag_selected, 2);
    snap("diagnostics_focused_80x24", &s);
    let want = app.derived.problems[2].origin;
    drive(&mut app, keys("<Enter>"), 80, 24);
    assert_eq!(app.focus, Pane::Tree);
    let got = app
        .row()
        .and_then(|r| r.device)
        .map(|i| app.topology().devices[i].origin);
    assert_eq!(got, want);
    // The wheel over the diagnostics moves through them.
    drive(
        &mut app,
        Script::default().mouse(MouseEventKind::ScrollDown, 20, 19),
        80,
        24,
    );
    assert_eq!(app.diag_selected, 4.min(app.derived.problems.len() - 1));
}

#[test]
fn diagnostics_are_errors_first_in_tree_order_and_l_shows_them_whole() {
    use virt_pci::core::diag::Severity;
    let mut app = example("centos6-q35-virtio.xml");
    // A warning and errors together: change the OS to one that needs no fix for some.
    let sev: Vec<Severity> = app
        .derived
        .problems
        .iter()
        .map(|p| p.diag.severity)
        .collect();
    let mut sorted = sev.clone();
    sorted.sort();
    assert_eq!(sev, sorted, "errors before warnings before notes");
    // Tree order within the errors: the rows they concern go top to bottom.
    let rows: Vec<usize> = app
        .derived
        .problems
        .iter()
        .filter_map(|p| p.origin)
        .filter_map(|o| {
            app.rows
                .iter()
                .position(|r| r.device.map(|i| app.topology().devices[i].origin) == Some(o))
        })
        .collect();
    let mut by_row = rows.clone();
    by_row.sort();
    assert_eq!(rows, by_row);
    let s = drive(&mut app, keys("L"), 160, 48);
    let first = &app.derived.problems[0];
    let hint = first.diag.hint.clone().unwrap_or_default();
    // The whole hint is there, wrapped.
    let flat = words_of(&s);
    let words: Vec<&str> = hint.split_whitespace().take(12).collect();
    assert!(flat.contains(&words.join(" ")), "{s}");
    assert!(
        s.contains("diagnostics: 5 errors, 0 warnings, 0 notes"),
        "{s}"
    );
    snap("diagnostics_list_160x48", &s);
    // M: the whole status messages.
    let s = drive(&mut app, keys("<Esc>FM"), 80, 24);
    let full = app
        .messages
        .last()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    // A fix that moves the NIC renames it: the rename comes first, then the fix.
    assert!(full.starts_with("VP0702 the guest's NIC"), "{full}");
    assert!(full.contains("(after: fix VP0401"), "{full}");
    let flat = words_of(&s);
    assert!(
        flat.contains("let libvirt place"),
        "the end of the message is shown: {s}"
    );
}

/// `E` explains the selected row from the teaching table; F2 lists every term.
#[test]
fn explain_and_glossary_teach_what_the_rows_are() {
    let mut app = example("centos6-q35-virtio.xml");
    let s = drive(&mut app, keys("/pcie-root-port #4<Enter>E"), 80, 24);
    assert!(s.contains("root port (pcie-root-port)"), "{s}");
    assert!(s.contains("where it sits:"), "{s}");
    let (small, large) = snap_both(&mut app, "explain_root_port");
    assert!(
        small.contains("explain: pcie-root-port #4")
            && large.contains("explain: pcie-root-port #4")
    );
    let s = drive(&mut app, keys("<Esc>/vda<Enter>E"), 160, 48);
    assert!(s.contains("Here it is modern-only, because:"), "{s}");
    assert!(s.contains("moved elsewhere it would be"), "{s}");
    // On the root bus the disk would be transitional and need IO ports.
    assert!(s.contains("on pcie-root #0: transitional, IO +"), "{s}");
    snap("explain_disk_160x48", &s);
    let s = drive(&mut app, keys("<Esc><F2>"), 160, 48);
    assert!(s.contains("glossary"), "{s}");
    let lines = virt_pci::tui::explain::glossary_lines();
    for t in virt_pci::core::explain::TOPICS {
        assert!(
            lines.iter().any(|(_, l)| l == t.term),
            "{} in the glossary",
            t.id
        );
    }
    // Group rows have details of their own.
    let mut app = example("aarch64-virt-mmio.xml");
    let s = drive(&mut app, keys("/virtio-mmio<Enter>"), 80, 24);
    assert!(s.contains("no PCI slot and no IO"), "{s}");
}

/// Move picker: each place says what the device becomes there; j/k move while the
/// filter is empty; Enter on an empty list says so and keeps the list open.
#[test]
fn the_move_picker_says_what_the_device_becomes_and_j_k_move() {
    let mut app = example("centos6-q35-virtio.xml");
    let s = drive(&mut app, keys("/vda<Enter>m"), 160, 48);
    assert!(s.contains("on pcie-root #0: transitional, IO +"), "{s}");
    assert!(s.contains(": modern-only, IO unchanged"), "{s}");
    snap("move_picker_160x48", &s);
    let s = drive(&mut app, keys("jj"), 160, 48);
    assert!(s.contains("filter: ▏"), "j and k did not type: {s}");
    let s = drive(&mut app, keys("zzz<Enter>"), 80, 24);
    assert!(s.contains("nothing matches 'zzz'"), "{s}");
    assert_eq!(app.scope(), virt_pci::tui::commands::Scope::List);
}

/// The move picker offers the free functions of slots in use after the whole slots,
/// each saying what it is beside and that function 0 gets the multifunction bit; the
/// selected entry's whole text is under the list at 80 columns. Taking 01:00.3 beside
/// the NIC sets the NIC's bit in the same edit (its name gains `f0`, so the designer
/// asks first), and one undo takes both back.
#[test]
fn the_move_picker_offers_functions_beside_devices() {
    for (w, h) in [(80, 24), (160, 48)] {
        let mut app = example("centos6-q35-virtio.xml");
        let original = app.session.text();
        let s = drive(&mut app, keys("/vda<Enter>m"), w, h);
        assert!(s.contains("(28 slots, 55 shared)"), "{s}");
        let s = drive(&mut app, keys("beside"), w, h);
        assert!(
            s.contains("00:01.1  on pcie-root #0, beside video qxl"),
            "{s}"
        );
        let flat = popup_words(&s, "move disk virtio (vda) to (28 slots, 55 shared)");
        assert!(flat.contains("00:01.0 gets multifunction='on'"), "{s}");
        snap(&format!("move_picker_functions_{w}x{h}"), &s);
        let s = drive(
            &mut app,
            keys("<BS><BS><BS><BS><BS><BS>01:00.3<Enter>"),
            w,
            h,
        );
        let flat = popup_words(&s, "renames in the guest");
        assert!(
            flat.contains("the guest's NIC enp1s0 becomes enp1s0f0"),
            "{s}"
        );
        drive(&mut app, keys("y"), w, h);
        let text = app.session.text();
        assert!(
            text.contains("bus='0x01' slot='0x00' function='0x0' multifunction='on'/>"),
            "{text}"
        );
        assert!(
            text.contains("bus='0x01' slot='0x00' function='0x3'/>"),
            "{text}"
        );
        drive(&mut app, keys("u"), w, h);
        assert_eq!(app.session.text(), original);
    }
}

/// Help: one heading per group, every command with a key or `(palette)`, nothing cut
/// at 80 columns.
#[test]
fn help_has_each_heading_once_and_every_command() {
    use virt_pci::tui::commands::COMMANDS;
    let lines = virt_pci::tui::app::help_lines();
    let headings: Vec<&String> = lines
        .iter()
        .filter(|(t, _)| *t == virt_pci::tui::popups::Tone::Heading)
        .map(|(_, l)| l)
        .collect();
    let mut unique = headings.clone();
    unique.dedup();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), headings.len(), "{headings:?}");
    for c in COMMANDS {
        let keys = if c.keys.is_empty() {
            "(palette)".to_string()
        } else {
            virt_pci::tui::commands::keys_text(c)
        };
        assert!(
            lines
                .iter()
                .any(|(_, l)| l.contains(&keys) && l.contains(c.description)),
            "{}",
            c.id
        );
    }
    // At 80 columns the help wraps: the long description of `e` is whole.
    let mut app = example("debian8-i440fx.xml");
    let s = drive(&mut app, keys("?<PageDown><Down><Down><Down>"), 80, 24);
    let flat = words_of(&s);
    assert!(flat.contains("applied when you confirm)"), "{s}");
}

/// Ctrl-z undoes in the XML editor, as its footer says.
#[test]
fn the_xml_editor_undoes_with_ctrl_z() {
    let mut app = example("debian8-i440fx.xml");
    let s = drive(&mut app, keys("/rng<Enter>e<End>x"), 80, 24);
    assert!(!s.contains("unchanged"), "{s}");
    let s = drive(&mut app, keys("<C-z>"), 80, 24);
    assert!(s.contains("unchanged"), "{s}");
    assert!(s.contains("Ctrl-z (Ctrl-u) undo"), "{s}");
}

/// The XML editor's line numbers stay beside the text when a line longer than the
/// editor scrolls it sideways (they used to scroll away with the text), at both sizes.
#[test]
fn the_xml_editor_keeps_its_line_numbers_when_a_long_line_scrolls() {
    for (w, h, name) in [
        (80, 24, "xml_editor_scrolled_80x24"),
        (160, 48, "xml_editor_scrolled_160x48"),
    ] {
        let mut app = example("centos6-q35-virtio.xml");
        let s = drive(&mut app, keys("/vda<Enter>e"), w, h);
        assert!(s.contains("│ 1 <disk type='file' device='disk'>"), "{s}");
        // To the end of the address line (the fifth), then type past the right edge
        // (after the element, which is still valid XML).
        let script = format!(
            "<Down><Down><Down><Down><End>{}multifunction='off'",
            " ".repeat(30)
        );
        let s = drive(&mut app, keys(&script), w, h);
        // The beginning of every line is off the screen, the numbers are not.
        assert!(!s.contains("<disk type="), "{s}");
        for n in 1..=6 {
            assert!(
                s.lines().any(|l| l.contains(&format!("│ {n} "))),
                "line number {n}: {s}"
            );
        }
        assert!(s.contains("multifunction='off'"), "{s}");
        snap(name, &s);
        // Home scrolls back: the text starts right after the numbers again.
        let s = drive(&mut app, keys("<Home>"), w, h);
        assert!(s.contains("│ 5   <address type='pci'"), "{s}");
    }
}

/// An add that would renumber what the guest has asks first. The guest (a root port
/// at 00:03.0 with the NIC `enp2s0` behind it) gets a disk where libvirt puts it:
/// libvirt would add its root port at 00:01.1, in front of the old one, so the popup
/// lists the renames (VP0701 bus 02 → 03, VP0702 enp2s0 → enp3s0) and offers a root
/// port of its own after the old one; `k` takes it, as one undo step, and the guest
/// keeps its bus numbers and NIC names.
#[test]
fn an_add_that_renames_offers_to_keep_the_old_numbering() {
    let path = support::root().join("tests/guest-corpus/renames/q35-one-port.xml");
    let text = std::fs::read_to_string(&path).expect("corpus guest");
    for (w, h) in [(80, 24), (160, 48)] {
        let session = Session::from_text(&text, None, "web1.xml".into()).expect("loads");
        let mut app = App::new(session, &opts());
        let original = app.topology().clone();
        let s = drive(&mut app, keys("adisk<Enter><Enter><Enter>"), w, h);
        let flat = popup_words(&s, "renames in the guest");
        assert!(!flat.is_empty(), "{s}");
        assert!(
            flat.contains(
                "VP0701 the guest's bus 02 becomes bus 03 (pci controller pcie-root-port #1)"
            ),
            "{s}"
        );
        assert!(
            flat.contains("the guest's NIC enp2s0 becomes enp3s0"),
            "{s}"
        );
        assert!(
            flat.contains("in a new pcie-root-port at 00:04.0; it renames nothing"),
            "{s}"
        );
        assert!(flat.contains("k keep the numbering"), "{s}");
        assert_eq!(
            *app.topology(),
            original,
            "nothing is applied before the answer"
        );
        snap(&format!("renames_offer_{w}x{h}"), &s);
        // k: the disk in a new root port at 00:04.0, the guest's names as they were.
        drive(&mut app, keys("k"), w, h);
        let status = app.status.clone().map(|s| s.text).unwrap_or_default();
        assert_eq!(
            status,
            "add disk (virtio-blk) (virtio) in a new pcie-root-port at 00:04.0"
        );
        let s = drive(&mut app, keys("b"), w, h);
        assert!(s.contains("→guest 02:00.0 enp2"), "{s}");
        let a = &app.derived.analysis;
        let v = virt_pci::core::guest::guest_view(&a.defined, a.firmware.kind);
        let nic = v
            .functions
            .iter()
            .find_map(|f| f.nic.clone())
            .expect("the NIC");
        assert_eq!(nic.default, "enp2s0");
        assert!(s.contains("00:03.0 →guest 00:03.0 bus 02"), "{s}");
        assert!(s.contains("00:04.0 →guest 00:04.0 bus 03"), "{s}");
        snap(&format!("renames_kept_{w}x{h}"), &s);
        // One undo step takes both the port and the disk.
        drive(&mut app, keys("bu"), w, h);
        assert_eq!(*app.topology(), original);
    }
    // Esc cancels; y makes the edit as chosen, and the status line names the rename.
    let session = Session::from_text(&text, None, "web1.xml".into()).expect("loads");
    let mut app = App::new(session, &opts());
    drive(&mut app, keys("adisk<Enter><Enter><Enter><Esc>"), 80, 24);
    assert!(!app.session.dirty());
    drive(&mut app, keys("adisk<Enter><Enter><Enter>y"), 80, 24);
    let status = app.status.clone().map(|s| s.text).unwrap_or_default();
    assert!(
        status.contains("VP0701") && status.contains("(+1 more)"),
        "{status}"
    );
}

/// A move that renames other devices asks too: root port #1 (00:02.0, bus 01) to
/// 00:1e.0, behind the other six ports, would move each of them up one bus; the
/// nearest place that keeps the order is in front of them, beside the video.
#[test]
fn a_move_that_renames_offers_the_nearest_place_that_keeps_the_order() {
    let mut app = example("centos6-q35-virtio.xml");
    let s = drive(&mut app, keys("jjjm00:1e.0<Enter>"), 160, 48);
    let flat = popup_words(&s, "renames in the guest");
    assert!(
        flat.contains("move pci controller pcie-root-port #1 to 00:1e.0 renames"),
        "{s}"
    );
    assert!(
        flat.contains("the guest's bus 02 becomes bus 01 (pci controller pcie-root-port #2)"),
        "{s}"
    );
    assert!(flat.contains("and 1 more"), "{s}");
    assert!(
        flat.contains(
            "To keep the old numbering: move pci controller pcie-root-port #1 to 00:01.7"
        ),
        "{s}"
    );
    snap("renames_move_160x48", &s);
    let s = drive(&mut app, keys("k"), 160, 48);
    assert!(s.contains("00:01.7 pcie-root-port #1"), "{s}");
    assert!(s.contains("01:00.0 [modern] interface virtio"), "{s}");
}

/// Where every legal place renames, the popup says so and offers only the edit as
/// chosen: the only root port sits at 00:1e.0 and NICs take every function after it,
/// so a new root port can only go in front of it.
#[test]
fn an_add_where_no_place_keeps_the_numbering_says_so() {
    let mac = |n: u8| format!("52:54:00:00:00:{n:02x}");
    let nic = |n: u8, slot: u8, f: u8| {
        format!(
            "<interface type='network'><mac address='{}'/><source network='default'/>\
             <model type='virtio'/><address type='pci' domain='0x0000' bus='0x00' \
             slot='0x{slot:02x}' function='0x{f:x}'/></interface>",
            mac(n)
        )
    };
    let mut devices = String::from(
        "<controller type='usb' model='none'/><memballoon model='none'/>\
         <controller type='pci' index='0' model='pcie-root'/>\
         <controller type='pci' index='1' model='pcie-root-port'><address type='pci' \
         domain='0x0000' bus='0x00' slot='0x1e' function='0x0' multifunction='on'/></controller>\
         <interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/>\
         <model type='virtio'/><address type='pci' domain='0x0000' bus='0x01' slot='0x00' \
         function='0x0'/></interface>",
    );
    let after = (1..8)
        .map(|f| (0x1e, f))
        .chain([1, 4, 5, 6, 7].map(|f| (0x1f, f)));
    for (n, (slot, f)) in (2..).zip(after) {
        devices.push_str(&nic(n, slot, f));
    }
    let xml = format!(
        "<domain type='kvm'><name>full</name><memory unit='MiB'>1024</memory>\
         <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>\
         <features><acpi/></features><devices>{devices}</devices></domain>"
    );
    let session = Session::from_text(&xml, None, "full.xml".into()).expect("loads");
    let mut app = App::new(session, &opts());
    assert!(app.derived.analysis.refused.is_none());
    let s = drive(
        &mut app,
        keys("apcie-root-port<Enter>00:01.0<Enter>"),
        80,
        24,
    );
    let flat = popup_words(&s, "renames in the guest");
    assert!(flat.contains("the guest's bus 01 becomes bus 02"), "{s}");
    assert!(
        flat.contains("No legal place keeps the old numbering."),
        "{s}"
    );
    assert!(flat.contains("y/Enter as chosen · n/Esc cancel"), "{s}");
    assert!(!flat.contains("k keep"), "{s}");
    snap("renames_none_80x24", &s);
    // k is not an answer here; y is.
    drive(&mut app, keys("k"), 80, 24);
    assert!(!app.session.dirty());
    drive(&mut app, keys("y"), 80, 24);
    assert!(app.session.dirty());
}

/// The start without a file offers the examples with their stories; a path that does
/// not exist starts a new guest of the chosen machine, saved there.
#[test]
fn start_offers_examples_and_a_new_path_makes_a_new_guest() {
    use virt_pci::tui::{Start, start};
    let mut app = start(&Start::Examples, &opts()).expect("starts");
    let (small, _) = snap_both(&mut app, "start_examples");
    assert!(small.contains("bundled examples"), "{small}");
    assert!(small.contains("centos6-q35-transitional"), "{small}");
    drive(&mut app, keys("j<Enter>"), 80, 24);
    assert_eq!(app.session.display, "example: centos6-q35-transitional.xml");

    let dir = std::env::temp_dir().join(format!("virt-pci-tui-new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("fresh.xml");
    let mut app = start(&Start::File(path.clone()), &opts()).expect("starts");
    let s = drive(&mut app, Script::default(), 80, 24);
    assert!(
        s.contains("new guest fresh: architecture and machine"),
        "{s}"
    );
    drive(&mut app, keys("i440fx<Enter>"), 80, 24);
    assert_eq!(app.topology().machine.class.name(), "i440fx");
    assert_eq!(app.topology().name, "fresh");
    let s = drive(&mut app, keys("adisk<Enter>virtio<Enter><Enter>w"), 80, 24);
    assert!(path.exists(), "saved: {s}");
    let t = read(&path);
    assert_eq!(t.machine.class.name(), "i440fx");
    assert!(t.devices.iter().any(|d| d.kind.tag() == "disk"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Wording: an arm guest has no x86 IO (the header does not name a firmware), its
/// virtio-mmio devices have no slot line.
#[test]
fn an_arm_guest_says_it_has_no_x86_io() {
    let mut app = example("aarch64-virt-mmio.xml");
    let s = drive(&mut app, keys("/vda<Enter>"), 80, 24);
    let title = s.lines().next().unwrap_or_default();
    assert!(
        title.contains("no x86 IO") && !title.contains("ovmf"),
        "{title}"
    );
    assert!(s.contains("IO: none"), "{s}");
    assert!(!s.contains("slot      PCI Express port"), "{s}");
}

/// The words of a screen, borders left out, for checking wrapped text.
/// The words inside the popup titled `title` (its box only, not the panes beside it).
fn popup_words(s: &str, title: &str) -> String {
    let lines: Vec<Vec<char>> = s.lines().map(|l| l.chars().collect()).collect();
    let head = format!("┌ {title} ");
    let Some((top, left)) = lines.iter().enumerate().find_map(|(y, l)| {
        let text: String = l.iter().collect();
        let byte = text.find(&head)?;
        Some((y, text[..byte].chars().count()))
    }) else {
        return String::new();
    };
    let right = (left + 1..lines[top].len())
        .find(|&x| lines[top][x] == '┐')
        .unwrap_or(lines[top].len());
    let mut inside = String::new();
    for l in &lines[top + 1..] {
        if l.get(left) == Some(&'└') {
            break;
        }
        let part: String = l.iter().take(right).skip(left + 1).collect();
        inside.push_str(&part);
        inside.push(' ');
    }
    words_of(&inside)
}

fn words_of(s: &str) -> String {
    s.replace(['│', '┌', '┐', '└', '┘', '─'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The model picker (`t`) says what each model is and what the device would be with it.
#[test]
fn the_model_picker_describes_each_model() {
    let mut app = example("centos6-q35-virtio.xml");
    let s = drive(&mut app, keys("/vda<Enter>t"), 160, 48);
    assert!(s.contains("virtio-transitional"), "{s}");
    assert!(
        s.contains("current; QEMU decides") || s.contains("current; here:"),
        "{s}"
    );
    // In its root port a transitional disk needs IO ports; a non-transitional one not.
    assert!(s.contains("here: transitional, IO +"), "{s}");
    assert!(s.contains("virtio 1.0 only, anywhere"), "{s}");
    snap("model_picker_160x48", &s);
}

#[test]
fn the_target_releases_are_chosen_in_the_designer_and_change_what_is_predicted() {
    // Two i6300esb watchdogs: libvirt 11.3 accepts any number of the PCI model, 9.0
    // only one watchdog in all.
    let xml = "<domain type='kvm'><name>dogs</name><memory unit='MiB'>512</memory>\
        <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os><devices>\
        <watchdog model='i6300esb'/><watchdog model='i6300esb'/></devices></domain>";
    let session = Session::from_text(xml, None, "dogs.xml".into()).expect("loads");
    let mut app = App::new(session, &opts());
    let s = drive(&mut app, Script::default(), 80, 24);
    assert!(
        s.lines()
            .next()
            .unwrap_or_default()
            .contains("libvirt 11.3/QEMU 10.0"),
        "{s}"
    );
    assert!(app.derived.analysis.refused.is_none(), "{s}");
    let picker = drive(&mut app, keys("V"), 80, 24);
    assert!(picker.contains("libvirt 9.0 + QEMU 7.2"), "{picker}");
    snap("target_picker", &picker);
    let s = drive(&mut app, keys("9.0 + QEMU 7<Enter>"), 80, 24);
    assert!(
        s.lines()
            .next()
            .unwrap_or_default()
            .contains("libvirt 9.0/QEMU 7.2"),
        "{s}"
    );
    let refused = app
        .derived
        .analysis
        .refused
        .as_ref()
        .expect("9.0 refuses two watchdogs");
    assert!(refused.message.contains("watchdog"), "{}", refused.message);
    assert!(s.contains("target: libvirt 9.0 + QEMU 7.2"), "{s}");
    // Choosing a target is not an edit: the guest stays saved and undo keeps it.
    assert!(!app.session.dirty());
    drive(&mut app, keys("u"), 80, 24);
    assert_eq!(
        app.session.topology().platform,
        virt_pci::core::versions::Platform::DEBIAN12
    );
    // The new target goes with the guest into an XML edit's check as well.
    assert_eq!(
        app.session.platform(),
        virt_pci::core::versions::Platform::DEBIAN12
    );
}
