//! The text views: help and the palette from the command registry, the full list of
//! diagnostics, the status line's messages, explain and the glossary.

use super::{App, Popup, Question, ShownProblem};
use crate::core::diag::Severity;
use crate::tui::commands::{COMMANDS, Command, Scope, keys_text};
use crate::tui::explain;
use crate::tui::picker::Entry;
use crate::tui::popups::{TextView, Tone};

impl App {
    pub(super) fn help(&mut self) {
        self.popups.push(Popup::Text(TextView {
            title: "help".into(),
            lines: help_lines(),
            scroll: 0,
        }));
    }

    pub(super) fn palette(&mut self) {
        let entries = COMMANDS
            .iter()
            .filter(|c| c.scope == Scope::Main)
            .map(|c| {
                Entry::new(
                    c.id,
                    format!("{:<12} {}", keys_or_palette(c), c.description),
                )
            })
            .collect();
        self.pick("commands", entries, Question::Palette);
    }

    /// Every diagnostic in full: message, hint and fix, in the pane's order.
    pub(super) fn diagnostics_list(&mut self) {
        let mut lines = Vec::new();
        for p in &self.derived.problems {
            let d = &p.diag;
            let line = self
                .topology()
                .devices
                .get(d.device.unwrap_or(usize::MAX))
                .map(|x| x.line)
                .filter(|&l| l > 0)
                .map_or(String::new(), |l| format!(" (line {l})"));
            lines.push((
                Tone::Heading,
                format!(
                    "{} {} {}{line}",
                    severity_word(d.severity),
                    d.code,
                    d.message
                ),
            ));
            if let Some(h) = &d.hint {
                lines.push((Tone::Plain, format!("  hint: {h}")));
            }
            if let Some(f) = &p.fix {
                lines.push((Tone::Plain, format!("  F fixes: {}", f.summary)));
            }
            lines.push((Tone::Plain, String::new()));
        }
        if lines.is_empty() {
            lines.push((
                Tone::Dim,
                "libvirt accepts this guest and the analyses found nothing".to_string(),
            ));
        }
        let title = format!("diagnostics: {}", counts(&self.derived.problems));
        self.popups.push(Popup::Text(TextView {
            title,
            lines,
            scroll: 0,
        }));
    }

    /// The status line's messages so far, newest last.
    pub(super) fn messages_view(&mut self) {
        let lines = if self.messages.is_empty() {
            vec![(Tone::Dim, "no messages yet".to_string())]
        } else {
            self.messages
                .iter()
                .map(|m| {
                    (
                        if m.severity == Severity::Info {
                            Tone::Plain
                        } else {
                            Tone::Heading
                        },
                        format!("{} {}", severity_word(m.severity), m.text),
                    )
                })
                .collect()
        };
        let scroll = lines.len().saturating_sub(1);
        self.popups.push(Popup::Text(TextView {
            title: "messages".into(),
            lines,
            scroll,
        }));
    }

    /// What the selected row is, why it sits there, what moving it would change.
    pub(super) fn explain(&mut self) {
        let Some(row) = self.row().cloned() else {
            return;
        };
        let lines = explain::row_lines(&self.view(), &row);
        self.popups.push(Popup::Text(TextView {
            title: format!("explain: {}", row.label),
            lines,
            scroll: 0,
        }));
    }

    pub(super) fn glossary(&mut self) {
        self.popups.push(Popup::Text(TextView {
            title: "glossary".into(),
            lines: explain::glossary_lines(),
            scroll: 0,
        }));
    }
}

/// The help text, from the command registry: one heading per group, each command
/// with its keys (or `(palette)`) and what it does.
pub fn help_lines() -> Vec<(Tone, String)> {
    let mut lines = vec![
        (Tone::Heading, "keys and commands".to_string()),
        (
            Tone::Dim,
            "every command is also in the palette (:); those without a key only there".to_string(),
        ),
    ];
    // One heading per group, in the order the groups first appear.
    let mut groups: Vec<&str> = Vec::new();
    for c in COMMANDS {
        let g = c.id.split('.').next().unwrap_or("");
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    for g in groups {
        lines.push((Tone::Plain, String::new()));
        lines.push((Tone::Heading, group_title(g).to_string()));
        for c in COMMANDS
            .iter()
            .filter(|c| c.id.starts_with(&format!("{g}.")))
        {
            lines.push((Tone::Plain, help_line(c)));
        }
    }
    lines.push((Tone::Plain, String::new()));
    lines.push((
        Tone::Dim,
        "mouse: click selects, the wheel scrolls the pane under the pointer, drag a device onto a bus to move it".into(),
    ));
    lines
}

/// `error`, `warning`, `note`.
pub fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// `1 error, 2 warnings, 0 notes`: every count, each word in its right number.
pub fn counts(problems: &[ShownProblem]) -> String {
    [Severity::Error, Severity::Warning, Severity::Info]
        .iter()
        .map(|&s| {
            let n = problems.iter().filter(|p| p.diag.severity == s).count();
            format!("{n} {}{}", severity_word(s), if n == 1 { "" } else { "s" })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A command's keys, or `(palette)` for one only the palette runs.
pub fn keys_or_palette(c: &Command) -> String {
    if c.keys.is_empty() {
        "(palette)".to_string()
    } else {
        keys_text(c)
    }
}

/// One help line: the keys in a column wide enough for all of them, then the text
/// (the text view wraps it under itself).
fn help_line(c: &Command) -> String {
    format!("  {:<20}  {}", keys_or_palette(c), c.description)
}

fn group_title(group: &str) -> &'static str {
    match group {
        "tree" => "moving around",
        "edit" => "editing",
        "guest" => "guest",
        "view" => "view",
        "file" => "file",
        "app" => "app",
        "list" => "in lists and the palette",
        "confirm" => "in questions",
        "prompt" => "in prompts",
        "editor" => "in the XML editor",
        _ => "other",
    }
}
