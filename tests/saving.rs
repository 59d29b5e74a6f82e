//! Saving without losing work: `assign --in-place` and `-o` (temporary files, backups,
//! symlinks, owners, read-only files), the designer's save flow (the true original kept
//! as the backup, a file changed on disk detected by content, save as then quit), and a
//! kill loop: saves SIGKILLed at random moments leave no corrupt file and nothing behind.

use std::path::{Path, PathBuf};
use std::process::Command;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use virt_pci::tui::{App, Options, Session, keys, run_app};

use crate::support;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_virt-pci"))
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("virt-pci-saving-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("dir");
    d
}

fn example_text() -> String {
    std::fs::read_to_string(support::root().join("assets/examples/centos6-q35-transitional.xml"))
        .expect("example")
}

/// A guest `assign` changes (its addresses removed).
fn unaddressed() -> String {
    let t = example_text();
    t.lines()
        .filter(|l| !l.contains("<address type='pci'"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn entries(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[cfg(unix)]
#[test]
fn in_place_keeps_owner_links_and_refuses_read_only_files_unless_forced() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
    let d = scratch("inplace");
    let f = d.join("g.xml");
    let input = unaddressed();
    std::fs::write(&f, &input).expect("write");
    // A symlink planted at a name an old version used for its temporary file, and a
    // symlinked backup: neither may be followed.
    let victim = d.join("victim");
    std::fs::write(&victim, "precious").expect("write");
    symlink(&victim, d.join("g.xml.bak")).expect("symlink");
    symlink(&victim, d.join(format!(".g.xml.virt-pci.{}.tmp", 1))).expect("symlink");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let root = rustix::process::geteuid().is_root();
    if root {
        std::os::unix::fs::chown(&f, Some(65534), Some(65534)).expect("chown");
    }
    let out = bin()
        .args(["assign", "--in-place"])
        .arg(&f)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "precious"
    );
    let bak = d.join("g.xml.bak");
    assert!(
        !std::fs::symlink_metadata(&bak)
            .expect("bak")
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(&bak).expect("bak"),
        input,
        "backup is the original"
    );
    let m = std::fs::metadata(&f).expect("meta");
    assert_eq!(m.mode() & 0o777, 0o640, "mode kept");
    if root {
        assert_eq!((m.uid(), m.gid()), (65534, 65534), "owner and group kept");
    }
    assert_ne!(
        std::fs::read_to_string(&f).expect("file"),
        input,
        "assigned"
    );
    assert!(
        !entries(&d)
            .iter()
            .any(|n| n.ends_with(".tmp") && !n.contains(".1.")),
        "{:?}",
        entries(&d)
    );
    // A symlinked FILE: the target is updated, the link stays.
    let real = d.join("real.xml");
    std::fs::write(&real, &input).expect("write");
    let link = d.join("link.xml");
    symlink("real.xml", &link).expect("symlink");
    let out = bin()
        .args(["assign", "--in-place"])
        .arg(&link)
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink()
    );
    assert_ne!(std::fs::read_to_string(&real).expect("real"), input);
    // A hard link sees the new text.
    let a = d.join("a.xml");
    let b = d.join("b.xml");
    std::fs::write(&a, &input).expect("write");
    std::fs::hard_link(&a, &b).expect("link");
    let out = bin()
        .args(["assign", "-o"])
        .arg(&a)
        .arg(&a)
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(std::fs::metadata(&a).expect("a").nlink(), 2);
    assert_ne!(std::fs::read_to_string(&b).expect("b"), input);
    // Read-only: refused (exit 2, file untouched), replaced with --force.
    let ro = d.join("ro.xml");
    std::fs::write(&ro, &input).expect("write");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let out = bin()
        .args(["assign", "--in-place"])
        .arg(&ro)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&ro).expect("ro"), input);
    let out = bin()
        .args(["assign", "--in-place", "--force"])
        .arg(&ro)
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_ne!(std::fs::read_to_string(&ro).expect("ro"), input);
    let _ = std::fs::remove_dir_all(&d);
}

/// 200 saves, each SIGKILLed at a random moment: the file is always the old or the new
/// text, the backup (when present) is the old text, and a temporary file is left only
/// when the kill falls between the link and the rename.
#[cfg(unix)]
#[test]
fn saves_killed_at_random_leave_no_corrupt_file_and_no_leftovers() {
    let d = scratch("kill");
    let f = d.join("g.xml");
    let input = unaddressed();
    let assigned = {
        let out = bin().arg("assign").arg("-").stdin_file(&input);
        String::from_utf8(out).expect("utf8")
    };
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64 ^ u64::from(std::process::id());
    let (mut corrupt, mut leftovers, mut killed_with_leftover) = (0, 0, 0);
    for _ in 0..200 {
        std::fs::write(&f, &input).expect("write");
        let _ = std::fs::remove_file(d.join("g.xml.bak"));
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut child = bin()
            .args(["assign", "--in-place"])
            .arg(&f)
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_micros(seed % 6000));
        let _ = child.kill();
        let _ = child.wait();
        let now = std::fs::read_to_string(&f).unwrap_or_default();
        if now != input && now != assigned {
            corrupt += 1;
        }
        if let Ok(b) = std::fs::read_to_string(d.join("g.xml.bak"))
            && b != input
        {
            corrupt += 1;
        }
        let stray = || {
            entries(&d)
                .into_iter()
                .filter(|n| n != "g.xml" && n != "g.xml.bak")
                .collect::<Vec<_>>()
        };
        if !stray().is_empty() {
            // A kill between the link and the rename (rename needs a name) leaves
            // the temporary file; the next save of the file must remove it.
            killed_with_leftover += 1;
            std::fs::write(&f, &input).expect("write");
            let out = bin()
                .args(["assign", "--in-place"])
                .arg(&f)
                .output()
                .expect("run");
            assert!(out.status.success(), "{out:?}");
            for n in stray() {
                leftovers += 1;
                let _ = std::fs::remove_file(d.join(n));
            }
        }
    }
    eprintln!(
        "kill loop: 200 saves, {corrupt} corrupt, {killed_with_leftover} killed between link and rename, {leftovers} leftovers after the next save"
    );
    assert_eq!(corrupt, 0);
    assert_eq!(leftovers, 0, "temporary files survived the next save");
    let _ = std::fs::remove_dir_all(&d);
}

trait StdinFile {
    fn stdin_file(&mut self, text: &str) -> Vec<u8>;
}

impl StdinFile for Command {
    fn stdin_file(&mut self, text: &str) -> Vec<u8> {
        use std::io::Write;
        let mut child = self
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write");
        child.wait_with_output().expect("output").stdout
    }
}

fn designer(path: &Path) -> App {
    let text = std::fs::read_to_string(path).expect("read");
    let session = Session::from_text(&text, Some(path.to_path_buf()), path.display().to_string())
        .expect("loads");
    App::new(
        session,
        &Options {
            mono: true,
            ..Options::default()
        },
    )
}

fn drive(app: &mut App, script: &str, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    let mut script = keys(script);
    run_app(&mut term, app, &mut script).expect("event loop");
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// Two saves: the backup is the file as it was when the designer opened it, and the
/// status says where it is.
#[test]
fn the_backup_is_the_true_original_and_the_status_says_where() {
    let d = scratch("orig");
    let f = d.join("g.xml");
    let input = example_text();
    std::fs::write(&f, &input).expect("write");
    let mut app = designer(&f);
    drive(&mut app, "/vda<Enter>t", 100, 30);
    drive(&mut app, "virtio-non<Enter>w", 100, 30);
    let status = app
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(
        status.contains("the file as opened is kept in") && status.contains("g.xml.bak"),
        "{status}"
    );
    let after_first = std::fs::read_to_string(&f).expect("saved");
    assert_ne!(after_first, input);
    drive(&mut app, "u", 100, 30);
    drive(&mut app, "w", 100, 30);
    let bak = std::fs::read_to_string(d.join("g.xml.bak")).expect("bak");
    assert_eq!(
        bak, input,
        "the second save keeps the original, not the first save"
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// Someone changes the file while it is open (as `sed -i` would): saving shows the
/// diff and asks; Esc saves nothing, `r` reloads the file as it is now, `y`
/// overwrites.
#[test]
fn a_file_changed_on_disk_is_detected_at_save() {
    let d = scratch("conflict");
    let f = d.join("g.xml");
    let input = example_text();
    std::fs::write(&f, &input).expect("write");
    let mut app = designer(&f);
    drive(&mut app, "/vda<Enter>t", 100, 30);
    drive(&mut app, "virtio-non<Enter>", 100, 30);
    // Within the same second as the read: the content tells, not the mtime.
    let changed = input.replacen("<name>", "<name>X", 1);
    std::fs::write(&f, &changed).expect("write");
    let s = drive(&mut app, "w", 100, 30);
    assert!(s.contains("changed on disk"), "{s}");
    assert!(s.contains("<name>X"), "the diff is shown:\n{s}");
    drive(&mut app, "<Esc>", 100, 30);
    assert_eq!(
        std::fs::read_to_string(&f).expect("file"),
        changed,
        "Esc saves nothing"
    );
    // Overwrite.
    drive(&mut app, "w", 100, 30);
    let s = drive(&mut app, "y", 100, 30);
    assert!(s.contains("saved"), "{s}");
    assert!(
        !std::fs::read_to_string(&f)
            .expect("file")
            .contains("<name>X")
    );
    // Reload: the edits are dropped and the other change is in.
    std::fs::write(&f, &changed).expect("write");
    drive(&mut app, "/vda<Enter>t", 100, 30);
    drive(&mut app, "virtio-trans<Enter>", 100, 30);
    drive(&mut app, "w", 100, 30);
    let s = drive(&mut app, "r", 100, 30);
    assert!(s.contains("reloaded"), "{s}");
    assert!(!app.session.dirty());
    assert!(app.session.text().contains("<name>X"));
    let _ = std::fs::remove_dir_all(&d);
}

/// "w save and quit" on a guest with no file asks for a name, saves there and quits.
#[test]
fn save_and_quit_after_save_as_quits() {
    let d = scratch("saveas");
    let to = d.join("new.xml");
    let session = Session::from_text(&example_text(), None, "example".into()).expect("loads");
    let mut app = App::new(
        session,
        &Options {
            mono: true,
            ..Options::default()
        },
    );
    drive(&mut app, "/vda<Enter>t", 100, 30);
    drive(&mut app, "virtio-non<Enter>", 100, 30);
    drive(&mut app, "qw", 100, 30);
    assert!(!app.quit);
    drive(&mut app, &format!("{}<Enter>", to.display()), 100, 30);
    assert!(app.quit, "quits once saved");
    assert!(
        std::fs::read_to_string(&to)
            .expect("saved")
            .contains("virtio-non-transitional")
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// A read-only file is not replaced without asking; `y` replaces it.
#[cfg(unix)]
#[test]
fn the_designer_asks_before_replacing_a_read_only_file() {
    use std::os::unix::fs::PermissionsExt;
    let d = scratch("ro");
    let f = d.join("g.xml");
    std::fs::write(&f, example_text()).expect("write");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let mut app = designer(&f);
    drive(&mut app, "/vda<Enter>t", 100, 30);
    drive(&mut app, "virtio-non<Enter>", 100, 30);
    let s = drive(&mut app, "w", 100, 30);
    assert!(s.contains("no write permission"), "{s}");
    assert_eq!(std::fs::read_to_string(&f).expect("file"), example_text());
    drive(&mut app, "y", 100, 30);
    assert!(
        std::fs::read_to_string(&f)
            .expect("file")
            .contains("virtio-non-transitional")
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// At 40x10 a delete that takes devices along still asks with its keys visible, and
/// the status line says what a delete did.
#[test]
fn a_tiny_terminal_still_confirms_deletes_and_shows_the_status() {
    let session = Session::from_text(&example_text(), None, "example".into()).expect("loads");
    let mut app = App::new(
        session,
        &Options {
            mono: true,
            ..Options::default()
        },
    );
    let s = drive(&mut app, "/pcie-root-port<Enter>d", 40, 10);
    assert!(
        s.contains("y delete"),
        "the answer keys are on screen:\n{s}"
    );
    let s = drive(&mut app, "n/vda<Enter>d", 40, 10);
    assert!(s.contains("delete disk"), "the status is on screen:\n{s}");
}
