//! What the panes read: a read-only view of the designer's state, built by
//! [`App::view`]. The panes draw from it and cannot call the designer's methods, so a
//! pane can neither edit the guest nor open a popup.

use super::{App, Derived, Pane, Status};
use crate::core::address::PciAddr;
use crate::core::analyses;
use crate::core::topology::{Origin, Topology};
use crate::host::platform::Target;
use crate::tui::commands::Scope;
use crate::tui::rows::Row;
use crate::tui::session::Session;
use crate::tui::theme::Theme;

/// The designer as the panes see it.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    /// The analyses of the current topology.
    pub derived: &'a Derived,
    /// The visible rows.
    pub rows: &'a [Row],
    /// Selected row.
    pub selected: usize,
    /// First visible row.
    pub scroll: usize,
    /// The colours.
    pub theme: &'a Theme,
    /// ASCII connectors.
    pub ascii: bool,
    /// The right pane shows the IO plan rather than the details.
    pub show_io: bool,
    /// A running libvirt domain against its next boot.
    pub running: Option<&'a crate::running::Report>,
    /// The right pane shows the running guest against its next boot.
    pub show_running: bool,
    /// The tree shows the file as written rather than as libvirt will define it.
    pub as_written: bool,
    /// The device being moved by cut and paste, with its legal targets.
    pub cut: Option<&'a (Origin, Vec<PciAddr>)>,
    /// The last message for the user.
    pub status: Option<&'a Status>,
    /// The libvirt and QEMU releases the analyses predict, and why.
    pub target: &'a Target,
    /// The pane keys and the wheel scroll.
    pub focus: Pane,
    /// First line shown in the details pane.
    pub details_scroll: usize,
    /// The diagnostic selected in the diagnostics pane (by position in the list).
    pub diag_selected: usize,
    /// The scope keys are looked up in (the key bar shows its commands).
    pub scope: Scope,
    session: &'a Session,
    context: &'a analyses::Context,
}

impl<'a> View<'a> {
    /// The topology being edited.
    pub fn topology(&self) -> &'a Topology {
        self.session.topology()
    }

    /// The guest has unsaved changes.
    pub fn dirty(&self) -> bool {
        self.session.dirty()
    }

    /// The file (or example, or libvirt domain) as the title bar names it.
    pub fn display(&self) -> &'a str {
        &self.session.display
    }

    /// The analysis context (guest OS, firmware).
    pub fn context(&self) -> &'a analyses::Context {
        self.context
    }

    /// The selected row.
    pub fn row(&self) -> Option<&'a Row> {
        self.rows.get(self.selected)
    }
}

impl App {
    /// What the panes read.
    pub fn view(&self) -> View<'_> {
        View {
            derived: &self.derived,
            rows: &self.rows,
            selected: self.selected,
            scroll: self.scroll,
            theme: &self.theme,
            ascii: self.ascii,
            show_io: self.show_io,
            running: self.running.as_ref(),
            show_running: self.show_running && self.running.is_some(),
            as_written: self.as_written,
            cut: self.cut.as_ref(),
            status: self.status.as_ref(),
            target: &self.target,
            focus: self.focus,
            details_scroll: self.details_scroll,
            diag_selected: self.diag_selected,
            scope: self.scope(),
            session: &self.session,
            context: &self.ctx,
        }
    }
}
