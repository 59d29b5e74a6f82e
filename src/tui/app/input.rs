//! Terminal events into messages: keys looked up in the current scope, typed text,
//! pasted text, the mouse (click, wheel over the pane under the pointer, drag and drop).

use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;

use super::{App, Pane, Popup};
use crate::core::diag::Severity;
use crate::core::edit;
use crate::tui::commands::{Message, Scope};
use crate::tui::event::typed_char;
use crate::tui::{details, io_pane, layout};

impl App {
    /// Handles one terminal event.
    pub fn handle_event(&mut self, ev: &Event) {
        match ev {
            Event::Key(k) => self.handle_key(*k),
            Event::Mouse(m) => self.handle_mouse(*m),
            Event::Resize(w, h) => {
                self.size = (*w, *h);
                self.follow();
            }
            Event::Paste(text) if self.scope() == Scope::Editor => {
                if let Some(Popup::Editor(e)) = self.popups.last_mut() {
                    e.area.insert_str(text);
                    e.recheck(&self.session);
                }
            }
            Event::Paste(text) => {
                for c in text.chars().filter(|c| !c.is_control()) {
                    self.type_char(c);
                }
            }
            _ => {}
        }
    }

    pub(super) fn handle_key(&mut self, k: KeyEvent) {
        let scope = self.scope();
        // In a list, j and k move while nothing is typed into the filter (after the
        // first letter they are letters); in a text view they always move.
        if scope == Scope::List && k.modifiers.difference(KeyModifiers::SHIFT).is_empty() {
            let idle = match self.popups.last() {
                Some(Popup::Pick(p, _)) => p.filter.is_empty(),
                Some(Popup::Text(_)) => true,
                _ => false,
            };
            let step = match k.code {
                KeyCode::Char('j') => Some(Message::ListDown),
                KeyCode::Char('k') => Some(Message::ListUp),
                _ => None,
            };
            if let (true, Some(m)) = (idle, step) {
                self.update(m);
                return;
            }
        }
        if let Some(c) = self.keymap.lookup(scope, k) {
            self.update(c.message);
        } else if scope == Scope::Editor {
            if let Some(Popup::Editor(e)) = self.popups.last_mut()
                && e.area.input(k)
            {
                e.recheck(&self.session);
            }
        } else if scope.takes_text()
            && let Some(c) = typed_char(&k)
        {
            self.type_char(c);
        }
    }

    pub(super) fn type_char(&mut self, c: char) {
        match self.popups.last_mut() {
            Some(Popup::Pick(p, _)) => p.type_char(c),
            Some(Popup::Prompt(p, _)) => p.input.push(c),
            _ => {}
        }
    }

    pub(super) fn handle_mouse(&mut self, m: MouseEvent) {
        if !self.popups.is_empty() {
            match m.kind {
                MouseEventKind::ScrollUp => self.update(Message::ListUp),
                MouseEventKind::ScrollDown => self.update(Message::ListDown),
                _ => {}
            }
            return;
        }
        let a = layout::areas(Rect::new(0, 0, self.size.0, self.size.1), &self.view());
        let inner = Rect {
            x: a.tree.x + 1,
            y: a.tree.y + 1,
            width: a.tree.width.saturating_sub(2),
            height: a.tree.height.saturating_sub(2),
        };
        let hit = (m.column >= inner.x
            && m.column < inner.x + inner.width
            && m.row >= inner.y
            && m.row < inner.y + inner.height)
            .then(|| self.scroll + (m.row - inner.y) as usize)
            .filter(|&r| r < self.rows.len());
        // The wheel scrolls the pane under the pointer.
        if matches!(
            m.kind,
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown
        ) && let Some(pane @ (Pane::Details | Pane::Diagnostics)) = self.pane_at(m.column, m.row)
        {
            let delta = if m.kind == MouseEventKind::ScrollUp {
                -3
            } else {
                3
            };
            self.scroll_pane(pane, delta);
            return;
        }
        match m.kind {
            MouseEventKind::ScrollUp => {
                self.scroll = self.scroll.saturating_sub(3);
                let page = self.page();
                if self.selected >= self.scroll + page {
                    self.selected = self.scroll + page - 1;
                }
            }
            MouseEventKind::ScrollDown => {
                let page = self.page();
                let max = self.rows.len().saturating_sub(page);
                self.scroll = (self.scroll + 3).min(max);
                if self.selected < self.scroll {
                    self.selected = self.scroll;
                }
            }
            MouseEventKind::Down(MouseButton::Left) => {
                if let Some(r) = hit {
                    self.selected = r;
                    self.drag_from = Some(r);
                    self.follow();
                } else if let Some(i) = layout::diagnostic_at(&a, m.column, m.row, &self.view()) {
                    self.diag_selected = i;
                    if let Some(o) = self.derived.problems[i].origin {
                        self.select_origin(o);
                    }
                }
            }
            MouseEventKind::Drag(MouseButton::Left) => {
                if let (Some(from), Some(r)) = (self.drag_from, hit)
                    && (r != from || self.dragging)
                {
                    if !self.dragging {
                        self.dragging = true;
                        self.start_drag(from);
                    }
                    self.selected = r;
                    self.follow();
                }
            }
            MouseEventKind::Up(MouseButton::Left) => {
                let from = self.drag_from.take();
                let dragged = std::mem::take(&mut self.dragging);
                match (from, hit) {
                    (Some(from), Some(to)) if from != to => {
                        if !dragged {
                            self.start_drag(from);
                        }
                        if self.cut.is_some() {
                            self.selected = to;
                            self.update(Message::Paste);
                        }
                    }
                    // Released where it started: nothing moves.
                    _ if dragged => self.cut = None,
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// Drag and drop: the device of row `from` goes to the bus of row `to`.
    /// Cuts the device of row `from` for a drag, so that its legal places light up
    /// as they do for cut and paste.
    pub(super) fn start_drag(&mut self, from: usize) {
        let Some(device) = self.rows.get(from).and_then(|r| r.device) else {
            return;
        };
        if self.rows[from].locked {
            self.say(Severity::Warning, "a chipset function cannot be moved");
            return;
        }
        let origin = self.topology().devices[device].origin;
        let targets = edit::move_targets(self.topology(), device);
        self.cut = Some((origin, targets));
    }

    /// The pane under screen position (`x`, `y`).
    pub(super) fn pane_at(&self, x: u16, y: u16) -> Option<Pane> {
        let a = layout::areas(Rect::new(0, 0, self.size.0, self.size.1), &self.view());
        let inside = |r: Rect| x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height;
        if inside(a.tree) {
            Some(Pane::Tree)
        } else if inside(a.side) {
            Some(Pane::Details)
        } else if inside(a.diags) {
            Some(Pane::Diagnostics)
        } else {
            None
        }
    }

    /// Scrolls a side pane by `delta` lines (the diagnostics pane moves its selection).
    pub(super) fn scroll_pane(&mut self, pane: Pane, delta: isize) {
        match pane {
            Pane::Tree => {}
            Pane::Details => {
                let n = if self.show_io {
                    io_pane::lines(&self.view()).len()
                } else {
                    details::lines(&self.view()).len()
                };
                self.details_scroll = (self.details_scroll as isize + delta)
                    .clamp(0, n.saturating_sub(1) as isize)
                    as usize;
            }
            Pane::Diagnostics => {
                let n = self.derived.problems.len();
                self.diag_selected = (self.diag_selected as isize + delta)
                    .clamp(0, n.saturating_sub(1) as isize)
                    as usize;
            }
        }
    }
}
