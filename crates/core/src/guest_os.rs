//! Guest operating systems and their virtio drivers: the table in `assets/guest-os.tsv`
//! (derived from osinfo-db, embedded at build time), lookup by libosinfo short id or
//! URI, and the per-guest override for drivers osinfo-db does not know about.
//!
//! osinfo-db records virtio support as PCI ids: an OS that lists the legacy ids
//! (1af4:1000-103f) can drive transitional devices, one that lists the virtio 1.0 ids
//! (1af4:1040-107f) can drive modern-only devices. Like virt-install, one listed id of a
//! kind stands for that kind of driver as a whole.

use std::sync::OnceLock;

/// The embedded table (`assets/guest-os.tsv`).
pub const TABLE_TSV: &str = include_str!("../../../assets/guest-os.tsv");

/// What the table (or osinfo-db) says about one OS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsInfo {
    /// libosinfo short ids (`centos6.10`); the first is the usual one.
    pub short_ids: Vec<String>,
    /// The osinfo URI (`http://centos.org/centos/6.10`).
    pub uri: String,
    /// Name for people.
    pub name: String,
    /// virtio devices it lists by legacy (transitional) PCI id: `net`, `blk`, ...
    pub legacy: Vec<String>,
    /// virtio devices it lists by virtio 1.0 (modern) PCI id.
    pub modern: Vec<String>,
    /// It lists the q35 chipset marker.
    pub q35: bool,
    /// The osinfo-db file it was derived from.
    pub origin: String,
}

impl OsInfo {
    /// The usual short id, or the URI when it has none.
    pub fn short_id(&self) -> &str {
        self.short_ids
            .first()
            .map_or(self.uri.as_str(), |s| s.as_str())
    }

    /// The drivers this entry implies.
    pub fn drivers(&self) -> Drivers {
        Drivers {
            legacy: !self.legacy.is_empty(),
            modern: !self.modern.is_empty(),
        }
    }

    /// Whether `id` names this OS (a short id or the URI, a trailing `/` ignored).
    pub fn matches(&self, id: &str) -> bool {
        let id = id.trim().trim_end_matches('/');
        self.uri.trim_end_matches('/') == id || self.short_ids.iter().any(|s| s == id)
    }
}

/// Which virtio drivers a guest has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Drivers {
    /// A legacy (virtio 0.9) driver: transitional and legacy devices work.
    pub legacy: bool,
    /// A virtio 1.0 driver: modern-only devices work.
    pub modern: bool,
}

impl Drivers {
    /// The spellings `--guest-virtio` and the metadata override accept.
    pub const NAMES: &'static [&'static str] = &["legacy", "modern", "both", "none"];

    /// Parses `legacy`, `modern`, `both` or `none`.
    pub fn from_name(name: &str) -> Option<Drivers> {
        let (legacy, modern) = match name.trim() {
            "legacy" | "0.9" => (true, false),
            "modern" | "1.0" => (false, true),
            "both" => (true, true),
            "none" => (false, false),
            _ => return None,
        };
        Some(Drivers { legacy, modern })
    }

    /// The name [`Drivers::from_name`] reads back.
    pub fn name(self) -> &'static str {
        match (self.legacy, self.modern) {
            (true, false) => "legacy",
            (false, true) => "modern",
            (true, true) => "both",
            (false, false) => "none",
        }
    }

    /// A few words for people.
    pub fn summary(self) -> &'static str {
        match (self.legacy, self.modern) {
            (true, false) => "legacy virtio (0.9) drivers only",
            (false, true) => "virtio 1.0 drivers only",
            (true, true) => "legacy and virtio 1.0 drivers",
            (false, false) => "no known virtio drivers",
        }
    }

    /// Only legacy drivers: every virtio device must keep its legacy interface.
    pub fn needs_legacy(self) -> bool {
        self.legacy && !self.modern
    }
}

/// Where the OS id came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdSource {
    /// `<metadata><libosinfo:libosinfo><libosinfo:os id=...>` in the domain.
    Domain,
    /// `--os` on the command line (or the TUI's equivalent).
    User,
}

/// Where the OS facts came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InfoSource {
    /// The table embedded in virt-pci.
    Table,
    /// The installed osinfo-db (`/usr/share/osinfo`), for OSes the table lacks.
    OsinfoDb,
}

impl InfoSource {
    /// Short phrase for people.
    pub fn describe(self) -> &'static str {
        match self {
            InfoSource::Table => "virt-pci's table (from osinfo-db)",
            InfoSource::OsinfoDb => "the installed osinfo-db",
        }
    }
}

/// The guest OS as the analyses see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestOs {
    /// The id as given (short id or URI).
    pub id: String,
    /// Where the id came from.
    pub id_source: IdSource,
    /// What is known about it; `None` when neither the table nor osinfo-db knows the id.
    pub info: Option<(OsInfo, InfoSource)>,
    /// Drivers set by hand (domain metadata or `--guest-virtio`), with where it was set.
    pub drivers_override: Option<(Drivers, String)>,
}

impl GuestOs {
    /// A guest OS looked up in the embedded table only.
    pub fn from_table(id: &str, id_source: IdSource) -> GuestOs {
        GuestOs {
            id: id.to_string(),
            id_source,
            info: lookup(id).map(|i| (i.clone(), InfoSource::Table)),
            drivers_override: None,
        }
    }

    /// The drivers the analyses assume: the override, else the OS facts; `None` when
    /// nothing is known.
    pub fn drivers(&self) -> Option<Drivers> {
        self.drivers_override
            .as_ref()
            .map(|(d, _)| *d)
            .or_else(|| self.info.as_ref().map(|(i, _)| i.drivers()))
    }

    /// A name for messages: `CentOS 6.10 (centos6.10)`, or the id as given.
    pub fn label(&self) -> String {
        match &self.info {
            Some((i, _)) => format!("{} ({})", i.name, i.short_id()),
            None => self.id.clone(),
        }
    }

    /// Why the analyses believe what they do about the drivers, in a few words.
    pub fn drivers_reason(&self) -> String {
        if let Some((d, from)) = &self.drivers_override {
            return format!("virtio drivers '{}' set by {from}", d.name());
        }
        match &self.info {
            Some((i, src)) => {
                let list = |v: &[String]| {
                    if v.is_empty() {
                        "none".to_string()
                    } else {
                        v.join(", ")
                    }
                };
                format!(
                    "{} lists legacy virtio ids for {} and virtio 1.0 ids for {} ({})",
                    src.describe(),
                    list(&i.legacy),
                    list(&i.modern),
                    i.origin
                )
            }
            None => format!("'{}' is not in virt-pci's table or osinfo-db", self.id),
        }
    }
}

/// Parses the table format: tab-separated, `#` comments, one header line starting
/// with `short_id`. Returns the line number and problem of the first bad line.
pub fn parse_table(text: &str) -> Result<Vec<OsInfo>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') || line.starts_with("short_id\t") {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != 7 {
            return Err(format!(
                "line {}: {} columns, expected 7",
                n + 1,
                cols.len()
            ));
        }
        let list = |s: &str| -> Vec<String> {
            if s == "-" {
                Vec::new()
            } else {
                s.split(',').map(str::to_string).collect()
            }
        };
        let q35 = match cols[5] {
            "yes" => true,
            "no" => false,
            other => return Err(format!("line {}: q35 is '{other}'", n + 1)),
        };
        out.push(OsInfo {
            short_ids: list(cols[0]),
            uri: cols[1].to_string(),
            name: cols[2].to_string(),
            legacy: list(cols[3]),
            modern: list(cols[4]),
            q35,
            origin: cols[6].to_string(),
        });
    }
    Ok(out)
}

/// The embedded table, parsed once. A malformed table is a build defect caught by the
/// unit tests; at run time it reads as empty rather than failing.
pub fn table() -> &'static [OsInfo] {
    static TABLE: OnceLock<Vec<OsInfo>> = OnceLock::new();
    TABLE.get_or_init(|| parse_table(TABLE_TSV).unwrap_or_default())
}

/// The table entry for a short id or URI.
pub fn lookup(id: &str) -> Option<&'static OsInfo> {
    table().iter().find(|o| o.matches(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_parses_and_ids_are_unique() {
        let t = parse_table(TABLE_TSV).expect("assets/guest-os.tsv parses");
        assert!(t.len() > 100, "{} rows", t.len());
        let mut seen = std::collections::HashSet::new();
        for o in &t {
            assert!(seen.insert(o.uri.clone()), "duplicate URI {}", o.uri);
            for s in &o.short_ids {
                assert!(seen.insert(s.clone()), "duplicate short id {s}");
            }
        }
    }

    #[test]
    fn the_osinfo_boundaries_of_the_research_table() {
        // Needs transitional: legacy ids only.
        for id in [
            "centos6.10",
            "http://redhat.com/rhel/6.10",
            "rhel7.1",
            "debian8",
            "fedora22",
            "ubuntu16.04",
            "sles12sp1",
            "freebsd13.1",
            "openbsd7.0",
            "winxp",
        ] {
            let o = lookup(id).unwrap_or_else(|| panic!("{id} missing"));
            assert!(o.drivers().needs_legacy(), "{id}: {:?}", o.drivers());
        }
        // virtio 1.0 known.
        for id in [
            "centos7.0",
            "rhel7.2",
            "debian9",
            "fedora23",
            "win10",
            "sles12sp2",
        ] {
            let o = lookup(id).unwrap_or_else(|| panic!("{id} missing"));
            assert!(o.drivers().modern, "{id}");
        }
        // Nothing known.
        for id in ["win11", "win2k22", "netbsd9.0", "rhel5.5"] {
            let o = lookup(id).unwrap_or_else(|| panic!("{id} missing"));
            assert_eq!(o.drivers().name(), "none", "{id}");
        }
        assert!(lookup("centos6.10").is_some_and(|o| o.q35));
        assert!(lookup("debian8").is_some_and(|o| !o.q35));
        assert!(lookup("no-such-os").is_none());
    }

    #[test]
    fn override_wins_over_the_table() {
        let mut g = GuestOs::from_table("freebsd13.1", IdSource::User);
        assert_eq!(g.drivers().map(Drivers::name), Some("legacy"));
        g.drivers_override = Some((Drivers::from_name("both").expect("name"), "test".into()));
        assert_eq!(g.drivers().map(Drivers::name), Some("both"));
        assert!(g.drivers_reason().contains("set by test"));
        for n in Drivers::NAMES {
            assert_eq!(Drivers::from_name(n).map(Drivers::name), Some(*n));
        }
    }

    #[test]
    fn bad_rows_are_reported_with_their_line() {
        assert!(parse_table("a\tb\n").is_err_and(|e| e.starts_with("line 1")));
        let ok = "# c\nshort_id\turi\tname\tvirtio_legacy\tvirtio_1_0\tq35\tsource\n\
                  x\thttp://x/1\tX\tnet\t-\tmaybe\tf\n";
        assert!(parse_table(ok).is_err_and(|e| e.contains("line 3")));
    }
}
