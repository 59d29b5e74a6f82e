//! Writes an assignment [`Plan`] into the document: new elements in libvirt's layout,
//! filled-in attributes on existing ones, nothing else touched.

use super::domain::node_of;
use super::xml::{Document, NodeId};
use crate::core::address::PciAddr;
use crate::core::assign::{ControllerFill, Fill, NewDevice, Plan, Target};
use crate::core::device::Kind;
use crate::core::topology::Topology;

fn pci_address_attrs(a: &PciAddr, multifunction: bool) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("type", "pci".to_string()),
        ("domain", format!("0x{:04x}", a.domain)),
        ("bus", format!("0x{:02x}", a.bus)),
        ("slot", format!("0x{:02x}", a.slot)),
        ("function", format!("0x{:x}", a.function)),
    ];
    if multifunction {
        v.push(("multifunction", "on".into()));
    }
    v
}

fn element(doc: &mut Document, name: &str, attrs: &[(&str, String)]) -> NodeId {
    let pairs: Vec<(&str, &str)> = attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    doc.new_element(name, &pairs)
}

/// Puts `child` into `parent` before its `<address>` when it has one (libvirt writes
/// the address last), else at the end.
fn put_before_address(doc: &mut Document, parent: NodeId, child: NodeId) {
    match doc.child(parent, "address") {
        Some(addr) => doc.insert_before(addr, child),
        None => doc.append_child(parent, child),
    }
}

fn write_controller_fill(doc: &mut Document, el: NodeId, c: &ControllerFill) {
    if let Some(name) = &c.model_name {
        match doc.child(el, "model") {
            Some(m) => doc.set_attr(m, "name", name),
            None => {
                let m = element(doc, "model", &[("name", name.clone())]);
                // <model> goes first among the children libvirt writes.
                match doc.child(el, "target").or_else(|| doc.child(el, "address")) {
                    Some(next) => doc.insert_before(next, m),
                    None => doc.append_child(el, m),
                }
            }
        }
    }
    let mut attrs: Vec<(&str, String)> = Vec::new();
    if let Some(v) = c.chassis_nr {
        attrs.push(("chassisNr", v.to_string()));
    }
    if let Some(v) = c.chassis {
        attrs.push(("chassis", v.to_string()));
    }
    if let Some(v) = c.port {
        attrs.push(("port", format!("0x{v:x}")));
    }
    if let Some(v) = c.bus_nr {
        attrs.push(("busNr", v.to_string()));
    }
    if attrs.is_empty() {
        return;
    }
    match doc.child(el, "target") {
        Some(t) => {
            for (k, v) in attrs {
                doc.set_attr(t, k, &v);
            }
        }
        None => {
            let t = element(doc, "target", &attrs);
            put_before_address(doc, el, t);
        }
    }
}

fn write_address(doc: &mut Document, el: NodeId, f: &Fill) {
    if let Some(a) = f.address {
        match doc.child(el, "address") {
            Some(existing) => {
                for (k, v) in pci_address_attrs(&a, f.multifunction) {
                    doc.set_attr(existing, k, &v);
                }
            }
            None => {
                let n = element(doc, "address", &pci_address_attrs(&a, f.multifunction));
                doc.append_child(el, n);
            }
        }
    } else if f.multifunction
        && let Some(existing) = doc.child(el, "address")
    {
        doc.set_attr(existing, "multifunction", "on");
    }
    if f.virtio_mmio && doc.child(el, "address").is_none() {
        let n = element(doc, "address", &[("type", "virtio-mmio".into())]);
        doc.append_child(el, n);
    }
}

fn new_device_element(doc: &mut Document, nd: &NewDevice, f: &Fill) -> NodeId {
    match nd.kind {
        Kind::Controller => {
            let mut attrs = vec![("type", nd.ty.clone().unwrap_or_default())];
            if let Some(i) = f.index.or(nd.index) {
                attrs.push(("index", i.to_string()));
            }
            if let Some(m) = &nd.model {
                attrs.push(("model", m.clone()));
            }
            element(doc, "controller", &attrs)
        }
        Kind::Video => element(doc, "video", &[]),
        kind => {
            let attrs: Vec<(&str, String)> =
                nd.model.iter().map(|m| ("model", m.clone())).collect();
            element(doc, kind.tag(), &attrs)
        }
    }
}

/// Applies `plan` (computed from `topology`, which was read from `doc`) to `doc`.
pub fn apply_plan(doc: &mut Document, topology: &Topology, plan: &Plan) {
    let root = doc.root();
    let devices = match doc.child(root, "devices") {
        Some(d) => d,
        None => {
            let d = doc.new_element("devices", &[]);
            doc.append_child(root, d);
            d
        }
    };
    // New controllers follow the last controller already there (PCI ones the last PCI
    // controller), the way libvirt groups them.
    let controllers: Vec<NodeId> = doc
        .child_elements(devices)
        .filter(|&c| doc.name(c) == "controller")
        .collect();
    let mut last_ctl = controllers.last().copied();
    let mut last_pci = controllers
        .iter()
        .copied()
        .rfind(|&c| doc.attr(c, "type").as_deref() == Some("pci"));
    let emulator = doc.child(devices, "emulator");

    for (t, f) in &plan.fills {
        match *t {
            Target::Existing(i) => {
                let el = node_of(topology.devices[i].origin);
                if let Some(idx) = f.index {
                    doc.set_attr(el, "index", &idx.to_string());
                }
                write_controller_fill(doc, el, &f.controller);
                write_address(doc, el, f);
            }
            Target::Added(a) => {
                let nd = &plan.added[a];
                let el = new_device_element(doc, nd, f);
                // Attach first so that children are indented like the rest of the document.
                if nd.kind == Kind::Controller {
                    let is_pci = nd.ty.as_deref() == Some("pci");
                    let anchor = if is_pci {
                        last_pci.or(last_ctl)
                    } else {
                        last_ctl
                    };
                    match anchor.or(emulator) {
                        Some(after) => doc.insert_after(after, el),
                        None => doc.append_child(devices, el),
                    }
                    if is_pci {
                        last_pci = Some(el);
                    }
                    if anchor == last_ctl || last_ctl.is_none() {
                        last_ctl = Some(el);
                    }
                } else {
                    doc.append_child(devices, el);
                }
                if nd.kind == Kind::Video {
                    let m = element(
                        doc,
                        "model",
                        &[("type", nd.model.clone().unwrap_or_default())],
                    );
                    doc.append_child(el, m);
                }
                write_controller_fill(doc, el, &f.controller);
                write_address(doc, el, f);
            }
        }
    }
}
