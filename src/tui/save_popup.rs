//! The question asked when the file changed on disk since the designer read it: the
//! diff of what changed there, and overwrite / reload / save as. It draws itself at
//! any size (the keys line stays visible: the diff is cut first).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::popups::Tone;
use super::theme::Theme;

/// The file changed on disk: what changed, and what the keys do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The file.
    pub file: String,
    /// The diff from what the designer read to what is on disk now.
    pub diff: Vec<(Tone, String)>,
    /// First diff line shown.
    pub scroll: usize,
}

/// What the keys do, shown at the bottom.
pub const KEYS: &str = "y overwrite · r reload (drops your edits) · a save as · n/Esc cancel";

impl Conflict {
    /// Scrolls the diff.
    pub fn step(&mut self, by: isize) {
        let max = self.diff.len().saturating_sub(1);
        self.scroll = self.scroll.saturating_add_signed(by).min(max);
    }

    /// Draws it over `area`.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, theme: &Theme) {
        let w = area.width.saturating_sub(4).clamp(20, 100).min(area.width);
        let want = self.diff.len() as u16 + 6;
        let h = want.min(area.height).max(area.height.min(5));
        let r = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + (area.height - h) / 2,
            width: w,
            height: h,
        };
        f.render_widget(Clear, r);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.alert())
            .title(Span::styled(" changed on disk ", theme.heading()));
        let inner = h.saturating_sub(2) as usize;
        let mut lines = vec![Line::from(format!(
            "{} changed on disk since it was read:",
            self.file
        ))];
        // The keys line and the heading always fit; the diff gets what is left.
        let room = inner.saturating_sub(2);
        for (tone, text) in self.diff.iter().skip(self.scroll).take(room) {
            let style = match tone {
                Tone::Added => theme.diff(true),
                Tone::Removed => theme.diff(false),
                Tone::Heading => theme.heading(),
                Tone::Dim => theme.dim(),
                Tone::Plain => theme.text(),
            };
            lines.push(Line::styled(text.clone(), style));
        }
        lines.truncate(inner.saturating_sub(1).max(1));
        lines.push(Line::styled(KEYS, theme.dim()));
        f.render_widget(Paragraph::new(lines).block(block), r);
    }
}
