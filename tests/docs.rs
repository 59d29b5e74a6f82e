//! The reference in `docs/` against the code it describes: the designer's keys table
//! against the command registry, the diagnostics table against `core::diag::CODES`,
//! and the README's reference list against the files in `docs/`.

use std::collections::BTreeMap;

use virt_pci::tui::commands::{COMMANDS, keys_text};

use crate::support;

fn read(path: &str) -> String {
    std::fs::read_to_string(support::root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The cells of every table row of `text` whose first cell is a code span.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn the_keys_table_is_the_command_registry() {
    let doc = read("docs/designer.md");
    let table: BTreeMap<String, (String, String)> = rows(&doc)
        .into_iter()
        .filter(|r| r.len() == 3 && r[0].contains('.'))
        .map(|r| {
            (
                r[0].trim_matches('`').to_string(),
                (r[1].clone(), r[2].clone()),
            )
        })
        .collect();
    for c in COMMANDS {
        let Some((keys, what)) = table.get(c.id) else {
            panic!("docs/designer.md lacks {}", c.id);
        };
        let want = if c.keys.is_empty() {
            "(palette only)".to_string()
        } else {
            keys_text(c)
                .split(' ')
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(keys, &want, "keys of {}", c.id);
        assert_eq!(what, c.description, "description of {}", c.id);
    }
    for id in table.keys() {
        assert!(
            COMMANDS.iter().any(|c| c.id == id),
            "docs/designer.md lists {id}, which the registry lacks"
        );
    }
}

#[test]
fn the_codes_table_is_the_diagnostics_table() {
    let doc = read("docs/diagnostics.md");
    let table: Vec<(String, String, String)> = rows(&doc)
        .into_iter()
        .filter(|r| r.len() == 2 && r[0].starts_with("`VP"))
        .map(|r| {
            let (code, slug) = r[0].split_once(' ').unwrap_or((&r[0], ""));
            (
                code.trim_matches('`').to_string(),
                slug.to_string(),
                r[1].clone(),
            )
        })
        .collect();
    let codes = virt_pci::core::diag::CODES;
    assert_eq!(table.len(), codes.len(), "one row per code");
    for (c, (code, slug, _)) in codes.iter().zip(&table) {
        assert_eq!(code, c.code, "codes in the table's order");
        assert_eq!(slug, c.slug, "slug of {code}");
    }
}

#[test]
fn the_readme_lists_every_reference_file_and_links_resolve() {
    let readme = read("README.md");
    let docs = support::files(&support::root().join("docs"), ".md");
    assert!(!docs.is_empty());
    for d in &docs {
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            readme.contains(&format!("(docs/{name})")),
            "README's Reference list lacks docs/{name}"
        );
    }
    // Every relative link of the README and docs/ names a file that exists.
    let mut texts = vec![("README.md".to_string(), readme.clone(), support::root())];
    for d in &docs {
        texts.push((
            d.display().to_string(),
            std::fs::read_to_string(d).expect("doc"),
            support::root().join("docs"),
        ));
    }
    for (name, text, base) in texts {
        for link in text.split("](").skip(1).filter_map(|s| s.split(')').next()) {
            if link.starts_with("http") || link.starts_with('#') {
                continue;
            }
            let path = link.split('#').next().unwrap_or(link);
            assert!(
                base.join(path).exists(),
                "{name}: link to {link} goes nowhere"
            );
        }
    }
}
