//! Where events come from: the [`EventSource`] the event loop reads, the real terminal
//! ([`TerminalEvents`]) and scripted keys for tests ([`Script`], [`keys`]), plus the key
//! notation both the scripts and the command registry use (`"jj<Enter><C-r>"`).

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use ratatui::crossterm::event::{
    self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent,
    MouseEventKind,
};

/// A source of terminal events. `Ok(None)` ends the event loop (a script ran out, or
/// the process was asked to terminate).
pub trait EventSource {
    /// The next event, waiting for it if need be.
    fn next_event(&mut self) -> io::Result<Option<Event>>;
}

/// Events from the real terminal (crossterm). Key releases are dropped (Windows
/// reports them); between polls the signals recorded by `terminal` are acted on: the
/// loop ends after SIGINT, SIGHUP, SIGQUIT or SIGTERM, and SIGTSTP or Ctrl-Z (which raw
/// mode delivers as a key, not as the signal) suspends, then redraws once continued.
#[derive(Debug, Default)]
pub struct TerminalEvents;

impl EventSource for TerminalEvents {
    fn next_event(&mut self) -> io::Result<Option<Event>> {
        use super::terminal::{self, SignalAction};
        let redraw = || {
            let (w, h) = ratatui::crossterm::terminal::size().unwrap_or((80, 24));
            Ok(Some(Event::Resize(w, h)))
        };
        loop {
            match terminal::pending() {
                SignalAction::Exit => return Ok(None),
                SignalAction::Redraw => return redraw(),
                SignalAction::Nothing => {}
            }
            // A dead terminal (hang-up) makes polls fail or return at once: the
            // recorded signal ends the loop at the next turn.
            match event::poll(Duration::from_millis(200)) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(_) if terminal::exit_signal().is_some() => return Ok(None),
                Err(e) => return Err(e),
            }
            match event::read() {
                Ok(Event::Key(k)) if k.kind != KeyEventKind::Press => continue,
                Ok(Event::Key(k))
                    if k.code == KeyCode::Char('z') && k.modifiers == KeyModifiers::CONTROL =>
                {
                    terminal::suspend();
                    return redraw();
                }
                Ok(e) => return Ok(Some(e)),
                Err(_) if terminal::exit_signal().is_some() => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }
}

/// A fixed list of events, for tests.
#[derive(Debug, Default)]
pub struct Script {
    events: VecDeque<Event>,
}

impl Script {
    /// A script of `events`.
    pub fn new(events: impl IntoIterator<Item = Event>) -> Script {
        Script {
            events: events.into_iter().collect(),
        }
    }

    /// Appends the keys of `notation` (see [`parse_keys`]).
    pub fn keys(mut self, notation: &str) -> Script {
        self.events
            .extend(parse_keys(notation).into_iter().map(Event::Key));
        self
    }

    /// Appends a left click at column `x`, row `y`.
    pub fn click(self, x: u16, y: u16) -> Script {
        self.mouse(MouseEventKind::Down(MouseButton::Left), x, y)
            .mouse(MouseEventKind::Up(MouseButton::Left), x, y)
    }

    /// Appends one mouse event.
    pub fn mouse(mut self, kind: MouseEventKind, x: u16, y: u16) -> Script {
        self.events.push_back(Event::Mouse(MouseEvent {
            kind,
            column: x,
            row: y,
            modifiers: KeyModifiers::NONE,
        }));
        self
    }

    /// Appends a drag with the left button from (`x0`, `y0`) to (`x1`, `y1`), with
    /// the motion events a terminal reports on the rows in between.
    pub fn drag(self, (x0, y0): (u16, u16), (x1, y1): (u16, u16)) -> Script {
        let steps: Vec<u16> = if y1 >= y0 {
            (y0..=y1).collect()
        } else {
            (y1..=y0).rev().collect()
        };
        let mut s = self.mouse(MouseEventKind::Down(MouseButton::Left), x0, y0);
        for y in steps.into_iter().skip(1) {
            s = s.mouse(MouseEventKind::Drag(MouseButton::Left), x1, y);
        }
        s.mouse(MouseEventKind::Up(MouseButton::Left), x1, y1)
    }

    /// Appends a resize to `w` x `h`.
    pub fn resize(mut self, w: u16, h: u16) -> Script {
        self.events.push_back(Event::Resize(w, h));
        self
    }
}

impl EventSource for Script {
    fn next_event(&mut self) -> io::Result<Option<Event>> {
        Ok(self.events.pop_front())
    }
}

/// A script of the keys in `notation`: `keys("jj<Enter>a<Down><Enter>")`.
pub fn keys(notation: &str) -> Script {
    Script::default().keys(notation)
}

/// Names of the special keys in the notation.
const NAMES: &[(&str, KeyCode)] = &[
    ("Enter", KeyCode::Enter),
    ("CR", KeyCode::Enter),
    ("Esc", KeyCode::Esc),
    ("Tab", KeyCode::Tab),
    ("BackTab", KeyCode::BackTab),
    ("BS", KeyCode::Backspace),
    ("Backspace", KeyCode::Backspace),
    ("Del", KeyCode::Delete),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("PageUp", KeyCode::PageUp),
    ("PageDown", KeyCode::PageDown),
    ("Space", KeyCode::Char(' ')),
    ("lt", KeyCode::Char('<')),
    ("F1", KeyCode::F(1)),
    ("F2", KeyCode::F(2)),
];

/// Parses key notation: plain characters stand for themselves; `<Name>` is a special
/// key from the table above; `<C-x>`, `<A-x>` and `<S-Name>` add Ctrl, Alt and Shift.
/// A `<` that does not start a valid `<...>` group is the character itself.
pub fn parse_keys(notation: &str) -> Vec<KeyEvent> {
    let mut out = Vec::new();
    let mut rest = notation;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
            && let Some(k) = parse_group(&rest[1..end])
        {
            out.push(k);
            rest = &rest[end + 1..];
            continue;
        }
        out.push(char_key(c));
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn char_key(c: char) -> KeyEvent {
    // Terminals report upper-case letters with Shift; so does this notation.
    let mods = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    KeyEvent::new(KeyCode::Char(c), mods)
}

fn parse_group(inner: &str) -> Option<KeyEvent> {
    let mut mods = KeyModifiers::NONE;
    let mut name = inner;
    while name.len() > 2 && name.as_bytes()[1] == b'-' {
        mods |= match name.as_bytes()[0] {
            b'C' => KeyModifiers::CONTROL,
            b'A' => KeyModifiers::ALT,
            b'S' => KeyModifiers::SHIFT,
            _ => return None,
        };
        name = &name[2..];
    }
    if let Some((_, code)) = NAMES.iter().find(|(n, _)| *n == name) {
        return Some(KeyEvent::new(*code, mods));
    }
    let mut chars = name.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if !mods.is_empty() => {
            let k = char_key(c);
            Some(KeyEvent::new(k.code, k.modifiers | mods))
        }
        _ => None,
    }
}

/// Normalises a key event for lookup: Shift on an upper-case letter is implied by the
/// letter, and key kind and state do not matter.
pub fn normalise(k: KeyEvent) -> (KeyCode, KeyModifiers) {
    let mut mods = k.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
    if let KeyCode::Char(c) = k.code {
        if c.is_ascii_uppercase() || !c.is_alphanumeric() {
            // Shifted symbols ('?', ':') and capitals arrive with or without Shift.
            mods -= KeyModifiers::SHIFT;
        }
        if mods.contains(KeyModifiers::CONTROL) {
            return (KeyCode::Char(c.to_ascii_lowercase()), mods);
        }
    }
    (k.code, mods)
}

/// The character a key types into a text field, if it types one.
pub fn typed_char(k: &KeyEvent) -> Option<char> {
    match k.code {
        KeyCode::Char(c)
            if !k
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(c)
        }
        _ => None,
    }
}

/// How a key spec is shown to people: `<C-r>` as `Ctrl-r`, `<Down>` as `↓`.
pub fn display(spec: &str) -> String {
    let Some(inner) = spec.strip_prefix('<').and_then(|s| s.strip_suffix('>')) else {
        return spec.to_string();
    };
    let (prefix, name) = match inner.split_at_checked(2) {
        Some(("C-", n)) => ("Ctrl-", n),
        Some(("A-", n)) => ("Alt-", n),
        Some(("S-", n)) => ("Shift-", n),
        _ => ("", inner),
    };
    let name = match name {
        "Up" => "↑",
        "Down" => "↓",
        "Left" => "←",
        "Right" => "→",
        "PageUp" => "PgUp",
        "PageDown" => "PgDn",
        "lt" => "<",
        n => n,
    };
    format!("{prefix}{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notation_covers_plain_special_and_modified_keys() {
        let k = parse_keys("jJ<Enter><C-r><lt>x<S-Tab><oops>");
        let codes: Vec<_> = k.iter().map(|k| normalise(*k)).collect();
        assert_eq!(codes[0], (KeyCode::Char('j'), KeyModifiers::NONE));
        assert_eq!(codes[1], (KeyCode::Char('J'), KeyModifiers::NONE));
        assert_eq!(codes[2], (KeyCode::Enter, KeyModifiers::NONE));
        assert_eq!(codes[3], (KeyCode::Char('r'), KeyModifiers::CONTROL));
        assert_eq!(codes[4], (KeyCode::Char('<'), KeyModifiers::NONE));
        assert_eq!(codes[6], (KeyCode::Tab, KeyModifiers::SHIFT));
        // "<oops>" is not a group: six characters.
        assert_eq!(k.len(), 7 + 6);
        assert_eq!(display("<C-r>"), "Ctrl-r");
    }
}
