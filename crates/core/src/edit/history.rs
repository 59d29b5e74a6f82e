//! Undo and redo: labelled snapshots of the topology, each with the payload the front
//! end keeps beside it, and which one matches the file on disk.

use super::*;

/// One state of the topology and the edit that led to it.
#[derive(Clone, Debug)]
pub struct Entry<B = ()> {
    /// What the edit did (`"opened"` for the first entry).
    pub label: String,
    /// The topology after it.
    pub topology: Topology,
    /// What the front end keeps with the state besides the topology (the libvirt
    /// layer keeps the document the topology was read from, which an edit of the raw
    /// XML replaces); carried over unchanged by topology edits.
    pub base: B,
}

/// Whether two states' payloads are the same (see [`Entry::base`]); states with the
/// same topology but a different payload are different states.
pub trait SameBase {
    /// True when `self` and `other` are the same payload.
    fn same(&self, other: &Self) -> bool;
}

impl SameBase for () {
    fn same(&self, _: &()) -> bool {
        true
    }
}

/// Undo and redo over labelled snapshots. Topologies are small enough to copy whole,
/// which keeps undo trivially correct; the oldest entries go beyond [`History::LIMIT`].
#[derive(Clone, Debug)]
pub struct History<B = ()> {
    entries: Vec<Entry<B>>,
    current: usize,
    /// The entry that matches the file on disk, if it is still in the history.
    saved: Option<usize>,
}

impl History<()> {
    /// A history whose only state is `t`, which is also what is on disk.
    pub fn new(t: Topology) -> History<()> {
        History::with_base(t, ())
    }
}

impl<B: Clone + SameBase> History<B> {
    /// How many states are kept.
    pub const LIMIT: usize = 500;

    /// A history whose only state is `t` with payload `base`, which is also what is
    /// on disk.
    pub fn with_base(t: Topology, base: B) -> History<B> {
        History {
            entries: vec![Entry {
                label: "opened".into(),
                topology: t,
                base,
            }],
            current: 0,
            saved: Some(0),
        }
    }

    /// The current topology.
    pub fn current(&self) -> &Topology {
        &self.entries[self.current].topology
    }

    /// The current state's payload.
    pub fn base(&self) -> &B {
        &self.entries[self.current].base
    }

    /// The label of the current state.
    pub fn label(&self) -> &str {
        &self.entries[self.current].label
    }

    /// Predicts every state for `platform` from now on. The target is not an edit of
    /// the guest: it changes all states alike, so undo and redo never change it back
    /// and whether the guest is saved does not change.
    pub fn set_platform(&mut self, platform: crate::versions::Platform) {
        for e in &mut self.entries {
            e.topology.platform = platform;
        }
    }

    /// Records an edit: applies `op` to the current topology and makes the result
    /// current; the states that could have been redone are dropped.
    pub fn record(&mut self, op: &Op) -> Result<&str, EditError> {
        let label = op.label(self.current());
        let t = apply(self.current(), op)?;
        self.push(label, t);
        Ok(self.label())
    }

    /// Makes `t` the current state, labelled `label`, with the current payload.
    pub fn push(&mut self, label: String, t: Topology) {
        let base = self.base().clone();
        self.push_with_base(label, t, base);
    }

    /// Makes `t` with payload `base` the current state, labelled `label`.
    pub fn push_with_base(&mut self, label: String, t: Topology, base: B) {
        self.entries.truncate(self.current + 1);
        if self.saved.is_some_and(|s| s > self.current) {
            self.saved = None;
        }
        self.entries.push(Entry {
            label,
            topology: t,
            base,
        });
        self.current += 1;
        if self.entries.len() > Self::LIMIT {
            self.entries.remove(0);
            self.current -= 1;
            self.saved = self.saved.and_then(|s| s.checked_sub(1));
        }
    }

    /// Goes back one state; returns the label of the edit undone.
    pub fn undo(&mut self) -> Option<String> {
        if self.current == 0 {
            return None;
        }
        let label = self.entries[self.current].label.clone();
        self.current -= 1;
        Some(label)
    }

    /// Goes forward one state; returns the label of the edit redone.
    pub fn redo(&mut self) -> Option<String> {
        if self.current + 1 >= self.entries.len() {
            return None;
        }
        self.current += 1;
        Some(self.entries[self.current].label.clone())
    }

    /// Whether there is something to undo.
    pub fn can_undo(&self) -> bool {
        self.current > 0
    }

    /// Whether there is something to redo.
    pub fn can_redo(&self) -> bool {
        self.current + 1 < self.entries.len()
    }

    /// Whether the current state differs from the one last saved.
    pub fn dirty(&self) -> bool {
        self.saved.is_none_or(|s| {
            let saved = &self.entries[s];
            !saved.base.same(self.base()) || saved.topology != *self.current()
        })
    }

    /// Records that the current state is now on disk.
    pub fn mark_saved(&mut self) {
        self.saved = Some(self.current);
    }

    /// Every entry, oldest first, and the position of the current one.
    pub fn entries(&self) -> (&[Entry<B>], usize) {
        (&self.entries, self.current)
    }
}
