//! `virt-pci guest` and `virt-pci which`: the guest's view of the PCI topology (its
//! bus numbers and addresses as `lspci` shows them, next to libvirt's), the NIC names
//! a Linux guest gives, as text and as JSON (serde derive, fields documented in
//! `docs/guest-view.md`).

use serde::Serialize;

use crate::core::guest::{GuestFunction, GuestView};
use crate::core::io_space::FirmwareKind;
use crate::core::topology::Topology;

/// The firmware's name for people.
pub fn firmware_name(k: FirmwareKind) -> &'static str {
    match k {
        FirmwareKind::SeaBios => "SeaBIOS",
        FirmwareKind::Ovmf => "OVMF",
    }
}

/// The guest addresses where the two firmwares disagree: (libvirt address, SeaBIOS's,
/// OVMF's).
pub fn differences(seabios: &GuestView, ovmf: &GuestView) -> Vec<(String, String, String)> {
    seabios
        .functions
        .iter()
        .filter_map(|f| {
            let o = ovmf
                .functions
                .iter()
                .find(|g| g.device == f.device && g.libvirt == f.libvirt)?;
            (o.guest != f.guest)
                .then(|| (f.libvirt.bdf(), f.guest.to_string(), o.guest.to_string()))
        })
        .collect()
}

fn line_of(t: &Topology, f: &GuestFunction) -> Option<u32> {
    f.device
        .and_then(|i| t.devices.get(i))
        .map(|d| d.line)
        .filter(|&l| l > 0)
}

/// The text view: one line per function in `lspci -t` order, indented by depth, with
/// its vendor:device id, what it is, libvirt's address and the element's line; then
/// the NICs and their names.
pub fn render_text(path: &str, t: &Topology, v: &GuestView, other: Option<&GuestView>) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{path}: the guest's PCI view under {}",
        firmware_name(v.firmware)
    ));
    match other {
        Some(o) => {
            let d = match v.firmware {
                FirmwareKind::SeaBios => differences(v, o),
                FirmwareKind::Ovmf => differences(o, v),
            };
            if d.is_empty() {
                s.push_str(&format!(
                    " ({} numbers the same)\n",
                    firmware_name(o.firmware)
                ));
            } else {
                s.push_str(":\n");
                for (l, a, b) in &d {
                    s.push_str(&format!("  differs: libvirt {l}: SeaBIOS {a}, OVMF {b}\n"));
                }
            }
        }
        None => s.push('\n'),
    }
    let width = 13 + 2 * v.functions.iter().map(|f| f.depth).max().unwrap_or(0);
    s.push_str(&format!(
        "{:<width$}id         libvirt  line  element\n",
        "guest address"
    ));
    for f in &v.functions {
        let indent = "  ".repeat(f.depth);
        let id = f.id_text().unwrap_or_else(|| "????:????".into());
        let line = line_of(t, f).map_or_else(|| "-".into(), |l| l.to_string());
        let libvirt = if f.device.is_some() {
            f.libvirt.bdf()
        } else {
            "-".into()
        };
        let mut what = f.what.clone();
        if let Some((sec, sub)) = f.buses {
            what.push_str(&if sec == sub {
                format!(" -> bus {sec:02x}")
            } else {
                format!(" -> buses {sec:02x}-{sub:02x}")
            });
        }
        if let Some(n) = &f.nic {
            what.push_str(&format!(" = {}", n.default));
        }
        s.push_str(&format!(
            "{indent}{:<w$}{id}  {libvirt:<7}  {line:>4}  {what}\n",
            f.guest.to_string(),
            w = width - indent.len()
        ));
    }
    let nics: Vec<&GuestFunction> = v.functions.iter().filter(|f| f.nic.is_some()).collect();
    if !nics.is_empty() {
        s.push_str(
            "\nNIC names (systemd-udev net_id): Debian, Fedora and RHEL use the slot\n\
             name when there is one, else the path name\n",
        );
        for f in nics {
            let Some(n) = &f.nic else { continue };
            s.push_str(&format!(
                "  {:<10} path {:<11} slot {:<7} {}\n",
                n.default,
                n.path,
                n.slot.as_deref().unwrap_or("-"),
                f.what
            ));
        }
    }
    s
}

/// One function in the JSON.
#[derive(Serialize)]
struct FunctionJson<'a> {
    guest: String,
    libvirt: Option<String>,
    id: Option<String>,
    what: &'a str,
    element: Option<&'static str>,
    line: Option<u32>,
    depth: usize,
    secondary_bus: Option<u32>,
    subordinate_bus: Option<u32>,
    nic: Option<NicJson<'a>>,
}

#[derive(Serialize)]
struct NicJson<'a> {
    path: &'a str,
    slot: Option<&'a str>,
    default: &'a str,
}

#[derive(Serialize)]
struct SlotJson<'a> {
    name: &'a str,
    address: String,
}

#[derive(Serialize)]
struct BusJson {
    index: u32,
    guest_bus: u32,
}

#[derive(Serialize)]
struct GuestJson<'a> {
    file: &'a str,
    firmware: &'static str,
    same_under_other_firmware: Option<bool>,
    buses: Vec<BusJson>,
    functions: Vec<FunctionJson<'a>>,
    hotplug_slots: Vec<SlotJson<'a>>,
}

/// The JSON view.
pub fn render_json(path: &str, t: &Topology, v: &GuestView, other: Option<&GuestView>) -> String {
    let same = other.map(|o| match v.firmware {
        FirmwareKind::SeaBios => differences(v, o).is_empty(),
        FirmwareKind::Ovmf => differences(o, v).is_empty(),
    });
    let out = GuestJson {
        file: path,
        firmware: match v.firmware {
            FirmwareKind::SeaBios => "seabios",
            FirmwareKind::Ovmf => "ovmf",
        },
        same_under_other_firmware: same,
        buses: v
            .buses
            .iter()
            .map(|&(index, guest_bus)| BusJson { index, guest_bus })
            .collect(),
        functions: v
            .functions
            .iter()
            .map(|f| FunctionJson {
                guest: f.guest.to_string(),
                libvirt: f.device.map(|_| f.libvirt.bdf()),
                id: f.id_text(),
                what: &f.what,
                element: f
                    .device
                    .and_then(|i| t.devices.get(i))
                    .map(|d| d.kind.tag()),
                line: line_of(t, f),
                depth: f.depth,
                secondary_bus: f.buses.map(|b| b.0),
                subordinate_bus: f.buses.map(|b| b.1),
                nic: f.nic.as_ref().map(|n| NicJson {
                    path: &n.path,
                    slot: n.slot.as_deref(),
                    default: &n.default,
                }),
            })
            .collect(),
        hotplug_slots: v
            .slots
            .iter()
            .map(|s| SlotJson {
                name: &s.name,
                address: format!("0000:{:02x}:{:02x}", s.bus, s.slot),
            })
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_default();
    s.push('\n');
    s
}

/// `which`: the function at a guest address, its libvirt address, line and XML.
pub fn render_which(t: &Topology, f: &GuestFunction, xml: Option<&str>) -> String {
    let mut s = String::new();
    match f.device.and_then(|i| t.devices.get(i)) {
        Some(d) => {
            s.push_str(&format!(
                "{}: {} at libvirt address {}",
                f.guest,
                f.what,
                f.libvirt.bdf()
            ));
            if d.line > 0 {
                s.push_str(&format!(", line {}", d.line));
            }
            s.push('\n');
            if let Some(x) = xml {
                // The first line starts at the tag; the others keep the file's
                // indentation: take off what they share (the closing tag's).
                let lines: Vec<&str> = x.lines().collect();
                let common = lines
                    .iter()
                    .skip(1)
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| l.len() - l.trim_start().len())
                    .min()
                    .unwrap_or(0);
                let cut = common;
                for (k, l) in lines.iter().enumerate() {
                    s.push_str("  ");
                    let l = if k == 0 { l } else { l.get(cut..).unwrap_or(l) };
                    s.push_str(l.trim_end());
                    s.push('\n');
                }
            } else {
                s.push_str("  (added by libvirt when it defines the domain: not in the file)\n");
            }
        }
        None => s.push_str(&format!(
            "{}: {} (built into the machine, no element in the XML)\n",
            f.guest, f.what
        )),
    }
    s
}
