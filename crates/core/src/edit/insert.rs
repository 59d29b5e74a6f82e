//! Where new devices go: their place in document order (after the last of their kind,
//! as libvirt groups them), adding devices and controllers (a switch with its downstream
//! ports), and an assignment plan filed in the order the saved file will have.

use super::*;

/// Where a new device goes in document order: after the last of its kind (a PCI
/// controller after the last PCI controller), as libvirt groups them.
pub(super) fn insert_position(t: &Topology, d: &Device) -> usize {
    let same = |x: &Device| {
        x.kind == d.kind && (d.kind != Kind::Controller || x.ty.as_deref() == d.ty.as_deref())
    };
    let any_ctl = |x: &Device| x.kind == Kind::Controller;
    t.devices
        .iter()
        .rposition(same)
        .or_else(|| {
            if d.kind == Kind::Controller {
                t.devices.iter().rposition(any_ctl)
            } else {
                None
            }
        })
        .map_or(
            if d.kind == Kind::Controller {
                0
            } else {
                t.devices.len()
            },
            |p| p + 1,
        )
}

pub(super) fn insert(t: &mut Topology, d: Device) {
    let at = insert_position(t, &d);
    t.devices.insert(at, d);
}

pub(super) fn place(mut d: Device, at: Placement) -> Device {
    if let Placement::At(a) = at {
        d.address = Some(Address::Pci {
            addr: a,
            multifunction: None,
        });
    }
    d
}

/// Places what an add made: as libvirt would (`Auto`), or not at all (`Unassigned`,
/// libvirt places it when the guest is defined, and [`apply`] refuses it now if
/// libvirt would refuse it then).
pub(super) fn finish(out: Topology, at: Placement) -> Result<Topology, EditError> {
    match at {
        Placement::Auto => {
            let plan = assign::assign(&out)?;
            Ok(define_in_file_order(&out, &plan))
        }
        Placement::Unassigned | Placement::At(_) => Ok(out),
    }
}

pub(super) fn add_device(
    t: &Topology,
    template: usize,
    model: &str,
    at: Placement,
) -> Result<Topology, EditError> {
    let Some(tpl) = TEMPLATES.get(template) else {
        return err("no such kind of device");
    };
    if !tpl.models.contains(&model) {
        return err(format!("{} has no model '{model}'", tpl.label));
    }
    let Some(d) = new_device(t, template, model) else {
        return err("no such kind of device");
    };
    if let Placement::At(a) = at
        && !device_targets(t, template, model).contains(&a)
    {
        return err(format!("{} cannot go to {}", tpl.label, a.bdf()));
    }
    let mut out = t.clone();
    insert(&mut out, place(d, at));
    if let Placement::At(a) = at {
        share_slot(&mut out, a);
    }
    finish(out, at)
}

/// A new PCI controller of `model` with `index`.
pub(super) fn controller(origin: Origin, model: PciModel, index: u32) -> Device {
    let mut d = Device::new(origin, Kind::Controller);
    d.ty = Some("pci".into());
    d.model = Some(model.name().into());
    d.index = Some(index);
    d.pci = Some(PciController::new(model));
    d
}

/// The index a new PCI controller gets: one more than the largest.
pub(super) fn next_pci_index(t: &Topology) -> u32 {
    t.devices
        .iter()
        .filter(|d| d.pci.is_some())
        .filter_map(|d| d.index)
        .max()
        .map_or(1, |m| m + 1)
}

pub(super) fn add_controller(
    t: &Topology,
    model: PciModel,
    at: Placement,
    downstream: u8,
) -> Result<Topology, EditError> {
    if model.is_root() {
        return err("the machine has its root bus already");
    }
    if let Placement::At(a) = at
        && !controller_targets(t, model).contains(&a)
    {
        return err(format!("a {} cannot go to {}", model.name(), a.bdf()));
    }
    let index = next_pci_index(t);
    if index > 255 {
        return err("no PCI controller index left (the maximum is 255)");
    }
    let mut out = t.clone();
    let up = controller(fresh_origin(&out), model, index);
    insert(&mut out, place(up, at));
    if let Placement::At(a) = at {
        share_slot(&mut out, a);
    }
    if model == PciModel::PcieSwitchUpstreamPort {
        let n = downstream.clamp(1, 32);
        for k in 0..n {
            let i = index + 1 + u32::from(k);
            if i > 255 {
                return err("no PCI controller index left for the downstream ports");
            }
            let mut d = controller(fresh_origin(&out), PciModel::PcieSwitchDownstreamPort, i);
            d.address = Some(Address::Pci {
                addr: PciAddr::new(index, k, 0),
                multifunction: None,
            });
            insert(&mut out, d);
        }
    }
    finish(out, at)
}

/// Writes an assignment plan into a copy of the topology ([`Plan::define`]) and files
/// each added device where the document layer will write its element, so that the
/// edited topology lists its devices in the order the saved file will: new controllers
/// after the last controller (PCI ones after the last PCI controller), everything else
/// at the end.
pub fn define_in_file_order(t: &Topology, plan: &Plan) -> Topology {
    let mut out = plan.define(t);
    let added = out.devices.split_off(t.devices.len());
    for d in added {
        let at = if d.kind == Kind::Controller {
            let pci = d.ty.as_deref() == Some("pci");
            out.devices
                .iter()
                .rposition(|x| x.kind == Kind::Controller && (!pci || x.pci.is_some()))
                .or_else(|| out.devices.iter().rposition(|x| x.kind == Kind::Controller))
                .map_or(0, |p| p + 1)
        } else {
            out.devices.len()
        };
        out.devices.insert(at, d);
    }
    out
}
