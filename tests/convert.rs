//! `virt-pci convert`: every converted guest is accepted by both real libvirts (when
//! `VIRT_PCI_ORACLE` / `VIRT_PCI_ORACLE11` name their oracle scripts), is a fixed point
//! of `assign`, converts to itself again, and passes `check` under SeaBIOS and both
//! OVMF profiles for its OS; the guest OS decides the models; the booted corpus
//! (`tests/convert-corpus/`, SeaBIOS 1.16, OVMF 2022.11 and 2025.02) shows every transitional device with its legacy IO BAR
//! assigned and nothing dropped; and virt-xml's documented rule, written again here
//! as a second rule set, is compared with ours on the same guests.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use virt_pci::context::{Choices, context};
use virt_pci::core::analyses::{Analysis, analyse};
use virt_pci::core::assign;
use virt_pci::core::convert::{Conversion, Options, To, convert};
use virt_pci::core::diag::{Code, Diagnostic, Severity};
use virt_pci::core::io_space;
use virt_pci::core::pci::PciModel;
use virt_pci::core::virtio::Mode;
use virt_pci::core::{Kind, Topology};
use virt_pci::libvirt::write::write_topology;
use virt_pci::libvirt::{Document, meta, read_topology};

use crate::support;

/// The guests converted, where they go, and whether it takes `--force`.
const CASES: &[(&str, To, bool)] = &[
    ("tests/guests/convert-centos6-i440fx.xml", To::Q35, false),
    ("tests/guests/convert-win10-i440fx.xml", To::Q35, false),
    ("tests/guests/convert-f39-i440fx.xml", To::Q35, false),
    ("tests/guests/convert-unknown-os-i440fx.xml", To::Q35, false),
    ("assets/examples/debian8-i440fx.xml", To::Q35, true),
    (
        "assets/examples/centos6-q35-transitional.xml",
        To::Pc,
        false,
    ),
    ("assets/examples/centos6-q35-virtio.xml", To::Pc, false),
    ("assets/examples/q35-large.xml", To::Pc, false),
    ("assets/examples/aarch64-virt-mmio.xml", To::Pci, false),
];

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Converts `src` as the command line does (no options beyond `--to` / `--force`).
fn convert_text(src: &str, to: To, force: bool) -> Result<(String, Conversion), Diagnostic> {
    let doc = Document::parse(src).expect("xml");
    let t = read_topology(&doc).expect("domain");
    let ctx = context(&doc, &Choices::default()).expect("context");
    let opts = Options {
        to,
        spare_ports: None,
        force,
        secure_boot: meta::secure_boot(&doc),
    };
    let c = convert(&t, &ctx, &opts)?;
    let mut out = doc.clone();
    write_topology(&mut out, &t, &c.result);
    Ok((out.write(), c))
}

fn topology(text: &str) -> (Document, Topology) {
    let doc = Document::parse(text).expect("converted XML parses");
    let t = read_topology(&doc).expect("converted XML is a domain");
    (doc, t)
}

fn analysed(text: &str, firmware: &str) -> Analysis {
    let (doc, t) = topology(text);
    let ctx = context(
        &doc,
        &Choices {
            firmware: Some(firmware.into()),
            ..Choices::default()
        },
    )
    .expect("context");
    analyse(&t, &ctx)
}

/// Every converted guest, with its name: the cases, and the aarch64 one carried back
/// to mmio.
fn converted() -> Vec<(String, To, String)> {
    let mut out = Vec::new();
    for (path, to, force) in CASES {
        let src = read(&support::root().join(path));
        let (xml, _) = convert_text(&src, *to, *force)
            .unwrap_or_else(|d| panic!("{path} --to {}: refused: {d}", to.name()));
        if *to == To::Pci {
            let (back, c) = convert_text(&xml, To::Mmio, false).expect("back to mmio");
            assert!(!c.is_empty(), "{path}: nothing moved back to mmio");
            out.push((format!("{path} --to pci --to mmio"), To::Mmio, back));
        }
        out.push((format!("{path} --to {}", to.name()), *to, xml));
    }
    out
}

#[test]
fn every_conversion_is_a_fixed_point_converts_to_itself_and_checks_clean() {
    for (name, to, xml) in converted() {
        let (_, t) = topology(&xml);
        let plan = assign::assign(&t).unwrap_or_else(|d| panic!("{name}: assign refuses: {d}"));
        assert!(plan.is_empty(), "{name}: assign is not a fixed point");
        let (again, c) = convert_text(&xml, to, true).expect("converts again");
        assert!(
            c.is_empty(),
            "{name}: converting again changes {:?}",
            c.changes
        );
        assert_eq!(again, xml, "{name}: converting again changes the XML");
        assert!(
            assign::check_all(&t)
                .iter()
                .all(|d| d.severity != Severity::Error),
            "{name}: libvirt's rules"
        );
        for fw in io_space::FIRMWARES {
            let a = analysed(&xml, fw.id);
            assert!(a.refused.is_none(), "{name}: refused under {}", fw.id);
            let errors: Vec<String> = a
                .findings
                .iter()
                .filter(|f| f.diag.severity == Severity::Error)
                .map(|f| f.diag.to_string())
                .collect();
            assert!(errors.is_empty(), "{name} under {}: {errors:?}", fw.id);
        }
    }
}

#[test]
fn what_the_user_wrote_survives() {
    for (path, to, force) in CASES {
        let src = read(&support::root().join(path));
        let (xml, c) = convert_text(&src, *to, *force).expect("converts");
        assert!(!c.is_empty(), "{path}");
        for keep in [
            "<!--",
            "<alias name='ua-",
            "<boot order=",
            "<driver name='qemu' type='qcow2' cache='none' io='native'/>",
            "<driver name='qemu' type='qcow2' discard='unmap'/>",
            "<driver name='vhost' queues='2'/>",
            "<app:note",
            "<stats period='10'/>",
            "<libosinfo:os id=",
            "<hyperv mode='custom'>",
            "<readonly/>",
        ] {
            assert_eq!(
                src.matches(keep).count(),
                xml.matches(keep).count(),
                "{path}: `{keep}` not kept"
            );
        }
        // Every change has its one reason.
        assert!(
            c.changes
                .iter()
                .all(|ch| !ch.reason.trim().is_empty() && !ch.ops.is_empty()),
            "{path}"
        );
    }
}

fn devices_of(t: &Topology, kind: Kind) -> impl Iterator<Item = &virt_pci::core::Device> {
    t.devices.iter().filter(move |d| d.kind == kind)
}

fn bridges(t: &Topology) -> usize {
    t.devices
        .iter()
        .filter(|d| {
            d.pci
                .as_ref()
                .is_some_and(|p| p.model == PciModel::PcieToPciBridge)
        })
        .count()
}

fn modes(a: &Analysis) -> Vec<Mode> {
    a.virtio.iter().map(|v| v.mode).collect()
}

#[test]
fn the_guest_os_decides_what_each_device_becomes() {
    let conv = |p: &str| {
        let src = read(&support::root().join(p));
        convert_text(&src, To::Q35, false).expect("converts").0
    };
    // CentOS 6: legacy virtio only; every virtio device transitional, behind one
    // bridge; osinfo-db lists the q35 chipset, so ich6 becomes ich9.
    let xml = conv("tests/guests/convert-centos6-i440fx.xml");
    let (_, t) = topology(&xml);
    let a = analysed(&xml, "seabios");
    assert!(a.virtio.len() >= 5, "{:?}", modes(&a));
    assert!(
        a.virtio.iter().all(|v| v.mode == Mode::Transitional),
        "{:?}",
        modes(&a)
    );
    assert_eq!(bridges(&t), 1);
    assert!(xml.contains("<sound model='ich9'>"));
    assert!(xml.contains("<target dev='sda' bus='sata'/>") && !xml.contains("bus='ide'"));
    assert!(!xml.contains("<controller type='ide'"));
    assert!(xml.contains("machine='pc-q35-7.2'"));
    // Windows 10: virtio 1.0 drivers and the q35 chipset.
    let xml = conv("tests/guests/convert-win10-i440fx.xml");
    let (_, t) = topology(&xml);
    let a = analysed(&xml, "seabios");
    assert!(xml.contains("<model type='e1000e'/>") && xml.contains("<sound model='ich9'>"));
    assert!(
        a.virtio.iter().all(|v| v.mode == Mode::ModernOnly),
        "{:?}",
        modes(&a)
    );
    assert_eq!(bridges(&t), 0, "nothing needs a conventional slot");
    // Fedora 39: plain virtio stays, the rtl8139 goes behind the one bridge.
    let xml = conv("tests/guests/convert-f39-i440fx.xml");
    let (_, t) = topology(&xml);
    assert!(!xml.contains("virtio-transitional"));
    assert_eq!(bridges(&t), 1);
    assert!(xml.contains("machine='q35'"), "plain pc becomes plain q35");
    // Unknown OS: transitional, e1000 kept (osinfo-db says nothing), two IDE disks in
    // order; pc-q35-6.1 never gets 15 hotplug root ports.
    let xml = conv("tests/guests/convert-unknown-os-i440fx.xml");
    let (_, t) = topology(&xml);
    let a = analysed(&xml, "seabios");
    assert!(
        a.virtio.iter().all(|v| v.mode.has_legacy()),
        "{:?}",
        modes(&a)
    );
    assert!(xml.contains("<model type='e1000'/>"));
    let disks: Vec<_> = devices_of(&t, Kind::Disk)
        .map(|d| {
            (
                d.name.clone().unwrap_or_default(),
                d.bus.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        disks,
        [
            ("sda".to_string(), "sata".to_string()),
            ("sdb".into(), "sata".into()),
            ("vda".into(), "virtio".into())
        ]
    );
    let hotplug_ports = t
        .devices
        .iter()
        .filter(|d| {
            d.pci
                .as_ref()
                .is_some_and(|p| p.model == PciModel::PcieRootPort && p.hotpluggable())
        })
        .count();
    assert!(
        hotplug_ports <= 14,
        "{hotplug_ports} hotplug ports on pc-q35-6.1"
    );
}

#[test]
fn spare_ports_are_counted_and_stated() {
    let src = read(&support::root().join("tests/guests/convert-win10-i440fx.xml"));
    let (_, c) = convert_text(&src, To::Q35, false).expect("converts");
    let s = c.spare.expect("spare ports");
    assert_eq!(s.free, s.wanted, "{s:?}");
    assert!(s.wanted_from.contains("virt-install"), "{s:?}");
    let doc = Document::parse(&src).expect("xml");
    let t = read_topology(&doc).expect("domain");
    let ctx = context(&doc, &Choices::default()).expect("ctx");
    for n in [0, 3] {
        let c = convert(
            &t,
            &ctx,
            &Options {
                to: To::Q35,
                spare_ports: Some(n),
                force: false,
                secure_boot: false,
            },
        )
        .expect("converts");
        let s = c.spare.expect("spare");
        assert!(s.free >= n && s.free <= n.max(1), "{n}: {s:?}");
    }
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_virt-pci"))
        .args(args)
        .current_dir(support::root())
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn refusals_have_their_code_and_exit_status() {
    let (code, out, err) = cli(&[
        "convert",
        "assets/examples/debian8-i440fx.xml",
        "--to",
        "q35",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.is_empty() && err.contains("[VP0404]") && err.contains("--force"),
        "{err}"
    );
    let (code, _, err) = cli(&["convert", "assets/examples/win10-q35.xml", "--to", "pc"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("[VP0802]") && err.contains("secure boot"),
        "{err}"
    );
    let (code, _, err) = cli(&["convert", "assets/examples/win10-q35.xml", "--to", "mmio"]);
    assert_eq!(code, 1);
    assert!(err.contains("[VP0801]"), "{err}");
    let (code, _, err) = cli(&["convert", "tests/bad/no-such-file.xml", "--to", "q35"]);
    assert_eq!(code, 2, "{err}");
    let (code, out, _) = cli(&[
        "convert",
        "assets/examples/debian8-i440fx.xml",
        "--to",
        "q35",
        "--json",
    ]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["refused"]["code"], "VP0404");
    assert_eq!(v["converted"], false);
}

#[test]
fn diff_json_and_in_place() {
    let f = "tests/guests/convert-centos6-i440fx.xml";
    let (code, diff, err) = cli(&["convert", f, "--to", "q35", "--diff"]);
    assert_eq!(code, 0, "{err}");
    assert!(diff.starts_with("--- "), "{diff}");
    assert!(diff.contains("-    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>"));
    assert!(diff.contains("+    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>"));
    assert!(
        err.contains("change machine type: pc-i440fx-7.2 → pc-q35-7.2"),
        "{err}"
    );
    assert!(err.contains("spare root ports:"), "{err}");
    let (code, out, _) = cli(&["convert", f, "--to", "q35", "--json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["converted"], true);
    let changes = v["changes"].as_array().expect("changes");
    assert!(changes.len() > 5);
    for ch in changes {
        assert!(!ch["reason"].as_str().unwrap_or("").is_empty(), "{ch}");
        assert!(!ch["ops"].as_array().expect("ops").is_empty(), "{ch}");
    }
    assert!(v["xml"].as_str().is_some_and(|x| x.contains("pc-q35-7.2")));
    // In place, with a backup; a second run changes nothing.
    let dir = tempdir();
    let copy = dir.join("g.xml");
    std::fs::copy(support::root().join(f), &copy).expect("copy");
    let p = copy.to_string_lossy().into_owned();
    let (code, out, err) = cli(&["convert", &p, "--to", "q35", "--in-place"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty());
    let once = read(&copy);
    assert_eq!(read(&dir.join("g.xml.bak")), read(&support::root().join(f)));
    std::fs::remove_file(dir.join("g.xml.bak")).expect("rm");
    let (code, _, err) = cli(&["convert", &p, "--to", "q35", "--in-place"]);
    assert_eq!(code, 0);
    assert!(err.contains("nothing to convert"), "{err}");
    assert_eq!(read(&copy), once);
    assert!(
        !dir.join("g.xml.bak").exists(),
        "nothing changed, nothing backed up"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "virt-pci-convert-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Asks the libvirt oracle script in `var` about every converted guest.
fn oracle_accepts_all(var: &str, what: &str) {
    let Some(oracle) = std::env::var_os(var).map(PathBuf::from) else {
        assert!(
            !support::in_ci() || var != "VIRT_PCI_ORACLE",
            "{var} is required under CI"
        );
        support::skip(
            &format!("convert vs {what}"),
            &format!(
                "{var} is not set (the path of its oracle script), so the converted guests were not defined by {what}"
            ),
        );
        return;
    };
    let dir = tempdir();
    let mut refused = Vec::new();
    for (k, (name, _, xml)) in converted().into_iter().enumerate() {
        // The oracles run on an x86 host: the ARM guest is defined as an emulated one.
        let xml = if xml.contains("arch='aarch64'") {
            xml.replacen("<domain type='kvm'", "<domain type='qemu'", 1)
        } else {
            xml
        };
        let file = dir.join(format!("{k}.xml"));
        std::fs::write(&file, &xml).expect("write");
        // An answer is libvirt's domain or libvirt's error; anything else (an empty
        // answer from a busy oracle) is asked again.
        let mut answer = String::new();
        for attempt in 0..4u64 {
            std::thread::sleep(std::time::Duration::from_millis(300 * attempt));
            let out = Command::new("bash")
                .arg(&oracle)
                .arg(&file)
                .output()
                .expect("oracle runs");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            if out.status.code() == Some(0) && stdout.contains("<domain") {
                answer.clear();
                break;
            }
            answer = format!("exit {:?}: {stderr}", out.status.code());
            if out.status.code() == Some(1) && stderr.contains("error") {
                break;
            }
        }
        if !answer.is_empty() {
            refused.push(format!("{name}: {answer}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(refused.is_empty(), "{what} refuses: {refused:#?}");
}

#[test]
fn libvirt_9_0_defines_every_converted_guest() {
    oracle_accepts_all("VIRT_PCI_ORACLE", "libvirt 9.0");
}

#[test]
fn libvirt_11_3_defines_every_converted_guest() {
    oracle_accepts_all("VIRT_PCI_ORACLE11", "libvirt 11.3");
}

/// The corpus: (name, source, target, force).
fn corpus_cases() -> Vec<(String, String, To, bool)> {
    let tsv = read(&support::root().join("tests/convert-corpus/cases.tsv"));
    tsv.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 4, "cases.tsv: {l}");
            let to = match c[2] {
                "q35" => To::Q35,
                "pc" => To::Pc,
                other => panic!("cases.tsv: target {other}"),
            };
            (c[0].to_string(), c[1].to_string(), to, c[3] == "--force")
        })
        .collect()
}

#[test]
fn booted_corpus_keeps_every_legacy_io_bar_and_drops_nothing() {
    let cases = support::root().join("tests/convert-corpus/cases");
    let mut measured = 0;
    for (name, src, to, force) in corpus_cases() {
        let stored = read(&cases.join(format!("{name}.xml")));
        let (xml, _) =
            convert_text(&read(&support::root().join(&src)), to, force).expect("converts");
        // A guest's <description> is not passed to QEMU, so the measurement of a guest
        // whose description was written later still stands; everything else must match.
        let no_description = |x: &str| -> String {
            x.lines()
                .filter(|l| {
                    !(l.trim_start().starts_with("<description>") && l.ends_with("</description>"))
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            no_description(&xml),
            no_description(&stored),
            "{name}: the conversion changed since it was measured: run python3 tests/convert-corpus/run-oracle.py --force"
        );
        let a = analysed(&xml, "seabios");
        let (_, t) = topology(&xml);
        for fw in ["seabios", "ovmf-2022", "ovmf-2025"] {
            let path = cases.join(format!("{name}.{fw}.json"));
            let m: Value = serde_json::from_str(&read(&path)).expect("json");
            measured += 1;
            assert_eq!(m["status"], "ok", "{name} {fw}: the guest did not boot");
            let devs = m["devices"].as_object().expect("devices");
            for (addr, d) in devs {
                assert_eq!(d["rejected"], false, "{name} {fw}: {addr} dropped");
            }
            // Every PCI endpoint is there, and every device that keeps a legacy
            // interface has its IO BAR.
            for (i, d) in t.devices.iter().enumerate() {
                let Some(addr) = d.pci_addr() else { continue };
                if d.pci.is_some() {
                    continue;
                }
                let key = addr.bdf();
                let Some(md) = devs.get(&key) else {
                    panic!(
                        "{name} {fw}: {} at {key} was not found",
                        d.describe(&t.machine)
                    );
                };
                if a.virtio_of(i).is_some_and(|v| v.mode.has_legacy()) {
                    let bars = md["io_bars"].as_array().expect("bars");
                    assert!(
                        !bars.is_empty()
                            && bars
                                .iter()
                                .all(|b| b["assigned"] == true && b["reachable"] == true),
                        "{name} {fw}: {key} lost its legacy IO BAR: {md}"
                    );
                }
            }
        }
    }
    assert!(measured >= 21, "{measured} measurements");
}

/// virt-xml's documented `--convert-to-q35` rule, written again from its
/// description: machine `q35`, every PCI and IDE controller deleted, every PCI
/// address cleared, ich6 → ich9, e1000 → e1000e, IDE disks → SATA with a new target
/// and no address, then `pcie-root` and 14 root ports appended. It never looks at
/// the guest OS.
fn virt_xml_rule(src: &str) -> String {
    let mut doc = Document::parse(src).expect("xml");
    let root = doc.root();
    let os = doc.child(root, "os").expect("os");
    let ty = doc.child(os, "type").expect("type");
    doc.set_attr(ty, "machine", "q35");
    let devices = doc.child(root, "devices").expect("devices");
    let kids: Vec<_> = doc.child_elements(devices).collect();
    let mut used: Vec<String> = Vec::new();
    for &k in &kids {
        if doc.name(k) == "disk"
            && let Some(t) = doc.child(k, "target")
            && let Some(dev) = doc.attr(t, "dev")
        {
            used.push(dev);
        }
    }
    for k in kids {
        let name = doc.name(k).to_string();
        let ty = doc.attr(k, "type");
        if name == "controller" && matches!(ty.as_deref(), Some("pci") | Some("ide")) {
            doc.remove(k);
            continue;
        }
        if name == "sound" && doc.attr(k, "model").as_deref() == Some("ich6") {
            doc.set_attr(k, "model", "ich9");
        }
        if name == "interface"
            && let Some(m) = doc.child(k, "model")
            && doc.attr(m, "type").as_deref() == Some("e1000")
        {
            doc.set_attr(m, "type", "e1000e");
        }
        if name == "disk"
            && let Some(t) = doc.child(k, "target")
            && doc.attr(t, "bus").as_deref() == Some("ide")
        {
            let dev = (b'a'..=b'z')
                .map(|c| format!("sd{}", c as char))
                .find(|n| !used.contains(n))
                .expect("a free name");
            used.push(dev.clone());
            doc.set_attr(t, "bus", "sata");
            doc.set_attr(t, "dev", &dev);
            if let Some(a) = doc.child(k, "address") {
                doc.remove(a);
            }
        }
        if let Some(a) = doc.child(k, "address")
            && doc.attr(a, "type").as_deref() == Some("pci")
        {
            doc.remove(a);
        }
    }
    let r = doc.new_element("controller", &[("type", "pci"), ("model", "pcie-root")]);
    doc.append_child(devices, r);
    for _ in 0..14 {
        let p = doc.new_element(
            "controller",
            &[("type", "pci"), ("model", "pcie-root-port")],
        );
        doc.append_child(devices, p);
    }
    doc.write()
}

/// What a converted guest looks like once libvirt defined it.
#[derive(Debug, PartialEq)]
struct Outcome {
    accepted: bool,
    /// Virtio devices the guest OS cannot drive (VP0401) or that need legacy and sit
    /// in a PCIe port (VP0402).
    undriven: usize,
    free_ports: usize,
    bridges: usize,
    io_windows_seabios: usize,
}

fn outcome(xml: &str) -> Outcome {
    let a = analysed(xml, "seabios");
    let t = &a.defined;
    let undriven = a
        .findings
        .iter()
        .filter(|f| matches!(f.diag.code.as_str(), "VP0401" | "VP0402"))
        .count();
    let free_ports = t
        .devices
        .iter()
        .filter(|d| {
            d.pci
                .as_ref()
                .is_some_and(|p| p.model == PciModel::PcieRootPort)
                && !t
                    .devices
                    .iter()
                    .any(|x| x.pci_addr().is_some_and(|ad| Some(ad.bus) == d.index))
        })
        .count();
    Outcome {
        accepted: a.refused.is_none(),
        undriven,
        free_ports,
        bridges: bridges(t),
        io_windows_seabios: a.io.windows.iter().filter(|w| w.size > 0).count(),
    }
}

#[test]
fn side_by_side_with_virt_xml() {
    let guests = [
        ("tests/guests/convert-centos6-i440fx.xml", false),
        ("tests/guests/convert-win10-i440fx.xml", false),
        ("tests/guests/convert-f39-i440fx.xml", false),
        ("tests/guests/convert-unknown-os-i440fx.xml", false),
        ("assets/examples/debian8-i440fx.xml", true),
    ];
    let mut table = String::from(
        "guest | rule | accepted | virtio the OS cannot drive | free root ports | pcie-to-pci-bridges | IO windows (SeaBIOS)\n",
    );
    for (path, force) in guests {
        let src = read(&support::root().join(path));
        let theirs = outcome(&virt_xml_rule(&src));
        let (ours_xml, _) = convert_text(&src, To::Q35, force).expect("converts");
        let ours = outcome(&ours_xml);
        for (rule, o) in [("virt-xml", &theirs), ("virt-pci", &ours)] {
            table.push_str(&format!(
                "{} | {rule} | {} | {} | {} | {} | {}\n",
                Path::new(path)
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy(),
                o.accepted,
                o.undriven,
                o.free_ports,
                o.bridges,
                o.io_windows_seabios
            ));
        }
        assert!(ours.accepted, "{path}");
        assert_eq!(
            ours.undriven, 0,
            "{path}: ours leaves undriven virtio devices"
        );
        let legacy_only = path.contains("centos6") || path.contains("debian8");
        if legacy_only {
            assert!(
                theirs.undriven > 0,
                "{path}: virt-xml's rule was expected to strand the legacy guest's virtio devices: {theirs:?}"
            );
        }
    }
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr().lock(),
        "convert side by side with virt-xml:\n{table}"
    );
}

mod designer {
    //! The designer's convert flow, driven by keys: preview, apply as one step, undo;
    //! and `m` onto virtio-mmio on an ARM guest.

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use virt_pci::core::Address;
    use virt_pci::tui::{App, Options, Session, keys, run_app};

    use super::*;

    fn app(path: &str) -> (App, String) {
        let text = read(&support::root().join(path));
        let session = Session::from_text(&text, None, path.to_string()).expect("loads");
        let opts = Options {
            mono: true,
            ..Options::default()
        };
        (App::new(session, &opts), text)
    }

    fn drive(app: &mut App, script: &str) -> String {
        let mut term = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
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

    #[test]
    fn preview_then_apply_as_one_step_then_undo() {
        let path = "tests/guests/convert-centos6-i440fx.xml";
        let (mut app, text) = app(path);
        let before = app.topology().clone();
        let s = drive(&mut app, "C");
        assert!(s.contains("convert to") && s.contains("q35"), "{s}");
        let s = drive(&mut app, "<Enter>");
        assert!(s.contains("convert to q35: 14 change(s)"), "{s}");
        assert!(
            s.contains("machine type: pc-i440fx-7.2 → pc-q35-7.2"),
            "{s}"
        );
        // Nothing is applied before the preview is accepted.
        assert_eq!(app.topology(), &before);
        // The preview scrolls down to the tree after and the diff.
        let s = drive(&mut app, "<PageDown><PageDown><PageDown><PageDown>");
        assert!(s.contains("(empty, hotplug slot)"), "the tree after: {s}");
        drive(&mut app, "<Enter>");
        assert_eq!(app.topology().machine.machine_type, "pc-q35-7.2");
        let status = app.status.clone().map(|s| s.text).unwrap_or_default();
        assert!(status.starts_with("convert to q35"), "{status}");
        // The designer writes exactly what the command line writes.
        let (cli_xml, _) = convert_text(&text, To::Q35, false).expect("converts");
        assert_eq!(app.session.text(), cli_xml);
        // One undo step takes it all back.
        drive(&mut app, "u");
        assert_eq!(app.topology(), &before);
        assert!(!app.session.dirty());
        assert_eq!(app.session.text(), text);
    }

    #[test]
    fn arm_guest_to_pci_then_one_device_back_to_mmio_with_m() {
        let (mut app, _) = app("assets/examples/aarch64-virt-mmio.xml");
        let mmio = |app: &App| {
            app.topology()
                .devices
                .iter()
                .filter(|d| d.address == Some(Address::VirtioMmio))
                .count()
        };
        assert!(mmio(&app) > 0);
        // The picker offers pci first, then mmio.
        drive(&mut app, "C<Enter><Enter>");
        assert_eq!(mmio(&app), 0, "every virtio device on PCI");
        let s = drive(&mut app, "/vda<Enter>m");
        assert!(s.contains("virtio-mmio"), "{s}");
        drive(&mut app, "<Enter>");
        assert_eq!(mmio(&app), 1, "the disk is on virtio-mmio again");
        let disk = app
            .topology()
            .devices
            .iter()
            .find(|d| d.name.as_deref() == Some("vda"))
            .expect("vda");
        assert_eq!(disk.address, Some(Address::VirtioMmio));
        // x then p on the virtio-mmio section moves another device there.
        drive(&mut app, "/rng<Enter>x/virtio-mmio<Enter>p");
        assert_eq!(mmio(&app), 2, "{:?}", app.status);
        drive(&mut app, "uuu");
        assert!(!app.session.dirty());
    }
}

#[test]
fn the_operations_give_the_result() {
    // The designer applies a conversion's operations; the command line writes its
    // result (spare root ports placed in one assignment): on the corpus and on
    // generated guests of every shape and size, they agree.
    use crate::generate::{Shape, guest};
    let mut texts: Vec<(String, String)> = support::own_guests()
        .into_iter()
        .map(|p| (p.display().to_string(), read(&p)))
        .collect();
    for shape in [Shape::I440fxNics, Shape::Q35Bridges, Shape::Q35Switches] {
        for n in [1, 5, 10, 17, 25, 40, 60] {
            texts.push((format!("{shape:?} {n}"), guest(shape, n)));
        }
    }
    let mut checked = 0;
    for (name, src) in texts {
        let doc = Document::parse(&src).expect("xml");
        let Ok(t) = read_topology(&doc) else { continue };
        let ctx = context(&doc, &Choices::default()).expect("context");
        for to in [To::Q35, To::Pc, To::Pci] {
            for spare_ports in [None, Some(3), Some(20)] {
                let opts = Options {
                    to,
                    spare_ports,
                    force: true,
                    secure_boot: meta::secure_boot(&doc),
                };
                let Ok(c) = convert(&t, &ctx, &opts) else {
                    continue;
                };
                checked += 1;
                assert_eq!(
                    virt_pci::core::edit::apply_as_one(&t, &c.ops()).as_ref(),
                    Ok(&c.result),
                    "{name} --to {} {spare_ports:?}",
                    to.name()
                );
            }
        }
    }
    assert!(checked > 50, "{checked}");
}

#[test]
fn every_libvirt_test_input_converts_or_is_refused_with_a_code() {
    let Some(shared) = support::shared_for("convert over the libvirt test inputs") else {
        return;
    };
    let mut converted = 0;
    let mut refused = 0;
    for version in ["libvirt-11.3.0", "libvirt-9.0.0"] {
        for path in support::files(&shared.join("conformance").join(version), ".in.xml") {
            let Ok(src) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(doc) = Document::parse(&src) else {
                continue;
            };
            let Ok(t) = read_topology(&doc) else {
                continue;
            };
            let Ok(ctx) = context(&doc, &Choices::default()) else {
                continue;
            };
            for to in [To::Q35, To::Pc, To::Pci, To::Mmio] {
                let opts = Options {
                    to,
                    spare_ports: None,
                    force: true,
                    secure_boot: meta::secure_boot(&doc),
                };
                match convert(&t, &ctx, &opts) {
                    Ok(c) if c.is_empty() => {}
                    Ok(c) => {
                        converted += 1;
                        // What the designer applies (the operations, one by one) is
                        // what the command line writes (the result).
                        assert_eq!(
                            virt_pci::core::edit::apply_as_one(&t, &c.ops()).as_ref(),
                            Ok(&c.result),
                            "{} --to {}: the operations do not give the result",
                            path.display(),
                            to.name()
                        );
                        let plan = assign::assign(&c.result).unwrap_or_else(|d| {
                            panic!("{} --to {}: refused after: {d}", path.display(), to.name())
                        });
                        assert!(
                            plan.is_empty(),
                            "{} --to {}: not a fixed point",
                            path.display(),
                            to.name()
                        );
                        let again = convert(&c.result, &ctx, &opts).expect("converts again");
                        assert!(again.is_empty(), "{} --to {}", path.display(), to.name());
                    }
                    Err(d) => {
                        refused += 1;
                        assert!(
                            d.code.as_str().starts_with("VP08") || d.code == Code::GuestOsNoQ35,
                            "{}: {d}",
                            path.display()
                        );
                    }
                }
            }
        }
    }
    assert!(converted > 200, "{converted} converted, {refused} refused");
}

/// A conversion says what the guest will see renamed: Debian 8's NIC and disk move
/// from i440fx slots to q35 ports and bridges, so its interface name and by-path name
/// change; the JSON lists the same warnings as the text.
#[test]
fn convert_warns_of_the_names_the_guest_loses() {
    let example = crate::support::root().join("assets/examples/debian8-i440fx.xml");
    let out = Command::new(env!("CARGO_BIN_EXE_virt-pci"))
        .args(["convert", "--to", "q35", "--force", "--json"])
        .arg(&example)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = v["renames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"VP0702"), "{v}");
    assert!(codes.contains(&"VP0703"), "{v}");
    let text = Command::new(env!("CARGO_BIN_EXE_virt-pci"))
        .args(["convert", "--to", "q35", "--force"])
        .arg(&example)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert_eq!(
        stderr.matches("warning [VP070").count(),
        codes.len(),
        "{stderr}"
    );
    // Converting back and forth is not a rename of nothing: to q35 of a q35 guest
    // renames nothing.
    let again = Command::new(env!("CARGO_BIN_EXE_virt-pci"))
        .args(["convert", "--to", "q35", "--json"])
        .arg(crate::support::root().join("assets/examples/centos6-q35-transitional.xml"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(v["renames"].as_array().map(Vec::len), Some(0), "{v}");
}
