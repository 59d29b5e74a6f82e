//! `assign` and `check`: libvirt's addresses and everything libvirt, the guest OS or the
//! firmware would refuse.

use super::*;

pub(super) fn cmd_assign(
    file: &Path,
    output: Option<&Path>,
    in_place: bool,
    force: bool,
) -> Result<i32, Failure> {
    let (display, bytes) = crate::host::files::read_input(file).map_err(Failure::bad_input)?;
    let mut loaded = parse_loaded(display, &bytes)?;
    let plan = match crate::core::assign::assign(&loaded.topology) {
        Ok(p) => p,
        Err(d) => {
            eprintln!("{}", format_diagnostic(&loaded.path, &loaded.topology, &d));
            return Ok(EXIT_REFUSED);
        }
    };
    // New devices can shift what the guest already has: warn before it happens.
    let fw = if loaded.topology.efi {
        crate::core::io_space::FirmwareKind::Ovmf
    } else {
        crate::core::io_space::FirmwareKind::SeaBios
    };
    let before = crate::core::guest::without_unplaced(&loaded.topology);
    for d in crate::core::guest::rename_warnings(&before, &loaded.topology, fw) {
        eprintln!("{}", format_diagnostic(&loaded.path, &loaded.topology, &d));
    }
    crate::libvirt::write_plan(&mut loaded.doc, &loaded.topology, &plan);
    let text = loaded.doc.write();
    let dest = if in_place {
        if file == Path::new("-") {
            return Err(Failure::bad_input(
                "error: --in-place needs a file, not standard input".into(),
            ));
        }
        Some((file, true))
    } else {
        output.filter(|o| *o != Path::new("-")).map(|o| (o, false))
    };
    match dest {
        Some((path, backup)) => {
            let opts = crate::host::files::SaveOptions {
                // The original as read, not whatever is on disk by now.
                backup: backup.then_some(bytes.as_slice()),
                force,
                break_links: false,
            };
            crate::host::files::save(path, text.as_bytes(), opts).map_err(|e| Failure {
                code: EXIT_BAD_INPUT,
                message: match e {
                    crate::host::files::SaveError::ReadOnly(_) => {
                        format!("error: {e} (give --force to replace it)")
                    }
                    _ => format!("error: {e}"),
                },
            })?;
        }
        None => print(&text)?,
    }
    Ok(EXIT_OK)
}

/// What the analyses assumed, in a few words: `guest OS CentOS 6.10 (centos6.10) from
/// the domain, firmware SeaBIOS 1.16`.
pub(super) fn assumptions(a: &crate::core::analyses::Analysis) -> String {
    use crate::core::guest_os::IdSource;
    let os = match &a.os {
        Some(os) => {
            let from = match os.id_source {
                IdSource::Domain => "from the domain",
                IdSource::User => "as given",
            };
            format!("guest OS {} {from}", os.label())
        }
        None => "guest OS unknown (give --os to check its virtio drivers)".to_string(),
    };
    if a.io.outcome == crate::core::io_space::Outcome::NotModelled {
        format!("{os}; no x86 IO port space on this machine")
    } else {
        format!("{os}, firmware {}", a.firmware.name)
    }
}

/// `ok`, or `2 errors, 1 warning`.
pub(super) fn verdict(severities: impl Iterator<Item = crate::core::diag::Severity>) -> String {
    use crate::core::diag::Severity;
    let mut n = [0usize; 3];
    for s in severities {
        n[match s {
            Severity::Error => 0,
            Severity::Warning => 1,
            Severity::Info => 2,
        }] += 1;
    }
    let parts: Vec<String> = n
        .iter()
        .zip(["error", "warning", "note"])
        .filter(|(c, _)| **c > 0)
        .map(|(c, w)| format!("{c} {w}{}", if *c == 1 { "" } else { "s" }))
        .collect();
    if parts.is_empty() {
        "ok".into()
    } else {
        parts.join(", ")
    }
}

/// Runs every check on every file: libvirt's rules, then (when libvirt accepts the
/// domain) the guest OS's virtio drivers and the IO port space. Exit 2 when any file
/// is unreadable, else 1 when any has errors, else 0.
pub(super) fn cmd_check(
    files: &[PathBuf],
    json: bool,
    args: &AnalysisArgs,
    layout: &WidthArgs,
) -> Result<i32, Failure> {
    use crate::render::json::{CheckFile, CheckJson, TargetJson};
    let choices = args.choices();
    let mut worst = EXIT_OK;
    let mut reports = Vec::new();
    let mut text = String::new();
    for file in files {
        let loaded = match load(file).and_then(|l| {
            let ctx = crate::context::context(&l.doc, &choices)
                .map_err(|e| Failure::bad_input(format!("{}: error: {e}", l.path)))?;
            Ok((l, ctx))
        }) {
            Ok(l) => l,
            Err(f) => {
                eprintln!("{}", f.message);
                worst = EXIT_BAD_INPUT;
                reports.push(CheckFile::Unreadable {
                    file: file.display().to_string(),
                    readable: false,
                    error: f.message,
                });
                continue;
            }
        };
        let (loaded, ctx) = loaded;
        let (report, errors) = check_file(&loaded, &ctx, &mut text);
        if errors && worst == EXIT_OK {
            worst = EXIT_REFUSED;
        }
        reports.push(report);
    }
    if json {
        print(&crate::render::json::pretty(&CheckJson {
            target: TargetJson::of(&target()),
            files: reports,
        }))?;
    } else {
        print(&crate::render::wrap::fit(
            &format!("target: {}\n{text}", target().describe()),
            output_width(layout.width),
        ))?;
    }
    Ok(worst)
}

/// Checks one loaded file: its diagnostics (with fixes) and verdict go into `text`;
/// returns its JSON report and whether it has errors.
fn check_file(
    loaded: &Loaded,
    ctx: &crate::core::analyses::Context,
    text: &mut String,
) -> (crate::render::json::CheckFile, bool) {
    use crate::core::diag::Severity;
    use crate::render::json::{CheckDiagnostic, CheckFile, GuestOsJson};
    let t = &loaded.topology;
    let mut found: Vec<(
        crate::core::diag::Diagnostic,
        Option<crate::core::analyses::Fix>,
    )> = crate::core::assign::check_all(t)
        .into_iter()
        .map(|d| (d, None))
        .collect();
    let analysis = crate::core::analyses::analyse(t, ctx);
    // On a domain libvirt refuses, the analyses would judge a guest that never
    // exists; they run once it is accepted.
    let analysed =
        analysis.refused.is_none() && !found.iter().any(|(d, _)| d.severity == Severity::Error);
    if analysed {
        found.extend(
            analysis
                .findings
                .iter()
                .map(|f| (f.diag.clone(), f.fix.clone())),
        );
    }
    let errors = found
        .iter()
        .filter(|(d, _)| d.severity == Severity::Error)
        .count();
    for (d, fix) in &found {
        text.push_str(&format_diagnostic(&loaded.path, t, d));
        if let Some(f) = fix {
            text.push_str(&format!("\n  fix: {}", f.summary));
        }
        text.push('\n');
    }
    let verdict = verdict(found.iter().map(|(d, _)| d.severity));
    let scope = if analysed {
        assumptions(&analysis)
    } else {
        "virtio driver and IO checks skipped until libvirt accepts the domain".to_string()
    };
    text.push_str(&format!("{}: {verdict} ({scope})\n", loaded.path));
    if let Some(r) = &loaded.running {
        text.push_str(&format!(
            "{}: {}\n",
            loaded.path,
            crate::render::live::summary(r)
        ));
    }
    let report = CheckFile::Checked {
        file: loaded.path.clone(),
        readable: true,
        accepted_by_libvirt: analysis.refused.is_none() && analysed,
        analysed,
        guest_os: analysis.os.as_ref().map(GuestOsJson::of),
        firmware: analysis.firmware.id,
        io_outcome: analysed.then(|| analysis.io.outcome.name()),
        diagnostics: found
            .iter()
            .map(|(d, fix)| CheckDiagnostic::of(t, d, fix.as_ref()))
            .collect(),
        running: loaded
            .running
            .as_ref()
            .map(crate::render::live::RunningJson::of),
    };
    (report, errors > 0)
}
