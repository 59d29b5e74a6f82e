//! `convert`: carrying a guest to another machine type or transport.

use super::*;

pub(super) fn cmd_convert(a: &ConvertArgs) -> Result<i32, Failure> {
    use crate::core::convert::{Options, convert};
    use crate::render::convert::{render_json, render_text, unified_diff};
    let on_libvirt = connection().is_some() && a.file != Path::new("-");
    if a.define && !on_libvirt {
        return Err(Failure::bad_input(
            "error: --define defines a libvirt domain: name it with -c URI DOMAIN or --domain DOMAIN".into(),
        ));
    }
    if a.in_place && on_libvirt {
        return Err(Failure::bad_input(
            "error: --in-place rewrites a file; to define the converted domain in libvirt, give --define".into(),
        ));
    }
    let loaded = load(&a.file)?;
    note_running(&loaded);
    let ctx = crate::context::context(&loaded.doc, &a.analysis.choices())
        .map_err(|e| Failure::bad_input(format!("{}: error: {e}", loaded.path)))?;
    if a.in_place && a.file == Path::new("-") {
        return Err(Failure::bad_input(
            "error: --in-place needs a file, not standard input".into(),
        ));
    }
    let opts = Options {
        to: a.to.core(),
        spare_ports: a.spare_ports,
        force: a.force,
        secure_boot: crate::libvirt::meta::secure_boot(&loaded.doc),
    };
    let to = opts.to.name();
    let t = &loaded.topology;
    let result = convert(t, &ctx, &opts);
    let c = match &result {
        Ok(c) => c,
        Err(d) => {
            if a.json {
                print(&render_json(&loaded.path, to, t, &result, None, None, &[]))?;
            } else {
                eprintln!("{}", format_diagnostic(&loaded.path, t, d));
            }
            return Ok(EXIT_REFUSED);
        }
    };
    // What the guest will see renamed: its network configuration and fstab name
    // interfaces and paths that a conversion moves.
    let (fw, _) = crate::core::analyses::choose_firmware(t, &ctx);
    let renames = crate::core::guest::rename_warnings(t, &c.result, fw.kind);
    let old = loaded.doc.write();
    let mut doc = loaded.doc.clone();
    crate::libvirt::write::write_topology(&mut doc, t, &c.result);
    let new = doc.write();
    let diff = a.diff.then(|| unified_diff(&loaded.path, &old, &new));
    let dest = if a.in_place {
        Some((a.file.as_path(), true))
    } else {
        a.output
            .as_deref()
            .filter(|o| *o != Path::new("-"))
            .map(|o| (o, false))
    };
    if a.define
        && let Some(conn) = connection()
    {
        define(conn, &a.file.to_string_lossy(), &old, &new, &loaded)?;
    } else if let Some((path, backup)) = dest
        && (new != old || !backup)
    {
        let opts = crate::host::files::SaveOptions {
            // The original as read, not whatever is on disk by now.
            backup: backup.then_some(old.as_bytes()),
            force: false,
            break_links: false,
        };
        crate::host::files::save(path, new.as_bytes(), opts).map_err(|e| Failure {
            code: EXIT_BAD_INPUT,
            message: format!("error: {e}"),
        })?;
    }
    if a.json {
        let xml = (dest.is_none() && !a.diff && !a.define).then_some(new.as_str());
        print(&render_json(
            &loaded.path,
            to,
            t,
            &result,
            xml,
            diff.as_deref(),
            &renames,
        ))?;
    } else {
        eprint!("{}", render_text(&loaded.path, t, c));
        for d in &renames {
            eprintln!("{}", format_diagnostic(&loaded.path, &c.result, d));
        }
        match (&diff, dest) {
            (Some(d), _) => print(d)?,
            (None, None) if !a.define => print(&new)?,
            (None, _) => {}
        }
    }
    Ok(EXIT_OK)
}

/// `--define`: the converted XML defined back, as the designer saves a domain: never
/// over a definition that changed since it was read (`old`, the text the conversion
/// started from).
fn define(
    conn: &crate::host::libvirt::Connection,
    domain: &str,
    old: &str,
    new: &str,
    loaded: &Loaded,
) -> Result<(), Failure> {
    use crate::host::libvirt::Error;
    if new == old {
        eprintln!(
            "{}: nothing to define: the conversion changes nothing",
            loaded.path
        );
        return Ok(());
    }
    match conn.define_unchanged(domain, old, new) {
        Ok(()) => {
            eprintln!("{}: defined the converted domain in libvirt", loaded.path);
            if loaded.running.is_some() {
                eprintln!(
                    "{}: the domain is running: {}",
                    loaded.path,
                    crate::render::live::TAKES_EFFECT
                );
            }
            Ok(())
        }
        Err(e @ Error::Changed(_)) => Err(Failure {
            code: EXIT_REFUSED,
            message: format!("{}: error: {e}", loaded.path),
        }),
        Err(Error::Libvirt(e)) => Err(Failure {
            code: EXIT_REFUSED,
            message: format!(
                "{}: error: libvirt refused the converted definition: {e}",
                loaded.path
            ),
        }),
        Err(e) => Err(Failure::bad_input(format!("{}: error: {e}", loaded.path))),
    }
}
