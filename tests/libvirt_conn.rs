//! Reading and defining domains through a real libvirt (`virsh`), against both daemons
//! of `../shared/oracle`: libvirt 9.0 on the host (`qemu:///system`) and 11.3 in the
//! Debian 13 chroot (through its socket). Each test defines domains of its own, with
//! names unique to the run, and undefines them again. A daemon that does not answer
//! is skipped visibly.

use std::process::Command;

use virt_pci::host::libvirt::{Connection, Error, State};

use crate::support;

const DAEMONS: &[(&str, &str)] = &[
    ("libvirt 9.0 (host)", "qemu:///system"),
    (
        "libvirt 11.3 (chroot)",
        "qemu+unix:///system?socket=/srv/trixie/run/libvirt/libvirt-sock",
    ),
];

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_virt-pci"))
}

/// The binary, predicting the libvirt and QEMU of the daemon at `uri` (the chroot's
/// is 11.3 + QEMU 10.0; the host's is what the binary finds installed).
fn bin_at(uri: &str) -> Command {
    let mut c = bin();
    if uri.contains("/srv/trixie/") {
        c.env("VIRT_PCI_LIBVIRT", "11.3")
            .env("VIRT_PCI_QEMU", "10.0");
    }
    c
}

/// The daemons that answer; the others are reported as skipped.
fn daemons(suite: &str) -> Vec<(&'static str, Connection)> {
    let mut out = Vec::new();
    for &(name, uri) in DAEMONS {
        let c = Connection::new(Some(uri.to_string()));
        match c.list_all() {
            Ok(_) => out.push((name, c)),
            Err(e) => support::skip(suite, &format!("{name} at {uri} does not answer: {e}")),
        }
    }
    out
}

/// A domain defined for one test, undefined when dropped.
struct Guest<'c> {
    conn: &'c Connection,
    name: String,
}

impl Drop for Guest<'_> {
    fn drop(&mut self) {
        let uri = self.conn.uri.clone().unwrap_or_default();
        for args in [
            &["destroy"][..],
            &["undefine", "--nvram"][..],
            &["undefine"][..],
        ] {
            let _ = Command::new("virsh")
                .arg("-q")
                .arg("-c")
                .arg(&uri)
                .args(args)
                .arg(&self.name)
                .output();
        }
    }
}

fn guest_xml(name: &str) -> String {
    format!(
        "<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='pci' index='0' model='pcie-root'/>
    <interface type='user'><model type='virtio'/></interface>
    <controller type='pci' model='pcie-root-port'/>
  </devices>
</domain>
"
    )
}

fn define<'c>(conn: &'c Connection, test: &str) -> Guest<'c> {
    let name = format!("vp-test-{test}-{}", std::process::id());
    conn.define(&guest_xml(&name))
        .expect("the test guest defines");
    Guest { conn, name }
}

/// Inserts `element` before `</devices>`.
fn with_device(xml: &str, element: &str) -> String {
    xml.replacen("</devices>", &format!("  {element}\n  </devices>"), 1)
}

fn count(xml: &str, what: &str) -> usize {
    xml.matches(what).count()
}

#[test]
fn open_a_domain_with_tree_check_io_and_audit() {
    for (name, conn) in daemons("libvirt_conn::open") {
        let g = define(&conn, "open");
        let uri = conn.uri.clone().unwrap();
        // `-c` before and after the subcommand.
        for args in [
            vec!["-c", &uri, "tree", "--json", &g.name],
            vec!["tree", "--json", "-c", &uri, &g.name],
        ] {
            let out = bin_at(&uri).args(&args).output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{name}: {out:?}");
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["name"], g.name.as_str(), "{name}");
        }
        // The tree shows the addresses libvirt assigned when it defined the guest.
        let xml = conn.inactive_xml(&g.name).unwrap();
        let text = String::from_utf8(
            bin_at(&uri)
                .args(["-c", &uri, "tree", &g.name])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let mac_line = text.lines().find(|l| l.contains("interface")).unwrap();
        let mac = xml
            .split("<mac address='")
            .nth(1)
            .unwrap()
            .split('\'')
            .next()
            .unwrap();
        assert!(mac_line.contains(mac), "{name}: {mac_line}");
        for cmd in ["check", "io"] {
            let out = bin_at(&uri)
                .args(["-c", &uri, cmd, &g.name])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{name} {cmd}: {out:?}");
        }
        let out = bin_at(&uri)
            .args(["-c", &uri, "audit", "--json", "--all"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            v["guests"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["guest"] == g.name.as_str() && r["verdict"] == "ok"),
            "{name}: {v}"
        );
        let out = bin_at(&uri)
            .args(["-c", &uri, "check", "vp-test-no-such-domain"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
    }
}

#[test]
fn edit_save_refused_save_and_concurrent_change() {
    for (name, conn) in daemons("libvirt_conn::edit") {
        let g = define(&conn, "edit");
        let read = conn.inactive_xml(&g.name).unwrap();
        let ports = count(&read, "model='pcie-root-port'");
        // Save: an edit of the definition as read is defined.
        let edited = with_device(&read, "<controller type='pci' model='pcie-root-port'/>");
        conn.define_unchanged(&g.name, &read, &edited).unwrap();
        let now = conn.inactive_xml(&g.name).unwrap();
        assert_eq!(count(&now, "model='pcie-root-port'"), ports + 1, "{name}");
        // Refused: libvirt's own error comes back, and the definition stays.
        let bad = with_device(&now, "<controller type='pci' index='0' model='pcie-root'/>");
        match conn.define_unchanged(&g.name, &now, &bad) {
            Err(Error::Libvirt(msg)) => {
                assert!(!msg.is_empty(), "{name}");
                assert!(!msg.contains("virt-pci-define-"), "{name}: {msg}");
            }
            other => panic!("{name}: expected libvirt's refusal, got {other:?}"),
        }
        assert_eq!(conn.inactive_xml(&g.name).unwrap(), now, "{name}");
        // virt-pci's check refuses the same domain.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.xml");
        std::fs::write(&f, &bad).unwrap();
        assert_eq!(
            bin().arg("check").arg(&f).output().unwrap().status.code(),
            Some(1)
        );
        // Concurrent change: someone else defines meanwhile; our save is refused and
        // their change is kept.
        let theirs = with_device(&now, "<controller type='pci' model='pcie-root-port'/>");
        conn.define(&theirs).unwrap();
        let after_theirs = conn.inactive_xml(&g.name).unwrap();
        let ours = with_device(&now, "<controller type='pci' model='pcie-pci-bridge'/>");
        match conn.define_unchanged(&g.name, &now, &ours) {
            Err(Error::Changed(d)) => assert_eq!(d, g.name),
            other => panic!("{name}: expected a refusal to overwrite, got {other:?}"),
        }
        assert_eq!(conn.inactive_xml(&g.name).unwrap(), after_theirs, "{name}");
    }
}

#[test]
fn running_and_inactive_domains() {
    for (name, conn) in daemons("libvirt_conn::running") {
        let g = define(&conn, "run");
        let uri = conn.uri.clone().unwrap();
        assert_eq!(conn.state(&g.name).unwrap(), State::Inactive, "{name}");
        let out = bin_at(&uri)
            .args(["-c", &uri, "tree", &g.name])
            .output()
            .unwrap();
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("is running"),
            "{name}"
        );
        let start = Command::new("virsh")
            .args(["-q", "-c", &uri, "start", &g.name])
            .output()
            .unwrap();
        if !start.status.success() {
            support::skip(
                "libvirt_conn::running",
                &format!(
                    "{name} cannot start a guest here: {}",
                    String::from_utf8_lossy(&start.stderr)
                        .trim()
                        .replace('\n', "; ")
                ),
            );
            continue;
        }
        assert_eq!(conn.state(&g.name).unwrap(), State::Running, "{name}");
        assert_ne!(
            conn.live_xml(&g.name).unwrap(),
            conn.inactive_xml(&g.name).unwrap(),
            "{name}"
        );
        let out = bin_at(&uri)
            .args(["-c", &uri, "tree", &g.name])
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("{} is running", g.name)),
            "{name}: {out:?}"
        );
        // Commands that do not show the running guest say on stderr that it runs.
        let out = bin_at(&uri)
            .args(["-c", &uri, "qemu-args", &g.name])
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("changes take effect at the next boot"),
            "{name}: {out:?}"
        );
    }
}

/// Starts `g`, or reports why the daemon cannot (then the test skips it).
fn start(g: &Guest, daemon: &str, suite: &str) -> bool {
    let uri = g.conn.uri.clone().unwrap();
    let start = Command::new("virsh")
        .args(["-q", "-c", &uri, "start", &g.name])
        .output()
        .unwrap();
    if !start.status.success() {
        support::skip(
            suite,
            &format!(
                "{daemon} cannot start a guest here: {}",
                String::from_utf8_lossy(&start.stderr)
                    .trim()
                    .replace('\n', "; ")
            ),
        );
    }
    start.status.success()
}

fn stdout(c: &mut Command) -> (Option<i32>, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const HOT: &str = "52:54:00:aa:bb:01";
const NEXT: &str = "52:54:00:aa:bb:02";

#[test]
fn a_running_domain_shows_what_differs_from_its_next_boot() {
    use virt_pci::core::live::Side;
    let suite = "libvirt_conn::live";
    for (name, conn) in daemons(suite) {
        let g = define(&conn, "live");
        let uri = conn.uri.clone().unwrap();
        // A free root port for the device hot-plugged below.
        let read = conn.inactive_xml(&g.name).unwrap();
        conn.define(&with_device(
            &read,
            "<controller type='pci' model='pcie-root-port'/>",
        ))
        .unwrap();
        if !start(&g, name, suite) {
            continue;
        }
        // Just started: the running guest runs its definition.
        let (code, out, _) = stdout(bin_at(&uri).args(["-c", &uri, "tree", &g.name]));
        assert_eq!(code, Some(0), "{name}: {out}");
        assert!(
            out.contains("live configuration matches this next-boot definition"),
            "{name}: {out}"
        );
        let (_, out, _) = stdout(bin_at(&uri).args(["-c", &uri, "check", &g.name]));
        assert!(
            out.contains("running; its live configuration matches the next boot"),
            "{name}: {out}"
        );
        // A NIC hot-plugged into the running guest only, and a NIC and a root port
        // added to the next boot only.
        let dir = tempfile::tempdir().unwrap();
        let hot = dir.path().join("hot.xml");
        std::fs::write(
            &hot,
            format!(
                "<interface type='user'><mac address='{HOT}'/><model type='virtio'/></interface>"
            ),
        )
        .unwrap();
        let attach = Command::new("virsh")
            .args(["-q", "-c", &uri, "attach-device", &g.name])
            .arg(&hot)
            .arg("--live")
            .output()
            .unwrap();
        assert!(attach.status.success(), "{name}: {attach:?}");
        let inactive = conn.inactive_xml(&g.name).unwrap();
        conn.define(&with_device(
            &with_device(
                &inactive,
                &format!("<interface type='user'><mac address='{NEXT}'/><model type='virtio'/></interface>"),
            ),
            "<controller type='pci' model='pcie-root-port'/>",
        ))
        .unwrap();
        // tree: a section above the tree, one line per difference, and when they
        // take effect.
        let (code, out, err) = stdout(bin_at(&uri).args(["-c", &uri, "tree", &g.name]));
        assert_eq!(code, Some(0), "{name}: {err}");
        assert!(
            out.contains("differs from this next-boot definition"),
            "{name}: {out}"
        );
        let line = |mac: &str| {
            out.lines()
                .find(|l| l.contains(mac) && l.trim_start().starts_with(['-', '+', '~']))
                .unwrap_or_else(|| panic!("{name}: no difference names {mac}: {out}"))
                .trim_start()
                .to_string()
        };
        assert!(line(HOT).starts_with("- interface virtio"), "{name}: {out}");
        assert!(line(HOT).contains("gone at the next boot"), "{name}: {out}");
        assert!(
            line(NEXT).starts_with("+ interface virtio"),
            "{name}: {out}"
        );
        assert!(
            out.lines().any(|l| l
                .trim_start()
                .starts_with("+ pci controller pcie-root-port")),
            "{name}: {out}"
        );
        assert!(
            out.contains("changes take effect at the next boot"),
            "{name}: {out}"
        );
        // The hot-plugged NIC is not in the next-boot tree; the new one is.
        let tree: String = out
            .lines()
            .filter(|l| !l.trim_start().starts_with(['-', '+', '~']))
            .collect();
        assert!(!tree.contains(HOT) && tree.contains(NEXT), "{name}: {out}");
        // JSON: the same, as the `running` object.
        let (_, out, _) = stdout(bin_at(&uri).args(["-c", &uri, "tree", "--json", &g.name]));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let r = &v["running"];
        assert_eq!(r["matches_next_boot"], false, "{name}: {r}");
        let sides: Vec<(String, String)> = r["differences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["side"].as_str().unwrap().into(),
                    d["subject"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert!(
            sides.contains(&("running-only".into(), format!("interface virtio ({HOT})"))),
            "{name}: {sides:?}"
        );
        assert!(
            sides.contains(&(
                "next-boot-only".into(),
                format!("interface virtio ({NEXT})")
            )),
            "{name}: {sides:?}"
        );
        assert_eq!(sides.len(), 3, "{name}: {sides:?}");
        // check: one line; io and guest: the section; their JSON: the object.
        let (_, out, _) = stdout(bin_at(&uri).args(["-c", &uri, "check", &g.name]));
        assert!(
            out.contains(
                "running; its live configuration differs from the next boot (1 running only, 2 at the next boot only"
            ),
            "{name}: {out}"
        );
        let (_, out, _) = stdout(bin_at(&uri).args(["-c", &uri, "check", "--json", &g.name]));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["files"][0]["running"]["differences"]
                .as_array()
                .unwrap()
                .len(),
            3,
            "{name}: {v}"
        );
        for cmd in ["io", "guest"] {
            let (code, out, _) = stdout(bin_at(&uri).args(["-c", &uri, cmd, &g.name]));
            assert_eq!(code, Some(0), "{name} {cmd}: {out}");
            assert!(
                out.contains(&format!("- interface virtio ({HOT})")),
                "{name} {cmd}: {out}"
            );
            let (_, out, _) = stdout(bin_at(&uri).args(["-c", &uri, cmd, "--json", &g.name]));
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(
                v["running"]["matches_next_boot"], false,
                "{name} {cmd}: {v}"
            );
        }
        // The designer: a title mark, a status note, `+` on the new NIC's row, and
        // `R` showing every difference (the hot-plugged NIC included).
        let (session, target) = virt_pci::tui::libvirt_save::open(&conn, &g.name).unwrap();
        assert!(target.running && target.live.is_some(), "{name}");
        let mut app = virt_pci::tui::App::new(
            session,
            &virt_pci::tui::Options {
                mono: true,
                ..Default::default()
            },
        );
        app.open_libvirt(target);
        let report = app.running.clone().unwrap();
        let diffs = report.differences.clone().unwrap();
        assert_eq!(
            virt_pci::core::live::counts(&diffs),
            (1, 2, 0),
            "{name}: {diffs:?}"
        );
        assert!(
            app.status
                .as_ref()
                .unwrap()
                .text
                .contains("take effect at its next boot")
                && app.status.as_ref().unwrap().text.contains("R shows it"),
            "{name}: {:?}",
            app.status
        );
        assert!(
            app.rows
                .iter()
                .any(|r| r.label.starts_with("+ ") && r.label.contains(NEXT)),
            "{name}"
        );
        let screen = |app: &mut virt_pci::tui::App, keys: &str| {
            let mut term =
                ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 40)).unwrap();
            virt_pci::tui::run_app(&mut term, app, &mut virt_pci::tui::keys(keys)).unwrap();
            let buf = term.backend().buffer().clone();
            let mut s = String::new();
            for y in 0..buf.area.height {
                for x in 0..buf.area.width {
                    s.push_str(buf[(x, y)].symbol());
                }
                s.push('\n');
            }
            s
        };
        let shown = screen(&mut app, "");
        assert!(shown.contains("[running: 3 differ, R]"), "{name}: {shown}");
        let shown = screen(&mut app, "R");
        assert!(
            shown.contains("running guest vs next boot"),
            "{name}: {shown}"
        );
        assert!(shown.contains(HOT), "{name}: {shown}");
        // An edit in the designer is one more thing waiting for the next boot.
        let port = diffs
            .iter()
            .find(|d| d.side == Side::NextBootOnly && d.subject.contains("pcie-root-port"))
            .and_then(|d| d.next_device)
            .unwrap();
        let origin = app.topology().devices[port].origin;
        app.session
            .history
            .record(&virt_pci::core::edit::Op::Delete { device: origin })
            .unwrap();
        app.refresh();
        let after = app.running.clone().unwrap().differences.unwrap();
        assert_eq!(
            virt_pci::core::live::counts(&after),
            (1, 1, 0),
            "{name}: {after:?}"
        );
    }
}

#[test]
fn guest_and_convert_read_a_domain_and_convert_defines_it_back() {
    let suite = "libvirt_conn::convert";
    for (name, conn) in daemons(suite) {
        let g = Guest {
            conn: &conn,
            name: format!("vp-test-conv-{}", std::process::id()),
        };
        conn.define(&format!(
            "<domain type='qemu'>
  <name>{}</name>
  <memory unit='MiB'>32</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><source file='/nonexistent.qcow2'/><target dev='hda' bus='ide'/></disk>
    <interface type='user'><mac address='{NEXT}'/><model type='virtio'/></interface>
  </devices>
</domain>
",
            g.name
        ))
        .unwrap();
        let uri = conn.uri.clone().unwrap();
        // guest: what the guest sees, read from libvirt.
        let (code, out, err) = stdout(bin_at(&uri).args(["-c", &uri, "guest", &g.name]));
        assert_eq!(code, Some(0), "{name}: {err}");
        assert!(
            out.lines()
                .any(|l| l.contains(&format!("interface virtio ({NEXT}) = en"))),
            "{name}: {out}"
        );
        let (_, out, _) = stdout(bin_at(&uri).args(["guest", "--json", "-c", &uri, &g.name]));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(
            v.get("running").is_none(),
            "{name}: an inactive domain: {v}"
        );
        // convert: prints the converted XML and leaves the definition alone.
        let before = conn.inactive_xml(&g.name).unwrap();
        let (code, out, err) =
            stdout(bin_at(&uri).args(["-c", &uri, "convert", "--to", "q35", &g.name]));
        assert_eq!(code, Some(0), "{name}: {err}");
        assert!(out.contains("machine='pc-q35-"), "{name}: {out}");
        assert!(
            err.contains("sda"),
            "{name}: the IDE disk's new name: {err}"
        );
        assert_eq!(conn.inactive_xml(&g.name).unwrap(), before, "{name}");
        // --in-place is for files, --define for domains.
        let (code, _, err) = stdout(bin_at(&uri).args([
            "-c",
            &uri,
            "convert",
            "--to",
            "q35",
            "--in-place",
            &g.name,
        ]));
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(err.contains("--define"), "{name}: {err}");
        // A definition that changes between reading and defining is not overwritten:
        // a virsh that lets someone else define first.
        let dir = tempfile::tempdir().unwrap();
        let theirs = with_device(&before, "<controller type='pci' model='pci-bridge'/>");
        let theirs_file = dir.path().join("theirs.xml");
        std::fs::write(&theirs_file, &theirs).unwrap();
        let counter = dir.path().join("n");
        let wrapper = dir.path().join("virsh");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\ncase \"$*\" in *'dumpxml --inactive'*)\n  n=$(cat {c} 2>/dev/null || echo 0); echo $((n+1)) > {c}\n  [ \"$n\" = 1 ] && virsh -q -c '{uri}' define {t} >/dev/null;;\nesac\nexec virsh \"$@\"\n",
                c = counter.display(),
                t = theirs_file.display(),
            ),
        )
        .unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&wrapper)
            .status()
            .unwrap();
        let (code, _, err) = stdout(
            bin_at(&uri)
                .env("VIRT_PCI_VIRSH", &wrapper)
                .args(["-c", &uri, "convert", "--to", "q35", "--define", &g.name]),
        );
        assert_eq!(code, Some(1), "{name}: {err}");
        assert!(
            err.contains("changed since virt-pci read it"),
            "{name}: {err}"
        );
        let now = conn.inactive_xml(&g.name).unwrap();
        assert!(
            now.contains("pci-bridge") && now.contains("machine='pc-i440fx-"),
            "{name}: {now}"
        );
        // --define: the converted domain is defined; libvirt then has it on q35.
        let (code, _, err) =
            stdout(bin_at(&uri).args(["-c", &uri, "convert", "--to", "q35", "--define", &g.name]));
        assert_eq!(code, Some(0), "{name}: {err}");
        assert!(
            err.contains("defined the converted domain"),
            "{name}: {err}"
        );
        let now = conn.inactive_xml(&g.name).unwrap();
        assert!(now.contains("machine='pc-q35-"), "{name}: {now}");
        assert!(now.contains("dev='sda' bus='sata'"), "{name}: {now}");
        // Defining what is already there: nothing to do.
        let (code, _, err) =
            stdout(bin_at(&uri).args(["-c", &uri, "convert", "--to", "q35", "--define", &g.name]));
        assert_eq!(code, Some(0), "{name}: {err}");
        assert!(err.contains("nothing to define"), "{name}: {err}");
    }
    // Without a connection there is nothing to define.
    let (code, _, err) = stdout(bin().args([
        "convert",
        "--to",
        "q35",
        "--define",
        "assets/examples/debian8-i440fx.xml",
    ]));
    assert_eq!(code, Some(2), "{err}");
}

#[test]
fn the_designer_defines_its_edit_back() {
    use virt_pci::core::edit::Op;
    use virt_pci::tui::libvirt_save::{define as save, open};
    for (name, conn) in daemons("libvirt_conn::designer") {
        let g = define(&conn, "tui");
        let (mut session, mut target) = open(&conn, &g.name).unwrap();
        assert!(!target.running, "{name}");
        let port = session
            .topology()
            .devices
            .iter()
            .find(|d| d.pci.as_ref().is_some_and(|p| p.model.is_port()))
            .unwrap()
            .origin;
        session
            .history
            .record(&Op::SetHotplug {
                device: port,
                on: false,
            })
            .unwrap();
        assert!(session.dirty());
        let msg = save(&mut session, &mut target).unwrap();
        assert!(msg.contains("defined"), "{name}: {msg}");
        assert!(!session.dirty(), "{name}");
        let now = conn.inactive_xml(&g.name).unwrap();
        assert!(now.contains("hotplug='off'"), "{name}: {now}");
        // Someone else defines meanwhile: the next save is refused and stays open.
        conn.define(&with_device(
            &now,
            "<controller type='pci' model='pcie-root-port'/>",
        ))
        .unwrap();
        session
            .history
            .record(&Op::SetHotplug {
                device: port,
                on: true,
            })
            .unwrap();
        let err = save(&mut session, &mut target).unwrap_err();
        assert!(err.contains("changed since"), "{name}: {err}");
        assert!(session.dirty(), "{name}");
    }
}

#[test]
fn connection_options_move_after_the_subcommand() {
    use virt_pci::cli::connection_options_last as fix;
    let v = |a: &[&str]| -> Vec<std::ffi::OsString> { a.iter().map(|s| s.into()).collect() };
    assert_eq!(
        fix(v(&["virt-pci", "-c", "qemu:///system", "tree", "web"])),
        v(&["virt-pci", "tree", "-c", "qemu:///system", "web"])
    );
    assert_eq!(
        fix(v(&[
            "virt-pci",
            "--domain",
            "--connect=x",
            "check",
            "a",
            "b"
        ])),
        v(&["virt-pci", "check", "--domain", "--connect=x", "a", "b"])
    );
    // The designer form and options already after the subcommand stay as they are.
    for args in [
        &["virt-pci", "-c", "qemu:///system", "web"][..],
        &["virt-pci", "io", "-c", "u", "web"][..],
        &["virt-pci", "-c", "u"][..],
    ] {
        assert_eq!(fix(v(args)), v(args));
    }
}
