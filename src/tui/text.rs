//! Fitting text into a pane: cut with an ellipsis (never silently), or wrap at word
//! boundaries. Widths count characters as the terminal shows them.

use ratatui::text::Span;

/// Display width of `s`.
pub fn width(s: &str) -> usize {
    Span::raw(s).width()
}

/// `s` cut to `room` columns, ending in `…` when anything was cut.
pub fn ellipsis(s: &str, room: usize) -> String {
    if width(s) <= room {
        return s.to_string();
    }
    if room == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = width(c.encode_utf8(&mut [0; 4]));
        if w + cw + 1 > room {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// `s` wrapped at word boundaries into lines of at most `room` columns (words longer
/// than a line are cut).
pub fn wrap(s: &str, room: usize) -> Vec<String> {
    let room = room.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        let mut word = word.to_string();
        loop {
            let need = if line.is_empty() { 0 } else { 1 } + width(&word);
            if width(&line) + need <= room {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if line.is_empty() {
                // A word wider than the line: cut it.
                let cut: String = word.chars().take(room).collect();
                let rest: String = word.chars().skip(room).collect();
                lines.push(cut);
                word = rest;
                if word.is_empty() {
                    break;
                }
                continue;
            }
            lines.push(std::mem::take(&mut line));
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipsis_only_when_cut() {
        assert_eq!(ellipsis("root port #15", 20), "root port #15");
        assert_eq!(ellipsis("root port #15", 10), "root port…");
        assert_eq!(width(&ellipsis("root port #15", 10)), 10);
    }

    #[test]
    fn wrap_keeps_every_word() {
        let s = "the quick brown fox jumps over the lazy dog";
        let w = wrap(s, 10);
        assert!(w.iter().all(|l| width(l) <= 10), "{w:?}");
        assert_eq!(w.join(" "), s);
    }
}
