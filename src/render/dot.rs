//! `tree --format dot`: the picture as a graphviz digraph (`dot -Tsvg`, `-Tpdf`), with
//! the same classes as the SVG: fill, pattern-free grey-safe lightness, border width
//! and line style per class, errors in a thick border with their codes.

use std::fmt::Write as _;

use super::picture::{Class, Picture};

/// fillcolor, style, penwidth, fontcolor.
fn look(c: Class) -> (&'static str, &'static str, f64, &'static str) {
    match c {
        Class::Root => ("#1b3a6b", "filled,bold", 2.0, "#ffffff"),
        Class::Port => ("#cfe0f5", "filled,rounded", 1.5, "#000000"),
        Class::Bridge => ("#9db8dc", "filled,bold", 2.5, "#000000"),
        Class::Device => ("#ffffff", "filled", 1.0, "#000000"),
        Class::VirtioModern => ("#c8e6c9", "filled", 1.5, "#000000"),
        Class::VirtioTransitional => ("#fff3c4", "filled,diagonals", 1.5, "#000000"),
        Class::VirtioLegacy => ("#ffd7b5", "filled,dashed", 1.5, "#000000"),
        Class::Chipset => ("#e0e0e0", "filled,dotted", 1.0, "#333333"),
        Class::Free => ("#ffffff", "filled,dashed", 1.0, "#555555"),
    }
}

fn quote(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            _ => o.push(c),
        }
    }
    o.push('"');
    o
}

/// The picture as a DOT digraph, laid out left to right.
pub fn render(p: &Picture) -> String {
    let mut s = String::new();
    s.push_str("digraph pci {\n");
    let _ = writeln!(
        s,
        "  graph [rankdir=LR, label={}, labelloc=t, fontname=\"monospace\"];",
        quote(&format!("{}\n{}", p.heading, p.footer))
    );
    s.push_str("  node [shape=box, fontname=\"monospace\", fontsize=10];\n");
    s.push_str("  edge [arrowhead=none, color=\"#555555\"];\n");
    for (i, n) in p.nodes.iter().enumerate() {
        let (fill, style, width, font) = look(n.class);
        let mut label = n.title.clone();
        if !n.detail.is_empty() {
            label.push('\n');
            label.push_str(&n.detail);
        }
        if !n.codes.is_empty() {
            label.push('\n');
            label.push_str(if n.error { "✗ " } else { "! " });
            label.push_str(&n.codes.join(" "));
        }
        let (color, width) = if n.error {
            ("#b00020", 3.5)
        } else {
            ("#333333", width)
        };
        let _ = writeln!(
            s,
            "  n{i} [label={}, class={}, style={}, fillcolor={}, color={}, penwidth={width}, fontcolor={}];",
            quote(&label),
            quote(n.class.name()),
            quote(style),
            quote(fill),
            quote(color),
            quote(font)
        );
    }
    for (i, n) in p.nodes.iter().enumerate() {
        if let Some(parent) = n.parent {
            let _ = writeln!(s, "  n{parent} -> n{i};");
        }
    }
    s.push_str("}\n");
    s
}
