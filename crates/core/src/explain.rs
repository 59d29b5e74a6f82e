//! The teaching texts: one table of the terms the designer explains (controllers,
//! virtio modes, IO windows, hotplug), each with what it is, a small diagram, why it
//! sits where it sits and what would change if it moved. The explain view, the
//! glossary and the docs all read this table; nothing else words these ideas.

use super::pci::PciModel;
use super::virtio::Mode;

/// One term.
#[derive(Debug)]
pub struct Topic {
    /// Stable id (`root-port`), for links between topics and for tests.
    pub id: &'static str,
    /// The term as people say it.
    pub term: &'static str,
    /// What it is.
    pub what: &'static str,
    /// A small drawing of where it sits (monospace lines).
    pub diagram: &'static [&'static str],
    /// Why it sits where it sits.
    pub placement: &'static str,
    /// What would change if it moved, or were changed.
    pub moving: &'static str,
}

/// Every term, in the order the glossary lists them (from the root down).
pub const TOPICS: &[Topic] = &[
    Topic {
        id: "root-complex",
        term: "root complex (pcie-root)",
        what: "The top of a PCI Express machine (q35, arm and RISC-V virt): bus 0, built into the machine. Devices plugged straight into it are integrated endpoints; everything else hangs below root ports.",
        diagram: &[
            "CPU ── pcie-root (bus 0)",
            "        ├─ 00:01.0 video (integrated)",
            "        ├─ 00:02.0 pcie-root-port ── 01:00.0 disk",
            "        └─ 00:1f.x chipset functions",
        ],
        placement: "It is always there: libvirt adds the element when the file lacks it. It has 31 usable slots (0x01-0x1f), some taken by the chipset.",
        moving: "It cannot move. A device put directly on it cannot be hot-unplugged, and a virtio device there is transitional (it keeps an IO BAR), unlike behind a root port.",
    },
    Topic {
        id: "pci-root",
        term: "PCI root bus (pci-root)",
        what: "The top of an i440fx (pc) machine: one flat conventional PCI bus 0 with 31 slots, every one hot-pluggable.",
        diagram: &[
            "CPU ── pci-root (bus 0)",
            "        ├─ 00:01.x PIIX3 (ISA, IDE, USB, PM)",
            "        ├─ 00:02.0 video",
            "        └─ 00:03.0 interface ...",
        ],
        placement: "Part of the machine. When its slots run out, libvirt adds a pci-bridge for 31 more.",
        moving: "It cannot move. Devices on it take IO ports straight from the firmware's budget, with no bridge windows in between.",
    },
    Topic {
        id: "root-port",
        term: "root port (pcie-root-port)",
        what: "A PCI Express port on the root complex with exactly one slot behind it (its own bus). On q35 every hot-pluggable PCI Express device needs one.",
        diagram: &[
            "pcie-root ── 00:02.0 pcie-root-port #1 ── bus 1",
            "                                          └─ 01:00.0 device",
        ],
        placement: "libvirt puts one in front of every PCI Express device written without an address, and root ports pack eight to a slot of bus 0 (00:02.0-00:02.7) as functions.",
        moving: "Moving a device behind another root port changes only its bus number. An empty root port is where a device can be hot-plugged later; under OVMF 2022.11 each one reserves IO padding even when empty.",
    },
    Topic {
        id: "switch",
        term: "PCI Express switch (upstream + downstream ports)",
        what: "A fan-out: one upstream port plugs into a root port (or another downstream port) and offers up to 32 downstream ports, each a one-slot bus like a root port.",
        diagram: &[
            "root port ── upstream port ─┬─ downstream port ── device",
            "                            ├─ downstream port ── device",
            "                            └─ downstream port ── (empty)",
        ],
        placement: "Used when the root complex runs short of slots or to group devices (a NUMA node, a GPU with its audio function). libvirt never adds one on its own.",
        moving: "Every level of switch is one more bridge between device and CPU: one more IO window (4 KiB granules) when the devices behind it need IO ports.",
    },
    Topic {
        id: "pcie-to-pci-bridge",
        term: "pcie-to-pci-bridge",
        what: "A bridge from PCI Express to a conventional PCI bus with 31 slots, plugged into a root port. Conventional slots are where old devices and legacy virtio drivers work.",
        diagram: &[
            "pcie-root ── root port ── pcie-to-pci-bridge ─┬─ 02:01.0 virtio-transitional",
            "                                             └─ 02:02.0 e1000",
        ],
        placement: "libvirt adds one (and a root port for it) when a device needs a conventional PCI slot on q35: a virtio-transitional device, a legacy NIC or sound card written without an address.",
        moving: "Devices behind it are transitional virtio (legacy drivers work) and share one 4 KiB IO window. Moving such a device to a root port makes it modern-only.",
    },
    Topic {
        id: "pci-bridge",
        term: "pci-bridge",
        what: "A conventional PCI-to-PCI bridge with 31 hot-pluggable slots, on a conventional bus (i440fx, behind a dmi-to-pci-bridge or pcie-to-pci-bridge).",
        diagram: &[
            "pci-root ── 00:05.0 pci-bridge #1 ─┬─ 01:01.0 device",
            "                                   └─ 01:02.0 device",
        ],
        placement: "libvirt adds one when bus 0 of an i440fx guest is full.",
        moving: "SeaBIOS gives every pci-bridge a 4 KiB IO window, even an empty one (for its hotplug controller): many bridges use up the IO budget quickly.",
    },
    Topic {
        id: "dmi-to-pci-bridge",
        term: "dmi-to-pci-bridge",
        what: "The older way to get conventional PCI slots on q35 (an i82801b11 bridge on the root complex); pcie-to-pci-bridge replaces it.",
        diagram: &["pcie-root ── 00:1e.0 dmi-to-pci-bridge ── pci-bridge ── devices"],
        placement: "It sits on the root complex itself; libvirt uses it only when written in the file.",
        moving: "Devices behind its pci-bridge behave as on conventional PCI: transitional virtio, hotplug through the bridge.",
    },
    Topic {
        id: "expander-bus",
        term: "expander bus (pcie-expander-bus, pci-expander-bus)",
        what: "An extra root bus on the root complex, tied to a NUMA node, so that the guest sees which devices are close to which CPUs and memory. Its busNr sets the number of its bus; the buses behind it count up from there.",
        diagram: &[
            "pcie-root ── pcie-expander-bus (node 1, busNr 0xfe)",
            "               └─ root port ── NVMe passthrough",
        ],
        placement: "Written by hand for NUMA guests; devices go behind root ports on it (PCI Express) or directly on it (pci-expander-bus on i440fx).",
        moving: "Moving a device off it loses its NUMA locality in the guest. Buses behind it are numbered from its busNr up, so two expander buses must leave room between their busNr values.",
    },
    Topic {
        id: "transitional",
        term: "transitional virtio",
        what: "A virtio device that offers both interfaces: the legacy one (virtio 0.9, with an IO BAR) and the modern one (virtio 1.0). Old and new guest drivers both find it.",
        diagram: &[
            "guest driver: legacy ──┐",
            "                       ├─► virtio-blk (transitional)",
            "guest driver: modern ──┘",
        ],
        placement: "QEMU makes a plain 'virtio' model transitional on a conventional PCI bus and on the root bus; model 'virtio-transitional' forces it anywhere, which libvirt then places on a conventional slot.",
        moving: "Behind a PCI Express root port a plain 'virtio' device turns modern-only: an old guest (CentOS 6, Windows without current virtio-win) loses it. Its IO BAR costs IO ports, and a whole 4 KiB window on a port.",
    },
    Topic {
        id: "modern-only",
        term: "modern-only virtio (virtio 1.0)",
        what: "A virtio device with only the virtio 1.0 interface: no IO BAR, PCI device ids 1af4:1040 and up. Guests need a virtio 1.0 driver (Linux 4.0 and later, current virtio-win).",
        diagram: &["pcie-root ── root port ── virtio-net (modern-only, no IO ports)"],
        placement: "What a plain 'virtio' model becomes in a PCI Express port, and what 'virtio-non-transitional' is everywhere.",
        moving: "Moved to a conventional slot, a plain 'virtio' device becomes transitional again and needs IO ports; a 'virtio-non-transitional' one stays modern-only.",
    },
    Topic {
        id: "legacy",
        term: "legacy-only virtio (virtio 0.9)",
        what: "A virtio device with only the old interface, as machine types up to 2.6 made them. Only legacy drivers work.",
        diagram: &["pc-i440fx-2.6 ── 00:03.0 virtio-net (legacy only)"],
        placement: "Comes from the machine type, not from where the device sits.",
        moving: "Moving it does not help; a newer machine type does (it then becomes transitional on conventional PCI).",
    },
    Topic {
        id: "virtio-mmio",
        term: "virtio-mmio",
        what: "virtio without PCI: the device is a memory-mapped window the guest finds through the device tree (arm and RISC-V virt machines). No slot, no IO ports, no hotplug.",
        diagram: &["virt machine ── virtio-mmio bus ── virtio-blk-device"],
        placement: "Chosen by <address type='virtio-mmio'/> in the file.",
        moving: "Giving it a PCI address instead puts it on the PCI Express tree (modern-only behind a root port) and makes it hot-pluggable.",
    },
    Topic {
        id: "io-window",
        term: "IO window (x86 IO port space)",
        what: "x86 guests have 64 KiB of IO ports, and the firmware hands PCI devices a part of them: its budget, which depends on the firmware and the machine (i shows it). A bridge or port forwards IO only in 4 KiB granules, so one transitional device behind a port costs 4 KiB.",
        diagram: &[
            "IO ports 0x0000 ─ chipset ─┬─ 4K window: root port #1",
            "                          ├─ 4K window: pcie-to-pci-bridge",
            "                          └─ ... up to 0xffff (the budget)",
        ],
        placement: "The firmware gives a window to each bridge with IO users below it (and, by its own rules, to empty bridges and hotplug ports).",
        moving: "When windows outgrow the budget SeaBIOS stops the boot; OVMF first takes away hotplug padding, then drops whole devices. Grouping IO users behind one bridge costs one window instead of many.",
    },
    Topic {
        id: "hotplug",
        term: "hotplug",
        what: "Adding or removing a device while the guest runs. On PCI Express each root port or downstream port is one hotplug slot; conventional buses (pci-root, pci-bridge) hot-plug into any free slot.",
        diagram: &["root port (hotplug on) ── (empty, hotplug slot)  ◄── a disk plugged in later"],
        placement: "A port's <target hotplug='off'/> turns it off; devices on the root complex itself can never be unplugged.",
        moving: "Turning hotplug off on a port frees the guest from its hotplug IO padding under OVMF 2022.11 but the slot then only takes devices at boot.",
    },
    Topic {
        id: "chipset",
        term: "chipset function",
        what: "A function built into the machine at a fixed address: the host bridge, the ICH9 LPC/ISA bridge, SATA and SMBus on q35; PIIX3 ISA, IDE, USB and power management on i440fx.",
        diagram: &["pcie-root ── 00:1f.0 LPC  00:1f.2 SATA  00:1f.3 SMBus"],
        placement: "The machine puts it there; libvirt writes some of them into the file (the SATA controller) and keeps their address.",
        moving: "They cannot move or be deleted; their slots are never free for other devices.",
    },
];

/// What each virtio model spelling means, for the model picker.
pub const MODEL_NOTES: &[(&str, &str)] = &[
    (
        "virtio",
        "QEMU decides: transitional on conventional PCI and the root bus, modern-only in a PCI Express port",
    ),
    (
        "virtio-transitional",
        "legacy and virtio 1.0 interfaces, every driver works; needs a conventional PCI slot (a pcie-to-pci-bridge on q35) and IO ports",
    ),
    (
        "virtio-non-transitional",
        "virtio 1.0 only, anywhere: no IO ports, needs a virtio 1.0 driver in the guest",
    ),
];

/// The note on a model spelling, when the table has one.
pub fn model_note(model: &str) -> Option<&'static str> {
    MODEL_NOTES
        .iter()
        .find(|(m, _)| *m == model)
        .map(|(_, n)| *n)
}

/// The topic with `id`.
pub fn topic(id: &str) -> Option<&'static Topic> {
    TOPICS.iter().find(|t| t.id == id)
}

/// The topic of a controller model.
pub fn controller_topic(m: PciModel) -> &'static str {
    match m {
        PciModel::PcieRoot => "root-complex",
        PciModel::PciRoot => "pci-root",
        PciModel::PcieRootPort => "root-port",
        PciModel::PcieSwitchUpstreamPort | PciModel::PcieSwitchDownstreamPort => "switch",
        PciModel::PcieToPciBridge => "pcie-to-pci-bridge",
        PciModel::PciBridge => "pci-bridge",
        PciModel::DmiToPciBridge => "dmi-to-pci-bridge",
        PciModel::PciExpanderBus | PciModel::PcieExpanderBus => "expander-bus",
    }
}

/// The topic of a virtio mode.
pub fn mode_topic(m: Mode) -> &'static str {
    match m {
        Mode::Transitional => "transitional",
        Mode::ModernOnly => "modern-only",
        Mode::LegacyOnly => "legacy",
        Mode::Mmio => "virtio-mmio",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_and_mode_has_a_topic_and_ids_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for t in TOPICS {
            assert!(seen.insert(t.id), "duplicate {}", t.id);
            assert!(!t.what.is_empty() && !t.diagram.is_empty(), "{}", t.id);
            // Diagrams fit an 80-column explain view.
            for l in t.diagram {
                assert!(l.chars().count() <= 76, "{}: {l}", t.id);
            }
        }
        for m in crate::pci::MODELS {
            assert!(topic(controller_topic(m.model)).is_some(), "{:?}", m.model);
        }
        for m in [
            Mode::Transitional,
            Mode::ModernOnly,
            Mode::LegacyOnly,
            Mode::Mmio,
        ] {
            assert!(topic(mode_topic(m)).is_some(), "{m:?}");
        }
        for id in ["io-window", "hotplug", "chipset"] {
            assert!(topic(id).is_some(), "{id}");
        }
    }
}
