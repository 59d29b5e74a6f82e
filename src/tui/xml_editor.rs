//! The XML editor popup: the selected element's XML in a text area (tui-textarea),
//! checked after every change by the session (one well-formed element, the domain
//! still reads, libvirt still accepts the guest), with the verdict under the text.
//! The app applies the checked edit only after the user confirms.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use tui_textarea::TextArea;

use super::picker::centered;
use super::session::{Session, XmlEdit};
use super::theme::Theme;
use crate::core::topology::Origin;

/// The editor's state.
#[derive(Clone, Debug)]
pub struct XmlEditor {
    /// What is edited, for the title.
    pub title: String,
    /// The device whose element is edited.
    pub origin: Origin,
    /// The text being edited.
    pub area: TextArea<'static>,
    /// The text it started with.
    original: String,
    /// The session's verdict on the current text.
    pub checked: Result<XmlEdit, String>,
    /// Use ASCII marks.
    ascii: bool,
    /// The user asked to apply a text that does not pass; said until the next change.
    pub refused: bool,
}

impl XmlEditor {
    /// An editor on `text`, the XML of device `origin`'s element.
    pub fn new(
        title: String,
        origin: Origin,
        text: &str,
        session: &Session,
        theme: &Theme,
        ascii: bool,
    ) -> XmlEditor {
        let mut area = TextArea::new(text.lines().map(String::from).collect());
        area.set_tab_length(2);
        // The line numbers are drawn beside the text area, not by it (see `gutter`).
        area.remove_line_number();
        area.set_cursor_line_style(ratatui::style::Style::default());
        area.set_style(theme.text());
        let mut e = XmlEditor {
            title,
            origin,
            area,
            original: text.trim_end().to_string(),
            checked: Err(String::new()),
            ascii,
            refused: false,
        };
        e.recheck(session);
        e
    }

    /// The text as it stands.
    pub fn text(&self) -> String {
        self.area.lines().join("\n")
    }

    /// Whether the text differs from what the editor opened with.
    pub fn modified(&self) -> bool {
        self.text().trim_end() != self.original
    }

    /// Checks the current text again (after every change).
    pub fn recheck(&mut self, session: &Session) {
        self.checked = session.check_element_edit(self.origin, &self.text());
        self.refused = false;
    }

    /// The line numbers of the rows the text area shows, right-aligned in `digits`
    /// columns between two blanks (as tui-textarea draws them). tui-textarea draws its own numbers as the first cells of each line,
    /// so scrolling a long line sideways took them off the screen with the text; drawn
    /// here, beside the text, they stay whatever the horizontal scroll.
    fn gutter(&self, height: u16, digits: u16, theme: &Theme) -> Paragraph<'static> {
        let (top, _) = self.area.scroll_offset();
        let lines: Vec<Line> = (top as usize..)
            .take(height as usize)
            .take_while(|&row| row < self.area.lines().len())
            .map(|row| {
                Line::styled(
                    format!(" {:>w$} ", row + 1, w = digits as usize),
                    theme.dim(),
                )
            })
            .collect();
        Paragraph::new(lines)
    }

    /// Draws it over `area`.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, theme: &Theme) {
        let w = area.width.saturating_sub(4).clamp(20, 110);
        let h = area.height.saturating_sub(2).max(6);
        let r = centered(area, w, h);
        f.render_widget(Clear, r);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(Span::styled(format!(" {} ", self.title), theme.heading()))
            .title_bottom(Line::styled(
                " Ctrl-s apply · Esc close · Ctrl-z (Ctrl-u) undo · Ctrl-y (Ctrl-r) redo ",
                theme.dim(),
            ));
        let inner = block.inner(r);
        f.render_widget(block, r);
        let [text_area, verdict] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(2)]).areas(inner);
        let digits = self.area.lines().len().max(1).to_string().len() as u16;
        let [numbers, text_area] =
            Layout::horizontal([Constraint::Length(digits + 2), Constraint::Min(1)])
                .areas(text_area);
        f.render_widget(&self.area, text_area);
        // After the text: drawing it scrolls it, and the numbers follow its first row.
        f.render_widget(self.gutter(numbers.height, digits, theme), numbers);
        let (ok_mark, bad_mark) = if self.ascii {
            ("ok", "x")
        } else {
            ("✓", "✗")
        };
        let line = match &self.checked {
            Ok(_) if !self.modified() => Line::styled(format!("{ok_mark} unchanged"), theme.dim()),
            Ok(_) => Line::from(vec![
                Span::styled(format!("{ok_mark} "), theme.gauge(true)),
                Span::raw("well-formed, and libvirt accepts the guest with it: Ctrl-s to apply"),
            ]),
            Err(e) => Line::from(vec![
                Span::styled(format!("{bad_mark} "), theme.alert()),
                Span::raw(if self.refused {
                    format!("not applied: {e}")
                } else {
                    e.clone()
                }),
            ]),
        };
        f.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), verdict);
    }
}
