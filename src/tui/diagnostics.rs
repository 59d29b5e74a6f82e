//! The diagnostics list: libvirt's refusal and every finding of the analyses, one per
//! line, errors first; the one about the selected device is highlighted. `]` and `[`
//! jump between the rows they concern, and a click jumps to its row.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::app::{Pane, View, counts};
use super::theme::severity_mark;
use super::tree::fit;

/// The first diagnostic shown in a pane of `rows` lines: the selected one stays in
/// view (the pane's own selection when it has the focus, else the selected row's).
pub fn first_shown(view: &View, rows: usize) -> usize {
    let probs = &view.derived.problems;
    let here = view
        .row()
        .and_then(|r| r.device)
        .map(|i| view.topology().devices[i].origin);
    let k = if view.focus == Pane::Diagnostics {
        Some(view.diag_selected)
    } else {
        probs
            .iter()
            .position(|p| here.is_some() && p.origin == here)
    };
    k.map_or(0, |k| k.saturating_sub(rows.saturating_sub(1)))
}

/// Draws the list.
pub fn render(f: &mut Frame<'_>, area: Rect, view: &View) {
    let th = &view.theme;
    let probs = &view.derived.problems;
    let focused = view.focus == Pane::Diagnostics;
    let rows = area.height.saturating_sub(2) as usize;
    let first = first_shown(view, rows);
    let more = if probs.len() > rows {
        format!(
            " {}-{} of {} ",
            first + 1,
            (first + rows).min(probs.len()),
            probs.len()
        )
    } else {
        String::new()
    };
    let title = format!(" diagnostics: {} (] next, F fix, L all) ", counts(probs));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.border(focused))
        .title(Span::styled(title, th.heading()))
        .title_bottom(Line::styled(more, th.dim()));
    let here = view
        .row()
        .and_then(|r| r.device)
        .map(|i| view.topology().devices[i].origin);
    let width = area.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = probs
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(k, p)| {
            let s = p.diag.severity;
            let line = Line::from(vec![
                Span::styled(
                    format!("{} {} ", severity_mark(s, view.ascii), p.diag.code),
                    th.severity(s),
                ),
                Span::raw(p.diag.message.clone()),
            ]);
            let line = fit(line, width);
            let chosen = if focused {
                k == view.diag_selected
            } else {
                here.is_some() && p.origin == here
            };
            if chosen {
                line.style(th.selected())
            } else {
                line
            }
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled(
            "libvirt accepts this guest and the analyses found nothing",
            th.dim(),
        ));
    }
    f.render_widget(Paragraph::new(lines).block(block), area);
}
