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
            String::from_utf8_lossy(&out.stderr).contains("changes take effect at the next boot"),
            "{name}: {out:?}"
        );
    }
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
            .apply(&Op::SetHotplug {
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
            .apply(&Op::SetHotplug {
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
