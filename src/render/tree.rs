//! The `tree` view: the PCI topology as text (like `lspci -tv`) and as JSON.

use crate::core::topology::Topology;

/// The tree as text.
pub fn render_text(topology: &Topology, ascii: bool) -> String {
    let _ = ascii;
    format!("{} ({})\n", topology.name, topology.machine.machine_type)
}

/// The tree as JSON.
pub fn render_json(topology: &Topology) -> String {
    format!("{{\"name\":{:?}}}\n", topology.name)
}
