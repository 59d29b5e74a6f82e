//! The designer on a libvirt domain (`virt-pci -c URI DOMAIN`): opening its persistent
//! definition (and, when it runs, its live configuration, to show what differs), and
//! saving by defining the edited XML back, as `virsh edit` does. The save shows the
//! diff first; libvirt's refusal is shown and the edit stays open; a definition that
//! changed since it was read is never overwritten; a running domain is told that the
//! changes take effect at its next boot.

use crate::host::libvirt::{Connection, Error};

use super::session::Session;

/// Where a session opened from libvirt is saved.
#[derive(Clone, Debug)]
pub struct Target {
    /// The connection.
    pub conn: Connection,
    /// The domain's name.
    pub domain: String,
    /// The persistent definition as read (or as last defined), to detect changes made
    /// by someone else meanwhile.
    as_read: String,
    /// The domain was running when it was opened.
    pub running: bool,
    /// Its live configuration then, when it was running.
    pub live: Option<crate::running::Live>,
}

/// What the title bar and status line say about a running domain.
pub const RUNNING_NOTE: &str = "the domain is running: saved changes take effect at its next boot";

/// Opens `domain`'s persistent definition.
pub fn open(conn: &Connection, domain: &str) -> Result<(Session, Target), String> {
    let display = format!("{}:{domain}", conn.describe());
    let xml = conn
        .inactive_xml(domain)
        .map_err(|e| format!("{display}: error: {e}"))?;
    let live = crate::running::Live::read(conn, domain);
    let session = Session::from_text(&xml, None, display)?;
    Ok((
        session,
        Target {
            conn: conn.clone(),
            domain: domain.to_string(),
            as_read: xml,
            running: live.is_some(),
            live,
        },
    ))
}

/// The diff the user confirms: the definition as read against the edited XML.
pub fn diff(session: &Session, target: &Target) -> Vec<(super::popups::Tone, String)> {
    super::diff::unified(&target.as_read, &session.text(), 3)
}

/// Defines the edited XML. On success the session is saved and what libvirt now holds
/// becomes the base for the next save; on a refusal or a concurrent change the
/// session is left as it is (the edit stays open) and the error says why.
pub fn define(session: &mut Session, target: &mut Target) -> Result<String, String> {
    let text = session.text();
    match target
        .conn
        .define_unchanged(&target.domain, &target.as_read, &text)
    {
        Ok(()) => {
            target.as_read = target.conn.inactive_xml(&target.domain).unwrap_or(text);
            session.history.mark_saved();
            let mut msg = format!("defined {} in libvirt", target.domain);
            if target.running {
                msg.push_str("; ");
                msg.push_str(RUNNING_NOTE);
            }
            Ok(msg)
        }
        Err(Error::Libvirt(e)) => Err(format!("libvirt refused the definition: {e}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs the designer on `domain` of `conn` on the real terminal.
pub fn run(conn: &Connection, domain: &str, opts: &super::Options) -> i32 {
    let (session, target) = match open(conn, domain) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return crate::host::files::EXIT_BAD_INPUT;
        }
    };
    let mut app = super::App::new(session, opts);
    app.open_libvirt(target);
    let result = super::terminal::enter().and_then(|mut guard| {
        super::run_app(
            &mut guard.terminal,
            &mut app,
            &mut super::event::TerminalEvents,
        )
    });
    super::terminal::restore();
    match result {
        Ok(()) => crate::host::files::EXIT_OK,
        Err(e) => {
            eprintln!("error: terminal: {e}");
            crate::host::files::EXIT_BAD_INPUT
        }
    }
}
