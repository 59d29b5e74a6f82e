//! The interactive designer (`virt-pci [FILE]`): a terminal UI over the core. It adds
//! no domain logic: edits are the core's operations (`core::edit`), the analyses are
//! the core's (`core::analyses`), and the XML is written by the libvirt layer.
//!
//! `app` holds the state and the update function and runs the event loop over any
//! backend and event source; `commands` is the one registry behind keys, key bar, help
//! and palette; one file per pane or popup draws it, a pane from the read-only
//! [`app::View`] (never the whole `App`); `terminal` owns the terminal's life cycle.

pub mod app;
pub mod commands;
pub mod convert;
pub mod details;
pub mod diagnostics;
pub mod diff;
pub mod event;
pub mod explain;
pub mod io_pane;
pub mod keybar;
pub mod layout;
pub mod libvirt_save;
pub mod live_pane;
pub mod new_guest;
pub mod picker;
pub mod popups;
pub mod rows;
pub mod save_popup;
pub mod session;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod title;
pub mod tree;
pub mod xml_editor;

use std::path::{Path, PathBuf};

use crate::libvirt::Document;

pub use app::{App, Options, run_app};
pub use event::{EventSource, Script, keys};
pub use session::Session;

/// Where the designer starts.
#[derive(Clone, Debug)]
pub enum Start {
    /// A file (`-` for standard input); one that does not exist yet is a new guest,
    /// saved there, and the designer first asks for its architecture and machine.
    File(PathBuf),
    /// A bundled example.
    Example(&'static crate::examples::Example),
    /// No file: the first bundled example, with the list of all of them offered.
    Examples,
}

/// Opens `file` (`-` for standard input; `None` for the bundled example).
pub fn open(file: Option<&Path>) -> Result<Session, String> {
    match file {
        None => Session::example(),
        Some(p) => {
            let (display, bytes) = crate::host::files::read_input(p)?;
            let text = String::from_utf8(bytes).map_err(|e| {
                let err = Document::parse_bytes(e.as_bytes())
                    .err()
                    .map_or_else(|| "not UTF-8".to_string(), |x| x.to_string());
                format!("{display}:{err}")
            })?;
            let path = (p != Path::new("-")).then(|| PathBuf::from(p));
            Session::from_text(&text, path, display)
        }
    }
}

/// Opens where the designer starts, and what it offers first.
pub fn start(start: &Start, opts: &Options) -> Result<App, String> {
    match start {
        Start::File(p) if p != Path::new("-") && !p.exists() => {
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "new-guest".into());
            let kind = &new_guest::KINDS[0];
            let session =
                Session::from_text(&kind.xml(&name), Some(p.clone()), p.display().to_string())?;
            let mut app = App::new(session, opts);
            app.offer_new_guest(&name);
            Ok(app)
        }
        Start::File(p) => Ok(App::new(open(Some(p))?, opts)),
        Start::Example(e) => Ok(App::new(
            Session::from_text(e.text, None, format!("example: {}", e.name))?,
            opts,
        )),
        Start::Examples => {
            let mut app = App::new(open(None)?, opts);
            app.offer_examples();
            Ok(app)
        }
    }
}

/// Runs the designer on the real terminal; returns the exit status.
pub fn run(start_at: Start, opts: &Options) -> i32 {
    let mut app = match start(&start_at, opts) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return crate::host::files::EXIT_BAD_INPUT;
        }
    };
    let result = terminal::enter()
        .and_then(|mut guard| run_app(&mut guard.terminal, &mut app, &mut event::TerminalEvents));
    terminal::restore();
    if let Some(n) = terminal::exit_signal() {
        return crate::host::files::EXIT_SIGNAL_BASE + n;
    }
    match result {
        Ok(()) => crate::host::files::EXIT_OK,
        Err(e) => {
            eprintln!("error: terminal: {e}");
            crate::host::files::EXIT_BAD_INPUT
        }
    }
}
