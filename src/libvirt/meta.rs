//! The domain's `<metadata>` as far as the analyses care: the libosinfo guest OS id
//! (which virt-install and virt-manager write) and virt-pci's own per-guest override of
//! the guest's virtio drivers. Elements are matched by namespace URI, not by prefix,
//! because the prefix is the writer's choice.

use super::xml::{Document, NodeId};

/// The namespace libosinfo metadata lives in.
pub const LIBOSINFO_NS: &str = "http://libosinfo.org/xmlns/libvirt/domain/1.0";

/// virt-pci's metadata namespace. libvirt keeps any element in a namespace of its own
/// under `<metadata>`, so the override travels with the domain:
/// `<vp:guest xmlns:vp="urn:x-virt-pci:guest:1" virtio="legacy"/>`.
pub const VIRT_PCI_NS: &str = "urn:x-virt-pci:guest:1";

/// The namespace URI of an element's name: its prefix (or the default namespace)
/// resolved through the `xmlns` declarations on it and its ancestors.
pub fn namespace_of(doc: &Document, id: NodeId) -> Option<String> {
    let name = &doc.element(id).name;
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
    doc.child_elements(parent).find(|&c| {
        local_name(&doc.element(c).name) == local && namespace_of(doc, c).as_deref() == Some(ns)
    })
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
}
