//! The running-guest pane (`R`, for a domain opened from libvirt while it runs): what
//! differs between the live configuration and the definition being edited, which is
//! what the guest boots with next. The same lines as the CLI's section
//! (`render::live`), marked `-` (gone at the next boot), `+` (comes at the next boot)
//! and `~` (changes at the next boot).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::app::View;
use crate::core::live::Side;
use crate::render::live::{TAKES_EFFECT, describe, mark};

/// The lines of the pane.
pub fn lines(view: &View) -> Vec<Line<'static>> {
    let th = &view.theme;
    let Some(r) = view.running else {
        return vec![Line::from("the guest is not a running libvirt domain")];
    };
    let mut out = vec![Line::styled(
        format!("{} is running", r.domain),
        th.heading(),
    )];
    match &r.differences {
        Err(e) => out.push(Line::styled(
            format!("its live configuration cannot be read: {e}"),
            th.alert(),
        )),
        Ok(d) if d.is_empty() => out.push(Line::from(
            "its live configuration matches the definition being edited: nothing waits for the next boot",
        )),
        Ok(d) => {
            out.push(Line::from(
                "the running guest (live configuration) against the definition being edited (its next boot):",
            ));
            out.push(Line::default());
            for x in d {
                let style = match x.side {
                    Side::RunningOnly => th.diff(false),
                    Side::NextBootOnly => th.diff(true),
                    Side::Changed => th.alert(),
                };
                out.push(Line::from(vec![
                    Span::styled(format!("{} ", mark(x.side)), style),
                    Span::raw(describe(x)),
                ]));
            }
        }
    }
    out.push(Line::default());
    out.push(Line::styled(TAKES_EFFECT, th.dim()));
    out.push(Line::styled(
        "saving (w) defines the next boot; the running guest is not changed",
        th.dim(),
    ));
    out
}

/// Draws the pane.
pub fn render(f: &mut Frame<'_>, area: Rect, view: &View) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(view.theme.border(false))
        .title(Span::styled(
            " running guest vs next boot (R: details) ",
            view.theme.heading(),
        ));
    f.render_widget(
        Paragraph::new(lines(view))
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
