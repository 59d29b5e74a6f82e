//! Differential test against real libvirt. A seeded generator makes varied guests
//! (q35, i440fx and aarch64 virt; every PCI controller model in legal and some illegal
//! places; endpoints with and without addresses; a few guests with hundreds of devices)
//! and, in more than half of them, what people write and predictors get wrong (`Gen::hunt`:
//! repeated singletons, secondary video of primary-only types, addresses on chipset
//! functions and on buses not there yet, unreadable disk names, USB2 companion groups,
//! versioned and unknown machine types, unaddressed bridges and switch ports among
//! unaddressed devices; and, each in a few percent of the guests, devices whose
//! placement or validity hangs on a model list or on another part of the domain: NIC
//! models of every kind, virtio-crypto, USB devices with USB off, ACPI on aarch64 with
//! and without UEFI, floppies, cdroms and LUNs on every bus, spicevmc with and without
//! spice, USB controller models, the xen balloon, IOMMU and panic models off their
//! machines, virtiofs with and without shared memory). Each one goes both to
//! `virt-pci assign` and to the libvirts below. The verdicts (accept / refuse) must agree, and
//! for accepted guests so must every PCI address and every PCI controller (index,
//! model, `<model name>`, target chassis/port/chassisNr/busNr). Devices are matched as
//! `../shared/conformance/score.py` matches them: controllers by (type, index), disks by
//! target dev, every other element by its order among elements of its tag (controllers
//! that share a (type, index), like USB2 companions, also by their order among those).
//! Then what virt-pci wrote is defined in libvirt once more: libvirt must accept it and
//! keep every address (a fixed point).
//!
//! Environment:
//! - `VIRT_PCI_ORACLE`: path of `libvirt-oracle.sh` (libvirt 9.0 + QEMU 7.2), and
//!   `VIRT_PCI_ORACLE11`: path of `libvirt11-oracle.sh` (libvirt 11.3 + QEMU 10.0). Each
//!   guest goes to every oracle that is set, and virt-pci predicts that oracle's
//!   releases (`--libvirt`, `--qemu`). `.ci/run` exports them only after the oracle
//!   answered a smoke test; unset or empty, that test prints SKIP and passes.
//! - `VIRT_PCI_ORACLE_CASES` (default 300), `VIRT_PCI_ORACLE_SEED` (default fixed),
//!   `VIRT_PCI_ORACLE_THREADS` (default 4): how many guests, which ones, how many at once.
//! - `VIRT_PCI_ORACLE_ONLY=3,17`: run only these case numbers (as printed on a difference).
//! - `VIRT_PCI_ORACLE_KEEP=DIR`: write every differing case there as `NNNN.in.xml`,
//!   `NNNN.libvirt.xml` or `.libvirt.err`, `NNNN.ours.xml` or `.ours.err`.
//! - `VIRT_PCI_ORACLE_REPORT_ONLY=1`: print the differences but pass.
//! - `VIRT_PCI_ORACLE_DUMP=DIR`: the generator test (which needs no oracle) writes every
//!   generated guest there as `NNNN.xml`, for looking at or feeding to other tools.
//! - `VIRT_PCI_ORACLE_FROM=DIR`: judge every `DIR/*.xml` (in name order; case numbers
//!   are positions in that order) instead of generated guests: guests written by hand
//!   or by another generator, through the same comparison.
//!
//! The generator uses only what QEMU 7.2 (Debian 12) has, so that libvirt's answers are
//! about addressing and validation, not about missing emulator features. The exceptions
//! are on purpose: what libvirt refuses for QEMU whatever the release (qusb1/qusb2, the
//! xen balloon, panic models of other architectures), and model names that libvirt takes
//! without asking QEMU, so that its answer is about placement alone (the NIC models of
//! other hypervisors, igb, sungem, unknown names, vt82c686b-uhci).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use virt_pci::libvirt::Document;

const ENV_ORACLE: &str = "VIRT_PCI_ORACLE";
const ENV_ORACLE11: &str = "VIRT_PCI_ORACLE11";
const DEFAULT_SEED: u64 = 0x005e_ed0f_1157_9a7e;

// ------------------------------------------------------------------ generator

/// xorshift64 seeded through splitmix64: tiny, deterministic, good enough for shapes.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Rng(if z == 0 { 1 } else { z })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// lo..=hi.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    Q35,
    Pc,
    Virt,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Q35 => "q35",
            Class::Pc => "i440fx",
            Class::Virt => "aarch64-virt",
        }
    }
    fn pcie(self) -> bool {
        self != Class::Pc
    }
    fn x86(self) -> bool {
        self != Class::Virt
    }
}

/// A bus the generator knows about (the root and every controller it wrote with an
/// index), so that it can write explicit addresses that mostly make sense.
struct Bus {
    index: u32,
    model: &'static str,
    used: BTreeSet<(u32, u32)>,
}

impl Bus {
    /// Slots on which an endpoint (or a controller) may be put by hand.
    fn slots(&self, class: Class) -> Vec<u32> {
        match self.model {
            // 00:01.x is the PIIX3 on i440fx; 00:1f.x is LPC/SATA/SMBus on q35.
            "pci-root" => (2..=31).collect(),
            "pcie-root" if class == Class::Q35 => (1..=0x1e).collect(),
            "pcie-root" => (1..=31).collect(),
            "pci-bridge" | "pcie-to-pci-bridge" => (1..=31).collect(),
            "dmi-to-pci-bridge" | "pci-expander-bus" | "pcie-switch-upstream-port" => {
                (0..=31).collect()
            }
            "pcie-expander-bus" => (0..=31).collect(),
            "pcie-root-port" | "pcie-switch-downstream-port" => vec![0],
            _ => vec![],
        }
    }

    fn accepts_endpoints(&self) -> bool {
        !matches!(
            self.model,
            "pcie-switch-upstream-port" | "pcie-expander-bus"
        )
    }

    fn slot_free(&self, slot: u32) -> bool {
        !self.used.iter().any(|&(s, _)| s == slot)
    }
}

/// Which bus models a controller model may be plugged into (the legal placements).
fn parents_of(model: &str) -> &'static [&'static str] {
    match model {
        "pci-bridge" => &[
            "pci-root",
            "pci-bridge",
            "dmi-to-pci-bridge",
            "pcie-to-pci-bridge",
            "pci-expander-bus",
        ],
        "dmi-to-pci-bridge" => &["pcie-root", "pcie-expander-bus"],
        "pcie-to-pci-bridge" => &["pcie-root-port", "pcie-switch-downstream-port"],
        "pcie-root-port" => &["pcie-root", "pcie-expander-bus"],
        "pcie-switch-upstream-port" => &["pcie-root-port", "pcie-switch-downstream-port"],
        "pcie-switch-downstream-port" => &["pcie-switch-upstream-port"],
        "pci-expander-bus" => &["pci-root"],
        "pcie-expander-bus" => &["pcie-root"],
        _ => &[],
    }
}

const ALL: &[Class] = &[Class::Q35, Class::Pc, Class::Virt];
const X86: &[Class] = &[Class::Q35, Class::Pc];

/// A hunt: its name (as the case's notes give it), its weight, the classes it applies to.
type Hunt = (&'static str, usize, &'static [Class]);

/// What [`Gen::hunt`] picks from, by weight among those for the guest's class: the
/// addressing hunts weigh three, the device hunts two or one, so that in a few hundred
/// guests each device hunt lands in a few percent of them without crowding out the
/// addressing cases.
const ADDRESSING_HUNTS: &[Hunt] = &[
    ("singleton", 3, ALL),
    ("video", 3, ALL),
    ("chipset", 3, ALL),
    ("future-bus", 3, ALL),
    ("disk-name", 3, ALL),
    ("usb2", 3, X86),
    ("machine", 3, ALL),
    ("mixed", 6, ALL),
];
const DEVICE_HUNTS: &[Hunt] = &[
    ("nic-model", 2, ALL),
    ("crypto", 2, ALL),
    ("usb-off", 3, ALL),
    ("acpi", 4, &[Class::Virt]),
    ("floppy", 2, X86),
    ("cdrom", 2, ALL),
    ("spicevmc", 2, ALL),
    ("usb-model", 2, ALL),
    ("xen-balloon", 1, ALL),
    ("iommu", 2, ALL),
    ("panic", 2, ALL),
    ("virtiofs", 2, ALL),
    ("arm-devices", 3, &[Class::Virt]),
    ("video-none", 1, ALL),
];

/// NIC models by how libvirt places them: its own list of conventional PCI models,
/// the PCI Express ones, and names it does not know (placed as PCI Express devices).
/// Some are names QEMU 7.2 has no device for (the VMware and Xen names, lan9118, igb,
/// sungem, foo): libvirt takes a model string without asking QEMU, so what it says
/// about them is still about placement.
const NIC_CONVENTIONAL: &[&str] = &[
    "rtl8139",
    "e1000",
    "vmxnet3",
    "82540EM",
    "82545EM",
    "82543GC",
    "Am79C970A",
    "Am79C973",
    "vlance",
    "vmxnet",
    "vmxnet2",
    "lan9118",
    "netfront",
];
const NIC_EXPRESS: &[&str] = &[
    "e1000e",
    "igb",
    "virtio",
    "virtio-transitional",
    "virtio-non-transitional",
];
const NIC_UNKNOWN: &[&str] = &[
    "ne2k_pci",
    "pcnet",
    "i82559er",
    "i82551",
    "i82557b",
    "sungem",
    "rocker",
    "virtio-net",
    "foo",
];

/// Document groups, so the generated XML is ordered like libvirt's own.
const G_DISK: u8 = 0;
const G_CTRL: u8 = 1;
const G_FS: u8 = 2;
const G_NET: u8 = 3;
const G_SMARTCARD: u8 = 4;
const G_CHAR: u8 = 5;
const G_INPUT: u8 = 6;
const G_GFX: u8 = 7;
const G_SOUND: u8 = 8;
const G_VIDEO: u8 = 9;
const G_HOSTDEV: u8 = 10;
const G_REDIRDEV: u8 = 11;
const G_HUB: u8 = 12;
const G_WATCHDOG: u8 = 13;
const G_BALLOON: u8 = 14;
const G_RNG: u8 = 15;
const G_PANIC: u8 = 16;
const G_SHMEM: u8 = 17;
const G_IOMMU: u8 = 18;
const G_VSOCK: u8 = 19;
const G_CRYPTO: u8 = 20;

/// How a hunt gives an aarch64 guest UEFI firmware.
#[derive(Clone, Copy)]
enum Uefi {
    /// `<os firmware='efi'>`: libvirt picks the firmware.
    Auto,
    /// A pflash `<loader>` named by hand.
    Pflash,
}

/// One generated guest.
struct Case {
    number: usize,
    class: Class,
    xml: String,
    /// What the generator did on purpose (shapes, illegal placements), for reports.
    notes: Vec<String>,
}

struct Gen {
    rng: Rng,
    class: Class,
    buses: Vec<Bus>,
    next_index: u32,
    omit_index: bool,
    frags: Vec<(u8, String)>,
    notes: Vec<String>,
    explicit_pct: usize,
    /// Counters: target names per prefix, controller indexes, share names.
    counters: BTreeMap<&'static str, usize>,
    singletons: BTreeSet<&'static str>,
    usb_ok: bool,
    /// The index the next USB controller takes.
    usb_next: usize,
    /// A machine type chosen by [`Gen::hunt`] instead of the class's usual ones.
    machine: Option<&'static str>,
    /// Set by the hunts: `<acpi/>` on aarch64, the UEFI firmware (`<os>` content or
    /// attribute), `<ioapic driver='qemu'/>`, shared memory for virtiofs (`memfd` or a
    /// NUMA cell with `memAccess='shared'`) and spice graphics.
    arm_acpi: bool,
    uefi: Option<Uefi>,
    ioapic: bool,
    shared_memory: Option<&'static str>,
    spice: bool,
    rp_slot: u32,
    rp_fn: u32,
}

fn hex_addr(bus: u32, slot: u32, func: u32, multi: bool) -> String {
    format!(
        "<address type='pci' domain='0x0000' bus='0x{bus:02x}' slot='0x{slot:02x}' function='0x{func:x}'{}/>",
        if multi { " multifunction='on'" } else { "" }
    )
}

/// vda, vdb, ... vdz, vdaa, vdab, ...
fn dev_name(prefix: &str, mut n: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'a' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    s.reverse();
    format!("{prefix}{}", String::from_utf8(s).unwrap())
}

impl Gen {
    fn new(seed: u64, number: usize) -> Gen {
        let mut rng = Rng::new(seed ^ (number as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
        let class = match number % 3 {
            0 => Class::Q35,
            1 => Class::Pc,
            _ => Class::Virt,
        };
        let explicit_pct = rng.pick(&[0, 0, 10, 30, 60, 90]);
        let root = if class.pcie() {
            "pcie-root"
        } else {
            "pci-root"
        };
        Gen {
            rng,
            class,
            buses: vec![Bus {
                index: 0,
                model: root,
                used: BTreeSet::new(),
            }],
            next_index: 1,
            omit_index: false,
            frags: Vec::new(),
            notes: Vec::new(),
            explicit_pct,
            counters: BTreeMap::new(),
            singletons: BTreeSet::new(),
            usb_ok: true,
            usb_next: 0,
            machine: None,
            arm_acpi: false,
            uefi: None,
            ioapic: false,
            shared_memory: None,
            spice: false,
            rp_slot: 0,
            rp_fn: 8,
        }
    }

    fn push(&mut self, group: u8, xml: String) {
        self.frags.push((group, xml));
    }

    fn note(&mut self, s: impl Into<String>) {
        self.notes.push(s.into());
    }

    fn bus_pos(&self, index: u32) -> Option<usize> {
        self.buses.iter().position(|b| b.index == index)
    }

    /// A free slot (function 0) on a random bus whose model is in `models`.
    fn free_slot_on(&mut self, models: &[&str], endpoint: bool) -> Option<(u32, u32)> {
        let class = self.class;
        let mut choices = Vec::new();
        for (i, b) in self.buses.iter().enumerate() {
            if !models.contains(&b.model) || (endpoint && !b.accepts_endpoints()) {
                continue;
            }
            let free: Vec<u32> = b
                .slots(class)
                .into_iter()
                .filter(|&s| b.slot_free(s))
                .collect();
            if !free.is_empty() {
                choices.push((i, free));
            }
        }
        if choices.is_empty() {
            return None;
        }
        let (i, free) = choices.swap_remove(self.rng.below(choices.len()));
        let slot = if self.rng.percent(60) {
            free[0]
        } else {
            free[self.rng.below(free.len())]
        };
        self.buses[i].used.insert((slot, 0));
        Some((self.buses[i].index, slot))
    }

    /// The `<address>` of an endpoint: none (auto), empty (auto, asked for PCI) or a
    /// free slot on a bus that takes endpoints.
    fn endpoint_addr(&mut self) -> String {
        if self.rng.percent(self.explicit_pct) {
            let all: Vec<&str> = self.buses.iter().map(|b| b.model).collect();
            if let Some((bus, slot)) = self.free_slot_on(&all, true) {
                return format!("\n      {}", hex_addr(bus, slot, 0, false));
            }
        }
        if self.rng.percent(4) {
            return "\n      <address type='pci'/>".to_string();
        }
        String::new()
    }

    // -------------------------------------------------------------- controllers

    /// Writes a PCI controller. `place`: give it an explicit address on a legal parent
    /// bus when one has room. Returns its index.
    fn pci_controller(&mut self, model: &'static str, place: bool) -> u32 {
        let index = self.next_index;
        self.next_index += 1;
        let mut inner = String::new();
        if self.rng.percent(25) {
            let name = match model {
                "pci-bridge" => "pci-bridge",
                "dmi-to-pci-bridge" => "i82801b11-bridge",
                "pcie-to-pci-bridge" => "pcie-pci-bridge",
                "pcie-root-port" => self.rng.pick(&["pcie-root-port", "ioh3420"]),
                "pcie-switch-upstream-port" => "x3130-upstream",
                "pcie-switch-downstream-port" => "xio3130-downstream",
                "pci-expander-bus" => "pxb",
                "pcie-expander-bus" => "pxb-pcie",
                _ => "",
            };
            let _ = write!(inner, "\n      <model name='{name}'/>");
        }
        let mut target = Vec::new();
        match model {
            "pci-bridge" if self.rng.percent(20) => {
                target.push(format!("chassisNr='{}'", self.rng.range(1, 255)));
            }
            "pcie-root-port" | "pcie-switch-downstream-port" => {
                if self.rng.percent(20) {
                    target.push(format!("chassis='{}'", self.rng.range(0, 255)));
                    target.push(format!("port='0x{:x}'", self.rng.range(0, 255)));
                }
                if self.rng.percent(15) {
                    target.push("hotplug='off'".to_string());
                }
            }
            "pci-expander-bus" | "pcie-expander-bus" if self.rng.percent(40) => {
                target.push(format!("busNr='{}'", self.rng.range(100, 250)));
            }
            _ => {}
        }
        if !target.is_empty() {
            let _ = write!(inner, "\n      <target {}/>", target.join(" "));
        }
        if place && let Some(addr) = self.controller_addr(model) {
            let _ = write!(inner, "\n      {addr}");
        }
        let idx = if self.omit_index {
            String::new()
        } else {
            format!(" index='{index}'")
        };
        let xml = if inner.is_empty() {
            format!("<controller type='pci'{idx} model='{model}'/>")
        } else {
            format!("<controller type='pci'{idx} model='{model}'>{inner}\n    </controller>")
        };
        self.push(G_CTRL, xml);
        self.buses.push(Bus {
            index,
            model,
            used: BTreeSet::new(),
        });
        index
    }

    fn controller_addr(&mut self, model: &'static str) -> Option<String> {
        if model == "pcie-root-port" && self.rng.percent(70) {
            // packed like virt-manager writes them: 00:02.0 (multifunction), 00:02.1, ...
            let root = self.bus_pos(0)?;
            if self.rp_fn >= 8 {
                let class = self.class;
                let free: Vec<u32> = self.buses[root]
                    .slots(class)
                    .into_iter()
                    .filter(|&s| self.buses[root].slot_free(s) && s >= 2)
                    .collect();
                self.rp_slot = *free.first()?;
                self.rp_fn = 0;
            }
            let (slot, f) = (self.rp_slot, self.rp_fn);
            self.rp_fn += 1;
            self.buses[root].used.insert((slot, f));
            return Some(hex_addr(0, slot, f, f == 0));
        }
        let (bus, slot) = self.free_slot_on(parents_of(model), false)?;
        Some(hex_addr(bus, slot, 0, false))
    }

    fn topology(&mut self) {
        let class = self.class;
        if self.rng.percent(40) {
            let root = if class.pcie() {
                "pcie-root"
            } else {
                "pci-root"
            };
            self.push(
                G_CTRL,
                format!("<controller type='pci' index='0' model='{root}'/>"),
            );
        }
        let shapes: &[&str] = if class.pcie() {
            &[
                "auto", "auto", "ports", "ports", "legacy", "switch", "expander", "dmi", "mixed",
            ]
        } else {
            &["auto", "auto", "bridges", "bridges", "expander", "mixed"]
        };
        let shape = self.rng.pick(shapes);
        self.note(format!("topology {shape}"));
        let place_pct = self.rng.pick(&[0, 50, 100]);
        let mut parts = vec![shape];
        if shape == "mixed" {
            parts = (0..self.rng.range(2, 3))
                .map(|_| self.rng.pick(&shapes[2..shapes.len() - 1]))
                .collect();
        }
        for part in parts {
            match part {
                "ports" => {
                    let n = self.rng.pick(&[1, 2, 4, 8, 12, 16]);
                    for _ in 0..n {
                        let p = self.rng.percent(place_pct);
                        self.pci_controller("pcie-root-port", p);
                    }
                }
                "legacy" => {
                    let p = self.rng.percent(place_pct);
                    self.pci_controller("pcie-root-port", p);
                    self.pci_controller("pcie-to-pci-bridge", true);
                    if self.rng.percent(40) {
                        self.pci_controller("pci-bridge", true);
                    }
                }
                "dmi" => {
                    let p = self.rng.percent(place_pct);
                    self.pci_controller("dmi-to-pci-bridge", p);
                    for _ in 0..self.rng.range(1, 3) {
                        self.pci_controller("pci-bridge", true);
                    }
                }
                "switch" => {
                    let p = self.rng.percent(place_pct);
                    self.pci_controller("pcie-root-port", p);
                    self.pci_controller("pcie-switch-upstream-port", true);
                    for _ in 0..self.rng.range(1, 8) {
                        let p = self.rng.percent(place_pct);
                        self.pci_controller("pcie-switch-downstream-port", p);
                    }
                    if self.rng.percent(30) {
                        self.pci_controller("pcie-to-pci-bridge", true);
                    }
                }
                "expander" if class.pcie() => {
                    let p = self.rng.percent(place_pct);
                    let pxb = self.pci_controller("pcie-expander-bus", p);
                    for _ in 0..self.rng.range(1, 4) {
                        // root ports only land on the expander when put there by hand
                        self.pci_controller_on("pcie-root-port", pxb);
                    }
                    if self.rng.percent(30) {
                        self.pci_controller_on("dmi-to-pci-bridge", pxb);
                    }
                }
                "expander" => {
                    let p = self.rng.percent(place_pct);
                    let pxb = self.pci_controller("pci-expander-bus", p);
                    if self.rng.percent(50) {
                        self.pci_controller_on("pci-bridge", pxb);
                    }
                    // endpoints only land on the expander when put there by hand
                    self.explicit_pct = self.explicit_pct.max(30);
                }
                "bridges" => {
                    for _ in 0..self.rng.range(1, 6) {
                        let p = self.rng.percent(place_pct);
                        self.pci_controller("pci-bridge", p);
                    }
                }
                _ => {}
            }
        }
    }

    /// A controller put by hand on bus `parent` (a free slot there).
    fn pci_controller_on(&mut self, model: &'static str, parent: u32) -> u32 {
        let index = self.pci_controller(model, false);
        let class = self.class;
        let Some(pos) = self.bus_pos(parent) else {
            return index;
        };
        let Some(slot) = self.buses[pos]
            .slots(class)
            .into_iter()
            .find(|&s| self.buses[pos].slot_free(s))
        else {
            return index;
        };
        self.buses[pos].used.insert((slot, 0));
        let addr = hex_addr(parent, slot, 0, false);
        let frag = &mut self.frags.last_mut().unwrap().1;
        if let Some(stripped) = frag.strip_suffix("/>") {
            *frag = format!("{stripped}>\n      {addr}\n    </controller>");
        } else if let Some(stripped) = frag.strip_suffix("\n    </controller>") {
            *frag = format!("{stripped}\n      {addr}\n    </controller>");
        }
        index
    }

    // ------------------------------------------------------------------ devices

    fn disk(&mut self, bus: &'static str) {
        let (prefix, dev_bus) = match bus {
            "virtio" => ("vd", "virtio"),
            "sata" => ("sd", "sata"),
            "scsi" => ("sd", "scsi"),
            "usb" => ("sd", "usb"),
            _ => ("hd", "ide"),
        };
        let dev = self.drive_name(prefix);
        let model = if bus == "virtio" && self.rng.percent(15) {
            format!(
                " model='{}'",
                self.rng
                    .pick(&["virtio-transitional", "virtio-non-transitional"])
            )
        } else {
            String::new()
        };
        let cdrom = bus == "sata" && self.rng.percent(30);
        let addr = if bus == "virtio" {
            self.endpoint_addr()
        } else {
            String::new()
        };
        let xml = if cdrom {
            format!(
                "<disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>\n      <target dev='{dev}' bus='{dev_bus}'/>\n      <readonly/>\n    </disk>"
            )
        } else {
            format!(
                "<disk type='file' device='disk'{model}>\n      <driver name='qemu' type='qcow2'/>\n      <source file='/var/lib/libvirt/images/{dev}.qcow2'/>\n      <target dev='{dev}' bus='{dev_bus}'/>{addr}\n    </disk>"
            )
        };
        self.push(G_DISK, xml);
    }

    /// The next free target name with this prefix (`sd` names are shared by SATA,
    /// SCSI and USB disks).
    fn drive_name(&mut self, prefix: &'static str) -> String {
        let n = self.count(prefix, 0);
        dev_name(prefix, n)
    }

    /// The next number of a counter (starting at `first`).
    fn count(&mut self, what: &'static str, first: usize) -> usize {
        let n = self.counters.entry(what).or_insert(first);
        *n += 1;
        *n - 1
    }

    fn nic(&mut self, model: Option<&str>) {
        self.nic_at(model, None);
    }

    /// A NIC; `addr` is its `<address>` line, or `None` for [`Gen::endpoint_addr`].
    fn nic_at(&mut self, model: Option<&str>, addr: Option<String>) {
        let mac = self.rng.next();
        let source = if self.rng.percent(30) {
            "<interface type='network'>\n      <source network='default'/>".to_string()
        } else {
            "<interface type='user'>".to_string()
        };
        let model = model
            .map(|m| format!("\n      <model type='{m}'/>"))
            .unwrap_or_default();
        let addr = addr.unwrap_or_else(|| self.endpoint_addr());
        self.push(
            G_NET,
            format!(
                "{source}\n      <mac address='52:54:00:{:02x}:{:02x}:{:02x}'/>{model}{addr}\n    </interface>",
                mac & 0xff,
                (mac >> 8) & 0xff,
                (mac >> 16) & 0xff
            ),
        );
    }

    fn controller(&mut self, kind: &str, index: usize, model: Option<&str>, extra: &str) {
        // i440fx pins USB index 0 (PIIX3 UHCI, or no model) to 00:01.2: say so or say nothing
        let piix3 = self.class == Class::Pc
            && kind == "usb"
            && index == 0
            && matches!(model, None | Some("piix3-uhci"));
        let model = model.map(|m| format!(" model='{m}'")).unwrap_or_default();
        let addr = if !piix3 {
            self.endpoint_addr()
        } else if self.rng.percent(20) {
            format!("\n      {}", hex_addr(0, 1, 2, false))
        } else {
            String::new()
        };
        let inner = format!("{extra}{addr}");
        let xml = if inner.is_empty() {
            format!("<controller type='{kind}' index='{index}'{model}/>")
        } else {
            format!("<controller type='{kind}' index='{index}'{model}>{inner}\n    </controller>")
        };
        self.push(G_CTRL, xml);
    }

    fn usb(&mut self) {
        let class = self.class;
        let n = self.rng.pick(&[0, 1, 1, 1, 2, 3]);
        // aarch64 virt gets no implicit USB controller
        self.usb_ok = n > 0 || class.x86();
        self.usb_next = n;
        if n == 0 {
            if self.rng.percent(15) {
                self.push(
                    G_CTRL,
                    "<controller type='usb' index='0' model='none'/>".into(),
                );
                self.usb_ok = false;
                self.note("usb none");
            }
            return;
        }
        for i in 0..n {
            if class.x86() && self.rng.percent(15) {
                // EHCI with its three UHCI companions, sharing one index
                self.controller("usb", i, Some("ich9-ehci1"), "");
                for (k, m) in ["ich9-uhci1", "ich9-uhci2", "ich9-uhci3"]
                    .iter()
                    .enumerate()
                {
                    let extra = format!("\n      <master startport='{}'/>", k * 2);
                    self.controller("usb", i, Some(m), &extra);
                }
                self.note("usb2 companions");
                continue;
            }
            let models: &[Option<&str>] = match class {
                Class::Virt => &[Some("qemu-xhci"), Some("nec-xhci"), None, Some("pci-ohci")],
                _ => &[
                    Some("qemu-xhci"),
                    Some("nec-xhci"),
                    Some("piix3-uhci"),
                    Some("piix4-uhci"),
                    Some("ehci"),
                    Some("pci-ohci"),
                    None,
                ],
            };
            let m = self.rng.pick(models);
            self.controller("usb", i, m, "");
        }
    }

    fn video(&mut self) {
        let class = self.class;
        let models: &[&str] = match class {
            Class::Virt => &["virtio", "virtio", "bochs", "ramfb"],
            _ => &["vga", "cirrus", "qxl", "virtio", "bochs", "vga", "qxl"],
        };
        let m = self.rng.pick(models);
        let count = if class.x86() && self.rng.percent(10) {
            2
        } else {
            1
        };
        for k in 0..count {
            let m = if k == 0 { m } else { "qxl" };
            let extra = match m {
                "qxl" => " ram='65536' vram='65536' vgamem='16384' heads='1'",
                "vga" | "cirrus" | "bochs" => " vram='16384' heads='1'",
                "virtio" => " heads='1'",
                _ => "",
            };
            let primary = if k == 0 && count > 1 {
                " primary='yes'"
            } else {
                ""
            };
            let addr = if m == "ramfb" {
                String::new()
            } else {
                self.endpoint_addr()
            };
            self.push(
                G_VIDEO,
                format!("<video>\n      <model type='{m}'{extra}{primary}/>{addr}\n    </video>"),
            );
        }
    }

    fn once(&mut self, what: &'static str) -> bool {
        self.singletons.insert(what)
    }

    /// One device of a random kind.
    fn device(&mut self, kinds: &[&'static str]) {
        let class = self.class;
        let kind = self.rng.pick(kinds);
        match kind {
            "disk-virtio" => self.disk("virtio"),
            "disk-sata" if class == Class::Q35 => self.disk("sata"),
            "disk-ide" if class == Class::Pc => self.disk("ide"),
            "disk-scsi" => self.disk("scsi"),
            "disk-usb" if self.usb_ok => self.disk("usb"),
            "nic-virtio" => self.nic(Some("virtio")),
            "nic-transitional" => self.nic(Some("virtio-transitional")),
            "nic-non-transitional" => self.nic(Some("virtio-non-transitional")),
            "nic-e1000" => self.nic(Some("e1000")),
            "nic-e1000e" => self.nic(Some("e1000e")),
            "nic-rtl8139" => self.nic(Some("rtl8139")),
            "nic-default" => self.nic(None),
            "scsi" => {
                let models: &[Option<&str>] = &[
                    Some("virtio-scsi"),
                    Some("virtio-scsi"),
                    Some("virtio-transitional"),
                    Some("virtio-non-transitional"),
                    Some("lsilogic"),
                    Some("lsisas1068"),
                    Some("lsisas1078"),
                    Some("vmpvscsi"),
                    None,
                ];
                let m = self.rng.pick(models);
                let i = self.count("scsi-ctrl", 0);
                self.controller("scsi", i, m, "");
            }
            "virtio-serial" => {
                let m = self.rng.pick(&[
                    None,
                    None,
                    Some("virtio-transitional"),
                    Some("virtio-non-transitional"),
                ]);
                let i = self.count("vser-ctrl", 0);
                self.controller("virtio-serial", i, m, "");
            }
            "channel" => {
                self.push(
                    G_CHAR,
                    "<channel type='unix'>\n      <target type='virtio' name='org.qemu.guest_agent.0'/>\n    </channel>"
                        .into(),
                );
            }
            "sata-ctrl" if class.x86() => {
                let i = self.count("sata-ctrl", 1);
                self.controller("sata", i, None, "");
            }
            "balloon" if self.once("balloon") => {
                let m = self.rng.pick(&[
                    "virtio",
                    "virtio",
                    "virtio-transitional",
                    "virtio-non-transitional",
                ]);
                let addr = self.endpoint_addr();
                let xml = if addr.is_empty() {
                    format!("<memballoon model='{m}'/>")
                } else {
                    format!("<memballoon model='{m}'>{addr}\n    </memballoon>")
                };
                self.push(G_BALLOON, xml);
            }
            "rng" => {
                let m = self.rng.pick(&["virtio", "virtio", "virtio-transitional"]);
                let addr = self.endpoint_addr();
                self.push(
                    G_RNG,
                    format!(
                        "<rng model='{m}'>\n      <backend model='random'>/dev/urandom</backend>{addr}\n    </rng>"
                    ),
                );
            }
            "sound" if class.x86() => {
                let m = self
                    .rng
                    .pick(&["ich6", "ich9", "ac97", "es1370", "ich9", "sb16"]);
                let addr = if m == "sb16" {
                    String::new()
                } else {
                    self.endpoint_addr()
                };
                let xml = if addr.is_empty() {
                    format!("<sound model='{m}'/>")
                } else {
                    format!("<sound model='{m}'>{addr}\n    </sound>")
                };
                self.push(G_SOUND, xml);
            }
            "watchdog" if class.x86() && self.once("watchdog") => {
                let addr = self.endpoint_addr();
                self.push(
                    G_WATCHDOG,
                    format!("<watchdog model='i6300esb' action='reset'>{addr}\n    </watchdog>"),
                );
            }
            "input" => {
                let t = self.rng.pick(&["tablet", "keyboard", "mouse"]);
                let addr = self.endpoint_addr();
                let xml = if addr.is_empty() {
                    format!("<input type='{t}' bus='virtio'/>")
                } else {
                    format!("<input type='{t}' bus='virtio'>{addr}\n    </input>")
                };
                self.push(G_INPUT, xml);
            }
            "fs" => {
                let n = self.count("fs", 0);
                let model = if self.rng.percent(20) {
                    " model='virtio-transitional'"
                } else {
                    ""
                };
                let addr = self.endpoint_addr();
                self.push(
                    G_FS,
                    format!(
                        "<filesystem type='mount' accessmode='mapped'{model}>\n      <source dir='/srv/share{n}'/>\n      <target dir='share{n}'/>{addr}\n    </filesystem>"
                    ),
                );
            }
            "pci-serial" => {
                let addr = self.endpoint_addr();
                self.push(
                    G_CHAR,
                    format!(
                        "<serial type='pty'>\n      <target type='pci-serial'>\n        <model name='pci-serial'/>\n      </target>{addr}\n    </serial>"
                    ),
                );
            }
            "shmem" => {
                let n = self.count("shmem", 0);
                let addr = self.endpoint_addr();
                self.push(
                    G_SHMEM,
                    format!(
                        "<shmem name='shmem{n}'>\n      <model type='ivshmem-plain'/>\n      <size unit='M'>4</size>{addr}\n    </shmem>"
                    ),
                );
            }
            "vsock" if self.once("vsock") => {
                let addr = self.endpoint_addr();
                self.push(
                    G_VSOCK,
                    format!("<vsock model='virtio'>\n      <cid auto='yes'/>{addr}\n    </vsock>"),
                );
            }
            "iommu" if self.once("iommu") => {
                // on aarch64 it needs ACPI, which needs UEFI (the iommu hunt goes
                // without them and to i440fx)
                if class == Class::Virt {
                    self.arm_acpi = true;
                    self.uefi = self.uefi.or(Some(Uefi::Auto));
                }
                self.push(G_IOMMU, "<iommu model='virtio'/>".into());
            }
            _ => {}
        }
    }

    /// Two to four devices sharing one slot by hand (function 0 says multifunction).
    fn multifunction(&mut self) {
        let all: Vec<&str> = self
            .buses
            .iter()
            .filter(|b| b.slots(self.class).len() > 1)
            .map(|b| b.model)
            .collect();
        let Some((bus, slot)) = self.free_slot_on(&all, true) else {
            return;
        };
        let k = self.rng.range(2, 4);
        let say_multi = self.rng.percent(80);
        self.note(format!("multifunction bus {bus} slot {slot} x{k}"));
        for f in 0..k {
            let addr = format!(
                "\n      {}",
                hex_addr(bus, slot, f as u32, f == 0 && say_multi)
            );
            let m = self.rng.pick(&["e1000", "rtl8139", "virtio"]);
            let mac = self.rng.next();
            self.push(
                G_NET,
                format!(
                    "<interface type='user'>\n      <mac address='52:54:00:{:02x}:{:02x}:{:02x}'/>\n      <model type='{m}'/>{addr}\n    </interface>",
                    mac & 0xff,
                    (mac >> 8) & 0xff,
                    (mac >> 16) & 0xff
                ),
            );
        }
        if let Some(pos) = self.bus_pos(bus) {
            for f in 1..k {
                self.buses[pos].used.insert((slot, f as u32));
            }
        }
    }

    /// One deliberately illegal (or legal but unusual) thing.
    fn oddity(&mut self) {
        let class = self.class;
        let choice = self.rng.below(16);
        let index = self.next_index;
        let x = match choice {
            0 => {
                let wrong = if class.pcie() {
                    "pci-root"
                } else {
                    "pcie-root"
                };
                format!("<controller type='pci' index='0' model='{wrong}'/>")
            }
            1 => {
                let wrong = if class.pcie() {
                    "pci-expander-bus"
                } else {
                    "pcie-expander-bus"
                };
                self.next_index += 1;
                format!("<controller type='pci' index='{index}' model='{wrong}'/>")
            }
            2 => {
                // a device on a bus far beyond the last controller: pass 1 adds buses
                let bus = index + self.rng.range(0, 6) as u32;
                let slot = if class.pcie() { 0 } else { 1 };
                self.next_index = bus + 1;
                return self.odd_nic(
                    hex_addr(bus, slot, 0, false),
                    "device on a bus beyond the last controller",
                );
            }
            3 => {
                // slot 0 of the root bus (the host bridge)
                return self.odd_nic(hex_addr(0, 0, 0, false), "device at 00:00.0");
            }
            4 => {
                // a slot other than 0 behind a root port / downstream port
                let Some(b) = self.buses.iter().find(|b| {
                    b.model == "pcie-root-port" || b.model == "pcie-switch-downstream-port"
                }) else {
                    return self.odd_nic(hex_addr(0, 0x1f, 4, false), "device at 00:1f.4");
                };
                let bus = b.index;
                return self.odd_nic(hex_addr(bus, 3, 0, false), "slot 3 behind a port");
            }
            5 => {
                // two devices on one address
                let addr = hex_addr(0, 0x11, 0, false);
                self.odd_nic(addr.clone(), "double use, first");
                return self.odd_nic(addr, "double use, second");
            }
            6 => {
                // a switch upstream port straight on the root bus
                self.next_index += 1;
                format!(
                    "<controller type='pci' index='{index}' model='pcie-switch-upstream-port'>\n      {}\n    </controller>",
                    hex_addr(0, 0x12, 0, false)
                )
            }
            7 => {
                // a root port on a conventional PCI bridge, or a dmi bridge on a root port
                let target = self
                    .buses
                    .iter()
                    .find(|b| matches!(b.model, "pci-bridge" | "pcie-root-port"))
                    .map(|b| (b.index, b.model));
                self.next_index += 1;
                match target {
                    Some((bus, "pci-bridge")) => format!(
                        "<controller type='pci' index='{index}' model='pcie-root-port'>\n      {}\n    </controller>",
                        hex_addr(bus, 0x1e, 0, false)
                    ),
                    Some((bus, _)) => format!(
                        "<controller type='pci' index='{index}' model='dmi-to-pci-bridge'>\n      {}\n    </controller>",
                        hex_addr(bus, 0, 0, false)
                    ),
                    None => format!(
                        "<controller type='pci' index='{index}' model='pcie-switch-downstream-port'/>"
                    ),
                }
            }
            8 => {
                self.next_index += 1;
                format!(
                    "<controller type='pci' index='{}' model='pci-bridge'/>",
                    256
                )
            }
            9 => {
                self.next_index += 1;
                format!(
                    "<controller type='pci' index='{index}' model='pci-bridge'>\n      <target chassisNr='0'/>\n    </controller>"
                )
            }
            10 => {
                self.next_index += 1;
                format!(
                    "<controller type='pci' index='{index}' model='pcie-root-port'>\n      <model name='pci-bridge'/>\n    </controller>"
                )
            }
            11 => {
                // a pci-bridge whose index is not larger than the bus it sits on
                self.next_index += 2;
                format!(
                    "<controller type='pci' index='{}' model='pci-bridge'>\n      {}\n    </controller>\n    <controller type='pci' index='{index}' model='pci-bridge'>\n      {}\n    </controller>",
                    index + 1,
                    hex_addr(index, 5, 0, false),
                    hex_addr(index + 1, 5, 0, false)
                )
            }
            12 => {
                let primary = match class {
                    Class::Q35 => {
                        "<controller type='sata' index='0'>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>\n    </controller>"
                    }
                    Class::Pc => {
                        "<controller type='usb' index='0' model='piix3-uhci'>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>\n    </controller>"
                    }
                    Class::Virt => {
                        "<controller type='usb' index='0' model='qemu-xhci'>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x00' function='0x0'/>\n    </controller>"
                    }
                };
                primary.to_string()
            }
            13 => {
                // duplicate index
                let dup = self.next_index.saturating_sub(1).max(1);
                format!("<controller type='pci' index='{dup}' model='pci-bridge'/>")
            }
            14 => "<input type='keyboard' bus='virtio' model='virtio-transitional'/>".to_string(),
            _ => {
                // a root port with an explicit far-away port number and hotplug off: legal
                self.next_index += 1;
                format!(
                    "<controller type='pci' index='{index}' model='pcie-root-port'>\n      <target chassis='{index}' port='0xf0' hotplug='off'/>\n    </controller>"
                )
            }
        };
        self.note(format!("oddity {choice}"));
        self.push(if choice == 14 { G_INPUT } else { G_CTRL }, x);
    }

    // ------------------------------------------------------------------ hunting

    /// One of the things people write and tools get wrong (each seen to trip a
    /// predictor), picked by weight among those for this class ([`ADDRESSING_HUNTS`],
    /// [`DEVICE_HUNTS`]): repeated
    /// singletons, secondary video of a primary-only type, addresses on chipset
    /// functions, on buses that do not exist yet, disk names libvirt cannot read, USB2
    /// companion groups, versioned or unknown machine types, and explicit bridges and
    /// ports mixed with unaddressed devices; then devices whose placement or validity
    /// depends on a model list or on another part of the domain (NIC models, virtio
    /// crypto, USB devices without USB, ACPI on aarch64, floppies, cdroms, spicevmc,
    /// USB controller models, the xen balloon, IOMMU and panic models, virtiofs).
    fn hunt(&mut self) {
        let class = self.class;
        let what = {
            let here: Vec<(&'static str, usize)> = ADDRESSING_HUNTS
                .iter()
                .chain(DEVICE_HUNTS)
                .filter(|h| h.2.contains(&class))
                .map(|h| (h.0, h.1))
                .collect();
            let mut r = self.rng.below(here.iter().map(|h| h.1).sum());
            let mut what = here[0].0;
            for (name, weight) in here {
                if r < weight {
                    what = name;
                    break;
                }
                r -= weight;
            }
            what
        };
        self.note(format!("hunt {what}"));
        match what {
            "singleton" => {
                let k = self.rng.range(2, 3);
                if class.x86() && self.rng.percent(50) {
                    for _ in 0..k {
                        let addr = self.endpoint_addr();
                        self.push(
                            G_WATCHDOG,
                            format!(
                                "<watchdog model='i6300esb' action='reset'>{addr}\n    </watchdog>"
                            ),
                        );
                    }
                } else {
                    for _ in 0..k {
                        let m = self.rng.pick(&["virtio", "virtio-transitional", "none"]);
                        self.push(G_BALLOON, format!("<memballoon model='{m}'/>"));
                    }
                }
            }
            "video" => {
                let types: &[&str] = match class {
                    Class::Virt => &["virtio", "ramfb", "bochs", "vga"],
                    _ => &["vga", "cirrus", "bochs", "virtio", "qxl", "ramfb", "none"],
                };
                let n = self.rng.range(2, 3);
                let primary = self.rng.below(n + 1);
                for k in 0..n {
                    let m = self.rng.pick(types);
                    let p = if k == primary { " primary='yes'" } else { "" };
                    let addr = if m == "ramfb" || m == "none" {
                        String::new()
                    } else {
                        self.endpoint_addr()
                    };
                    self.push(
                        G_VIDEO,
                        format!("<video>\n      <model type='{m}'{p}/>{addr}\n    </video>"),
                    );
                }
            }
            "chipset" => {
                let (slot, f) = match class {
                    Class::Q35 => (0x1f, self.rng.range(0, 6) as u32),
                    Class::Pc => (1, self.rng.range(0, 3) as u32),
                    Class::Virt => (0, 0),
                };
                let m = self.rng.pick(&["e1000", "rtl8139", "virtio"]);
                self.odd_nic_model(m, hex_addr(0, slot, f, false), "chipset function");
            }
            "future-bus" => {
                let bus = self.next_index + self.rng.range(0, 3) as u32;
                self.next_index = bus + 1;
                let slot = self.rng.pick(&[0, 0, 1, 4, 31]);
                let m = self.rng.pick(&["rtl8139", "e1000", "e1000e", "virtio"]);
                self.odd_nic_model(m, hex_addr(bus, slot, 0, false), "bus not there yet");
            }
            "disk-name" => {
                let (dev, bus) = self.rng.pick(&[
                    ("vd0", "virtio"),
                    ("vd", "virtio"),
                    ("vdA", "virtio"),
                    ("xvda", "virtio"),
                    ("sd1", "scsi"),
                    ("hd", "sata"),
                    ("sda1", "sata"),
                ]);
                let bus = if bus == "sata" && class != Class::Q35 {
                    "scsi"
                } else {
                    bus
                };
                let addr = if bus == "virtio" && self.rng.percent(40) {
                    self.endpoint_addr()
                } else {
                    String::new()
                };
                self.push(
                    G_DISK,
                    format!(
                        "<disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n      <source file='/var/lib/libvirt/images/odd.qcow2'/>\n      <target dev='{dev}' bus='{bus}'/>{addr}\n    </disk>"
                    ),
                );
            }
            "usb2" if class.x86() => {
                // An EHCI with its UHCI companions, whole or in part, with or
                // without masters and addresses, as people copy them around.
                let index = self.rng.pick(&[0, 0, 1]);
                let slot = self.rng.pick(&[0x1d, 0x07, 0x0a]);
                let by_hand = self.rng.percent(40);
                let masters = self.rng.percent(80);
                let members = [
                    ("ich9-ehci1", 7),
                    ("ich9-uhci1", 0),
                    ("ich9-uhci2", 1),
                    ("ich9-uhci3", 2),
                ];
                let skip = if self.rng.percent(25) {
                    self.rng.below(4)
                } else {
                    9
                };
                for (k, (m, f)) in members.iter().enumerate() {
                    if k == skip {
                        continue;
                    }
                    let mut inner = String::new();
                    if k > 0 && masters {
                        let _ = write!(inner, "\n      <master startport='{}'/>", (k - 1) * 2);
                    }
                    if by_hand {
                        let _ = write!(inner, "\n      {}", hex_addr(0, slot, *f, *f == 0));
                    }
                    let xml = if inner.is_empty() {
                        format!("<controller type='usb' index='{index}' model='{m}'/>")
                    } else {
                        format!(
                            "<controller type='usb' index='{index}' model='{m}'>{inner}\n    </controller>"
                        )
                    };
                    self.push(G_CTRL, xml);
                }
                if by_hand && let Some(root) = self.bus_pos(0) {
                    for f in [0, 1, 2, 7] {
                        self.buses[root].used.insert((slot, f));
                    }
                }
            }
            "machine" => {
                let m = match class {
                    Class::Q35 => self.rng.pick(&[
                        "pc-q35-9.2",
                        "pc-q35-10.0",
                        "pc-q35-7.1",
                        "pc-q35-5.2",
                        "pc-q35-2.12",
                        "pc-q35-99.0",
                        "foobar",
                    ]),
                    Class::Pc => self.rng.pick(&[
                        "pc-i440fx-9.2",
                        "pc-i440fx-10.0",
                        "pc-i440fx-6.2",
                        "pc-i440fx-2.12",
                        "pc-i440fx-99.0",
                        "foobar",
                    ]),
                    Class::Virt => {
                        self.rng
                            .pick(&["virt-9.2", "virt-10.0", "virt-6.2", "virt-99.0", "foobar"])
                    }
                };
                self.machine = Some(m);
            }
            "nic-model" => self.hunt_nic_model(),
            "crypto" => self.hunt_crypto(),
            "usb-off" => self.hunt_usb_off(),
            "acpi" => self.hunt_acpi(),
            "floppy" => self.hunt_floppy(),
            "cdrom" => self.hunt_cdrom(),
            "spicevmc" => self.hunt_spicevmc(),
            "usb-model" => self.hunt_usb_model(),
            "xen-balloon" => self.hunt_xen_balloon(),
            "iommu" => self.hunt_iommu(),
            "panic" => self.hunt_panic(),
            "virtiofs" => self.hunt_virtiofs(),
            "arm-devices" => self.hunt_arm_devices(),
            "video-none" => self.hunt_video_none(),
            _ => {
                // Explicit bridges and ports without addresses, with unaddressed
                // conventional and express devices that must find a place among them.
                let models: &[&'static str] = match class {
                    Class::Pc => &["pci-bridge"],
                    _ => &[
                        "pcie-to-pci-bridge",
                        "pci-bridge",
                        "dmi-to-pci-bridge",
                        "pcie-root-port",
                        "switch",
                    ],
                };
                for _ in 0..self.rng.range(1, 3) {
                    match self.rng.pick(models) {
                        "switch" => {
                            let place = self.rng.percent(50);
                            self.pci_controller("pcie-switch-upstream-port", place);
                            for _ in 0..self.rng.range(1, 3) {
                                self.pci_controller("pcie-switch-downstream-port", false);
                            }
                        }
                        m => {
                            let place = self.rng.percent(30);
                            self.pci_controller(m, place);
                        }
                    }
                }
                for _ in 0..self.rng.range(1, 6) {
                    let m = self.rng.pick(&[
                        "e1000",
                        "rtl8139",
                        "virtio-transitional",
                        "virtio",
                        "e1000e",
                    ]);
                    self.nic(Some(m));
                }
            }
        }
    }

    fn odd_nic_model(&mut self, model: &str, addr: String, why: &str) {
        self.note(why.to_string());
        let mac = self.rng.next();
        self.push(
            G_NET,
            format!(
                "<interface type='user'>\n      <mac address='52:54:00:{:02x}:{:02x}:{:02x}'/>\n      <model type='{model}'/>\n      {addr}\n    </interface>",
                mac & 0xff,
                (mac >> 8) & 0xff,
                (mac >> 16) & 0xff
            ),
        );
    }

    fn odd_nic(&mut self, addr: String, why: &str) {
        self.note(why.to_string());
        let mac = self.rng.next();
        self.push(
            G_NET,
            format!(
                "<interface type='user'>\n      <mac address='52:54:00:{:02x}:{:02x}:{:02x}'/>\n      <model type='e1000'/>\n      {addr}\n    </interface>",
                mac & 0xff,
                (mac >> 8) & 0xff,
                (mac >> 16) & 0xff
            ),
        );
    }

    // ------------------------------------------------------------ device hunts

    /// NICs of every kind of model: libvirt's conventional ones, the PCI Express
    /// ones, names libvirt does not know, usb-net (a USB device in libvirt 11; 9.0
    /// looks for a PCI bus for it unless it has a USB address) and spapr-vlan (a
    /// spapr-vio device even on x86).
    fn hunt_nic_model(&mut self) {
        for _ in 0..self.rng.range(1, 3) {
            let r = self.rng.below(100);
            let m = if r < 40 {
                self.rng.pick(NIC_CONVENTIONAL)
            } else if r < 60 {
                self.rng.pick(NIC_EXPRESS)
            } else if r < 85 {
                self.rng.pick(NIC_UNKNOWN)
            } else if r < 93 {
                "usb-net"
            } else {
                "spapr-vlan"
            };
            self.note(format!("nic model {m}"));
            match m {
                "usb-net" => self.usb_net(),
                "spapr-vlan" => self.nic_at(Some(m), Some(String::new())),
                _ => self.nic(Some(m)),
            }
        }
    }

    /// A usb-net NIC, with a USB address when USB is there (and port 1 is free).
    fn usb_net(&mut self) {
        let addr = if self.usb_ok && self.rng.percent(40) && self.once("usb port 1") {
            self.note("usb-net with a USB address");
            "\n      <address type='usb' bus='0' port='1'/>".to_string()
        } else {
            String::new()
        };
        self.nic_at(Some("usb-net"), Some(addr));
    }

    /// virtio-crypto with the builtin backend, with and without an address (libvirt
    /// 9.0 drops the element; 11 places it).
    fn hunt_crypto(&mut self) {
        for _ in 0..self.rng.pick(&[1, 1, 1, 2]) {
            let addr = self.endpoint_addr();
            self.push(
                G_CRYPTO,
                format!(
                    "<crypto model='virtio' type='qemu'>\n      <backend model='builtin' queues='1'/>{addr}\n    </crypto>"
                ),
            );
        }
    }

    /// USB devices of every kind, in three guests of four with USB off (x86:
    /// `<controller type='usb' model='none'/>`; aarch64 virt: that, or no USB
    /// controller at all), in the fourth with USB on.
    fn hunt_usb_off(&mut self) {
        let off = self.rng.percent(75);
        let x86 = self.class.x86();
        if off || !self.usb_ok {
            self.frags
                .retain(|(g, f)| !(*g == G_CTRL && f.starts_with("<controller type='usb'")));
        }
        if off {
            if x86 || self.rng.percent(50) {
                self.push(
                    G_CTRL,
                    "<controller type='usb' index='0' model='none'/>".into(),
                );
            }
            self.usb_ok = false;
            self.usb_next = 1;
            self.note("usb devices with USB off");
        } else {
            if !self.usb_ok {
                self.push(
                    G_CTRL,
                    "<controller type='usb' index='0' model='qemu-xhci'/>".into(),
                );
                self.usb_ok = true;
                self.usb_next = 1;
            }
            self.note("usb devices with USB on");
        }
        // mostly one, so that the refusal (if any) is about that one
        for _ in 0..self.rng.pick(&[1, 1, 1, 2]) {
            self.usb_device();
        }
    }

    /// One device that sits on USB.
    fn usb_device(&mut self) {
        let kind = self.rng.pick(&[
            "input",
            "hub",
            "disk",
            "hostdev",
            "redirdev",
            "redirdev-spicevmc",
            "smartcard-host",
            "smartcard-passthrough",
            "sound",
            "usb-net",
            "usb-serial",
            "ccid",
        ]);
        self.note(format!("usb device {kind}"));
        match kind {
            "input" => {
                let t = self.rng.pick(&["tablet", "keyboard", "mouse"]);
                self.push(G_INPUT, format!("<input type='{t}' bus='usb'/>"));
            }
            "hub" => self.push(G_HUB, "<hub type='usb'/>".into()),
            "disk" => {
                let dev = self.drive_name("sd");
                self.push(
                    G_DISK,
                    format!(
                        "<disk type='file' device='disk'>\n      <driver name='qemu' type='raw'/>\n      <source file='/var/lib/libvirt/images/{dev}.img'/>\n      <target dev='{dev}' bus='usb'/>\n    </disk>"
                    ),
                );
            }
            "hostdev" => self.push(
                G_HOSTDEV,
                "<hostdev mode='subsystem' type='usb' managed='no'>\n      <source>\n        <vendor id='0x1234'/>\n        <product id='0xbeef'/>\n      </source>\n    </hostdev>"
                    .into(),
            ),
            "redirdev" => self.push(
                G_REDIRDEV,
                "<redirdev bus='usb' type='tcp'>\n      <source mode='connect' host='127.0.0.1' service='4000'/>\n    </redirdev>"
                    .into(),
            ),
            "redirdev-spicevmc" => {
                // with spice, so that what is refused is USB, not spicevmc
                self.spice = true;
                self.push(G_REDIRDEV, "<redirdev bus='usb' type='spicevmc'/>".into());
            }
            "smartcard-host" => self.push(G_SMARTCARD, "<smartcard mode='host'/>".into()),
            "smartcard-passthrough" => self.push(
                G_SMARTCARD,
                "<smartcard mode='passthrough' type='tcp'>\n      <source mode='connect' host='127.0.0.1' service='2001'/>\n      <protocol type='raw'/>\n    </smartcard>"
                    .into(),
            ),
            "sound" => self.push(G_SOUND, "<sound model='usb'/>".into()),
            "usb-net" => self.usb_net(),
            "usb-serial" => {
                let port = self.count("serial port", 1);
                self.push(
                    G_CHAR,
                    format!(
                        "<serial type='pty'>\n      <target type='usb-serial' port='{port}'/>\n    </serial>"
                    ),
                );
            }
            _ => {
                let i = self.count("ccid", 0);
                self.push(G_CTRL, format!("<controller type='ccid' index='{i}'/>"));
            }
        }
    }

    /// `<acpi/>` on aarch64, which libvirt accepts only with UEFI firmware: mostly
    /// with it (chosen by libvirt, or a pflash loader), sometimes without.
    fn hunt_acpi(&mut self) {
        self.arm_acpi = true;
        if self.rng.percent(75) {
            self.uefi = Some(self.rng.pick(&[Uefi::Auto, Uefi::Pflash]));
            self.note("acpi with uefi");
        } else {
            self.note("acpi without uefi");
        }
    }

    /// Floppies: fda..fdd on bus fdc, with and without drive addresses (one
    /// controller with one bus of two units: a second controller or bus is refused),
    /// a floppy on another bus, a disk or cdrom on bus fdc.
    fn hunt_floppy(&mut self) {
        if !self.once("floppy") {
            return;
        }
        let r = self.rng.below(100);
        if r < 8 {
            let device = self.rng.pick(&["disk", "cdrom"]);
            self.note(format!("{device} on bus fdc"));
            self.push(
                G_DISK,
                format!(
                    "<disk type='file' device='{device}'>\n      <source file='/var/lib/libvirt/images/fd.img'/>\n      <target dev='fda' bus='fdc'/>\n    </disk>"
                ),
            );
            return;
        }
        if r < 16 {
            let (prefix, bus) = match self.class {
                Class::Pc => self
                    .rng
                    .pick(&[("hd", "ide"), ("sd", "scsi"), ("vd", "virtio")]),
                _ => self
                    .rng
                    .pick(&[("sd", "sata"), ("sd", "scsi"), ("vd", "virtio")]),
            };
            let dev = self.drive_name(prefix);
            self.note(format!("floppy on bus {bus}"));
            self.push(
                G_DISK,
                format!(
                    "<disk type='file' device='floppy'>\n      <source file='/var/lib/libvirt/images/fd.img'/>\n      <target dev='{dev}' bus='{bus}'/>\n    </disk>"
                ),
            );
            return;
        }
        let first = if self.rng.percent(85) {
            0
        } else {
            self.rng.range(1, 3)
        };
        let last = (first + self.rng.range(0, 1)).min(3);
        for unit in first..=last {
            let addr = if self.rng.percent(40) {
                let bus = if self.rng.percent(90) { 0 } else { 1 };
                self.note("floppy with a drive address");
                format!(
                    "\n      <address type='drive' controller='{}' bus='{bus}' target='0' unit='{}'/>",
                    unit / 2,
                    unit % 2
                )
            } else {
                String::new()
            };
            let dev = dev_name("fd", unit);
            self.push(
                G_DISK,
                format!(
                    "<disk type='file' device='floppy'>\n      <driver name='qemu' type='raw'/>\n      <source file='/var/lib/libvirt/images/{dev}.img'/>\n      <target dev='{dev}' bus='fdc'/>{addr}\n    </disk>"
                ),
            );
        }
    }

    /// cdroms on every bus (virtio cannot eject; IDE is not on q35), and LUN
    /// passthrough on virtio (QEMU 10 has no SCSI in virtio-blk) and SCSI.
    fn hunt_cdrom(&mut self) {
        let buses: &[&str] = match self.class {
            Class::Pc => &["ide", "ide", "sata", "scsi", "usb", "virtio"],
            Class::Q35 => &["sata", "sata", "scsi", "usb", "virtio", "ide"],
            Class::Virt => &["scsi", "scsi", "usb", "virtio"],
        };
        for _ in 0..self.rng.range(1, 2) {
            if self.rng.percent(15) {
                let (prefix, bus) = self.rng.pick(&[("vd", "virtio"), ("sd", "scsi")]);
                let dev = self.drive_name(prefix);
                let addr = if bus == "virtio" {
                    self.endpoint_addr()
                } else {
                    String::new()
                };
                self.note(format!("lun on {bus}"));
                self.push(
                    G_DISK,
                    format!(
                        "<disk type='block' device='lun'>\n      <driver name='qemu' type='raw'/>\n      <source dev='/dev/sdz'/>\n      <target dev='{dev}' bus='{bus}'/>{addr}\n    </disk>"
                    ),
                );
                continue;
            }
            let mut bus = self.rng.pick(buses);
            if bus == "usb" && !self.usb_ok {
                bus = "scsi";
            }
            let prefix = match bus {
                "ide" => "hd",
                "virtio" => "vd",
                _ => "sd",
            };
            let dev = self.drive_name(prefix);
            let source = if self.rng.percent(50) {
                "\n      <source file='/var/lib/libvirt/images/install.iso'/>"
            } else {
                ""
            };
            let addr = if bus == "virtio" {
                self.endpoint_addr()
            } else {
                String::new()
            };
            self.note(format!("cdrom on {bus}"));
            self.push(
                G_DISK,
                format!(
                    "<disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>{source}\n      <target dev='{dev}' bus='{bus}'/>\n      <readonly/>{addr}\n    </disk>"
                ),
            );
        }
    }

    /// spicevmc chardevs (a virtio channel, a USB redirection, a smartcard; a serial
    /// port, which cannot be spicevmc at all) with spice graphics in two guests of
    /// three, without any or with VNC only (which does not count) in the others.
    fn hunt_spicevmc(&mut self) {
        for _ in 0..self.rng.range(1, 2) {
            let mut kinds = vec!["channel", "channel"];
            if self.usb_ok {
                kinds.extend(["redirdev", "smartcard"]);
            }
            if self.rng.percent(8) {
                kinds = vec!["serial"];
            }
            match self.rng.pick(&kinds) {
                "channel" if self.once("spicevmc channel") => self.push(
                    G_CHAR,
                    "<channel type='spicevmc'>\n      <target type='virtio' name='com.redhat.spice.0'/>\n    </channel>"
                        .into(),
                ),
                "redirdev" => {
                    self.push(G_REDIRDEV, "<redirdev bus='usb' type='spicevmc'/>".into());
                }
                "smartcard" if self.once("spicevmc smartcard") => self.push(
                    G_SMARTCARD,
                    "<smartcard mode='passthrough' type='spicevmc'/>".into(),
                ),
                "serial" => {
                    let port = self.count("serial port", 1);
                    self.note("spicevmc serial");
                    self.push(
                        G_CHAR,
                        format!("<serial type='spicevmc'>\n      <target port='{port}'/>\n    </serial>"),
                    );
                }
                _ => {}
            }
        }
        let r = self.rng.below(100);
        if r < 65 {
            self.spice = true;
            self.note("spicevmc with spice");
        } else if r < 85 || self.class.x86() {
            // x86 guests get VNC often enough from `build`
            self.note("spicevmc without spice");
        } else {
            self.note("spicevmc with VNC only");
            self.push(
                G_GFX,
                "<graphics type='vnc' port='-1' autoport='yes'/>".into(),
            );
        }
    }

    /// One more USB controller of any model, qusb1 and qusb2 (refused by libvirt for
    /// QEMU) and vt82c686b-uhci included; it replaces `model='none'`.
    fn hunt_usb_model(&mut self) {
        let models: &[&str] = match self.class {
            Class::Virt => &[
                "qemu-xhci",
                "nec-xhci",
                "pci-ohci",
                "ehci",
                "vt82c686b-uhci",
                "vt82c686b-uhci",
                "qusb1",
                "qusb2",
            ],
            _ => &[
                "qemu-xhci",
                "nec-xhci",
                "piix3-uhci",
                "piix4-uhci",
                "ehci",
                "pci-ohci",
                "ich9-ehci1",
                "vt82c686b-uhci",
                "vt82c686b-uhci",
                "qusb1",
                "qusb2",
            ],
        };
        let m = self.rng.pick(models);
        let before = self.frags.len();
        self.frags.retain(|(g, f)| {
            !(*g == G_CTRL && f.starts_with("<controller type='usb' index='0' model='none'"))
        });
        if self.frags.len() != before {
            self.usb_next = 0;
        }
        let index = self.usb_next;
        self.usb_next += 1;
        self.usb_ok = true;
        self.note(format!("usb controller {m}"));
        self.controller("usb", index, Some(m), "");
    }

    /// `<memballoon model='xen'>`, which QEMU guests cannot have, with and without an
    /// address; it replaces any other balloon.
    fn hunt_xen_balloon(&mut self) {
        self.frags.retain(|(g, _)| *g != G_BALLOON);
        self.singletons.insert("balloon");
        let addr = self.endpoint_addr();
        let xml = if addr.is_empty() {
            "<memballoon model='xen'/>".to_string()
        } else {
            format!("<memballoon model='xen'>{addr}\n    </memballoon>")
        };
        self.push(G_BALLOON, xml);
    }

    /// An IOMMU of every model on every machine: intel (q35 only; interrupt
    /// remapping wants the split I/O APIC in libvirt 9.0), smmuv3 (ARM virt only),
    /// virtio (q35 and ARM virt, where it needs ACPI and so UEFI).
    fn hunt_iommu(&mut self) {
        self.frags.retain(|(g, _)| *g != G_IOMMU);
        self.singletons.insert("iommu");
        let m = match self.class {
            Class::Q35 => self
                .rng
                .pick(&["intel", "intel", "intel", "virtio", "virtio", "smmuv3"]),
            Class::Pc => self.rng.pick(&["intel", "virtio", "smmuv3"]),
            Class::Virt => self
                .rng
                .pick(&["smmuv3", "smmuv3", "virtio", "virtio", "intel"]),
        };
        self.note(format!("iommu {m}"));
        let xml = match m {
            "intel" if self.rng.percent(40) => {
                if self.class.x86() && self.rng.percent(60) {
                    self.ioapic = true;
                    self.note("intremap with ioapic");
                } else {
                    self.note("intremap without ioapic");
                }
                "<iommu model='intel'>\n      <driver intremap='on'/>\n    </iommu>".to_string()
            }
            "virtio" => {
                if self.class == Class::Virt && self.rng.percent(80) {
                    self.arm_acpi = true;
                    self.uefi = self.uefi.or(Some(Uefi::Auto));
                }
                let addr = self.endpoint_addr();
                if addr.is_empty() {
                    "<iommu model='virtio'/>".to_string()
                } else {
                    format!("<iommu model='virtio'>{addr}\n    </iommu>")
                }
            }
            m => format!("<iommu model='{m}'/>"),
        };
        self.push(G_IOMMU, xml);
    }

    /// Panic devices: the x86 ones (isa, hyperv, both at once), pvpanic (PCI; not
    /// known to libvirt 9.0), the ones of other architectures (pseries, s390), no
    /// model (libvirt picks one per architecture) and two of one model.
    fn hunt_panic(&mut self) {
        let models: Vec<Option<&str>> = if self.class.x86() && self.rng.percent(15) {
            self.note("isa and hyperv panic");
            vec![Some("isa"), Some("hyperv")]
        } else if self.rng.percent(12) {
            let m = self.rng.pick(&["isa", "hyperv", "pvpanic"]);
            self.note("two panic devices of one model");
            vec![Some(m), Some(m)]
        } else {
            let m = match self.class {
                Class::Virt => self.rng.pick(&[
                    Some("pvpanic"),
                    Some("pvpanic"),
                    Some("pvpanic"),
                    None,
                    None,
                    Some("isa"),
                    Some("hyperv"),
                    Some("pseries"),
                    Some("s390"),
                ]),
                _ => self.rng.pick(&[
                    Some("isa"),
                    Some("isa"),
                    Some("isa"),
                    Some("hyperv"),
                    Some("hyperv"),
                    Some("pvpanic"),
                    Some("pvpanic"),
                    None,
                    Some("pseries"),
                    Some("s390"),
                ]),
            };
            vec![m]
        };
        for m in models {
            let xml = match m {
                None => "<panic/>".to_string(),
                Some("pvpanic") => {
                    let addr = self.endpoint_addr();
                    if addr.is_empty() {
                        "<panic model='pvpanic'/>".to_string()
                    } else {
                        format!("<panic model='pvpanic'>{addr}\n    </panic>")
                    }
                }
                Some(m) => format!("<panic model='{m}'/>"),
            };
            self.push(G_PANIC, xml);
        }
    }

    /// What an x86 guest has and ARM virt does not: an IDE controller, the QXL and
    /// VMware video cards (QEMU 7.2 has the latter on ARM, 10.0 does not), the CRB TPM
    /// (the TIS one it has), the ib700 watchdog (11.3 keeps it to i440fx).
    fn hunt_arm_devices(&mut self) {
        let (group, xml, what) = match self.rng.below(6) {
            0 => (
                G_CTRL,
                "<controller type='ide' index='0'/>".to_string(),
                "IDE",
            ),
            1 => (
                G_VIDEO,
                "<video><model type='qxl'/></video>".to_string(),
                "QXL",
            ),
            2 => (
                G_VIDEO,
                "<video><model type='vmvga'/></video>".to_string(),
                "vmvga",
            ),
            3 => (
                G_WATCHDOG,
                "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>".to_string(),
                "CRB TPM",
            ),
            4 => (
                G_WATCHDOG,
                "<tpm model='tpm-tis'><backend type='emulator' version='2.0'/></tpm>".to_string(),
                "TIS TPM",
            ),
            _ => (G_WATCHDOG, "<watchdog model='ib700'/>".to_string(), "ib700"),
        };
        self.note(format!("arm {what}"));
        self.push(group, xml);
    }

    /// A video of type none with a PCI address: no device, so the address claims
    /// nothing, even when another device is written at the same place.
    fn hunt_video_none(&mut self) {
        let addr = self.endpoint_addr();
        let xml = if addr.is_empty() {
            "<video><model type='none'/>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>\n    </video>".to_string()
        } else {
            format!("<video><model type='none'/>{addr}\n    </video>")
        };
        self.note("video none with an address");
        self.push(G_VIDEO, xml);
    }

    /// virtiofs filesystems, which libvirt accepts only with shared memory: memfd,
    /// shared file memory or a NUMA cell with shared access, in most guests; none in
    /// the others.
    fn hunt_virtiofs(&mut self) {
        if self.shared_memory.is_none() && self.rng.percent(75) {
            let how = self.rng.pick(&["memfd", "memfd", "numa", "numa", "file"]);
            self.shared_memory = Some(how);
            self.note("virtiofs with shared memory");
            self.note(format!("shared memory: {how}"));
        } else if self.shared_memory.is_none() {
            self.note("virtiofs without shared memory");
        }
        for _ in 0..self.rng.pick(&[1, 1, 1, 2]) {
            let n = self.count("fs", 0);
            let addr = self.endpoint_addr();
            self.push(
                G_FS,
                format!(
                    "<filesystem type='mount' accessmode='passthrough'>\n      <driver type='virtiofs'/>\n      <source dir='/srv/share{n}'/>\n      <target dir='share{n}'/>{addr}\n    </filesystem>"
                ),
            );
        }
    }

    fn build(mut self, number: usize) -> Case {
        let class = self.class;
        if self.rng.percent(8) {
            self.omit_index = true;
            self.note("PCI controllers without index");
        }
        self.topology();
        self.usb();
        if self.rng.percent(75) {
            self.video();
        }
        let kinds: Vec<&'static str> = {
            let mut k = vec![
                "disk-virtio",
                "disk-virtio",
                "disk-virtio",
                "nic-virtio",
                "nic-virtio",
                "nic-transitional",
                "nic-non-transitional",
                "nic-e1000",
                "nic-e1000e",
                "nic-rtl8139",
                "nic-default",
                "scsi",
                "virtio-serial",
                "channel",
                "balloon",
                "rng",
                "input",
                "fs",
                "pci-serial",
                "shmem",
                "vsock",
                "disk-scsi",
                "disk-usb",
            ];
            if class.x86() {
                k.extend(["sound", "watchdog", "sata-ctrl", "watchdog", "sound"]);
            }
            match class {
                Class::Q35 => k.extend(["disk-sata", "disk-sata"]),
                Class::Pc => k.extend(["disk-ide"]),
                Class::Virt => {}
            }
            if class.pcie() && self.rng.percent(5) {
                k.push("iommu");
            }
            k
        };
        let size = self.rng.below(100);
        let (count, focus): (usize, Vec<&'static str>) = if size < 70 {
            (self.rng.range(1, 15), kinds.clone())
        } else if size < 90 {
            (self.rng.range(15, 50), kinds.clone())
        } else {
            let focus = match self.rng.below(5) {
                0 => vec!["disk-virtio"],
                1 => vec!["nic-e1000", "nic-rtl8139"],
                2 => vec!["nic-transitional", "disk-virtio"],
                3 => vec!["nic-virtio", "nic-e1000e", "rng"],
                _ => kinds.clone(),
            };
            (self.rng.range(60, 260), focus)
        };
        self.note(format!("{count} devices"));
        for _ in 0..count {
            self.device(&focus);
        }
        if self.rng.percent(15) {
            self.multifunction();
        }
        if self.rng.percent(18) {
            self.oddity();
        }
        if self.rng.percent(60) {
            for _ in 0..self.rng.range(1, 2) {
                self.hunt();
            }
        }
        if self.spice {
            self.push(G_GFX, "<graphics type='spice' autoport='yes'/>".into());
        }
        // The things real guests carry that never get a PCI address.
        if class.x86() && self.rng.percent(60) {
            self.push(
                G_GFX,
                "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>\n      <listen type='address' address='127.0.0.1'/>\n    </graphics>".into(),
            );
        }
        if self.rng.percent(70) {
            self.push(
                G_CHAR,
                "<serial type='pty'>\n      <target port='0'/>\n    </serial>\n    <console type='pty'>\n      <target type='serial' port='0'/>\n    </console>".into(),
            );
        }
        if self.usb_ok && class.x86() && self.rng.percent(40) {
            self.push(G_INPUT, "<input type='tablet' bus='usb'/>".into());
        }

        let (arch, machine, emulator) = match class {
            Class::Q35 => (
                "x86_64",
                self.rng.pick(&["pc-q35-7.2", "q35"]),
                "/usr/bin/qemu-system-x86_64",
            ),
            Class::Pc => (
                "x86_64",
                self.rng.pick(&["pc-i440fx-7.2", "pc"]),
                "/usr/bin/qemu-system-x86_64",
            ),
            Class::Virt => (
                "aarch64",
                self.rng.pick(&["virt", "virt-7.2"]),
                "/usr/bin/qemu-system-aarch64",
            ),
        };
        let machine = self.machine.unwrap_or(machine);
        let u = [self.rng.next(), self.rng.next()];
        let uuid = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            u[0] >> 32,
            (u[0] >> 16) & 0xffff,
            u[0] & 0xfff,
            0x8000 | (u[1] >> 48) & 0x3fff,
            u[1] & 0xffff_ffff_ffff
        );
        let mem = self.rng.pick(&[1024, 2048, 4096, 8192]);
        let vcpu = self.rng.pick(&[1, 2, 4, 8]);
        let features = if class.x86() {
            let ioapic = if self.ioapic {
                "\n    <ioapic driver='qemu'/>"
            } else {
                ""
            };
            format!("  <features>\n    <acpi/>\n    <apic/>{ioapic}\n  </features>\n")
        } else {
            let acpi = if self.arm_acpi { "\n    <acpi/>" } else { "" };
            format!("  <features>{acpi}\n    <gic version='3'/>\n  </features>\n")
        };
        let (firmware, loader) = match self.uefi {
            None => ("", ""),
            Some(Uefi::Auto) => (" firmware='efi'", ""),
            Some(Uefi::Pflash) => (
                "",
                "\n    <loader readonly='yes' type='pflash'>/usr/share/AAVMF/AAVMF_CODE.fd</loader>",
            ),
        };
        let numa = if self.shared_memory == Some("numa") {
            let cpus = if vcpu == 1 {
                "0".to_string()
            } else {
                format!("0-{}", vcpu - 1)
            };
            format!(
                "\n    <numa>\n      <cell id='0' cpus='{cpus}' memory='{mem}' unit='MiB' memAccess='shared'/>\n    </numa>"
            )
        } else {
            String::new()
        };
        let cpu = match (class.x86(), numa.is_empty()) {
            (true, true) => String::new(),
            (true, false) => format!("  <cpu>{numa}\n  </cpu>\n"),
            (false, _) => format!(
                "  <cpu mode='custom' match='exact'>\n    <model fallback='forbid'>cortex-a57</model>{numa}\n  </cpu>\n"
            ),
        };
        let backing = match self.shared_memory {
            Some("memfd") => {
                "  <memoryBacking>\n    <source type='memfd'/>\n    <access mode='shared'/>\n  </memoryBacking>\n"
            }
            Some("file") => "  <memoryBacking>\n    <access mode='shared'/>\n  </memoryBacking>\n",
            _ => "",
        };
        let mut frags = std::mem::take(&mut self.frags);
        frags.sort_by_key(|f| f.0);
        let mut xml = String::new();
        let _ = write!(
            xml,
            "<domain type='qemu'>\n  <name>oracle-diff-{number:04}-{}</name>\n  <uuid>{uuid}</uuid>\n  <memory unit='MiB'>{mem}</memory>\n  <currentMemory unit='MiB'>{mem}</currentMemory>\n{backing}  <vcpu placement='static'>{vcpu}</vcpu>\n  <os{firmware}>\n    <type arch='{arch}' machine='{machine}'>hvm</type>{loader}\n    <boot dev='hd'/>\n  </os>\n{features}{cpu}  <clock offset='utc'/>\n  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>\n  <devices>\n    <emulator>{emulator}</emulator>\n",
            class.name()
        );
        for (_, f) in frags {
            let _ = writeln!(xml, "    {f}");
        }
        xml.push_str("  </devices>\n</domain>\n");
        Case {
            number,
            class,
            xml,
            notes: self.notes,
        }
    }
}

fn generate(seed: u64, number: usize) -> Case {
    Gen::new(seed, number).build(number)
}

/// The guests of `VIRT_PCI_ORACLE_FROM`, when set: every `*.xml` of that folder in
/// name order.
fn from_dir() -> Option<Vec<PathBuf>> {
    let dir = std::env::var_os("VIRT_PCI_ORACLE_FROM").map(PathBuf::from)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("VIRT_PCI_ORACLE_FROM={}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "VIRT_PCI_ORACLE_FROM={} holds no .xml file",
        dir.display()
    );
    Some(files)
}

/// A guest read from a file, classed by its architecture and machine type.
fn read_case(number: usize, file: &Path) -> Case {
    let xml = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let class = if xml.contains("arch='aarch64'") || xml.contains("arch=\"aarch64\"") {
        Class::Virt
    } else if xml.contains("q35") {
        Class::Q35
    } else {
        Class::Pc
    };
    Case {
        number,
        class,
        xml,
        notes: vec![format!("from {}", file.display())],
    }
}

// ------------------------------------------------------------ reading results

/// Reads XML with the crate's own lossless document (one parser in the project).
fn parse_xml(text: &str) -> Result<Document, String> {
    Document::parse(text).map_err(|e| e.to_string())
}

fn num(v: Option<&str>) -> Option<i64> {
    let v = v?.trim();
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

/// Device identity -> "address | controller facts", as score.py computes it.
fn address_map(text: &str) -> Result<BTreeMap<String, String>, String> {
    let doc = parse_xml(text)?;
    let mut out = BTreeMap::new();
    let Some(devices) = doc.child(doc.root(), "devices") else {
        return Ok(out);
    };
    let attr = |id, k: &str| doc.attr(id, k);
    let sub_attr = |id, child: &str, k: &str| doc.child(id, child).and_then(|c| doc.attr(c, k));
    let mut ordinals: BTreeMap<String, usize> = BTreeMap::new();
    let order = crate::support::libvirt_device_order(&doc, devices);
    for el in order {
        let tag = doc.name(el);
        let base = match tag {
            "controller" => format!(
                "controller[{},{}]",
                attr(el, "type").as_deref().unwrap_or("?"),
                num(attr(el, "index").as_deref()).map_or("?".to_string(), |i| i.to_string())
            ),
            "disk" => format!(
                "disk[{}]",
                sub_attr(el, "target", "dev").as_deref().unwrap_or("?")
            ),
            tag => tag.to_string(),
        };
        let n = ordinals.entry(base.clone()).or_insert(0);
        let key = match tag {
            "controller" | "disk" if *n == 0 => base.clone(),
            _ => format!("{base}#{n}"),
        };
        *n += 1;
        let addr = doc.child(el, "address").and_then(|a| {
            let v = |k: &str| num(attr(a, k).as_deref());
            match attr(a, "type").as_deref() {
                Some("pci") => Some(format!(
                    "pci {:04x}:{:02x}:{:02x}.{:x}{}",
                    v("domain").unwrap_or(0),
                    v("bus").unwrap_or(0),
                    v("slot").unwrap_or(0),
                    v("function").unwrap_or(0),
                    if attr(a, "multifunction").as_deref() == Some("on") {
                        " mf"
                    } else {
                        ""
                    }
                )),
                Some("virtio-mmio") => Some("virtio-mmio".to_string()),
                _ => None,
            }
        });
        let mut extra = String::new();
        if tag == "controller" && attr(el, "type").as_deref() == Some("pci") {
            let _ = write!(
                extra,
                "{} name={}",
                attr(el, "model").as_deref().unwrap_or("-"),
                sub_attr(el, "model", "name").as_deref().unwrap_or("-")
            );
            if let Some(t) = doc.child(el, "target") {
                for k in ["chassisNr", "chassis", "port", "busNr"] {
                    if let Some(v) = num(attr(t, k).as_deref()) {
                        let _ = write!(extra, " {k}={v}");
                    }
                }
                if let Some(node) = doc.child(t, "node") {
                    let _ = write!(extra, " node={}", doc.text(node).trim());
                }
            }
        }
        if addr.is_none() && extra.is_empty() {
            continue;
        }
        out.insert(
            key,
            format!("{} {extra}", addr.as_deref().unwrap_or("no-address"))
                .trim()
                .to_string(),
        );
    }
    Ok(out)
}

fn diff_maps(want: &BTreeMap<String, String>, got: &BTreeMap<String, String>) -> Vec<String> {
    let keys: BTreeSet<&String> = want.keys().chain(got.keys()).collect();
    keys.into_iter()
        .filter(|k| want.get(*k) != got.get(*k))
        .map(|k| {
            format!(
                "{k}: libvirt={} ours={}",
                want.get(k).map_or("-", |s| s.as_str()),
                got.get(k).map_or("-", |s| s.as_str())
            )
        })
        .collect()
}

// ----------------------------------------------------------------- running

/// What one program said about one guest.
pub(crate) enum Answer {
    Accepted(String),
    Refused(String),
    /// Not a verdict: the program crashed, or the oracle's daemon did not answer.
    Broken(String),
}

impl Answer {
    fn word(&self) -> &'static str {
        match self {
            Answer::Accepted(_) => "accepts",
            Answer::Refused(_) => "refuses",
            Answer::Broken(_) => "broke",
        }
    }
    fn text(&self) -> &str {
        match self {
            Answer::Accepted(s) | Answer::Refused(s) | Answer::Broken(s) => s,
        }
    }
}

fn run(cmd: &mut Command) -> Result<(Option<i32>, String, String), String> {
    let out = cmd.output().map_err(|e| e.to_string())?;
    Ok((
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Errors that say the oracle itself is not working, not that libvirt refused.
fn oracle_trouble(stderr: &str) -> bool {
    [
        "failed to connect",
        "Failed to connect socket",
        "Cannot check QEMU binary",
        "does not support virt type",
        "No such file or directory: 'virsh'",
        "command not found",
        "Cannot recv data",
        "End of file while reading data",
    ]
    .iter()
    .any(|p| stderr.contains(p))
}

pub(crate) fn ask_oracle(oracle: &Path, file: &Path) -> Answer {
    let mut last = String::new();
    for attempt in 0..6 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(1000 * attempt));
        }
        match run(Command::new("bash").arg(oracle).arg(file)) {
            Err(e) => last = format!("cannot run the oracle: {e}"),
            Ok((Some(0), out, _)) if out.contains("<domain") => return Answer::Accepted(out),
            Ok((Some(1), _, err)) if !oracle_trouble(&err) => {
                return Answer::Refused(err.trim().to_string());
            }
            Ok((code, out, err)) => {
                last = format!(
                    "oracle exit {code:?}: {} {}",
                    err.trim(),
                    out.chars().take(200).collect::<String>()
                );
            }
        }
    }
    Answer::Broken(last)
}

fn ask_ours(file: &Path, libvirt: &str, qemu: &str) -> Answer {
    match run(Command::new(env!("CARGO_BIN_EXE_virt-pci"))
        .args(["assign", "--libvirt", libvirt, "--qemu", qemu])
        .arg(file))
    {
        Err(e) => Answer::Broken(format!("cannot run virt-pci: {e}")),
        Ok((Some(0), out, _)) => Answer::Accepted(out),
        Ok((Some(c @ (1 | 2)), _, err)) => Answer::Refused(format!("(exit {c}) {}", err.trim())),
        Ok((code, _, err)) => Answer::Broken(format!(
            "virt-pci exit {code:?}: {}",
            err.trim().chars().take(400).collect::<String>()
        )),
    }
}

#[derive(Default)]
struct Tally {
    both_accept: usize,
    both_refuse: usize,
    verdict_differs: usize,
    addresses_differ: usize,
    broken: usize,
    per_class: BTreeMap<&'static str, [usize; 3]>, // [cases, libvirt accepts, agree]
    differences: Vec<(usize, String)>,
    /// element kind (`controller[pci]`, `interface`, ...) -> cases where it differs
    kinds: BTreeMap<String, usize>,
}

/// Written past the test harness's capture, so CI logs show it even when the test passes.
fn say(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => {
            let v = v.trim();
            match v.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => v.parse(),
            }
            .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        }
        _ => default,
    }
}

fn keep(dir: &Path, case: &Case, libvirt: &Answer, ours: &Answer) {
    let _ = std::fs::create_dir_all(dir);
    let n = case.number;
    let _ = std::fs::write(dir.join(format!("{n:04}.in.xml")), &case.xml);
    for (who, a) in [("libvirt", libvirt), ("ours", ours)] {
        let ext = if matches!(a, Answer::Accepted(_)) {
            "xml"
        } else {
            "err"
        };
        let _ = std::fs::write(dir.join(format!("{n:04}.{who}.{ext}")), a.text());
    }
}

/// Ok(true): both accept with the same addresses; Ok(false): both refuse; Err: what
/// differs, and the kinds of element that differ (for the summary).
fn compare(
    case: &Case,
    libvirt: &Answer,
    ours: &Answer,
) -> Result<bool, (String, BTreeSet<String>)> {
    match (libvirt, ours) {
        (Answer::Accepted(l), Answer::Accepted(o)) => {
            let want = address_map(l).map_err(|e| (format!("libvirt's XML: {e}"), no_kinds()))?;
            let mut got =
                address_map(o).map_err(|e| (format!("our output is not XML: {e}"), no_kinds()))?;
            // An element libvirt drops as it reads the domain (9.0's <crypto>) is kept
            // by virt-pci as written (the output is lossless): fine as long as virt-pci
            // gave it nothing.
            if let Ok(input) = address_map(&case.xml) {
                got.retain(|k, v| want.contains_key(k) || input.get(k) != Some(v));
            }
            let d = diff_maps(&want, &got);
            if d.is_empty() {
                Ok(true)
            } else {
                let kinds = d
                    .iter()
                    .map(|l| {
                        let key = l.split(':').next().unwrap_or("");
                        match key.split_once('[') {
                            Some(("controller", rest)) => {
                                format!("controller[{}]", rest.split(',').next().unwrap_or(""))
                            }
                            Some((tag, _)) => tag.to_string(),
                            None => key.split('#').next().unwrap_or(key).to_string(),
                        }
                    })
                    .collect();
                Err((
                    format!(
                        "{} address differences; first: {}",
                        d.len(),
                        d.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
                    ),
                    kinds,
                ))
            }
        }
        (Answer::Refused(_), Answer::Refused(_)) => Ok(false),
        _ => Err((
            format!(
                "libvirt {} ({}), virt-pci {} ({}) [{}]",
                libvirt.word(),
                first_line(libvirt.text()),
                ours.word(),
                first_line(ours.text()),
                case.notes.join("; ")
            ),
            ["verdict".to_string()].into(),
        )),
    }
}

fn no_kinds() -> BTreeSet<String> {
    ["not XML".to_string()].into()
}

fn first_line(s: &str) -> String {
    if s.trim_start().starts_with('<') {
        return "XML".into();
    }
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}

/// The differential run against the oracle named by the environment variable `env`,
/// with virt-pci told to predict that oracle's releases.
fn differential(env: &str, setup: &str, lv: &str, qemu: &str, name: &str) {
    let oracle = match std::env::var(env) {
        Ok(p) if !p.trim().is_empty() && p != "0" => PathBuf::from(p),
        _ => {
            crate::support::skip(
                name,
                &format!(
                    "{env} is not set, so real libvirt is not available \
                 (.ci/run sets it after starting the oracle; by hand: run \
                 ../shared/oracle/{setup}-setup.sh as root, then \
                 export {env}=$PWD/../shared/oracle/{setup}.sh)"
                ),
            );
            return;
        }
    };
    assert!(oracle.is_file(), "{env}={} is not a file", oracle.display());
    let cases = env_num("VIRT_PCI_ORACLE_CASES", 300) as usize;
    let seed = env_num("VIRT_PCI_ORACLE_SEED", DEFAULT_SEED);
    let threads = env_num("VIRT_PCI_ORACLE_THREADS", 4).max(1) as usize;
    let only: Option<BTreeSet<usize>> = std::env::var("VIRT_PCI_ORACLE_ONLY")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            v.split(',')
                .map(|n| n.trim().parse().expect("VIRT_PCI_ORACLE_ONLY: numbers"))
                .collect()
        });
    let keep_dir = std::env::var_os("VIRT_PCI_ORACLE_KEEP").map(PathBuf::from);
    let from = from_dir();
    let cases = from.as_ref().map_or(cases, Vec::len);
    let numbers: Vec<usize> = match &only {
        Some(set) => set.iter().copied().collect(),
        None => (0..cases).collect(),
    };
    let case_of = |number: usize| match &from {
        Some(files) => read_case(number, &files[number]),
        None => generate(seed, number),
    };

    // One folder per oracle: both runs go at once in one process.
    let work = std::env::temp_dir().join(format!(
        "virt-pci-oracle-diff-{}-{}",
        std::process::id(),
        env.to_lowercase()
    ));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();

    // One smoke call first, so a dead daemon gives one clear message.
    let probe = case_of(0);
    let probe_file = work.join("probe.xml");
    std::fs::write(&probe_file, &probe.xml).unwrap();
    if let Answer::Broken(why) = ask_oracle(&oracle, &probe_file) {
        panic!("{env} is set but the oracle does not work: {why}");
    }

    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let tally = Mutex::new(Tally::default());
    std::thread::scope(|s| {
        for _ in 0..threads.min(numbers.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&number) = numbers.get(i) else {
                        break;
                    };
                    let case = case_of(number);
                    let file = work.join(format!("{number:04}.xml"));
                    std::fs::write(&file, &case.xml).unwrap();
                    let libvirt = ask_oracle(&oracle, &file);
                    let ours = ask_ours(&file, lv, qemu);
                    let _ = std::fs::remove_file(&file);
                    let result = if matches!(libvirt, Answer::Broken(_))
                        || matches!(ours, Answer::Broken(_))
                    {
                        Err((
                            format!(
                                "broken: libvirt {}: {}; virt-pci {}: {}",
                                libvirt.word(),
                                first_line(libvirt.text()),
                                ours.word(),
                                first_line(ours.text())
                            ),
                            ["broken".to_string()].into(),
                        ))
                    } else {
                        compare(&case, &libvirt, &ours).and_then(|same| {
                            // What virt-pci writes must be a fixed point for libvirt:
                            // defined again, it keeps every address.
                            let Answer::Accepted(text) = &ours else {
                                return Ok(same);
                            };
                            let again_file = work.join(format!("{number:04}.ours.xml"));
                            std::fs::write(&again_file, text).unwrap();
                            let again = ask_oracle(&oracle, &again_file);
                            let _ = std::fs::remove_file(&again_file);
                            compare(&case, &again, &ours)
                                .map(|_| same)
                                .map_err(|(why, _)| {
                                    (
                                        format!(
                                            "our output is not a fixed point for libvirt: {why}"
                                        ),
                                        ["fixed point".to_string()].into(),
                                    )
                                })
                        })
                    };
                    let mut t = tally.lock().unwrap();
                    let pc = t.per_class.entry(case.class.name()).or_insert([0; 3]);
                    pc[0] += 1;
                    if matches!(libvirt, Answer::Accepted(_)) {
                        pc[1] += 1;
                    }
                    if result.is_ok() {
                        pc[2] += 1;
                    }
                    match result {
                        Ok(true) => t.both_accept += 1,
                        Ok(false) => t.both_refuse += 1,
                        Err((why, kinds)) => {
                            for k in kinds {
                                *t.kinds.entry(k).or_insert(0) += 1;
                            }
                            if matches!(libvirt, Answer::Broken(_))
                                || matches!(ours, Answer::Broken(_))
                            {
                                t.broken += 1;
                            } else if matches!(
                                (&libvirt, &ours),
                                (Answer::Accepted(_), Answer::Accepted(_))
                            ) {
                                t.addresses_differ += 1;
                            } else {
                                t.verdict_differs += 1;
                            }
                            t.differences
                                .push((number, format!("{} {why}", case.class.name())));
                            if let Some(dir) = &keep_dir {
                                keep(dir, &case, &libvirt, &ours);
                            }
                        }
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let _ = std::fs::remove_dir_all(&work);

    let mut t = tally.into_inner().unwrap();
    t.differences.sort();
    let total = numbers.len();
    let agree = t.both_accept + t.both_refuse;
    let per_class: Vec<String> = t
        .per_class
        .iter()
        .map(|(c, [n, acc, ok])| format!("{c} {ok}/{n} (libvirt accepts {acc})"))
        .collect();
    say(&format!(
        "oracle_diff: {agree} of {total} generated guests agree with libvirt {lv} + QEMU {qemu} \
         ({} both accept with identical PCI addresses, {} both refuse); \
         {} verdicts differ, {} address sets differ, {} broken; {}; \
         seed {seed:#x}, {threads} threads, {:.1} s",
        t.both_accept,
        t.both_refuse,
        t.verdict_differs,
        t.addresses_differ,
        t.broken,
        per_class.join(", "),
        elapsed.as_secs_f64()
    ));
    if !t.kinds.is_empty() {
        let mut kinds: Vec<(&String, &usize)> = t.kinds.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        say(&format!(
            "  differing, by element (cases): {}",
            kinds.join(", ")
        ));
    }
    for (n, d) in t.differences.iter().take(8) {
        say(&format!("  case {n}: {d}"));
    }
    if !t.differences.is_empty() {
        say(&format!(
            "  (rerun one: VIRT_PCI_ORACLE_ONLY={} ; keep the files: VIRT_PCI_ORACLE_KEEP=DIR)",
            t.differences[0].0
        ));
    }
    if std::env::var("VIRT_PCI_ORACLE_REPORT_ONLY").is_ok_and(|v| v == "1") {
        say("  (VIRT_PCI_ORACLE_REPORT_ONLY=1: differences reported, not failed)");
        return;
    }
    assert!(
        t.differences.is_empty(),
        "{} of {total} generated guests differ from libvirt (see above)",
        t.differences.len()
    );
}

/// The generator alone (no oracle needed): deterministic, well-formed, varied.
#[test]
fn virt_pci_agrees_with_real_libvirt() {
    differential(
        ENV_ORACLE,
        "libvirt-oracle",
        "9.0",
        "7.2",
        "oracle_diff::virt_pci_agrees_with_real_libvirt",
    );
}

#[test]
fn virt_pci_agrees_with_real_libvirt_11() {
    differential(
        ENV_ORACLE11,
        "libvirt11-oracle",
        "11.3",
        "10.0",
        "oracle_diff::virt_pci_agrees_with_real_libvirt_11",
    );
}

#[test]
fn oracle_diff_generator_is_deterministic_and_varied() {
    let mut machines = BTreeSet::new();
    let mut models = BTreeSet::new();
    let mut biggest = 0;
    // guests per note (a hunt, or what a hunt chose)
    let mut notes: BTreeMap<String, usize> = BTreeMap::new();
    let mut device_hunted = 0;
    let dump = std::env::var_os("VIRT_PCI_ORACLE_DUMP").map(PathBuf::from);
    let seed = env_num("VIRT_PCI_ORACLE_SEED", DEFAULT_SEED);
    let cases = env_num("VIRT_PCI_ORACLE_CASES", 300).max(300) as usize;
    for n in 0..cases {
        let a = generate(seed, n);
        let b = generate(seed, n);
        assert_eq!(a.xml, b.xml, "case {n} is not deterministic");
        let mine: BTreeSet<&String> = a.notes.iter().collect();
        for note in &mine {
            *notes.entry((*note).clone()).or_insert(0) += 1;
        }
        if DEVICE_HUNTS
            .iter()
            .any(|h| mine.contains(&format!("hunt {}", h.0)))
        {
            device_hunted += 1;
        }
        if let Some(dir) = &dump {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(format!("{n:04}.xml")), &a.xml).unwrap();
        }
        let doc = parse_xml(&a.xml).unwrap_or_else(|e| panic!("case {n}: {e}\n{}", a.xml));
        let devices = doc.child(doc.root(), "devices").expect("devices");
        biggest = biggest.max(doc.child_elements(devices).count());
        machines.insert(
            doc.child(doc.root(), "os")
                .and_then(|o| doc.child(o, "type"))
                .and_then(|t| doc.attr(t, "machine"))
                .unwrap_or_default(),
        );
        for c in doc.child_elements(devices) {
            if doc.name(c) == "controller" && doc.attr(c, "type").as_deref() == Some("pci") {
                models.insert(doc.attr(c, "model").unwrap_or_default());
            }
        }
    }
    for m in ["pc-q35-7.2", "q35", "pc-i440fx-7.2", "pc", "virt"] {
        assert!(
            machines.contains(m),
            "no guest with machine {m}: {machines:?}"
        );
    }
    for m in [
        "pci-root",
        "pcie-root",
        "pci-bridge",
        "dmi-to-pci-bridge",
        "pcie-to-pci-bridge",
        "pcie-root-port",
        "pcie-switch-upstream-port",
        "pcie-switch-downstream-port",
        "pci-expander-bus",
        "pcie-expander-bus",
    ] {
        assert!(
            models.contains(m),
            "no PCI controller model {m}: {models:?}"
        );
    }
    // Every hunt in a few percent of the guests it applies to (half a percent to
    // four percent per unit of weight), none in so many that it crowds out the rest.
    let seen = |note: &str| notes.get(note).copied().unwrap_or(0);
    for (h, weight, classes) in ADDRESSING_HUNTS.iter().chain(DEVICE_HUNTS) {
        let n = seen(&format!("hunt {h}"));
        let of = cases * classes.len() / 3;
        assert!(
            n * 200 >= of * weight && n * 100 <= of * 4 * weight,
            "{n} of {of} guests hunt {h} (weight {weight}): {notes:?}"
        );
    }
    // The device hunts go to a minority of the guests, so that most guests are
    // about addressing alone.
    assert!(
        device_hunted * 100 <= cases * 45,
        "{device_hunted} of {cases} guests have a device hunt"
    );
    // Both sides of what the device hunts are about.
    for note in [
        "usb devices with USB off",
        "usb devices with USB on",
        "acpi with uefi",
        "acpi without uefi",
        "floppy with a drive address",
        "spicevmc with spice",
        "spicevmc without spice",
        "virtiofs with shared memory",
        "virtiofs without shared memory",
    ] {
        assert!(seen(note) > 0, "no guest with {note}: {notes:?}");
    }
    assert!(
        biggest >= 100,
        "the largest guest has only {biggest} devices"
    );
}

/// virt-pci's per-guest driver override lives in the domain's `<metadata>`; it is only
/// worth having if libvirt keeps it when the domain is defined.
#[test]
fn libvirt_keeps_the_virt_pci_metadata() {
    let Ok(oracle) = std::env::var(ENV_ORACLE) else {
        crate::support::skip(
            "oracle_diff::libvirt_keeps_the_virt_pci_metadata",
            &format!("{ENV_ORACLE} is not set"),
        );
        return;
    };
    let src = std::fs::read_to_string(
        crate::support::root().join("assets/examples/centos6-q35-transitional.xml"),
    )
    .expect("example");
    let element = "<vp:guest xmlns:vp=\"urn:x-virt-pci:guest:1\" virtio=\"legacy\"/>";
    let with = src.replacen("</metadata>", &format!("  {element}\n  </metadata>"), 1);
    assert_ne!(with, src);
    let dir = std::env::temp_dir().join(format!("virt-pci-meta-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let file = dir.join("meta.xml");
    std::fs::write(&file, &with).expect("write");
    match ask_oracle(Path::new(&oracle), &file) {
        Answer::Accepted(out) => {
            let doc = virt_pci::libvirt::Document::parse(&out).expect("libvirt's XML parses");
            let kept = virt_pci::libvirt::meta::guest_virtio_override(&doc).map(|(v, _)| v);
            assert_eq!(kept.as_deref(), Some("legacy"), "{out}");
        }
        other => panic!("libvirt did not accept the example: {}", other.text()),
    }
}

/// A small instance of every benchmark shape is a guest both libvirts define.
#[test]
fn benchmark_guests_are_accepted_by_real_libvirt() {
    use crate::generate::{Shape, guest};
    let mut asked = 0;
    for env in [ENV_ORACLE, ENV_ORACLE11] {
        let oracle = match std::env::var(env) {
            Ok(p) if !p.trim().is_empty() && p != "0" => PathBuf::from(p),
            _ => {
                crate::support::skip(
                    "oracle_diff::benchmark_guests_are_accepted_by_real_libvirt",
                    &format!("{env} is not set"),
                );
                continue;
            }
        };
        let work =
            std::env::temp_dir().join(format!("virt-pci-bench-guests-{}", std::process::id()));
        std::fs::create_dir_all(&work).unwrap();
        for (shape, n) in [
            (Shape::I440fxNics, 10),
            (Shape::I440fxNics, 160),
            (Shape::Q35Switches, 10),
            (Shape::Q35Switches, 40),
            (Shape::Q35Bridges, 10),
            (Shape::Q35Bridges, 40),
        ] {
            let file = work.join(format!("{shape:?}-{n}.xml"));
            std::fs::write(&file, guest(shape, n)).unwrap();
            let answer = ask_oracle(&oracle, &file);
            assert!(
                matches!(answer, Answer::Accepted(_)),
                "{env}: {shape:?} {n} is not accepted: {}",
                first_line(answer.text())
            );
            asked += 1;
        }
        let _ = std::fs::remove_dir_all(&work);
    }
    if asked > 0 {
        eprintln!("benchmark guests: {asked} accepted by real libvirt");
    }
}
