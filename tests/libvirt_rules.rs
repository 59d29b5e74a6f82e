//! Rules libvirt applies as it reads a domain, as the oracles showed them (libvirt
//! 9.0 with QEMU 7.2 and libvirt 11.3 with QEMU 10.0 answered every guest here the
//! same way unless a test says otherwise). Reading order decides which device takes
//! a slot first: the primary video moves to the front, disks are filed by bus and
//! name number, a default USB controller 0 is added beside other USB indexes, and
//! 11.x files added controllers among the user's. A USB controller of model none
//! turns USB off, and then other USB controllers and devices are refused.

use virt_pci::core::assign::assign;
use virt_pci::core::versions::Platform;
use virt_pci::libvirt::{Document, read_topology, write_plan};

/// The PCI address (`bus:slot.function`, hex) of every element of `<devices>` that
/// has one, named `tag[key]` (a disk by target, a controller by type, index, model).
fn addresses(xml: &str, platform: Platform) -> Vec<(String, String)> {
    let mut doc = Document::parse(xml).unwrap();
    let mut topo = read_topology(&doc).unwrap();
    topo.platform = platform;
    let plan = assign(&topo).unwrap_or_else(|d| panic!("refused: {}", d.message));
    write_plan(&mut doc, &topo, &plan);
    let devices = doc.child(doc.root(), "devices").unwrap();
    let mut out = Vec::new();
    for el in doc.child_elements(devices) {
        let Some(a) = doc.child(el, "address") else {
            continue;
        };
        if doc.attr(a, "type").as_deref() != Some("pci") {
            continue;
        }
        let name = match doc.name(el) {
            "disk" => doc.child(el, "target").and_then(|t| doc.attr(t, "dev")),
            "controller" => Some(format!(
                "{},{},{}",
                doc.attr(el, "type").unwrap_or_default(),
                doc.attr(el, "index").unwrap_or_default(),
                doc.attr(el, "model").unwrap_or_default()
            )),
            "video" => doc.child(el, "model").and_then(|m| doc.attr(m, "type")),
            _ => None,
        };
        let Some(name) = name else { continue };
        let n = |k: &str| {
            let v = doc.attr(a, k).unwrap_or_default();
            u32::from_str_radix(v.trim_start_matches("0x"), 16).unwrap()
        };
        out.push((
            format!("{}[{name}]", doc.name(el)),
            format!("{:02x}:{:02x}.{:x}", n("bus"), n("slot"), n("function")),
        ));
    }
    out
}

fn at(list: &[(String, String)], what: &str) -> String {
    list.iter()
        .find(|(k, _)| k == what)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("{what} has no PCI address: {list:?}"))
}

fn domain(machine: &str, devices: &str) -> String {
    format!(
        "<domain type='qemu'><name>order</name><memory unit='MiB'>256</memory>\
         <os><type arch='{arch}' machine='{machine}'>hvm</type></os>\
         <devices>{devices}</devices></domain>",
        arch = if machine.starts_with("virt") {
            "aarch64"
        } else {
            "x86_64"
        }
    )
}

const BOTH: [Platform; 2] = [Platform::DEBIAN12, Platform::NEWEST];

#[test]
fn the_primary_video_takes_the_first_slot_wherever_it_is_written() {
    // Slot 2 is taken, so the primary takes the first free slot before anything else.
    let xml = domain(
        "pc-i440fx-7.2",
        "<video><model type='qxl'/></video><video><model type='bochs' primary='yes'/></video>\
         <video><model type='virtio'/></video>\
         <memballoon model='virtio'><address type='pci' domain='0' bus='0' slot='2' function='0'/></memballoon>",
    );
    for p in BOTH {
        let a = addresses(&xml, p);
        assert_eq!(at(&a, "video[bochs]"), "00:03.0", "{p:?}");
        assert_eq!(at(&a, "video[qxl]"), "00:04.0", "{p:?}");
        assert_eq!(at(&a, "video[virtio]"), "00:05.0", "{p:?}");
    }
}

#[test]
fn disks_take_slots_by_bus_and_name_number_not_document_order() {
    // Written vda vdb vdc xvda: libvirt files xvda (disk 0) after vda and before vdb.
    let disk = |dev: &str| {
        format!(
            "<disk type='file' device='disk'><source file='/{dev}.img'/>\
             <target dev='{dev}' bus='virtio'/></disk>"
        )
    };
    let xml = domain(
        "virt-7.2",
        &["vda", "vdb", "vdc", "xvda"].map(disk).concat(),
    );
    for p in BOTH {
        let a = addresses(&xml, p);
        let bus = |d: &str| at(&a, &format!("disk[{d}]"));
        let order = {
            let mut v = ["vda", "vdb", "vdc", "xvda"].map(|d| (bus(d), d));
            v.sort();
            v.map(|(_, d)| d)
        };
        assert_eq!(order, ["vda", "xvda", "vdb", "vdc"], "{p:?}: {a:?}");
    }
}

#[test]
fn a_default_usb_controller_0_joins_a_users_usb_1_and_11_files_it_first() {
    let xml = domain(
        "pc-q35-7.2",
        "<controller type='usb' index='1' model='qemu-xhci'/>",
    );
    // 9.0 appends the added controller: the user's USB 1 takes the first root port.
    let a = addresses(&xml, Platform::DEBIAN12);
    assert_eq!(at(&a, "controller[usb,1,qemu-xhci]"), "01:00.0");
    assert_eq!(at(&a, "controller[usb,0,qemu-xhci]"), "02:00.0");
    // 11.3 files it before index 1.
    let a = addresses(&xml, Platform::NEWEST);
    assert_eq!(at(&a, "controller[usb,0,qemu-xhci]"), "01:00.0");
    assert_eq!(at(&a, "controller[usb,1,qemu-xhci]"), "02:00.0");
}

#[test]
fn usb_model_none_refuses_other_usb_controllers_and_devices_but_not_the_added_0() {
    let none1 = "<controller type='usb' index='1' model='none'/>";
    // Alone at index 1, libvirt still adds its default controller 0.
    for p in BOTH {
        let a = addresses(&domain("pc-q35-7.2", none1), p);
        assert_eq!(at(&a, "controller[usb,0,qemu-xhci]"), "01:00.0", "{p:?}");
    }
    let refused = [
        "<controller type='usb' index='0' model='none'/><controller type='usb' index='1' model='qemu-xhci'/>",
        "<controller type='usb' index='1' model='qemu-xhci'/><controller type='usb' index='0' model='none'/>",
        "<controller type='usb' index='2' model='none'/><controller type='usb' index='1' model='qemu-xhci'/>",
        "<controller type='usb' index='0' model='none'/><input type='tablet' bus='usb'/>",
        "<controller type='usb' index='1' model='none'/><input type='tablet' bus='usb'/>",
        "<controller type='usb' index='0' model='none'/><hub type='usb'/>",
        "<controller type='usb' index='0' model='none'/><redirdev bus='usb' type='spicevmc'/>",
        "<controller type='usb' index='0' model='none'/><disk type='file' device='disk'>\
         <source file='/u.img'/><target dev='sda' bus='usb'/></disk>",
    ];
    for devices in refused {
        for p in BOTH {
            let doc = Document::parse(&domain("pc-q35-7.2", devices)).unwrap();
            let mut topo = read_topology(&doc).unwrap();
            topo.platform = p;
            let d = assign(&topo).expect_err(devices);
            assert_eq!(
                d.code,
                virt_pci::core::diag::Code::UsbDisabled,
                "{devices}: {}",
                d.message
            );
        }
    }
}
