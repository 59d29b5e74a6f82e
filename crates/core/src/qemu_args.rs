//! The `-device` arguments QEMU gets for the PCI part of a guest: every PCI controller
//! and every device with a PCI address, in libvirt's form (driver, the controller's
//! port/chassis settings, id, bus, multifunction, addr). Computed from the guest as
//! libvirt defines it; backend properties (drive, netdev, chardev, ...) and device
//! aliases are not part of the PCI topology and are left out.

use super::address::{Address, PciAddr};
use super::chipset::chipset;
use super::device::Kind;
use super::machine::Arch;
use super::pci::PciModel;
use super::topology::{Device, Topology};

/// A property value as QEMU's JSON `-device` syntax writes it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    /// A string (`"pcie.0"`, `"0x1.0x2"`).
    Str(String),
    /// A number (`8`).
    Int(u64),
    /// A boolean (`true`).
    Bool(bool),
}

/// One `-device` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceArg {
    /// The device (index into the defined topology) it is made from.
    pub device: usize,
    /// Properties in the order libvirt writes them, `driver` first.
    pub props: Vec<(&'static str, Value)>,
}

impl DeviceArg {
    /// The value of property `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.props.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// The QEMU id of bus `index`: the root is `pcie.0` or `pci.0` (named by the machine),
/// every other PCI controller's bus is `pci.INDEX`.
pub fn bus_id(t: &Topology, index: u32) -> String {
    match t.bus_model(index) {
        Some(PciModel::PcieRoot) => format!("pcie.{index}"),
        _ => format!("pci.{index}"),
    }
}

/// `addr` as libvirt writes it: `0x1` for function 0, `0x1.0x2` otherwise.
pub fn addr_text(a: PciAddr) -> String {
    if a.function == 0 {
        format!("{:#x}", a.slot)
    } else {
        format!("{:#x}.{:#x}", a.slot, a.function)
    }
}

/// QEMU devices of the device table that libvirt names otherwise on the command line:
/// (table name, name as the primary video device, name everywhere else). A device
/// with a VGA variant is that variant only as the primary video device of a guest
/// whose QEMU builds the variant (x86, and RISC-V since QEMU 9.1; not ARM); libvirt
/// passes `virtio-iommu` by QEMU's short alias.
const COMMAND_LINE_NAMES: &[(&str, &str, &str)] = &[
    ("virtio-vga", "virtio-vga", "virtio-gpu-pci"),
    ("qxl-vga", "qxl-vga", "qxl"),
    ("virtio-iommu-pci", "virtio-iommu", "virtio-iommu"),
];

/// The driver libvirt passes for device `i` of `t`.
fn driver(t: &Topology, i: usize, primary_video: Option<usize>) -> String {
    let d = &t.devices[i];
    // An `<interface type='hostdev'>` is a VFIO-assigned host function, whatever its model.
    if d.kind == Kind::Interface && d.ty.as_deref() == Some("hostdev") {
        return "vfio-pci".into();
    }
    let qemu = d.facts(&t.machine).qemu;
    if qemu.is_empty() && d.kind == Kind::Interface {
        // libvirt passes a NIC model it does not know to QEMU as it is written.
        return d.model.clone().unwrap_or_default();
    }
    match COMMAND_LINE_NAMES.iter().find(|(n, _, _)| *n == qemu) {
        Some((_, primary, other)) => {
            if primary_video == Some(i)
                && (t.machine.arch.is_x86() || t.machine.arch == Arch::Riscv64)
            {
                (*primary).into()
            } else {
                (*other).into()
            }
        }
        None => qemu,
    }
}

/// The primary video device: the one marked `primary='yes'`, else the first.
fn primary_video(t: &Topology) -> Option<usize> {
    let videos = || {
        t.devices
            .iter()
            .enumerate()
            .filter(|(_, d)| d.kind == Kind::Video)
    };
    videos()
        .find(|(_, d)| d.primary)
        .or_else(|| videos().next())
        .map(|(i, _)| i)
}

/// Whether QEMU creates the function with the machine itself: libvirt passes no
/// `-device` for the element that stands for it.
fn is_built_in(t: &Topology, d: &Device, a: PciAddr) -> bool {
    chipset(t.machine.class).iter().any(|c| {
        c.built_by_qemu
            && c.addr == a
            && c.xml
                .is_some_and(|(k, ty, _)| d.kind == k && d.ty.as_deref() == Some(ty))
    })
}

/// The PCI controller's own properties, between `driver` and `id`, and those after
/// `id` (libvirt writes `hotplug` after the id, `numa_node` too).
fn controller_props(d: &Device, out: &mut Vec<(&'static str, Value)>) {
    let Some(p) = &d.pci else { return };
    let n = |v: Option<u32>| v.map(|x| Value::Int(u64::from(x)));
    match p.model {
        PciModel::PcieRootPort | PciModel::PcieSwitchDownstreamPort => {
            if let Some(v) = n(p.port) {
                out.push(("port", v));
            }
            if let Some(v) = n(p.chassis) {
                out.push(("chassis", v));
            }
        }
        PciModel::PciBridge => {
            if let Some(v) = n(p.chassis_nr) {
                out.push(("chassis_nr", v));
            }
        }
        PciModel::PciExpanderBus | PciModel::PcieExpanderBus => {
            if let Some(v) = n(p.bus_nr) {
                out.push(("bus_nr", v));
            }
        }
        _ => {}
    }
    if let Some(i) = d.index {
        out.push(("id", Value::Str(format!("pci.{i}"))));
    }
    if p.model.is_expander()
        && let Some(v) = n(p.numa_node)
    {
        out.push(("numa_node", v));
    }
    if let Some(h) = p.hotplug
        && p.model.is_port()
    {
        out.push(("hotplug", Value::Bool(h)));
    }
}

/// The `-device` arguments of the PCI part of `defined` (the guest as libvirt defines
/// it, see [`analyses::as_defined`](super::analyses::as_defined)): the PCI controllers by
/// index, then the devices with a PCI address in libvirt's device order.
pub fn device_args(defined: &Topology) -> Vec<DeviceArg> {
    let mut order: Vec<usize> = (0..defined.devices.len()).collect();
    // Controllers first (PCI ones by index), then libvirt's iteration order by kind;
    // the sort is stable, so document order holds within a kind.
    order.sort_by_key(|&i| {
        let d = &defined.devices[i];
        match &d.pci {
            Some(_) => (0, d.index.unwrap_or(u32::MAX) as usize),
            None => (1, d.kind.iteration_rank()),
        }
    });
    let primary = primary_video(defined);
    let mut out = Vec::new();
    for i in order {
        let d = &defined.devices[i];
        let Some(Address::Pci {
            addr,
            multifunction,
        }) = &d.address
        else {
            continue;
        };
        if d.is_pci_root() || is_built_in(defined, d, *addr) {
            continue;
        }
        let qemu = driver(defined, i, primary);
        if qemu.is_empty() {
            continue;
        }
        let mut props = vec![("driver", Value::Str(qemu))];
        controller_props(d, &mut props);
        props.push(("bus", Value::Str(bus_id(defined, addr.bus))));
        if let Some(mf) = multifunction {
            props.push(("multifunction", Value::Bool(*mf)));
        }
        props.push(("addr", Value::Str(addr_text(*addr))));
        out.push(DeviceArg { device: i, props });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::PciController;

    fn ctrl(index: u32, model: PciModel, addr: Option<PciAddr>) -> Device {
        let mut d = Device::new(crate::Origin(0), Kind::Controller);
        d.ty = Some("pci".into());
        d.index = Some(index);
        let mut p = PciController::new(model);
        p.port = Some(0x10);
        p.chassis = Some(index);
        d.pci = Some(p);
        d.address = addr.map(|addr| Address::Pci {
            addr,
            multifunction: None,
        });
        d
    }

    #[test]
    fn root_port_in_libvirt_form() {
        let t = Topology::new(
            "q35",
            vec![
                ctrl(0, PciModel::PcieRoot, None),
                ctrl(1, PciModel::PcieRootPort, Some(PciAddr::new(0, 2, 3))),
            ],
        );
        let args = device_args(&t);
        assert_eq!(args.len(), 1);
        let a = &args[0];
        assert_eq!(a.get("driver"), Some(&Value::Str("pcie-root-port".into())));
        assert_eq!(a.get("port"), Some(&Value::Int(16)));
        assert_eq!(a.get("id"), Some(&Value::Str("pci.1".into())));
        assert_eq!(a.get("bus"), Some(&Value::Str("pcie.0".into())));
        assert_eq!(a.get("addr"), Some(&Value::Str("0x2.0x3".into())));
        let keys: Vec<&str> = a.props.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["driver", "port", "chassis", "id", "bus", "addr"]);
    }

    #[test]
    fn i440fx_root_is_pci_0() {
        let t = Topology::new("pc", vec![ctrl(0, PciModel::PciRoot, None)]);
        assert_eq!(bus_id(&t, 0), "pci.0");
        assert_eq!(bus_id(&t, 3), "pci.3");
        assert_eq!(addr_text(PciAddr::new(0, 0x1f, 0)), "0x1f");
    }
}
