//! The commands that show one guest: `tree`, `io`, `qemu-args`, `guest` and `which`.

use super::*;

pub(super) fn cmd_tree(
    file: &Path,
    json: bool,
    ascii: bool,
    defined: bool,
    format: TreeFormat,
    args: &AnalysisArgs,
    layout: &WidthArgs,
) -> Result<i32, Failure> {
    use crate::render::tree::{render_json_analysed, render_text_analysed};
    let loaded = load(file)?;
    let ctx = crate::context::context(&loaded.doc, &args.choices())
        .map_err(|e| Failure::bad_input(format!("{}: error: {e}", loaded.path)))?;
    let analysis = crate::core::analyses::analyse(&loaded.topology, &ctx);
    // The defined guest's analysis is the same one: its indexes are the input's, plus
    // what libvirt adds at the end.
    let shown = if defined {
        &analysis.defined
    } else {
        &loaded.topology
    };
    let text = match format {
        TreeFormat::Svg | TreeFormat::Dot => {
            note_running(&loaded);
            let picture = crate::render::picture::picture(shown, &analysis);
            if format == TreeFormat::Svg {
                crate::render::svg::render(&picture)
            } else {
                crate::render::dot::render(&picture)
            }
        }
        _ if json || format == TreeFormat::Json => with_running_json(
            &with_target_json(&render_json_analysed(shown, &analysis)),
            &loaded,
        ),
        _ => crate::render::wrap::fit(
            &format!(
                "target: {}\n{}{}",
                target().describe(),
                running_section(&loaded),
                render_text_analysed(shown, ascii, &analysis)
            ),
            output_width(layout.width),
        ),
    };
    print(&text)?;
    Ok(EXIT_OK)
}

pub(super) fn cmd_io(
    file: &Path,
    firmware: Option<values::FirmwareArg>,
    json: bool,
    layout: &WidthArgs,
) -> Result<i32, Failure> {
    use crate::render::io_space::{loses_io, render_json, render_text};
    let choices = crate::context::Choices {
        firmware: firmware.map(values::FirmwareArg::id),
        ..crate::context::Choices::default()
    };
    let loaded = load(file)?;
    let ctx = crate::context::context(&loaded.doc, &choices)
        .map_err(|e| Failure::bad_input(format!("{}: error: {e}", loaded.path)))?;
    let analysis = crate::core::analyses::analyse(&loaded.topology, &ctx);
    let text = if json {
        with_running_json(
            &with_target_json(&render_json(&loaded.path, &analysis)),
            &loaded,
        )
    } else {
        crate::render::wrap::fit(
            &format!(
                "target: {}\n{}{}",
                target().describe(),
                running_section(&loaded),
                render_text(&loaded.path, &analysis)
            ),
            output_width(layout.width),
        )
    };
    print(&text)?;
    Ok(if analysis.refused.is_some() || loses_io(&analysis.io) {
        EXIT_REFUSED
    } else {
        EXIT_OK
    })
}

pub(super) fn cmd_qemu_args(file: &Path) -> Result<i32, Failure> {
    let loaded = load(file)?;
    note_running(&loaded);
    let (defined, refused) = crate::core::analyses::as_defined(&loaded.topology);
    if let Some(d) = refused {
        eprintln!("{}", format_diagnostic(&loaded.path, &loaded.topology, &d));
        return Ok(EXIT_REFUSED);
    }
    let args = crate::core::qemu_args::device_args(&defined);
    print(&crate::render::qemu_args::render_text(&args))?;
    Ok(EXIT_OK)
}

/// The guest views of a loaded domain: the chosen firmware's and the other one's.
pub(super) fn guest_views(
    loaded: &Loaded,
    firmware: Option<GuestFirmware>,
) -> Result<
    (
        Topology,
        crate::core::guest::GuestView,
        crate::core::guest::GuestView,
    ),
    Failure,
> {
    use crate::core::guest::guest_view;
    use crate::core::io_space::FirmwareKind;
    let (defined, refused) = crate::core::analyses::as_defined(&loaded.topology);
    if let Some(d) = refused {
        return Err(Failure {
            code: EXIT_REFUSED,
            message: format_diagnostic(&loaded.path, &loaded.topology, &d),
        });
    }
    let fw = match firmware {
        Some(GuestFirmware::Seabios) => FirmwareKind::SeaBios,
        Some(GuestFirmware::Ovmf) => FirmwareKind::Ovmf,
        None if loaded.topology.efi => FirmwareKind::Ovmf,
        None => FirmwareKind::SeaBios,
    };
    let other = match fw {
        FirmwareKind::SeaBios => FirmwareKind::Ovmf,
        FirmwareKind::Ovmf => FirmwareKind::SeaBios,
    };
    let v = guest_view(&defined, fw);
    let o = guest_view(&defined, other);
    Ok((defined, v, o))
}

pub(super) fn cmd_guest(
    file: &Path,
    firmware: Option<GuestFirmware>,
    json: bool,
) -> Result<i32, Failure> {
    use crate::render::guest::{render_json, render_text};
    let loaded = load(file)?;
    let (defined, v, o) = guest_views(&loaded, firmware)?;
    let text = if json {
        with_running_json(&render_json(&loaded.path, &defined, &v, Some(&o)), &loaded)
    } else {
        format!(
            "{}{}",
            running_section(&loaded),
            render_text(&loaded.path, &defined, &v, Some(&o))
        )
    };
    print(&text)?;
    Ok(EXIT_OK)
}

pub(super) fn cmd_which(
    bdf: &str,
    file: &Path,
    firmware: Option<GuestFirmware>,
) -> Result<i32, Failure> {
    use crate::core::guest::GuestAddr;
    let Some(addr) = GuestAddr::parse(bdf) else {
        return Err(Failure::bad_input(format!(
            "error: {bdf:?} is not a PCI address (0000:05:00.0 or 05:00.0)"
        )));
    };
    let loaded = load(file)?;
    note_running(&loaded);
    let (defined, v, _) = guest_views(&loaded, firmware)?;
    let Some(f) = v.at(addr) else {
        eprintln!(
            "{}: no function at {addr} under {}",
            loaded.path,
            crate::render::guest::firmware_name(v.firmware)
        );
        return Ok(EXIT_REFUSED);
    };
    // Elements from the file have their node as origin; what libvirt adds has none.
    let xml = f
        .device
        .filter(|&i| i < loaded.topology.devices.len())
        .and_then(|i| defined.devices.get(i))
        .map(|d| {
            loaded
                .doc
                .write_subtree(crate::libvirt::xml::NodeId(d.origin.0))
        });
    print(&crate::render::guest::render_which(
        &defined,
        f,
        xml.as_deref(),
    ))?;
    Ok(EXIT_OK)
}
