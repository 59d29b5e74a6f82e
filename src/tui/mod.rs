//! The interactive designer (`virt-pci [FILE]`): a terminal UI over the core. It adds
//! no domain logic: edits are the core's operations (`core::edit`), the analyses are
//! the core's (`core::live`), and the XML is written by the libvirt layer.
//!
//! `app` holds the state and the update function and runs the event loop over any
//! backend and event source; `commands` is the one registry behind keys, key bar, help
//! and palette; one file per pane or popup draws it; `terminal` owns the terminal's
//! life cycle.

pub mod app;
pub mod commands;
pub mod details;
pub mod diagnostics;
pub mod diff;
pub mod event;
pub mod io;
pub mod keybar;
pub mod layout;
pub mod libvirt_save;
pub mod picker;
pub mod popups;
pub mod rows;
pub mod session;
pub mod terminal;
pub mod theme;
pub mod title;
pub mod tree;
pub mod xml_editor;

use std::io::Read;
use std::path::{Path, PathBuf};

pub use app::{App, Options, run_app};
pub use event::{EventSource, Script, keys};
pub use session::Session;

/// Opens `file` (`-` for standard input; `None` for the bundled example).
pub fn open(file: Option<&Path>) -> Result<Session, String> {
    match file {
        None => Session::example(),
        Some(p) if p == Path::new("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("<stdin>: error: cannot read: {e}"))?;
            Session::from_text(&text, None, "<stdin>".into())
        }
        Some(p) => {
            let display = p.display().to_string();
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("{display}: error: cannot read: {e}"))?;
            Session::from_text(&text, Some(PathBuf::from(p)), display)
        }
    }
}

/// Runs the designer on the real terminal; returns the exit status.
pub fn run(file: Option<&Path>, opts: &Options) -> i32 {
    let session = match open(file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return crate::cli::EXIT_BAD_INPUT;
        }
    };
    let mut app = App::new(session, opts);
    let result = terminal::enter()
        .and_then(|mut guard| run_app(&mut guard.terminal, &mut app, &mut event::TerminalEvents));
    terminal::restore();
    match result {
        Ok(()) => crate::cli::EXIT_OK,
        Err(e) => {
            eprintln!("error: terminal: {e}");
            crate::cli::EXIT_BAD_INPUT
        }
    }
}
