//! The places the designer's pickers offer, as libvirt answers them. In each bundled
//! x86 example, one device is moved to the first place of each kind the move picker
//! offers (a whole slot, a function beside a device, beside the chipset, function 0 of
//! a slot others use), the guest is written as the designer saves it, and libvirt must
//! define it with the device at that address and `multifunction='on'` on function 0 of
//! a shared slot (QEMU refuses the slot without it). The oracles (`VIRT_PCI_ORACLE`,
//! `VIRT_PCI_ORACLE11`: the paths of their scripts) answer when set; otherwise the
//! test prints SKIP. Offline, libvirt's rules as the oracles showed them hold for the
//! core's assignment (the last tests).

use std::path::PathBuf;
use std::process::Command;

use virt_pci::core::address::PciAddr;
use virt_pci::core::assign::assign;
use virt_pci::core::edit::{self, Op, SlotMate};
use virt_pci::core::topology::Topology;
use virt_pci::libvirt::{Document, read_topology, write_plan, write_topology};

use crate::support;

/// The kinds of place a picker offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Whole,
    BesideDevice,
    BesideChipset,
    Function0,
}

/// Each bundled x86 example with one device moved to the first place of each kind:
/// (what, the XML as saved, the place, whether function 0 of its slot is an element
/// that must carry `multifunction='on'`).
fn moved_guests() -> Vec<(String, String, PciAddr, bool)> {
    let mut out = Vec::new();
    for path in support::files(&support::root().join("assets/examples"), ".xml") {
        let text = std::fs::read_to_string(&path).expect("example");
        if !text.contains("arch='x86_64'") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let doc = Document::parse(&text).expect("xml");
        let t = read_topology(&doc).expect("domain");
        // The first endpoint with an address that has places of every kind it can.
        let Some((i, targets)) = t
            .devices
            .iter()
            .enumerate()
            .filter(|(_, d)| d.pci.is_none() && d.pci_addr().is_some())
            .map(|(i, _)| (i, edit::move_targets(&t, i)))
            .max_by_key(|(_, targets)| targets.len())
        else {
            continue;
        };
        let origin = t.devices[i].origin;
        let shared = edit::sharings(&t, &targets, Some(origin));
        let mut seen = Vec::new();
        for (a, s) in targets.iter().zip(&shared) {
            let kind = match s.as_ref().map(|s| &s.function0) {
                None => Kind::Whole,
                Some(Some(SlotMate::Device(_))) => Kind::BesideDevice,
                Some(Some(SlotMate::Chipset(_))) => Kind::BesideChipset,
                Some(None) => Kind::Function0,
            };
            if seen.contains(&kind) {
                continue;
            }
            seen.push(kind);
            let moved = edit::apply(
                &t,
                &Op::Move {
                    device: origin,
                    to: *a,
                },
            )
            .unwrap_or_else(|e| panic!("{name}: move to {}: {e}", a.bdf()));
            let mut doc = doc.clone();
            write_topology(&mut doc, &t, &moved);
            out.push((
                format!(
                    "{name}: {} to {} ({kind:?})",
                    t.devices[i].describe(&t.machine),
                    a.bdf()
                ),
                doc.write(),
                *a,
                kind == Kind::BesideDevice || (kind == Kind::Function0),
            ));
        }
    }
    out
}

/// The `<address>` text libvirt writes for `a`.
fn address(a: &PciAddr) -> String {
    format!(
        "domain='0x0000' bus='0x{:02x}' slot='0x{:02x}' function='0x{:x}'",
        a.bus, a.slot, a.function
    )
}

fn oracle_defines_every_place(var: &str, what: &str) {
    let Some(oracle) = std::env::var_os(var).map(PathBuf::from) else {
        support::skip(
            &format!("places vs {what}"),
            &format!("{var} is not set (the path of its oracle script)"),
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("virt-pci-places-{}-{var}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let guests = moved_guests();
    assert!(
        guests.len() >= 8,
        "{:?}",
        guests.iter().map(|g| &g.0).collect::<Vec<_>>()
    );
    let mut wrong = Vec::new();
    for (k, (name, xml, at, function0)) in guests.iter().enumerate() {
        let file = dir.join(format!("{k}.xml"));
        std::fs::write(&file, xml).expect("write");
        // An answer is libvirt's domain or libvirt's error; anything else (an empty
        // answer from a busy oracle) is asked again.
        let mut answer = Err(String::new());
        for attempt in 0..4u64 {
            std::thread::sleep(std::time::Duration::from_millis(300 * attempt));
            let out = Command::new("bash")
                .arg(&oracle)
                .arg(&file)
                .output()
                .expect("oracle runs");
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            if out.status.success() && stdout.contains("</domain>") {
                answer = Ok(stdout);
                break;
            }
            answer = Err(format!("exit {:?}: {stderr}", out.status.code()));
            if out.status.code() == Some(1) && stderr.contains("error") {
                break;
            }
        }
        let defined = match answer {
            Ok(d) => d,
            Err(e) => {
                wrong.push(format!("{name}: refused: {e}"));
                continue;
            }
        };
        if !defined.contains(&address(at)) {
            wrong.push(format!("{name}: not kept at {}", at.bdf()));
        }
        let zero = PciAddr::new(at.bus, at.slot, 0);
        if *function0 && !defined.contains(&format!("{} multifunction='on'", address(&zero))) {
            wrong.push(format!("{name}: {} has no multifunction='on'", zero.bdf()));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(wrong.is_empty(), "{what}: {wrong:#?}");
}

#[test]
fn libvirt_9_0_defines_every_kind_of_place_the_pickers_offer() {
    oracle_defines_every_place("VIRT_PCI_ORACLE", "libvirt 9.0");
}

#[test]
fn libvirt_11_3_defines_every_kind_of_place_the_pickers_offer() {
    oracle_defines_every_place("VIRT_PCI_ORACLE11", "libvirt 11.3");
}

/// The saved guests are what libvirt defines: the core's assignment keeps every one
/// as written (the edit wrote the multifunction bit libvirt would have written).
#[test]
fn every_moved_guest_is_a_fixed_point_of_assign() {
    let guests = moved_guests();
    let kinds = guests.iter().filter(|g| g.0.contains("(Beside")).count();
    assert!(
        kinds >= 4,
        "{:?}",
        guests.iter().map(|g| &g.0).collect::<Vec<_>>()
    );
    for (name, xml, _, _) in guests {
        let doc = Document::parse(&xml).expect("xml");
        let t = read_topology(&doc).expect("domain");
        let plan = assign(&t).unwrap_or_else(|d| panic!("{name}: refused: {}", d.message));
        let mut again = doc.clone();
        write_plan(&mut again, &t, &plan);
        assert_eq!(again.write(), xml, "{name}");
    }
}

/// libvirt's answers, as both oracles gave them: a function beside a function 0
/// written without the attribute gets `multifunction='on'`; an explicit `off` is
/// kept (QEMU then refuses to start the guest: "single function device can't be
/// populated in function 5.3", which is why an edit writes `on`); a function of a
/// slot whose function 0 is empty, and one beside the ICH9 LPC bridge, are accepted
/// where they are.
#[test]
fn libvirt_accepts_any_free_function_and_marks_function_0() {
    let domain = |devices: &str| {
        format!(
            "<domain type='kvm'><name>f</name><memory>131072</memory><os><type \
             arch='x86_64' machine='pc-q35-7.2'>hvm</type></os><devices>{devices}\
             <memballoon model='none'/></devices></domain>"
        )
    };
    let pci = |slot: u8, f: u8, mf: &str| {
        format!(
            "<address type='pci' domain='0x0000' bus='0x00' slot='0x{slot:02x}' \
             function='0x{f:x}'{mf}/>"
        )
    };
    let xhci =
        |a: String| format!("<controller type='usb' index='0' model='qemu-xhci'>{a}</controller>");
    let rng = |a: String| {
        format!("<rng model='virtio'><backend model='random'>/dev/urandom</backend>{a}</rng>")
    };
    let assigned = |xml: &str| {
        let mut doc = Document::parse(xml).expect("xml");
        let t: Topology = read_topology(&doc).expect("domain");
        let plan = assign(&t).expect("accepted");
        write_plan(&mut doc, &t, &plan);
        doc.write()
    };
    let out = assigned(&domain(&(xhci(pci(5, 0, "")) + &rng(pci(5, 3, "")))));
    assert!(
        out.contains(&format!(
            "{} multifunction='on'",
            address(&PciAddr::new(0, 5, 0))
        )),
        "{out}"
    );
    let out = assigned(&domain(
        &(xhci(pci(5, 0, " multifunction='off'")) + &rng(pci(5, 3, ""))),
    ));
    assert!(
        out.contains(&format!(
            "{} multifunction='off'",
            address(&PciAddr::new(0, 5, 0))
        )),
        "{out}"
    );
    for alone in [pci(5, 3, ""), pci(0x1f, 4, ""), pci(0x1f, 1, "")] {
        let out = assigned(&domain(&rng(alone.clone())));
        assert!(out.contains(&alone), "{out}");
    }
}
