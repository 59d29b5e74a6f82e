//! The plan assignment returns: the devices libvirt adds and the values it fills in
//! (indexes, addresses, multifunction, virtio-mmio, PCI controller settings), and
//! [`Plan::define`], the one place a plan becomes a topology.

use crate::address::{Address, PciAddr};
use crate::device::Kind;
use crate::pci::PciModel;
use crate::topology::{Device, Origin, PciController, Topology};

/// Which device an entry of the plan is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviceRef {
    /// `Topology::devices[i]`.
    Existing(usize),
    /// `Plan::added[i]`.
    Added(usize),
}

/// A device libvirt adds to the domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDevice {
    /// Kind (element name).
    pub kind: Kind,
    /// `type=` for controllers.
    pub ty: Option<String>,
    /// The model to write.
    pub model: Option<String>,
    /// Controller index.
    pub index: Option<u32>,
    /// Why it was added, for people.
    pub reason: &'static str,
}

impl NewDevice {
    /// The device as the model holds it, with the given origin.
    pub fn device(&self, origin: crate::topology::Origin) -> Device {
        let mut d = Device::new(origin, self.kind);
        d.ty = self.ty.clone();
        d.model = self.model.clone();
        d.index = self.index;
        if self.kind == Kind::Controller
            && self.ty.as_deref() == Some("pci")
            && let Some(m) = self.model.as_deref().and_then(PciModel::from_name)
        {
            d.pci = Some(PciController::new(m));
        }
        d
    }
}

/// `<target>` and `<model name>` values of a PCI controller that were filled in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControllerFill {
    /// `<model name>`.
    pub model_name: Option<String>,
    /// `chassisNr`.
    pub chassis_nr: Option<u32>,
    /// `chassis`.
    pub chassis: Option<u32>,
    /// `port`.
    pub port: Option<u32>,
    /// `busNr`.
    pub bus_nr: Option<u32>,
}

/// What to write for one device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fill {
    /// Controller index, when it was missing.
    pub index: Option<u32>,
    /// The PCI address, when it was missing.
    pub address: Option<PciAddr>,
    /// `multifunction='on'` must be written on the (new or existing) address.
    pub multifunction: bool,
    /// The device goes on virtio-mmio.
    pub virtio_mmio: bool,
    /// PCI controller settings that were missing.
    pub controller: ControllerFill,
}

impl Fill {
    /// Writes what this fill decides onto the model of the device (what the libvirt
    /// layer writes into the XML), for analyses of the guest as libvirt will define it.
    pub fn fill_in(&self, d: &mut Device) {
        if let Some(idx) = self.index {
            d.index = Some(idx);
        }
        if let Some(addr) = self.address {
            let mf = match &d.address {
                Some(Address::Pci { multifunction, .. }) => *multifunction,
                _ => None,
            };
            d.address = Some(Address::Pci {
                addr,
                multifunction: if self.multifunction { Some(true) } else { mf },
            });
        } else if self.multifunction
            && let Some(Address::Pci { multifunction, .. }) = &mut d.address
        {
            *multifunction = Some(true);
        }
        if self.virtio_mmio && d.address.is_none() {
            d.address = Some(Address::VirtioMmio);
        }
        if let Some(p) = d.pci.as_mut() {
            let c = &self.controller;
            if c.model_name.is_some() {
                p.model_name = c.model_name.clone();
            }
            p.chassis_nr = c.chassis_nr.or(p.chassis_nr);
            p.chassis = c.chassis.or(p.chassis);
            p.port = c.port.or(p.port);
            p.bus_nr = c.bus_nr.or(p.bus_nr);
        }
    }
}

/// The outcome of assignment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Devices libvirt adds, in the order it adds them.
    pub added: Vec<NewDevice>,
    /// What to fill in, per device; devices with nothing to fill are absent.
    pub fills: Vec<(DeviceRef, Fill)>,
}

impl Plan {
    /// True when assignment changes nothing.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.fills.is_empty()
    }

    /// The final PCI address of a device (from the plan, or as it was).
    pub fn fill_of(&self, t: DeviceRef) -> Option<&Fill> {
        self.fills.iter().find(|(x, _)| *x == t).map(|(_, f)| f)
    }

    /// The topology libvirt defines from `t` with this plan, the one place a plan is
    /// turned into a model: every fill written onto the device it names, and the
    /// added devices after the input's, in the order libvirt adds them, with fresh
    /// origins. The input's devices keep their indices, so analyses of the result
    /// speak of them by the same index (edits file the added devices where the
    /// document will have them: `edit::define_in_file_order`).
    pub fn define(&self, t: &Topology) -> Topology {
        // Room for what libvirt adds up front: growing a vector of a thousand devices
        // would copy them all once more.
        let mut devices = Vec::with_capacity(t.devices.len() + self.added.len());
        devices.extend_from_slice(&t.devices);
        let mut out = Topology {
            devices,
            name: t.name.clone(),
            machine: t.machine.clone(),
            acpi: t.acpi,
            efi: t.efi,
            numa_cells: t.numa_cells,
            settings: t.settings,
            platform: t.platform,
        };
        let first = Origin::fresh(&out).0;
        for (a, nd) in self.added.iter().enumerate() {
            let origin = Origin(first.saturating_add(u32::try_from(a).unwrap_or(u32::MAX)));
            out.devices.push(nd.device(origin));
        }
        let base = t.devices.len();
        for (device_ref, fill) in &self.fills {
            let i = match *device_ref {
                DeviceRef::Existing(i) => i,
                DeviceRef::Added(a) => base + a,
            };
            if let Some(d) = out.devices.get_mut(i) {
                fill.fill_in(d);
            }
        }
        out
    }
}
