//! Reading inputs and writing outputs: the target of the run, loading a domain (file,
//! stdin or libvirt), failures with their exit status, printing, diagnostics on stderr,
//! the width text is laid out for.

use super::*;

/// The target chosen for this run (set once by [`run`]; [`load`] gives it to every
/// topology it reads).
pub(super) static TARGET: std::sync::OnceLock<crate::host::platform::Target> =
    std::sync::OnceLock::new();

/// The target of this run: what [`run`] chose, else the newest known pair.
pub fn target() -> crate::host::platform::Target {
    TARGET.get().cloned().unwrap_or_default()
}

/// `{"target": ..., rest of the object}` for a JSON text the renderers made.
pub(super) fn with_target_json(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(m)) => {
            let mut out = serde_json::Map::new();
            out.insert(
                "target".into(),
                serde_json::to_value(crate::render::json::TargetJson::of(&target()))
                    .unwrap_or_default(),
            );
            out.extend(m);
            let mut s =
                serde_json::to_string_pretty(&serde_json::Value::Object(out)).unwrap_or_default();
            s.push('\n');
            s
        }
        _ => text.to_string(),
    }
}

/// A failure that ends the command with an exit status and a message for stderr.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub(super) fn bad_input(message: String) -> Failure {
        Failure {
            code: EXIT_BAD_INPUT,
            message,
        }
    }
}

/// A domain read from a file or libvirt: its display name, the document and the
/// model; for a running libvirt domain, what differs from its live configuration.
pub struct Loaded {
    pub path: String,
    pub doc: Document,
    pub topology: Topology,
    pub running: Option<crate::running::Report>,
}

/// Reads and parses `path` (`-` = stdin). Errors carry `file:line:col: error: ...`.
pub fn load(path: &Path) -> Result<Loaded, Failure> {
    let (display, bytes, live) = if let Some(conn) = connection()
        && path != Path::new("-")
    {
        load_domain(conn, &path.to_string_lossy())?
    } else {
        let (display, bytes) = crate::host::files::read_input(path).map_err(Failure::bad_input)?;
        (display, bytes, None)
    };
    // The document takes the bytes over: a large file is held once.
    let mut loaded = finish_loaded(display, Document::parse_vec(bytes))?;
    loaded.running = live.map(|l| l.against(&loaded.topology));
    Ok(loaded)
}

/// `text` (a JSON object the renderers made) with `running` added for a running
/// libvirt domain; unchanged otherwise.
pub(super) fn with_running_json(text: &str, loaded: &Loaded) -> String {
    let Some(r) = &loaded.running else {
        return text.to_string();
    };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(mut m)) => {
            m.insert(
                "running".into(),
                serde_json::to_value(crate::render::live::RunningJson::of(r)).unwrap_or_default(),
            );
            let mut s =
                serde_json::to_string_pretty(&serde_json::Value::Object(m)).unwrap_or_default();
            s.push('\n');
            s
        }
        _ => text.to_string(),
    }
}

/// The running section (`render::live::section`) in front of a command's text, for
/// a running libvirt domain.
pub(super) fn running_section(loaded: &Loaded) -> String {
    loaded
        .running
        .as_ref()
        .map_or(String::new(), crate::render::live::section)
}

/// Parses bytes read from `display`.
pub(super) fn parse_loaded(display: String, bytes: &[u8]) -> Result<Loaded, Failure> {
    finish_loaded(display, Document::parse_bytes(bytes))
}

fn finish_loaded(
    display: String,
    doc: Result<Document, crate::libvirt::xml::XmlError>,
) -> Result<Loaded, Failure> {
    let doc = doc.map_err(|e| {
        Failure::bad_input(format!(
            "{display}:{}:{}: error: {}",
            e.pos.line, e.pos.column, e.message
        ))
    })?;
    let mut topology = read_topology(&doc).map_err(|e| {
        Failure::bad_input(format!(
            "{display}:{}:{}: error: {}",
            e.pos.line, e.pos.column, e.message
        ))
    })?;
    topology.platform = target().platform;
    Ok(Loaded {
        path: display,
        doc,
        topology,
        running: None,
    })
}

/// Writes `text` to stdout, treating a closed pipe as success.
pub fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure {
            code: EXIT_BAD_INPUT,
            message: format!("error: cannot write output: {e}"),
        }),
    }
}

/// Formats a diagnostic for stderr: `FILE:LINE: error [CODE]: message` plus the hint.
pub fn format_diagnostic(
    path: &str,
    topology: &Topology,
    d: &crate::core::diag::Diagnostic,
) -> String {
    let line = d
        .device
        .and_then(|i| topology.devices.get(i))
        .map(|dev| dev.line);
    // Values quoted in the message come from the input: cut long ones.
    let message = crate::libvirt::xml::clip_message(&d.message);
    let mut s = match line {
        Some(l) => format!("{path}:{l}: {} [{}]: {message}", d.severity.name(), d.code,),
        None => format!("{path}: {} [{}]: {message}", d.severity.name(), d.code),
    };
    if let Some(h) = &d.hint {
        s.push_str(&format!("\n  hint: {h}"));
    }
    s
}

/// The width to lay text out for (the renderers only wrap to it): `asked` (`--width N`; 0 means no wrapping), else the
/// terminal's width (`COLUMNS`, then the tty) when standard output is a terminal, else
/// none.
pub fn output_width(asked: Option<usize>) -> Option<usize> {
    match asked {
        Some(0) => None,
        Some(n) => Some(n),
        None if std::io::IsTerminal::is_terminal(&std::io::stdout()) => std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&c| c > 0)
            .or_else(|| {
                ratatui::crossterm::terminal::size()
                    .ok()
                    .map(|(w, _)| w as usize)
            }),
        None => None,
    }
}
