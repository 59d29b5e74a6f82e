//! The guest view against a booted guest: every case of `tests/guest-corpus/` was
//! booted with Debian 12's kernel under SeaBIOS and OVMF by the guest oracle
//! (`tests/guest-oracle/guest-oracle.py`), and what Linux saw is committed next to
//! the domain. `core::guest::guest_view` must predict every guest address and id,
//! every bridge's bus range, every NIC name `net_id` gave, and which virtio functions
//! bind in legacy mode with `virtio_pci.force_legacy=1`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use virt_pci::core::analyses::as_defined;
use virt_pci::core::guest::{GuestAddr, GuestView, guest_view};
use virt_pci::core::io_space::FirmwareKind;
use virt_pci::core::topology::Topology;
use virt_pci::core::virtio;
use virt_pci::libvirt::{Document, read_topology};

use crate::support;

fn corpus() -> PathBuf {
    support::root().join("tests/guest-corpus/cases")
}

fn load(case: &str) -> Topology {
    let xml = corpus().join(format!("{case}.xml"));
    let src = std::fs::read_to_string(&xml).unwrap_or_else(|e| panic!("{}: {e}", xml.display()));
    let doc = Document::parse(&src).unwrap_or_else(|e| panic!("{}: {}", xml.display(), e.message));
    let t = read_topology(&doc).unwrap_or_else(|e| panic!("{}: {e}", xml.display()));
    let (defined, refused) = as_defined(&t);
    assert!(refused.is_none(), "{case}: refused: {refused:?}");
    defined
}

fn addr(s: &str) -> GuestAddr {
    GuestAddr::parse(s).unwrap_or_else(|| panic!("bad address {s}"))
}

/// Every disagreement between the prediction and one measurement.
fn compare(case: &str, t: &Topology, v: &GuestView, m: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let measured = m["functions"].as_object().cloned().unwrap_or_default();
    let mut seen: BTreeMap<GuestAddr, &Value> = BTreeMap::new();
    for (a, f) in &measured {
        seen.insert(addr(a), f);
    }
    for f in &v.functions {
        match seen.get(&f.guest) {
            None => bad.push(format!(
                "{case}: predicted {} at {} ({}), the guest has nothing there",
                f.what,
                f.guest,
                f.libvirt.bdf()
            )),
            Some(mf) => {
                let id = mf["id"].as_str().unwrap_or("");
                if f.id_text().as_deref() != Some(id) {
                    bad.push(format!(
                        "{case}: {} at {}: id {:?}, the guest sees {id}",
                        f.what,
                        f.guest,
                        f.id_text()
                    ));
                }
                let mb = mf["secondary"]
                    .as_u64()
                    .map(|s| (s as u32, mf["subordinate"].as_u64().unwrap_or(0) as u32));
                if f.buses != mb {
                    bad.push(format!(
                        "{case}: {} at {}: buses {:?}, the guest has {mb:?}",
                        f.what, f.guest, f.buses
                    ));
                }
            }
        }
    }
    for a in seen.keys() {
        if v.at(*a).is_none() {
            bad.push(format!("{case}: the guest has {a}, not predicted"));
        }
    }
    // NIC names.
    for (_, nic) in m["nics"].as_object().cloned().unwrap_or_default() {
        let Some(a) = nic["address"].as_str().and_then(GuestAddr::parse) else {
            bad.push(format!("{case}: NIC without a PCI address: {nic}"));
            continue;
        };
        let Some(names) = v.at(a).and_then(|f| f.nic.as_ref()) else {
            bad.push(format!("{case}: NIC at {a} not predicted"));
            continue;
        };
        let path = nic["ID_NET_NAME_PATH"].as_str();
        let slot = nic["ID_NET_NAME_SLOT"].as_str();
        let default = nic["default_name"].as_str();
        if path != Some(names.path.as_str())
            || slot != names.slot.as_deref()
            || default != Some(names.default.as_str())
        {
            bad.push(format!(
                "{case}: NIC at {a}: predicted path {} slot {:?} default {}, the guest: {path:?} {slot:?} {default:?}",
                names.path, names.slot, names.default
            ));
        }
    }
    // force_legacy: a function binds in legacy mode exactly when it keeps the legacy
    // interface (transitional or legacy-only).
    let modes = virtio::virtio_devices(t);
    for (a, fl) in m["force_legacy"].as_object().cloned().unwrap_or_default() {
        let a = addr(&a);
        let Some(i) = v.at(a).and_then(|f| f.device) else {
            bad.push(format!("{case}: virtio function at {a} not predicted"));
            continue;
        };
        let Some(mode) = modes.iter().find(|x| x.device == i).map(|x| x.mode) else {
            bad.push(format!(
                "{case}: {a} is virtio in the guest, not in the model"
            ));
            continue;
        };
        let legacy = fl["bound"].as_bool() == Some(true) && fl["mode"].as_str() == Some("legacy");
        if legacy != mode.has_legacy() {
            bad.push(format!(
                "{case}: {a}: predicted {}, with force_legacy=1 the guest bound it {}",
                mode.name(),
                fl
            ));
        }
    }
    bad
}

#[test]
fn guest_view_matches_the_booted_guest() {
    let mut per_fw: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut all_bad = Vec::new();
    let mut checked = (0, 0, 0); // functions, NICs, force-legacy bindings
    for json in support::files(&corpus(), ".json") {
        let name = json
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let Some((case, fw)) = name.trim_end_matches(".json").rsplit_once('.') else {
            continue;
        };
        let m: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let kind = match fw {
            "seabios" => FirmwareKind::SeaBios,
            _ => FirmwareKind::Ovmf,
        };
        let t = load(case);
        let v = guest_view(&t, kind);
        let bad = compare(case, &t, &v, &m);
        checked.0 += m["functions"].as_object().map_or(0, |o| o.len());
        checked.1 += m["nics"].as_object().map_or(0, |o| o.len());
        checked.2 += m["force_legacy"].as_object().map_or(0, |o| o.len());
        let e = per_fw.entry(fw.to_string()).or_default();
        e.0 += 1;
        if bad.is_empty() {
            e.1 += 1;
        }
        all_bad.extend(bad.into_iter().map(|b| format!("[{fw}] {b}")));
    }
    let summary: Vec<String> = per_fw
        .iter()
        .map(|(fw, (n, ok))| format!("{fw} {ok}/{n}"))
        .collect();
    eprintln!(
        "guest corpus: {} ({} functions, {} NICs, {} force-legacy bindings checked)",
        summary.join(", "),
        checked.0,
        checked.1,
        checked.2
    );
    assert!(all_bad.is_empty(), "{}", all_bad.join("\n"));
    assert!(
        per_fw.values().map(|v| v.0).sum::<usize>() >= 40,
        "the guest corpus has fewer than 40 measurements: {summary:?}"
    );
}

fn virt_pci(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_virt-pci"))
        .args(args)
        .current_dir(support::root())
        .output()
        .expect("run virt-pci");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `which` maps every measured guest address back to the element at libvirt's
/// address, and says "none" (exit 1) for an address the guest does not have.
#[test]
fn which_maps_measured_addresses_back_to_elements() {
    let case = "tests/guest-corpus/cases/q35-ppb-on-rp.xml";
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(corpus().join("q35-ppb-on-rp.seabios.json")).unwrap(),
    )
    .unwrap();
    let ids = m["qdev_ids"].as_object().unwrap();
    let nics = m["nics"].as_object().unwrap();
    assert!(!nics.is_empty());
    for nic in nics.values() {
        let guest = nic["address"].as_str().unwrap();
        let (code, out, err) = virt_pci(&["which", guest, case]);
        assert_eq!(code, 0, "{guest}: {err}");
        // The measurement keys libvirt's address by QEMU id; the NIC's element must
        // be the one at that libvirt address.
        let short = &guest[5..];
        let (code2, out2, _) = virt_pci(&["which", short, case]);
        assert_eq!((code2, &out2), (0, &out), "short form {short}");
        let libvirt = out
            .split("libvirt address ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .unwrap_or("");
        assert!(
            ids.values().any(|v| v.as_str() == Some(libvirt)),
            "{guest} -> {libvirt}: not an address libvirt used ({out})"
        );
        assert!(out.contains("<interface"), "{out}");
    }
    let (code, _, err) = virt_pci(&["which", "0000:3f:00.0", case]);
    assert_eq!(code, 1);
    assert!(err.contains("no function at 0000:3f:00.0"), "{err}");
    let (code, _, _) = virt_pci(&["which", "not-an-address", case]);
    assert_eq!(code, 2);
}

/// `guest` prints the measured NIC names, and its JSON has every measured function.
#[test]
fn guest_command_shows_measured_names() {
    let case = "tests/guest-corpus/cases/pc-bridge-1.xml";
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(corpus().join("pc-bridge-1.seabios.json")).unwrap(),
    )
    .unwrap();
    let (code, text, err) = virt_pci(&["guest", case]);
    assert_eq!(code, 0, "{err}");
    for nic in m["nics"].as_object().unwrap().values() {
        let name = nic["default_name"].as_str().unwrap();
        assert!(
            text.contains(&format!("= {name}")),
            "{name} missing:\n{text}"
        );
    }
    let (code, json, _) = virt_pci(&["guest", "--json", "--firmware", "ovmf", case]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&json).unwrap();
    let listed: Vec<&str> = v["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["guest"].as_str())
        .collect();
    for a in m["functions"].as_object().unwrap().keys() {
        assert!(listed.contains(&a.as_str()), "{a} not in {listed:?}");
    }
}

/// `assign` of a new disk: libvirt puts its root port in the lowest free slot, in
/// front of the existing port, so the guest renumbers that port's bus and renames
/// the NIC behind it; `assign` says so (and still writes the result).
#[test]
fn assign_warns_before_a_rename() {
    let (code, out, err) = virt_pci(&[
        "assign",
        "tests/guest-corpus/renames/q35-new-disk-before-port.xml",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("<domain"), "{out}");
    assert!(err.contains("warning [VP0701]"), "{err}");
    assert!(
        err.contains("warning [VP0702]") && err.contains("enp2s0 becomes enp3s0"),
        "{err}"
    );
    // Assigning the result again adds nothing: no renames.
    let p = std::env::temp_dir().join(format!("virt-pci-guest-{}.xml", std::process::id()));
    std::fs::write(&p, &out).unwrap();
    let (code, _, err) = virt_pci(&["assign", p.to_str().unwrap()]);
    let _ = std::fs::remove_file(&p);
    assert_eq!(code, 0);
    assert!(!err.contains("VP07"), "{err}");
}

/// The designer: assigning the new disk's address says which NIC it renames, and `b`
/// shows the guest's addresses and NIC names next to libvirt's in the tree.
#[test]
fn designer_warns_of_renames_and_shows_guest_addresses() {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use virt_pci::tui::{App, Options, Session, keys, run_app};
    let path = support::root().join("tests/guest-corpus/renames/q35-one-port.xml");
    let text = std::fs::read_to_string(&path).unwrap();
    let session = Session::from_text(&text, None, "web1.xml".to_string()).expect("loads");
    let mut app = App::new(
        session,
        &Options {
            mono: true,
            ..Options::default()
        },
    );
    let mut term = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    let screen = |term: &Terminal<TestBackend>| {
        let buf = term.backend().buffer();
        let mut out = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    };
    // Add a virtio disk where libvirt would put it (the first place offered): the
    // designer asks first, naming what it renames and where the numbering is kept.
    run_app(&mut term, &mut app, &mut keys("adisk<Enter>")).expect("event loop");
    run_app(&mut term, &mut app, &mut keys("<Enter>")).expect("event loop");
    run_app(&mut term, &mut app, &mut keys("<Enter>")).expect("event loop");
    let s = screen(&term);
    assert!(s.contains("renames in the guest"), "{s}");
    assert!(s.contains("enp2s0 becomes enp3s0"), "{s}");
    assert!(s.contains("k keep the numbering"), "{s}");
    assert!(app.status.is_none(), "nothing applied yet");
    // As chosen: the status line says what it renamed.
    run_app(&mut term, &mut app, &mut keys("y")).expect("event loop");
    let status = app.status.clone().map(|s| s.text).unwrap_or_default();
    assert!(
        status.contains("VP0702") || status.contains("VP0701"),
        "status: {status}"
    );
    run_app(&mut term, &mut app, &mut keys("b")).expect("event loop");
    let s = screen(&term);
    assert!(s.contains("→guest 03:00.0 enp3s0"), "{s}");
    assert!(s.contains("→guest 00:03.0 bus 03"), "{s}");
    // And off again.
    run_app(&mut term, &mut app, &mut keys("b")).expect("event loop");
    let s = screen(&term);
    assert!(!s.contains("→guest"), "{s}");
}
