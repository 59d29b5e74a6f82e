//! What the designer can add: the device templates and the models each offers, the
//! PCI controller models, and a new device's names (disk target, MAC, index).

use super::*;

/// A kind of device the designer can add, with the models offered for it.
#[derive(Debug)]
pub struct Template {
    /// What people call it.
    pub label: &'static str,
    /// Element kind.
    pub kind: Kind,
    /// The element's `type` (the disk's `device`).
    pub ty: Option<&'static str>,
    /// Disk target bus.
    pub bus: Option<&'static str>,
    /// The models offered, the usual one first.
    pub models: &'static [&'static str],
}

pub(super) const VIRTIO3: &[&str] = &["virtio", "virtio-transitional", "virtio-non-transitional"];

/// Everything "add device" offers.
pub const TEMPLATES: &[Template] = &[
    Template {
        label: "disk (virtio-blk)",
        kind: Kind::Disk,
        ty: Some("disk"),
        bus: Some("virtio"),
        models: VIRTIO3,
    },
    Template {
        label: "network interface",
        kind: Kind::Interface,
        ty: Some("network"),
        bus: None,
        models: &[
            "virtio",
            "virtio-transitional",
            "virtio-non-transitional",
            "e1000e",
            "igb",
            "e1000",
            "rtl8139",
        ],
    },
    Template {
        label: "SCSI controller",
        kind: Kind::Controller,
        ty: Some("scsi"),
        bus: None,
        models: &[
            "virtio-scsi",
            "virtio-transitional",
            "virtio-non-transitional",
            "lsilogic",
        ],
    },
    Template {
        label: "USB controller",
        kind: Kind::Controller,
        ty: Some("usb"),
        bus: None,
        models: &["qemu-xhci", "nec-xhci", "piix3-uhci"],
    },
    Template {
        label: "virtio-serial controller",
        kind: Kind::Controller,
        ty: Some("virtio-serial"),
        bus: None,
        models: VIRTIO3,
    },
    Template {
        label: "random number generator",
        kind: Kind::Rng,
        ty: None,
        bus: None,
        models: VIRTIO3,
    },
    Template {
        label: "filesystem (virtio-9p)",
        kind: Kind::Filesystem,
        ty: Some("mount"),
        bus: None,
        models: VIRTIO3,
    },
    Template {
        label: "vsock",
        kind: Kind::Vsock,
        ty: None,
        bus: None,
        models: VIRTIO3,
    },
    Template {
        label: "sound card",
        kind: Kind::Sound,
        ty: None,
        bus: None,
        models: &["ich9", "ich6", "ac97"],
    },
    Template {
        label: "host PCI device (VFIO)",
        kind: Kind::Hostdev,
        ty: Some("pci"),
        bus: None,
        models: &["vfio"],
    },
];

/// The PCI controllers "add controller" offers, in menu order.
pub const CONTROLLER_MODELS: &[PciModel] = &[
    PciModel::PcieRootPort,
    PciModel::PcieSwitchUpstreamPort,
    PciModel::PcieToPciBridge,
    PciModel::PciBridge,
    PciModel::DmiToPciBridge,
    PciModel::PcieExpanderBus,
    PciModel::PciExpanderBus,
];

/// The kinds whose model an edit can change (the element has a model libvirt reads).
pub const MODEL_KINDS: &[Kind] = &[
    Kind::Disk,
    Kind::Interface,
    Kind::Controller,
    Kind::Video,
    Kind::Sound,
    Kind::Memballoon,
    Kind::Rng,
    Kind::Filesystem,
    Kind::Vsock,
    Kind::Watchdog,
    Kind::Input,
    Kind::Crypto,
    Kind::Iommu,
    Kind::Hostdev,
];

/// The next free name in a sequence like `vda`, `vdb`, ...
pub(super) fn next_disk_name(t: &Topology) -> String {
    let used: BTreeSet<&str> = t.devices.iter().filter_map(|d| d.name.as_deref()).collect();
    let mut n = 0usize;
    loop {
        let mut s = String::new();
        let mut k = n;
        loop {
            s.insert(0, (b'a' + (k % 26) as u8) as char);
            if k < 26 {
                break;
            }
            k = k / 26 - 1;
        }
        let name = format!("vd{s}");
        if !used.contains(name.as_str()) {
            return name;
        }
        n += 1;
    }
}

/// A MAC address in QEMU's locally administered range that no interface has.
pub(super) fn next_mac(t: &Topology) -> String {
    let used: BTreeSet<&str> = t.devices.iter().filter_map(|d| d.name.as_deref()).collect();
    (1u32..)
        .map(|n| {
            format!(
                "52:54:00:{:02x}:{:02x}:{:02x}",
                (n >> 16) & 0xff,
                (n >> 8) & 0xff,
                n & 0xff
            )
        })
        .find(|m| !used.contains(m.as_str()))
        .unwrap_or_default()
}

/// The lowest controller index of type `ty` that is not in use.
pub(super) fn next_index(t: &Topology, ty: &str) -> u32 {
    let used: BTreeSet<u32> = t
        .devices
        .iter()
        .filter(|d| d.kind == Kind::Controller && d.ty.as_deref() == Some(ty))
        .filter_map(|d| d.index)
        .collect();
    (0..).find(|i| !used.contains(i)).unwrap_or(0)
}

/// The device a template makes, exactly as the document layer reads the element it
/// writes for it.
pub fn new_device(t: &Topology, template: usize, model: &str) -> Option<Device> {
    let tpl = TEMPLATES.get(template)?;
    let mut d = Device::new(fresh_origin(t), tpl.kind);
    d.ty = tpl.ty.map(String::from);
    d.bus = tpl.bus.map(String::from);
    d.model = Some(model.to_string());
    match tpl.kind {
        Kind::Disk => {
            d.name = Some(next_disk_name(t));
            d.driver_attrs = true;
        }
        Kind::Interface => d.name = Some(next_mac(t)),
        Kind::Controller => d.index = Some(next_index(t, tpl.ty.unwrap_or(""))),
        Kind::Filesystem => {
            let n = t
                .devices
                .iter()
                .filter(|x| x.kind == Kind::Filesystem)
                .count();
            d.name = Some(format!("share{n}"));
        }
        Kind::Hostdev => {
            // A placeholder host address the user fills in; distinct per device.
            let used: BTreeSet<&str> = t
                .devices
                .iter()
                .filter_map(|x| x.source_addr.as_deref())
                .collect();
            let addr = (1u32..=255)
                .map(|b| format!("0000:{b:02x}:00.0"))
                .find(|a| !used.contains(a.as_str()))
                .unwrap_or_else(|| "0000:ff:00.0".into());
            d.model = None;
            d.name = Some(format!("host {addr}"));
            d.source_addr = Some(addr);
            return Some(d);
        }
        _ => {}
    }
    Some(d)
}
