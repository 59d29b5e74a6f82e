//! The domain's `<metadata>` as far as the analyses care: the libosinfo guest OS id
//! (which virt-install and virt-manager write) and virt-pci's own per-guest override of
//! the guest's virtio drivers. Elements are matched by namespace URI, not by prefix,
//! because the prefix is the writer's choice.

use super::xml::{Document, NodeId};
use crate::core::io_space::IoSettings;

/// The namespace libosinfo metadata lives in.
pub const LIBOSINFO_NS: &str = "http://libosinfo.org/xmlns/libvirt/domain/1.0";

/// virt-pci's metadata namespace. libvirt keeps any element in a namespace of its own
/// under `<metadata>`, so the override travels with the domain:
/// `<vp:guest xmlns:vp="urn:x-virt-pci:guest:1" virtio="legacy"/>`.
pub const VIRT_PCI_NS: &str = "urn:x-virt-pci:guest:1";

/// The namespace URI of an element's name: its prefix (or the default namespace)
/// resolved through the `xmlns` declarations on it and its ancestors.
pub fn namespace_of(doc: &Document, id: NodeId) -> Option<String> {
    let name = doc.name(id);
    let decl = match name.split_once(':') {
        Some((prefix, _)) => format!("xmlns:{prefix}"),
        None => "xmlns".to_string(),
    };
    let mut at = Some(id);
    while let Some(n) = at {
        if let Some(uri) = doc.attr(n, &decl) {
            return Some(uri);
        }
        at = doc.parent(n);
    }
    None
}

fn local_name(name: &str) -> &str {
    name.split_once(':').map_or(name, |(_, l)| l)
}

/// The first child of `parent` with local name `local` in namespace `ns`.
fn child_ns(doc: &Document, parent: NodeId, ns: &str, local: &str) -> Option<NodeId> {
    doc.child_elements(parent)
        .find(|&c| local_name(doc.name(c)) == local && namespace_of(doc, c).as_deref() == Some(ns))
}

/// The guest OS id from `<metadata><libosinfo:libosinfo><libosinfo:os id='...'/>`.
pub fn osinfo_id(doc: &Document) -> Option<String> {
    let meta = doc.child(doc.root(), "metadata")?;
    let lo = child_ns(doc, meta, LIBOSINFO_NS, "libosinfo")?;
    let os = child_ns(doc, lo, LIBOSINFO_NS, "os")?;
    doc.attr(os, "id").filter(|s| !s.trim().is_empty())
}

/// The element holding virt-pci's override, when the domain has one.
pub fn override_element(doc: &Document) -> Option<NodeId> {
    let meta = doc.child(doc.root(), "metadata")?;
    child_ns(doc, meta, VIRT_PCI_NS, "guest")
}

/// The `virtio` attribute of virt-pci's override (`legacy`, `modern`, `both`, `none`),
/// with the element's line for messages.
pub fn guest_virtio_override(doc: &Document) -> Option<(String, u32)> {
    let el = override_element(doc)?;
    let value = doc.attr(el, "virtio")?;
    Some((value, doc.element(el).pos.line))
}

/// The namespace of libvirt's QEMU passthrough elements (`<qemu:override>`,
/// `<qemu:commandline>`).
pub const QEMU_NS: &str = "http://libvirt.org/schemas/domain/qemu/1.0";

/// A QEMU size value (`0`, `4096`, `0x1000`, `4K`, `1M`): bytes.
fn qemu_size(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, mult) = match v.char_indices().last()? {
        (i, 'k' | 'K') => (&v[..i], 1u64 << 10),
        (i, 'm' | 'M') => (&v[..i], 1 << 20),
        (i, 'b' | 'B') => (&v[..i], 1),
        _ => (v, 1),
    };
    let n = match num.strip_prefix("0x").or_else(|| num.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => num.parse().ok()?,
    };
    n.checked_mul(mult)
}

/// The PCI controller index a QEMU device alias names: libvirt calls controller N
/// `pci.N`; a user alias (`ua-...`) is looked up on the controllers.
fn controller_of_alias(doc: &Document, alias: &str) -> Option<u32> {
    if let Some(n) = alias.strip_prefix("pci.") {
        return n.parse().ok();
    }
    let devices = doc.child(doc.root(), "devices")?;
    doc.child_elements(devices).find_map(|c| {
        if doc.name(c) != "controller" || doc.attr(c, "type").as_deref() != Some("pci") {
            return None;
        }
        let a = doc.child(c, "alias")?;
        (doc.attr(a, "name").as_deref() == Some(alias))
            .then(|| doc.attr(c, "index")?.parse().ok())
            .flatten()
    })
}

/// The IO settings that reach QEMU around libvirt's own model: `io-reserve` set on a
/// controller through `<qemu:override>`, and `-global pcie-root-port.io-reserve=N`
/// through `<qemu:commandline>`.
pub fn io_settings(doc: &Document) -> IoSettings {
    let mut out = IoSettings::default();
    let root = doc.root();
    let qemu_children = |local: &'static str| {
        doc.child_elements(root).filter(move |&c| {
            local_name(doc.name(c)) == local && namespace_of(doc, c).as_deref() == Some(QEMU_NS)
        })
    };
    for ov in qemu_children("override") {
        for dev in doc.child_elements(ov) {
            if local_name(doc.name(dev)) != "device" {
                continue;
            }
            let Some(index) = doc
                .attr(dev, "alias")
                .and_then(|a| controller_of_alias(doc, &a))
            else {
                continue;
            };
            for fe in doc.child_elements(dev) {
                if local_name(doc.name(fe)) != "frontend" {
                    continue;
                }
                for prop in doc.child_elements(fe) {
                    if local_name(doc.name(prop)) == "property"
                        && doc.attr(prop, "name").as_deref() == Some("io-reserve")
                        && let Some(v) = doc.attr(prop, "value").and_then(|v| qemu_size(&v))
                    {
                        out.io_reserve.retain(|(i, _)| *i != index);
                        out.io_reserve.push((index, v));
                    }
                }
            }
        }
    }
    for cl in qemu_children("commandline") {
        let args: Vec<String> = doc
            .child_elements(cl)
            .filter(|&a| local_name(doc.name(a)) == "arg")
            .filter_map(|a| doc.attr(a, "value"))
            .collect();
        for pair in args.windows(2) {
            if pair[0] == "-global"
                && let Some(v) = pair[1].strip_prefix("pcie-root-port.io-reserve=")
                && let Some(v) = qemu_size(v)
            {
                out.global_root_port_io_reserve = Some(v);
            }
        }
    }
    out
}

/// Whether the domain asks for UEFI secure boot (`<loader secure='yes'>` or the
/// `secure-boot` firmware feature), which needs SMM and so a q35 machine.
pub fn secure_boot(doc: &Document) -> bool {
    let Some(os) = doc.child(doc.root(), "os") else {
        return false;
    };
    let loader = doc
        .child(os, "loader")
        .is_some_and(|l| doc.attr(l, "secure").as_deref() == Some("yes"));
    let feature = doc.child(os, "firmware").is_some_and(|f| {
        doc.child_elements(f).any(|x| {
            doc.name(x) == "feature"
                && doc.attr(x, "name").as_deref() == Some("secure-boot")
                && doc.attr(x, "enabled").as_deref() == Some("yes")
        })
    });
    loader || feature
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(meta: &str) -> Document {
        Document::parse(&format!(
            "<domain type='kvm'><name>g</name><metadata>{meta}</metadata></domain>"
        ))
        .expect("parses")
    }

    #[test]
    fn libosinfo_id_by_namespace_not_prefix() {
        let d = doc(
            "<libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>\
             <libosinfo:os id='http://centos.org/centos/6.10'/></libosinfo:libosinfo>",
        );
        assert_eq!(
            osinfo_id(&d).as_deref(),
            Some("http://centos.org/centos/6.10")
        );
        let other_prefix = doc(
            "<lo:libosinfo xmlns:lo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>\
             <lo:os id='debian8'/></lo:libosinfo>",
        );
        assert_eq!(osinfo_id(&other_prefix).as_deref(), Some("debian8"));
        let wrong_ns = doc(
            "<libosinfo:libosinfo xmlns:libosinfo='urn:other'><libosinfo:os id='x'/></libosinfo:libosinfo>",
        );
        assert_eq!(osinfo_id(&wrong_ns), None);
        assert_eq!(osinfo_id(&doc("")), None);
    }

    #[test]
    fn virt_pci_override() {
        let d = doc("<vp:guest xmlns:vp='urn:x-virt-pci:guest:1' virtio='legacy'/>");
        assert_eq!(
            guest_virtio_override(&d).map(|(v, _)| v).as_deref(),
            Some("legacy")
        );
        let default_ns = doc("<guest xmlns='urn:x-virt-pci:guest:1' virtio='both'/>");
        assert_eq!(
            guest_virtio_override(&default_ns)
                .map(|(v, _)| v)
                .as_deref(),
            Some("both")
        );
        assert_eq!(guest_virtio_override(&doc("<guest virtio='both'/>")), None);
    }

    #[test]
    fn io_reserve_from_qemu_override_and_commandline() {
        let d = Document::parse(
            "<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><devices>\
             <controller type='pci' index='7' model='pcie-root-port'><alias name='ua-port7'/></controller>\
             </devices><qemu:override>\
             <qemu:device alias='pci.3'><qemu:frontend>\
             <qemu:property name='io-reserve' type='unsigned' value='0'/></qemu:frontend></qemu:device>\
             <qemu:device alias='ua-port7'><qemu:frontend>\
             <qemu:property name='io-reserve' type='string' value='8K'/></qemu:frontend></qemu:device>\
             <qemu:device alias='net0'><qemu:frontend>\
             <qemu:property name='romfile' type='string' value=''/></qemu:frontend></qemu:device>\
             </qemu:override><qemu:commandline><qemu:arg value='-global'/>\
             <qemu:arg value='pcie-root-port.io-reserve=0x1000'/></qemu:commandline></domain>",
        )
        .expect("parses");
        let s = io_settings(&d);
        assert_eq!(s.io_reserve, vec![(3, 0), (7, 8192)]);
        assert_eq!(s.global_root_port_io_reserve, Some(4096));
        // Another namespace under the same prefix is not QEMU's.
        let other = Document::parse(
            "<domain xmlns:qemu='urn:other'><qemu:override><qemu:device alias='pci.1'>\
             <qemu:frontend><qemu:property name='io-reserve' value='0'/></qemu:frontend>\
             </qemu:device></qemu:override></domain>",
        )
        .expect("parses");
        assert_eq!(io_settings(&other), IoSettings::default());
    }
}
