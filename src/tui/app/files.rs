//! The guest's files: save, save as and the answers about a file changed on disk or
//! read-only, a guest defined back into libvirt, the tree exported as text, the XML
//! shown, edited and diffed, and a start popup replacing the guest.

use std::path::PathBuf;

use super::{App, Options, Popup, Question};
use crate::core::diag::Severity;
use crate::tui::popups::{Confirm, TextView};
use crate::tui::save_popup::Conflict;
use crate::tui::session::{SaveMode, SaveProblem, Session};
use crate::tui::xml_editor::XmlEditor;
use crate::tui::{diff, libvirt_save, new_guest};

impl App {
    /// Replaces the guest (a start popup chose another one); the view settings stay.
    pub(super) fn replace_session(&mut self, session: Session) {
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

    /// Bundled example `i` replaces the guest.
    pub(super) fn open_example(&mut self, i: usize) {
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

    /// A new guest of kind `i`, named `name`, replaces the (empty) one.
    pub(super) fn open_new_guest(&mut self, name: &str, i: usize) {
        if let Some(k) = new_guest::KINDS.get(i) {
            let path = self.session.path.clone();
            let display = self.session.display.clone();
            match Session::from_text(&k.xml(name), path, display) {
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

    /// Asks for a file name, offering the session's.
    pub(super) fn save_as(&mut self) {
        let current = self
            .session
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        self.prompt("save as", &current, Question::SaveAs);
    }

    pub(super) fn save(&mut self) {
        if self.libvirt.is_some() {
            self.save_libvirt();
            return;
        }
        if self.session.path.is_none() {
            self.prompt("save as", "", Question::SaveAs);
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
    pub(super) fn save_to(&mut self, to: Option<PathBuf>, mode: SaveMode) {
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
                    Question::ForceSave { to },
                ));
            }
            Err(SaveProblem::Failed(e)) => {
                self.quit_after_save = false;
                self.say(Severity::Error, e);
            }
        }
    }

    /// Saving a libvirt guest: the diff, then a confirmation to define it.
    pub(super) fn save_libvirt(&mut self) {
        let Some(target) = &self.libvirt else { return };
        let lines = libvirt_save::diff(&self.session, target);
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
            Question::DefineLibvirt,
        ));
    }

    pub(super) fn define_libvirt(&mut self) {
        // The diff shown under the question.
        if let Some(Popup::Text(_)) = self.popups.last() {
            self.popups.pop();
        }
        let Some(target) = self.libvirt.as_mut() else {
            return;
        };
        match libvirt_save::define(&mut self.session, target) {
            Ok(m) => self.say(Severity::Info, m),
            Err(e) => self.say(Severity::Error, e),
        }
    }

    /// Makes saving define the guest in libvirt (see `libvirt_save`); for a running
    /// domain, compares its live configuration and says what differs.
    pub fn open_libvirt(&mut self, target: libvirt_save::Target) {
        let running = target.running;
        self.libvirt = Some(target);
        self.compare_running();
        self.rebuild_rows();
        if running {
            let live = match self.running.as_ref().map(|r| &r.differences) {
                Some(Ok(d)) if d.is_empty() => {
                    "its live configuration matches this definition".to_string()
                }
                Some(Ok(d)) => format!(
                    "its live configuration differs ({}; R shows it)",
                    crate::render::live::count_text(d)
                ),
                Some(Err(e)) => format!("its live configuration cannot be read: {e}"),
                None => String::new(),
            };
            self.say(
                Severity::Warning,
                format!("{}; {live}", libvirt_save::RUNNING_NOTE),
            );
        }
    }

    pub(super) fn export_tree(&mut self) {
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

    pub(super) fn edit_xml(&mut self) {
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

    pub(super) fn show_xml(&mut self) {
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

    pub(super) fn diff(&mut self) {
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
