//! Property tests of the assigner on random guests: it never panics, and whatever it
//! accepts comes out fully addressed, without collisions, on buses that exist and
//! accept the device, and as a fixed point of a second run.

use proptest::prelude::*;
use std::collections::HashSet;

use virt_pci::core::assign::assign;
use virt_pci::core::device::SlotClass;
use virt_pci::core::{Address, Flags, MachineClass};
use virt_pci::libvirt::{Document, read_topology, write_plan};

const MACHINES: &[(&str, &str)] = &[
    ("x86_64", "pc-q35-7.2"),
    ("x86_64", "pc-i440fx-7.2"),
    ("aarch64", "virt"),
];

const DEVICES: &[&str] = &[
    "<disk type='file' device='disk'><source file='/d{i}.img'/><target dev='vd{n}' bus='virtio'/>{addr}</disk>",
    "<disk type='file' device='disk' model='virtio-transitional'><source file='/t{i}.img'/><target dev='sd{n}' bus='virtio'/>{addr}</disk>",
    "<interface type='network'><source network='default'/><model type='e1000e'/>{addr}</interface>",
    "<interface type='network'><source network='default'/><model type='e1000'/>{addr}</interface>",
    "<interface type='network'><source network='default'/><model type='virtio'/>{addr}</interface>",
    "<controller type='pci' model='pcie-root-port'>{addr}</controller>",
    "<controller type='pci' model='pci-bridge'>{addr}</controller>",
    "<controller type='pci' model='pcie-to-pci-bridge'>{addr}</controller>",
    "<controller type='usb' model='qemu-xhci'>{addr}</controller>",
    "<sound model='ich9'>{addr}</sound>",
    "<watchdog model='i6300esb'>{addr}</watchdog>",
    "<rng model='virtio'><backend model='random'>/dev/urandom</backend>{addr}</rng>",
];

/// A device kind (index into `DEVICES`) and maybe a hand-written (bus, slot, function).
type RandomDevice = (usize, Option<(u8, u8, u8)>);

fn guest(machine: usize, devices: &[RandomDevice]) -> String {
    let (arch, mt) = MACHINES[machine];
    let mut s = format!(
        "<domain type='kvm'>\n  <name>p</name>\n  <os>\n    <type arch='{arch}' machine='{mt}'>hvm</type>\n  </os>\n  <devices>\n"
    );
    // The root first, as users write it: index-less controllers then count from 1.
    let root = if mt.contains("i440fx") {
        "pci-root"
    } else {
        "pcie-root"
    };
    s.push_str(&format!(
        "    <controller type='pci' index='0' model='{root}'/>\n"
    ));
    for (i, (kind, addr)) in devices.iter().enumerate() {
        let addr = match addr {
            Some((bus, slot, function)) => format!(
                "<address type='pci' domain='0x0000' bus='0x{bus:02x}' slot='0x{slot:02x}' function='0x{function:x}'/>"
            ),
            None => String::new(),
        };
        s.push_str("    ");
        s.push_str(
            &DEVICES[*kind]
                .replace("{i}", &i.to_string())
                // Disk names are a prefix and letters, as libvirt parses them.
                .replace("{n}", &letters(i))
                .replace("{addr}", &addr),
        );
        s.push('\n');
    }
    s.push_str("  </devices>\n</domain>\n");
    s
}

/// `a`, `b`, ... `z`, `aa`, ...: the letters of the `i`-th disk name.
fn letters(mut i: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'a' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

fn device_strategy() -> impl Strategy<Value = RandomDevice> {
    // One device in 25 carries a hand-written (often illegal) address.
    // Controllers (kinds 5-7) are rarer than endpoints, as in real guests; random
    // controller mixes are mostly unplaceable, which libvirt refuses too.
    let kind = prop_oneof![30 => prop_oneof![0..5usize, 8..DEVICES.len()], 1 => 5..8usize];
    (kind, 0u8..25, (0u8..4, 0u8..32, 0u8..8))
        .prop_map(|(kind, pick, addr)| (kind, if pick == 0 { Some(addr) } else { None }))
}

/// Checks one guest; `Ok(true)` when the assigner accepted it.
fn check(machine: usize, devices: &[RandomDevice]) -> Result<bool, TestCaseError> {
    let xml = guest(machine, devices);
    let mut doc = Document::parse(&xml).unwrap();
    let topo = read_topology(&doc).unwrap();
    let plan = match assign(&topo) {
        Ok(p) => p,
        Err(e) => {
            if std::env::var("PROPS_DEBUG").is_ok() {
                eprintln!("REFUSED {} {e}", MACHINES[machine].1);
            }
            return Ok(false);
        }
    };
    write_plan(&mut doc, &topo, &plan);
    let out = doc.write();

    let doc2 = Document::parse(&out).unwrap();
    let topo2 = read_topology(&doc2).unwrap();
    let again = assign(&topo2);
    prop_assert!(
        again.as_ref().is_ok_and(|p| p.is_empty()),
        "not a fixed point: {again:?}\n{out}"
    );

    let mut seen = HashSet::new();
    for d in &topo2.devices {
        let needs_pci = d.pci.as_ref().is_some_and(|p| !p.model.is_root())
            || d.facts(&topo2.machine).slot != SlotClass::None;
        match &d.address {
            Some(Address::Pci { addr, .. }) => {
                prop_assert!(seen.insert(*addr), "{addr} used twice\n{out}");
                let bus = topo2.bus_model(addr.bus);
                prop_assert!(bus.is_some(), "{addr}: no controller {}\n{out}", addr.bus);
                let info = bus.unwrap().info();
                prop_assert!(
                    addr.slot >= info.slots.0 && addr.slot <= info.slots.1,
                    "{addr} outside {}",
                    info.name
                );
                if let Some(p) = &d.pci {
                    let ok = info.accepts.any(p.model.info().connect.and(Flags::TYPES))
                        || (p.model.name() == "pci-bridge" && info.accepts.any(Flags::ENDPOINTS));
                    prop_assert!(ok, "{} on {}\n{out}", p.model.name(), info.name);
                }
            }
            Some(Address::VirtioMmio) => prop_assert!(topo2.machine.class == MachineClass::Virt),
            _ => prop_assert!(
                !needs_pci,
                "{} left without an address\n{out}",
                d.describe(&topo2.machine)
            ),
        }
    }
    Ok(true)
}

#[test]
fn accepted_guests_come_out_consistent() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(400));
    let accepted = std::cell::Cell::new(0);
    let strategy = (
        0..MACHINES.len(),
        proptest::collection::vec(device_strategy(), 0..24),
    );
    runner
        .run(&strategy, |(machine, devices)| {
            if check(machine, &devices)? {
                accepted.set(accepted.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    // The property means little if almost every guest is refused.
    assert!(
        accepted.get() >= 150,
        "only {} of 400 random guests were accepted",
        accepted.get()
    );
}

// ------------------------------------------------------------------ edit sequences

use virt_pci::core::edit::{
    self, History, Op, Placement, TEMPLATES, controller_targets, device_targets, move_targets,
};
use virt_pci::core::pci::PciModel;
use virt_pci::core::topology::Topology;
use virt_pci::libvirt::write::write_topology;

/// The controllers the designer offers to add: the core's own menu list.
const ADDABLE: &[PciModel] = edit::CONTROLLER_MODELS;

/// One random step: which action, and numbers to pick its arguments with.
type Step = (u8, u16, u16);

fn pick<T: Clone>(v: &[T], n: u16) -> Option<T> {
    (!v.is_empty()).then(|| v[n as usize % v.len()].clone())
}

fn placement(targets: &[virt_pci::core::PciAddr], n: u16) -> Placement {
    match n % 4 {
        0 => Placement::Auto,
        1 => Placement::Unassigned,
        _ => pick(targets, n / 4).map_or(Placement::Auto, Placement::At),
    }
}

/// Turns a random step into an operation on `t` (or undo / redo).
fn op_for(t: &Topology, (what, a, b): Step) -> Option<Result<Op, bool>> {
    let n = t.devices.len();
    let dev = |k: u16| (n > 0).then(|| k as usize % n);
    Some(Ok(match what % 11 {
        0 | 1 => {
            let template = a as usize % TEMPLATES.len();
            let model = pick(TEMPLATES[template].models, b)?.to_string();
            let targets = device_targets(t, template, &model);
            Op::AddDevice {
                template,
                at: placement(&targets, b / 7),
                model,
            }
        }
        2 => {
            let model = pick(ADDABLE, a)?;
            let targets = controller_targets(t, model);
            Op::AddController {
                model,
                at: placement(&targets, b),
                downstream: (b % 4) as u8 + 1,
            }
        }
        3 | 4 => {
            let i = dev(a)?;
            let to = pick(&move_targets(t, i), b)?;
            Op::Move {
                device: t.devices[i].origin,
                to,
            }
        }
        5 => Op::Delete {
            device: t.devices[dev(a)?].origin,
        },
        // Mostly the models the designer offers; sometimes any virtio form, which the
        // core must refuse where it does not fit.
        6 => {
            let i = dev(a)?;
            let offered = edit::model_choices(t, i);
            let model = if b % 5 == 0 || offered.is_empty() {
                pick(
                    &["virtio", "virtio-transitional", "virtio-non-transitional"],
                    b / 5,
                )
                .map(str::to_string)
            } else {
                pick(&offered, b / 5)
            };
            Op::SetModel {
                device: t.devices[i].origin,
                model,
            }
        }
        7 => Op::SetHotplug {
            device: t.devices[dev(a)?].origin,
            on: b % 2 == 0,
        },
        8 => Op::ClearAddress {
            device: t.devices[dev(a)?].origin,
        },
        9 => Op::AutoAssign,
        _ => return Some(Err(b % 2 == 0)), // undo (true) or redo
    }))
}

/// What must survive a trip through the XML: per device, its kind, model, PCI
/// address, controller index and PCI controller settings.
fn shape(t: &Topology) -> Vec<String> {
    t.devices
        .iter()
        .map(|d| {
            format!(
                "{} {:?} {:?} {:?} {:?}",
                d.kind.tag(),
                d.model,
                d.pci_addr(),
                d.index,
                d.pci
                    .as_ref()
                    .map(|p| (p.model, p.hotplug, p.chassis, p.port))
            )
        })
        .collect()
}

/// Runs `steps` on `text` and checks after each: the edited XML reads back as the
/// edited topology, and an edit libvirt accepted before is accepted after; at the
/// end, undoing everything gives back the original bytes.
fn run_edits(text: &str, steps: &[Step]) -> Result<usize, TestCaseError> {
    let doc = Document::parse(text).expect("example parses");
    let base = read_topology(&doc).expect("example reads");
    let mut h = History::new(base.clone());
    let mut applied = 0;
    for &step in steps {
        let before = h.current().clone();
        match op_for(&before, step) {
            None => continue,
            Some(Err(true)) => {
                h.undo();
            }
            Some(Err(false)) => {
                h.redo();
            }
            Some(Ok(op)) => {
                if h.record(&op).is_err() {
                    prop_assert_eq!(h.current(), &before, "a refused edit changed the topology");
                    continue;
                }
                applied += 1;
                // Edits only offer legal places: libvirt keeps accepting the guest.
                if assign(&before).is_ok() {
                    prop_assert!(
                        assign(h.current()).is_ok(),
                        "after {:?}: {:?}",
                        op,
                        assign(h.current()).err()
                    );
                }
            }
        }
        let mut edited = doc.clone();
        write_topology(&mut edited, &base, h.current());
        let written = edited.write();
        let reread = Document::parse(&written)
            .map_err(|e| TestCaseError::fail(format!("edited XML does not parse: {e}")))?;
        let back = read_topology(&reread)
            .map_err(|e| TestCaseError::fail(format!("edited XML is not a domain: {e}")))?;
        prop_assert_eq!(shape(&back), shape(h.current()), "XML:\n{}", written);
        prop_assert_eq!(&back.machine, &h.current().machine);
    }
    while h.undo().is_some() {}
    let mut edited = doc.clone();
    write_topology(&mut edited, &base, h.current());
    prop_assert_eq!(
        edited.write(),
        text,
        "undoing everything must give back the file"
    );
    Ok(applied)
}

/// The bundled examples' texts: the guests edit sequences start from.
fn example_texts() -> Vec<String> {
    crate::support::files(&crate::support::root().join("assets/examples"), ".xml")
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("example"))
        .collect()
}

/// How many sequences to run: `default`, or VIRT_PCI_EDIT_CASES=N for a longer hunt
/// than the suite's.
fn edit_cases(default: u32) -> u32 {
    std::env::var("VIRT_PCI_EDIT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn edit_sequences_keep_xml_and_model_in_step_and_undo_to_the_original() {
    let texts = example_texts();
    let cases = edit_cases(150);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(cases));
    let applied = std::cell::Cell::new(0);
    let strategy = (
        0..texts.len(),
        proptest::collection::vec((any::<u8>(), any::<u16>(), any::<u16>()), 1..25),
    );
    runner
        .run(&strategy, |(k, steps)| {
            applied.set(applied.get() + run_edits(&texts[k], &steps)?);
            Ok(())
        })
        .unwrap();
    // Most random steps must turn into applied edits, or the property says little.
    assert!(applied.get() >= 800, "only {} edits applied", applied.get());
}

// ------------------------------------------------------- with edits of the raw XML

use virt_pci::tui::Session;

/// A change of one element's XML text that keeps it one element: a comment inside it,
/// its address line dropped (libvirt then picks one), or the text unchanged.
fn xml_change(element: &str, k: u16) -> String {
    let mut lines: Vec<&str> = element.lines().collect();
    match k % 3 {
        0 if lines.len() > 1 => {
            lines.insert(1, "  <!-- a note the user wrote -->");
            lines.join("\n")
        }
        1 => {
            lines.retain(|l| !l.trim_start().starts_with("<address "));
            lines.join("\n")
        }
        _ => element.to_string(),
    }
}

/// Like [`run_edits`], through the designer's session, with edits of an element's raw
/// XML mixed in: after every step the saved text reads back as the session's topology;
/// a guest libvirt accepted stays accepted; undoing everything gives back the file.
fn run_session_edits(text: &str, steps: &[Step]) -> Result<(usize, usize), TestCaseError> {
    let mut s = Session::from_text(text, None, "t".into()).expect("example");
    let (mut ops, mut xml) = (0, 0);
    for &(what, a, b) in steps {
        let before = s.topology().clone();
        let mut edited_now = true;
        if what % 13 >= 11 {
            let n = before.devices.len();
            if n == 0 {
                continue;
            }
            let origin = before.devices[a as usize % n].origin;
            let Some(element) = s.element_text(origin) else {
                continue;
            };
            // The designer shows the element dedented; the session re-indents it.
            let element = element.trim_start().to_string();
            match s.check_element_edit(origin, &xml_change(&element, b)) {
                Ok(edit) => {
                    s.apply_element_edit(edit);
                    xml += 1;
                }
                Err(_) => {
                    prop_assert_eq!(
                        s.topology(),
                        &before,
                        "a refused XML edit changed the guest"
                    );
                    continue;
                }
            }
        } else {
            match op_for(&before, (what, a, b)) {
                None => continue,
                Some(Err(true)) => {
                    s.history.undo();
                    edited_now = false;
                }
                Some(Err(false)) => {
                    s.history.redo();
                    edited_now = false;
                }
                Some(Ok(op)) => {
                    if s.history.record(&op).is_err() {
                        continue;
                    }
                    ops += 1;
                }
            }
        }
        // An edit made now (not an undo or redo, which may go back to a state the file
        // started in) keeps a guest libvirt accepted accepted.
        if edited_now && assign(&before).is_ok() {
            prop_assert!(
                assign(s.topology()).is_ok(),
                "libvirt would now refuse the guest"
            );
        }
        let written = s.text();
        let reread = Document::parse(&written)
            .map_err(|e| TestCaseError::fail(format!("edited XML does not parse: {e}")))?;
        let back = read_topology(&reread)
            .map_err(|e| TestCaseError::fail(format!("edited XML is not a domain: {e}")))?;
        prop_assert_eq!(shape(&back), shape(s.topology()), "XML:\n{}", written);
    }
    while s.history.undo().is_some() {}
    prop_assert_eq!(s.text(), text, "undoing everything must give back the file");
    prop_assert!(!s.dirty());
    Ok((ops, xml))
}

#[test]
fn xml_edits_mixed_with_topology_edits_stay_in_step_and_undo_to_the_original() {
    let texts = example_texts();
    let cases = edit_cases(100);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(cases));
    let counts = std::cell::Cell::new((0, 0));
    let strategy = (
        0..texts.len(),
        proptest::collection::vec((any::<u8>(), any::<u16>(), any::<u16>()), 1..20),
    );
    runner
        .run(&strategy, |(k, steps)| {
            let (o, x) = run_session_edits(&texts[k], &steps)?;
            let (a, b) = counts.get();
            counts.set((a + o, b + x));
            Ok(())
        })
        .unwrap();
    let (ops, xml) = counts.get();
    assert!(
        ops >= 300 && xml >= 100,
        "only {ops} edits and {xml} XML edits applied"
    );
}

// ------------------------------------------------------------- check(assign(x))

/// Elements for the check-after-assign property: USB companion groups written in every
/// order and with or without indexes (what libvirt numbers itself), next to devices
/// that make libvirt add controllers.
const CHECKED: &[&str] = &[
    "<controller type='usb' model='ich9-ehci1'/>",
    "<controller type='usb' model='ich9-uhci1'><master startport='0'/></controller>",
    "<controller type='usb' model='ich9-uhci2'><master startport='2'/></controller>",
    "<controller type='usb' model='ich9-uhci3'><master startport='4'/></controller>",
    "<controller type='usb' index='1' model='ich9-ehci1'/>",
    "<controller type='usb' index='1' model='ich9-uhci1'><master startport='0'/></controller>",
    "<controller type='usb' model='qemu-xhci'/>",
    "<controller type='usb' model='piix3-uhci'/>",
    "<controller type='scsi' model='virtio-scsi'/>",
    "<controller type='virtio-serial'/>",
    "<disk type='file' device='disk'><source file='/s.img'/><target dev='sd{n}' bus='scsi'/></disk>",
    "<disk type='file' device='disk'><source file='/v.img'/><target dev='vd{n}' bus='virtio'/></disk>",
    "<interface type='network'><source network='default'/><model type='e1000'/></interface>",
    "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.{i}'/></channel>",
    "<video><model type='qxl'/></video>",
    "<controller type='pci' model='pci-bridge'/>",
    "<controller type='pci' model='pcie-root-port'/>",
];

/// Whatever `assign` accepts, `check` finds no error in what it wrote: the output is
/// a guest libvirt defines (libvirt keeps what it wrote loadable).
#[test]
fn check_finds_no_error_in_what_assign_wrote() {
    use virt_pci::core::assign::check_all;
    use virt_pci::core::diag::Severity;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(300));
    let accepted = std::cell::Cell::new(0);
    let strategy = (
        0..MACHINES.len(),
        proptest::collection::vec(0..CHECKED.len(), 0..12),
    );
    runner
        .run(&strategy, |(machine, kinds)| {
            let (arch, mt) = MACHINES[machine];
            let mut xml = format!(
                "<domain type='kvm'><name>c</name><os><type arch='{arch}' machine='{mt}'>hvm</type></os><devices>\n"
            );
            for (i, k) in kinds.iter().enumerate() {
                xml.push_str(
                    &CHECKED[*k]
                        .replace("{i}", &i.to_string())
                        .replace("{n}", &letters(i)),
                );
                xml.push('\n');
            }
            xml.push_str("</devices></domain>\n");
            let mut doc = Document::parse(&xml).unwrap();
            let topo = read_topology(&doc).unwrap();
            let Ok(plan) = assign(&topo) else {
                return Ok(());
            };
            accepted.set(accepted.get() + 1);
            write_plan(&mut doc, &topo, &plan);
            let out = doc.write();
            let topo2 = read_topology(&Document::parse(&out).unwrap()).unwrap();
            let errors: Vec<String> = check_all(&topo2)
                .into_iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| d.to_string())
                .collect();
            prop_assert!(errors.is_empty(), "{errors:?}\n{xml}\n->\n{out}");
            Ok(())
        })
        .unwrap();
    assert!(
        accepted.get() >= 100,
        "only {} of 300 guests were accepted",
        accepted.get()
    );
}
