//! A line diff for the "diff against the file on disk" view: longest common
//! subsequence over lines, shown as unified hunks with context.

use super::popups::Tone;

/// The unified diff of `old` and `new` with `context` lines around each change; empty
/// when they are equal.
pub fn unified(old: &str, new: &str, context: usize) -> Vec<(Tone, String)> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Trim the common prefix and suffix first: edits are small and local, and the
    // quadratic table then only covers the changed middle.
    let pre = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    if am.is_empty() && bm.is_empty() {
        return Vec::new();
    }
    // ops: (tag, line) where tag is ' ', '-', '+'.
    let mut ops: Vec<(char, &str)> = a[..pre].iter().map(|l| (' ', *l)).collect();
    let (n, m) = (am.len(), bm.len());
    if n * m <= 4_000_000 {
        let mut t = vec![0u32; (n + 1) * (m + 1)];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                t[i * (m + 1) + j] = if am[i] == bm[j] {
                    t[(i + 1) * (m + 1) + j + 1] + 1
                } else {
                    t[(i + 1) * (m + 1) + j].max(t[i * (m + 1) + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                ops.push((' ', am[i]));
                i += 1;
                j += 1;
            } else if i < n && (j == m || t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1]) {
                ops.push(('-', am[i]));
                i += 1;
            } else {
                ops.push(('+', bm[j]));
                j += 1;
            }
        }
    } else {
        ops.extend(am.iter().map(|l| ('-', *l)));
        ops.extend(bm.iter().map(|l| ('+', *l)));
    }
    ops.extend(a[a.len() - suf..].iter().map(|l| (' ', *l)));
    // Hunks: changed lines with `context` lines around them.
    let mut keep = vec![false; ops.len()];
    for (k, (tag, _)) in ops.iter().enumerate() {
        if *tag != ' ' {
            let lo = k.saturating_sub(context);
            let hi = (k + context + 1).min(ops.len());
            keep[lo..hi].iter_mut().for_each(|x| *x = true);
        }
    }
    let mut out = Vec::new();
    let (mut la, mut lb) = (1usize, 1usize);
    let mut in_hunk = false;
    for (k, (tag, line)) in ops.iter().enumerate() {
        if keep[k] {
            if !in_hunk {
                out.push((Tone::Heading, format!("@@ line {la} (old) / {lb} (new) @@")));
                in_hunk = true;
            }
            let tone = match tag {
                '+' => Tone::Added,
                '-' => Tone::Removed,
                _ => Tone::Dim,
            };
            out.push((tone, format!("{tag}{line}")));
        } else {
            in_hunk = false;
        }
        match tag {
            '+' => lb += 1,
            '-' => la += 1,
            _ => {
                la += 1;
                lb += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_show_changes_with_context() {
        let d = unified("a\nb\nc\nd\ne\n", "a\nb\nX\nd\ne\nf\n", 1);
        let text: Vec<&str> = d.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(
            text,
            [
                "@@ line 2 (old) / 2 (new) @@",
                " b",
                "-c",
                "+X",
                " d",
                " e",
                "+f"
            ]
        );
        let far = unified("1\n2\n3\n4\n5\n6\n7\n", "X\n2\n3\n4\n5\n6\nY\n", 1);
        assert_eq!(far.iter().filter(|(t, _)| *t == Tone::Heading).count(), 2);
        assert!(unified("x\n", "x\n", 3).is_empty());
    }
}
