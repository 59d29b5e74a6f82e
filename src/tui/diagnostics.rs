//! The diagnostics list: libvirt's refusal and every finding of the analyses, one per
//! line, errors first; the one about the selected device is highlighted. `]` and `[`
//! jump between the rows they concern, and a click jumps to its row.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::app::App;
use super::theme::severity_mark;
use crate::core::diag::Severity;

/// Draws the list.
pub fn render(f: &mut Frame<'_>, area: Rect, app: &App) {
    let th = &app.theme;
    let probs = &app.derived.problems;
    let count = |s: Severity| probs.iter().filter(|p| p.diag.severity == s).count();
    let title = format!(
        " diagnostics: {} errors, {} warnings, {} notes (] next, F fix) ",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.border(false))
        .title(Span::styled(title, th.heading()));
    let here = app
        .row()
        .and_then(|r| r.device)
        .map(|i| app.topology().devices[i].origin);
    let mut lines: Vec<Line> = probs
        .iter()
        .map(|p| {
            let s = p.diag.severity;
            let line = Line::from(vec![
                Span::styled(
                    format!("{} {} ", severity_mark(s, app.ascii), p.diag.code),
                    th.severity(s),
                ),
                Span::raw(p.diag.message.clone()),
            ]);
            if here.is_some() && p.origin == here {
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
    // Keep the selected device's diagnostic in view.
    let rows = area.height.saturating_sub(2) as usize;
    let first = probs
        .iter()
        .position(|p| here.is_some() && p.origin == here)
        .map_or(0, |k| k.saturating_sub(rows.saturating_sub(1)));
    let lines: Vec<Line> = lines.into_iter().skip(first).collect();
    f.render_widget(Paragraph::new(lines).block(block), area);
}
