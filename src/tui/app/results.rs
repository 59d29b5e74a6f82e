//! The popups the designer stacks and what their answers do: the pending question
//! behind each list, prompt and confirmation, the keys inside a popup, and the steps
//! an accepted answer runs.

use std::path::PathBuf;

use super::App;
use crate::core::address::PciAddr;
use crate::core::diag::Severity;
use crate::core::edit::{Op, Placement, TEMPLATES};
use crate::core::pci::PciModel;
use crate::core::topology::Origin;
use crate::tui::commands::{COMMANDS, Command, Message, Scope};
use crate::tui::picker::{Entry, Picker};
use crate::tui::popups::{Confirm, Prompt, TextView};
use crate::tui::save_popup::Conflict;
use crate::tui::session::SaveMode;
use crate::tui::xml_editor::XmlEditor;

/// Something a new device or controller will be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum NewThing {
    Device { template: usize, model: String },
    Controller { model: PciModel, downstream: u8 },
}

/// The question a popup asks: what accepting it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Question {
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
    /// An add or a move that renames what the guest has: as chosen (yes), or at the
    /// place that keeps the old numbering (`k`).
    Renames {
        op: Op,
        instead: Option<crate::core::edit::Instead>,
    },
    /// `m` on a virtio device of a `virt` guest: entry 0 is virtio-mmio.
    MoveOrMmio {
        device: Origin,
        targets: Vec<PciAddr>,
    },
}

/// A popup and what its answer means.
#[derive(Clone, Debug)]
pub(super) enum Popup {
    Pick(Picker, Question),
    Confirm(Confirm, Question),
    Prompt(Prompt, Question),
    Text(TextView),
    Editor(Box<XmlEditor>),
    /// A scrollable text whose Enter means yes (the convert preview).
    Preview(TextView, Question),
    /// The file changed on disk since it was read.
    Conflict(Conflict),
}

impl Popup {
    pub(super) fn scope(&self) -> Scope {
        match self {
            Popup::Pick(..) | Popup::Text(_) | Popup::Preview(..) => Scope::List,
            Popup::Confirm(..) | Popup::Conflict(_) => Scope::Confirm,
            Popup::Prompt(..) => Scope::Prompt,
            Popup::Editor(_) => Scope::Editor,
        }
    }
}

impl App {
    /// Runs one message in the top popup.
    pub(super) fn popup_update(&mut self, msg: Message) {
        if !(self.popup_step(msg) || self.editor_update(msg) || self.conflict_update(msg)) {
            self.popup_answer(msg);
        }
    }

    /// Moving in a list or a text, editing a filter or a prompt, undo in the editor.
    /// Says whether the top popup took `msg`.
    fn popup_step(&mut self, msg: Message) -> bool {
        let page = (self.size.1 as isize - 6).max(1);
        let Some(top) = self.popups.last_mut() else {
            return false;
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
            (Popup::Preview(t, _), Message::ListUp) => t.step(-1),
            (Popup::Preview(t, _), Message::ListDown) => t.step(1),
            (Popup::Preview(t, _), Message::ListPageUp) => t.step(-page),
            (Popup::Preview(t, _), Message::ListPageDown) => t.step(page),
            (Popup::Editor(e), Message::Undo) => {
                e.area.undo();
                e.recheck(&self.session);
            }
            (Popup::Editor(e), Message::Redo) => {
                e.area.redo();
                e.recheck(&self.session);
            }
            _ => return false,
        }
        true
    }

    /// Enter and Esc in the XML editor: apply the edit or close, asking first.
    fn editor_update(&mut self, msg: Message) -> bool {
        let Some(Popup::Editor(e)) = self.popups.last_mut() else {
            return false;
        };
        match msg {
            Message::Accept => match &e.checked {
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
                        Question::ApplyXml,
                    ));
                }
                Err(_) => e.refused = true,
            },
            Message::Cancel => {
                if e.modified() {
                    self.popups.push(Popup::Confirm(
                        Confirm {
                            title: "discard changes".into(),
                            text: "Close the editor and drop the changes to the XML?".into(),
                            keys: "y / Enter discard · n / Esc back to the editor".into(),
                        },
                        Question::DiscardXml,
                    ));
                } else {
                    self.popups.pop();
                }
            }
            _ => return false,
        }
        true
    }

    /// The answers about a file changed on disk: overwrite, reload, save as.
    fn conflict_update(&mut self, msg: Message) -> bool {
        if !matches!(self.popups.last(), Some(Popup::Conflict(_))) {
            return false;
        }
        match msg {
            Message::Yes => {
                self.popups.pop();
                self.save_to(
                    None,
                    SaveMode {
                        overwrite_changes: true,
                        force: false,
                    },
                );
            }
            Message::Reload => {
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
            Message::SaveAs => {
                self.popups.pop();
                self.save_as();
            }
            _ => return false,
        }
        true
    }

    /// Enter, yes, no and Esc: the popup closes and its answer is carried out.
    fn popup_answer(&mut self, msg: Message) {
        let Some(top) = self.popups.last_mut() else {
            return;
        };
        match (top, msg) {
            (Popup::Text(_), Message::Accept) => {
                self.popups.pop();
            }
            (Popup::Preview(_, pending), Message::Accept) => {
                let pending = pending.clone();
                self.popups.pop();
                self.confirmed(pending);
            }
            // Enter on an empty list says why nothing happens instead of closing.
            (Popup::Pick(p, _), Message::Accept) if p.chosen().is_none() => {
                p.note = Some(format!(
                    "nothing matches '{}': Backspace edits the filter, Esc closes",
                    p.filter
                ));
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
            (
                Popup::Confirm(
                    _,
                    Question::Renames {
                        instead: Some(instead),
                        ..
                    },
                ),
                Message::Keep,
            ) => {
                let instead = instead.clone();
                self.popups.pop();
                self.perform_instead(instead);
            }
            (Popup::Confirm(_, Question::Quit), Message::Save) => {
                self.popups.pop();
                self.quit_after_save = true;
                self.save();
            }
            _ => {}
        }
    }

    pub(super) fn pick(
        &mut self,
        title: impl Into<String>,
        entries: Vec<Entry>,
        pending: Question,
    ) {
        self.popups
            .push(Popup::Pick(Picker::new(title, entries), pending));
    }

    pub(super) fn prompt(&mut self, title: &str, input: &str, pending: Question) {
        self.popups.push(Popup::Prompt(
            Prompt {
                title: title.into(),
                input: input.into(),
            },
            pending,
        ));
    }

    /// Carries out entry `i` of the list that asked `pending`.
    pub(super) fn picked(&mut self, pending: Question, i: usize) {
        match pending {
            Question::ConvertTo { targets } => {
                if let Some(&to) = targets.get(i) {
                    self.convert_preview(to);
                }
            }
            Question::MoveOrMmio { device, targets } => match i {
                0 => self.perform(Op::ToMmio { device }),
                _ => {
                    if let Some(&to) = targets.get(i - 1) {
                        self.perform(Op::Move { device, to });
                    }
                }
            },
            Question::Example => self.open_example(i),
            Question::NewGuest { name } => self.open_new_guest(&name, i),
            Question::Palette => {
                let cmds: Vec<&'static Command> =
                    COMMANDS.iter().filter(|c| c.scope == Scope::Main).collect();
                if let Some(c) = cmds.get(i) {
                    self.update(c.message);
                }
            }
            Question::AddWhat => self.add_what(i),
            Question::AddModel { template } => {
                if let Some(m) = TEMPLATES[template].models.get(i) {
                    self.places(NewThing::Device {
                        template,
                        model: m.to_string(),
                    });
                }
            }
            Question::SwitchPorts => self.places(NewThing::Controller {
                model: PciModel::PcieSwitchUpstreamPort,
                downstream: i as u8 + 1,
            }),
            Question::Place { thing, places } => {
                if let Some(&at) = places.get(i) {
                    self.add_at(thing, at);
                }
            }
            Question::MoveTo { device, targets } => {
                if let Some(&to) = targets.get(i) {
                    self.perform(Op::Move { device, to });
                }
            }
            Question::Model { device, models } => {
                if let Some(m) = models.get(i) {
                    self.perform(Op::SetModel {
                        device,
                        model: Some(m.clone()),
                    });
                }
            }
            Question::Os { ids } => {
                if let Some(id) = ids.get(i) {
                    self.choose_os(id.as_deref());
                }
            }
            Question::Firmware { ids } => {
                if let Some(&id) = ids.get(i) {
                    self.choose_firmware(id);
                }
            }
            Question::Target { platforms } => {
                if let Some(&p) = platforms.get(i) {
                    self.set_target(crate::host::platform::Target::designer(p));
                }
            }
            _ => {}
        }
    }

    pub(super) fn prompted(&mut self, pending: Question, input: String) {
        match pending {
            Question::Search => {
                self.search = input;
                self.search_next();
            }
            Question::SaveAs => {
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

    pub(super) fn confirmed(&mut self, pending: Question) {
        match pending {
            Question::Convert { to } => self.convert_apply(to),
            Question::Delete { device } => self.perform(Op::Delete { device }),
            Question::Renames { op, .. } => self.perform_now(op),
            Question::Quit => self.quit = true,
            Question::ForceSave { to } => self.save_to(
                to,
                SaveMode {
                    overwrite_changes: false,
                    force: true,
                },
            ),
            Question::DefineLibvirt => self.define_libvirt(),
            Question::ApplyXml => {
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
            Question::DiscardXml => {
                self.popups.pop();
            }
            _ => {}
        }
    }
}
