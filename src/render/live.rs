//! A running domain against its next boot, as `tree`, `io` and `guest` show it (a
//! section: one line per difference, marked as a diff from the running guest to the
//! next boot: `-` gone, `+` new, `~` changed), as `check` sums it up (one line), and
//! as JSON (the `running` object).

use serde::Serialize;

use crate::core::live::{Difference, Side, counts};
use crate::running::Report;

/// When the next-boot definition becomes the running one.
pub const TAKES_EFFECT: &str = "changes take effect at the next boot: shut the guest down and start it again (a reboot inside the guest keeps the running configuration)";

/// The mark in front of a difference: what happens to it at the next boot.
pub fn mark(side: Side) -> char {
    match side {
        Side::RunningOnly => '-',
        Side::NextBootOnly => '+',
        Side::Changed => '~',
    }
}

/// One difference in a line (without its mark).
pub fn describe(d: &Difference) -> String {
    let at = d
        .address
        .as_deref()
        .map_or(String::new(), |a| format!(" at {a}"));
    match d.side {
        Side::RunningOnly => format!(
            "{}{at}: running now, gone at the next boot (hot-plugged, or removed from the definition)",
            d.subject
        ),
        Side::NextBootOnly => format!(
            "{}{at}: comes at the next boot, not in the running guest (added to the definition, or unplugged live)",
            d.subject
        ),
        Side::Changed => {
            let s: Vec<String> = d
                .settings
                .iter()
                .map(|s| format!("{} {} now, {} at the next boot", s.what, s.live, s.next))
                .collect();
            format!("{}: {}", d.subject, s.join("; "))
        }
    }
}

/// The section `tree`, `io` and `guest` print above their output: whether the running
/// guest runs this definition, every difference, and when changes take effect.
pub fn section(r: &Report) -> String {
    let name = &r.domain;
    match &r.differences {
        Err(e) => format!(
            "running: {name} is running, and its live configuration cannot be read ({e}); what follows is its next boot\n  {TAKES_EFFECT}\n"
        ),
        Ok(d) if d.is_empty() => format!(
            "running: {name} is running, and its live configuration matches this next-boot definition\n"
        ),
        Ok(d) => {
            let mut s = format!(
                "running: {name} is running a live configuration that differs from this next-boot definition:\n"
            );
            for x in d {
                s.push_str(&format!("  {} {}\n", mark(x.side), describe(x)));
            }
            s.push_str(&format!("  {TAKES_EFFECT}\n"));
            s
        }
    }
}

/// `check`'s one line: whether the running guest runs this definition, and how many
/// differences there are.
pub fn summary(r: &Report) -> String {
    match &r.differences {
        Err(e) => format!(
            "running; its live configuration cannot be read ({e}); changes take effect at the next boot"
        ),
        Ok(d) if d.is_empty() => {
            "running; its live configuration matches the next boot".to_string()
        }
        Ok(d) => format!(
            "running; its live configuration differs from the next boot ({}; `virt-pci tree` lists them); changes take effect at the next boot",
            count_text(d)
        ),
    }
}

/// `1 running only, 2 at the next boot only, 1 changed`.
pub fn count_text(d: &[Difference]) -> String {
    let (running, next, changed) = counts(d);
    let mut parts = Vec::new();
    if running > 0 {
        parts.push(format!("{running} running only"));
    }
    if next > 0 {
        parts.push(format!("{next} at the next boot only"));
    }
    if changed > 0 {
        parts.push(format!("{changed} changed"));
    }
    parts.join(", ")
}

/// The `running` object of the JSON outputs.
#[derive(Serialize, Debug)]
pub struct RunningJson {
    /// The running guest runs this definition (`null` when its live configuration
    /// could not be read).
    pub matches_next_boot: Option<bool>,
    /// Every difference.
    pub differences: Vec<DifferenceJson>,
    /// Why the live configuration could not be read.
    pub error: Option<String>,
    /// When the next-boot definition takes effect.
    pub takes_effect: &'static str,
}

/// One difference in JSON.
#[derive(Serialize, Debug)]
pub struct DifferenceJson {
    /// `running-only`, `next-boot-only` or `changed`.
    pub side: &'static str,
    /// The device (`interface virtio (52:54:00:7e:6d:8a)`) or `machine`.
    pub subject: String,
    /// Its PCI address (libvirt's), when it has one.
    pub address: Option<String>,
    /// What changes, for `changed`.
    pub settings: Vec<SettingJson>,
}

/// One changed setting in JSON.
#[derive(Serialize, Debug)]
pub struct SettingJson {
    /// `address`, `model`, `bus`, `hotplug` or `machine type`.
    pub what: &'static str,
    /// In the running guest.
    pub live: String,
    /// At the next boot.
    pub next: String,
}

impl RunningJson {
    /// The JSON of `r`.
    pub fn of(r: &Report) -> RunningJson {
        RunningJson {
            matches_next_boot: r.differences.as_ref().ok().map(Vec::is_empty),
            differences: r
                .list()
                .iter()
                .map(|d| DifferenceJson {
                    side: d.side.name(),
                    subject: d.subject.clone(),
                    address: d.address.clone(),
                    settings: d
                        .settings
                        .iter()
                        .map(|s| SettingJson {
                            what: s.what,
                            live: s.live.clone(),
                            next: s.next.clone(),
                        })
                        .collect(),
                })
                .collect(),
            error: r.differences.as_ref().err().cloned(),
            takes_effect: TAKES_EFFECT,
        }
    }
}
