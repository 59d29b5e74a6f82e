//! The command line as people meet it: typos get a suggestion, output fits the width
//! asked for (and is left alone in a pipe), the bundled examples say what they show,
//! completions and the manual page come from the same argument definitions.

use std::process::{Command, Output};

use crate::support;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_virt-pci"))
        .args(args)
        .current_dir(support::root())
        .env_remove("COLUMNS")
        .output()
        .expect("runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn example_paths() -> Vec<String> {
    support::files(&support::root().join("assets/examples"), ".xml")
        .iter()
        .map(|p| {
            format!(
                "assets/examples/{}",
                p.file_name().unwrap().to_string_lossy()
            )
        })
        .collect()
}

#[test]
fn a_typo_of_a_subcommand_says_so_and_suggests_it() {
    for (typo, meant) in [
        ("tre", "tree"),
        ("chek", "check"),
        ("asign", "assign"),
        ("exampels", "examples"),
    ] {
        let o = run(&[typo, "assets/examples/debian8-i440fx.xml"]);
        assert_eq!(o.status.code(), Some(2), "{typo}");
        let e = stderr(&o);
        assert!(e.contains(&format!("'{typo}' is not a subcommand")), "{e}");
        assert!(e.contains(&format!("did you mean {meant}?")), "{typo}: {e}");
    }
    // A word close to nothing lists the subcommands instead of guessing.
    let e = stderr(&run(&["frobnicate"]));
    assert!(!e.contains("did you mean"), "{e}");
    assert!(e.contains("subcommands: edit, tree"), "{e}");
}

#[test]
fn every_example_has_a_description_and_examples_lists_them_all() {
    let listing = stdout(&run(&["examples"]));
    let files = example_paths();
    assert_eq!(
        files.len(),
        virt_pci::examples::EXAMPLES.len(),
        "every file in assets/examples is bundled"
    );
    for f in &files {
        let text = std::fs::read_to_string(support::root().join(f)).expect("example");
        let name = f.trim_start_matches("assets/examples/");
        let e = virt_pci::examples::find(name).unwrap_or_else(|| panic!("{name} is not bundled"));
        assert_eq!(e.text, text, "{name}: bundled text is the file");
        let d = e.description();
        assert!(
            d.split_whitespace().count() >= 15,
            "{name}: a description that tells its story: {d:?}"
        );
        let stem = name.trim_end_matches(".xml");
        assert!(
            listing.contains(&format!("\n{stem}\n")),
            "{stem} missing from:\n{listing}"
        );
        // The listing is laid out for 80 columns when not on a terminal.
        assert!(
            listing.lines().all(|l| l.chars().count() <= 80),
            "{listing}"
        );
        // `examples NAME` prints the XML itself.
        assert_eq!(stdout(&run(&["examples", stem])), text);
    }
    let o = run(&["examples", "no-such-example"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("centos6-q35-virtio.xml"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn tree_io_and_check_fit_the_width_asked_for_and_lose_no_word() {
    let words = |s: &str| -> Vec<String> {
        s.split_whitespace()
            .filter(|w| !w.chars().all(|c| "│├└─".contains(c)))
            .map(String::from)
            .collect()
    };
    for f in example_paths() {
        for cmd in [
            &["tree"][..],
            &["io", "--firmware", "ovmf-2022"],
            &["check"],
        ] {
            let mut args: Vec<&str> = cmd.to_vec();
            args.push(&f);
            let piped = stdout(&run(&args));
            args.extend(["--width", "80"]);
            let fitted = stdout(&run(&args));
            for l in fitted.lines() {
                assert!(
                    l.chars().count() <= 80,
                    "{cmd:?} {f}: {} columns: {l}",
                    l.chars().count()
                );
            }
            assert_eq!(words(&fitted), words(&piped), "{cmd:?} {f}: the same words");
        }
    }
    // In a pipe nothing is wrapped unless asked: the large guest's tree is wider than 80.
    let piped = stdout(&run(&["tree", "assets/examples/q35-large.xml"]));
    assert!(piped.lines().any(|l| l.chars().count() > 80));
    let zero = stdout(&run(&[
        "tree",
        "assets/examples/q35-large.xml",
        "--width",
        "0",
    ]));
    assert_eq!(zero, piped);
}

#[test]
fn help_is_wrapped_and_completions_and_man_page_cover_every_subcommand() {
    let help = stdout(&run(&["--help"]));
    assert!(help.lines().all(|l| l.chars().count() <= 100), "{help}");
    let subcommands = [
        "edit",
        "tree",
        "assign",
        "io",
        "check",
        "examples",
        "completions",
        "man",
    ];
    for s in subcommands {
        assert!(help.contains(&format!("  {s} ")), "{s} in --help:\n{help}");
    }
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = run(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let text = stdout(&o);
        for s in ["tree", "check", "firmware"] {
            assert!(text.contains(s), "{shell} completion lacks {s}");
        }
    }
    let o = run(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2), "an unknown shell is bad usage");
    let man = stdout(&run(&["man"]));
    assert!(
        man.starts_with(".ie") || man.contains(".TH virt-pci 1"),
        "{man}"
    );
    for s in subcommands {
        assert!(man.contains(s), "{s} in the manual page");
    }
}
