//! `audit`: many guests checked in parallel (files, directories or a libvirt connection).

use super::*;

/// What `audit` reads: domains of the connection (all of them with `--all`, else the
/// named ones), or files and directories.
pub(super) fn audit_inputs(
    paths: &[PathBuf],
    all: bool,
) -> Result<Vec<crate::audit::Input>, Failure> {
    use rayon::prelude::*;
    let conn = match connection() {
        Some(c) => c.clone(),
        None if all => crate::host::libvirt::Connection::default(),
        None => return Ok(crate::audit::inputs_from_paths(paths)),
    };
    let names: Vec<String> = if all {
        conn.list_all()
            .map_err(|e| Failure::bad_input(format!("{}: error: {e}", conn.describe())))?
    } else {
        paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    };
    // One virsh per domain, run in parallel: a fleet of hundreds would otherwise wait
    // on each round trip in turn.
    Ok(names
        .par_iter()
        .map(|n| {
            let source = format!("{}:{n}", conn.describe());
            let xml = conn
                .inactive_xml(n)
                .map_err(|e| format!("{source}: error: {e}"));
            crate::audit::Input::Text(source, xml)
        })
        .collect())
}

/// Runs the audit with a progress bar on a terminal and prints the rows.
pub(super) fn cmd_audit(
    inputs: Vec<crate::audit::Input>,
    json: bool,
    csv: bool,
    args: &AnalysisArgs,
    layout: &WidthArgs,
) -> Result<i32, Failure> {
    use std::io::IsTerminal as _;
    let choices = args.choices();
    if inputs.is_empty() {
        return Err(Failure::bad_input(
            "error: nothing to audit: give domain XML files or directories".into(),
        ));
    }
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(inputs.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} guests {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let rows = crate::audit::audit_all(&inputs, &choices, &|| bar.inc(1));
    bar.finish_and_clear();
    for r in &rows {
        if let Some(e) = &r.error {
            eprintln!("{e}");
        }
    }
    let text = if json {
        crate::render::audit::render_json(&rows)
    } else if csv {
        crate::render::audit::render_csv(&rows)
    } else {
        crate::render::audit::render_table(&rows, output_width(layout.width))
    };
    print(&text)?;
    Ok(crate::audit::exit_status(&rows))
}
