//! The one writer of the model into the document: compares the topology as read with
//! the edited one, device by device (matched by origin), and touches only the elements
//! that changed: removed elements go, new ones are written in libvirt's layout where
//! the edited topology lists them, and changed addresses, models and controller
//! settings are set on the existing elements. An assignment is written the same way:
//! the core turns the plan into the topology libvirt defines, this writes the change.

use std::collections::HashMap;

use super::domain::node_of;
use super::xml::{Document, NodeId};
use crate::core::address::{Address, PciAddr};
use crate::core::assign::Plan;
use crate::core::device::Kind;
use crate::core::edit;
use crate::core::topology::{Device, Origin, PciController, Topology};

/// Where each device of the edited topology ended up in the document.
pub type Placed = HashMap<Origin, NodeId>;

fn devices_el(doc: &mut Document) -> NodeId {
    let root = doc.root();
    match doc.child(root, "devices") {
        Some(d) => d,
        None => {
            let d = doc.new_element("devices", &[]);
            doc.append_child(root, d);
            d
        }
    }
}

/// Writes what assignment fills in and adds: the core files the plan into the
/// topology read from `doc` ([`edit::define_in_file_order`]), and the change is
/// written as any edit's is. Returns where every device is in the document.
pub fn write_plan(doc: &mut Document, topology: &Topology, plan: &Plan) -> Placed {
    let defined = edit::define_in_file_order(topology, plan);
    write_topology(doc, topology, &defined)
}

/// Applies the difference between `base` (read from `doc`) and `edited` to `doc`, and
/// returns where every device of `edited` is in the document.
pub fn write_topology(doc: &mut Document, base: &Topology, edited: &Topology) -> Placed {
    let old: HashMap<Origin, &Device> = base.devices.iter().map(|d| (d.origin, d)).collect();
    let new: HashMap<Origin, &Device> = edited.devices.iter().map(|d| (d.origin, d)).collect();
    for d in &base.devices {
        if !new.contains_key(&d.origin) {
            doc.remove(node_of(d.origin));
        }
    }
    if base.machine.machine_type != edited.machine.machine_type
        && let Some(os) = doc.child(doc.root(), "os")
        && let Some(ty) = doc.child(os, "type")
    {
        doc.set_attr(ty, "machine", &edited.machine.machine_type);
    }
    let devices = devices_el(doc);
    let mut placed: Placed = HashMap::new();
    let mut prev: Option<NodeId> = None;
    for d in &edited.devices {
        let el = match old.get(&d.origin) {
            Some(o) => {
                let el = node_of(d.origin);
                update(doc, el, o, d);
                el
            }
            None => {
                let el = create(doc, d, &edited.name);
                match prev {
                    Some(p) => doc.insert_after(p, el),
                    None => match doc.child(devices, "emulator") {
                        Some(e) => doc.insert_after(e, el),
                        None => {
                            let first = doc.child_elements(devices).next();
                            match first {
                                Some(first) => doc.insert_before(first, el),
                                None => doc.append_child(devices, el),
                            }
                        }
                    },
                }
                fill_new(doc, el, d);
                el
            }
        };
        placed.insert(d.origin, el);
        prev = Some(el);
    }
    placed
}

/// The element name and attributes of a new device's start tag.
fn create(doc: &mut Document, d: &Device, domain: &str) -> NodeId {
    let mut attrs: Vec<(&str, String)> = Vec::new();
    let ty = d.ty.clone().unwrap_or_default();
    match d.kind {
        Kind::Disk => {
            attrs.push(("type", "file".into()));
            attrs.push(("device", ty));
        }
        Kind::Interface => attrs.push(("type", ty)),
        Kind::Controller => {
            attrs.push(("type", ty));
            if let Some(i) = d.index {
                attrs.push(("index", i.to_string()));
            }
        }
        Kind::Filesystem => {
            attrs.push(("type", ty));
            attrs.push(("accessmode", "passthrough".into()));
        }
        Kind::Hostdev => {
            attrs.push(("mode", "subsystem".into()));
            attrs.push(("type", ty));
            attrs.push(("managed", "yes".into()));
        }
        _ => {}
    }
    if model_is_attr(d.kind)
        && let Some(m) = &d.model
    {
        attrs.push(("model", m.clone()));
    }
    if let Some(p) = d.ports {
        attrs.push(("ports", p.to_string()));
    }
    let pairs: Vec<(&str, &str)> = attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let el = doc.new_element(d.kind.tag(), &pairs);
    let _ = domain;
    el
}

/// The children of a new device, written once it is attached (so that they are
/// indented like the rest of the document).
fn fill_new(doc: &mut Document, el: NodeId, d: &Device) {
    let child = |doc: &mut Document, name: &str, attrs: &[(&str, &str)]| {
        let c = doc.new_element(name, attrs);
        doc.append_child(el, c);
        c
    };
    let name = d.name.clone().unwrap_or_default();
    match d.kind {
        Kind::Disk => {
            if d.driver_attrs {
                child(doc, "driver", &[("name", "qemu"), ("type", "qcow2")]);
            }
            let file = format!("/var/lib/libvirt/images/{name}.qcow2");
            child(doc, "source", &[("file", &file)]);
            let bus = d.bus.clone().unwrap_or_default();
            child(doc, "target", &[("dev", &name), ("bus", &bus)]);
        }
        Kind::Interface => {
            if !name.is_empty() {
                child(doc, "mac", &[("address", &name)]);
            }
            child(doc, "source", &[("network", "default")]);
            if let Some(m) = &d.model {
                child(doc, "model", &[("type", m)]);
            }
        }
        Kind::Video => {
            if let Some(m) = &d.model {
                let mut a = vec![("type", m.as_str())];
                if d.primary {
                    a.push(("primary", "yes"));
                }
                child(doc, "model", &a);
            }
        }
        Kind::Rng => {
            child(doc, "backend", &[("model", "random")]);
        }
        Kind::Filesystem => {
            child(doc, "source", &[("dir", &format!("/srv/{name}"))]);
            child(doc, "target", &[("dir", &name)]);
        }
        Kind::Vsock => {
            child(doc, "cid", &[("auto", "yes")]);
        }
        Kind::Hostdev => {
            if let Some(src) = &d.source_addr
                && let Some((dom, rest)) = src.split_once(':')
                && let Some((bus, rest)) = rest.split_once(':')
                && let Some((slot, func)) = rest.split_once('.')
            {
                let s = child(doc, "source", &[]);
                let a = doc.new_element(
                    "address",
                    &[
                        ("domain", &format!("0x{dom}")),
                        ("bus", &format!("0x{bus}")),
                        ("slot", &format!("0x{slot}")),
                        ("function", &format!("0x{func}")),
                    ],
                );
                doc.append_child(s, a);
            }
        }
        _ => {}
    }
    if let Some(p) = &d.pci {
        write_controller(doc, el, &PciController::new(p.model), p);
    }
    if let Some(a) = &d.address {
        write_address(doc, el, None, a);
    }
}

/// Whether the model is the element's `model=` attribute (otherwise `<model type>`).
fn model_is_attr(kind: Kind) -> bool {
    !matches!(kind, Kind::Interface | Kind::Video | Kind::Shmem)
}

/// Sets what differs between `old` and `new` on the existing element `el`.
fn update(doc: &mut Document, el: NodeId, old: &Device, new: &Device) {
    if old.model != new.model && new.pci.is_none() {
        if model_is_attr(new.kind) {
            match &new.model {
                Some(m) => doc.set_attr(el, "model", m),
                None => doc.remove_attr(el, "model"),
            }
        } else {
            match (&new.model, doc.child(el, "model")) {
                (Some(m), Some(c)) => doc.set_attr(c, "type", m),
                (Some(m), None) => {
                    let c = doc.new_element("model", &[("type", m)]);
                    match doc.child(el, "address") {
                        Some(a) => doc.insert_before(a, c),
                        None => doc.append_child(el, c),
                    }
                }
                (None, Some(c)) => doc.remove(c),
                (None, None) => {}
            }
        }
    }
    if old.kind == Kind::Disk
        && (old.bus != new.bus || old.name != new.name)
        && let Some(t) = doc.child(el, "target")
    {
        if let Some(b) = &new.bus {
            doc.set_attr(t, "bus", b);
        }
        if let Some(n) = &new.name {
            doc.set_attr(t, "dev", n);
        }
    }
    if let (Some(o), Some(n)) = (&old.pci, &new.pci)
        && o.model != n.model
    {
        doc.set_attr(el, "model", n.model.name());
    }
    if old.index != new.index
        && let Some(i) = new.index
    {
        doc.set_attr(el, "index", &i.to_string());
    }
    if let (Some(o), Some(n)) = (&old.pci, &new.pci)
        && o != n
    {
        write_controller(doc, el, o, n);
    }
    if old.address != new.address {
        match &new.address {
            Some(a) => write_address(doc, el, old.address.as_ref(), a),
            None => {
                if let Some(a) = doc.child(el, "address") {
                    doc.remove(a);
                }
            }
        }
    }
}

/// Writes the `<model name>` and `<target>` settings that differ between `old` and `new`.
fn write_controller(doc: &mut Document, el: NodeId, old: &PciController, new: &PciController) {
    if old.model_name.is_some()
        && new.model_name.is_none()
        && let Some(m) = doc.child(el, "model")
    {
        doc.remove_attr(m, "name");
        if !doc.has_attrs(m) && doc.child_elements(m).next().is_none() {
            doc.remove(m);
        }
    }
    if old.model_name != new.model_name
        && let Some(name) = &new.model_name
    {
        match doc.child(el, "model") {
            Some(m) => doc.set_attr(m, "name", name),
            None => {
                let m = doc.new_element("model", &[("name", name)]);
                match doc.child(el, "target").or_else(|| doc.child(el, "address")) {
                    Some(next) => doc.insert_before(next, m),
                    None => doc.append_child(el, m),
                }
            }
        }
    }
    let mut set: Vec<(&str, Option<String>)> = Vec::new();
    let num = |v: Option<u32>| v.map(|v| v.to_string());
    if old.chassis_nr != new.chassis_nr {
        set.push(("chassisNr", num(new.chassis_nr)));
    }
    if old.chassis != new.chassis {
        set.push(("chassis", num(new.chassis)));
    }
    if old.port != new.port {
        set.push(("port", new.port.map(|v| format!("0x{v:x}"))));
    }
    if old.bus_nr != new.bus_nr {
        set.push(("busNr", num(new.bus_nr)));
    }
    if old.hotplug != new.hotplug {
        let v = new
            .hotplug
            .map(|h| if h { "on" } else { "off" }.to_string());
        set.push(("hotplug", v));
    }
    if set.is_empty() {
        return;
    }
    let target = match doc.child(el, "target") {
        Some(t) => t,
        None => {
            if set.iter().all(|(_, v)| v.is_none()) {
                return;
            }
            let t = doc.new_element("target", &[]);
            match doc.child(el, "address") {
                Some(a) => doc.insert_before(a, t),
                None => doc.append_child(el, t),
            }
            t
        }
    };
    for (k, v) in set {
        match v {
            Some(v) => doc.set_attr(target, k, &v),
            None => doc.remove_attr(target, k),
        }
    }
    if !doc.has_attrs(target) && doc.child_elements(target).next().is_none() {
        doc.remove(target);
    }
}

fn pci_attrs(a: &PciAddr) -> [(&'static str, String); 5] {
    [
        ("type", "pci".to_string()),
        ("domain", format!("0x{:04x}", a.domain)),
        ("bus", format!("0x{:02x}", a.bus)),
        ("slot", format!("0x{:02x}", a.slot)),
        ("function", format!("0x{:x}", a.function)),
    ]
}

/// Writes `a` as the element's `<address>`, reusing the one that is there. When the
/// element had a PCI address (`old`), only what changed is written: an attribute that
/// already says the new value (absent meaning 0, as libvirt reads it) keeps its bytes,
/// so filling in `multifunction` leaves the user's `slot='2'` as they wrote it.
fn write_address(doc: &mut Document, el: NodeId, old: Option<&Address>, a: &Address) {
    let attrs: Vec<(&str, Option<String>)> = match a {
        Address::Pci {
            addr,
            multifunction,
        } => {
            let was = match old {
                Some(Address::Pci { addr, .. }) => Some(addr),
                _ => None,
            };
            let same = |k: &str| {
                was.is_some_and(|w| match k {
                    "domain" => w.domain == addr.domain,
                    "bus" => w.bus == addr.bus,
                    "slot" => w.slot == addr.slot,
                    "function" => w.function == addr.function,
                    _ => false,
                })
            };
            let mut v: Vec<(&str, Option<String>)> = pci_attrs(addr)
                .into_iter()
                .filter(|(k, _)| !same(k))
                .map(|(k, v)| (k, Some(v)))
                .collect();
            v.push((
                "multifunction",
                multifunction.map(|m| if m { "on" } else { "off" }.to_string()),
            ));
            v
        }
        Address::PciRequest => vec![("type", Some("pci".into()))],
        Address::VirtioMmio => vec![("type", Some("virtio-mmio".into()))],
        Address::Unassigned => vec![("type", Some("unassigned".into()))],
        Address::Other(t) => vec![("type", Some(t.clone()))],
    };
    let ty = match a {
        Address::Pci { .. } | Address::PciRequest => "pci",
        Address::VirtioMmio => "virtio-mmio",
        Address::Unassigned => "unassigned",
        Address::Other(t) => t.as_str(),
    };
    let existing = doc.child(el, "address");
    let same_type = existing.is_some_and(|x| doc.attr(x, "type").as_deref() == Some(ty));
    let target = match existing {
        Some(x) if same_type => x,
        other => {
            if let Some(x) = other {
                doc.remove(x);
            }
            let n = doc.new_element("address", &[]);
            doc.append_child(el, n);
            n
        }
    };
    for (k, v) in attrs {
        match v {
            Some(v) => doc.set_attr(target, k, &v),
            None => doc.remove_attr(target, k),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::edit::{self, Op, Placement};
    use crate::core::pci::PciModel;
    use crate::libvirt::read_topology;

    const GUEST: &str = "<domain type='kvm'>\n  <name>g</name>\n  <os>\n    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>\n  </os>\n  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n    <controller type='pci' index='0' model='pcie-root'/>\n    <controller type='pci' index='1' model='pcie-root-port'>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n    </controller>\n    <disk type='file' device='disk'>\n      <source file='/var/lib/libvirt/images/vda.qcow2'/>\n      <target dev='vda' bus='virtio'/>\n      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n    </disk>\n  </devices>\n</domain>\n";

    fn same(a: &Topology, b: &Topology) -> bool {
        let strip = |t: &Topology| {
            let mut t = t.clone();
            for d in &mut t.devices {
                d.origin = Origin(0);
                d.line = 0;
            }
            t
        };
        strip(a) == strip(b)
    }

    /// One random operation, resolved against the topology it applies to (indexes
    /// wrap around whatever is there).
    fn resolve(t: &Topology, (kind, a, b, c): (u8, u16, u16, u16)) -> Option<Op> {
        use crate::core::edit::{CONTROLLER_MODELS, TEMPLATES};
        let n = t.devices.len();
        let dev = |x: u16| (n > 0).then(|| t.devices[x as usize % n].origin);
        let pick = |v: Vec<PciAddr>, x: u16| (!v.is_empty()).then(|| v[x as usize % v.len()]);
        Some(match kind % 7 {
            0 => {
                let template = a as usize % TEMPLATES.len();
                let models = TEMPLATES[template].models;
                let model = models[b as usize % models.len()].to_string();
                let at = match pick(edit::device_targets(t, template, &model), c) {
                    Some(x) if c % 3 != 0 => Placement::At(x),
                    _ => Placement::Unassigned,
                };
                Op::AddDevice {
                    template,
                    model,
                    at,
                }
            }
            1 => {
                let model = CONTROLLER_MODELS[a as usize % CONTROLLER_MODELS.len()];
                let at = match pick(edit::controller_targets(t, model), b) {
                    Some(x) => Placement::At(x),
                    None => Placement::Unassigned,
                };
                Op::AddController {
                    model,
                    at,
                    downstream: (c % 4) as u8 + 1,
                }
            }
            2 => {
                let i = a as usize % n.max(1);
                let to = pick(edit::move_targets(t, i), b)?;
                Op::Move {
                    device: dev(a)?,
                    to,
                }
            }
            3 => Op::Delete { device: dev(a)? },
            4 => Op::SetModel {
                device: dev(a)?,
                model: Some(
                    ["virtio", "virtio-transitional", "virtio-non-transitional"][b as usize % 3]
                        .into(),
                ),
            },
            5 => Op::SetHotplug {
                device: dev(a)?,
                on: b % 2 == 0,
            },
            _ => Op::AutoAssign,
        })
    }

    const EXAMPLES: &[&str] = &[
        include_str!("../../assets/examples/centos6-q35-virtio.xml"),
        include_str!("../../assets/examples/debian8-i440fx.xml"),
        include_str!("../../assets/examples/aarch64-virt-mmio.xml"),
        include_str!("../../assets/examples/win10-q35.xml"),
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// Random edits, then: the XML written for them reads back as the edited
        /// topology, and undoing them all gives the original back.
        #[test]
        fn random_edits_write_back_and_undo(
            which in 0usize..4,
            ops in proptest::collection::vec(
                (proptest::prelude::any::<u8>(), proptest::prelude::any::<u16>(),
                 proptest::prelude::any::<u16>(), proptest::prelude::any::<u16>()),
                1..8,
            ),
        ) {
            let doc0 = Document::parse(EXAMPLES[which]).expect("xml");
            let t0 = read_topology(&doc0).expect("domain");
            let mut h = edit::History::new(t0.clone());
            for raw in ops {
                if let Some(op) = resolve(h.current(), raw) {
                    let _ = h.record(&op);
                }
            }
            let mut doc = doc0.clone();
            write_topology(&mut doc, &t0, h.current());
            let text = doc.write();
            let back = read_topology(&Document::parse(&text).expect("written XML parses"))
                .expect("written XML is a domain");
            proptest::prop_assert!(same(&back, h.current()), "{}", text);
            while h.undo().is_some() {}
            proptest::prop_assert_eq!(h.current(), &t0);
            proptest::prop_assert!(!h.dirty());
        }
    }

    #[test]
    fn a_filled_in_multifunction_leaves_the_address_as_the_user_wrote_it() {
        let xml = "<domain type='kvm'>\n  <name>g</name>\n  <os>\n    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>\n  </os>\n  <devices>\n    <controller type='pci' index='0' model='pci-root'/>\n    <interface type='user'>\n      <model type='e1000'/>\n      <address type='pci' slot='5' function='0'/>\n    </interface>\n    <interface type='user'>\n      <model type='e1000'/>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x1'/>\n    </interface>\n    <memballoon model='virtio'>\n      <address type='pci'/>\n    </memballoon>\n  </devices>\n</domain>\n";
        let mut doc = Document::parse(xml).expect("xml");
        let t = read_topology(&doc).expect("domain");
        let plan = crate::core::assign::assign(&t).expect("libvirt accepts it");
        write_plan(&mut doc, &t, &plan);
        let text = doc.write();
        assert!(
            text.contains("<address type='pci' slot='5' function='0' multifunction='on'/>"),
            "{text}"
        );
        // A request for an address is written out whole, as libvirt writes it.
        assert!(
            text.contains(
                "<address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>"
            ),
            "{text}"
        );
    }

    #[test]
    fn unchanged_topology_writes_the_same_bytes() {
        let mut doc = Document::parse(GUEST).expect("xml");
        let t = read_topology(&doc).expect("domain");
        write_topology(&mut doc, &t, &t);
        assert_eq!(doc.write(), GUEST);
    }

    #[test]
    fn edits_touch_only_their_elements_and_read_back() {
        let doc0 = Document::parse(GUEST).expect("xml");
        let t0 = read_topology(&doc0).expect("domain");
        let mut t = t0.clone();
        for op in [
            Op::AddController {
                model: PciModel::PcieRootPort,
                at: Placement::At(PciAddr::new(0, 3, 0)),
                downstream: 0,
            },
            Op::AddController {
                model: PciModel::PcieToPciBridge,
                at: Placement::At(PciAddr::new(2, 0, 0)),
                downstream: 0,
            },
            Op::Move {
                device: t0.devices[2].origin,
                to: PciAddr::new(3, 1, 0),
            },
            Op::SetModel {
                device: t0.devices[2].origin,
                model: Some("virtio-transitional".into()),
            },
            Op::AddDevice {
                template: 1,
                model: "e1000e".into(),
                at: Placement::At(PciAddr::new(1, 0, 0)),
            },
            Op::AutoAssign,
        ] {
            t = edit::apply(&t, &op).unwrap_or_else(|e| panic!("{op:?}: {e}"));
        }
        let mut doc = doc0.clone();
        write_topology(&mut doc, &t0, &t);
        let text = doc.write();
        let back = read_topology(&Document::parse(&text).expect("xml")).expect("domain");
        assert!(same(&back, &t), "{text}");
        assert!(text.contains("<disk type='file' device='disk' model='virtio-transitional'>"));
        assert!(text.starts_with("<domain type='kvm'>\n  <name>g</name>\n"));
    }
}
