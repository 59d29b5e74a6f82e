//! The tree pane: the rows of [`rows`](super::rows) with connector glyphs, fold
//! markers, addresses, badges (virtio mode, IO window) and a gutter that marks rows
//! with diagnostics; rows where the device being moved may go are highlighted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::app::View;
use super::rows::{Row, RowKey};
use super::theme::{Theme, mode_badge, severity_mark};

pub use crate::core::io_space::size_text;

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
    // Pending rows say so before anything a narrow pane could cut: `+` libvirt adds
    // it, `→` libvirt puts it here.
    if let Some(g) = r.ghost {
        let mark = match (g, ascii) {
            (super::rows::Ghost::Added, _) => "+ ",
            (super::rows::Ghost::Placed, false) => "→ ",
            (super::rows::Ghost::Placed, true) => "> ",
        };
        spans.push(Span::styled(mark, th.target()));
    }
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
    if let Some(g) = r.ghost {
        spans.push(Span::styled(format!(" {}", g.note()), th.target()));
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
pub fn render(f: &mut Frame<'_>, area: Rect, view: &View) {
    let th = &view.theme;
    let defined = !view.as_written && view.derived.analysis.refused.is_none();
    let title = match (&view.cut, defined) {
        (Some(_), _) => " PCI topology - move: p puts it on the selected bus ",
        (None, true) => " PCI topology (as libvirt defines it, v) ",
        (None, false) => " PCI topology (the file as written, v) ",
    };
    let title = crate::tui::text::ellipsis(title, area.width.saturating_sub(2) as usize);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.border(view.focus == super::app::Pane::Tree))
        .title(Span::styled(title, th.heading()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let target_buses: Vec<u32> = view
        .cut
        .as_ref()
        .map(|(_, t)| t.iter().map(|a| a.bus).collect())
        .unwrap_or_default();
    let lines: Vec<Line> = view
        .rows
        .iter()
        .enumerate()
        .skip(view.scroll)
        .take(inner.height as usize)
        .map(|(i, r)| {
            let target = !target_buses.is_empty()
                && r.device.is_none()
                && r.bus.is_some_and(|b| target_buses.contains(&b))
                || r.device.is_some()
                    && r.fold.is_some()
                    && r.bus.is_some_and(|b| target_buses.contains(&b));
            fit(
                row_line(r, i == view.selected, target, th, view.ascii),
                inner.width as usize,
            )
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

/// `line` cut to `room` columns with an ellipsis when it is longer: a cut label says
/// so (the details pane and `E` have the whole text).
pub fn fit(line: Line<'static>, room: usize) -> Line<'static> {
    if line.width() <= room {
        return line;
    }
    let style = line.style;
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for span in line.spans {
        let w = span.width();
        if used + w < room {
            used += w;
            out.push(span);
            continue;
        }
        let left = room.saturating_sub(used);
        let text = crate::tui::text::ellipsis(&span.content, left);
        // `ellipsis` leaves the text whole when it fits exactly: make room for `…`.
        let text = if text.ends_with('…') {
            text
        } else {
            crate::tui::text::ellipsis(&format!("{text}  "), left)
        };
        out.push(Span::styled(text, span.style));
        break;
    }
    Line::from(out).style(style)
}
