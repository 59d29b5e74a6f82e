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
    h.record(&op).expect("root port");
    let targets = device_targets(h.current(), 0, "virtio");
    assert!(targets.contains(&PciAddr::new(1, 0, 0)), "{targets:?}");
    let op = Op::AddDevice {
        template: 0,
        model: "virtio".into(),
        at: Placement::At(PciAddr::new(1, 0, 0)),
    };
    h.record(&op).expect("disk");
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
    h.record(&op).expect("root port");
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

/// A q35 guest with nothing libvirt would add (no USB, no balloon), so that every
/// address in these tests is one the test put there.
fn bare_q35() -> Topology {
    let mut t = q35();
    let mut usb = Device::new(Origin(2), Kind::Controller);
    usb.ty = Some("usb".into());
    usb.index = Some(0);
    usb.model = Some("none".into());
    let mut balloon = Device::new(Origin(3), Kind::Memballoon);
    balloon.model = Some("none".into());
    t.devices.extend([usb, balloon]);
    t
}

const DISK: usize = 0;
const NIC: usize = 1;

fn at(slot: (u32, u8, u8)) -> Placement {
    Placement::At(PciAddr::new(slot.0, slot.1, slot.2))
}

fn root_port(t: &Topology, place: (u32, u8, u8)) -> Topology {
    add(
        t,
        Op::AddController {
            model: PciModel::PcieRootPort,
            at: at(place),
            downstream: 0,
        },
    )
}

fn nic(t: &Topology, place: (u32, u8, u8)) -> Topology {
    add(
        t,
        Op::AddDevice {
            template: NIC,
            model: "virtio".into(),
            at: at(place),
        },
    )
}

/// The guest the rename tests start from: a root port at 00:03.0 (bus 01) with a
/// NIC behind it (`enp1s0`).
fn one_port() -> Topology {
    nic(&root_port(&bare_q35(), (0, 3, 0)), (1, 0, 0))
}

#[test]
fn free_functions_beside_function_0_are_places_but_not_those_of_an_empty_slot() {
    let t = one_port();
    let targets = device_targets(&t, DISK, "virtio");
    let a = |b, s, f| PciAddr::new(b, s, f);
    // Beside the NIC in the root port's one slot, and beside the ICH9 LPC bridge.
    for f in 1..8 {
        assert!(targets.contains(&a(1, 0, f)), "01:00.{f}: {targets:?}");
    }
    for f in [1, 4, 5, 6, 7] {
        assert!(targets.contains(&a(0, 0x1f, f)), "00:1f.{f}");
    }
    // Not where the chipset is, not the NIC's own place, not a function of an empty
    // slot (the guest never scans it), but function 0 of that slot.
    for taken in [a(0, 0x1f, 2), a(0, 0x1f, 3), a(1, 0, 0), a(0, 5, 3)] {
        assert!(!targets.contains(&taken), "{}", taken.bdf());
    }
    assert!(targets.contains(&a(0, 5, 0)));
    // Beside the root port at 00:03.0 too.
    assert!(targets.contains(&a(0, 3, 1)));
    // A root port may share a slot with another root port (as libvirt packs them).
    assert!(controller_targets(&t, PciModel::PcieRootPort).contains(&a(0, 3, 1)));
    // What sharing means: the NIC at function 0 gets the multifunction bit.
    let nic_origin = t
        .devices
        .iter()
        .find(|d| d.kind == Kind::Interface)
        .unwrap()
        .origin;
    assert_eq!(
        sharing(&t, a(1, 0, 3), None),
        Some(Sharing {
            function0: Some(SlotMate::Device(nic_origin)),
            others: 0,
            sets_multifunction: true,
        })
    );
    assert_eq!(sharing(&t, a(0, 5, 0), None), None);
    assert!(matches!(
        sharing(&t, a(0, 0x1f, 4), None),
        Some(Sharing {
            function0: Some(SlotMate::Chipset(_)),
            others: 2,
            sets_multifunction: false,
        })
    ));
}

#[test]
fn moving_beside_a_device_sets_its_multifunction_bit_and_undo_takes_it_back() {
    let t = add(
        &one_port(),
        Op::AddDevice {
            template: DISK,
            model: "virtio".into(),
            at: at((0, 5, 0)),
        },
    );
    let disk = t
        .devices
        .iter()
        .find(|d| d.kind == Kind::Disk)
        .unwrap()
        .origin;
    let mf = |t: &Topology, kind: Kind| {
        t.devices
            .iter()
            .find(|d| d.kind == kind)
            .and_then(|d| match d.address {
                Some(Address::Pci { multifunction, .. }) => multifunction,
                _ => None,
            })
    };
    let mut h = History::new(t.clone());
    // The disk's own slot is free once it moves: its other functions are not places.
    let targets = move_targets(&t, index_of(&t, disk).unwrap());
    assert!(!targets.contains(&PciAddr::new(0, 5, 3)), "{targets:?}");
    h.record(&Op::Move {
        device: disk,
        to: PciAddr::new(1, 0, 2),
    })
    .expect("moves beside the NIC");
    assert_eq!(mf(h.current(), Kind::Interface), Some(true));
    assert!(assign::assign(h.current()).is_ok());
    h.undo();
    assert_eq!(mf(h.current(), Kind::Interface), None);
    // A function 0 written multifunction='off' gets it too: QEMU refuses the slot
    // otherwise, while libvirt keeps the 'off'.
    let mut off = t.clone();
    for d in off.devices.iter_mut().filter(|d| d.kind == Kind::Interface) {
        d.address = Some(Address::Pci {
            addr: PciAddr::new(1, 0, 0),
            multifunction: Some(false),
        });
    }
    let moved = add(
        &off,
        Op::Move {
            device: disk,
            to: PciAddr::new(1, 0, 2),
        },
    );
    assert_eq!(mf(&moved, Kind::Interface), Some(true));
}

#[test]
fn a_new_port_before_the_existing_one_renames_and_one_after_it_does_not() {
    use crate::guest::rename_warnings;
    use crate::io_space::FirmwareKind;
    let t = one_port();
    let fw = FirmwareKind::SeaBios;
    // At 00:02.0 the new port comes first: the old port's bus 01 becomes 02 and the
    // NIC behind it enp1s0 becomes enp2s0.
    let op = Op::AddController {
        model: PciModel::PcieRootPort,
        at: at((0, 2, 0)),
        downstream: 0,
    };
    let n = numbering(&t, &op, fw);
    let codes: Vec<&str> = n.collateral.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["VP0701", "VP0702"], "{:?}", n.collateral);
    assert!(n.collateral[1].message.contains("enp1s0 becomes enp2s0"));
    // The next whole slot after the old port keeps every name.
    let instead = n.instead.expect("a place after the existing port");
    assert_eq!(instead.at, PciAddr::new(0, 4, 0));
    assert_eq!(instead.label, "add pcie-root-port at 00:04.0");
    let out = apply_as_one(&t, &instead.ops).expect("applies");
    assert!(rename_warnings(&t, &out, fw).is_empty());
    // An edit that renames nothing has nothing to offer.
    let n = numbering(&t, &instead.ops[0], fw);
    assert!(n.renames.is_empty() && n.collateral.is_empty() && n.instead.is_none());

    // A disk where libvirt puts it: libvirt adds a root port for it in the lowest free
    // slot, 00:01.0, in front of the old one. Instead: a root port of its own after
    // the old one, with the disk behind it.
    let op = Op::AddDevice {
        template: DISK,
        model: "virtio".into(),
        at: Placement::Auto,
    };
    let n = numbering(&t, &op, fw);
    assert!(!n.collateral.is_empty());
    let instead = n.instead.expect("a port after the existing one");
    assert_eq!(instead.at, PciAddr::new(0, 4, 0));
    assert!(matches!(
        instead.ops.as_slice(),
        [Op::AddController { .. }, Op::AddDevice { .. }]
    ));
    assert_eq!(
        instead.label,
        "add disk (virtio-blk) (virtio) in a new pcie-root-port at 00:04.0"
    );
    let out = apply_as_one(&t, &instead.ops).expect("applies");
    assert!(rename_warnings(&t, &out, fw).is_empty());
    assert_eq!(out.devices.len(), t.devices.len() + 2);
}

#[test]
fn moving_a_nic_renames_it_but_that_is_the_move_itself() {
    use crate::io_space::FirmwareKind;
    let t = root_port(&one_port(), (0, 4, 0));
    let nic = t
        .devices
        .iter()
        .find(|d| d.kind == Kind::Interface)
        .unwrap()
        .origin;
    let n = numbering(
        &t,
        &Op::Move {
            device: nic,
            to: PciAddr::new(2, 0, 0),
        },
        FirmwareKind::SeaBios,
    );
    assert_eq!(n.renames.len(), 1, "{:?}", n.renames);
    assert!(n.collateral.is_empty() && n.instead.is_none());
}

#[test]
fn no_place_keeps_the_numbering_when_every_free_one_comes_first() {
    use crate::io_space::FirmwareKind;
    // The only root port is at 00:1e.0; every free function after it (beside it and
    // beside the LPC bridge) holds a NIC. A new root port can only go in front.
    let mut t = nic(&root_port(&bare_q35(), (0, 0x1e, 0)), (1, 0, 0));
    for f in 1..8 {
        t = nic(&t, (0, 0x1e, f));
    }
    for f in [1, 4, 5, 6, 7] {
        t = nic(&t, (0, 0x1f, f));
    }
    let targets = controller_targets(&t, PciModel::PcieRootPort);
    assert!(
        targets.iter().all(|a| a.slot < 0x1e && a.function == 0),
        "{targets:?}"
    );
    let op = Op::AddController {
        model: PciModel::PcieRootPort,
        at: at((0, 1, 0)),
        downstream: 0,
    };
    let n = numbering(&t, &op, FirmwareKind::SeaBios);
    assert!(!n.collateral.is_empty());
    assert_eq!(n.instead, None);
}
