//! The file behind the designer: the document as read, the topology read from it, the
//! undo history of edited topologies, and saving (atomic, with `FILE.bak`). The edited
//! XML is always the document as read with the difference between the two topologies
//! written into it, so only what was edited changes.

use std::path::{Path, PathBuf};

use crate::cli::write_atomic;
use crate::core::edit::History;
use crate::core::topology::{Origin, Topology};
use crate::libvirt::edit_apply::write_topology;
use crate::libvirt::{Document, read_topology};

/// The guest virt-pci opens when no file is given.
pub const EXAMPLE_NAME: &str = "centos6-q35-virtio.xml";
/// Its text.
pub const EXAMPLE: &str = include_str!("../../assets/examples/centos6-q35-virtio.xml");

/// One open guest.
#[derive(Clone, Debug)]
pub struct Session {
    /// Where it is saved; `None` for standard input and the bundled example.
    pub path: Option<PathBuf>,
    /// A name for the title bar.
    pub display: String,
    /// The document as read (or as last saved).
    doc: Document,
    /// The topology read from `doc`.
    base: Topology,
    /// The edits.
    pub history: History,
    /// The text as opened.
    original: String,
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
            path,
            display,
            history: History::new(base.clone()),
            doc,
            base,
            original: text.to_string(),
        })
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
    fn edited(&self) -> (Document, crate::libvirt::edit_apply::Placed) {
        let mut doc = self.doc.clone();
        let placed = write_topology(&mut doc, &self.base, self.topology());
        (doc, placed)
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

    /// The document as opened (edits live in the history until saved).
    pub fn document(&self) -> &Document {
        &self.doc
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

    /// Saves to the session's file, or to `to` (which becomes the session's file).
    /// The old file is kept as `FILE.bak`. Returns what to tell the user.
    pub fn save(&mut self, to: Option<&Path>) -> Result<String, String> {
        let path = match (to, &self.path) {
            (Some(p), _) => p.to_path_buf(),
            (None, Some(p)) => p.clone(),
            (None, None) => return Err("no file to save to: use save as (W)".into()),
        };
        let text = self.text();
        write_atomic(&path, &text, true)
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        self.history.mark_saved();
        let had_bak = path.with_file_name(format!(
            "{}.bak",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
        let msg = if had_bak.exists() {
            format!(
                "saved {} (the previous version is {})",
                path.display(),
                had_bak.display()
            )
        } else {
            format!("saved {}", path.display())
        };
        if to.is_some() {
            self.display = path.display().to_string();
            self.path = Some(path);
        }
        Ok(msg)
    }
}
