//! `tree --format svg`: the picture as a standalone SVG document, laid out here as an
//! indented tree (one box per row, depth by indentation, elbow connectors), so that
//! no graphviz is needed and the result is the same on every machine. Each class of
//! box differs in fill lightness, pattern and border style, not only in hue, so the
//! picture survives grey-scale print; errors get a thick border and their codes.

use std::fmt::Write as _;

use super::picture::{Class, Node, Picture};

const MARGIN: f64 = 16.0;
const INDENT: f64 = 28.0;
const ROW: f64 = 44.0;
const BOX_H: f64 = 36.0;
/// Advance of one character of the 12 px monospace font.
const CHAR_W: f64 = 7.2;
const TOP: f64 = 44.0;

/// Fill, border colour, border width, dash pattern and text colour of a class.
struct Look {
    fill: &'static str,
    stroke: &'static str,
    width: f64,
    dash: &'static str,
    text: &'static str,
}

fn look(c: Class) -> Look {
    let l = |fill, stroke, width, dash, text| Look {
        fill,
        stroke,
        width,
        dash,
        text,
    };
    match c {
        Class::Root => l("#1b3a6b", "#0d1f3c", 2.0, "", "#ffffff"),
        Class::Port => l("#cfe0f5", "#2b5797", 1.5, "", "#000000"),
        Class::Bridge => l("url(#hatch)", "#1b3a6b", 2.5, "", "#000000"),
        Class::Device => l("#ffffff", "#444444", 1.0, "", "#000000"),
        Class::VirtioModern => l("#c8e6c9", "#2e7d32", 1.5, "", "#000000"),
        Class::VirtioTransitional => l("url(#dots)", "#8d6e00", 1.5, "", "#000000"),
        Class::VirtioLegacy => l("url(#cross)", "#a14a00", 1.5, "6 3", "#000000"),
        Class::Chipset => l("#e0e0e0", "#666666", 1.0, "2 2", "#333333"),
        Class::Free => l("#ffffff", "#999999", 1.0, "6 4", "#555555"),
    }
}

const DEFS: &str = r##"<defs>
<pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#dbe7f7"/><line x1="0" y1="0" x2="0" y2="8" stroke="#9db8dc" stroke-width="3"/></pattern>
<pattern id="dots" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#fff3c4"/><circle cx="3" cy="3" r="0.9" fill="#d8b84a"/></pattern>
<pattern id="cross" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="#ffe0c7"/><path d="M0,0 L8,8 M8,0 L0,8" stroke="#e0a070" stroke-width="1"/></pattern>
</defs>
"##;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            _ => o.push(c),
        }
    }
    o
}

fn width_of(n: &Node) -> f64 {
    let codes = if n.codes.is_empty() {
        0
    } else {
        n.codes.join(" ").chars().count() + 3
    };
    let chars = n
        .title
        .chars()
        .count()
        .max(n.detail.chars().count() + codes);
    (chars as f64 * CHAR_W + 16.0).max(60.0)
}

fn x_of(n: &Node) -> f64 {
    MARGIN + n.depth as f64 * INDENT
}

fn y_of(row: usize) -> f64 {
    TOP + row as f64 * ROW
}

/// The picture as an SVG document.
pub fn render(p: &Picture) -> String {
    let legend_rows = (Class::ALL.len() + 1).div_ceil(3);
    let mut width =
        (p.heading.chars().count().max(p.footer.chars().count()) as f64) * CHAR_W + 2.0 * MARGIN;
    for n in &p.nodes {
        width = width.max(x_of(n) + width_of(n) + MARGIN);
    }
    width = width.max(3.0 * 220.0 + 2.0 * MARGIN);
    let body_end = y_of(p.nodes.len());
    let height = body_end + 28.0 + legend_rows as f64 * 26.0 + MARGIN;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12" xml:space="preserve">"#
    );
    s.push_str(DEFS);
    let _ = writeln!(
        s,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{MARGIN}" y="26" font-size="14" font-weight="bold">{}</text>"##,
        esc(&p.heading)
    );
    // Connectors first, so that boxes are drawn over them.
    connectors(p, &mut s);
    for (row, n) in p.nodes.iter().enumerate() {
        node_box(row, n, &mut s);
    }
    let _ = writeln!(
        s,
        r#"<text x="{MARGIN}" y="{:.1}">{}</text>"#,
        body_end + 10.0,
        esc(&p.footer)
    );
    legend(body_end, &mut s);
    s.push_str("</svg>\n");
    s
}

/// The elbow connectors from each box to its parent's, as one group.
fn connectors(p: &Picture, s: &mut String) {
    s.push_str(r##"<g fill="none" stroke="#555555" stroke-width="1.2">"##);
    s.push('\n');
    for (row, n) in p.nodes.iter().enumerate() {
        if let Some(parent) = n.parent {
            let pn = &p.nodes[parent];
            let px = x_of(pn) + 14.0;
            let py = y_of(parent) + BOX_H;
            let cy = y_of(row) + BOX_H / 2.0;
            let _ = writeln!(
                s,
                r#"<path d="M{px:.1},{py:.1} V{cy:.1} H{:.1}"/>"#,
                x_of(n)
            );
        }
    }
    s.push_str("</g>\n");
}

/// The dash attribute of a look, if it has a dash pattern.
fn dash_attr(l: &Look) -> String {
    if l.dash.is_empty() {
        String::new()
    } else {
        format!(r#" stroke-dasharray="{}""#, l.dash)
    }
}

/// One node's box at `row`: its rectangle, title, and the detail line with its codes.
fn node_box(row: usize, n: &Node, s: &mut String) {
    let l = look(n.class);
    let (x, y, w) = (x_of(n), y_of(row), width_of(n));
    let (stroke, sw) = if n.error {
        ("#b00020", 3.5)
    } else {
        (l.stroke, l.width)
    };
    let dash = dash_attr(&l);
    let _ = writeln!(
        s,
        r#"<g class="{}"><rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{BOX_H}" rx="4" fill="{}" stroke="{stroke}" stroke-width="{sw}"{dash}/>"#,
        n.class.name(),
        l.fill
    );
    let style = if n.class == Class::Free {
        r#" font-style="italic""#
    } else {
        ""
    };
    let one_line = n.detail.is_empty() && n.codes.is_empty();
    let ty = if one_line { y + 22.0 } else { y + 15.0 };
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{ty:.1}" fill="{}"{style}>{}</text>"#,
        x + 8.0,
        l.text,
        esc(&n.title)
    );
    if !one_line {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" fill="{}" font-size="11">{}"#,
            x + 8.0,
            y + 30.0,
            l.text,
            esc(&n.detail)
        );
        if !n.codes.is_empty() {
            let mark = if n.error { "✗" } else { "!" };
            let _ = write!(
                s,
                r##"<tspan font-weight="bold" fill="#b00020"> {mark} {}</tspan>"##,
                esc(&n.codes.join(" "))
            );
        }
        s.push_str("</text>\n");
    }
    s.push_str("</g>\n");
}

/// The legend below the boxes: one sample per class, three to a row, then the error
/// border.
fn legend(body_end: f64, s: &mut String) {
    for (i, c) in Class::ALL.iter().enumerate() {
        let l = look(*c);
        let x = MARGIN + (i % 3) as f64 * 220.0;
        let y = body_end + 24.0 + (i / 3) as f64 * 26.0;
        let dash = dash_attr(&l);
        let _ = writeln!(
            s,
            r#"<rect x="{x:.1}" y="{y:.1}" width="28" height="18" rx="3" fill="{}" stroke="{}" stroke-width="{}"{dash}/><text x="{:.1}" y="{:.1}">{}</text>"#,
            l.fill,
            l.stroke,
            l.width,
            x + 36.0,
            y + 13.0,
            c.describe()
        );
    }
    let i = Class::ALL.len();
    let _ = writeln!(
        s,
        r##"<rect x="{:.1}" y="{:.1}" width="28" height="18" rx="3" fill="#ffffff" stroke="#b00020" stroke-width="3.5"/><text x="{:.1}" y="{:.1}">error (✗ code), ! warning</text>"##,
        MARGIN + (i % 3) as f64 * 220.0,
        body_end + 24.0 + (i / 3) as f64 * 26.0,
        MARGIN + (i % 3) as f64 * 220.0 + 36.0,
        body_end + 24.0 + (i / 3) as f64 * 26.0 + 13.0
    );
}
