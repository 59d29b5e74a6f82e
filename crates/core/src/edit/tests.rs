//! Tests of the edit operations, their legal targets and the undo history.

use super::*;
use crate::machine::Machine;

fn q35() -> Topology {
    let mut root = Device::new(Origin(1), Kind::Controller);
    root.ty = Some("pci".into());
    root.index = Some(0);
    root.model = Some("pcie-root".into());
    root.pci = Some(PciController::new(PciModel::PcieRoot));
    Topology {
        name: "t".into(),
        machine: Machine::new("x86_64", "pc-q35-7.2"),
        devices: vec![root],
        acpi: true,
        efi: false,
        numa_cells: 0,
        settings: Default::default(),
        platform: Default::default(),
    }
}

fn add(t: &Topology, op: Op) -> Topology {
    apply(t, &op).unwrap_or_else(|e| panic!("{op:?}: {e}"))
}

#[test]
fn root_port_then_disk_behind_it_then_undo_everything() {
    let t0 = q35();
    let mut h = History::new(t0.clone());
    let op = Op::AddController {
        model: PciModel::PcieRootPort,
        at: Placement::At(PciAddr::new(0, 2, 0)),
        downstream: 0,
    };
    h.apply(&op).expect("root port");
    let targets = device_targets(h.current(), 0, "virtio");
    assert!(targets.contains(&PciAddr::new(1, 0, 0)), "{targets:?}");
    let op = Op::AddDevice {
        template: 0,
        model: "virtio".into(),
        at: Placement::At(PciAddr::new(1, 0, 0)),
    };
    h.apply(&op).expect("disk");
    assert!(h.dirty());
    assert_eq!(h.current().devices.len(), 3);
    assert_eq!(h.current().devices[2].name.as_deref(), Some("vda"));
    // The port is full now.
    assert!(!device_targets(h.current(), 0, "virtio").contains(&PciAddr::new(1, 0, 0)));
    while h.undo().is_some() {}
    assert_eq!(*h.current(), t0);
    assert!(!h.dirty());
    assert!(h.redo().is_some());
}

#[test]
fn a_new_target_reaches_every_state_and_is_not_an_edit() {
    use crate::versions::Platform;
    let mut h = History::new(q35());
    let op = Op::AddController {
        model: PciModel::PcieRootPort,
        at: Placement::At(PciAddr::new(0, 2, 0)),
        downstream: 0,
    };
    h.apply(&op).expect("root port");
    h.mark_saved();
    h.set_platform(Platform::DEBIAN12);
    assert!(!h.dirty());
    assert_eq!(h.current().platform, Platform::DEBIAN12);
    h.undo().expect("undo");
    assert_eq!(h.current().platform, Platform::DEBIAN12);
    assert!(h.dirty());
    h.redo().expect("redo");
    assert!(!h.dirty());
}

#[test]
fn switch_comes_with_its_downstream_ports_and_delete_takes_them_along() {
    let t = add(
        &q35(),
        Op::AddController {
            model: PciModel::PcieRootPort,
            at: Placement::At(PciAddr::new(0, 2, 0)),
            downstream: 0,
        },
    );
    let t = add(
        &t,
        Op::AddController {
            model: PciModel::PcieSwitchUpstreamPort,
            at: Placement::At(PciAddr::new(1, 0, 0)),
            downstream: 3,
        },
    );
    assert_eq!(t.pci_controllers().len(), 6);
    let port = t.devices[1].origin;
    let t2 = add(&t, Op::Delete { device: port });
    assert_eq!(t2.devices.len(), 1, "the switch goes with its port");
}

#[test]
fn move_only_to_legal_targets_and_not_behind_itself() {
    let t = add(
        &q35(),
        Op::AddController {
            model: PciModel::PcieRootPort,
            at: Placement::At(PciAddr::new(0, 2, 0)),
            downstream: 0,
        },
    );
    let port = 1;
    let targets = move_targets(&t, port);
    assert!(targets.iter().all(|a| a.bus == 0), "{targets:?}");
    assert!(
        apply(
            &t,
            &Op::Move {
                device: t.devices[port].origin,
                to: PciAddr::new(1, 0, 0)
            }
        )
        .is_err()
    );
    let t = add(
        &t,
        Op::Move {
            device: t.devices[port].origin,
            to: PciAddr::new(0, 3, 0),
        },
    );
    assert_eq!(t.devices[port].pci_addr(), Some(PciAddr::new(0, 3, 0)));
}

#[test]
fn auto_placement_is_what_libvirt_does() {
    let t = add(
        &q35(),
        Op::AddDevice {
            template: 1,
            model: "virtio".into(),
            at: Placement::Auto,
        },
    );
    // libvirt adds a root port for the NIC (and its implicit devices).
    let nic = t
        .devices
        .iter()
        .find(|d| d.kind == Kind::Interface)
        .expect("nic");
    let bus = nic.pci_addr().expect("placed").bus;
    assert_eq!(t.bus_model(bus), Some(PciModel::PcieRootPort));
    assert!(assign::assign(&t).is_ok_and(|p| p.is_empty()));
}

#[test]
fn apply_all_stops_at_the_first_bad_op_and_sets_the_machine_type() {
    let t = q35();
    let ops = [
        Op::SetMachineType {
            machine_type: "pc-q35-6.2".into(),
        },
        Op::AddController {
            model: PciModel::PcieRootPort,
            at: Placement::Unassigned,
            downstream: 0,
        },
    ];
    let out = apply_all(&t, &ops).expect("applies");
    assert_eq!(out.machine.machine_type, "pc-q35-6.2");
    assert_eq!(out.machine.arch_name, t.machine.arch_name);
    assert_eq!(out.devices.len(), t.devices.len() + 1);
    assert_eq!(ops[0].label(&t), "set the machine type to pc-q35-6.2");
    let bad = [
        ops[0].clone(),
        Op::ClearAddress {
            device: Origin(9999),
        },
    ];
    assert!(apply_all(&t, &bad).is_err());
    let empty = Op::SetMachineType {
        machine_type: " ".into(),
    };
    assert!(apply(&t, &empty).is_err());
}

#[test]
fn names_and_origins_are_fresh() {
    let t = add(
        &q35(),
        Op::AddDevice {
            template: 0,
            model: "virtio".into(),
            at: Placement::Unassigned,
        },
    );
    let t = add(
        &t,
        Op::AddDevice {
            template: 0,
            model: "virtio".into(),
            at: Placement::Unassigned,
        },
    );
    let names: Vec<_> = t.devices.iter().filter_map(|d| d.name.clone()).collect();
    assert_eq!(names, ["vda", "vdb"]);
    assert_ne!(t.devices[1].origin, t.devices[2].origin);
    assert!(t.devices[1].origin.0 >= Origin::NEW_BASE);
}
