//! The designer's state and its update function: the session, the derived analyses and
//! rows, the selection, folds and popups; every key, click and palette entry arrives
//! as a [`Message`] and [`App::update`] sends it to its step. The steps live in the
//! child modules, one per seam: `input` (events), `navigate` (moving around),
//! `results` (the popups' answers), `actions` (edits), `files` (saving and the XML),
//! `help` (text views); `derived` is the view model built from the analyses. The event
//! loop ([`run_app`]) takes the backend and the event source as parameters, so tests
//! drive it with scripted keys.

use std::collections::HashSet;
use std::io;

use ratatui::Terminal;
use ratatui::backend::Backend;

use super::commands::{Keymap, Message, Scope};
use super::event::EventSource;
use super::layout;
use super::picker::Entry;
use super::popups::Confirm;
use super::rows::{self, Inputs, Row, RowKey};
use super::session::Session;
use super::theme::Theme;
use crate::core::address::PciAddr;
use crate::core::analyses;
use crate::core::diag::Severity;
use crate::core::edit::Op;
use crate::core::guest;
use crate::core::io_space;
use crate::core::topology::{Origin, Topology};

mod actions;
mod derived;
mod files;
mod help;
mod input;
mod navigate;
mod results;
mod view;

pub use derived::{Derived, ShownProblem};
pub use help::{counts, help_lines, keys_or_palette, severity_word};
use results::{Popup, Question};
pub use view::View;

/// How the designer starts.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Draw connectors in ASCII.
    pub ascii: bool,
    /// Use the monochrome theme.
    pub mono: bool,
    /// Guest OS, firmware, driver override and headroom for the analyses; what is not
    /// chosen comes from the domain.
    pub analysis: crate::context::Choices,
    /// The libvirt and QEMU releases to predict, and why (the command line's choice).
    pub target: crate::host::platform::Target,
}

/// The panes that take the keys and the wheel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    /// The tree.
    Tree,
    /// The details (or IO plan) pane.
    Details,
    /// The diagnostics list.
    Diagnostics,
}

/// A line for the status bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// How it reads.
    pub severity: Severity,
    /// The text.
    pub text: String,
}

/// The designer.
#[derive(Debug)]
pub struct App {
    /// The guest being edited.
    pub session: Session,
    ctx: analyses::Context,
    /// The analyses of the current topology.
    pub derived: Derived,
    /// The visible rows.
    pub rows: Vec<Row>,
    folded: HashSet<RowKey>,
    /// Selected row.
    pub selected: usize,
    /// First visible row.
    pub scroll: usize,
    /// Terminal size, for paging and mouse hit-testing.
    pub size: (u16, u16),
    popups: Vec<Popup>,
    /// The last message for the user.
    pub status: Option<Status>,
    /// The colours.
    pub theme: Theme,
    /// ASCII connectors.
    pub ascii: bool,
    /// The right pane shows the IO plan rather than the details.
    pub show_io: bool,
    /// The tree shows the guest's addresses and NIC names next to libvirt's.
    pub show_guest: bool,
    /// The device being moved by cut and paste, with its legal targets.
    pub cut: Option<(Origin, Vec<PciAddr>)>,
    search: String,
    /// The loop should end.
    pub quit: bool,
    /// "save and quit" was chosen: quit once a save succeeds (after save as, or an
    /// answer about a file changed on disk).
    quit_after_save: bool,
    /// The pane keys and the wheel scroll.
    pub focus: Pane,
    /// First line shown in the details pane.
    pub details_scroll: usize,
    /// The diagnostic selected in the diagnostics pane (by position in the list).
    pub diag_selected: usize,
    /// Every message of the status line, oldest first.
    pub messages: Vec<Status>,
    /// The tree shows the file as written rather than as libvirt will define it.
    pub as_written: bool,
    keymap: Keymap,
    drag_from: Option<usize>,
    /// What the analyses were told to assume, for a guest opened from a start popup.
    choices: crate::context::Choices,
    /// Set when the guest came from libvirt: saving defines it there.
    libvirt: Option<super::libvirt_save::Target>,
    /// A running libvirt domain: what differs between its live configuration and the
    /// edited next-boot definition (recomputed with the analyses).
    pub running: Option<crate::running::Report>,
    /// The right pane shows the running guest against its next boot.
    pub show_running: bool,
    /// The libvirt and QEMU releases the analyses predict, and why.
    pub target: crate::host::platform::Target,
    /// A drag left its first row: the dragged device is cut and its legal places are
    /// highlighted until the button is released.
    dragging: bool,
}

impl App {
    /// A designer on `session`.
    pub fn new(mut session: Session, opts: &Options) -> App {
        let choices = &opts.analysis;
        session.set_platform(opts.target.platform);
        // A bad value in the domain's metadata must not keep the designer closed: the
        // analyses run without it and the status line says why.
        let (ctx, problem) = match crate::context::context(session.document(), choices) {
            Ok(c) => (c, None),
            Err(e) => (
                analyses::Context {
                    firmware: choices.firmware.as_deref().and_then(io_space::firmware),
                    ..analyses::Context::default()
                },
                Some(e.to_string()),
            ),
        };
        let derived = Derived::new(session.topology(), &ctx);
        let mut app = App {
            session,
            ctx,
            derived,
            rows: Vec::new(),
            folded: HashSet::new(),
            selected: 0,
            scroll: 0,
            size: (80, 24),
            popups: Vec::new(),
            status: None,
            theme: if opts.mono {
                Theme::MONO
            } else {
                Theme::from_env()
            },
            ascii: opts.ascii,
            show_io: false,
            show_guest: false,
            cut: None,
            search: String::new(),
            quit: false,
            quit_after_save: false,
            focus: Pane::Tree,
            details_scroll: 0,
            diag_selected: 0,
            messages: Vec::new(),
            as_written: false,
            keymap: Keymap::new(),
            drag_from: None,
            choices: choices.clone(),
            libvirt: None,
            running: None,
            show_running: false,
            target: opts.target.clone(),
            dragging: false,
        };
        app.rebuild_rows();
        if let Some(e) = problem {
            app.say(Severity::Warning, e);
        }
        app
    }

    /// Offers the bundled examples, each with what it shows (the start without a file).
    pub fn offer_examples(&mut self) {
        let entries = crate::examples::EXAMPLES
            .iter()
            .map(|e| Entry::new(e.name.trim_end_matches(".xml"), e.description()))
            .collect();
        self.pick(
            "bundled examples: what each one shows (Esc keeps the first)",
            entries,
            Question::Example,
        );
    }

    /// Offers the kinds of new guest (the start on a path that does not exist).
    pub fn offer_new_guest(&mut self, name: &str) {
        let entries = super::new_guest::KINDS
            .iter()
            .map(|k| Entry::new(k.label(), k.summary))
            .collect();
        self.say(
            Severity::Info,
            format!(
                "{} does not exist yet: a new guest, saved there with w",
                self.session.display
            ),
        );
        self.pick(
            format!("new guest {name}: architecture and machine"),
            entries,
            Question::NewGuest { name: name.into() },
        );
    }

    /// The topology being edited.
    pub fn topology(&self) -> &Topology {
        self.session.topology()
    }

    /// The analysis context (guest OS, firmware).
    pub fn context(&self) -> &analyses::Context {
        &self.ctx
    }

    /// The selected row.
    pub fn row(&self) -> Option<&Row> {
        self.rows.get(self.selected)
    }

    /// The scope keys are looked up in: the top popup's, else the main screen's.
    pub fn scope(&self) -> Scope {
        self.popups.last().map_or(Scope::Main, Popup::scope)
    }

    fn say(&mut self, severity: Severity, text: impl Into<String>) {
        let status = Status {
            severity,
            text: text.into(),
        };
        self.messages.push(status.clone());
        // A long session keeps the recent ones.
        if self.messages.len() > 200 {
            self.messages.remove(0);
        }
        self.status = Some(status);
    }

    /// Re-runs the analyses (after an edit or a change of guest OS or firmware).
    pub fn refresh(&mut self) {
        self.derived = Derived::new(self.session.topology(), &self.ctx);
        self.compare_running();
        self.rebuild_rows();
    }

    /// For a running libvirt domain: the live configuration against the guest as it
    /// will be defined (the edit included), or as written when libvirt would refuse it.
    fn compare_running(&mut self) {
        let Some(live) = self.libvirt.as_ref().and_then(|t| t.live.as_ref()) else {
            self.running = None;
            return;
        };
        let a = &self.derived.analysis;
        let next = if a.refused.is_none() {
            &a.defined
        } else {
            self.session.topology()
        };
        self.running = Some(live.against(next));
    }

    fn rebuild_rows(&mut self) {
        let key = self.row().map(|r| r.key);
        let d = &self.derived;
        let no_placed = HashSet::new();
        let defined = !self.as_written && d.analysis.refused.is_none();
        self.rows = rows::build(&Inputs {
            view: if defined { &d.defined_view } else { &d.view },
            index: if defined { &d.defined_index } else { &d.index },
            modes: &d.modes,
            windows: &d.windows,
            severity: &d.severity,
            folded: &self.folded,
            ascii: self.ascii,
            added_from: if defined {
                self.session.topology().devices.len()
            } else {
                usize::MAX
            },
            placed: if defined { &d.placed } else { &no_placed },
        });
        if self.show_guest {
            self.annotate_guest();
        }
        self.mark_running();
        if let Some(k) = key {
            self.select_key(k);
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.follow();
    }

    /// Runs one message.
    pub fn update(&mut self, msg: Message) {
        if !self.popups.is_empty() {
            self.popup_update(msg);
            return;
        }
        self.status = None;
        if self.focus != Pane::Tree && self.side_pane_update(msg) {
            return;
        }
        let page = self.page() as isize;
        let sel = self.selected as isize;
        match msg {
            Message::Up => self.go(sel - 1),
            Message::Down => self.go(sel + 1),
            Message::PageUp => self.go(sel - page),
            Message::PageDown => self.go(sel + page),
            Message::Top => self.go(0),
            Message::Bottom => self.go(self.rows.len() as isize),
            Message::FocusNext => self.focus_next(),
            Message::Explain => self.explain(),
            Message::Glossary => self.glossary(),
            Message::DiagnosticsList => self.diagnostics_list(),
            Message::Messages => self.messages_view(),
            Message::ToggleDefined => self.toggle_defined(),
            Message::Collapse => self.collapse(),
            Message::Expand => self.expand(),
            Message::Toggle => self.toggle(),
            Message::NextProblem => self.next_problem(1),
            Message::PrevProblem => self.next_problem(-1),
            Message::Search => self.prompt("search", "", Question::Search),
            Message::SearchNext => self.search_next(),
            Message::Add => self.add(),
            Message::Delete => self.delete(),
            Message::Move => self.move_pick(),
            Message::Cut => self.cut(),
            Message::Paste => self.paste(),
            Message::SetModel => self.model_pick(),
            Message::Hotplug => self.hotplug(),
            Message::AutoAssign => self.perform(Op::AutoAssign),
            Message::Fix => self.fix(),
            Message::Convert => self.convert_pick(),
            Message::GuestOs => self.os_pick(),
            Message::Firmware => self.firmware_pick(),
            Message::Target => self.target_pick(),
            Message::ToggleIo => {
                self.show_io = !self.show_io;
                self.show_running = false;
            }
            Message::ToggleRunning => self.toggle_running(),
            Message::ToggleGuest => {
                self.show_guest = !self.show_guest;
                self.rebuild_rows();
            }
            Message::ShowXml => self.show_xml(),
            Message::EditXml => self.edit_xml(),
            Message::ToggleAscii => {
                self.ascii = !self.ascii;
                self.rebuild_rows();
            }
            Message::Undo => self.undo(),
            Message::Redo => self.redo(),
            Message::Save => self.save(),
            Message::SaveAs => self.save_as(),
            Message::Diff => self.diff(),
            Message::ExportTree => self.export_tree(),
            Message::Help => self.help(),
            Message::Palette => self.palette(),
            Message::Quit => self.ask_quit(),
            Message::Cancel => {
                if self.cut.take().is_some() {
                    self.say(Severity::Info, "move cancelled");
                }
            }
            Message::ListUp
            | Message::ListDown
            | Message::ListPageUp
            | Message::ListPageDown
            | Message::Accept
            | Message::Backspace
            | Message::Yes
            | Message::No
            | Message::Reload
            | Message::Keep => {}
        }
    }

    /// A focused side pane takes the moving keys; Enter on a diagnostic goes to its
    /// row. Says whether the pane took `msg`.
    fn side_pane_update(&mut self, msg: Message) -> bool {
        let page = self.page() as isize;
        let step = match msg {
            Message::Up => Some(-1),
            Message::Down => Some(1),
            Message::PageUp => Some(-page),
            Message::PageDown => Some(page),
            Message::Top => Some(isize::MIN / 2),
            Message::Bottom => Some(isize::MAX / 2),
            _ => None,
        };
        if let Some(step) = step {
            self.scroll_pane(self.focus, step);
            return true;
        }
        if msg == Message::Toggle && self.focus == Pane::Diagnostics {
            if let Some(o) = self
                .derived
                .problems
                .get(self.diag_selected)
                .and_then(|p| p.origin)
            {
                self.select_origin(o);
                self.focus = Pane::Tree;
            }
            return true;
        }
        false
    }

    /// Tab: the tree, the side pane, the diagnostics, round.
    fn focus_next(&mut self) {
        self.focus = match self.focus {
            Pane::Tree => Pane::Details,
            Pane::Details => Pane::Diagnostics,
            Pane::Diagnostics => Pane::Tree,
        };
    }

    /// `v`: the tree shows the file as written, or the guest as libvirt will define it.
    fn toggle_defined(&mut self) {
        self.as_written = !self.as_written;
        self.rebuild_rows();
        self.say(
            Severity::Info,
            if self.as_written {
                "the tree shows the file as written (v: as libvirt will define it)"
            } else {
                "the tree shows the guest as libvirt will define it (v: the file as written)"
            },
        );
    }

    fn undo(&mut self) {
        match self.session.history.undo() {
            Some(l) => {
                self.refresh();
                self.say(Severity::Info, format!("undid: {l}"));
            }
            None => self.say(Severity::Info, "nothing to undo"),
        }
    }

    fn redo(&mut self) {
        match self.session.history.redo() {
            Some(l) => {
                self.refresh();
                self.say(Severity::Info, format!("redid: {l}"));
            }
            None => self.say(Severity::Info, "nothing to redo"),
        }
    }

    /// Quits, or asks first when there are unsaved changes.
    fn ask_quit(&mut self) {
        if self.session.dirty() {
            self.popups.push(Popup::Confirm(
                Confirm {
                    title: "unsaved changes".into(),
                    text: format!(
                        "{} has unsaved changes ({}).\nQuit without saving them?",
                        self.session.display,
                        self.session.history.label()
                    ),
                    keys: "y quit without saving · w save and quit · n/Esc stay".into(),
                },
                Question::Quit,
            ));
        } else {
            self.quit = true;
        }
    }

    /// `R`: the right pane shows the running guest against its next boot, or the
    /// details again.
    fn toggle_running(&mut self) {
        if self.running.is_none() {
            self.say(
                Severity::Info,
                "R: only for a running libvirt domain (virt-pci -c URI DOMAIN)",
            );
            return;
        }
        self.show_running = !self.show_running;
        self.show_io = false;
    }

    /// Marks the rows of devices that differ from the running guest: `+` not in it
    /// (comes at the next boot), `~` changed at the next boot. Devices only the
    /// running guest has are not in the tree; the `R` pane lists them.
    fn mark_running(&mut self) {
        use crate::core::live::Side;
        let Some(r) = &self.running else { return };
        for d in r.list() {
            let (Some(i), Side::NextBootOnly | Side::Changed) = (d.next_device, d.side) else {
                continue;
            };
            for row in self.rows.iter_mut().filter(|row| row.device == Some(i)) {
                row.label = format!("{} {}", crate::render::live::mark(d.side), row.label);
            }
        }
    }

    /// Puts the guest's address (and a NIC's name, a bridge's bus) in front of each
    /// row's label: `→guest 03:01.0 ens1`.
    fn annotate_guest(&mut self) {
        let d = &self.derived.analysis;
        if d.refused.is_some() {
            return;
        }
        let v = guest::guest_view(&d.defined, d.firmware.kind);
        for r in &mut self.rows {
            let Some(f) = r.device.and_then(|i| v.of_device(i)) else {
                continue;
            };
            let mut g = format!("guest {}", f.guest.short());
            if let Some((sec, _)) = f.buses {
                g.push_str(&format!(" bus {sec:02x}"));
            }
            if let Some(n) = &f.nic {
                g.push(' ');
                g.push_str(&n.default);
            }
            // In front of the label: at 80 columns the note is the first thing cut.
            r.label = format!("→{g} {}", r.label);
        }
    }

    /// Draws the whole screen.
    pub fn render(&self, f: &mut ratatui::Frame<'_>) {
        let view = self.view();
        let a = layout::areas(f.area(), &view);
        super::title::render(f, a.title, &view);
        super::tree::render(f, a.tree, &view);
        if view.show_running {
            super::live_pane::render(f, a.side, &view);
        } else if view.show_io {
            super::io_pane::render(f, a.side, &view);
        } else {
            super::details::render(f, a.side, &view);
        }
        super::diagnostics::render(f, a.diags, &view);
        super::io_pane::render_gauge(f, a.gauge, &view);
        super::keybar::render(f, a.keybar, &view);
        for p in &self.popups {
            match p {
                Popup::Pick(p, _) => p.render(f, a.screen, &self.theme),
                Popup::Confirm(c, _) => c.render(f, a.screen, &self.theme),
                Popup::Prompt(p, _) => p.render(f, a.screen, &self.theme),
                Popup::Text(t) => t.render(f, a.screen, &self.theme),
                Popup::Editor(e) => e.render(f, a.screen, &self.theme),
                Popup::Preview(t, _) => t.render(f, a.screen, &self.theme),
                Popup::Conflict(c) => c.render(f, a.screen, &self.theme),
            }
        }
    }
}

/// The event loop: draw, wait for an event, handle it; until the app quits or the
/// events run out. The backend and the event source are parameters, so that tests run
/// the real loop on a `TestBackend` with scripted keys.
pub fn run_app<B: Backend, E: EventSource>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    events: &mut E,
) -> io::Result<()> {
    let to_io = |e: B::Error| io::Error::other(e.to_string());
    if let Ok(s) = terminal.size() {
        app.size = (s.width, s.height);
    }
    app.follow();
    terminal.draw(|f| app.render(f)).map_err(to_io)?;
    while !app.quit {
        let Some(ev) = events.next_event()? else {
            break;
        };
        app.handle_event(&ev);
        if app.quit {
            break;
        }
        // Back from a suspension: the screen was cleared when the terminal was taken
        // again; forget the last frame so that the next one is drawn whole (without
        // `clear`, which asks the terminal for the cursor position).
        if super::terminal::take_redraw() {
            terminal.swap_buffers();
        }
        terminal.draw(|f| app.render(f)).map_err(to_io)?;
    }
    Ok(())
}
