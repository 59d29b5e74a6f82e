//! Moving around the tree: selection and scrolling that keep the selected row in view,
//! folds, the next row with a diagnostic, and search.

use ratatui::layout::Rect;

use super::{App, Question};
use crate::core::diag::Severity;
use crate::core::topology::Origin;
use crate::tui::layout;
use crate::tui::rows::RowKey;

impl App {
    pub(super) fn select_key(&mut self, key: RowKey) -> bool {
        match self.rows.iter().position(|r| r.key == key) {
            Some(i) => {
                self.selected = i;
                true
            }
            None => false,
        }
    }

    /// Selects the row of the device with `origin`, unfolding what hides it.
    pub fn select_origin(&mut self, origin: Origin) {
        if self.select_key(RowKey::Device(origin)) {
            self.follow();
            return;
        }
        self.folded.clear();
        self.rebuild_rows();
        self.select_key(RowKey::Device(origin));
        self.follow();
    }

    /// Rows the tree pane shows at once.
    pub fn page(&self) -> usize {
        let a = layout::areas(Rect::new(0, 0, self.size.0, self.size.1), &self.view());
        a.tree.height.saturating_sub(2).max(1) as usize
    }

    /// Keeps the selection in view.
    pub(super) fn follow(&mut self) {
        let page = self.page();
        if self.selected < self.scroll {
            self.scroll = self.selected;
        } else if self.selected >= self.scroll + page {
            self.scroll = self.selected + 1 - page;
        }
        let max = self.rows.len().saturating_sub(page);
        self.scroll = self.scroll.min(max);
    }

    pub(super) fn go(&mut self, to: isize) {
        let n = self.rows.len() as isize;
        let before = self.selected;
        self.selected = to.clamp(0, (n - 1).max(0)) as usize;
        if self.selected != before {
            self.details_scroll = 0;
        }
        self.follow();
    }

    pub(super) fn selected_device(&self) -> Option<usize> {
        self.row().and_then(|r| r.device)
    }

    pub(super) fn collapse(&mut self) {
        let Some(r) = self.row().cloned() else {
            return;
        };
        if r.fold == Some(true) {
            self.folded.insert(r.key);
            self.rebuild_rows();
        } else if let Some(p) = r.parent {
            self.go(p as isize);
        }
    }

    pub(super) fn expand(&mut self) {
        let Some(r) = self.row().cloned() else {
            return;
        };
        match r.fold {
            Some(false) => {
                self.folded.remove(&r.key);
                self.rebuild_rows();
            }
            Some(true) if self.rows.get(self.selected + 1).is_some() => {
                self.go(self.selected as isize + 1);
            }
            _ => {}
        }
    }

    pub(super) fn toggle(&mut self) {
        let Some(r) = self.row().cloned() else {
            return;
        };
        if r.fold.is_some() {
            if !self.folded.remove(&r.key) {
                self.folded.insert(r.key);
            }
            self.rebuild_rows();
        }
    }

    pub(super) fn next_problem(&mut self, dir: isize) {
        let n = self.rows.len() as isize;
        for k in 1..=n {
            let i = (self.selected as isize + dir * k).rem_euclid(n.max(1));
            if self.rows[i as usize].severity.is_some() {
                self.go(i);
                return;
            }
        }
        // A problem on a folded row: unfold everything and try again.
        if !self.folded.is_empty() && self.derived.severity.keys().next().is_some() {
            self.folded.clear();
            self.rebuild_rows();
            self.next_problem(dir);
            return;
        }
        self.say(Severity::Info, "no row has a diagnostic");
    }

    pub(super) fn search_next(&mut self) {
        if self.search.is_empty() {
            self.prompt("search", "", Question::Search);
            return;
        }
        let q = self.search.to_lowercase();
        let n = self.rows.len();
        for k in 1..=n {
            let i = (self.selected + k) % n;
            let r = &self.rows[i];
            let hay = format!("{} {} {}", r.addr.as_deref().unwrap_or(""), r.label, r.note)
                .to_lowercase();
            if hay.contains(&q) {
                self.go(i as isize);
                return;
            }
        }
        self.say(Severity::Warning, format!("'{}' not found", self.search));
    }
}
