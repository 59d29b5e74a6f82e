//! The terminal's life cycle, in one place: raw mode, the alternate screen and mouse
//! capture on the way in; all of them undone (bracketed paste too, the cursor shown) on
//! every way out: normal return, early error return (a drop guard), panic (a hook
//! installed before the terminal is touched) and the catchable signals.
//!
//! Signals are received by a signal-hook thread (no hand-written handlers), which only
//! records them; the event source looks at the record between two polls (200 ms):
//! - SIGINT, SIGHUP, SIGQUIT, SIGTERM end the event loop; the designer restores the
//!   terminal and exits with 128 + N. Should the loop not notice within two seconds
//!   (stuck in a computation, or a dead terminal), the signal thread restores the
//!   terminal and exits itself.
//! - SIGTSTP (and Ctrl-Z, which raw mode delivers as a key) gives the terminal back,
//!   stops the process as the default action would, and on SIGCONT (`fg`) takes the
//!   terminal again and redraws everything. A SIGCONT after a stop we did not see
//!   (SIGSTOP) also takes the terminal again and redraws.

use std::io::{self, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

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

/// Takes the terminal (again): raw mode, alternate screen (cleared), mouse capture.
fn take() -> io::Result<()> {
    enable_raw_mode()?;
    execute!(
        io::stdout(),
        EnterAlternateScreen,
        ratatui::crossterm::terminal::Clear(ratatui::crossterm::terminal::ClearType::All),
        EnableMouseCapture
    )
}

/// The signal that asked the designer to end (0: none).
static EXIT_SIGNAL: AtomicI32 = AtomicI32::new(0);
/// SIGTSTP arrived: suspend at the next look.
static SUSPEND: AtomicBool = AtomicBool::new(false);
/// SIGCONT arrived: take the terminal again.
static CONTINUED: AtomicBool = AtomicBool::new(false);
/// The screen must be drawn whole at the next draw (after a suspension).
static REDRAW: AtomicBool = AtomicBool::new(false);

/// The signal number that ended the designer, if one did.
pub fn exit_signal() -> Option<i32> {
    match EXIT_SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n),
    }
}

/// Whether the whole screen must be drawn again (clears the request).
pub fn take_redraw() -> bool {
    REDRAW.swap(false, Ordering::SeqCst)
}

/// What the event source must do before it waits for input.
pub enum SignalAction {
    /// Nothing.
    Nothing,
    /// End the loop: a signal asked for it.
    Exit,
    /// The terminal was given back and taken again: redraw.
    Redraw,
}

/// Handles what the signals recorded: suspends (returning once continued), takes the
/// terminal again after a SIGCONT, or says the loop must end.
pub fn pending() -> SignalAction {
    if exit_signal().is_some() {
        return SignalAction::Exit;
    }
    if SUSPEND.swap(false, Ordering::SeqCst) {
        suspend();
        return SignalAction::Redraw;
    }
    if CONTINUED.swap(false, Ordering::SeqCst) {
        let _ = take();
        REDRAW.store(true, Ordering::SeqCst);
        return SignalAction::Redraw;
    }
    SignalAction::Nothing
}

/// Gives the terminal back, stops the process (the default action of SIGTSTP), and
/// once continued takes the terminal again.
pub fn suspend() {
    restore();
    stop_self();
    // The SIGCONT that woke us is handled here; its record is stale.
    CONTINUED.store(false, Ordering::SeqCst);
    let _ = take();
    REDRAW.store(true, Ordering::SeqCst);
}

#[cfg(unix)]
fn stop_self() {
    let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGTSTP);
}

#[cfg(not(unix))]
fn stop_self() {}

static HOOKS: Once = Once::new();

fn install_hooks() {
    HOOKS.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        signals::install();
    });
}

/// Takes over the terminal.
pub fn enter() -> io::Result<Guard> {
    install_hooks();
    if let Err(e) = take() {
        restore();
        return Err(e);
    }
    match Terminal::new(CrosstermBackend::new(io::stdout())) {
        Ok(terminal) => Ok(Guard { terminal }),
        Err(e) => {
            restore();
            Err(e)
        }
    }
}

#[cfg(unix)]
mod signals {
    //! The signal-hook thread: records each signal for the event loop.

    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use signal_hook::consts::{SIGCONT, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP};
    use signal_hook::iterator::Signals;

    use super::{CONTINUED, EXIT_SIGNAL, SUSPEND};

    pub(super) fn install() {
        let Ok(mut signals) = Signals::new([SIGINT, SIGHUP, SIGQUIT, SIGTERM, SIGTSTP, SIGCONT])
        else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    match sig {
                        SIGTSTP => SUSPEND.store(true, Ordering::SeqCst),
                        SIGCONT => CONTINUED.store(true, Ordering::SeqCst),
                        n => {
                            if EXIT_SIGNAL
                                .compare_exchange(0, n, Ordering::SeqCst, Ordering::SeqCst)
                                .is_ok()
                            {
                                std::thread::spawn(move || {
                                    // The event loop had its chance: leave anyway.
                                    std::thread::sleep(Duration::from_secs(2));
                                    super::restore();
                                    std::process::exit(crate::host::files::EXIT_SIGNAL_BASE + n);
                                });
                            }
                        }
                    }
                }
            });
    }
}

#[cfg(not(unix))]
mod signals {
    pub(super) fn install() {}
}
