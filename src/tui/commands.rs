//! The command registry: every command the designer has, with its id, description,
//! default keys and the message it produces. Key handling, the key bar, the help
//! overlay and the command palette are all generated from [`COMMANDS`]; no component
//! compares key codes itself.

use std::collections::HashMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::event::{normalise, parse_keys};

/// What the app is asked to do. Keys, clicks and palette entries all become messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Message {
    /// Selection up one row.
    Up,
    /// Selection down one row.
    Down,
    /// Up one page.
    PageUp,
    /// Down one page.
    PageDown,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// Collapse, or go to the parent row.
    Collapse,
    /// Expand, or go to the first child.
    Expand,
    /// Expand or collapse.
    Toggle,
    /// Next row with a diagnostic.
    NextProblem,
    /// Previous row with a diagnostic.
    PrevProblem,
    /// Add a device or controller.
    Add,
    /// Delete the selection.
    Delete,
    /// Move the selection to a slot chosen from a list.
    Move,
    /// Cut the selection (paste it on a bus with `Paste`).
    Cut,
    /// Paste the cut device on the selected bus.
    Paste,
    /// Choose the selected device's model.
    SetModel,
    /// Toggle hotplug on the selected port.
    Hotplug,
    /// Assign every missing address as libvirt does.
    AutoAssign,
    /// Apply the suggested fix of the selected row's diagnostic.
    Fix,
    /// Convert the guest (i440fx ⇄ q35, virtio-mmio ⇄ PCI), after a preview.
    Convert,
    /// Choose the guest OS.
    GuestOs,
    /// Choose the firmware.
    Firmware,
    /// Choose the libvirt and QEMU releases to predict.
    Target,
    /// Show the IO port plan instead of the details.
    ToggleIo,
    /// Show the guest's addresses (its bus numbers) and NIC names in the tree.
    ToggleGuest,
    /// A running libvirt domain: show what differs between its live configuration
    /// and the next boot instead of the details.
    ToggleRunning,
    /// Show the selected element's XML.
    ShowXml,
    /// Edit the selected element's XML.
    EditXml,
    /// Undo.
    Undo,
    /// Redo.
    Redo,
    /// Save to the file.
    Save,
    /// Save to another file.
    SaveAs,
    /// Show the diff against the file on disk.
    Diff,
    /// Write the tree as text next to the file.
    ExportTree,
    /// Switch between box-drawing and ASCII connectors.
    ToggleAscii,
    /// Search rows.
    Search,
    /// Next search match.
    SearchNext,
    /// Help overlay.
    Help,
    /// Command palette.
    Palette,
    /// Quit (asks when there are unsaved changes).
    Quit,
    /// Focus the next pane (tree, details, diagnostics).
    FocusNext,
    /// Explain the selected row: what it is, why it sits there, what moving it changes.
    Explain,
    /// The glossary of PCI and virtio terms.
    Glossary,
    /// Every diagnostic with its hint and fix.
    DiagnosticsList,
    /// The messages shown in the status line so far.
    Messages,
    /// Show the guest as libvirt will define it, or the file as written.
    ToggleDefined,
    /// In a list: up.
    ListUp,
    /// In a list: down.
    ListDown,
    /// In a list: page up.
    ListPageUp,
    /// In a list: page down.
    ListPageDown,
    /// In a list or prompt: accept.
    Accept,
    /// Close the popup.
    Cancel,
    /// In a text field: delete the last character.
    Backspace,
    /// In a confirmation: yes.
    Yes,
    /// In a confirmation: no.
    No,
    /// When the file changed on disk: read it again, dropping the edits.
    Reload,
    /// When an edit would rename what the guest knows: make it at the place offered
    /// instead, which keeps the old numbering.
    Keep,
}

/// Where a command applies: the main screen or one kind of popup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The tree and its panes.
    Main,
    /// A list popup (pickers, palette, help, text views).
    List,
    /// A yes/no question.
    Confirm,
    /// A one-line text prompt.
    Prompt,
    /// The XML editor: unbound keys edit the text.
    Editor,
}

impl Scope {
    /// Whether unbound printable keys type into a text field in this scope.
    pub fn takes_text(self) -> bool {
        matches!(self, Scope::List | Scope::Prompt)
    }
}

/// One command.
#[derive(Debug)]
pub struct Command {
    /// Stable id (`tree.down`, `edit.add`), for the palette and the docs.
    pub id: &'static str,
    /// What it does, for people.
    pub description: &'static str,
    /// Default keys in the notation of [`parse_keys`].
    pub keys: &'static [&'static str],
    /// Where it applies.
    pub scope: Scope,
    /// The message it produces.
    pub message: Message,
    /// Short label in the key bar, if it is shown there.
    pub bar: Option<&'static str>,
}

const fn cmd(
    id: &'static str,
    description: &'static str,
    keys: &'static [&'static str],
    scope: Scope,
    message: Message,
    bar: Option<&'static str>,
) -> Command {
    Command {
        id,
        description,
        keys,
        scope,
        message,
        bar,
    }
}

use Message as M;
use Scope as S;

/// Every command, in the order help and the palette list them.
#[rustfmt::skip]
pub const COMMANDS: &[Command] = &[
    cmd("tree.up", "select the row above", &["k", "<Up>"], S::Main, M::Up, None),
    cmd("tree.down", "select the row below", &["j", "<Down>"], S::Main, M::Down, None),
    cmd("tree.page_up", "one page up", &["<PageUp>", "<C-b>"], S::Main, M::PageUp, None),
    cmd("tree.page_down", "one page down", &["<PageDown>", "<C-f>"], S::Main, M::PageDown, None),
    cmd("tree.top", "first row", &["g", "<Home>"], S::Main, M::Top, None),
    cmd("tree.bottom", "last row", &["G", "<End>"], S::Main, M::Bottom, None),
    cmd("tree.collapse", "collapse, or go to the parent", &["h", "<Left>"], S::Main, M::Collapse, None),
    cmd("tree.expand", "expand, or go to the first child", &["l", "<Right>"], S::Main, M::Expand, None),
    cmd("tree.toggle", "expand or collapse", &["<Enter>", "<Space>"], S::Main, M::Toggle, None),
    cmd("tree.next_problem", "next row with a diagnostic", &["]"], S::Main, M::NextProblem, None),
    cmd("tree.prev_problem", "previous row with a diagnostic", &["["], S::Main, M::PrevProblem, None),
    cmd("tree.search", "search the rows", &["/"], S::Main, M::Search, None),
    cmd("tree.search_next", "next search match", &["n"], S::Main, M::SearchNext, None),
    cmd("edit.add", "add a device or a controller (legal places only)", &["a"], S::Main, M::Add, Some("add")),
    cmd("edit.delete", "delete the selection (and what is behind a controller)", &["d", "<Del>"], S::Main, M::Delete, Some("del")),
    cmd("edit.move", "move the selection to a slot chosen from the legal ones", &["m"], S::Main, M::Move, Some("move")),
    cmd("edit.cut", "cut the selection; paste it on a bus with p", &["x"], S::Main, M::Cut, None),
    cmd("edit.cancel", "cancel the pending move", &["<Esc>"], S::Main, M::Cancel, None),
    cmd("edit.paste", "paste the cut device on the selected bus or slot", &["p"], S::Main, M::Paste, None),
    cmd("edit.model", "change the model (virtio, transitional, non-transitional, ...)", &["t"], S::Main, M::SetModel, None),
    cmd("edit.hotplug", "turn hotplug on or off on the selected port", &["H"], S::Main, M::Hotplug, None),
    cmd("edit.assign", "assign every missing address as libvirt does", &["A"], S::Main, M::AutoAssign, None),
    cmd("edit.fix", "apply the suggested fix of the selected row's diagnostic", &["F"], S::Main, M::Fix, Some("fix")),
    cmd("edit.convert", "convert the guest: i440fx → q35, q35 → pc, virtio-mmio ⇄ PCI, after a preview", &["C"], S::Main, M::Convert, None),
    cmd("edit.undo", "undo the last edit", &["u"], S::Main, M::Undo, Some("undo")),
    cmd("edit.redo", "redo", &["<C-r>"], S::Main, M::Redo, None),
    cmd("guest.os", "choose the guest OS for the analyses", &["o"], S::Main, M::GuestOs, None),
    cmd("guest.firmware", "choose the firmware for the IO analysis", &["f"], S::Main, M::Firmware, None),
    cmd("guest.target", "choose the libvirt and QEMU releases to predict (9.0 + 7.2, 11.3 + 10.0, ...)", &["V"], S::Main, M::Target, None),
    cmd("view.io", "show the IO port plan / the details", &["i"], S::Main, M::ToggleIo, None),
    cmd("view.guest", "show the guest's addresses (its bus numbers) and NIC names next to libvirt's", &["b"], S::Main, M::ToggleGuest, None),
    cmd("view.running", "a running libvirt domain: what differs between the running guest and the next boot (hot-plugged devices, edits waiting for it) / the details", &["R"], S::Main, M::ToggleRunning, None),
    cmd("edit.xml", "edit the selected element's XML (checked as you type, applied when you confirm)", &["e"], S::Main, M::EditXml, None),
    cmd("view.xml", "show the selected element's XML, or the domain's", &["X"], S::Main, M::ShowXml, None),
    cmd("view.defined", "show the guest as libvirt will define it (added controllers, placements) or the file as written", &["v"], S::Main, M::ToggleDefined, None),
    cmd("view.focus", "focus the next pane (tree, details, diagnostics); keys and the wheel scroll the focused one", &["<Tab>"], S::Main, M::FocusNext, None),
    cmd("view.diagnostics", "every diagnostic in full, with its hint and fix", &["L"], S::Main, M::DiagnosticsList, None),
    cmd("view.messages", "the messages of the status line so far, in full", &["M"], S::Main, M::Messages, None),
    cmd("view.explain", "explain the selected row: what it is, why it sits there, what moving it would change", &["E"], S::Main, M::Explain, Some("explain")),
    cmd("view.glossary", "glossary: root complex, root port, switch, bridges, virtio modes, IO window, hotplug", &["<F2>"], S::Main, M::Glossary, None),
    cmd("view.ascii", "switch between box-drawing and ASCII connectors", &[], S::Main, M::ToggleAscii, None),
    cmd("file.save", "save (atomically; the original is kept as FILE.bak)", &["w", "<C-s>"], S::Main, M::Save, Some("save")),
    cmd("file.save_as", "save to another file", &["W"], S::Main, M::SaveAs, None),
    cmd("file.diff", "diff of the XML against the file on disk", &["D"], S::Main, M::Diff, None),
    cmd("file.export_tree", "write the tree as text to FILE.tree.txt", &[], S::Main, M::ExportTree, None),
    cmd("app.help", "keys and commands", &["?", "<F1>"], S::Main, M::Help, Some("help")),
    cmd("app.palette", "command palette", &[":"], S::Main, M::Palette, Some("cmds")),
    cmd("app.quit", "quit (asks when there are unsaved changes)", &["q", "<C-c>"], S::Main, M::Quit, Some("quit")),
    cmd("list.up", "previous entry", &["<Up>", "<C-p>"], S::List, M::ListUp, None),
    cmd("list.down", "next entry", &["<Down>", "<C-n>", "<Tab>"], S::List, M::ListDown, None),
    cmd("list.page_up", "one page up", &["<PageUp>"], S::List, M::ListPageUp, None),
    cmd("list.page_down", "one page down", &["<PageDown>"], S::List, M::ListPageDown, None),
    cmd("list.accept", "choose the entry", &["<Enter>"], S::List, M::Accept, Some("choose")),
    cmd("list.cancel", "close", &["<Esc>", "<C-c>"], S::List, M::Cancel, Some("close")),
    cmd("list.backspace", "delete the last character of the filter", &["<BS>"], S::List, M::Backspace, None),
    cmd("editor.undo", "undo in the text", &["<C-z>", "<C-u>"], S::Editor, M::Undo, None),
    cmd("editor.redo", "redo in the text", &["<C-y>", "<C-r>"], S::Editor, M::Redo, None),
    cmd("confirm.yes", "yes", &["y", "<Enter>"], S::Confirm, M::Yes, Some("yes")),
    cmd("confirm.no", "no", &["n", "<Esc>"], S::Confirm, M::No, Some("no")),
    cmd("confirm.save", "save first", &["w"], S::Confirm, M::Save, None),
    cmd("confirm.reload", "the file changed on disk: reload it (drops the edits)", &["r"], S::Confirm, M::Reload, None),
    cmd("confirm.save_as", "the file changed on disk: save to another file", &["a"], S::Confirm, M::SaveAs, None),
    cmd("confirm.keep", "an edit renames in the guest: make it at the place offered, which keeps the old numbering", &["k"], S::Confirm, M::Keep, None),
    cmd("prompt.accept", "accept", &["<Enter>"], S::Prompt, M::Accept, Some("ok")),
    cmd("prompt.cancel", "cancel", &["<Esc>", "<C-c>"], S::Prompt, M::Cancel, Some("cancel")),
    cmd("prompt.backspace", "delete the last character", &["<BS>"], S::Prompt, M::Backspace, None),
    cmd("editor.apply", "apply the edited XML (asks first)", &["<C-s>"], S::Editor, M::Accept, Some("apply")),
    cmd("editor.close", "close the editor (asks when the text changed)", &["<Esc>"], S::Editor, M::Cancel, Some("close")),
];

/// Key lookup built from the registry.
#[derive(Debug)]
pub struct Keymap {
    map: HashMap<(Scope, KeyCode, KeyModifiers), usize>,
}

impl Default for Keymap {
    fn default() -> Keymap {
        Keymap::new()
    }
}

impl Keymap {
    /// The default key map.
    pub fn new() -> Keymap {
        let mut map = HashMap::new();
        for (i, c) in COMMANDS.iter().enumerate() {
            for spec in c.keys {
                for k in parse_keys(spec) {
                    let (code, mods) = normalise(k);
                    map.entry((c.scope, code, mods)).or_insert(i);
                }
            }
        }
        Keymap { map }
    }

    /// The command bound to `key` in `scope`.
    pub fn lookup(&self, scope: Scope, key: KeyEvent) -> Option<&'static Command> {
        let (code, mods) = normalise(key);
        self.map.get(&(scope, code, mods)).map(|&i| &COMMANDS[i])
    }
}

/// The keys of a command as people read them (`j ↓`).
pub fn keys_text(c: &Command) -> String {
    c.keys
        .iter()
        .map(|k| super::event::display(k))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The commands of `scope` shown in the key bar.
pub fn bar(scope: Scope) -> impl Iterator<Item = &'static Command> {
    COMMANDS
        .iter()
        .filter(move |c| c.scope == scope && c.bar.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_keys_do_not_clash() {
        let mut seen = std::collections::HashSet::new();
        for c in COMMANDS {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
        }
        let mut keys = HashMap::new();
        for c in COMMANDS {
            for spec in c.keys {
                for k in parse_keys(spec) {
                    let (code, mods) = normalise(k);
                    if let Some(other) = keys.insert((c.scope, code, mods), c.id) {
                        panic!("{spec} is bound to {other} and {}", c.id);
                    }
                }
            }
        }
    }
}
