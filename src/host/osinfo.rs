//! The installed osinfo-db (`/usr/share/osinfo`), read for guest OSes that the embedded
//! table (`assets/guest-os.tsv`) does not know, typically releases newer than the
//! table. The rules are those the table was generated with
//! (`assets/guest-os-from-osinfo.py`): devices are inherited through `derives-from`
//! and `clones`, `supported="false"` removes an inherited one, and driver manifests
//! (`*.d/*.xml`) count for their own OS only. A test checks that both readings agree
//! row for row on the installed database.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::core::guest_os::{self, GuestOs, IdSource, InfoSource, OsInfo};
use crate::core::virtio::{FAMILIES, VIRTIO_VENDOR};
use crate::libvirt::{Document, NodeId};

/// osinfo-db's id of the q35 chipset, listed by OSes known to run on it.
const Q35_DEVICE: &str = "http://qemu.org/chipset/x86/q35";

/// One `<os>` entry as read.
#[derive(Clone, Debug, Default)]
struct Entry {
    /// Path relative to the database root, for "where it comes from".
    file: String,
    short_ids: Vec<String>,
    name: String,
    /// `derives-from` and `clones` targets.
    parents: Vec<String>,
    /// Device ids with `supported` (false removes an inherited one).
    devices: Vec<(String, bool)>,
}

/// An osinfo-db directory, read once.
#[derive(Debug, Default)]
pub struct OsinfoDb {
    oses: HashMap<String, Entry>,
    /// Device ids of the driver manifests, by OS id.
    drivers: HashMap<String, BTreeSet<String>>,
}

/// The database directory libosinfo reads: `$OSINFO_SYSTEM_DIR`, else
/// `/usr/share/osinfo`.
pub fn system_dir() -> PathBuf {
    std::env::var_os("OSINFO_SYSTEM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/osinfo"))
}

fn sorted_xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    out.sort();
    out
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

impl OsinfoDb {
    /// Reads `root/os/*/*.xml` and the driver manifests `root/os/*/*.d/*.xml`. Files
    /// that do not parse are skipped: one broken file must not hide the rest.
    pub fn load(root: &Path) -> OsinfoDb {
        let mut db = OsinfoDb::default();
        for vendor in sorted_dirs(&root.join("os")) {
            for file in sorted_xml_files(&vendor) {
                let rel = file
                    .strip_prefix(root)
                    .unwrap_or(&file)
                    .display()
                    .to_string();
                db.read_os_file(&file, &rel);
            }
            for manifests in sorted_dirs(&vendor) {
                for file in sorted_xml_files(&manifests) {
                    db.read_driver_file(&file);
                }
            }
        }
        db
    }

    /// Number of OS entries read.
    pub fn len(&self) -> usize {
        self.oses.len()
    }

    /// True when nothing was read (no database there).
    pub fn is_empty(&self) -> bool {
        self.oses.is_empty()
    }

    fn parse(file: &Path) -> Option<Document> {
        let bytes = std::fs::read(file).ok()?;
        Document::parse_bytes(&bytes).ok()
    }

    fn read_os_file(&mut self, file: &Path, rel: &str) {
        let Some(doc) = Self::parse(file) else {
            return;
        };
        for (os, id) in os_elements(&doc) {
            let mut e = Entry {
                file: rel.to_string(),
                ..Entry::default()
            };
            for c in doc.child_elements(os) {
                match doc.name(c) {
                    "short-id" => e.short_ids.push(doc.text(c).trim().to_string()),
                    // The untranslated name is the one without xml:lang.
                    "name" if doc.attr(c, "xml:lang").is_none() && e.name.is_empty() => {
                        e.name = doc.text(c).trim().to_string();
                    }
                    "derives-from" | "clones" => e.parents.extend(doc.attr(c, "id")),
                    "devices" => {
                        for d in named(&doc, c, "device") {
                            if let Some(dev) = doc.attr(d, "id") {
                                let ok = doc.attr(d, "supported").as_deref() != Some("false");
                                e.devices.push((dev, ok));
                            }
                        }
                    }
                    _ => {}
                }
            }
            self.oses.insert(id, e);
        }
    }

    fn read_driver_file(&mut self, file: &Path) {
        let Some(doc) = Self::parse(file) else {
            return;
        };
        for (os, id) in os_elements(&doc) {
            let ids = self.drivers.entry(id).or_default();
            for drv in named(&doc, os, "driver") {
                for d in named(&doc, drv, "device") {
                    ids.extend(doc.attr(d, "id"));
                }
            }
        }
    }

    /// The device ids an OS has, with inheritance.
    fn devices(&self, id: &str, seen: &mut HashSet<String>) -> BTreeSet<String> {
        let mut have = BTreeSet::new();
        let Some(e) = self.oses.get(id) else {
            return have;
        };
        if !seen.insert(id.to_string()) {
            return have;
        }
        for p in &e.parents {
            have.extend(self.devices(p, seen));
        }
        seen.remove(id);
        for (d, ok) in &e.devices {
            if *ok {
                have.insert(d.clone());
            } else {
                have.remove(d);
            }
        }
        have
    }

    /// The OS's URI, given its URI or one of its short ids.
    fn find(&self, id: &str) -> Option<&str> {
        let id = id.trim().trim_end_matches('/');
        if let Some((k, _)) = self.oses.get_key_value(id) {
            return Some(k);
        }
        let mut hits: Vec<&str> = self
            .oses
            .iter()
            .filter(|(uri, e)| {
                uri.trim_end_matches('/') == id || e.short_ids.iter().any(|s| s == id)
            })
            .map(|(uri, _)| uri.as_str())
            .collect();
        hits.sort_unstable();
        hits.first().copied()
    }

    /// What the database says about `id` (a short id or URI), in the table's terms.
    pub fn info(&self, id: &str) -> Option<OsInfo> {
        let uri = self.find(id)?;
        let e = &self.oses[uri];
        let ids = self.devices(uri, &mut HashSet::new());
        let (mut legacy, mut modern) = virtio_names(&ids);
        let mut origin = e.file.clone();
        if let Some(extra) = self.drivers.get(uri) {
            let (l, m) = virtio_names(extra);
            if !l.is_empty() || !m.is_empty() {
                origin.push_str(" + driver manifests");
            }
            legacy.extend(l);
            modern.extend(m);
        }
        Some(OsInfo {
            short_ids: e.short_ids.clone(),
            uri: uri.to_string(),
            name: e.name.clone(),
            legacy: legacy.into_iter().collect(),
            modern: modern.into_iter().collect(),
            q35: ids.contains(Q35_DEVICE),
            origin,
        })
    }

    /// Every OS id in the database.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.oses.keys().map(String::as_str)
    }
}

/// The children of `parent` named `name`.
fn named<'a>(
    doc: &'a Document,
    parent: NodeId,
    name: &'a str,
) -> impl Iterator<Item = NodeId> + 'a {
    doc.child_elements(parent)
        .filter(move |&c| doc.name(c) == name)
}

/// The `<os id=...>` elements of an osinfo-db file, with their ids.
fn os_elements(doc: &Document) -> impl Iterator<Item = (NodeId, String)> + '_ {
    named(doc, doc.root(), "os").filter_map(|os| doc.attr(os, "id").map(|id| (os, id)))
}

/// The virtio device names (`net`, `blk`, ...) of the legacy and the virtio 1.0 PCI ids
/// among `ids` (`http://pcisig.com/pci/1af4/1000`).
fn virtio_names(ids: &BTreeSet<String>) -> (BTreeSet<String>, BTreeSet<String>) {
    let vendor = format!("{VIRTIO_VENDOR:04x}");
    let (mut legacy, mut modern) = (BTreeSet::new(), BTreeSet::new());
    for id in ids {
        let parts: Vec<&str> = id.trim_end_matches('/').rsplit('/').take(3).collect();
        let [dev, ven, bus] = parts[..] else {
            continue;
        };
        if bus != "pci" || ven != vendor {
            continue;
        }
        let Ok(num) = u16::from_str_radix(dev, 16) else {
            continue;
        };
        if let Some(f) = FAMILIES.iter().find(|f| f.legacy_id == Some(num)) {
            legacy.insert(f.name.to_string());
        } else if let Some(f) = FAMILIES.iter().find(|f| f.modern_id() == num) {
            modern.insert(f.name.to_string());
        }
    }
    (legacy, modern)
}

/// The installed database, read on first use (only when the table lacks an id).
fn installed() -> &'static OsinfoDb {
    static DB: OnceLock<OsinfoDb> = OnceLock::new();
    DB.get_or_init(|| OsinfoDb::load(&system_dir()))
}

/// The guest OS for `id`: the embedded table, else the installed osinfo-db, else an
/// OS nothing is known about (the analyses say so).
pub fn guest_os(id: &str, source: IdSource) -> GuestOs {
    let mut g = GuestOs::from_table(id, source);
    if g.info.is_none() {
        g.info = installed().info(id).map(|i| (i, InfoSource::OsinfoDb));
    }
    g
}

/// Whether `id` is known to the table or the installed database.
pub fn known(id: &str) -> bool {
    guest_os::lookup(id).is_some() || installed().info(id).is_some()
}
