//! What the guest sees: the bus number the firmware gives every bridge, every
//! function's guest address `DDDD:BB:SS.F` and vendor:device id, the hotplug slots
//! Linux registers, the names systemd-udev's `net_id` gives every NIC, and the renames
//! an edit causes (bus numbers, NIC names, disk PCI paths).
//!
//! The rules were learnt by booting Debian 12's kernel (6.1, systemd-udev 252) under
//! SeaBIOS and OVMF with libvirt's own `-device` list (the guest corpus in
//! `tests/guest-corpus`, checked by `tests/guest.rs`); `docs/guest-view.md` has them
//! written out.

use crate::diag::Code;
use std::collections::HashMap;
use std::fmt;

use super::address::{Address, PciAddr};
use super::chipset::chipset;
use super::device::Kind;
use super::diag::Diagnostic;
use super::io_space::FirmwareKind;
use super::machine::MachineClass;
use super::pci::PciModel;
use super::topology::{ControllerMap, Origin, Topology};
use super::virtio;

/// A PCI address as the guest sees it (`lspci -D`): `bus` is the bus number the
/// firmware programmed, not libvirt's controller index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GuestAddr {
    /// PCI domain (segment).
    pub domain: u32,
    /// Bus number.
    pub bus: u32,
    /// Slot (device number).
    pub slot: u8,
    /// Function.
    pub function: u8,
}

impl GuestAddr {
    /// `05:00.0`, the form `lspci` prints without `-D`.
    pub fn short(&self) -> String {
        format!("{:02x}:{:02x}.{:x}", self.bus, self.slot, self.function)
    }

    /// Parses `0000:05:00.0` or `05:00.0` (hex, as dmesg and lspci print them).
    pub fn parse(s: &str) -> Option<GuestAddr> {
        let s = s.trim();
        let (rest, function) = s.rsplit_once('.')?;
        let mut parts: Vec<&str> = rest.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return None;
        }
        let slot = u8::from_str_radix(parts.pop()?, 16).ok()?;
        let bus = u32::from_str_radix(parts.pop()?, 16).ok()?;
        let domain = match parts.pop() {
            Some(d) => u32::from_str_radix(d, 16).ok()?,
            None => 0,
        };
        let function = u8::from_str_radix(function, 16).ok()?;
        (slot < 32 && function < 8 && bus < 256).then_some(GuestAddr {
            domain,
            bus,
            slot,
            function,
        })
    }
}

impl fmt::Display for GuestAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.slot, self.function
        )
    }
}

/// The names `net_id` gives a NIC, and the one a default guest uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NicNames {
    /// `ID_NET_NAME_PATH`: `enp1s0`, `enp0s3f1`.
    pub path: String,
    /// `ID_NET_NAME_SLOT`: `ens3`, when the guest sees a numbered hotplug slot.
    pub slot: Option<String>,
    /// The name a default Debian / Fedora / RHEL guest ends up with: udev's
    /// `NamePolicy=kernel database onboard slot path`, so the slot name when there is
    /// one, else the path name.
    pub default: String,
}

/// One PCI function of the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestFunction {
    /// Index into the defined topology's devices; `None` for built-in chipset
    /// functions no element stands for.
    pub device: Option<usize>,
    /// The device's origin (stable across edits), for comparing two views.
    pub origin: Option<Origin>,
    /// What it is, for people.
    pub what: String,
    /// libvirt's address (bus = controller index).
    pub libvirt: PciAddr,
    /// The guest's address.
    pub guest: GuestAddr,
    /// Vendor and device id, when virt-pci knows them.
    pub id: Option<(u16, u16)>,
    /// For bridges: the secondary and subordinate bus numbers.
    pub buses: Option<(u32, u32)>,
    /// For NICs: the names the guest gives it.
    pub nic: Option<NicNames>,
    /// Nesting depth in the guest tree (0 on a root bus).
    pub depth: usize,
    /// The function has the multifunction bit (written `multifunction='on'`).
    pub multifunction: bool,
}

impl GuestFunction {
    /// `1af4:1041`.
    pub fn id_text(&self) -> Option<String> {
        self.id.map(|(v, d)| format!("{v:04x}:{d:04x}"))
    }
}

/// A hotplug slot as Linux registers it (`/sys/bus/pci/slots/NAME/address`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HotplugSlot {
    /// Its name: the slot number, with `-2`, `-3`, ... when the number is taken.
    pub name: String,
    /// The bus it is on.
    pub bus: u32,
    /// The slot on that bus.
    pub slot: u8,
}

/// The guest's view of a topology under one firmware.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestView {
    /// The firmware family the numbering is for.
    pub firmware: FirmwareKind,
    /// Every function in `lspci -t` order: each root bus, each bus in slot/function
    /// order, a bridge's subtree right after it.
    pub functions: Vec<GuestFunction>,
    /// Controller index → guest bus number (the root's index 0 is bus 0).
    pub buses: Vec<(u32, u32)>,
    /// The hotplug slots Linux registers, in the order it registers them.
    pub slots: Vec<HotplugSlot>,
    /// The root buses: 0, then each expander bus's number.
    pub roots: Vec<u32>,
}

impl GuestView {
    /// The guest bus number of controller `index`.
    pub fn bus_of(&self, index: u32) -> Option<u32> {
        self.buses
            .iter()
            .find(|(i, _)| *i == index)
            .map(|&(_, b)| b)
    }

    /// The function at a guest address (domain 0 when the address omits it).
    pub fn at(&self, addr: GuestAddr) -> Option<&GuestFunction> {
        self.functions.iter().find(|f| f.guest == addr)
    }

    /// The function of topology device `i`.
    pub fn of_device(&self, i: usize) -> Option<&GuestFunction> {
        self.functions.iter().find(|f| f.device == Some(i))
    }
}

/// Vendor:device ids of QEMU devices that are not virtio (virtio ids come from
/// [`virtio`]), measured with `lspci -n` in the guest corpus.
pub const PCI_IDS: &[(&str, u16, u16)] = &[
    ("e1000", 0x8086, 0x100e),
    ("e1000e", 0x8086, 0x10d3),
    ("rtl8139", 0x10ec, 0x8139),
    ("qemu-xhci", 0x1b36, 0x000d),
    ("nec-usb-xhci", 0x1033, 0x0194),
    ("piix3-usb-uhci", 0x8086, 0x7020),
    ("ich9-usb-ehci1", 0x8086, 0x293a),
    ("ich9-intel-hda", 0x8086, 0x293e),
    ("intel-hda", 0x8086, 0x2668),
    ("qxl-vga", 0x1b36, 0x0100),
    ("qxl", 0x1b36, 0x0100),
    ("cirrus-vga", 0x1013, 0x00b8),
    ("VGA", 0x1234, 0x1111),
    ("pci-bridge", 0x1b36, 0x0001),
    ("pcie-root-port", 0x1b36, 0x000c),
    ("pcie-pci-bridge", 0x1b36, 0x000e),
    ("ioh3420", 0x8086, 0x3420),
    ("x3130-upstream", 0x104c, 0x8232),
    ("xio3130-downstream", 0x104c, 0x8233),
    ("i82801b11-bridge", 0x8086, 0x244e),
    ("pxb", 0x1b36, 0x0009),
    ("pxb-pcie", 0x1b36, 0x000b),
];

/// The id of a QEMU device from [`PCI_IDS`].
pub fn pci_id(qemu: &str) -> Option<(u16, u16)> {
    PCI_IDS
        .iter()
        .find(|(q, _, _)| *q == qemu)
        .map(|&(_, v, d)| (v, d))
}

/// The id of the chipset function at `addr` on a machine class.
fn chipset_id(class: MachineClass, addr: PciAddr) -> Option<(u16, u16)> {
    chipset(class)
        .iter()
        .find(|f| f.addr == addr)
        .map(|f| f.pci_id)
}

/// A function before numbering: where it sits in libvirt's terms.
struct Node {
    device: Option<usize>,
    what: String,
    addr: PciAddr,
    id: Option<(u16, u16)>,
    /// The controller index of the bus behind it, for bridges and expanders.
    child: Option<u32>,
    model: Option<PciModel>,
    multifunction: bool,
}

/// Whether a controller model is a bridge the firmware numbers (an expander bus is a
/// host bridge with a bus number of its own, numbered from `busNr`).
fn is_bridge(m: PciModel) -> bool {
    !m.is_root() && !m.is_expander()
}

/// Computes the guest's view of `defined` (the topology as libvirt defines it, see
/// [`as_defined`](super::analyses::as_defined)) under a firmware family.
///
/// Both SeaBIOS (`pci_bios_init_bus_rec`) and OVMF (`PciScanBus`) number bridges
/// depth-first in slot/function order; they would differ only where a bridge asks
/// for bus padding through QEMU's resource-reserve capability, which libvirt never
/// sets (the corpus measured both: same numbers everywhere).
pub fn guest_view(defined: &Topology, firmware: FirmwareKind) -> GuestView {
    let map = defined.controller_map();
    let nodes = functions(defined, &map);
    let mut by_bus: HashMap<u32, Vec<usize>> = HashMap::new();
    for (k, n) in nodes.iter().enumerate() {
        by_bus.entry(n.addr.bus).or_default().push(k);
    }

    let mut out = GuestView {
        firmware,
        functions: Vec::new(),
        buses: vec![(0, 0)],
        slots: Vec::new(),
        roots: vec![0],
    };
    let mut next = 0u32;
    walk(&nodes, &by_bus, 0, 0, 0, &mut next, &mut out);
    let main_last = next;
    expander_buses(defined, &map, &nodes, &by_bus, &mut next, &mut out);
    for f in &mut out.functions {
        f.origin = f
            .device
            .and_then(|i| defined.devices.get(i))
            .map(|d| d.origin);
    }
    hotplug_slots(defined, &nodes, main_last, &mut out);
    name_nics(defined, &mut out);
    out
}

/// Every function the guest sees, in bus, slot and function order: the domain's
/// devices on buses that exist, then the chipset functions no element stands for.
fn functions(defined: &Topology, map: &ControllerMap) -> Vec<Node> {
    let class = defined.machine.class;
    let virtio = virtio::virtio_devices(defined);
    let mut nodes: Vec<Node> = Vec::new();
    let mut taken: Vec<PciAddr> = Vec::new();
    for (i, d) in defined.devices.iter().enumerate() {
        let Some(Address::Pci {
            addr,
            multifunction,
        }) = &d.address
        else {
            continue;
        };
        // Only functions on a bus that exists reach the guest.
        if map.bus_model(defined, addr.bus).is_none() {
            continue;
        }
        let (id, child, model) = match &d.pci {
            Some(p) => (pci_id(p.qemu_device()), d.index, Some(p.model)),
            None => {
                let id = match virtio.iter().find(|v| v.device == i) {
                    Some(v) => v.pci_id,
                    None => pci_id(&d.facts(&defined.machine).qemu),
                };
                (id, None, None)
            }
        };
        // An element standing for a chipset function (the q35 SATA, the PIIX3 IDE and
        // UHCI) has the chipset's id.
        let id = id.or_else(|| chipset_id(class, *addr));
        taken.push(*addr);
        nodes.push(Node {
            device: Some(i),
            what: d.describe(&defined.machine),
            addr: *addr,
            id,
            child,
            model,
            multifunction: *multifunction == Some(true),
        });
    }
    for c in chipset(class) {
        if taken.contains(&c.addr) {
            continue;
        }
        let id = chipset_id(class, c.addr);
        nodes.push(Node {
            device: None,
            what: c.name.to_string(),
            addr: c.addr,
            id,
            child: None,
            model: None,
            multifunction: false,
        });
    }
    nodes.sort_by_key(|n| (n.addr.bus, n.addr.slot, n.addr.function));
    nodes
}

/// Expander buses: extra root buses at their busNr, scanned after the main root in
/// ascending busNr order; the bridges behind one are numbered from busNr + 1.
fn expander_buses(
    defined: &Topology,
    map: &ControllerMap,
    nodes: &[Node],
    by_bus: &HashMap<u32, Vec<usize>>,
    next: &mut u32,
    out: &mut GuestView,
) {
    let mut roots: Vec<(u32, u32, PciModel)> = nodes
        .iter()
        .filter_map(|n| {
            let m = n.model.filter(|m| m.is_expander())?;
            let idx = n.child?;
            let dev = map.controller(defined, idx)?;
            let nr = dev.pci.as_ref()?.bus_nr?;
            Some((nr, idx, m))
        })
        .collect();
    roots.sort();
    for (nr, idx, model) in roots {
        *next = (*next).max(nr);
        if model == PciModel::PciExpanderBus {
            // QEMU puts a pci-bridge of its own at slot 0 of a conventional expander
            // bus; libvirt's slots on the pxb are the slots behind that bridge.
            let pos = out.functions.len();
            out.functions.push(GuestFunction {
                device: None,
                origin: None,
                what: "pci-bridge inside the expander bus (QEMU's own)".into(),
                libvirt: PciAddr::new(idx, 0, 0),
                guest: GuestAddr {
                    domain: 0,
                    bus: nr,
                    slot: 0,
                    function: 0,
                },
                id: pci_id("pci-bridge"),
                buses: None,
                nic: None,
                depth: 0,
                multifunction: false,
            });
            *next += 1;
            let secondary = *next;
            out.buses.push((idx, secondary));
            out.roots.push(nr);
            walk(nodes, by_bus, idx, secondary, 1, next, out);
            out.functions[pos].buses = Some((secondary, *next));
        } else {
            out.buses.push((idx, nr));
            out.roots.push(nr);
            walk(nodes, by_bus, idx, nr, 0, next, out);
        }
    }
}

/// Numbers bus `index` (guest number `bus`) and everything below it, depth-first.
fn walk(
    nodes: &[Node],
    by_bus: &HashMap<u32, Vec<usize>>,
    index: u32,
    bus: u32,
    depth: usize,
    next: &mut u32,
    out: &mut GuestView,
) {
    let Some(list) = by_bus.get(&index) else {
        return;
    };
    for &k in list {
        let n = &nodes[k];
        let guest = GuestAddr {
            domain: n.addr.domain,
            bus,
            slot: n.addr.slot,
            function: n.addr.function,
        };
        let pos = out.functions.len();
        out.functions.push(GuestFunction {
            device: n.device,
            origin: None,
            what: n.what.clone(),
            libvirt: n.addr,
            guest,
            id: n.id,
            buses: None,
            nic: None,
            depth,
            multifunction: n.multifunction,
        });
        if let (Some(child), Some(m)) = (n.child, n.model)
            && is_bridge(m)
        {
            *next += 1;
            let secondary = *next;
            out.buses.push((child, secondary));
            walk(nodes, by_bus, child, secondary, depth + 1, next, out);
            out.functions[pos].buses = Some((secondary, *next));
        }
    }
}

/// The hotplug slots Linux registers, in bus order:
/// - i440fx with ACPI: every slot of bus 0 and of every bridge below it (acpiphp),
///   except the chipset's and those holding a bridge;
/// - PCIe root and downstream ports (pciehp): one slot, number 0 (libvirt gives
///   QEMU no physical slot number), unless a bridge sits in it;
/// - conventional bridges elsewhere (pci-bridge, pcie-to-pci-bridge, and the
///   dmi-to-pci-bridge too, although libvirt calls it not hot-pluggable): all 32
///   slots, except those holding a bridge; on i440fx only in bus 0's tree (ACPI),
///   none behind an expander bus.
///
/// A name already taken gets `-2`, `-3`, ... (Linux's `pci_create_slot`).
fn hotplug_slots(t: &Topology, nodes: &[Node], main_last: u32, out: &mut GuestView) {
    let acpi_pc = t.machine.class == MachineClass::I440fx && t.acpi;
    let chipset_slots: Vec<u8> = chipset(t.machine.class)
        .iter()
        .filter(|c| c.addr.bus == 0)
        .map(|c| c.addr.slot)
        .collect();
    // Slots holding a bridge or expander, per controller index.
    let bridge_slot = |index: u32, slot: u8| {
        nodes.iter().any(|n| {
            n.addr.bus == index && n.addr.slot == slot && n.model.is_some_and(|m| !m.is_root())
        })
    };
    let mut buses: Vec<(u32, u32)> = out.buses.clone();
    buses.sort_by_key(|&(_, b)| b);
    let mut wanted: Vec<(u32, u8, u32)> = Vec::new(); // (guest bus, slot, number)
    for &(index, bus) in &buses {
        let model = t.bus_model(index);
        let Some(model) = model else { continue };
        let ctrl = t.controller(index).and_then(|d| d.pci.as_ref());
        let hotplug = ctrl.is_none_or(|p| p.hotplug != Some(false));
        let conventional_hp = matches!(
            model,
            PciModel::PciBridge | PciModel::PcieToPciBridge | PciModel::DmiToPciBridge
        );
        match model {
            PciModel::PciRoot if acpi_pc && index == 0 => {
                for s in 0..32u8 {
                    if !chipset_slots.contains(&s) && !bridge_slot(index, s) {
                        wanted.push((bus, s, s as u32));
                    }
                }
            }
            PciModel::PcieRootPort | PciModel::PcieSwitchDownstreamPort
                if hotplug && !bridge_slot(index, 0) =>
            {
                wanted.push((bus, 0, 0));
            }
            // On i440fx the bridges' slots come from ACPI, which describes the tree
            // of bus 0 only: behind an expander bus there are none (Linux's SHPC
            // driver gets no control from this firmware; OVMF measured).
            _ if conventional_hp
                && t.machine.class == MachineClass::I440fx
                && (!acpi_pc || bus > main_last) => {}
            _ if conventional_hp => {
                for s in 0..32u8 {
                    if !bridge_slot(index, s) {
                        wanted.push((bus, s, s as u32));
                    }
                }
            }
            _ => {}
        }
    }
    let mut used: HashMap<u32, u32> = HashMap::new();
    for (bus, slot, nr) in wanted {
        let n = used.entry(nr).or_insert(0);
        *n += 1;
        let name = if *n == 1 {
            nr.to_string()
        } else {
            format!("{nr}-{n}")
        };
        out.slots.push(HotplugSlot { name, bus, slot });
    }
}

/// The names of every NIC (`<interface>` with a PCI address).
///
/// `net_id` (systemd 252): the path name is `en` + `P<domain>` when the domain is not
/// 0 + `p<bus>s<slot>` + `f<function>` when the function is not 0 or the device has
/// the multifunction bit. The slot name is `ens<N>` + the same `f` part, where N is
/// the name of the hotplug slot the function sits in when that name is a number of 1
/// or more; otherwise the parent bridges' slots are tried, but a bridge's slot only
/// counts when the bridge has the multifunction bit.
fn name_nics(t: &Topology, out: &mut GuestView) {
    let mut names: Vec<(usize, NicNames)> = Vec::new();
    for (k, f) in out.functions.iter().enumerate() {
        let Some(i) = f.device else { continue };
        if t.devices.get(i).map(|d| d.kind) != Some(Kind::Interface) {
            continue;
        }
        let fpart = if f.guest.function > 0 || f.multifunction {
            format!("f{}", f.guest.function)
        } else {
            String::new()
        };
        let dom = if f.guest.domain > 0 {
            format!("P{}", f.guest.domain)
        } else {
            String::new()
        };
        let path = format!("en{dom}p{}s{}{fpart}", f.guest.bus, f.guest.slot);
        let slot = slot_number(out, k).map(|n| format!("en{dom}s{n}{fpart}"));
        let default = slot.clone().unwrap_or_else(|| path.clone());
        names.push((
            k,
            NicNames {
                path,
                slot,
                default,
            },
        ));
    }
    for (k, n) in names {
        out.functions[k].nic = Some(n);
    }
}

/// The hotplug slot number `net_id` uses for function `k` (see [`name_nics`]).
fn slot_number(out: &GuestView, k: usize) -> Option<u32> {
    let mut at = k;
    let mut first = true;
    loop {
        let f = &out.functions[at];
        let own = out
            .slots
            .iter()
            .find(|s| s.bus == f.guest.bus && s.slot == f.guest.slot)
            .and_then(|s| s.name.parse::<u32>().ok())
            .filter(|&n| n >= 1);
        if let Some(n) = own {
            if first || f.multifunction {
                return Some(n);
            }
            return None;
        }
        // Up to the bridge whose secondary bus this function is on.
        let parent = out
            .functions
            .iter()
            .position(|p| p.buses.is_some_and(|(sec, _)| sec == f.guest.bus))?;
        at = parent;
        first = false;
    }
}

/// One rename an edit causes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rename {
    /// Index of the device in the "after" topology.
    pub device: usize,
    /// What changes.
    pub what: RenameKind,
    /// The value before.
    pub old: String,
    /// The value after.
    pub new: String,
}

/// What a rename changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenameKind {
    /// A bridge's guest bus number (everything behind it moves).
    Bus,
    /// A NIC's default name.
    Nic,
    /// A disk's PCI path (`/dev/disk/by-path/pci-...`).
    Disk,
}

/// The renames between two views of the same guest (before and after an edit),
/// matched by the devices' origins: a bridge whose bus number changes, a NIC whose
/// default name changes, a disk whose guest PCI address changes. Devices present on
/// one side only are not renames. Only the first `before_len` / `after_len` devices
/// (those of the document) are compared: what libvirt adds has no lasting origin.
pub fn renames(
    before: &Topology,
    vb: &GuestView,
    before_len: usize,
    after: &Topology,
    va: &GuestView,
    after_len: usize,
) -> Vec<Rename> {
    let mut out = Vec::new();
    for fa in &va.functions {
        let Some(ia) = fa.device.filter(|&i| i < after_len) else {
            continue;
        };
        let Some(da) = after.devices.get(ia) else {
            continue;
        };
        let Some(ib) = before.devices[..before_len.min(before.devices.len())]
            .iter()
            .position(|d| d.origin == da.origin)
        else {
            continue;
        };
        let Some(fb) = vb.of_device(ib) else { continue };
        if let (Some((sb, _)), Some((sa, _))) = (fb.buses, fa.buses)
            && sb != sa
        {
            out.push(Rename {
                device: ia,
                what: RenameKind::Bus,
                old: format!("{sb:02x}"),
                new: format!("{sa:02x}"),
            });
        }
        if let (Some(nb), Some(na)) = (&fb.nic, &fa.nic)
            && nb.default != na.default
        {
            out.push(Rename {
                device: ia,
                what: RenameKind::Nic,
                old: nb.default.clone(),
                new: na.default.clone(),
            });
        }
        if da.kind == Kind::Disk && fb.guest != fa.guest {
            out.push(Rename {
                device: ia,
                what: RenameKind::Disk,
                old: format!("pci-{}", fb.guest),
                new: format!("pci-{}", fa.guest),
            });
        }
    }
    out
}

/// The renames as warnings (VP0701 bus number, VP0702 NIC name, VP0703 disk path).
pub fn rename_diagnostics(after: &Topology, renames: &[Rename]) -> Vec<Diagnostic> {
    renames
        .iter()
        .map(|r| {
            let who = after
                .devices
                .get(r.device)
                .map_or_else(String::new, |d| d.describe(&after.machine));
            let (code, msg, hint) = match r.what {
                RenameKind::Bus => (
                    Code::GuestBusRenumbered,
                    format!("the guest's bus {} becomes bus {} ({who})", r.old, r.new),
                    "every device behind it gets a new guest address (lspci, dmesg, \
                     by-path names)",
                ),
                RenameKind::Nic => (
                    Code::GuestNicRenamed,
                    format!("the guest's NIC {} becomes {} ({who})", r.old, r.new),
                    "network configuration that names the interface stops matching; \
                     place the new device after the existing ones, or match by MAC",
                ),
                RenameKind::Disk => (
                    Code::GuestDiskPathChanged,
                    format!(
                        "/dev/disk/by-path/{} becomes /dev/disk/by-path/{} ({who})",
                        r.old, r.new
                    ),
                    "fstab entries by path stop matching; use UUID= or by-id",
                ),
            };
            Diagnostic::new(code, msg).hint(hint).on(Some(r.device))
        })
        .collect()
}

/// The renames from `before` to `after` (both as written, before libvirt fills them
/// in), under one firmware, as warnings on `after`'s devices.
pub fn rename_warnings(before: &Topology, after: &Topology, fw: FirmwareKind) -> Vec<Diagnostic> {
    let (db, rb) = super::analyses::as_defined(before);
    let (da, ra) = super::analyses::as_defined(after);
    if rb.is_some() || ra.is_some() {
        return Vec::new();
    }
    let vb = guest_view(&db, fw);
    let va = guest_view(&da, fw);
    let r = renames(
        &db,
        &vb,
        before.devices.len(),
        &da,
        &va,
        after.devices.len(),
    );
    rename_diagnostics(&da, &r)
}

/// The topology before new devices were added: `t` without the devices that still
/// need a PCI address (what `assign` adds them to). Returned with their origins.
pub fn without_unplaced(t: &Topology) -> Topology {
    let mut before = t.clone();
    before.devices.retain(|d| {
        let pci = d.facts(&t.machine).slot != super::device::SlotClass::None || d.pci.is_some();
        !(pci
            && matches!(d.address, None | Some(Address::PciRequest))
            && !d.is_pci_root()
            && chipset(t.machine.class)
                .iter()
                .all(|c| !c.stands_for(d, &t.machine)))
    });
    before
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_addresses_parse_with_and_without_domain() {
        let a = GuestAddr::parse("0000:05:00.0").unwrap();
        assert_eq!((a.domain, a.bus, a.slot, a.function), (0, 5, 0, 0));
        let b = GuestAddr::parse("0c:1f.7").unwrap();
        assert_eq!((b.bus, b.slot, b.function), (0x0c, 0x1f, 7));
        assert_eq!(b.to_string(), "0000:0c:1f.7");
        assert_eq!(b.short(), "0c:1f.7");
        for bad in ["", "05:00", "05:20.0", "05:00.8", "x:00.0", "1:2:3:4.0"] {
            assert!(GuestAddr::parse(bad).is_none(), "{bad}");
        }
    }
}
