//! The edits the designer carries out: add (what, which model, where), delete, move
//! by picker or by cut and paste, model, hotplug, the fix of a diagnostic, conversion;
//! and the analysis settings (guest OS, firmware, target releases).

use std::collections::HashSet;

use super::results::NewThing;
use super::{App, Popup, Question, ShownProblem};
use crate::core::address::PciAddr;
use crate::core::diag::Severity;
use crate::core::edit::{self, CONTROLLER_MODELS, Op, Placement, TEMPLATES};
use crate::core::guest;
use crate::core::guest_os::{self, GuestOs, IdSource};
use crate::core::io_space::{self, Firmware};
use crate::core::pci::PciModel;
use crate::core::topology::Origin;
use crate::tui::picker::Entry;
use crate::tui::popups::Confirm;
use crate::tui::rows::RowKey;
use crate::tui::{convert, explain};

impl App {
    /// Applies an edit, re-runs the analyses, and follows the edited device. An add
    /// or a move that would rename what the guest already has (a bus number, a NIC
    /// name, a disk path) asks first, offering the same edit at a place that keeps
    /// the old numbering when there is one.
    pub fn perform(&mut self, op: Op) {
        if matches!(
            op,
            Op::AddDevice { .. } | Op::AddController { .. } | Op::Move { .. }
        ) {
            let fw = self.derived.analysis.firmware.kind;
            let numbering = edit::numbering(self.topology(), &op, fw);
            if !numbering.collateral.is_empty() {
                self.offer_numbering(op, numbering);
                return;
            }
        }
        self.perform_now(op);
    }

    /// Applies an edit without asking about renames.
    pub(super) fn perform_now(&mut self, op: Op) {
        let focus = match &op {
            Op::Move { device, .. }
            | Op::SetModel { device, .. }
            | Op::SetHotplug { device, .. }
            | Op::ClearAddress { device } => Some(*device),
            _ => None,
        };
        match edit::apply(self.topology(), &op) {
            Ok(out) => {
                let label = op.label(self.topology());
                self.commit(label, out, focus);
            }
            Err(e) => self.say(Severity::Error, e.message),
        }
    }

    /// The same edit at the place that keeps the guest's numbering, as one step.
    pub(super) fn perform_instead(&mut self, instead: edit::Instead) {
        let focus = instead.ops.iter().find_map(|op| match op {
            Op::Move { device, .. } => Some(*device),
            _ => None,
        });
        match edit::apply_as_one(self.topology(), &instead.ops) {
            Ok(out) => self.commit(instead.label, out, focus),
            Err(e) => self.say(Severity::Error, e.message),
        }
    }

    /// Makes `out` the current state, labelled `label`, re-runs the analyses, selects
    /// `focus` or what the edit created, and says what the edit renames in the guest.
    fn commit(
        &mut self,
        label: String,
        out: crate::core::topology::Topology,
        focus: Option<Origin>,
    ) {
        let before: HashSet<Origin> = self.topology().devices.iter().map(|d| d.origin).collect();
        let prev = self.topology().clone();
        self.session.history.push(label.clone(), out);
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
                // The rename first: it is what the status line has room for.
                self.say(
                    Severity::Warning,
                    format!("{} {}{more} (after: {label})", w.code, w.message),
                );
            }
            None => self.say(Severity::Info, label),
        }
    }

    /// The question before an edit that renames what the guest has: every rename,
    /// and the place that keeps the old numbering (or that there is none).
    fn offer_numbering(&mut self, op: Op, numbering: edit::Numbering) {
        let t = self.topology();
        let label = op.label(t);
        let what = match &op {
            Op::AddDevice { at, .. } | Op::AddController { at, .. } => match at {
                Placement::At(a) => format!("{label} at {}", a.bdf()),
                Placement::Auto => format!("{label} where libvirt puts it"),
                Placement::Unassigned => format!("{label} with no address"),
            },
            _ => label,
        };
        let mut text = format!("{what} renames what the guest has:\n");
        for d in numbering.collateral.iter().take(6) {
            text.push_str(&format!("  {} {}\n", d.code, d.message));
        }
        if numbering.collateral.len() > 6 {
            text.push_str(&format!("  and {} more\n", numbering.collateral.len() - 6));
        }
        let keys = match &numbering.instead {
            Some(i) => {
                text.push_str(&format!(
                    "To keep the old numbering: {}; it renames nothing.",
                    i.label
                ));
                "k keep the numbering · y/Enter as chosen · n/Esc cancel"
            }
            None => {
                text.push_str(&match numbering.untried {
                    0 => "No legal place keeps the old numbering.".to_string(),
                    n => format!(
                        "None of the {} nearest places keeps the old numbering ({n} more \
                         not tried).",
                        edit::TRIES
                    ),
                });
                "y/Enter as chosen · n/Esc cancel"
            }
        };
        self.popups.push(Popup::Confirm(
            Confirm {
                title: "renames in the guest".into(),
                text,
                keys: keys.into(),
            },
            Question::Renames {
                op,
                instead: numbering.instead,
            },
        ));
    }

    pub(super) fn add(&mut self) {
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
        self.pick("add", entries, Question::AddWhat);
    }

    /// Entry `i` of the add list: a device (its model next, when it has several) or a
    /// controller (a switch asks for its downstream ports), then its place.
    pub(super) fn add_what(&mut self, i: usize) {
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
                    Question::AddModel { template: i },
                );
            }
        } else if let Some(&m) = CONTROLLER_MODELS.get(i - TEMPLATES.len()) {
            if m == PciModel::PcieSwitchUpstreamPort {
                let entries = (1..=8)
                    .map(|n| Entry::new(n.to_string(), "downstream ports"))
                    .collect();
                self.pick("how many downstream ports?", entries, Question::SwitchPorts);
            } else {
                self.places(NewThing::Controller {
                    model: m,
                    downstream: 0,
                });
            }
        }
    }

    /// Adds the new thing at the place chosen.
    pub(super) fn add_at(&mut self, thing: NewThing, at: Placement) {
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
        self.perform(op);
    }

    /// The places offered for a new thing: libvirt's choice, no address, and every
    /// legal place: whole slots first (those on the selected bus first), then the
    /// free functions of slots in use, each saying what it shares.
    pub(super) fn places(&mut self, thing: NewThing) {
        let t = self.topology();
        let targets = match &thing {
            NewThing::Device { template, model } => edit::device_targets(t, *template, model),
            NewThing::Controller { model, .. } => edit::controller_targets(t, *model),
        };
        let here = self.row().and_then(|r| r.bus);
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
        for p in self.place_entries(targets, None, |a| Some(a.bus) != here) {
            places.push(Placement::At(p.at));
            entries.push(Entry::new(p.at.bdf(), p.detail(None)));
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
            Question::Place { thing, places },
        );
    }

    /// Legal places in the order the pickers offer them, whole slots before functions
    /// of a slot in use, then by `first` (false first), bus, slot and function; each
    /// with where it is (the bus, what it shares) and what the edit writes besides
    /// (function 0's `multifunction='on'`).
    fn place_entries(
        &self,
        targets: Vec<PciAddr>,
        moving: Option<Origin>,
        first: impl Fn(&PciAddr) -> bool,
    ) -> Vec<Place> {
        let t = self.topology();
        let shared = edit::sharings(t, &targets, moving);
        let mut out: Vec<(PciAddr, Option<edit::Sharing>)> =
            targets.into_iter().zip(shared).collect();
        out.sort_by_key(|(a, s)| (s.is_some(), first(a), a.bus, a.slot, a.function));
        out.into_iter()
            .map(|(at, s)| {
                let mut place = Place {
                    at,
                    shared: s.is_some(),
                    where_: self.bus_name(at.bus),
                    note: None,
                };
                let Some(s) = s else { return place };
                match &s.function0 {
                    Some(edit::SlotMate::Device(o)) => {
                        let who = edit::index_of(t, *o).map_or_else(
                            || "a device".to_string(),
                            |i| t.devices[i].describe(&t.machine),
                        );
                        place.where_.push_str(&format!(", beside {who}"));
                    }
                    Some(edit::SlotMate::Chipset(name)) => {
                        place.where_.push_str(&format!(", beside the {name}"));
                    }
                    None => place.where_.push_str(&format!(
                        ", with {} function{} of the slot in use",
                        s.others,
                        if s.others == 1 { "" } else { "s" }
                    )),
                }
                if s.sets_multifunction {
                    let fn0 = PciAddr::new(at.bus, at.slot, 0);
                    place.note = Some(match s.function0 {
                        None => "it gets multifunction='on'".to_string(),
                        Some(_) => format!("{} gets multifunction='on'", fn0.bdf()),
                    });
                }
                place
            })
            .collect()
    }

    pub(super) fn bus_name(&self, bus: u32) -> String {
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

    pub(super) fn delete(&mut self) {
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
            self.perform(Op::Delete { device: d.origin });
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
            Question::Delete { device: origin },
        ));
    }

    pub(super) fn movable(&mut self) -> Option<(usize, Vec<PciAddr>)> {
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

    pub(super) fn move_pick(&mut self) {
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
        // Its own bus last; what it becomes at each place, from the analyses of the
        // moved guest; a very long list says it for the first places only, to keep a
        // key press quick.
        let placed = self.place_entries(targets, Some(origin), |a| Some(a.bus) == here);
        let shared = placed.iter().filter(|p| p.shared).count();
        let targets: Vec<PciAddr> = placed.iter().map(|p| p.at).collect();
        let mut entries: Vec<Entry> = placed
            .iter()
            .enumerate()
            .map(|(k, p)| {
                let b = if k < 64 {
                    explain::becomes(&self.view(), i, p.at)
                } else {
                    String::new()
                };
                Entry::new(
                    p.at.bdf(),
                    p.detail(Some(b.as_str()).filter(|b| !b.is_empty())),
                )
            })
            .collect();
        let title = match shared {
            0 => format!("move {what} to"),
            n => format!("move {what} to ({} slots, {n} shared)", targets.len() - n),
        };
        if convert::can_go_to_mmio(t, i) {
            entries.insert(
                0,
                Entry::new("virtio-mmio", "the virt board's mmio transports"),
            );
            let pending = Question::MoveOrMmio {
                device: origin,
                targets,
            };
            self.pick(title, entries, pending);
            return;
        }
        self.pick(
            title,
            entries,
            Question::MoveTo {
                device: origin,
                targets,
            },
        );
    }

    pub(super) fn cut(&mut self) {
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
    pub(super) fn row_bus(&self, r: usize) -> Option<u32> {
        let row = self.rows.get(r)?;
        row.bus
            .or_else(|| row.parent.and_then(|p| self.rows[p].bus))
    }

    pub(super) fn paste(&mut self) {
        let Some((origin, targets)) = self.cut.clone() else {
            self.say(Severity::Info, "nothing cut: x on a device first");
            return;
        };
        // Onto the virtio-mmio section (or a device in it): the mmio transport.
        let in_mmio = |r: usize| {
            self.rows.get(r).is_some_and(|row| {
                row.key == RowKey::Section(crate::tui::rows::Section::Mmio)
                    || row.parent.is_some_and(|p| {
                        self.rows[p].key == RowKey::Section(crate::tui::rows::Section::Mmio)
                    })
            })
        };
        if in_mmio(self.selected) {
            let t = self.topology();
            match edit::index_of(t, origin) {
                Some(i) if convert::can_go_to_mmio(t, i) => {
                    self.cut = None;
                    self.perform(Op::ToMmio { device: origin });
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
        // A whole slot of that bus first, else a free function of the selected
        // device's slot, else any free function on the bus.
        let slot = self
            .rows
            .get(self.selected)
            .and_then(|r| r.device)
            .and_then(|i| self.topology().devices.get(i))
            .and_then(|d| d.pci_addr())
            .filter(|a| a.bus == bus)
            .map(|a| a.slot);
        let whole = edit::sharings(self.topology(), &targets, Some(origin));
        let on_bus = |a: &PciAddr| a.bus == bus;
        let to = targets
            .iter()
            .zip(&whole)
            .find(|(a, s)| on_bus(a) && s.is_none())
            .map(|(a, _)| a)
            .or_else(|| targets.iter().find(|a| on_bus(a) && Some(a.slot) == slot))
            .or_else(|| targets.iter().find(|a| on_bus(a)));
        match to {
            Some(&to) => self.perform(Op::Move { device: origin, to }),
            None => {
                let name = self.bus_name(bus);
                self.say(Severity::Warning, format!("no legal slot {name}"));
            }
        }
    }

    pub(super) fn model_pick(&mut self) {
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
                let what = explain::with_model(&self.view(), i, m);
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
            Question::Model {
                device: origin,
                models,
            },
        );
    }

    pub(super) fn hotplug(&mut self) {
        let Some(i) = self.selected_device() else {
            return;
        };
        let d = &self.topology().devices[i];
        match &d.pci {
            Some(p) if p.model.is_port() => {
                let on = p.hotplug == Some(false);
                let device = d.origin;
                self.perform(Op::SetHotplug { device, on });
            }
            _ => self.say(
                Severity::Info,
                "hotplug is a setting of root ports and downstream ports",
            ),
        }
    }

    pub(super) fn fix(&mut self) {
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
        let Some(ShownProblem {
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
        // Through `commit`, like every edit: a fix that moves a device says what it
        // renames in the guest (a NIC behind the new bridge gets a new name).
        let label = format!("fix {}: {}", diag.code, fix.summary);
        self.commit(label, out, here);
    }

    /// The guest OS the analyses assume (`None`: no driver checks).
    pub(super) fn choose_os(&mut self, id: Option<&str>) {
        self.ctx.os = id.map(|id| crate::host::osinfo::guest_os(id, IdSource::User));
        self.refresh();
        let what = self
            .ctx
            .os
            .as_ref()
            .map_or("none".to_string(), GuestOs::label);
        self.say(Severity::Info, format!("guest OS: {what}"));
    }

    /// The firmware the analyses assume (`None`: from the domain).
    pub(super) fn choose_firmware(&mut self, id: Option<&'static str>) {
        self.ctx.firmware = id.and_then(io_space::firmware);
        self.refresh();
        let fw = self.derived.analysis.firmware.name;
        self.say(Severity::Info, format!("firmware: {fw}"));
    }

    pub(super) fn os_pick(&mut self) {
        let mut ids = vec![None];
        let mut entries = vec![Entry::new("(none)", "no guest OS: no driver checks")];
        for os in guest_os::table() {
            ids.push(Some(os.short_id().to_string()));
            entries.push(Entry::new(os.short_id(), os.name.clone()));
        }
        self.pick("guest OS", entries, Question::Os { ids });
    }

    /// Offers every pair of known libvirt and QEMU releases; the current one first.
    pub(super) fn target_pick(&mut self) {
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
            Question::Target { platforms },
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

    pub(super) fn firmware_pick(&mut self) {
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
        self.pick("firmware", entries, Question::Firmware { ids });
    }

    pub(super) fn convert_pick(&mut self) {
        let targets = convert::targets(self.topology());
        if targets.is_empty() {
            self.say(Severity::Info, "no conversion for this machine type");
            return;
        }
        let entries = targets
            .iter()
            .map(|&to| Entry::new(to.name(), convert::describe(to)))
            .collect();
        self.pick("convert to", entries, Question::ConvertTo { targets });
    }

    pub(super) fn convert_preview(&mut self, to: crate::core::convert::To) {
        match convert::conversion(&self.session, &self.ctx, to) {
            Ok(c) if c.is_empty() => {
                self.say(
                    Severity::Info,
                    format!("nothing to convert to {}", to.name()),
                );
            }
            Ok(c) => {
                let view = convert::preview(&self.session, &self.ctx, &c, self.ascii);
                self.popups
                    .push(Popup::Preview(view, Question::Convert { to }));
            }
            Err(e) => self.say(Severity::Warning, format!("convert refused: {e}")),
        }
    }

    pub(super) fn convert_apply(&mut self, to: crate::core::convert::To) {
        match convert::conversion(&self.session, &self.ctx, to) {
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
}

/// A legal place as the pickers show it.
struct Place {
    at: PciAddr,
    /// It shares a slot with other functions.
    shared: bool,
    /// The bus, and what it is beside.
    where_: String,
    /// What the edit writes besides the device's address.
    note: Option<String>,
}

impl Place {
    /// `on pcie-root #0, beside video qxl: transitional, IO +0x80; 00:01.0 gets
    /// multifunction='on'`, with what the device `becomes` there.
    fn detail(&self, becomes: Option<&str>) -> String {
        let mut out = self.where_.clone();
        if let Some(b) = becomes {
            out.push_str(": ");
            out.push_str(b);
        }
        if let Some(n) = &self.note {
            out.push_str("; ");
            out.push_str(n);
        }
        out
    }
}
