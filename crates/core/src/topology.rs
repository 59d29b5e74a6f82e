//! The topology model: the guest's machine, its PCI controllers and every device with
//! its address, plus the chipset functions each machine class always has.

use std::collections::HashMap;

use super::address::{Address, PciAddr};
use super::device::{self, Kind, ModelFacts, ModelInput};
use super::machine::{Machine, MachineClass};
use super::pci::PciModel;

/// Opaque link from a model object back to the element it came from in the document
/// layer; the core never looks inside.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin(pub u32);

impl Origin {
    /// Origins at or above this value belong to devices the core creates (an edit, or
    /// what libvirt adds when it assigns); the document layer's node ids stay far below.
    pub const NEW_BASE: u32 = 0x8000_0000;

    /// The first origin after every created device of `t`, in the range of created devices.
    pub fn fresh(t: &Topology) -> Origin {
        let next = t
            .devices
            .iter()
            .map(|d| d.origin.0)
            .filter(|&o| o >= Origin::NEW_BASE)
            .max()
            .map_or(Origin::NEW_BASE, |o| o.saturating_add(1));
        Origin(next)
    }
}

/// A PCI controller's own settings (`<controller type='pci'>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PciController {
    /// Its model.
    pub model: PciModel,
    /// `<model name=...>` (the QEMU device), as written.
    pub model_name: Option<String>,
    /// `<target chassisNr>` (pci-bridge).
    pub chassis_nr: Option<u32>,
    /// `<target chassis>` (ports).
    pub chassis: Option<u32>,
    /// `<target port>` (ports).
    pub port: Option<u32>,
    /// `<target busNr>` (expander buses).
    pub bus_nr: Option<u32>,
    /// `<target hotplug>`: `Some(false)` for `off`.
    pub hotplug: Option<bool>,
    /// `<target><node>` NUMA node.
    pub numa_node: Option<u32>,
}

impl PciController {
    /// A controller of `model` with nothing set.
    pub fn new(model: PciModel) -> PciController {
        PciController {
            model,
            model_name: None,
            chassis_nr: None,
            chassis: None,
            port: None,
            bus_nr: None,
            hotplug: None,
            numa_node: None,
        }
    }

    /// The QEMU device: `<model name>` when given, else the model's default.
    pub fn qemu_device(&self) -> &str {
        self.model_name
            .as_deref()
            .unwrap_or(self.model.info().qemu_device)
    }

    /// Whether its slots are hot-pluggable.
    pub fn hotpluggable(&self) -> bool {
        self.model.info().hotplug && self.hotplug != Some(false)
    }
}

/// One element under `<devices>` that virt-pci cares about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// Where it came from in the document.
    pub origin: Origin,
    /// Its kind (element name).
    pub kind: Kind,
    /// The element's `type` attribute (or the attribute playing that role).
    pub ty: Option<String>,
    /// The model as written.
    pub model: Option<String>,
    /// Disk target bus, input bus, redirected device bus.
    pub bus: Option<String>,
    /// `<target type>` of a serial port, channel or console (`pci-serial`, `virtio`,
    /// `usb-serial`).
    pub target_type: Option<String>,
    /// `<driver type>` of a filesystem (`virtiofs`, `path`).
    pub driver_type: Option<String>,
    /// `backend` of a pstore (`acpi-erst`).
    pub backend: Option<String>,
    /// `<driver intremap='on'>` on an IOMMU.
    pub intremap: bool,
    /// Disk target dev, interface MAC, or another short identifier for people.
    pub name: Option<String>,
    /// Controller index (`<controller index>`).
    pub index: Option<u32>,
    /// PCI controller settings when this is `<controller type='pci'>`.
    pub pci: Option<PciController>,
    /// The address as written.
    pub address: Option<Address>,
    /// USB companion controllers: `<master startport>`.
    pub master_startport: Option<u32>,
    /// For non-PCI addresses (drive, virtio-serial, ...): the `controller` they name.
    pub addr_controller: Option<u32>,
    /// For a drive address: its `bus`.
    pub addr_bus: Option<u32>,
    /// A disk with no `<source>` (or one without attributes): an empty drive.
    pub empty: bool,
    /// virtio-serial controllers: `ports=`.
    pub ports: Option<u32>,
    /// `<model primary='yes'>` on a video device.
    pub primary: bool,
    /// The element has a `<driver>` child with attributes.
    pub driver_attrs: bool,
    /// The element has a `<boot order>`.
    pub boot: bool,
    /// Host device source address (`0000:00:19.0`), for duplicates.
    pub source_addr: Option<String>,
    /// The PCI address carries an s390 `<zpci>` extension.
    pub zpci: bool,
    /// 1-based source line, for messages.
    pub line: u32,
}

impl Device {
    /// A bare device of `kind`.
    pub fn new(origin: Origin, kind: Kind) -> Device {
        Device {
            origin,
            kind,
            ty: None,
            model: None,
            bus: None,
            target_type: None,
            driver_type: None,
            backend: None,
            intremap: false,
            name: None,
            index: None,
            pci: None,
            address: None,
            master_startport: None,
            addr_controller: None,
            addr_bus: None,
            empty: false,
            ports: None,
            primary: false,
            driver_attrs: false,
            boot: false,
            source_addr: None,
            zpci: false,
            line: 0,
        }
    }

    /// The inputs of the device tables.
    pub fn model_input(&self) -> ModelInput<'_> {
        ModelInput {
            ty: self.ty.as_deref(),
            model: self.model.as_deref(),
            bus: self.bus.as_deref(),
            selector: match self.kind {
                Kind::Filesystem => self.driver_type.as_deref(),
                Kind::Serial => self.target_type.as_deref(),
                Kind::Pstore => self.backend.as_deref(),
                _ => None,
            },
        }
    }

    /// The model after libvirt's defaults (what the device really is).
    pub fn effective_model(&self, machine: &Machine) -> Option<String> {
        self.effective_model_str(machine).map(String::from)
    }

    /// [`effective_model`](Self::effective_model) without the copy.
    pub fn effective_model_str(&self, machine: &Machine) -> Option<&str> {
        if let Some(p) = &self.pci {
            return Some(p.model.name());
        }
        self.model
            .as_deref()
            .filter(|m| !m.is_empty() && *m != "default")
            .or_else(|| device::default_model(self.kind, &self.model_input(), machine, false))
    }

    /// What kind of slot the device needs and which QEMU device it becomes.
    pub fn facts(&self, machine: &Machine) -> ModelFacts {
        if let Some(p) = &self.pci {
            return ModelFacts {
                slot: device::SlotClass::None,
                integrated: false,
                qemu: p.qemu_device().to_string(),
                virtio: device::VirtioForm::No,
            };
        }
        device::facts(
            self.kind,
            &device::model_key(self.kind, &self.model_input(), machine),
        )
    }

    /// The PCI address when it has one with a slot.
    pub fn pci_addr(&self) -> Option<PciAddr> {
        self.address.as_ref().and_then(Address::pci)
    }

    /// True for `<controller type='pci'>` of a root model.
    pub fn is_pci_root(&self) -> bool {
        self.pci.as_ref().is_some_and(|p| p.model.is_root())
    }

    /// A one-line description for people: kind, model and identifier.
    pub fn describe(&self, machine: &Machine) -> String {
        use std::fmt::Write as _;
        let mut s = String::with_capacity(48);
        match &self.ty {
            Some(t) if self.kind == Kind::Controller => {
                s.push_str(t);
                s.push_str(" controller");
            }
            _ => s.push_str(self.kind.tag()),
        }
        if let Some(m) = self.effective_model_str(machine) {
            s.push(' ');
            s.push_str(m);
        }
        if let Some(i) = self.index {
            let _ = write!(s, " #{i}");
        }
        if let Some(n) = &self.name {
            s.push_str(" (");
            s.push_str(n);
            s.push(')');
        }
        s
    }
}

/// Settings outside `<devices>` that libvirt checks devices against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// `<features><ioapic driver='qemu'/>`: the split I/O APIC that interrupt
    /// remapping of an intel IOMMU needs (libvirt 9.0 checks it).
    pub split_ioapic: bool,
    /// The guest's memory is shared with other processes, as virtiofs needs: with NUMA
    /// cells, every cell's access (its `memAccess`, else `<memoryBacking><access>`) is
    /// shared; without, `<memoryBacking><access mode='shared'/>`.
    pub shared_memory: bool,
}

/// The guest as virt-pci sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// Domain name.
    pub name: String,
    /// The machine.
    pub machine: Machine,
    /// Every device under `<devices>` in document order (controllers included).
    pub devices: Vec<Device>,
    /// `<features><acpi/>` is present.
    pub acpi: bool,
    /// UEFI firmware (`<os firmware='efi'>` or a pflash `<loader>`).
    pub efi: bool,
    /// Number of `<cpu><numa><cell>` elements.
    pub numa_cells: u32,
    /// What else the domain says that libvirt's device rules consult.
    pub settings: Settings,
    /// The libvirt + QEMU releases whose behaviour the analyses predict.
    pub platform: super::versions::Platform,
}

/// The PCI controllers of one topology by index (see [`Topology::controller_map`]);
/// the first controller with an index wins, as in [`Topology::controller`].
#[derive(Clone, Debug, Default)]
pub struct ControllerMap(HashMap<u32, usize>);

impl ControllerMap {
    /// The PCI controller with `index` in `t` (the topology the map was built from).
    pub fn controller<'t>(&self, t: &'t Topology, index: u32) -> Option<&'t Device> {
        self.0.get(&index).and_then(|&i| t.devices.get(i))
    }

    /// The model of bus `index`, as [`Topology::bus_model`].
    pub fn bus_model(&self, t: &Topology, index: u32) -> Option<PciModel> {
        t.bus_model_of(self.controller(t, index), index)
    }
}

impl Topology {
    /// An x86_64 guest named `t` of machine type `machine_type` with these devices,
    /// ACPI on, BIOS firmware and no NUMA cells; each device gets its position as its
    /// origin, so that origins are unique as they are in a document. For building
    /// guests in code (tests, generators); domains from XML come from the libvirt layer.
    pub fn new(machine_type: &str, mut devices: Vec<Device>) -> Topology {
        for (k, d) in devices.iter_mut().enumerate() {
            d.origin = Origin(k as u32);
        }
        Topology {
            name: "t".into(),
            machine: Machine::new("x86_64", machine_type),
            devices,
            acpi: true,
            efi: false,
            numa_cells: 0,
            settings: Settings::default(),
            platform: Default::default(),
        }
    }

    /// The PCI controllers, sorted by index.
    pub fn pci_controllers(&self) -> Vec<&Device> {
        let mut v: Vec<&Device> = self.devices.iter().filter(|d| d.pci.is_some()).collect();
        v.sort_by_key(|d| d.index);
        v
    }

    /// Controller index → position in `devices`, built once for analyses that look
    /// controllers up for every device (a linear [`controller`](Self::controller) per
    /// device would make them quadratic).
    pub fn controller_map(&self) -> ControllerMap {
        let mut map = HashMap::new();
        for (i, d) in self.devices.iter().enumerate() {
            if d.pci.is_some()
                && let Some(index) = d.index
            {
                map.entry(index).or_insert(i);
            }
        }
        ControllerMap(map)
    }

    /// The PCI controller with `index`.
    pub fn controller(&self, index: u32) -> Option<&Device> {
        self.devices
            .iter()
            .find(|d| d.pci.is_some() && d.index == Some(index))
    }

    /// The model of bus `index` (the root when it is missing from the XML).
    pub fn bus_model(&self, index: u32) -> Option<PciModel> {
        self.bus_model_of(self.controller(index), index)
    }

    /// The model of bus `index` whose controller is `controller`.
    fn bus_model_of(&self, controller: Option<&Device>, index: u32) -> Option<PciModel> {
        match controller {
            Some(d) => d.pci.as_ref().map(|p| p.model),
            None if index == 0 => self.default_root(),
            None => None,
        }
    }

    /// The root bus model libvirt adds when the XML has none.
    pub fn default_root(&self) -> Option<PciModel> {
        match self.machine.class {
            MachineClass::Q35 | MachineClass::Virt => Some(PciModel::PcieRoot),
            MachineClass::I440fx => Some(PciModel::PciRoot),
            MachineClass::Other => None,
        }
    }
}
