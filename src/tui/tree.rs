//! The tree pane: the rows of [`rows`](super::rows) with connector glyphs, fold
//! markers, addresses, badges (virtio mode, IO window) and a gutter that marks rows
//! with diagnostics; rows where the device being moved may go are highlighted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::app::App;
use super::rows::{Row, RowKey};
use super::theme::{Theme, mode_badge, severity_mark};

pub use crate::core::ioport::size_text;

fn row_line(r: &Row, selected: bool, target: bool, th: &Theme, ascii: bool) -> Line<'static> {
    let mut spans = Vec::new();
    spans.push(match r.severity {
        Some(s) => Span::styled(severity_mark(s, ascii), th.severity(s)),
        None => Span::raw(" "),
    });
    let mut prefix = r.prefix.clone();
    if let Some(open) = r.fold {
        let mark = match (open, ascii) {
            (true, false) => '▾',
            (false, false) => '▸',
            (true, true) => 'v',
            (false, true) => '>',
        };
        match prefix.pop() {
            Some(_) => prefix.push(mark),
            None => prefix.push(mark),
        }
    }
    if !prefix.is_empty() {
        prefix.push(' ');
    }
    spans.push(Span::styled(prefix, th.dim()));
    if let Some(a) = &r.addr {
        spans.push(Span::styled(format!("{a} "), th.address()));
    }
    // The badge goes before the label, so that narrow panes still show it.
    if let Some(m) = r.mode {
        spans.push(Span::styled(format!("[{}] ", mode_badge(m)), th.mode(m)));
    }
    let label_style = if r.locked {
        th.locked()
    } else if r.muted {
        th.dim()
    } else if r.bus.is_some() && r.device.is_some() || r.key == RowKey::Root {
        th.controller()
    } else {
        th.text()
    };
    let label_style = if target { th.target() } else { label_style };
    spans.push(Span::styled(r.label.clone(), label_style));
    if r.locked {
        spans.push(Span::styled(" locked", th.dim()));
    }
    if let Some(w) = r.window {
        spans.push(Span::styled(format!(" io:{}", size_text(w)), th.window()));
    }
    if !r.note.is_empty() {
        spans.push(Span::styled(format!(" {}", r.note), th.dim()));
    }
    let line = Line::from(spans);
    if selected {
        line.style(th.selected())
    } else {
        line.style(Style::new())
    }
}

/// Draws the tree pane.
pub fn render(f: &mut Frame<'_>, area: Rect, app: &App) {
    let th = &app.theme;
    let title = match &app.cut {
        Some(_) => " PCI topology - move: p puts it on the selected bus ",
        None => " PCI topology ",
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.border(true))
        .title(Span::styled(title, th.heading()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let target_buses: Vec<u32> = app
        .cut
        .as_ref()
        .map(|(_, t)| t.iter().map(|a| a.bus).collect())
        .unwrap_or_default();
    let lines: Vec<Line> = app
        .rows
        .iter()
        .enumerate()
        .skip(app.scroll)
        .take(inner.height as usize)
        .map(|(i, r)| {
            let target = !target_buses.is_empty()
                && r.device.is_none()
                && r.bus.is_some_and(|b| target_buses.contains(&b))
                || r.device.is_some()
                    && r.fold.is_some()
                    && r.bus.is_some_and(|b| target_buses.contains(&b));
            row_line(r, i == app.selected, target, th, app.ascii)
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}
