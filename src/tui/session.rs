//! The file behind the designer: the document as read, the topology read from it, the
//! undo history of edited topologies, and saving (through `files::save`: atomic, with
//! the file as it was when the session opened kept in `FILE.bak`, and a check that
//! nobody changed the file on disk since it was read). The edited
//! XML is always the document as read with the difference between the two topologies
//! written into it, so only what was edited changes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::core::edit::{History, SameBase};
use crate::core::topology::{Origin, Topology};
use crate::core::versions::Platform;
use crate::libvirt::write::write_topology;
use crate::libvirt::{Document, read_topology};

/// The guest virt-pci opens when no file is given.
pub const EXAMPLE_NAME: &str = "centos6-q35-virtio.xml";
/// Its text.
pub const EXAMPLE: &str = include_str!("../../assets/examples/centos6-q35-virtio.xml");

/// The document a state of the history was read from, with the topology read from
/// it. Topology edits keep it and write their difference into it; an edit of an
/// element's raw XML replaces it, so undo brings the old document back too.
#[derive(Clone, Debug)]
pub struct DocBase(Arc<(Document, Topology)>);

impl SameBase for DocBase {
    fn same(&self, other: &DocBase) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// An edit of one element's XML, checked and ready to apply (see
/// [`Session::check_element_edit`]).
#[derive(Clone, Debug)]
pub struct XmlEdit {
    doc: Document,
    topology: Topology,
    /// The edited element's device in the new topology, when it is one.
    pub origin: Option<Origin>,
    /// What the edit is called in the undo history.
    pub label: String,
}

/// One open guest.
#[derive(Clone, Debug)]
pub struct Session {
    /// Where it is saved; `None` for standard input and the bundled example.
    pub path: Option<PathBuf>,
    /// A name for the title bar.
    pub display: String,
    /// The edits, each state with the document it is written into.
    pub history: History<DocBase>,
    /// The text as opened.
    original: String,
    /// The file the session was opened from.
    opened: Option<PathBuf>,
    /// What this session last read from or wrote to its file: a file that differs
    /// from it at save was changed by someone else.
    on_disk: String,
    /// Files whose backup this session already wrote (with their state before the
    /// session first wrote them): later saves leave those backups alone.
    backed_up: Vec<PathBuf>,
    /// The libvirt and QEMU releases the analyses predict; every topology the
    /// session reads gets it.
    platform: Platform,
}

/// Why [`Session::save`] did not save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveProblem {
    /// The file changed on disk since it was read: its text now, and the diff from
    /// what the session read (lines of a unified diff).
    Changed {
        /// The file's text now.
        disk: String,
    },
    /// The file has no write permission.
    ReadOnly(PathBuf),
    /// Saving failed (nothing was replaced).
    Failed(String),
}

/// How [`Session::save`] may proceed.
#[derive(Debug, Clone, Copy, Default)]
pub struct SaveMode {
    /// Save even though the file changed on disk.
    pub overwrite_changes: bool,
    /// Save even though the file has no write permission.
    pub force: bool,
}

impl Session {
    /// A session on `text`, saved to `path`.
    pub fn from_text(
        text: &str,
        path: Option<PathBuf>,
        display: String,
    ) -> Result<Session, String> {
        let doc = Document::parse(text).map_err(|e| {
            format!(
                "{display}:{}:{}: error: {}",
                e.pos.line, e.pos.column, e.message
            )
        })?;
        let base = read_topology(&doc).map_err(|e| {
            format!(
                "{display}:{}:{}: error: {}",
                e.pos.line, e.pos.column, e.message
            )
        })?;
        Ok(Session {
            display,
            history: History::with_base(base.clone(), DocBase(Arc::new((doc, base)))),
            original: text.to_string(),
            opened: path.clone(),
            on_disk: text.to_string(),
            backed_up: Vec::new(),
            platform: Platform::default(),
            path,
        })
    }

    /// The libvirt and QEMU releases the analyses predict.
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// Predicts `platform` from now on, in every state of the history (choosing a
    /// target is not an edit: undo keeps it, and the guest stays saved).
    pub fn set_platform(&mut self, platform: Platform) {
        self.platform = platform;
        self.history.set_platform(platform);
    }

    fn doc(&self) -> &Document {
        &self.history.base().0.0
    }

    fn base(&self) -> &Topology {
        &self.history.base().0.1
    }

    /// The bundled example.
    pub fn example() -> Result<Session, String> {
        Session::from_text(EXAMPLE, None, format!("example: {EXAMPLE_NAME}"))
    }

    /// The current topology.
    pub fn topology(&self) -> &Topology {
        self.history.current()
    }

    /// Whether there are unsaved changes.
    pub fn dirty(&self) -> bool {
        self.history.dirty()
    }

    /// The document with the current edits written into it.
    fn edited(&self) -> (Document, crate::libvirt::write::Placed) {
        let mut doc = self.doc().clone();
        let placed = write_topology(&mut doc, self.base(), self.topology());
        (doc, placed)
    }

    /// Checks `text` as the new XML of the element of device `origin`: it must be one
    /// well-formed element, the domain with it must still read, and a guest libvirt
    /// accepts must stay accepted. Line numbers in errors count from the element's
    /// first line. Nothing changes until [`apply_element_edit`](Self::apply_element_edit).
    pub fn check_element_edit(&self, origin: Origin, text: &str) -> Result<XmlEdit, String> {
        let fragment =
            Document::parse(text).map_err(|e| format!("line {}: {}", e.pos.line, e.message))?;
        let name = fragment.name(fragment.root()).to_string();
        let (mut doc, placed) = self.edited();
        let node = *placed
            .get(&origin)
            .ok_or_else(|| "the element is no longer in the document".to_string())?;
        // Splice the new text in where the element stands: a placeholder element takes
        // its place, and the written document's placeholder is replaced by the text.
        // The placeholder's name must not occur in the document already (a comment
        // could quote it): a number is added until it is unique.
        let before = doc.write();
        let mark = (0..)
            .map(|k| format!("virt-pci-xml-edit-{k}"))
            .find(|m| !before.contains(m.as_str()))
            .unwrap_or_default();
        let ph = doc.new_element(&mark, &[]);
        doc.insert_before(node, ph);
        doc.remove(node);
        let written = doc.write();
        let tag = format!("<{mark}/>");
        let at = written
            .find(&tag)
            .ok_or_else(|| "internal error: the element's place was lost".to_string())?;
        let line_start = written[..at].rfind('\n').map_or(0, |i| i + 1);
        let indent: String = written[line_start..at]
            .chars()
            .take_while(|c| c.is_whitespace())
            .collect();
        let nl = doc.newline();
        let body = text
            .trim_end()
            .lines()
            .enumerate()
            .map(|(k, l)| {
                if k == 0 || l.is_empty() {
                    l.to_string()
                } else {
                    format!("{indent}{l}")
                }
            })
            .collect::<Vec<_>>()
            .join(nl);
        let first_line = written[..at].matches('\n').count() as u32 + 1;
        let new_text = format!("{}{body}{}", &written[..at], &written[at + tag.len()..]);
        let relative = |line: u32| -> String {
            if line >= first_line {
                format!("line {}", line - first_line + 1)
            } else {
                format!("line {line} of the domain")
            }
        };
        let new_doc = Document::parse(&new_text)
            .map_err(|e| format!("{}: {}", relative(e.pos.line), e.message))?;
        let mut topology = read_topology(&new_doc)
            .map_err(|e| format!("{}: {}", relative(e.pos.line), e.message))?;
        topology.platform = self.platform;
        if let Err(d) = crate::core::assign::assign(&topology)
            && crate::core::assign::assign(self.topology()).is_ok()
        {
            return Err(format!(
                "libvirt would then refuse the guest: {}",
                d.message
            ));
        }
        let device = topology.devices.iter().find(|d| d.line == first_line);
        let origin = device.map(|d| d.origin);
        let label = match device {
            Some(d) => format!("edit the XML of {}", d.describe(&topology.machine)),
            None => format!("edit the XML of <{name}>"),
        };
        Ok(XmlEdit {
            doc: new_doc,
            topology,
            origin,
            label,
        })
    }

    /// Applies a checked XML edit as one undoable step.
    pub fn apply_element_edit(&mut self, edit: XmlEdit) {
        let XmlEdit {
            doc,
            topology,
            label,
            ..
        } = edit;
        self.history
            .push_with_base(label, topology.clone(), DocBase(Arc::new((doc, topology))));
    }

    /// The XML as it would be saved now.
    pub fn text(&self) -> String {
        self.edited().0.write()
    }

    /// The XML of one device's element as it would be saved now.
    pub fn element_text(&self, origin: Origin) -> Option<String> {
        let (doc, placed) = self.edited();
        placed.get(&origin).map(|&n| doc.write_subtree(n))
    }

    /// The document of the current state, before its topology edits (what the
    /// analyses read metadata from).
    pub fn document(&self) -> &Document {
        self.doc()
    }

    /// The text as it was opened.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// The file as it is on disk now (`None` without a file or when unreadable).
    pub fn disk_text(&self) -> Option<String> {
        self.path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
    }

    /// What the file on disk differs in from what the session last read or wrote
    /// (compared by content): `None` when it is the same, gone, or there is no file.
    pub fn changed_on_disk(&self) -> Option<String> {
        let now = self.disk_text()?;
        (now != self.on_disk).then_some(now)
    }

    /// The lines of the diff from what the session read to what is on disk now.
    pub fn disk_diff(&self, disk: &str) -> Vec<(super::popups::Tone, String)> {
        super::diff::unified(&self.on_disk, disk, 3)
    }

    /// Drops the edits and reads the file again as it is on disk now (the backup
    /// still gets the file as it was when the session opened).
    pub fn reload(&mut self) -> Result<(), String> {
        let Some(path) = self.path.clone() else {
            return Err("no file to reload".into());
        };
        let (_, bytes) = crate::host::files::read_input(&path)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("{}: error: the file is not UTF-8", path.display()))?;
        let mut fresh = Session::from_text(&text, Some(path), self.display.clone())?;
        fresh.original = std::mem::take(&mut self.original);
        fresh.opened = self.opened.take();
        fresh.backed_up = std::mem::take(&mut self.backed_up);
        fresh.set_platform(self.platform);
        *self = fresh;
        Ok(())
    }

    /// Saves to the session's file, or to `to` (which becomes the session's file).
    /// The first save to a file keeps what was there before in `FILE.bak` (for the
    /// session's own file: the file as it was when the session opened); later saves
    /// leave that backup alone. Returns what to tell the user.
    pub fn save(&mut self, to: Option<&Path>, mode: SaveMode) -> Result<String, SaveProblem> {
        let path = match (to, &self.path) {
            (Some(p), _) => p.to_path_buf(),
            (None, Some(p)) => p.clone(),
            (None, None) => {
                return Err(SaveProblem::Failed(
                    "no file to save to: use save as (W)".into(),
                ));
            }
        };
        let own_file = self.path.as_deref() == Some(path.as_path());
        if own_file
            && !mode.overwrite_changes
            && let Some(disk) = self.changed_on_disk()
        {
            return Err(SaveProblem::Changed { disk });
        }
        let text = self.text();
        let first = !self.backed_up.contains(&path);
        let before: Option<Vec<u8>> = if !first {
            None
        } else if self.opened.as_deref() == Some(path.as_path()) {
            Some(self.original.clone().into_bytes())
        } else {
            std::fs::read(&path).ok()
        };
        let opts = crate::host::files::SaveOptions {
            backup: before.as_deref(),
            force: mode.force,
            break_links: false,
        };
        let saved =
            crate::host::files::save(&path, text.as_bytes(), opts).map_err(|e| match e {
                crate::host::files::SaveError::ReadOnly(p) => SaveProblem::ReadOnly(p),
                e => SaveProblem::Failed(e.to_string()),
            })?;
        self.history.mark_saved();
        if first {
            self.backed_up.push(path.clone());
        }
        let bak = crate::host::files::backup_path(&path);
        let what = if self.opened.as_deref() == Some(path.as_path()) {
            "the file as opened"
        } else {
            "the file as it was before"
        };
        let msg = match (&saved.backup, first) {
            (Some(b), _) => format!(
                "saved {}; {what} is kept in {}",
                path.display(),
                b.display()
            ),
            (None, false) if bak.exists() => {
                format!(
                    "saved {}; {what} is still in {}",
                    path.display(),
                    bak.display()
                )
            }
            _ => format!("saved {}", path.display()),
        };
        self.on_disk = text;
        if to.is_some() {
            self.display = path.display().to_string();
            self.path = Some(path);
        }
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::device::Kind;
    use crate::core::edit::Op;

    fn disk(s: &Session) -> Origin {
        s.topology()
            .devices
            .iter()
            .find(|d| d.kind == Kind::Disk && d.name.as_deref() == Some("vda"))
            .expect("vda")
            .origin
    }

    const NEW_VDA: &str = "<disk type='file' device='disk' model='virtio-transitional'>\n  <driver name='qemu' type='qcow2' discard='unmap'/>\n  <!-- moved to the fast pool -->\n  <source file='/srv/fast/centos6.qcow2'/>\n  <target dev='vda' bus='virtio'/>\n  <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>\n</disk>";

    #[test]
    fn an_element_xml_edit_replaces_only_that_element_and_is_undone_whole() {
        let mut s = Session::example().expect("example");
        let original = s.text();
        let edit = s.check_element_edit(disk(&s), NEW_VDA).expect("valid");
        assert_eq!(edit.label, "edit the XML of disk virtio-transitional (vda)");
        s.apply_element_edit(edit);
        assert!(s.dirty());
        let text = s.text();
        // The new element sits where the old one stood, indented like its siblings.
        assert!(text.contains("    <disk type='file' device='disk' model='virtio-transitional'>\n      <driver name='qemu' type='qcow2' discard='unmap'/>\n      <!-- moved to the fast pool -->\n      <source file='/srv/fast/centos6.qcow2'/>"), "{text}");
        // Everything outside it is byte for byte what it was.
        let old_start = original
            .find("    <disk type='file' device='disk'>")
            .unwrap();
        let old_end = original[old_start..].find("</disk>").unwrap() + old_start + 7;
        let new_start = text
            .find("    <disk type='file' device='disk' model=")
            .unwrap();
        let new_end = text[new_start..].find("</disk>").unwrap() + new_start + 7;
        assert_eq!(original[..old_start], text[..new_start]);
        assert_eq!(original[old_end..], text[new_end..]);
        // The model changed in the topology too, so the analyses see it.
        let vda = &s.topology().devices[s
            .topology()
            .devices
            .iter()
            .position(|d| d.name.as_deref() == Some("vda"))
            .unwrap()];
        assert_eq!(vda.model.as_deref(), Some("virtio-transitional"));
        // A topology edit after it is written into the new document.
        let rng = s
            .topology()
            .devices
            .iter()
            .find(|d| d.kind == Kind::Rng)
            .unwrap()
            .origin;
        s.history
            .record(&Op::SetModel {
                device: rng,
                model: Some("virtio-transitional".into()),
            })
            .expect("model");
        let text2 = s.text();
        assert!(text2.contains("/srv/fast/centos6.qcow2"));
        assert!(
            text2.contains("<rng model='virtio-transitional'>"),
            "{text2}"
        );
        // Undo twice gives back the file as opened; redo brings the edit back.
        s.history.undo();
        s.history.undo();
        assert_eq!(s.text(), original);
        assert!(!s.dirty());
        s.history.redo();
        assert_eq!(s.text(), text);
    }

    #[test]
    fn a_document_quoting_the_placeholder_does_not_confuse_the_splice() {
        let text = Session::example().expect("example").text().replace(
            "<devices>",
            "<devices>\n    <!-- <virt-pci-xml-edit-0/> -->",
        );
        let mut s = Session::from_text(&text, None, "t".into()).expect("reads");
        let edit = s.check_element_edit(disk(&s), NEW_VDA).expect("valid");
        s.apply_element_edit(edit);
        let out = s.text();
        assert!(out.contains("<!-- <virt-pci-xml-edit-0/> -->"), "{out}");
        assert!(out.contains("/srv/fast/centos6.qcow2"), "{out}");
    }

    #[test]
    fn xml_edits_that_do_not_parse_or_that_libvirt_refuses_are_not_applied() {
        let s = Session::example().expect("example");
        let vda = disk(&s);
        let bad = s
            .check_element_edit(vda, "<disk type='file'>\n  <source file='x'>\n</disk>")
            .unwrap_err();
        assert!(bad.starts_with("line 3:"), "{bad}");
        let two = s.check_element_edit(vda, "<disk/><disk/>").unwrap_err();
        assert!(two.starts_with("line 1:"), "{two}");
        let refused = s
            .check_element_edit(
                vda,
                &NEW_VDA.replace("bus='0x04' slot='0x00'", "bus='0x09' slot='0x00'"),
            )
            .unwrap_err();
        assert!(refused.contains("libvirt would then refuse"), "{refused}");
        assert!(!s.dirty());
    }
}
