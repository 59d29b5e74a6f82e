//! `audit` output: the table (one line per guest), JSON and CSV of the rows.

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

/// The table: aligned columns, the worst diagnostic last (cut to `width` columns
/// when a width is given), and a count of verdicts at the end.
pub fn render_table(rows: &[Row], width: Option<usize>) -> String {
    let all: Vec<[String; 8]> = rows.iter().map(cells).collect();
    let mut w = HEADERS.map(|h| h.chars().count());
    for c in &all {
        for (k, cell) in c.iter().enumerate().take(7) {
            w[k] = w[k].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, c: &[String]| {
        let mut l = String::new();
        for k in 0..7 {
            let _ = write!(l, "{:<width$}  ", c[k], width = w[k]);
        }
        l.push_str(&c[7]);
        let l = match width {
            Some(max) if l.chars().count() > max => {
                let mut t: String = l.chars().take(max.saturating_sub(1)).collect();
                t.push('…');
                t
            }
            _ => l,
        };
        out.push_str(l.trim_end());
        out.push('\n');
    };
    let heads: Vec<String> = HEADERS.iter().map(|h| h.to_string()).collect();
    line(&mut out, &heads);
    for c in &all {
        line(&mut out, c);
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
        "{} guest{}: {}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        if counts.is_empty() {
            "none".to_string()
        } else {
            counts.join(", ")
        }
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
        "guest,source,machine,os,verdict,errors,warnings,worst_code,worst_message,io_headroom,free_hotplug_ports,q35_needs,q35_virtio_need_transitional,error\n",
    );
    for r in rows {
        let opt = |v: Option<String>| v.unwrap_or_default();
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
            opt(r.q35.as_ref().map(|q| q.summary())),
            opt(r
                .q35
                .as_ref()
                .map(|q| q.virtio_need_transitional.to_string())),
            opt(r.error.clone()),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}
