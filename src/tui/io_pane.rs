//! IO port space: the gauge line (what the bridge windows and devices use against the
//! firmware's budget, and the outcome) with the status message beside it, and the IO
//! pane (`i`) listing which bridges get windows, why, and what loses IO when the budget
//! is exceeded.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::app::View;
use super::theme::severity_mark;
use super::tree::size_text;
use crate::core::io_space::{BarStatus, Outcome};

/// The gauge's spans: the bar sized by what the guest asks for (demand) against the
/// firmware's budget, both numbers, and the whole outcome word. Under every firmware
/// it means the same: demand, not what is left after OVMF stripped or dropped.
pub fn gauge_spans(view: &View) -> Vec<Span<'static>> {
    let th = &view.theme;
    let io = &view.derived.analysis.io;
    if io.outcome == Outcome::NotModelled || io.budget == 0 {
        return vec![Span::styled(
            " IO: none (no x86 IO port space on this machine)",
            th.dim(),
        )];
    }
    let ok = matches!(io.outcome, Outcome::Fits);
    let width = 10u64;
    let demand = io.demand;
    let filled = ((demand as u64 * width).div_ceil(io.budget.max(1) as u64)).min(width) as usize;
    let over = demand > io.budget;
    let (full, empty, more) = if view.ascii {
        ("#", ".", ">")
    } else {
        ("█", "░", "▶")
    };
    vec![
        Span::raw(" IO "),
        Span::styled(full.repeat(filled), th.gauge(ok)),
        Span::styled(empty.repeat(width as usize - filled), th.dim()),
        // Past the budget the bar cannot grow; the arrow says it would.
        Span::styled(
            if over { format!("{more} ") } else { " ".into() },
            th.gauge(ok),
        ),
        // Both in hex: "0x1080 of 60K" made people compare two units.
        Span::raw(format!("{demand:#x} of {:#x} ", io.budget)),
        Span::styled(io.outcome.name().to_string(), th.gauge(ok)),
    ]
}

/// Draws the gauge and the status message; a message longer than its room ends in
/// an ellipsis (the whole text is in the messages list, `M`).
pub fn render_gauge(f: &mut Frame<'_>, area: Rect, view: &View) {
    let th = &view.theme;
    let spans = gauge_spans(view);
    let gauge_w: usize = spans.iter().map(|s| s.width()).sum::<usize>() + 2;
    let [left, right] =
        Layout::horizontal([Constraint::Length(gauge_w as u16), Constraint::Min(0)]).areas(area);
    // On a tiny screen a message takes the whole line: what an edit or a save did
    // must be seen (the IO pane still has the gauge's figures).
    let (left, right) = if view.status.is_some() && area.width < 60 && right.width < 30 {
        (Rect::default(), area)
    } else {
        (left, right)
    };
    f.render_widget(Paragraph::new(Line::from(spans)), left);
    if let Some(s) = &view.status {
        let mark = format!("{} ", severity_mark(s.severity, view.ascii));
        let room = (right.width as usize).saturating_sub(mark.chars().count());
        let line = Line::from(vec![
            Span::styled(mark, th.severity(s.severity)),
            Span::raw(super::text::ellipsis(&s.text, room)),
        ]);
        f.render_widget(Paragraph::new(line), right);
    }
}

/// The lines of the IO pane.
pub fn lines(view: &View) -> Vec<Line<'static>> {
    let th = &view.theme;
    let a = &view.derived.analysis;
    let io = &a.io;
    let mut out = vec![
        Line::styled(format!("IO ports under {}", a.firmware.name), th.heading()),
        Line::styled(a.firmware_source.describe().to_string(), th.dim()),
    ];
    if io.outcome == Outcome::NotModelled {
        out.push(Line::from(
            "none: this machine has no x86 IO port space, so no firmware IO budget applies",
        ));
        return out;
    }
    out.push(Line::from(format!(
        "budget {:#x}  demand {:#x}  used {:#x}  → {}",
        io.budget,
        io.demand,
        io.used,
        io.outcome.name()
    )));
    out.push(Line::default());
    out.push(Line::styled("bridge windows", th.heading()));
    for w in &io.windows {
        if w.size == 0 && w.reasons.is_empty() {
            continue;
        }
        let reasons: Vec<&str> = w.reasons.iter().map(|r| r.name()).collect();
        let mut s = format!(
            "{} {} #{} {} ({})",
            w.addr.bdf(),
            w.model.name(),
            w.index,
            size_text(w.size),
            reasons.join(", ")
        );
        if w.padding_stripped {
            s.push_str(" padding stripped");
        }
        if w.read_only {
            s.push_str(" read-only");
        }
        out.push(Line::from(s));
    }
    out.push(Line::default());
    out.push(Line::styled("devices with IO BARs", th.heading()));
    for d in io.devices.iter().filter(|d| !d.bars.is_empty()) {
        let st = match d.status {
            BarStatus::Dropped | BarStatus::NotProgrammed | BarStatus::Unreachable => th.alert(),
            _ => th.text(),
        };
        out.push(Line::styled(
            format!(
                "{} {} {} {}",
                d.addr.bdf(),
                d.label,
                size_text(d.total()),
                d.status.name()
            ),
            st,
        ));
    }
    for n in &io.notes {
        out.push(Line::styled(format!("note: {n}"), th.dim()));
    }
    out
}

/// Draws the IO pane.
pub fn render(f: &mut Frame<'_>, area: Rect, view: &View) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(view.theme.border(false))
        .title(Span::styled(
            " IO port plan (i: details) ",
            view.theme.heading(),
        ));
    f.render_widget(
        Paragraph::new(lines(view))
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
