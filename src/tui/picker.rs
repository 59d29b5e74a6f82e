//! The list popup: a titled, filterable list of entries (the command palette, the
//! add/move/model/OS/firmware choices). It owns its filter and selection; what an
//! accepted entry means is up to whoever opened it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::text::{ellipsis, width, wrap};
use super::theme::Theme;

/// One entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Main text.
    pub label: String,
    /// Second column (keys, description).
    pub detail: String,
}

impl Entry {
    /// An entry.
    pub fn new(label: impl Into<String>, detail: impl Into<String>) -> Entry {
        Entry {
            label: label.into(),
            detail: detail.into(),
        }
    }
}

/// The popup's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picker {
    /// Title.
    pub title: String,
    /// Every entry.
    pub entries: Vec<Entry>,
    /// The filter typed so far.
    pub filter: String,
    /// Position in [`Picker::visible`].
    pub selected: usize,
    /// Said under the filter until the next key (Enter on an empty list).
    pub note: Option<String>,
}

impl Picker {
    /// A picker over `entries`.
    pub fn new(title: impl Into<String>, entries: Vec<Entry>) -> Picker {
        Picker {
            title: title.into(),
            entries,
            filter: String::new(),
            selected: 0,
            note: None,
        }
    }

    /// Indexes of the entries that match the filter (every word, any case).
    pub fn visible(&self) -> Vec<usize> {
        let words: Vec<String> = self
            .filter
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        (0..self.entries.len())
            .filter(|&i| {
                let e = &self.entries[i];
                let hay = format!("{} {}", e.label, e.detail).to_lowercase();
                words.iter().all(|w| hay.contains(w.as_str()))
            })
            .collect()
    }

    /// The index into `entries` of the selected entry.
    pub fn chosen(&self) -> Option<usize> {
        self.visible().get(self.selected).copied()
    }

    /// Moves the selection by `delta`, staying in the list.
    pub fn step(&mut self, delta: isize) {
        let n = self.visible().len();
        if n == 0 {
            self.selected = 0;
            return;
        }
        let s = self.selected as isize + delta;
        self.selected = s.clamp(0, n as isize - 1) as usize;
    }

    /// Types a character into the filter.
    pub fn type_char(&mut self, c: char) {
        self.filter.push(c);
        self.selected = 0;
        self.note = None;
    }

    /// Deletes the last character of the filter.
    pub fn backspace(&mut self) {
        self.filter.pop();
        self.selected = 0;
        self.note = None;
    }

    /// Draws the popup over `area`.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, theme: &Theme) {
        let vis = self.visible();
        let w = area.width.saturating_sub(4).clamp(20, 100);
        // Room under the list for the selected entry's whole text when it is cut.
        let label_w = vis
            .iter()
            .map(|&i| width(&self.entries[i].label))
            .max()
            .unwrap_or(0);
        let room = (w as usize).saturating_sub(label_w.min(w as usize / 2) + 4);
        let extra = if vis.iter().any(|&i| width(&self.entries[i].detail) > room) {
            4
        } else {
            0
        };
        let h = (vis.len() as u16 + 3 + extra).clamp(5, area.height.saturating_sub(2).max(5));
        let r = centered(area, w, h);
        f.render_widget(Clear, r);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(Span::styled(format!(" {} ", self.title), theme.heading()));
        let inner = block.inner(r);
        f.render_widget(block, r);
        let hint = if self.filter.is_empty() {
            "  (type to filter; j k ↑ ↓ move, Enter chooses)"
        } else {
            ""
        };
        let mut lines = vec![Line::from(vec![
            Span::styled("filter: ", theme.dim()),
            Span::raw(self.filter.clone()),
            Span::styled("▏", theme.dim()),
            Span::styled(hint, theme.dim()),
        ])];
        if let Some(n) = &self.note {
            lines.push(Line::styled(
                ellipsis(n, inner.width as usize),
                theme.alert(),
            ));
        }
        let label_w = vis
            .iter()
            .map(|&i| width(&self.entries[i].label))
            .max()
            .unwrap_or(0)
            .min(inner.width as usize / 2);
        let detail_w = (inner.width as usize).saturating_sub(label_w + 2);
        // The selected entry's whole text, wrapped, under the list when the list cuts
        // it: a long list gives up rows for it (up to four, keeping three for the list).
        let whole: Vec<String> = vis
            .get(self.selected)
            .map(|&i| &self.entries[i].detail)
            .filter(|d| width(d) > detail_w)
            .map(|d| wrap(d, inner.width as usize))
            .unwrap_or_default();
        let room = (inner.height as usize).saturating_sub(lines.len());
        let below = match whole.len() {
            0 => 0,
            n if vis.len() + 1 + n <= room => 1 + n,
            n => Some((n + 1).min(4)).filter(|b| room >= b + 3).unwrap_or(0),
        };
        let rows = room.saturating_sub(below);
        let first = self.selected.saturating_sub(rows.saturating_sub(1));
        for (k, &i) in vis.iter().enumerate().skip(first).take(rows) {
            let e = &self.entries[i];
            let style = if k == self.selected {
                theme.selected()
            } else {
                theme.text()
            };
            let label = ellipsis(&e.label, label_w);
            let pad = label_w.saturating_sub(width(&label));
            lines.push(Line::from(vec![
                Span::styled(format!("{label}{}  ", " ".repeat(pad)), style),
                Span::styled(ellipsis(&e.detail, detail_w), theme.dim()),
            ]));
        }
        if vis.is_empty() {
            lines.push(Line::styled("(nothing matches)", theme.dim()));
        } else if below > 0 {
            lines.push(Line::default());
            let (n, rows) = (whole.len(), below - 1);
            for (k, l) in whole.into_iter().take(rows).enumerate() {
                let l = if k + 1 == rows && n > rows {
                    ellipsis(&format!("{l} …"), inner.width as usize)
                } else {
                    l
                };
                lines.push(Line::styled(l, theme.text()));
            }
        }
        f.render_widget(Paragraph::new(lines), inner);
    }
}

/// A `w` x `h` rectangle centred in `area` (clipped to it).
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
