//! Reads the core's [`Topology`] out of a lossless domain [`Document`]; every model
//! object keeps an [`Origin`] pointing back at its element so edits can be written
//! to exactly that element.

use super::xml::{Document, NodeId, Pos};
use crate::core::address::{Address, PciAddr};
use crate::core::device::Kind;
use crate::core::machine::Machine;
use crate::core::pci::PciModel;
use crate::core::topology::{Device, Origin, PciController, Settings, Topology};

/// A domain that is well-formed XML but not a domain virt-pci can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{}: {}", .pos.line, .pos.column, .message)]
pub struct DomainError {
    /// What kind of mistake, for callers that react to it.
    pub kind: DomainErrorKind,
    /// Where.
    pub pos: Pos,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
}

/// The kinds of [`DomainError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainErrorKind {
    /// The root element is not `<domain>`.
    NotADomain,
    /// A number attribute or text that does not parse.
    NotANumber,
    /// A number past what libvirt allows (address field, controller index).
    OutOfRange,
    /// An on/off switch with another value.
    NotOnOff,
    /// An `<address>` without a type.
    NoAddressType,
    /// A PCI controller model libvirt does not know.
    UnknownModel,
}

/// The element behind an origin.
pub fn node_of(origin: Origin) -> NodeId {
    NodeId(origin.0)
}

struct Reader<'a> {
    doc: &'a Document,
}

impl Reader<'_> {
    fn err(&self, id: NodeId, kind: DomainErrorKind, message: String) -> DomainError {
        DomainError {
            kind,
            pos: self.doc.element(id).pos,
            // Values quoted in the message come from the input: cut long ones.
            message: super::xml::clip_message(&message),
        }
    }

    fn attr(&self, id: NodeId, name: &str) -> Option<String> {
        self.doc.attr(id, name)
    }

    fn child_attr(&self, id: NodeId, child: &str, name: &str) -> Option<String> {
        self.doc.child(id, child).and_then(|c| self.attr(c, name))
    }

    /// An unsigned number as libvirt reads it: decimal or `0x` hex.
    fn number(&self, id: NodeId, name: &str, what: &str) -> Result<Option<u32>, DomainError> {
        let Some(raw) = self.attr(id, name) else {
            return Ok(None);
        };
        parse_number(raw.trim()).map(Some).ok_or_else(|| {
            self.err(
                id, DomainErrorKind::NotANumber,
                format!("{what} {name}='{raw}' is not a number; write a decimal or 0x-prefixed hex value"),
            )
        })
    }

    fn address(&self, dev: NodeId) -> Result<Option<Address>, DomainError> {
        let Some(a) = self.doc.child(dev, "address") else {
            return Ok(None);
        };
        let ty = self.attr(a, "type").unwrap_or_default();
        Ok(Some(match ty.as_str() {
            "pci" => {
                let domain = self.number(a, "domain", "PCI address")?;
                let bus = self.number(a, "bus", "PCI address")?;
                let slot = self.number(a, "slot", "PCI address")?;
                let function = self.number(a, "function", "PCI address")?;
                let limits = [
                    ("domain", domain, 0xffff),
                    ("bus", bus, 0xff),
                    ("slot", slot, 0x1f),
                    ("function", function, 7),
                ];
                for (name, v, max) in limits {
                    if let Some(v) = v
                        && v > max
                    {
                        return Err(self.err(
                            a,
                            DomainErrorKind::OutOfRange,
                            format!(
                                "invalid PCI address {name}='0x{v:x}': it must be <= 0x{max:x}"
                            ),
                        ));
                    }
                }
                let multifunction = match self.attr(a, "multifunction").as_deref() {
                    None => None,
                    Some("on") => Some(true),
                    Some("off") => Some(false),
                    Some(other) => {
                        return Err(self.err(
                            a,
                            DomainErrorKind::NotOnOff,
                            format!("multifunction='{other}' must be 'on' or 'off'"),
                        ));
                    }
                };
                let addr = PciAddr {
                    domain: domain.unwrap_or(0),
                    bus: bus.unwrap_or(0),
                    slot: slot.unwrap_or(0) as u8,
                    function: function.unwrap_or(0) as u8,
                };
                if addr.domain == 0 && addr.bus == 0 && addr.slot == 0 {
                    // libvirt treats domain, bus and slot all zero as "assign one for me"
                    // (the function alone does not make an address).
                    Address::PciRequest
                } else {
                    Address::Pci {
                        addr,
                        multifunction,
                    }
                }
            }
            "virtio-mmio" => Address::VirtioMmio,
            "unassigned" => Address::Unassigned,
            "" => {
                return Err(self.err(
                    a,
                    DomainErrorKind::NoAddressType,
                    "<address> has no type; add type='pci' (or the bus it sits on)".into(),
                ));
            }
            other => Address::Other(other.to_string()),
        }))
    }

    fn pci_controller(&self, id: NodeId, index: Option<u32>) -> Result<PciController, DomainError> {
        let model_attr = self.attr(id, "model");
        let model = match model_attr.as_deref() {
            Some(m) => PciModel::from_name(m).ok_or_else(|| {
                let names: Vec<&str> = PciModel::all().map(|m| m.name()).collect();
                self.err(
                    id,
                    DomainErrorKind::UnknownModel,
                    format!(
                        "unknown PCI controller model '{m}'; known models: {}",
                        names.join(", ")
                    ),
                )
            })?,
            // libvirt picks the root for index 0 and a bridge or root port for the others
            // later; the reader records what it can and leaves the rest to the analyses.
            None if index == Some(0) || index.is_none() => PciModel::PciRoot,
            None => PciModel::PciBridge,
        };
        let mut c = PciController::new(model);
        c.model_name = self.child_attr(id, "model", "name");
        if let Some(t) = self.doc.child(id, "target") {
            c.chassis_nr = self.number(t, "chassisNr", "controller target")?;
            c.chassis = self.number(t, "chassis", "controller target")?;
            c.port = self.number(t, "port", "controller target")?;
            c.bus_nr = self.number(t, "busNr", "controller target")?;
            c.hotplug = match self.attr(t, "hotplug").as_deref() {
                None => None,
                Some("on") => Some(true),
                Some("off") => Some(false),
                Some(o) => {
                    return Err(self.err(
                        t,
                        DomainErrorKind::NotOnOff,
                        format!("hotplug='{o}' must be 'on' or 'off'"),
                    ));
                }
            };
            if let Some(n) = self.doc.child(t, "node") {
                let text = self.doc.text(n);
                c.numa_node = Some(parse_number(text.trim()).ok_or_else(|| {
                    self.err(
                        n,
                        DomainErrorKind::NotANumber,
                        format!("NUMA node '{}' is not a number", text.trim()),
                    )
                })?);
            }
        }
        Ok(c)
    }

    /// One device element read into the model: the fields its kind is read by, then
    /// its address and what is read from every device.
    fn device(&self, id: NodeId, machine: &Machine) -> Result<Device, DomainError> {
        let tag = self.doc.name(id).to_string();
        let kind = Kind::from_tag(&tag);
        let mut d = Device::new(Origin(id.0), kind);
        d.line = self.doc.element(id).pos.line;
        self.kind_fields(id, &mut d)?;
        self.common_fields(id, &mut d)?;
        let _ = machine;
        Ok(d)
    }

    /// The attributes and children each kind of device is read by.
    fn kind_fields(&self, id: NodeId, d: &mut Device) -> Result<(), DomainError> {
        let attr = |n: &str| self.attr(id, n);
        let child = |c: &str, n: &str| self.child_attr(id, c, n);
        match d.kind {
            Kind::Disk => {
                d.ty = attr("device");
                d.empty = !self
                    .doc
                    .child(id, "source")
                    .is_some_and(|s| self.doc.has_attrs(s));
                d.model = attr("model");
                d.bus = child("target", "bus");
                d.name = child("target", "dev");
            }
            Kind::Interface => {
                d.ty = attr("type");
                d.model = child("model", "type");
                d.name = child("mac", "address");
            }
            Kind::Controller => {
                self.controller_fields(id, d)?;
            }
            Kind::Video => {
                d.model = child("model", "type");
                d.primary = child("model", "primary").as_deref() == Some("yes");
            }
            Kind::Hostdev => {
                d.ty = attr("type");
                d.model = attr("model");
                self.hostdev_source(id, d);
            }
            Kind::Input => {
                d.ty = attr("type");
                d.bus = attr("bus");
                d.model = attr("model");
            }
            Kind::Shmem => {
                d.model = child("model", "type");
                d.name = attr("name");
            }
            Kind::Filesystem => {
                d.ty = attr("type");
                d.model = attr("model");
                d.driver_type = child("driver", "type");
                d.name = child("target", "dir");
            }
            Kind::Serial | Kind::Channel | Kind::Console => {
                d.ty = attr("type");
                d.target_type = child("target", "type");
            }
            Kind::Pstore => {
                d.backend = attr("backend");
            }
            // The character device behind it is its `type` (spicevmc, tcp, ...).
            Kind::Redirdev => {
                d.ty = attr("type");
                d.bus = attr("bus");
            }
            Kind::Smartcard => {
                d.ty = attr("type");
            }
            Kind::Graphics => {
                d.ty = attr("type");
            }
            Kind::Iommu => {
                d.model = attr("model");
                d.intremap = child("driver", "intremap").as_deref() == Some("on");
            }
            _ => {
                d.model = attr("model");
            }
        }
        Ok(())
    }

    /// A controller's type, model, index, ports and USB master; a PCI controller's
    /// index range and `<target>` settings.
    fn controller_fields(&self, id: NodeId, d: &mut Device) -> Result<(), DomainError> {
        let attr = |n: &str| self.attr(id, n);
        d.ty = attr("type");
        d.model = attr("model");
        d.index = match self.attr(id, "index") {
            None => None,
            Some(raw) => Some(parse_index(&raw).ok_or_else(|| {
                self.err(id, DomainErrorKind::NotANumber, format!("controller index='{raw}' is not a number; write a decimal number such as index='1'"))
            })?),
        };
        d.ports = self.number(id, "ports", "controller")?;
        d.master_startport = self
            .doc
            .child(id, "master")
            .map(|m| self.number(m, "startport", "controller master"))
            .transpose()?
            .flatten();
        if d.ty.as_deref() == Some("pci") {
            if let Some(i) = d.index
                && i > 255
            {
                return Err(self.err(
                    id,
                    DomainErrorKind::OutOfRange,
                    format!("PCI controller index {i} is too high: the maximum is 255"),
                ));
            }
            d.pci = Some(self.pci_controller(id, d.index)?);
            d.model = d.pci.as_ref().map(|p| p.model.name().to_string());
        }
        Ok(())
    }

    /// A PCI host device's address on the host (`<source><address>`), as its name.
    fn hostdev_source(&self, id: NodeId, d: &mut Device) {
        if let Some(src) = self.doc.child(id, "source")
            && let Some(a) = self.doc.child(src, "address")
        {
            let get = |n: &str| self.attr(a, n).and_then(|v| parse_number(&v));
            if let (Some(b), Some(s), Some(f)) = (get("bus"), get("slot"), get("function")) {
                let bdf = format!("{:04x}:{b:02x}:{s:02x}.{f:x}", get("domain").unwrap_or(0));
                d.name = Some(format!("host {bdf}"));
                d.source_addr = Some(bdf);
            }
        }
    }

    /// What is read from every device: its address (and a drive address's
    /// controller), driver attributes, a `<boot>`, a zPCI extension.
    fn common_fields(&self, id: NodeId, d: &mut Device) -> Result<(), DomainError> {
        d.address = self.address(id)?;
        d.driver_attrs = self
            .doc
            .child(id, "driver")
            .is_some_and(|dr| self.doc.has_attrs(dr));
        d.boot = self.doc.child(id, "boot").is_some();
        d.zpci = self
            .doc
            .child(id, "address")
            .is_some_and(|a| self.doc.child(a, "zpci").is_some());
        if let Some(a) = self.doc.child(id, "address")
            && self.attr(a, "type").as_deref() != Some("pci")
        {
            d.addr_controller = self.number(a, "controller", "address")?;
            d.addr_bus = self.number(a, "bus", "address")?;
        }
        Ok(())
    }
}

/// The settings outside `<devices>` that libvirt checks devices against.
fn settings(doc: &Document, r: &Reader) -> Settings {
    let root = doc.root();
    let split_ioapic = doc
        .child(root, "features")
        .and_then(|f| doc.child(f, "ioapic"))
        .is_some_and(|io| r.attr(io, "driver").as_deref() == Some("qemu"));
    let backing_shared = doc
        .child(root, "memoryBacking")
        .and_then(|m| doc.child(m, "access"))
        .is_some_and(|a| r.attr(a, "mode").as_deref() == Some("shared"));
    // A cell's own memAccess wins over the domain-wide access mode.
    let cells: Vec<Option<String>> = doc
        .child(root, "cpu")
        .and_then(|c| doc.child(c, "numa"))
        .map(|n| {
            doc.child_elements(n)
                .filter(|&c| doc.name(c) == "cell")
                .map(|c| r.attr(c, "memAccess"))
                .collect()
        })
        .unwrap_or_default();
    let shared_memory = if cells.is_empty() {
        backing_shared
    } else {
        cells.iter().all(|a| match a.as_deref() {
            Some(mode) => mode == "shared",
            None => backing_shared,
        })
    };
    Settings {
        split_ioapic,
        shared_memory,
    }
}

/// Parses a number the way libvirt reads addresses and `<target>` values (C `strtoul`
/// with base 0): optional leading blanks and `+`, then `0x` hex, `0` octal or decimal.
/// Trailing characters, `-` and an empty value are refused.
pub fn parse_number(s: &str) -> Option<u32> {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r']);
    let s = s.strip_prefix('+').unwrap_or(s);
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return if h.is_empty() || h.starts_with('+') {
            None
        } else {
            u32::from_str_radix(h, 16).ok()
        };
    }
    if s.len() > 1 && s.starts_with('0') {
        return u32::from_str_radix(&s[1..], 8).ok();
    }
    if s.starts_with('+') {
        return None;
    }
    s.parse().ok()
}

/// Parses a controller `index`: decimal only (leading zeros allowed), as libvirt does.
pub fn parse_index(s: &str) -> Option<u32> {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r']);
    if s.starts_with('+') {
        return None;
    }
    s.parse().ok()
}

/// Reads the topology out of a domain document.
pub fn read_topology(doc: &Document) -> Result<Topology, DomainError> {
    let r = Reader { doc };
    let root = doc.root();
    if doc.name(root) != "domain" {
        return Err(r.err(
            root, DomainErrorKind::NotADomain,
            format!(
                "the root element is <{}>, not <domain>: this is not a libvirt domain (virsh dumpxml NAME gives one)",
                doc.name(root)
            ),
        ));
    }
    let name = doc
        .child(root, "name")
        .map(|n| doc.text(n))
        .unwrap_or_default();
    let (arch, mt) = match doc.child(root, "os").and_then(|os| doc.child(os, "type")) {
        Some(t) => (
            r.attr(t, "arch").unwrap_or_default(),
            r.attr(t, "machine").unwrap_or_default(),
        ),
        None => (String::new(), String::new()),
    };
    // libvirt takes the host's arch when none is given; virt-pci's users are almost
    // all on x86_64 hosts.
    let arch = if arch.is_empty() {
        "x86_64".to_string()
    } else {
        arch
    };
    let machine = Machine::new(&arch, &mt);
    let mut devices = Vec::new();
    if let Some(devs) = doc.child(root, "devices") {
        for id in doc.child_elements(devs) {
            let kind = Kind::from_tag(doc.name(id));
            if matches!(kind, Kind::Emulator) {
                continue;
            }
            devices.push(r.device(id, &machine)?);
        }
    }
    let features = doc.child(root, "features");
    let acpi = features.is_some_and(|f| doc.child(f, "acpi").is_some());
    let os = doc.child(root, "os");
    let efi = os.is_some_and(|os| {
        r.attr(os, "firmware").as_deref() == Some("efi")
            || doc
                .child(os, "loader")
                .is_some_and(|l| r.attr(l, "type").as_deref() == Some("pflash"))
    });
    let numa_cells = doc
        .child(root, "cpu")
        .and_then(|c| doc.child(c, "numa"))
        .map_or(0, |n| {
            doc.child_elements(n)
                .filter(|&c| doc.name(c) == "cell")
                .count() as u32
        });
    let settings = settings(doc, &r);
    Ok(Topology {
        name,
        machine,
        devices,
        acpi,
        efi,
        numa_cells,
        settings,
        platform: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_strtoul_base_zero() {
        for (text, want) in [
            ("0x1f", Some(31)),
            ("0X1F", Some(31)),
            ("10", Some(10)),
            ("011", Some(9)),
            ("0", Some(0)),
            ("+6", Some(6)),
            (" 7", Some(7)),
            ("08", None),
            ("1f", None),
            ("0x", None),
            ("", None),
            ("-0", None),
            ("7 ", None),
        ] {
            assert_eq!(parse_number(text), want, "{text:?}");
        }
        assert_eq!(parse_index("010"), Some(10));
        assert_eq!(parse_index("0x2"), None);
    }
}
