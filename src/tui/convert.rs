//! The designer's `convert` command: where the guest can go, and the preview shown
//! before anything is applied (one reason per change, the tree after, the diff of the
//! XML); also whether a device can be moved onto virtio-mmio with `m`.

use crate::core::address::Address;
use crate::core::analyses::Context;
use crate::core::convert::{Conversion, Options, To, convert};
use crate::core::device::VirtioForm;
use crate::core::machine::MachineClass;
use crate::core::topology::Topology;
use crate::libvirt::{Document, meta, read_topology};

use super::diff;
use super::popups::{TextView, Tone};
use super::session::Session;

/// The targets a guest of this machine can be converted to.
pub fn targets(t: &Topology) -> Vec<To> {
    match t.machine.class {
        MachineClass::I440fx => vec![To::Q35],
        MachineClass::Q35 => vec![To::Pc],
        MachineClass::Virt => vec![To::Pci, To::Mmio],
        MachineClass::Other => Vec::new(),
    }
}

/// What each target does, for the picker.
pub fn describe(to: To) -> &'static str {
    match to {
        To::Q35 => "i440fx → q35, models by the guest OS's drivers",
        To::Pc => "q35 → i440fx",
        To::Pci => "every virtio device from virtio-mmio to PCI",
        To::Mmio => "every virtio device onto virtio-mmio",
    }
}

/// Converts the session's current guest as the command line would (no `--force`).
pub fn conversion(session: &Session, ctx: &Context, to: To) -> Result<Conversion, String> {
    let opts = Options {
        to,
        spare_ports: None,
        force: false,
        secure_boot: meta::secure_boot(session.document()),
    };
    convert(session.topology(), ctx, &opts).map_err(|d| format!("[{}] {}", d.code, d.message))
}

/// The XML the conversion would write: the current text read again and converted
/// the same way (the decisions depend on the guest, not on where it came from).
fn converted_text(
    before: &str,
    platform: crate::core::versions::Platform,
    ctx: &Context,
    opts: &Options,
) -> Option<String> {
    let doc = Document::parse(before).ok()?;
    let mut t = read_topology(&doc).ok()?;
    t.platform = platform;
    let c = convert(&t, ctx, opts).ok()?;
    let mut out = doc.clone();
    crate::libvirt::write::write_topology(&mut out, &t, &c.result);
    Some(out.write())
}

/// The preview: the changes and their reasons, what stays, the tree after, the diff.
pub fn preview(session: &Session, ctx: &Context, c: &Conversion, ascii: bool) -> TextView {
    let mut lines: Vec<(Tone, String)> = Vec::new();
    let to = c.to.name();
    if c.is_empty() {
        lines.push((Tone::Heading, format!("nothing to convert to {to}")));
    } else {
        lines.push((
            Tone::Heading,
            format!("convert to {to}: {} change(s)", c.changes.len()),
        ));
    }
    for ch in &c.changes {
        wrap(
            &mut lines,
            Tone::Plain,
            &format!("• {}: {}", ch.subject, ch.reason),
        );
    }
    for k in &c.kept {
        wrap(
            &mut lines,
            Tone::Dim,
            &format!("= {}: {}", k.subject, k.reason),
        );
    }
    if let Some(s) = &c.spare {
        lines.push((
            Tone::Dim,
            format!(
                "spare root ports: {} free ({} wanted, {})",
                s.free, s.wanted, s.wanted_from
            ),
        ));
    }
    for n in &c.notes {
        wrap(&mut lines, Tone::Dim, &format!("note: {n}"));
    }
    if !c.is_empty() {
        lines.push((Tone::Plain, String::new()));
        lines.push((Tone::Heading, "after".into()));
        for l in crate::render::tree::render_text(&c.result, ascii).lines() {
            lines.push((Tone::Plain, l.to_string()));
        }
        let before = session.text();
        let opts = Options {
            to: c.to,
            spare_ports: None,
            force: false,
            secure_boot: meta::secure_boot(session.document()),
        };
        if let Some(after) = converted_text(&before, session.platform(), ctx, &opts) {
            lines.push((Tone::Plain, String::new()));
            lines.push((Tone::Heading, "diff".into()));
            lines.extend(diff::unified(&before, &after, 3));
        }
    }
    TextView {
        title: format!("convert to {to}: Enter applies (one undo step), Esc cancels"),
        lines,
        scroll: 0,
    }
}

/// Width the reasons are wrapped to: the popup at 80 columns.
const WRAP: usize = 74;

/// Pushes `text` as lines of at most [`WRAP`] characters, continuation lines indented.
fn wrap(lines: &mut Vec<(Tone, String)>, tone: Tone, text: &str) {
    let mut line = String::new();
    for word in text.split(' ') {
        let n = line.chars().count();
        if n > 0 && n + 1 + word.chars().count() > WRAP {
            lines.push((tone, std::mem::take(&mut line)));
            line.push_str("  ");
        }
        if !line.is_empty() && !line.ends_with("  ") {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push((tone, line));
    }
}

/// Whether device `i` can be given a virtio-mmio address (`m` offers it).
pub fn can_go_to_mmio(t: &Topology, i: usize) -> bool {
    let Some(d) = t.devices.get(i) else {
        return false;
    };
    t.machine.class == MachineClass::Virt
        && d.pci.is_none()
        && d.address != Some(Address::VirtioMmio)
        && matches!(
            d.facts(&t.machine).virtio,
            VirtioForm::Plain | VirtioForm::ModernOnly
        )
}
