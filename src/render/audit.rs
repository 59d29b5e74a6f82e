//! `audit` output: the table (one line per guest, laid out for the terminal's width),
//! JSON and CSV of the rows.

use std::fmt::Write as _;

use serde::Serialize;

use crate::audit::{Row, Verdict};
use crate::core::io_space::size_text;

const HEADERS: [&str; 8] = [
    "GUEST",
    "MACHINE",
    "OS",
    "VERDICT",
    "IO FREE",
    "HOTPLUG",
    "Q35 NEEDS",
    "WORST",
];

/// The cells of one row, in [`HEADERS`] order.
fn cells(r: &Row) -> [String; 8] {
    let dash = || "-".to_string();
    let guest = if r.guest.is_empty() {
        r.source.clone()
    } else {
        r.guest.clone()
    };
    let worst = match (&r.worst, &r.error) {
        (_, Some(e)) => e.clone(),
        // The table keeps the finding's first clause; the explanation after the first
        // ": " is for `check`, JSON and CSV.
        (Some(w), None) => format!(
            "{} {}",
            w.code,
            w.message.split(": ").next().unwrap_or(&w.message)
        ),
        (None, None) => dash(),
    };
    [
        guest,
        if r.machine.is_empty() {
            dash()
        } else {
            r.machine.clone()
        },
        r.os.clone().unwrap_or_else(dash),
        r.verdict.name().to_string(),
        r.io_headroom.map_or_else(dash, size_text),
        r.free_hotplug_ports.map_or_else(dash, |n| n.to_string()),
        r.q35.as_ref().map_or_else(dash, |q| q.summary()),
        worst,
    ]
}

/// Columns of the first line when the table does not fit the width (the rest goes
/// under each guest).
const MAIN: usize = 6;
/// The columns' index: Q35 NEEDS, WORST.
const Q35: usize = 6;
const WORST: usize = 7;
/// Room the worst finding keeps at the end of a one-line row before it moves under it.
const WORST_MIN: usize = 24;
/// The narrowest the guest column is cut to.
const GUEST_MIN: usize = 8;

/// `s` cut to `room` columns with an ellipsis.
fn clip(s: &str, room: usize) -> String {
    if s.chars().count() <= room {
        s.to_string()
    } else if room == 0 {
        String::new()
    } else {
        let mut t: String = s.chars().take(room - 1).collect();
        t.push('…');
        t
    }
}

/// How the rows are laid out for a width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// One line per guest, every column (the worst finding cut at the width).
    OneLine,
    /// The worst finding on a line of its own under the guest.
    WorstUnder,
    /// The q35 what-if and the worst finding under the guest, the guest's name cut
    /// when even the first six columns do not fit.
    BothUnder,
}

/// The table: aligned columns and a count of verdicts at the end. Without a width
/// (a pipe) every guest is one line, whole. With one (`--width`, the terminal's),
/// no line is longer: the worst finding, then the q35 what-if move to lines of their
/// own under each guest (`  worst: ...`, `  q35: ...`), the guest's name is cut last,
/// and what is still too long ends in an ellipsis (`check` has every finding whole).
pub fn render_table(rows: &[Row], width: Option<usize>) -> String {
    let all: Vec<[String; 8]> = rows.iter().map(cells).collect();
    let mut w = HEADERS.map(|h| h.chars().count());
    for c in &all {
        for (k, cell) in c.iter().enumerate().take(WORST) {
            w[k] = w[k].max(cell.chars().count());
        }
    }
    // Columns 0..n with their two-space gaps.
    let span = |w: &[usize; 8], n: usize| w[..n].iter().map(|x| x + 2).sum::<usize>();
    let layout = match width {
        None => Layout::OneLine,
        Some(max) if span(&w, WORST) + WORST_MIN <= max => Layout::OneLine,
        Some(max) if span(&w, Q35 + 1) <= max + 2 => Layout::WorstUnder,
        Some(max) => {
            // The guest's name gives way first, down to a few characters.
            let over = span(&w, MAIN).saturating_sub(max + 2);
            w[0] = w[0].saturating_sub(over).max(GUEST_MIN.min(w[0]));
            Layout::BothUnder
        }
    };
    let shown = match layout {
        Layout::OneLine => WORST,
        Layout::WorstUnder => Q35 + 1,
        Layout::BothUnder => MAIN,
    };
    let fit = |l: String| -> String {
        let l = l.trim_end().to_string();
        match width {
            Some(max) => clip(&l, max),
            None => l,
        }
    };
    let mut out = String::new();
    let line = |out: &mut String, c: &[String; 8], head: bool| {
        let mut l = String::new();
        for k in 0..shown {
            let _ = write!(l, "{:<width$}  ", clip(&c[k], w[k]), width = w[k]);
        }
        if layout == Layout::OneLine {
            l.push_str(&c[WORST]);
        }
        out.push_str(&fit(l));
        out.push('\n');
        if head {
            return;
        }
        if layout == Layout::BothUnder && c[Q35] != "-" {
            out.push_str(&fit(format!("  q35: {}", c[Q35])));
            out.push('\n');
        }
        if layout != Layout::OneLine && c[WORST] != "-" {
            out.push_str(&fit(format!("  worst: {}", c[WORST])));
            out.push('\n');
        }
    };
    line(&mut out, &HEADERS.map(String::from), true);
    for c in &all {
        line(&mut out, c, false);
    }
    let mut counts = Vec::new();
    for v in [
        Verdict::Ok,
        Verdict::Warnings,
        Verdict::Errors,
        Verdict::Refused,
        Verdict::Unreadable,
    ] {
        let n = rows.iter().filter(|r| r.verdict == v).count();
        if n > 0 {
            counts.push(format!("{n} {}", v.name()));
        }
    }
    let _ = writeln!(
        out,
        "{}",
        fit(format!(
            "{} guest{}: {}",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" },
            if counts.is_empty() {
                "none".to_string()
            } else {
                counts.join(", ")
            }
        ))
    );
    out
}

#[derive(Serialize)]
struct Json<'a> {
    guests: &'a [Row],
}

/// `{"guests": [row, ...]}`.
pub fn render_json(rows: &[Row]) -> String {
    let mut s = serde_json::to_string_pretty(&Json { guests: rows }).unwrap_or_default();
    s.push('\n');
    s
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV with a header line; numbers are plain (bytes for the IO headroom), empty when
/// unknown.
pub fn render_csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "guest,source,machine,os,verdict,errors,warnings,worst_code,worst_message,io_headroom,free_hotplug_ports,q35_needs,q35_virtio_need_transitional,error,q35_sata_renames,q35_pcie_to_pci_bridges,q35_spare_root_ports,q35_verdict,q35_worst_code,q35_io_headroom,q35_refused\n",
    );
    for r in rows {
        let opt = |v: Option<String>| v.unwrap_or_default();
        let q = r.q35.as_ref();
        let fields = [
            r.guest.clone(),
            r.source.clone(),
            r.machine.clone(),
            opt(r.os.clone()),
            r.verdict.name().to_string(),
            r.errors.to_string(),
            r.warnings.to_string(),
            opt(r.worst.as_ref().map(|w| w.code.to_string())),
            opt(r.worst.as_ref().map(|w| w.message.clone())),
            opt(r.io_headroom.map(|n| n.to_string())),
            opt(r.free_hotplug_ports.map(|n| n.to_string())),
            opt(q.map(|q| {
                if q.already_pcie {
                    "-".into()
                } else {
                    q.changes()
                }
            })),
            opt(q.map(|q| q.virtio_need_transitional.to_string())),
            opt(r.error.clone()),
            // Added after `error`, so that the older columns keep their places.
            opt(q.map(|q| q.sata_renames.to_string())),
            opt(q.map(|q| q.pcie_to_pci_bridges.to_string())),
            opt(q.map(|q| q.spare_root_ports.to_string())),
            opt(q.and_then(|q| q.verdict).map(|v| v.name().to_string())),
            opt(q.and_then(|q| q.worst.as_ref()).map(|w| w.code.to_string())),
            opt(q.and_then(|q| q.io_headroom).map(|n| n.to_string())),
            opt(q
                .and_then(|q| q.refused.as_ref())
                .map(|w| w.code.to_string())),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}
