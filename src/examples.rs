//! The bundled example guests (`assets/examples/`), compiled into the binary so that
//! `virt-pci examples` and the designer's start screen can offer them anywhere. Each
//! one says in its own `<description>` what it shows; this module only lists them.

use crate::libvirt::Document;

/// One bundled example: its file name and its text.
#[derive(Clone, Copy, Debug)]
pub struct Example {
    /// File name under `assets/examples/`.
    pub name: &'static str,
    /// The domain XML.
    pub text: &'static str,
}

macro_rules! example {
    ($name:literal) => {
        Example {
            name: $name,
            text: include_str!(concat!("../assets/examples/", $name)),
        }
    };
}

/// Every bundled example, from the simplest story to the largest guest.
pub const EXAMPLES: &[Example] = &[
    example!("centos6-q35-virtio.xml"),
    example!("centos6-q35-transitional.xml"),
    example!("debian8-i440fx.xml"),
    example!("win10-q35.xml"),
    example!("aarch64-virt-mmio.xml"),
    example!("q35-large.xml"),
];

impl Example {
    /// The domain's `<description>`, whitespace folded to single spaces; empty when
    /// it has none.
    pub fn description(&self) -> String {
        let Ok(doc) = Document::parse(self.text) else {
            return String::new();
        };
        let root = doc.root();
        doc.child(root, "description")
            .map(|d| doc.text(d).split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    }
}

/// The example called `name` (with or without `.xml`).
pub fn find(name: &str) -> Option<&'static Example> {
    EXAMPLES
        .iter()
        .find(|e| e.name == name || e.name.strip_suffix(".xml") == Some(name))
}
