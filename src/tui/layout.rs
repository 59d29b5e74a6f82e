//! Where each pane goes, computed from the screen size alone so that drawing and
//! mouse hit-testing agree: title bar, tree and side pane, diagnostics, IO gauge and
//! key bar. Wide screens give the tree more room; 80x24 keeps every pane.

use ratatui::layout::{Constraint, Layout, Rect};

use super::app::View;

/// The panes of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    /// The whole screen (popups centre on it).
    pub screen: Rect,
    /// Title bar.
    pub title: Rect,
    /// Tree pane (with its border).
    pub tree: Rect,
    /// Details or IO pane.
    pub side: Rect,
    /// Diagnostics list (with its border).
    pub diags: Rect,
    /// IO gauge and status line.
    pub gauge: Rect,
    /// Key bar.
    pub keybar: Rect,
}

/// Lays the screen out.
pub fn areas(screen: Rect, view: &View) -> Areas {
    let n = view.derived.problems.len() as u16;
    let diag_h = if screen.height >= 30 { 8 } else { 5 }.min(n.max(1) + 2);
    let [title, body, diags, gauge, keybar] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(diag_h),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(screen);
    let tree_share = if screen.width >= 160 { 60 } else { 56 };
    let [tree, side] = Layout::horizontal([
        Constraint::Percentage(tree_share),
        Constraint::Percentage(100 - tree_share),
    ])
    .areas(body);
    Areas {
        screen,
        title,
        tree,
        side,
        diags,
        gauge,
        keybar,
    }
}

/// The diagnostic listed at screen position (`x`, `y`), if any.
pub fn diagnostic_at(a: &Areas, x: u16, y: u16, view: &View) -> Option<usize> {
    let d = a.diags;
    if x <= d.x || x >= d.x + d.width.saturating_sub(1) || y <= d.y {
        return None;
    }
    let rows = d.height.saturating_sub(2) as usize;
    let k = (y - d.y - 1) as usize + super::diagnostics::first_shown(view, rows);
    (y < d.y + d.height.saturating_sub(1) && k < view.derived.problems.len()).then_some(k)
}
