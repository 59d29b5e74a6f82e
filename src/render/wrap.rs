//! Fitting text output to the terminal: long lines of `tree`, `io` and `check` are
//! wrapped at word boundaries, each continuation indented under the text it continues
//! (tree guides carried down, `hint:` and `fix:` labels hung). Output that goes to a
//! pipe is not wrapped unless a width is asked for.

/// `text` with every line longer than `width` wrapped; unchanged without a width.
pub fn fit(text: &str, width: Option<usize>) -> String {
    let Some(width) = width else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        wrap_line(body, width, &mut out);
        out.push_str(nl);
    }
    out
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// The text that starts each continuation line of `line`.
fn continuation(line: &str) -> String {
    // Tree guides: `│  ├─ 00:02.0 ...` continues as `│  │     ...`.
    let guide_end = line
        .char_indices()
        .find(|&(_, c)| !matches!(c, '│' | '├' | '└' | '─' | '|' | '+' | '\\' | '-' | ' '))
        .map(|(i, _)| i)
        .unwrap_or(line.len());
    let guides = &line[..guide_end];
    if guides.chars().any(|c| !c.is_whitespace()) {
        // `├` goes on as `│` (more siblings follow), `└` and `─` as blanks; the row's
        // own children hang below its text, left of the continued text.
        let mut cont: String = guides
            .chars()
            .map(|c| match c {
                '├' | '│' => '│',
                '+' | '|' => '|',
                _ => ' ',
            })
            .collect();
        cont.push_str("  ");
        return cont;
    }
    let indent = chars(line) - chars(line.trim_start());
    let rest = line.trim_start();
    // `hint: `, `fix: ` and `FILE:LINE: error [CODE]: ` hang their text.
    if let Some(label) = ["hint: ", "fix: "].iter().find(|l| rest.starts_with(**l)) {
        return " ".repeat(indent + label.len());
    }
    // Indented prose hangs at its own indent; table rows (columns split by runs of
    // blanks) and unindented lines hang four columns in.
    if indent > 0 && !rest.contains("  ") {
        return " ".repeat(indent);
    }
    " ".repeat(indent + 4)
}

fn wrap_line(line: &str, width: usize, out: &mut String) {
    if chars(line) <= width {
        out.push_str(line);
        return;
    }
    let cont = continuation(line);
    // Never indent so far that nothing fits.
    let cont = if chars(&cont) + 20 > width {
        String::from("  ")
    } else {
        cont
    };
    let mut current = String::new();
    let mut current_len = 0;
    // Leading structure (guides, indentation) stays attached to the first word.
    let lead_len = line.len() - line.trim_start_matches([' ', '│', '├', '└', '─']).len();
    let (lead, rest) = line.split_at(lead_len);
    current.push_str(lead);
    current_len += chars(lead);
    let mut at_start = true;
    for word in rest.split(' ') {
        let wl = chars(word);
        if !at_start && current_len + 1 + wl > width {
            out.push_str(current.trim_end());
            out.push('\n');
            current = cont.clone();
            current_len = chars(&cont);
            at_start = true;
        }
        if !at_start {
            current.push(' ');
            current_len += 1;
        }
        // A word longer than the line is cut into pieces rather than left overlong.
        let mut w = word;
        while current_len + chars(w) > width && chars(w) > width / 2 {
            let room = width.saturating_sub(current_len).max(1);
            let cut = w.char_indices().nth(room).map_or(w.len(), |(i, _)| i);
            current.push_str(&w[..cut]);
            out.push_str(&current);
            out.push('\n');
            w = &w[cut..];
            current = cont.clone();
            current_len = chars(&cont);
        }
        current.push_str(w);
        current_len += chars(w);
        at_start = false;
    }
    out.push_str(current.trim_end());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_width_no_change_and_short_lines_stay() {
        let t = "a b c\n";
        assert_eq!(fit(t, None), t);
        assert_eq!(fit(t, Some(80)), t);
    }

    #[test]
    fn long_lines_wrap_within_the_width_with_the_tree_guides_carried() {
        let t = "├─ 00:02.0 pcie-root-port #1 [pcie-root-port] chassis=1 port=0x10 io=4K devices hotplug\n│  └─ 01:00.0 interface virtio-transitional (52:54:00:6a:1c:2b) [virtio-net-pci-transitional] virtio=transitional\n";
        let f = fit(t, Some(40));
        for l in f.lines() {
            assert!(l.chars().count() <= 40, "{l:?} in\n{f}");
        }
        // The words are all there, in order.
        let words = |s: &str| {
            s.split_whitespace()
                .filter(|w| !w.chars().all(|c| "│├└─".contains(c)))
                .collect::<String>()
        };
        assert_eq!(words(&f), words(t));
        assert!(f.lines().nth(1).unwrap().starts_with("│  "), "{f}");
        assert!(f.contains("\n│     "), "{f}");
    }

    #[test]
    fn hints_hang_under_their_label() {
        let t = "  hint: make it virtio-transitional on a conventional PCI slot behind a bridge\n";
        let f = fit(t, Some(40));
        assert!(
            f.lines().nth(1).unwrap().starts_with("        make")
                || f.lines().nth(1).unwrap().starts_with("        "),
            "{f}"
        );
        assert!(f.lines().all(|l| l.chars().count() <= 40), "{f}");
    }
}
