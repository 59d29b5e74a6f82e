//! `-c URI` / `--domain`: the libvirt connection a run reads its domain from.

use super::*;

/// The command line with connection options written before the subcommand
/// (`virt-pci -c URI tree DOMAIN`) moved after it, where clap takes them (an option
/// before a subcommand would make the subcommand's name a FILE). Anything else is
/// left as it is.
pub fn connection_options_last(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory as _;
    let cmd = Args::command();
    let is_sub = |a: &std::ffi::OsString| {
        let a = a.to_string_lossy();
        cmd.get_subcommands()
            .any(|s| s.get_name() == a || s.get_all_aliases().any(|x| x == a))
    };
    let mut moved = Vec::new();
    let mut i = 1;
    while i < args.len() {
        let a = args[i].to_string_lossy();
        if a == "-c" || a == "--connect" {
            moved.extend(args.get(i..i + 2).unwrap_or(&args[i..]).iter().cloned());
            i += 2;
        } else if a.starts_with("--connect=")
            || a == "--domain"
            || (a.starts_with("-c") && a.len() > 2)
        {
            moved.push(args[i].clone());
            i += 1;
        } else {
            break;
        }
    }
    if moved.is_empty() || i >= args.len() || !is_sub(&args[i]) {
        return args;
    }
    let mut out = vec![args[0].clone(), args[i].clone()];
    out.extend(moved);
    out.extend(args[i + 1..].iter().cloned());
    out
}

/// The libvirt connection chosen with `-c` / `--domain`, set once before the command
/// runs, so that every command's loader reads domains from it instead of files.
pub(super) static CONNECTION: std::sync::OnceLock<crate::host::libvirt::Connection> =
    std::sync::OnceLock::new();

/// The connection, when the command line chose one.
pub fn connection() -> Option<&'static crate::host::libvirt::Connection> {
    CONNECTION.get()
}

/// Reads domain `name` from `conn`: its persistent definition, and its live
/// configuration when it runs (the commands show what differs; see `running`).
pub(super) fn load_domain(
    conn: &crate::host::libvirt::Connection,
    name: &str,
) -> Result<(String, Vec<u8>, Option<crate::running::Live>), Failure> {
    let display = format!("{}:{name}", conn.describe());
    let xml = conn
        .inactive_xml(name)
        .map_err(|e| Failure::bad_input(format!("{display}: error: {e}")))?;
    Ok((
        display,
        xml.into_bytes(),
        crate::running::Live::read(conn, name),
    ))
}

/// For the commands that do not show the running guest beside its next boot: a note
/// on stderr that the domain runs and what that means for the output.
pub(super) fn note_running(loaded: &Loaded) {
    if let Some(r) = &loaded.running {
        eprintln!(
            "note: domain '{}' is running: this is its next-boot definition; {}",
            r.domain,
            crate::render::live::TAKES_EFFECT
        );
    }
}
