//! The title bar: the guest, its machine, the guest OS and firmware the analyses
//! assume, the libvirt and QEMU releases they predict, the file, the
//! unsaved-changes marker, and for a running libvirt domain whether the running guest
//! differs from the next boot being edited.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::View;

/// Draws the title bar.
pub fn render(f: &mut Frame<'_>, area: Rect, view: &View) {
    let t = view.topology();
    let th = &view.theme;
    let m = &t.machine;
    let os = view
        .context()
        .os
        .as_ref()
        .map_or("os: unknown".to_string(), |o| {
            format!(
                "os: {}",
                o.info.as_ref().map_or(o.id.as_str(), |(i, _)| i.short_id())
            )
        });
    let mut spans = vec![
        Span::styled(" virt-pci ", th.title()),
        Span::raw(" "),
        Span::styled(
            if t.name.is_empty() {
                "(unnamed)".to_string()
            } else {
                t.name.clone()
            },
            th.heading(),
        ),
        Span::raw(format!(
            "  {}  {os}  {}  ",
            machine_label(m),
            // No firmware IO budget applies without x86 IO port space.
            if view.derived.analysis.io.outcome == crate::core::io_space::Outcome::NotModelled {
                "no x86 IO"
            } else {
                view.derived.analysis.firmware.id
            },
        )),
    ];
    if view.dirty() {
        spans.push(Span::styled("[+] ", th.alert()));
    }
    // A running libvirt domain: what is edited is its next boot, and whether the
    // running guest differs from it (R lists the differences).
    if let Some(r) = view.running {
        let (text, style) = match &r.differences {
            Ok(d) if d.is_empty() => ("[running] ".to_string(), th.dim()),
            Ok(d) => (format!("[running: {} differ, R] ", d.len()), th.alert()),
            Err(_) => ("[running: live unreadable] ".to_string(), th.alert()),
        };
        spans.push(Span::styled(text, style));
    }
    // What the analyses predict: libvirt and QEMU releases differ in what they
    // accept and where they put what they add. It comes before the file, which
    // gives way first on a narrow screen.
    let p = view.target.platform;
    spans.push(Span::styled(
        format!(
            "libvirt {}/QEMU {}  ",
            p.libvirt_rules().name,
            p.qemu_rules().name
        ),
        th.dim(),
    ));
    // A long path keeps its end (the file name), cut at the front with an ellipsis.
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let room = (area.width as usize).saturating_sub(used);
    let display = view.display();
    let shown = if super::text::width(display) <= room {
        display.to_string()
    } else {
        let tail: String = display
            .chars()
            .rev()
            .take(room.saturating_sub(1))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if room == 0 {
            String::new()
        } else {
            format!("…{tail}")
        }
    };
    spans.push(Span::styled(shown, th.dim()));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// `pc-q35-7.2`, or `pc (i440fx)` when the name does not say the chipset.
fn machine_label(m: &crate::core::machine::Machine) -> String {
    let class = m.class.name();
    match m.machine_type.as_str() {
        "" => format!("? ({class})"),
        ty if ty.contains(class) => ty.to_string(),
        ty => format!("{ty} ({class})"),
    }
}
