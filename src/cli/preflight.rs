//! What clap alone would misread: a first word that is neither a subcommand nor a file.

use super::*;

/// Levenshtein distance, for suggesting a subcommand for a typo.
pub(super) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Catches what clap alone would misread: the first word is neither a subcommand nor
/// a file. A bare word close to a subcommand is a typo (`did you mean tree?`); a
/// path (with `/` or `.`) that does not exist opens the designer on a new guest.
pub fn preflight(argv: &[std::ffi::OsString]) -> Result<(), Failure> {
    use clap::CommandFactory;
    let cmd = Args::command();
    let names: Vec<String> = cmd
        .get_subcommands()
        .flat_map(|s| {
            std::iter::once(s.get_name().to_string()).chain(s.get_all_aliases().map(String::from))
        })
        .chain(["help".to_string()])
        .collect();
    // Top-level options that take a value.
    let valued = [
        "--os",
        "--firmware",
        "--guest-virtio",
        "--headroom",
        "--libvirt",
        "--qemu",
    ];
    // With a libvirt connection the first word names a domain, not a file.
    if argv.iter().any(|a| {
        let a = a.to_string_lossy();
        a == "-c"
            || a == "--domain"
            || a.starts_with("--connect")
            || (a.starts_with("-c") && !a.starts_with("--"))
    }) {
        return Ok(());
    }
    let mut it = argv.iter().skip(1);
    let first = loop {
        let Some(a) = it.next() else { return Ok(()) };
        let a = a.to_string_lossy();
        if a == "--" {
            return Ok(());
        }
        if valued.contains(&a.as_ref()) {
            it.next();
            continue;
        }
        if a.starts_with('-') && a != "-" {
            continue;
        }
        break a.into_owned();
    };
    if names.contains(&first) || first == "-" || Path::new(&first).exists() {
        return Ok(());
    }
    if first.contains(['/', '.']) {
        return Ok(());
    }
    let best = names
        .iter()
        .filter(|n| *n != "help")
        .map(|n| (distance(&first, n), n))
        // One edit per three letters: `tre` is tree, `foo` is nothing.
        .filter(|(d, n)| {
            *d <= first.chars().count().max(3) / 3 || (first.len() >= 2 && n.starts_with(&first))
        })
        .min();
    let mut message =
        format!("error: '{first}' is not a subcommand, and no file of that name exists");
    match best {
        Some((_, n)) => message.push_str(&format!("\n\n  did you mean {n}?")),
        None => message.push_str(&format!(
            "\n\n  subcommands: {}",
            names
                .iter()
                .filter(|n| *n != "help")
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
    message.push_str(&format!(
        "\n  to open or create a file of that name in the designer: virt-pci ./{first}\n\nFor more information, try '--help'."
    ));
    Err(Failure {
        code: EXIT_BAD_INPUT,
        message,
    })
}
