//! `convert` output: one line of why per change (text and JSON), what stays and why,
//! the hotplug headroom, and the unified diff of the domain XML.

use serde::Serialize;

use crate::core::convert::{Conversion, Spare};
use crate::core::diag::Diagnostic;
use crate::core::topology::Topology;

/// One change for JSON.
#[derive(Serialize)]
struct ChangeJson<'a> {
    subject: &'a str,
    line: Option<u32>,
    reason: &'a str,
    ops: Vec<String>,
}

/// A device kept as it is, for JSON.
#[derive(Serialize)]
struct KeptJson<'a> {
    subject: &'a str,
    line: Option<u32>,
    reason: &'a str,
}

/// A refusal for JSON.
#[derive(Serialize)]
struct RefusalJson<'a> {
    code: &'a str,
    message: &'a str,
    hint: Option<&'a str>,
}

/// The hotplug headroom for JSON.
#[derive(Serialize)]
struct SpareJson<'a> {
    free: u32,
    wanted: u32,
    wanted_from: &'a str,
    added: u32,
    limited_by: Option<&'a str>,
}

impl<'a> From<&'a Spare> for SpareJson<'a> {
    fn from(s: &'a Spare) -> SpareJson<'a> {
        SpareJson {
            free: s.free,
            wanted: s.wanted,
            wanted_from: &s.wanted_from,
            added: s.added,
            limited_by: s.limited_by.as_deref(),
        }
    }
}

/// The whole answer for JSON.
#[derive(Serialize)]
struct ConvertJson<'a> {
    file: &'a str,
    to: &'a str,
    converted: bool,
    changed: bool,
    refused: Option<RefusalJson<'a>>,
    changes: Vec<ChangeJson<'a>>,
    kept: Vec<KeptJson<'a>>,
    notes: &'a [String],
    spare_ports: Option<SpareJson<'a>>,
    /// What the guest sees renamed: bus numbers, NIC names, disk paths (VP0701-0703).
    renames: Vec<RefusalJson<'a>>,
    /// The converted XML when it was not written to a file.
    xml: Option<&'a str>,
    diff: Option<&'a str>,
}

fn line(l: u32) -> Option<u32> {
    (l > 0).then_some(l)
}

/// The reasons, one line per change, then what stays and the notes.
pub fn render_text(path: &str, t: &Topology, c: &Conversion) -> String {
    let mut s = String::new();
    if c.is_empty() {
        s.push_str(&format!("{path}: nothing to convert to {}\n", c.to.name()));
    } else {
        s.push_str(&format!(
            "{path}: converted to {} in {} change(s)\n",
            c.to.name(),
            c.changes.len()
        ));
    }
    for ch in &c.changes {
        let at = if ch.line > 0 {
            format!("{path}:{}: ", ch.line)
        } else {
            format!("{path}: ")
        };
        s.push_str(&format!("{at}change {}: {}\n", ch.subject, ch.reason));
        let _ = t;
    }
    for k in &c.kept {
        let at = if k.line > 0 {
            format!("{path}:{}: ", k.line)
        } else {
            format!("{path}: ")
        };
        s.push_str(&format!("{at}keep {}: {}\n", k.subject, k.reason));
    }
    if let Some(sp) = &c.spare {
        s.push_str(&format!(
            "{path}: spare root ports: {} free ({} wanted, {}; {} added){}\n",
            sp.free,
            sp.wanted,
            sp.wanted_from,
            sp.added,
            sp.limited_by
                .as_ref()
                .map(|l| format!("; limited by {l}"))
                .unwrap_or_default()
        ));
    }
    for n in &c.notes {
        s.push_str(&format!("{path}: note: {n}\n"));
    }
    s
}

/// The answer as JSON: the changes with their reasons and operations, or the refusal.
pub fn render_json(
    path: &str,
    to: &str,
    t: &Topology,
    result: &Result<Conversion, Diagnostic>,
    xml: Option<&str>,
    diff: Option<&str>,
    renames: &[Diagnostic],
) -> String {
    let empty: Vec<String> = Vec::new();
    let out = match result {
        Ok(c) => ConvertJson {
            file: path,
            to,
            converted: true,
            changed: !c.is_empty(),
            refused: None,
            changes: c
                .changes
                .iter()
                .map(|ch| ChangeJson {
                    subject: &ch.subject,
                    line: line(ch.line),
                    reason: &ch.reason,
                    ops: {
                        // Labels in terms of the topology each op applies to.
                        let mut cur = t.clone();
                        let mut labels = Vec::new();
                        for op in &ch.ops {
                            labels.push(op.label(&cur));
                            if let Ok(n) =
                                crate::core::edit::apply_as_one(&cur, std::slice::from_ref(op))
                            {
                                cur = n;
                            }
                        }
                        labels
                    },
                })
                .collect(),
            kept: c
                .kept
                .iter()
                .map(|k| KeptJson {
                    subject: &k.subject,
                    line: line(k.line),
                    reason: &k.reason,
                })
                .collect(),
            notes: &c.notes,
            spare_ports: c.spare.as_ref().map(SpareJson::from),
            renames: renames
                .iter()
                .map(|d| RefusalJson {
                    code: d.code.as_str(),
                    message: &d.message,
                    hint: d.hint.as_deref(),
                })
                .collect(),
            xml,
            diff,
        },
        Err(d) => ConvertJson {
            file: path,
            to,
            converted: false,
            changed: false,
            refused: Some(RefusalJson {
                code: d.code.as_str(),
                message: &d.message,
                hint: d.hint.as_deref(),
            }),
            changes: Vec::new(),
            kept: Vec::new(),
            notes: &empty,
            spare_ports: None,
            renames: Vec::new(),
            xml: None,
            diff: None,
        },
    };
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_default();
    s.push('\n');
    s
}

/// The unified diff of the domain before and after, with three lines of context.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(path, &format!("{path} (converted)"))
        .to_string()
}
