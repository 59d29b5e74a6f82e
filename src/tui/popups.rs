//! The small popups: a yes/no confirmation, a one-line prompt and a scrollable text
//! view (help, an element's XML, the diff against the file on disk). Each owns its
//! state and draws itself; the app decides what their answers mean.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::picker::centered;
use super::theme::Theme;

/// A question with yes / no (and, for quitting, save).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirm {
    /// Title.
    pub title: String,
    /// The question, possibly several lines.
    pub text: String,
    /// What the keys do, shown at the bottom.
    pub keys: String,
}

impl Confirm {
    /// Draws it.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, theme: &Theme) {
        // Wide enough for the longest line on a wide screen (up to 100 columns, two
        // thirds of the screen); 70 columns otherwise.
        let base = area.width.saturating_sub(8).clamp(30, 70);
        let longest = self
            .text
            .lines()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0) as u16;
        let w = (longest + 4)
            .clamp(base, (area.width * 2 / 3).clamp(base, 100))
            .min(area.width);
        let inner_w = w.saturating_sub(2).max(1) as usize;
        let rows = |l: &str| l.chars().count().div_ceil(inner_w).max(1);
        let lines = self.text.lines().map(rows).sum::<usize>() as u16;
        let r = centered(area, w, (lines + 4).min(area.height));
        f.render_widget(Clear, r);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.alert())
            .title(Span::styled(format!(" {} ", self.title), theme.heading()));
        // On a small screen the question is cut, never the keys that answer it.
        let keys_rows = rows(&self.keys);
        let mut room = (r.height as usize).saturating_sub(2 + keys_rows);
        let mut text: Vec<Line> = Vec::new();
        for l in self.text.lines() {
            let need = rows(l);
            if need > room {
                if room > 0 {
                    let cut: String = l.chars().take(room * inner_w - 1).collect();
                    text.push(Line::from(format!("{cut}…")));
                }
                room = 0;
                break;
            }
            room -= need;
            text.push(Line::from(l.to_string()));
        }
        if room > 0 {
            text.push(Line::default());
        }
        text.push(Line::styled(self.keys.clone(), theme.dim()));
        f.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: false }).block(block),
            r,
        );
    }
}

/// A one-line text prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    /// What is asked.
    pub title: String,
    /// What was typed.
    pub input: String,
}

impl Prompt {
    /// Draws it.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, theme: &Theme) {
        let w = area.width.saturating_sub(8).clamp(30, 80);
        let r = centered(area, w, 3);
        f.render_widget(Clear, r);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(Span::styled(format!(" {} ", self.title), theme.heading()));
        let line = Line::from(vec![
            Span::raw(self.input.clone()),
            Span::styled("▏", theme.dim()),
        ]);
        f.render_widget(Paragraph::new(line).block(block), r);
    }
}

/// A scrollable text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextView {
    /// Title.
    pub title: String,
    /// The lines, each with a style class.
    pub lines: Vec<(Tone, String)>,
    /// First line shown.
    pub scroll: usize,
}

/// How a line of a text view is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Normal text.
    Plain,
    /// A heading.
    Heading,
    /// Secondary text.
    Dim,
    /// An added line of a diff.
    Added,
    /// A removed line of a diff.
    Removed,
}

impl TextView {
    /// A view of plain `text`.
    pub fn plain(title: impl Into<String>, text: &str) -> TextView {
        TextView {
            title: title.into(),
            lines: text.lines().map(|l| (Tone::Plain, l.to_string())).collect(),
            scroll: 0,
        }
    }

    /// Scrolls by `delta` lines.
    pub fn step(&mut self, delta: isize) {
        let max = self.lines.len().saturating_sub(1) as isize;
        self.scroll = (self.scroll as isize + delta).clamp(0, max.max(0)) as usize;
    }

    /// Draws it.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, theme: &Theme) {
        let w = area.width.saturating_sub(4).max(20);
        let h = (self.lines.len() as u16 + 2).clamp(5, area.height.saturating_sub(2).max(5));
        let r = centered(area, w, h);
        f.render_widget(Clear, r);
        let more = if self.lines.len() + 2 > h as usize {
            format!(" {}/{} ", self.scroll + 1, self.lines.len())
        } else {
            String::new()
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(Span::styled(format!(" {} ", self.title), theme.heading()))
            .title_bottom(Line::styled(
                format!("{more} Esc closes, ↑↓ PgUp PgDn scroll "),
                theme.dim(),
            ));
        // Long lines wrap under themselves: a line that starts with a key column
        // (`  keys    text`) hangs its text at the column.
        let inner_w = r.width.saturating_sub(2).max(10) as usize;
        let lines: Vec<Line> = self
            .lines
            .iter()
            .skip(self.scroll)
            .take(h as usize)
            .flat_map(|(tone, s)| {
                let st = match tone {
                    Tone::Plain => theme.text(),
                    Tone::Heading => theme.heading(),
                    Tone::Dim => theme.dim(),
                    Tone::Added => theme.diff(true),
                    Tone::Removed => theme.diff(false),
                };
                hang(s, inner_w, *tone)
                    .into_iter()
                    .map(move |l| Line::styled(l, st))
            })
            .collect();
        f.render_widget(Paragraph::new(lines).block(block), r);
    }
}

/// `s` wrapped to `room` columns, continuations indented to where its text starts
/// (after the indentation and, for `  key   text` lines, after the key column). Diffs
/// and XML keep their lines as they are.
fn hang(s: &str, room: usize, tone: Tone) -> Vec<String> {
    use super::text::{width, wrap};
    if width(s) <= room || matches!(tone, Tone::Added | Tone::Removed) {
        return vec![s.to_string()];
    }
    let indent = s.len() - s.trim_start().len();
    let rest = &s[indent..];
    let column = rest
        .find("  ")
        .map(|k| k + rest[k..].len() - rest[k..].trim_start().len())
        .filter(|&c| c < room / 2)
        .unwrap_or(0);
    let cut = indent + column;
    let head = &s[..cut];
    let hang_at = width(head).min(room / 2);
    let mut out = Vec::new();
    let pieces = wrap(&s[cut..], room.saturating_sub(hang_at).max(10));
    for (k, p) in pieces.into_iter().enumerate() {
        if k == 0 {
            out.push(format!("{head}{p}"));
        } else {
            out.push(format!("{}{p}", " ".repeat(hang_at)));
        }
    }
    out
}
