//! A running libvirt domain beside its next boot: its live configuration (`virsh
//! dumpxml`, hot-plugged devices included) read into a topology, and what differs from
//! the definition it boots with next (`virsh dumpxml --inactive`, or the designer's
//! edit of it). Every front end that reads a domain from libvirt (`tree`, `check`,
//! `io`, `guest`, the designer) shows the same [`Report`]; the comparison itself is
//! `core::live`.

use crate::core::live::{self, Difference};
use crate::core::topology::Topology;
use crate::host::libvirt::{Connection, State};

/// The live configuration of a running domain, or why it could not be read.
#[derive(Clone, Debug)]
pub struct Live {
    /// The domain's name.
    pub domain: String,
    /// The running guest's topology.
    pub topology: Result<Topology, String>,
}

impl Live {
    /// Reads `domain`'s live configuration when it runs; `None` when it does not run
    /// (or its state cannot be told, in which case the persistent definition is all
    /// there is to show).
    pub fn read(conn: &Connection, domain: &str) -> Option<Live> {
        if !matches!(conn.state(domain), Ok(State::Running)) {
            return None;
        }
        let topology = conn
            .live_xml(domain)
            .map_err(|e| e.to_string())
            .and_then(|xml| parse(&xml));
        Some(Live {
            domain: domain.to_string(),
            topology,
        })
    }

    /// What differs between the running guest and `next` (the next-boot topology).
    pub fn against(&self, next: &Topology) -> Report {
        Report {
            domain: self.domain.clone(),
            differences: self
                .topology
                .as_ref()
                .map(|l| live::compare(next, l))
                .map_err(Clone::clone),
        }
    }
}

/// The live configuration's topology, as every other domain is read.
fn parse(xml: &str) -> Result<Topology, String> {
    let doc = crate::libvirt::Document::parse_bytes(xml.as_bytes())
        .map_err(|e| format!("{}:{}: {}", e.pos.line, e.pos.column, e.message))?;
    let mut t = crate::libvirt::read_topology(&doc)
        .map_err(|e| format!("{}:{}: {}", e.pos.line, e.pos.column, e.message))?;
    t.platform = crate::cli::target().platform;
    Ok(t)
}

/// A running domain against its next boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The domain's name.
    pub domain: String,
    /// The differences (empty: the running guest runs what it will boot), or why the
    /// live configuration could not be read.
    pub differences: Result<Vec<Difference>, String>,
}

impl Report {
    /// The differences, none when the live configuration could not be read.
    pub fn list(&self) -> &[Difference] {
        self.differences.as_deref().unwrap_or(&[])
    }
}
