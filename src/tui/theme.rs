//! Colours by meaning: every widget asks the theme for the style of what it draws
//! (a selected row, a badge, a severity) and never names a colour itself. The
//! monochrome theme uses only bold, reverse and underline, for `NO_COLOR` and for
//! terminals without colour.

use ratatui::style::{Color, Modifier, Style};

use crate::core::diag::Severity;
use crate::core::virtio::Mode;

/// The styles of one theme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// Colours are used.
    pub color: bool,
}

impl Theme {
    /// The colour theme.
    pub const COLOR: Theme = Theme { color: true };
    /// The monochrome theme.
    pub const MONO: Theme = Theme { color: false };

    /// The colour theme unless `NO_COLOR` is set (to anything non-empty).
    pub fn from_env() -> Theme {
        match std::env::var_os("NO_COLOR") {
            Some(v) if !v.is_empty() => Theme::MONO,
            _ => Theme::COLOR,
        }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    /// Plain text.
    pub fn text(&self) -> Style {
        Style::new()
    }

    /// Secondary text.
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    /// The title bar.
    pub fn title(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Cyan)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// A pane border; the focused one stands out.
    pub fn border(&self, focused: bool) -> Style {
        match (focused, self.color) {
            (true, true) => Style::new().fg(Color::Cyan),
            (true, false) => Style::new().add_modifier(Modifier::BOLD),
            (false, _) => self.dim(),
        }
    }

    /// The selected row.
    pub fn selected(&self) -> Style {
        if self.color {
            Style::new().bg(Color::Blue).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// A row that is a legal target of the pending move.
    pub fn target(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Green).add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::UNDERLINED)
        }
    }

    /// A PCI address.
    pub fn address(&self) -> Style {
        self.fg(Color::Yellow)
    }

    /// A controller's label.
    pub fn controller(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// A chipset function.
    pub fn locked(&self) -> Style {
        self.dim()
    }

    /// A virtio mode badge.
    pub fn mode(&self, m: Mode) -> Style {
        match m {
            Mode::Transitional => self.fg(Color::Green),
            Mode::ModernOnly => self.fg(Color::Magenta),
            Mode::LegacyOnly => self.fg(Color::Red),
            Mode::Mmio => self.fg(Color::Blue),
        }
    }

    /// A diagnostic marker or message.
    pub fn severity(&self, s: Severity) -> Style {
        let st = match s {
            Severity::Error => self.fg(Color::Red),
            Severity::Warning => self.fg(Color::Yellow),
            Severity::Info => self.fg(Color::Blue),
        };
        if s == Severity::Error {
            st.add_modifier(Modifier::BOLD)
        } else {
            st
        }
    }

    /// An IO window badge.
    pub fn window(&self) -> Style {
        self.fg(Color::LightBlue)
    }

    /// A key in the key bar or help.
    pub fn key(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Gray)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    /// The IO gauge's filled part, by whether the budget holds.
    pub fn gauge(&self, ok: bool) -> Style {
        match (self.color, ok) {
            (true, true) => Style::new().fg(Color::Green),
            (true, false) => Style::new().fg(Color::Red),
            (false, _) => Style::new(),
        }
    }

    /// The unsaved-changes marker and other alerts.
    pub fn alert(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    /// A line of a diff: added or removed.
    pub fn diff(&self, added: bool) -> Style {
        match (self.color, added) {
            (true, true) => Style::new().fg(Color::Green),
            (true, false) => Style::new().fg(Color::Red),
            (false, true) => Style::new().add_modifier(Modifier::BOLD),
            (false, false) => Style::new().add_modifier(Modifier::DIM),
        }
    }

    /// A heading inside a pane.
    pub fn heading(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
}

/// The short badge text of a virtio mode.
pub fn mode_badge(m: Mode) -> &'static str {
    match m {
        Mode::Transitional => "transitional",
        Mode::ModernOnly => "modern",
        Mode::LegacyOnly => "legacy",
        Mode::Mmio => "mmio",
    }
}

/// The marker of a severity.
pub fn severity_mark(s: Severity, ascii: bool) -> &'static str {
    match (s, ascii) {
        (Severity::Error, false) => "✗",
        (Severity::Warning, false) => "▲",
        (Severity::Info, false) => "ℹ",
        (Severity::Error, true) => "E",
        (Severity::Warning, true) => "W",
        (Severity::Info, true) => "i",
    }
}
