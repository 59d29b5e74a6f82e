//! The terminal's life cycle, in one place: raw mode, the alternate screen and mouse
//! capture on the way in; all of them undone (bracketed paste too) on every way out:
//! normal return, early error return (a drop guard), panic (a hook installed before
//! the terminal is touched) and SIGTERM (the event source ends the loop).

use std::io::{self, Stdout, Write};
use std::sync::Once;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{DisableBracketedPaste, DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

/// The terminal while the designer runs; restores it when dropped.
pub struct Guard {
    /// The ratatui terminal.
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts everything back as it was: mouse capture and bracketed paste off, the main
/// screen back, the cursor shown, cooked mode. Safe to call more than once.
pub fn restore() {
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        ratatui::crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

static HOOKS: Once = Once::new();

fn install_hooks() {
    HOOKS.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        sigterm::install();
    });
}

/// Takes over the terminal.
pub fn enter() -> io::Result<Guard> {
    install_hooks();
    enable_raw_mode()?;
    let mut out = io::stdout();
    if let Err(e) = execute!(out, EnterAlternateScreen, EnableMouseCapture) {
        restore();
        return Err(e);
    }
    match Terminal::new(CrosstermBackend::new(out)) {
        Ok(terminal) => Ok(Guard { terminal }),
        Err(e) => {
            restore();
            Err(e)
        }
    }
}

#[cfg(unix)]
mod sigterm {
    //! SIGTERM ends the event loop through [`TERMINATE`](super::super::event::TERMINATE);
    //! the handler only stores to an atomic, which is async-signal-safe.

    use std::sync::atomic::Ordering;

    use super::super::event::TERMINATE;

    const SIGTERM: i32 = 15;
    const SIGHUP: i32 = 1;

    unsafe extern "C" {
        fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
        fn _exit(status: i32) -> !;
    }

    extern "C" fn on_signal(_: i32) {
        TERMINATE.store(true, Ordering::Relaxed);
    }

    /// The terminal is gone: there is nothing to restore, and reads of a hung-up
    /// terminal return at once, so waiting for the event loop to notice would spin
    /// (crossterm keeps polling the dead descriptor). Leave at once.
    extern "C" fn on_hangup(_: i32) {
        // SAFETY: `_exit` is async-signal-safe.
        unsafe { _exit(128 + SIGHUP) }
    }

    pub(super) fn install() {
        // SAFETY: `signal` is the C library's; the handlers only store to an atomic or
        // call `_exit`, both async-signal-safe.
        unsafe {
            signal(SIGTERM, on_signal);
            signal(SIGHUP, on_hangup);
        }
    }
}

#[cfg(not(unix))]
mod sigterm {
    pub(super) fn install() {}
}
