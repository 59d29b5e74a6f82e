//! The key bar: the commands of the current scope that the registry marks for it,
//! with their first key.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::View;
use super::commands::bar;
use super::event::display;

/// Draws the key bar.
pub fn render(f: &mut Frame<'_>, area: Rect, view: &View) {
    let th = &view.theme;
    let mut spans = Vec::new();
    for c in bar(view.scope) {
        let Some(k) = c.keys.first() else {
            continue;
        };
        spans.push(Span::styled(format!(" {} ", display(k)), th.key()));
        // One space after the label: the whole main bar fits in 80 columns.
        spans.push(Span::raw(format!("{} ", c.bar.unwrap_or(c.id))));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
