//! The title bar: the guest, its machine, the guest OS and firmware the analyses
//! assume, the file, and the unsaved-changes marker.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::App;

/// Draws the title bar.
pub fn render(f: &mut Frame<'_>, area: Rect, app: &App) {
    let t = app.topology();
    let th = &app.theme;
    let m = &t.machine;
    let os = app
        .context()
        .os
        .as_ref()
        .map_or("os: unknown".to_string(), |o| {
            format!(
                "os: {}",
                o.info.as_ref().map_or(o.id.as_str(), |(i, _)| i.short_id())
            )
        });
    let mut spans = vec![
        Span::styled(" virt-pci ", th.title()),
        Span::raw(" "),
        Span::styled(
            if t.name.is_empty() {
                "(unnamed)".to_string()
            } else {
                t.name.clone()
            },
            th.heading(),
        ),
        Span::raw(format!(
            "  {} ({})  {os}  {}  ",
            if m.machine_type.is_empty() {
                "?"
            } else {
                m.machine_type.as_str()
            },
            m.class.name(),
            app.derived.analysis.firmware.id,
        )),
    ];
    if app.session.dirty() {
        spans.push(Span::styled("[+] ", th.alert()));
    }
    spans.push(Span::styled(app.session.display.clone(), th.dim()));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
