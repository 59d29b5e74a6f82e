//! The designer's state and its update function: the session, the derived analyses and
//! rows, the selection, folds and popups; every key, click and palette entry arrives
//! as a [`Message`] and is handled here. The event loop ([`run_app`]) takes the backend
//! and the event source as parameters, so tests drive it with scripted keys.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::PathBuf;

use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;

use super::commands::{COMMANDS, Keymap, Message, Scope, keys_text};
use super::event::{EventSource, typed_char};
use super::picker::{Entry, Picker};
use super::popups::{Confirm, Prompt, TextView, Tone};
use super::rows::{self, Inputs, Row, RowKey};
use super::save_popup::Conflict;
use super::session::{SaveMode, SaveProblem, Session};
use super::theme::Theme;
use super::xml_editor::XmlEditor;
use super::{diff, layout};
use crate::core::address::PciAddr;
use crate::core::analyses::{self, Analysis, Fix};
use crate::core::diag::{Diagnostic, Severity};
use crate::core::edit::{self, CONTROLLER_MODELS, Op, Placement, TEMPLATES};
use crate::core::guest;
use crate::core::guest_os::{self, GuestOs, IdSource};
use crate::core::io_space::{self, Firmware};
use crate::core::pci::PciModel;
use crate::core::topology::{Origin, Topology};
use crate::core::view::{TreeView, tree_view};
use crate::core::virtio::Mode;

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

/// One diagnostic as the designer lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The diagnostic.
    pub diag: Diagnostic,
    /// The fix the core can apply.
    pub fix: Option<Fix>,
    /// The device it is about.
    pub origin: Option<Origin>,
}

/// What the analyses say about the current topology, and the tree built from it.
#[derive(Clone, Debug)]
pub struct Derived {
    /// The live analyses.
    pub analysis: Analysis,
    /// The tree view.
    pub view: TreeView,
    /// Device index by origin.
    pub index: HashMap<Origin, usize>,
    /// Virtio mode by device index.
    pub modes: HashMap<usize, Mode>,
    /// IO window by controller index.
    pub windows: HashMap<u32, u32>,
    /// Worst severity by device index.
    pub severity: HashMap<usize, Severity>,
    /// Every diagnostic: errors first (libvirt's refusal before all), then warnings and
    /// notes, each in tree order.
    pub problems: Vec<Problem>,
    /// The tree of the guest as libvirt will define it.
    pub defined_view: TreeView,
    /// Device index in the defined guest by origin (its first devices are the file's).
    pub defined_index: HashMap<Origin, usize>,
    /// Devices written without a PCI address, which the defined guest has placed.
    pub placed: HashSet<usize>,
}

/// The position of every device in the tree, top to bottom.
fn tree_order(view: &TreeView) -> HashMap<Origin, usize> {
    fn bus(b: &crate::core::view::BusNode, out: &mut HashMap<Origin, usize>) {
        if let Some(o) = b.origin {
            let n = out.len();
            out.entry(o).or_insert(n);
        }
        for s in &b.slots {
            if let Some(d) = &s.device {
                let n = out.len();
                out.entry(d.origin).or_insert(n);
                if let Some(b) = &d.bus {
                    bus(b, out);
                }
            }
        }
    }
    let mut out = HashMap::new();
    if let Some(r) = &view.root {
        bus(r, &mut out);
    }
    for d in view
        .virtio_mmio
        .iter()
        .chain(&view.unassigned)
        .chain(view.dangling.iter().map(|x| &x.device))
    {
        let n = out.len();
        out.entry(d.origin).or_insert(n);
    }
    out
}

impl Derived {
    /// Runs every analysis on `t`.
    pub fn new(t: &Topology, ctx: &analyses::Context) -> Derived {
        let analysis = analyses::analyse(t, ctx);
        let view = tree_view(t);
        let index = t
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| (d.origin, i))
            .collect();
        let n = t.devices.len();
        let modes = analysis
            .virtio
            .iter()
            .filter(|v| v.device < n)
            .map(|v| (v.device, v.mode))
            .collect();
        let windows = analysis
            .io
            .windows
            .iter()
            .map(|w| (w.index, w.size))
            .collect();
        let mut problems: Vec<Problem> = Vec::new();
        let origin = |d: &Diagnostic| d.device.and_then(|i| t.devices.get(i)).map(|d| d.origin);
        if let Some(d) = &analysis.refused {
            problems.push(Problem {
                origin: origin(d),
                diag: d.clone(),
                fix: None,
            });
        }
        for f in &analysis.findings {
            problems.push(Problem {
                origin: origin(&f.diag),
                diag: f.diag.clone(),
                fix: f.fix.clone(),
            });
        }
        // Errors first, so that the only error is never below the warnings; within a
        // severity, top to bottom as the tree shows them (`]` walks the same way).
        let order = tree_order(&view);
        problems.sort_by_key(|p| {
            (
                p.diag.severity,
                p.origin.and_then(|o| order.get(&o).copied()),
            )
        });
        let defined_view = tree_view(&analysis.defined);
        let defined_index = analysis
            .defined
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| (d.origin, i))
            .collect();
        let placed = t
            .devices
            .iter()
            .enumerate()
            .filter(|(i, d)| {
                d.pci_addr().is_none()
                    && analysis
                        .defined
                        .devices
                        .get(*i)
                        .is_some_and(|x| x.pci_addr().is_some())
            })
            .map(|(i, _)| i)
            .collect();
        let mut severity: HashMap<usize, Severity> = HashMap::new();
        for p in &problems {
            if let Some(i) = p.diag.device.filter(|&i| i < n) {
                let s = severity.entry(i).or_insert(p.diag.severity);
                *s = (*s).min(p.diag.severity);
            }
        }
        Derived {
            analysis,
            view,
            index,
            modes,
            windows,
            severity,
            problems,
            defined_view,
            defined_index,
            placed,
        }
    }
}

/// Something a new device or controller will be.
#[derive(Clone, Debug, PartialEq, Eq)]
enum NewThing {
    Device { template: usize, model: String },
    Controller { model: PciModel, downstream: u8 },
}

/// What accepting a popup does.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pending {
    Palette,
    Example,
    NewGuest {
        name: String,
    },
    AddWhat,
    AddModel {
        template: usize,
    },
    SwitchPorts,
    Place {
        thing: NewThing,
        places: Vec<Placement>,
    },
    MoveTo {
        device: Origin,
        targets: Vec<PciAddr>,
    },
    Model {
        device: Origin,
        models: Vec<String>,
    },
    Os {
        ids: Vec<Option<String>>,
    },
    Firmware {
        ids: Vec<Option<&'static str>>,
    },
    Target {
        platforms: Vec<crate::core::versions::Platform>,
    },
    Delete {
        device: Origin,
    },
    Quit,
    DefineLibvirt,
    Search,
    SaveAs,
    /// Save although the file has no write permission (to the session's file, or `to`).
    ForceSave {
        to: Option<PathBuf>,
    },
    ApplyXml,
    DiscardXml,
    /// Which conversion (`convert`'s picker).
    ConvertTo {
        targets: Vec<crate::core::convert::To>,
    },
    /// Apply the previewed conversion.
    Convert {
        to: crate::core::convert::To,
    },
    /// `m` on a virtio device of a `virt` guest: entry 0 is virtio-mmio.
    MoveOrMmio {
        device: Origin,
        targets: Vec<PciAddr>,
    },
}

/// A popup and what its answer means.
#[derive(Clone, Debug)]
enum Popup {
    Pick(Picker, Pending),
    Confirm(Confirm, Pending),
    Prompt(Prompt, Pending),
    Text(TextView),
    Editor(Box<XmlEditor>),
    /// A scrollable text whose Enter means yes (the convert preview).
    Preview(TextView, Pending),
    /// The file changed on disk since it was read.
    Conflict(Conflict),
}

impl Popup {
    fn scope(&self) -> Scope {
        match self {
            Popup::Pick(..) | Popup::Text(_) | Popup::Preview(..) => Scope::List,
            Popup::Confirm(..) | Popup::Conflict(_) => Scope::Confirm,
            Popup::Prompt(..) => Scope::Prompt,
            Popup::Editor(_) => Scope::Editor,
        }
    }
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
            target: opts.target.clone(),
            dragging: false,
        };
        app.rebuild_rows();
        if let Some(e) = problem {
            app.say(Severity::Warning, e);
        }
        app
    }

    /// Replaces the guest (a start popup chose another one); the view settings stay.
    fn replace_session(&mut self, session: Session) {
        let opts = Options {
            ascii: self.ascii,
            mono: false,
            analysis: self.choices.clone(),
            target: self.target.clone(),
        };
        let mut next = App::new(session, &opts);
        next.theme = self.theme;
        next.size = self.size;
        *self = next;
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
            Pending::Example,
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
            Pending::NewGuest { name: name.into() },
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
        self.rebuild_rows();
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
        if let Some(k) = key {
            self.select_key(k);
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.follow();
    }

    fn select_key(&mut self, key: RowKey) -> bool {
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
        let a = layout::areas(Rect::new(0, 0, self.size.0, self.size.1), self);
        a.tree.height.saturating_sub(2).max(1) as usize
    }

    /// Keeps the selection in view.
    fn follow(&mut self) {
        let page = self.page();
        if self.selected < self.scroll {
            self.scroll = self.selected;
        } else if self.selected >= self.scroll + page {
            self.scroll = self.selected + 1 - page;
        }
        let max = self.rows.len().saturating_sub(page);
        self.scroll = self.scroll.min(max);
    }

    fn go(&mut self, to: isize) {
        let n = self.rows.len() as isize;
        let before = self.selected;
        self.selected = to.clamp(0, (n - 1).max(0)) as usize;
        if self.selected != before {
            self.details_scroll = 0;
        }
        self.follow();
    }

    /// Scrolls a side pane by `delta` lines (the diagnostics pane moves its selection).
    fn scroll_pane(&mut self, pane: Pane, delta: isize) {
        match pane {
            Pane::Tree => {}
            Pane::Details => {
                let n = if self.show_io {
                    super::io_pane::lines(self).len()
                } else {
                    super::details::lines(self).len()
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

    /// The pane under screen position (`x`, `y`).
    fn pane_at(&self, x: u16, y: u16) -> Option<Pane> {
        let a = layout::areas(Rect::new(0, 0, self.size.0, self.size.1), self);
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

    fn handle_key(&mut self, k: KeyEvent) {
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

    fn type_char(&mut self, c: char) {
        match self.popups.last_mut() {
            Some(Popup::Pick(p, _)) => p.type_char(c),
            Some(Popup::Prompt(p, _)) => p.input.push(c),
            _ => {}
        }
    }

    fn handle_mouse(&mut self, m: MouseEvent) {
        if !self.popups.is_empty() {
            match m.kind {
                MouseEventKind::ScrollUp => self.update(Message::ListUp),
                MouseEventKind::ScrollDown => self.update(Message::ListDown),
                _ => {}
            }
            return;
        }
        let a = layout::areas(Rect::new(0, 0, self.size.0, self.size.1), self);
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
                } else if let Some(i) = layout::diagnostic_at(&a, m.column, m.row, self) {
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
    fn start_drag(&mut self, from: usize) {
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

    /// Runs one message.
    pub fn update(&mut self, msg: Message) {
        if !self.popups.is_empty() {
            self.popup_update(msg);
            return;
        }
        self.status = None;
        let page = self.page() as isize;
        let sel = self.selected as isize;
        // A focused side pane takes the moving keys; Enter on a diagnostic goes to
        // its row.
        if self.focus != Pane::Tree {
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
                return;
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
                return;
            }
        }
        match msg {
            Message::Up => self.go(sel - 1),
            Message::Down => self.go(sel + 1),
            Message::PageUp => self.go(sel - page),
            Message::PageDown => self.go(sel + page),
            Message::Top => self.go(0),
            Message::Bottom => self.go(self.rows.len() as isize),
            Message::FocusNext => {
                self.focus = match self.focus {
                    Pane::Tree => Pane::Details,
                    Pane::Details => Pane::Diagnostics,
                    Pane::Diagnostics => Pane::Tree,
                };
            }
            Message::Explain => self.explain(),
            Message::Glossary => self.glossary(),
            Message::DiagnosticsList => self.diagnostics_list(),
            Message::Messages => self.messages_view(),
            Message::ToggleDefined => {
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
            Message::Collapse => self.collapse(),
            Message::Expand => self.expand(),
            Message::Toggle => self.toggle(),
            Message::NextProblem => self.next_problem(1),
            Message::PrevProblem => self.next_problem(-1),
            Message::Search => self.prompt("search", "", Pending::Search),
            Message::SearchNext => self.search_next(),
            Message::Add => self.add(),
            Message::Delete => self.delete(),
            Message::Move => self.move_pick(),
            Message::Cut => self.cut(),
            Message::Paste => self.paste(),
            Message::SetModel => self.model_pick(),
            Message::Hotplug => self.hotplug(),
            Message::AutoAssign => self.apply(Op::AutoAssign),
            Message::Fix => self.fix(),
            Message::Convert => self.convert_pick(),
            Message::GuestOs => self.os_pick(),
            Message::Firmware => self.firmware_pick(),
            Message::Target => self.target_pick(),
            Message::ToggleIo => self.show_io = !self.show_io,
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
            Message::Undo => match self.session.history.undo() {
                Some(l) => {
                    self.refresh();
                    self.say(Severity::Info, format!("undid: {l}"));
                }
                None => self.say(Severity::Info, "nothing to undo"),
            },
            Message::Redo => match self.session.history.redo() {
                Some(l) => {
                    self.refresh();
                    self.say(Severity::Info, format!("redid: {l}"));
                }
                None => self.say(Severity::Info, "nothing to redo"),
            },
            Message::Save => self.save(),
            Message::SaveAs => {
                let current = self
                    .session
                    .path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                self.prompt("save as", &current, Pending::SaveAs);
            }
            Message::Diff => self.diff(),
            Message::ExportTree => self.export_tree(),
            Message::Help => self.help(),
            Message::Palette => self.palette(),
            Message::Quit => {
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
                        Pending::Quit,
                    ));
                } else {
                    self.quit = true;
                }
            }
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
            | Message::Reload => {}
        }
    }

    fn popup_update(&mut self, msg: Message) {
        let page = (self.size.1 as isize - 6).max(1);
        let Some(top) = self.popups.last_mut() else {
            return;
        };
        match (top, msg) {
            (Popup::Pick(p, _), Message::ListUp) => p.step(-1),
            (Popup::Pick(p, _), Message::ListDown) => p.step(1),
            (Popup::Pick(p, _), Message::ListPageUp) => p.step(-page),
            (Popup::Pick(p, _), Message::ListPageDown) => p.step(page),
            (Popup::Pick(p, _), Message::Backspace) => p.backspace(),
            (Popup::Prompt(p, _), Message::Backspace) => {
                p.input.pop();
            }
            (Popup::Text(t), Message::ListUp) => t.step(-1),
            (Popup::Text(t), Message::ListDown) => t.step(1),
            (Popup::Text(t), Message::ListPageUp) => t.step(-page),
            (Popup::Text(t), Message::ListPageDown) => t.step(page),
            (Popup::Text(_), Message::Accept) => {
                self.popups.pop();
            }
            (Popup::Preview(t, _), Message::ListUp) => t.step(-1),
            (Popup::Preview(t, _), Message::ListDown) => t.step(1),
            (Popup::Preview(t, _), Message::ListPageUp) => t.step(-page),
            (Popup::Preview(t, _), Message::ListPageDown) => t.step(page),
            (Popup::Preview(_, pending), Message::Accept) => {
                let pending = pending.clone();
                self.popups.pop();
                self.confirmed(pending);
            }
            (Popup::Editor(e), Message::Undo) => {
                e.area.undo();
                e.recheck(&self.session);
            }
            (Popup::Editor(e), Message::Redo) => {
                e.area.redo();
                e.recheck(&self.session);
            }
            // Enter on an empty list says why nothing happens instead of closing.
            (Popup::Pick(p, _), Message::Accept) if p.chosen().is_none() => {
                p.note = Some(format!(
                    "nothing matches '{}': Backspace edits the filter, Esc closes",
                    p.filter
                ));
            }
            (Popup::Editor(e), Message::Accept) => match &e.checked {
                Ok(_) if !e.modified() => {
                    self.popups.pop();
                    self.say(Severity::Info, "the XML is unchanged");
                }
                Ok(edit) => {
                    let text = format!(
                        "Apply the edited XML ({})?\nlibvirt accepts the guest with it; u undoes it as one step.",
                        edit.label
                    );
                    self.popups.push(Popup::Confirm(
                        Confirm {
                            title: "apply XML edit".into(),
                            text,
                            keys: "y / Enter apply · n / Esc back to the editor".into(),
                        },
                        Pending::ApplyXml,
                    ));
                }
                Err(_) => e.refused = true,
            },
            (Popup::Editor(e), Message::Cancel) => {
                if e.modified() {
                    self.popups.push(Popup::Confirm(
                        Confirm {
                            title: "discard changes".into(),
                            text: "Close the editor and drop the changes to the XML?".into(),
                            keys: "y / Enter discard · n / Esc back to the editor".into(),
                        },
                        Pending::DiscardXml,
                    ));
                } else {
                    self.popups.pop();
                }
            }
            (Popup::Conflict(_), Message::Yes) => {
                self.popups.pop();
                self.save_to(
                    None,
                    SaveMode {
                        overwrite_changes: true,
                        force: false,
                    },
                );
            }
            (Popup::Conflict(_), Message::Reload) => {
                self.popups.pop();
                self.quit_after_save = false;
                match self.session.reload() {
                    Ok(()) => {
                        self.refresh();
                        self.say(
                            Severity::Info,
                            format!(
                                "reloaded {} from disk; your edits were dropped",
                                self.session.display
                            ),
                        );
                    }
                    Err(e) => self.say(Severity::Error, e),
                }
            }
            (Popup::Conflict(_), Message::SaveAs) => {
                self.popups.pop();
                let current = self
                    .session
                    .path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                self.prompt("save as", &current, Pending::SaveAs);
            }
            (_, Message::Cancel | Message::No) => {
                self.popups.pop();
                // Whatever the question was, the save it belonged to did not happen.
                self.quit_after_save = false;
            }
            (Popup::Pick(p, pending), Message::Accept) => {
                let chosen = p.chosen();
                let pending = pending.clone();
                self.popups.pop();
                if let Some(i) = chosen {
                    self.picked(pending, i);
                }
            }
            (Popup::Prompt(p, pending), Message::Accept) => {
                let input = p.input.clone();
                let pending = pending.clone();
                self.popups.pop();
                self.prompted(pending, input);
            }
            (Popup::Confirm(_, pending), Message::Yes) => {
                let pending = pending.clone();
                self.popups.pop();
                self.confirmed(pending);
            }
            (Popup::Confirm(_, Pending::Quit), Message::Save) => {
                self.popups.pop();
                self.quit_after_save = true;
                self.save();
            }
            _ => {}
        }
    }

    fn pick(&mut self, title: impl Into<String>, entries: Vec<Entry>, pending: Pending) {
        self.popups
            .push(Popup::Pick(Picker::new(title, entries), pending));
    }

    fn prompt(&mut self, title: &str, input: &str, pending: Pending) {
        self.popups.push(Popup::Prompt(
            Prompt {
                title: title.into(),
                input: input.into(),
            },
            pending,
        ));
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

    /// Applies an edit, re-runs the analyses, and follows the edited device.
    pub fn apply(&mut self, op: Op) {
        let focus = match &op {
            Op::Move { device, .. }
            | Op::SetModel { device, .. }
            | Op::SetHotplug { device, .. }
            | Op::ClearAddress { device } => Some(*device),
            _ => None,
        };
        let before: HashSet<Origin> = self.topology().devices.iter().map(|d| d.origin).collect();
        let prev = self.topology().clone();
        match self.session.history.apply(&op) {
            Ok(label) => {
                let label = label.to_string();
                // What the edit renames in the guest, said before it happens.
                let fw = self.derived.analysis.firmware.kind;
                let renames = guest::rename_warnings(&prev, self.topology(), fw);
                self.cut = None;
                self.refresh();
                let created = self
                    .topology()
                    .devices
                    .iter()
                    .rev()
                    .find(|d| !before.contains(&d.origin) && d.pci.is_none())
                    .or_else(|| {
                        self.topology()
                            .devices
                            .iter()
                            .find(|d| !before.contains(&d.origin))
                    })
                    .map(|d| d.origin);
                if let Some(o) = focus.or(created) {
                    self.select_origin(o);
                }
                match renames.first() {
                    Some(w) => {
                        let more = match renames.len() {
                            1 => String::new(),
                            n => format!(" (+{} more)", n - 1),
                        };
                        self.say(
                            Severity::Warning,
                            format!("{label}: {} {}{more}", w.code, w.message),
                        );
                    }
                    None => self.say(Severity::Info, label),
                }
            }
            Err(e) => self.say(Severity::Error, e.message),
        }
    }

    fn selected_device(&self) -> Option<usize> {
        self.row().and_then(|r| r.device)
    }

    fn collapse(&mut self) {
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

    fn expand(&mut self) {
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

    fn toggle(&mut self) {
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

    fn next_problem(&mut self, dir: isize) {
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

    fn search_next(&mut self) {
        if self.search.is_empty() {
            self.prompt("search", "", Pending::Search);
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

    fn add(&mut self) {
        let mut entries: Vec<Entry> = TEMPLATES
            .iter()
            .map(|t| Entry::new(format!("device: {}", t.label), t.models.join(", ")))
            .collect();
        for m in CONTROLLER_MODELS {
            let label = if *m == PciModel::PcieSwitchUpstreamPort {
                "controller: PCIe switch (upstream + downstream ports)".to_string()
            } else {
                format!("controller: {}", m.name())
            };
            entries.push(Entry::new(label, m.info().summary));
        }
        self.pick("add", entries, Pending::AddWhat);
    }

    /// The places offered for a new thing: libvirt's choice, no address, and every
    /// legal slot, those on the selected bus first.
    fn places(&mut self, thing: NewThing) {
        let t = self.topology();
        let mut targets = match &thing {
            NewThing::Device { template, model } => edit::device_targets(t, *template, model),
            NewThing::Controller { model, .. } => edit::controller_targets(t, *model),
        };
        let here = self.row().and_then(|r| r.bus);
        targets.sort_by_key(|a| (Some(a.bus) != here, a.bus, a.slot));
        let mut places = vec![Placement::Auto, Placement::Unassigned];
        let mut entries = vec![
            Entry::new(
                "auto",
                "where libvirt would put it (assigns the whole guest)",
            ),
            Entry::new(
                "no address",
                "leave it to libvirt when the guest is defined",
            ),
        ];
        for a in targets {
            places.push(Placement::At(a));
            entries.push(Entry::new(a.bdf(), self.bus_name(a.bus)));
        }
        let what = match &thing {
            NewThing::Device { template, model } => {
                format!("{} ({model})", TEMPLATES[*template].label)
            }
            NewThing::Controller { model, .. } => model.name().to_string(),
        };
        self.pick(
            format!("where does the {what} go?"),
            entries,
            Pending::Place { thing, places },
        );
    }

    fn bus_name(&self, bus: u32) -> String {
        let t = self.topology();
        match t.bus_model(bus) {
            Some(m) => {
                let empty = self.rows.iter().any(|r| r.key == RowKey::Empty(bus));
                format!(
                    "on {} #{bus}{}",
                    m.name(),
                    if empty { " (empty port)" } else { "" }
                )
            }
            None => format!("on bus {bus}"),
        }
    }

    fn picked(&mut self, pending: Pending, i: usize) {
        match pending {
            Pending::ConvertTo { targets } => {
                if let Some(&to) = targets.get(i) {
                    self.convert_preview(to);
                }
            }
            Pending::MoveOrMmio { device, targets } => match i {
                0 => self.apply(Op::ToMmio { device }),
                _ => {
                    if let Some(&to) = targets.get(i - 1) {
                        self.apply(Op::Move { device, to });
                    }
                }
            },
            Pending::Example => {
                if let Some(e) = crate::examples::EXAMPLES.get(i) {
                    match Session::from_text(e.text, None, format!("example: {}", e.name)) {
                        Ok(s) => {
                            self.replace_session(s);
                            self.say(Severity::Info, e.description());
                        }
                        Err(err) => self.say(Severity::Error, err),
                    }
                }
            }
            Pending::NewGuest { name } => {
                if let Some(k) = super::new_guest::KINDS.get(i) {
                    let path = self.session.path.clone();
                    let display = self.session.display.clone();
                    match Session::from_text(&k.xml(&name), path, display) {
                        Ok(s) => {
                            self.replace_session(s);
                            self.say(
                                Severity::Info,
                                format!("new {} guest: a adds devices, w saves it", k.label()),
                            );
                        }
                        Err(err) => self.say(Severity::Error, err),
                    }
                }
            }
            Pending::Palette => {
                let cmds: Vec<&'static super::commands::Command> =
                    COMMANDS.iter().filter(|c| c.scope == Scope::Main).collect();
                if let Some(c) = cmds.get(i) {
                    self.update(c.message);
                }
            }
            Pending::AddWhat => {
                if i < TEMPLATES.len() {
                    let tpl = &TEMPLATES[i];
                    if tpl.models.len() == 1 {
                        self.places(NewThing::Device {
                            template: i,
                            model: tpl.models[0].to_string(),
                        });
                    } else {
                        let entries = tpl.models.iter().map(|m| Entry::new(*m, "")).collect();
                        self.pick(
                            format!("model of the {}", tpl.label),
                            entries,
                            Pending::AddModel { template: i },
                        );
                    }
                } else if let Some(&m) = CONTROLLER_MODELS.get(i - TEMPLATES.len()) {
                    if m == PciModel::PcieSwitchUpstreamPort {
                        let entries = (1..=8)
                            .map(|n| Entry::new(n.to_string(), "downstream ports"))
                            .collect();
                        self.pick("how many downstream ports?", entries, Pending::SwitchPorts);
                    } else {
                        self.places(NewThing::Controller {
                            model: m,
                            downstream: 0,
                        });
                    }
                }
            }
            Pending::AddModel { template } => {
                if let Some(m) = TEMPLATES[template].models.get(i) {
                    self.places(NewThing::Device {
                        template,
                        model: m.to_string(),
                    });
                }
            }
            Pending::SwitchPorts => self.places(NewThing::Controller {
                model: PciModel::PcieSwitchUpstreamPort,
                downstream: i as u8 + 1,
            }),
            Pending::Place { thing, places } => {
                let Some(&at) = places.get(i) else {
                    return;
                };
                let op = match thing {
                    NewThing::Device { template, model } => Op::AddDevice {
                        template,
                        model,
                        at,
                    },
                    NewThing::Controller { model, downstream } => Op::AddController {
                        model,
                        at,
                        downstream,
                    },
                };
                self.apply(op);
            }
            Pending::MoveTo { device, targets } => {
                if let Some(&to) = targets.get(i) {
                    self.apply(Op::Move { device, to });
                }
            }
            Pending::Model { device, models } => {
                if let Some(m) = models.get(i) {
                    self.apply(Op::SetModel {
                        device,
                        model: Some(m.clone()),
                    });
                }
            }
            Pending::Os { ids } => {
                if let Some(id) = ids.get(i) {
                    self.ctx.os = id
                        .as_deref()
                        .map(|id| crate::host::osinfo::guest_os(id, IdSource::User));
                    self.refresh();
                    let what = self
                        .ctx
                        .os
                        .as_ref()
                        .map_or("none".to_string(), GuestOs::label);
                    self.say(Severity::Info, format!("guest OS: {what}"));
                }
            }
            Pending::Firmware { ids } => {
                if let Some(id) = ids.get(i) {
                    self.ctx.firmware = id.and_then(io_space::firmware);
                    self.refresh();
                    let fw = self.derived.analysis.firmware.name;
                    self.say(Severity::Info, format!("firmware: {fw}"));
                }
            }
            Pending::Target { platforms } => {
                if let Some(&p) = platforms.get(i) {
                    self.set_target(crate::host::platform::Target::designer(p));
                }
            }
            _ => {}
        }
    }

    fn prompted(&mut self, pending: Pending, input: String) {
        match pending {
            Pending::Search => {
                self.search = input;
                self.search_next();
            }
            Pending::SaveAs => {
                let input = input.trim();
                if input.is_empty() {
                    self.quit_after_save = false;
                    self.say(Severity::Warning, "not saved: no file name");
                    return;
                }
                let path = PathBuf::from(input);
                self.save_to(Some(path), SaveMode::default());
            }
            _ => {}
        }
    }

    fn confirmed(&mut self, pending: Pending) {
        match pending {
            Pending::Convert { to } => self.convert_apply(to),
            Pending::Delete { device } => self.apply(Op::Delete { device }),
            Pending::Quit => self.quit = true,
            Pending::ForceSave { to } => self.save_to(
                to,
                SaveMode {
                    overwrite_changes: false,
                    force: true,
                },
            ),
            Pending::DefineLibvirt => self.define_libvirt(),
            Pending::ApplyXml => {
                if let Some(Popup::Editor(e)) = self.popups.pop()
                    && let Ok(edit) = e.checked
                {
                    let label = edit.label.clone();
                    let origin = edit.origin;
                    self.session.apply_element_edit(edit);
                    self.refresh();
                    if let Some(o) = origin {
                        self.select_origin(o);
                    }
                    self.say(Severity::Info, format!("{label} (u undoes it)"));
                }
            }
            Pending::DiscardXml => {
                self.popups.pop();
            }
            _ => {}
        }
    }

    fn delete(&mut self) {
        let Some(i) = self.selected_device() else {
            self.say(Severity::Info, "select a device or controller to delete");
            return;
        };
        if self.row().is_some_and(|r| r.locked) {
            self.say(Severity::Warning, "a chipset function cannot be deleted");
            return;
        }
        let t = self.topology();
        let d = &t.devices[i];
        let behind = edit::behind(t, i);
        if behind.is_empty() {
            self.apply(Op::Delete { device: d.origin });
            return;
        }
        let names: Vec<String> = behind
            .iter()
            .take(6)
            .map(|&j| format!("  {}", t.devices[j].describe(&t.machine)))
            .collect();
        let more = if behind.len() > 6 {
            format!("\n  and {} more", behind.len() - 6)
        } else {
            String::new()
        };
        let text = format!(
            "Delete {} and the {} device{} behind it?\n{}{more}",
            d.describe(&t.machine),
            behind.len(),
            if behind.len() == 1 { "" } else { "s" },
            names.join("\n")
        );
        let origin = d.origin;
        self.popups.push(Popup::Confirm(
            Confirm {
                title: "delete".into(),
                text,
                keys: "y delete · n/Esc keep".into(),
            },
            Pending::Delete { device: origin },
        ));
    }

    fn movable(&mut self) -> Option<(usize, Vec<PciAddr>)> {
        let Some(i) = self.selected_device() else {
            self.say(Severity::Info, "select a device or controller to move");
            return None;
        };
        if self.row().is_some_and(|r| r.locked) {
            self.say(Severity::Warning, "a chipset function cannot be moved");
            return None;
        }
        let targets = edit::move_targets(self.topology(), i);
        if targets.is_empty() {
            self.say(Severity::Warning, "no free slot accepts it");
            return None;
        }
        Some((i, targets))
    }

    fn move_pick(&mut self) {
        let Some((i, targets)) = self.movable() else {
            return;
        };
        let t = self.topology();
        let d = &t.devices[i];
        let (origin, what) = (d.origin, d.describe(&t.machine));
        let here = self
            .row()
            .and_then(|r| r.parent)
            .and_then(|p| self.rows[p].bus);
        let mut targets = targets;
        targets.sort_by_key(|a| (Some(a.bus) == here, a.bus, a.slot));
        // What it becomes at each place, from the analyses of the moved guest; a very
        // long list says it for the first places only, to keep a key press quick.
        let mut entries: Vec<Entry> = targets
            .iter()
            .enumerate()
            .map(|(k, a)| {
                let mut detail = self.bus_name(a.bus);
                if k < 64 {
                    let b = super::explain::becomes(self, i, *a);
                    if !b.is_empty() {
                        detail.push_str(&format!(": {b}"));
                    }
                }
                Entry::new(a.bdf(), detail)
            })
            .collect();
        if super::convert::can_go_to_mmio(t, i) {
            entries.insert(
                0,
                Entry::new("virtio-mmio", "the virt board's mmio transports"),
            );
            let pending = Pending::MoveOrMmio {
                device: origin,
                targets,
            };
            self.pick(format!("move {what} to"), entries, pending);
            return;
        }
        self.pick(
            format!("move {what} to"),
            entries,
            Pending::MoveTo {
                device: origin,
                targets,
            },
        );
    }

    fn convert_pick(&mut self) {
        let targets = super::convert::targets(self.topology());
        if targets.is_empty() {
            self.say(Severity::Info, "no conversion for this machine type");
            return;
        }
        let entries = targets
            .iter()
            .map(|&to| Entry::new(to.name(), super::convert::describe(to)))
            .collect();
        self.pick("convert to", entries, Pending::ConvertTo { targets });
    }

    fn convert_preview(&mut self, to: crate::core::convert::To) {
        match super::convert::conversion(&self.session, &self.ctx, to) {
            Ok(c) if c.is_empty() => {
                self.say(
                    Severity::Info,
                    format!("nothing to convert to {}", to.name()),
                );
            }
            Ok(c) => {
                let view = super::convert::preview(&self.session, &self.ctx, &c, self.ascii);
                self.popups
                    .push(Popup::Preview(view, Pending::Convert { to }));
            }
            Err(e) => self.say(Severity::Warning, format!("convert refused: {e}")),
        }
    }

    fn convert_apply(&mut self, to: crate::core::convert::To) {
        match super::convert::conversion(&self.session, &self.ctx, to) {
            Ok(c) if !c.is_empty() => {
                let label = format!("convert to {} ({} changes)", to.name(), c.changes.len());
                self.session.history.push(label.clone(), c.result);
                self.refresh();
                self.say(Severity::Info, label);
            }
            Ok(_) => self.say(Severity::Info, "nothing to convert"),
            Err(e) => self.say(Severity::Warning, format!("convert refused: {e}")),
        }
    }

    fn cut(&mut self) {
        let Some((i, targets)) = self.movable() else {
            return;
        };
        let t = self.topology();
        let what = t.devices[i].describe(&t.machine);
        self.cut = Some((t.devices[i].origin, targets));
        self.say(
            Severity::Info,
            format!(
                "moving {what}: select a highlighted bus or slot, p to put it there, Esc to cancel"
            ),
        );
    }

    /// The bus a row offers for paste: its own (free and empty rows, controllers),
    /// else its parent's.
    fn row_bus(&self, r: usize) -> Option<u32> {
        let row = self.rows.get(r)?;
        row.bus
            .or_else(|| row.parent.and_then(|p| self.rows[p].bus))
    }

    fn paste(&mut self) {
        let Some((origin, targets)) = self.cut.clone() else {
            self.say(Severity::Info, "nothing cut: x on a device first");
            return;
        };
        // Onto the virtio-mmio section (or a device in it): the mmio transport.
        let in_mmio = |r: usize| {
            self.rows.get(r).is_some_and(|row| {
                row.key == RowKey::Section(super::rows::Section::Mmio)
                    || row.parent.is_some_and(|p| {
                        self.rows[p].key == RowKey::Section(super::rows::Section::Mmio)
                    })
            })
        };
        if in_mmio(self.selected) {
            let t = self.topology();
            match edit::index_of(t, origin) {
                Some(i) if super::convert::can_go_to_mmio(t, i) => {
                    self.cut = None;
                    self.apply(Op::ToMmio { device: origin });
                }
                _ => self.say(
                    Severity::Warning,
                    "only a virtio device can go on virtio-mmio",
                ),
            }
            return;
        }
        let Some(bus) = self.row_bus(self.selected) else {
            self.say(Severity::Warning, "select a bus, a port or free slots");
            return;
        };
        match targets.iter().find(|a| a.bus == bus) {
            Some(&to) => self.apply(Op::Move { device: origin, to }),
            None => {
                let name = self.bus_name(bus);
                self.say(Severity::Warning, format!("no legal slot {name}"));
            }
        }
    }

    fn model_pick(&mut self) {
        let Some(i) = self.selected_device() else {
            return;
        };
        let t = self.topology();
        let d = &t.devices[i];
        let models = edit::model_choices(t, i);
        if models.is_empty() {
            self.say(Severity::Info, "its model has no alternatives here");
            return;
        }
        let current = d.effective_model(&t.machine).unwrap_or_default();
        let origin = d.origin;
        // Each model says what it is and what the device would be with it here.
        let entries = models
            .iter()
            .map(|m| {
                let what = super::explain::with_model(self, i, m);
                let detail = match (*m == current, what.is_empty()) {
                    (true, true) => "current".to_string(),
                    (true, false) => format!("current; {what}"),
                    (false, _) => what,
                };
                Entry::new(m.clone(), detail)
            })
            .collect();
        let title = format!("model of {}", d.describe(&t.machine));
        self.pick(
            title,
            entries,
            Pending::Model {
                device: origin,
                models,
            },
        );
    }

    fn hotplug(&mut self) {
        let Some(i) = self.selected_device() else {
            return;
        };
        let d = &self.topology().devices[i];
        match &d.pci {
            Some(p) if p.model.is_port() => {
                let on = p.hotplug == Some(false);
                let device = d.origin;
                self.apply(Op::SetHotplug { device, on });
            }
            _ => self.say(
                Severity::Info,
                "hotplug is a setting of root ports and downstream ports",
            ),
        }
    }

    fn fix(&mut self) {
        let here = self
            .selected_device()
            .map(|i| self.topology().devices[i].origin);
        let pick = self
            .derived
            .problems
            .iter()
            .find(|p| p.fix.is_some() && p.origin.is_some() && p.origin == here)
            .or_else(|| self.derived.problems.iter().find(|p| p.fix.is_some()))
            .cloned();
        let Some(Problem {
            fix: Some(fix),
            diag,
            ..
        }) = pick
        else {
            self.say(Severity::Info, "no diagnostic has a fix the tool can apply");
            return;
        };
        let out = match edit::apply_all(self.topology(), &fix.ops) {
            Ok(out) => out,
            Err(e) => {
                self.say(Severity::Warning, format!("the fix cannot be applied: {e}"));
                return;
            }
        };
        let label = format!("fix {}: {}", diag.code, fix.summary);
        self.session.history.push(label.clone(), out);
        self.refresh();
        if let Some(o) = here {
            self.select_origin(o);
        }
        self.say(Severity::Info, label);
    }

    fn os_pick(&mut self) {
        let mut ids = vec![None];
        let mut entries = vec![Entry::new("(none)", "no guest OS: no driver checks")];
        for os in guest_os::table() {
            ids.push(Some(os.short_id().to_string()));
            entries.push(Entry::new(os.short_id(), os.name.clone()));
        }
        self.pick("guest OS", entries, Pending::Os { ids });
    }

    /// Offers every pair of known libvirt and QEMU releases; the current one first.
    fn target_pick(&mut self) {
        use crate::core::versions::{LIBVIRT, Platform, QEMU};
        let now = self.target.platform;
        let mut platforms = vec![now];
        for l in LIBVIRT {
            for q in QEMU {
                let p = Platform {
                    libvirt: l.version,
                    qemu: q.version,
                };
                if p != now {
                    platforms.push(p);
                }
            }
        }
        let entries = platforms
            .iter()
            .map(|&p| {
                let (l, q) = (p.libvirt_rules(), p.qemu_rules());
                let shipped = if q.shipped_in == l.shipped_in {
                    format!("as {} ships them", l.shipped_in)
                } else {
                    format!("libvirt of {}, QEMU of {}", l.shipped_in, q.shipped_in)
                };
                let what = if p == now {
                    format!("now; {shipped}")
                } else {
                    shipped
                };
                Entry::new(p.describe(), what)
            })
            .collect();
        self.pick(
            "target: the libvirt and QEMU releases to predict",
            entries,
            Pending::Target { platforms },
        );
    }

    /// Predicts `target` from now on (not an edit: undo keeps it).
    pub fn set_target(&mut self, target: crate::host::platform::Target) {
        self.session.set_platform(target.platform);
        self.target = target;
        self.refresh();
        let refused = self
            .derived
            .analysis
            .refused
            .as_ref()
            .map_or(String::new(), |d| {
                format!(": it refuses the guest [{}]", d.code)
            });
        self.say(
            Severity::Info,
            format!("target: {}{refused}", self.target.platform.describe()),
        );
    }

    fn firmware_pick(&mut self) {
        let mut ids: Vec<Option<&'static str>> = vec![None];
        let mut entries = vec![Entry::new(
            "(from the domain)",
            "UEFI loader: OVMF, else SeaBIOS",
        )];
        for f in io_space::FIRMWARES {
            let f: &Firmware = f;
            ids.push(Some(f.id));
            entries.push(Entry::new(f.id, format!("{}: {}", f.name, f.summary)));
        }
        self.pick("firmware", entries, Pending::Firmware { ids });
    }

    fn edit_xml(&mut self) {
        let Some(i) = self.selected_device() else {
            self.say(
                Severity::Info,
                "select a device or controller to edit its XML (X shows the whole domain)",
            );
            return;
        };
        let t = self.topology();
        let d = &t.devices[i];
        let (origin, title) = (d.origin, format!("edit XML: {}", d.describe(&t.machine)));
        let Some(text) = self.session.element_text(origin) else {
            self.say(Severity::Warning, "this element is not in the document");
            return;
        };
        let editor = XmlEditor::new(
            title,
            origin,
            &dedent(&text),
            &self.session,
            &self.theme,
            self.ascii,
        );
        self.popups.push(Popup::Editor(Box::new(editor)));
    }

    fn show_xml(&mut self) {
        let sel = self
            .selected_device()
            .map(|i| self.topology().devices[i].origin);
        let (title, text) = match sel.and_then(|o| self.session.element_text(o)) {
            Some(x) => ("XML of the selection (as it will be saved)", x),
            None => ("the domain XML (as it will be saved)", self.session.text()),
        };
        let text = dedent(&text);
        self.popups.push(Popup::Text(TextView::plain(title, &text)));
    }

    fn diff(&mut self) {
        let new = self.session.text();
        let (old, what) = match self.session.disk_text() {
            Some(t) => (t, "the file on disk"),
            None => (self.session.original().to_string(), "the text as opened"),
        };
        let lines = diff::unified(&old, &new, 3);
        let view = if lines.is_empty() {
            TextView::plain(format!("no difference from {what}"), "")
        } else {
            TextView {
                title: format!("diff against {what}"),
                lines,
                scroll: 0,
            }
        };
        self.popups.push(Popup::Text(view));
    }

    fn export_tree(&mut self) {
        let Some(path) = self.session.path.clone() else {
            self.say(Severity::Warning, "no file: save the guest first (W)");
            return;
        };
        let mut out = path.into_os_string();
        out.push(".tree.txt");
        let out = PathBuf::from(out);
        let text = crate::render::tree::render_text(self.topology(), self.ascii);
        match crate::host::files::save(
            &out,
            text.as_bytes(),
            crate::host::files::SaveOptions::default(),
        ) {
            Ok(_) => self.say(Severity::Info, format!("wrote {}", out.display())),
            Err(e) => self.say(Severity::Error, e.to_string()),
        }
    }

    /// Makes saving define the guest in libvirt (see `libvirt_save`).
    pub fn open_libvirt(&mut self, target: super::libvirt_save::Target) {
        if target.running {
            self.say(Severity::Warning, super::libvirt_save::RUNNING_NOTE);
        }
        self.libvirt = Some(target);
    }

    /// Saving a libvirt guest: the diff, then a confirmation to define it.
    fn save_libvirt(&mut self) {
        let Some(target) = &self.libvirt else { return };
        let lines = super::libvirt_save::diff(&self.session, target);
        if lines.is_empty() {
            self.say(Severity::Info, "no changes to define");
            return;
        }
        let domain = target.domain.clone();
        let running = target.running;
        self.popups.push(Popup::Text(TextView {
            title: format!("changes to the definition of {domain}"),
            lines,
            scroll: 0,
        }));
        self.popups.push(Popup::Confirm(
            Confirm {
                title: "define in libvirt".into(),
                text: format!(
                    "Define {domain} in libvirt with these changes?\n(n shows the diff behind this box; w asks again){}",
                    if running {
                        "\nIt is running: they take effect at its next boot."
                    } else {
                        ""
                    }
                ),
                keys: "y define · n/Esc keep editing".into(),
            },
            Pending::DefineLibvirt,
        ));
    }

    fn define_libvirt(&mut self) {
        // The diff shown under the question.
        if let Some(Popup::Text(_)) = self.popups.last() {
            self.popups.pop();
        }
        let Some(target) = self.libvirt.as_mut() else {
            return;
        };
        match super::libvirt_save::define(&mut self.session, target) {
            Ok(m) => self.say(Severity::Info, m),
            Err(e) => self.say(Severity::Error, e),
        }
    }

    fn save(&mut self) {
        if self.libvirt.is_some() {
            self.save_libvirt();
            return;
        }
        if self.session.path.is_none() {
            self.prompt("save as", "", Pending::SaveAs);
            return;
        }
        if !self.session.dirty() {
            self.say(Severity::Info, "no changes to save");
            if self.quit_after_save {
                self.quit = true;
            }
            return;
        }
        self.save_to(None, SaveMode::default());
    }

    /// Saves (to the session's file, or `to`), asking when the file changed on disk
    /// or has no write permission; quits afterwards when "save and quit" was chosen.
    fn save_to(&mut self, to: Option<PathBuf>, mode: SaveMode) {
        match self.session.save(to.as_deref(), mode) {
            Ok(m) => {
                self.say(Severity::Info, m);
                if self.quit_after_save {
                    self.quit = true;
                }
            }
            Err(SaveProblem::Changed { disk }) => {
                let diff = self.session.disk_diff(&disk);
                self.popups.push(Popup::Conflict(Conflict {
                    file: self.session.display.clone(),
                    diff,
                    scroll: 0,
                }));
            }
            Err(SaveProblem::ReadOnly(p)) => {
                self.popups.push(Popup::Confirm(
                    Confirm {
                        title: "read-only file".into(),
                        text: format!(
                            "{} has no write permission.\nReplace it anyway (mode, owner and a backup are kept)?",
                            p.display()
                        ),
                        keys: "y replace it · n/Esc do not save".into(),
                    },
                    Pending::ForceSave { to },
                ));
            }
            Err(SaveProblem::Failed(e)) => {
                self.quit_after_save = false;
                self.say(Severity::Error, e);
            }
        }
    }

    fn help(&mut self) {
        self.popups.push(Popup::Text(TextView {
            title: "help".into(),
            lines: help_lines(),
            scroll: 0,
        }));
    }

    fn palette(&mut self) {
        let entries = COMMANDS
            .iter()
            .filter(|c| c.scope == Scope::Main)
            .map(|c| {
                Entry::new(
                    c.id,
                    format!("{:<12} {}", keys_or_palette(c), c.description),
                )
            })
            .collect();
        self.pick("commands", entries, Pending::Palette);
    }

    /// Every diagnostic in full: message, hint and fix, in the pane's order.
    fn diagnostics_list(&mut self) {
        let mut lines = Vec::new();
        for p in &self.derived.problems {
            let d = &p.diag;
            let line = self
                .topology()
                .devices
                .get(d.device.unwrap_or(usize::MAX))
                .map(|x| x.line)
                .filter(|&l| l > 0)
                .map_or(String::new(), |l| format!(" (line {l})"));
            lines.push((
                Tone::Heading,
                format!(
                    "{} {} {}{line}",
                    severity_word(d.severity),
                    d.code,
                    d.message
                ),
            ));
            if let Some(h) = &d.hint {
                lines.push((Tone::Plain, format!("  hint: {h}")));
            }
            if let Some(f) = &p.fix {
                lines.push((Tone::Plain, format!("  F fixes: {}", f.summary)));
            }
            lines.push((Tone::Plain, String::new()));
        }
        if lines.is_empty() {
            lines.push((
                Tone::Dim,
                "libvirt accepts this guest and the analyses found nothing".to_string(),
            ));
        }
        let title = format!("diagnostics: {}", counts(&self.derived.problems));
        self.popups.push(Popup::Text(TextView {
            title,
            lines,
            scroll: 0,
        }));
    }

    /// The status line's messages so far, newest last.
    fn messages_view(&mut self) {
        let lines = if self.messages.is_empty() {
            vec![(Tone::Dim, "no messages yet".to_string())]
        } else {
            self.messages
                .iter()
                .map(|m| {
                    (
                        if m.severity == Severity::Info {
                            Tone::Plain
                        } else {
                            Tone::Heading
                        },
                        format!("{} {}", severity_word(m.severity), m.text),
                    )
                })
                .collect()
        };
        let scroll = lines.len().saturating_sub(1);
        self.popups.push(Popup::Text(TextView {
            title: "messages".into(),
            lines,
            scroll,
        }));
    }

    /// What the selected row is, why it sits there, what moving it would change.
    fn explain(&mut self) {
        let Some(row) = self.row().cloned() else {
            return;
        };
        let lines = super::explain::row_lines(self, &row);
        self.popups.push(Popup::Text(TextView {
            title: format!("explain: {}", row.label),
            lines,
            scroll: 0,
        }));
    }

    fn glossary(&mut self) {
        self.popups.push(Popup::Text(TextView {
            title: "glossary".into(),
            lines: super::explain::glossary_lines(),
            scroll: 0,
        }));
    }

    /// Draws the whole screen.
    pub fn render(&self, f: &mut ratatui::Frame<'_>) {
        let a = layout::areas(f.area(), self);
        super::title::render(f, a.title, self);
        super::tree::render(f, a.tree, self);
        if self.show_io {
            super::io_pane::render(f, a.side, self);
        } else {
            super::details::render(f, a.side, self);
        }
        super::diagnostics::render(f, a.diags, self);
        super::io_pane::render_gauge(f, a.gauge, self);
        super::keybar::render(f, a.keybar, self);
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

/// The help text, from the command registry: one heading per group, each command
/// with its keys (or `(palette)`) and what it does.
pub fn help_lines() -> Vec<(Tone, String)> {
    let mut lines = vec![
        (Tone::Heading, "keys and commands".to_string()),
        (
            Tone::Dim,
            "every command is also in the palette (:); those without a key only there".to_string(),
        ),
    ];
    // One heading per group, in the order the groups first appear.
    let mut groups: Vec<&str> = Vec::new();
    for c in COMMANDS {
        let g = c.id.split('.').next().unwrap_or("");
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    for g in groups {
        lines.push((Tone::Plain, String::new()));
        lines.push((Tone::Heading, group_title(g).to_string()));
        for c in COMMANDS
            .iter()
            .filter(|c| c.id.starts_with(&format!("{g}.")))
        {
            lines.push((Tone::Plain, help_line(c)));
        }
    }
    lines.push((Tone::Plain, String::new()));
    lines.push((
        Tone::Dim,
        "mouse: click selects, the wheel scrolls the pane under the pointer, drag a device onto a bus to move it".into(),
    ));
    lines
}

/// `error`, `warning`, `note`.
pub fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// `1 error, 2 warnings, 0 notes`: every count, each word in its right number.
pub fn counts(problems: &[Problem]) -> String {
    [Severity::Error, Severity::Warning, Severity::Info]
        .iter()
        .map(|&s| {
            let n = problems.iter().filter(|p| p.diag.severity == s).count();
            format!("{n} {}{}", severity_word(s), if n == 1 { "" } else { "s" })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A command's keys, or `(palette)` for one only the palette runs.
pub fn keys_or_palette(c: &super::commands::Command) -> String {
    if c.keys.is_empty() {
        "(palette)".to_string()
    } else {
        keys_text(c)
    }
}

/// One help line: the keys in a column wide enough for all of them, then the text
/// (the text view wraps it under itself).
fn help_line(c: &super::commands::Command) -> String {
    format!("  {:<20}  {}", keys_or_palette(c), c.description)
}

fn group_title(group: &str) -> &'static str {
    match group {
        "tree" => "moving around",
        "edit" => "editing",
        "guest" => "guest",
        "view" => "view",
        "file" => "file",
        "app" => "app",
        "list" => "in lists and the palette",
        "confirm" => "in questions",
        "prompt" => "in prompts",
        "editor" => "in the XML editor",
        _ => "other",
    }
}

/// Removes the indentation of an element's own line from the lines of its subtree
/// (its closing tag has it), so that the element reads as if it stood alone.
fn dedent(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    let cut = lines
        .iter()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent(l))
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .enumerate()
        .map(|(k, l)| match k {
            0 => *l,
            _ if indent(l) >= cut => &l[cut..],
            _ => l.trim_start(),
        })
        .collect::<Vec<_>>()
        .join("\n")
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
