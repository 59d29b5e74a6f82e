//! `virt-pci audit`: every row agrees with `virt-pci check` on the same file (exit
//! status and worst code), unreadable inputs are rows and do not stop the run, JSON
//! and CSV carry every guest, the q35 what-if is the guest `convert` makes as `check`
//! judges it, the table fits the terminal's width, and nothing but the table reaches
//! a pipe.

use std::process::Command;

use virt_pci::audit::{Input, Verdict, audit_all, exit_status};
use virt_pci::context::Choices;
use virt_pci::libvirt::{Document, read_topology};

use crate::support;

fn bin() -> Command {
    // `audit_all` runs in this process, where no target was chosen, so it predicts the
    // newest libvirt and QEMU; the binary is told the same.
    let mut c = Command::new(env!("CARGO_BIN_EXE_virt-pci"));
    c.env("VIRT_PCI_LIBVIRT", "11.3")
        .env("VIRT_PCI_QEMU", "10.0");
    c
}

fn all_guests() -> Vec<std::path::PathBuf> {
    let mut v = support::own_guests();
    v.extend(support::files(&support::root().join("tests/bad"), ".xml"));
    v
}

#[test]
fn every_row_agrees_with_check() {
    let files = all_guests();
    let inputs: Vec<Input> = files.iter().cloned().map(Input::File).collect();
    let rows = audit_all(&inputs, &Choices::default(), &|| {});
    assert_eq!(rows.len(), files.len());
    for (f, r) in files.iter().zip(&rows) {
        let out = bin().arg("check").arg("--json").arg(f).output().unwrap();
        let code = out.status.code().unwrap();
        assert_eq!(
            exit_status(std::slice::from_ref(r)),
            code,
            "{}: audit says {:?}",
            f.display(),
            r.verdict
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let file = &json["files"][0];
        if file["readable"] == false {
            assert_eq!(r.verdict, Verdict::Unreadable, "{}", f.display());
            continue;
        }
        let diags = file["diagnostics"].as_array().unwrap();
        // check lists errors first within each stage; the worst is the first of the
        // most severe.
        let rank = |s: &str| match s {
            "error" => 0,
            "warning" => 1,
            _ => 2,
        };
        let worst = diags
            .iter()
            .min_by_key(|d| rank(d["severity"].as_str().unwrap()))
            .map(|d| d["code"].as_str().unwrap().to_string());
        assert_eq!(
            r.worst.as_ref().map(|w| w.code.to_string()),
            worst,
            "{}",
            f.display()
        );
        let errors = diags.iter().filter(|d| d["severity"] == "error").count();
        assert_eq!(r.errors, errors, "{}", f.display());
    }
}

#[test]
fn unreadable_inputs_are_reported_and_the_run_goes_on() {
    let root = support::root();
    let good = root.join("assets/examples/win10-q35.xml");
    let out = bin()
        .arg("audit")
        .arg(&good)
        .arg(root.join("tests/bad/does-not-exist.xml"))
        .arg(root.join("tests/bad/mismatched-end-tag.xml"))
        .arg(root.join("assets/examples/debian8-i440fx.xml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stdout.lines().count(), 1 + 4 + 1, "{stdout}");
    assert!(
        stdout.contains("win10") && stdout.contains("debian8"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("4 guests: 2 ok, 2 unreadable\n"),
        "{stdout}"
    );
    assert!(
        stderr.contains("does-not-exist.xml: error: cannot read"),
        "{stderr}"
    );
    assert!(stderr.contains("mismatched-end-tag.xml:"), "{stderr}");
    // Piped: no progress bar, only the error lines.
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
}

#[test]
fn json_and_csv_carry_every_guest() {
    let dir = support::root().join("assets/examples");
    let n = support::files(&dir, ".xml").len();
    let out = bin().arg("audit").arg("--json").arg(&dir).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let guests = v["guests"].as_array().unwrap();
    assert_eq!(guests.len(), n);
    for g in guests {
        for k in [
            "guest",
            "machine",
            "os",
            "verdict",
            "worst",
            "io_headroom",
            "free_hotplug_ports",
            "q35",
        ] {
            assert!(g.get(k).is_some(), "{k} missing in {g}");
        }
    }
    let out = bin().arg("audit").arg("--csv").arg(&dir).output().unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.lines().count(), n + 1, "{csv}");
    // The columns of the first release keep their places; new ones come after them.
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(header.len(), 21);
    assert_eq!(
        header[11..14],
        ["q35_needs", "q35_virtio_need_transitional", "error"]
    );
    for g in guests.iter().filter(|g| g["q35"]["already_pcie"] == false) {
        for k in [
            "verdict",
            "worst",
            "sata_renames",
            "pcie_to_pci_bridges",
            "refused",
        ] {
            assert!(g["q35"].get(k).is_some(), "q35.{k} missing in {g}");
        }
    }
}

#[test]
fn q35_what_if_is_the_guest_convert_makes_as_check_judges_it() {
    // Every i440fx guest of the corpus, converted by the binary (`convert --to q35
    // --force`) and the result checked by the binary: the audit's what-if must say the
    // same (verdict, worst code, the transitional devices, SATA renames, bridges).
    let dir = tempfile::tempdir().unwrap();
    let mut seen = 0;
    for f in support::own_guests() {
        let rows = audit_all(&[Input::File(f.clone())], &Choices::default(), &|| {});
        let r = &rows[0];
        let Some(q) = &r.q35 else { continue };
        if q.already_pcie {
            assert!(
                r.machine.contains("q35") || r.machine == "virt" || r.machine.starts_with("virt-"),
                "{}",
                f.display()
            );
            continue;
        }
        let out = bin()
            .args(["convert", "--to", "q35", "--force"])
            .arg(&f)
            .output()
            .unwrap();
        if out.status.code() == Some(1) {
            let err = String::from_utf8_lossy(&out.stderr);
            let code = q.refused.as_ref().map(|w| w.code).unwrap_or_else(|| {
                panic!(
                    "{}: convert refuses ({err}), the audit does not",
                    f.display()
                )
            });
            assert!(err.contains(code), "{}: {err} vs {code}", f.display());
            continue;
        }
        assert_eq!(out.status.code(), Some(0), "{}: {out:?}", f.display());
        assert!(q.refused.is_none(), "{}", f.display());
        seen += 1;
        let before = std::fs::read_to_string(&f).unwrap();
        let after = String::from_utf8(out.stdout).unwrap();
        let n = |x: &str, what: &str| x.matches(what).count();
        assert_eq!(
            q.virtio_need_transitional,
            n(&after, "virtio-transitional") - n(&before, "virtio-transitional"),
            "{}",
            f.display()
        );
        assert_eq!(
            q.sata_renames,
            n(&before, "bus='ide'") + n(&before, "bus=\"ide\"")
                - n(&after, "bus='ide'")
                - n(&after, "bus=\"ide\""),
            "{}",
            f.display()
        );
        // The converted guest, judged by `check`.
        let conv = dir.path().join("converted.xml");
        std::fs::write(&conv, &after).unwrap();
        let out = bin().args(["check", "--json"]).arg(&conv).output().unwrap();
        let judged = audit_all(&[Input::File(conv.clone())], &Choices::default(), &|| {});
        assert_eq!(
            exit_status(std::slice::from_ref(&judged[0])),
            out.status.code().unwrap(),
            "{}",
            f.display()
        );
        assert_eq!(q.verdict, Some(judged[0].verdict), "{}", f.display());
        assert_eq!(
            q.worst.as_ref().map(|w| w.code),
            judged[0].worst.as_ref().map(|w| w.code),
            "{}",
            f.display()
        );
        assert_eq!(q.io_headroom, judged[0].io_headroom, "{}", f.display());
        let t = read_topology(&Document::parse_bytes(after.as_bytes()).unwrap()).unwrap();
        let defined = virt_pci::core::analyses::as_defined(&t).0;
        let bridges = defined
            .devices
            .iter()
            .filter(|d| {
                d.pci
                    .as_ref()
                    .is_some_and(|p| p.model == virt_pci::core::pci::PciModel::PcieToPciBridge)
            })
            .count();
        assert_eq!(q.pcie_to_pci_bridges, bridges, "{}", f.display());
    }
    assert!(seen >= 5, "only {seen} i440fx guests converted");
    // A legacy-only guest: every plain virtio device becomes transitional.
    let path = support::root().join("assets/examples/debian8-i440fx.xml");
    let rows = audit_all(&[Input::File(path.clone())], &Choices::default(), &|| {});
    let q = rows[0].q35.as_ref().unwrap();
    let doc = Document::parse_bytes(&std::fs::read(&path).unwrap()).unwrap();
    let t = read_topology(&doc).unwrap();
    let plain = t
        .devices
        .iter()
        .filter(|d| {
            d.effective_model_str(&t.machine) == Some("virtio")
                && d.facts(&t.machine).virtio != virt_pci::core::device::VirtioForm::No
        })
        .count();
    assert!(plain > 0);
    assert_eq!(q.virtio_need_transitional, plain);
    assert!(
        q.summary().starts_with(&format!("{plain} transitional")),
        "{}",
        q.summary()
    );
}

#[test]
fn the_table_fits_80_and_160_columns() {
    let dirs = [
        support::root().join("assets/examples"),
        support::root().join("tests/guests"),
    ];
    let n = support::files(&dirs[0], ".xml").len() + support::files(&dirs[1], ".xml").len();
    let run = |args: &[&str]| {
        let out = bin().arg("audit").args(args).args(&dirs).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let piped = run(&[]);
    // In a pipe: one whole line per guest, as before.
    assert_eq!(piped.lines().count(), n + 2, "{piped}");
    for width in [80usize, 160] {
        let text = run(&["--width", &width.to_string()]);
        for l in text.lines() {
            assert!(
                l.chars().count() <= width,
                "{width}: {l:?} is {} wide",
                l.chars().count()
            );
        }
        // Every guest is there, with its verdict, in the order of the pipe's table.
        let firsts: Vec<&str> = text.lines().filter(|l| !l.starts_with("  ")).collect();
        assert_eq!(firsts.len(), n + 2, "{width}:\n{text}");
        for (wide, narrow) in piped.lines().zip(&firsts).skip(1).take(n) {
            let verdict = |l: &str| {
                ["ok", "warnings", "errors", "refused", "unreadable"]
                    .into_iter()
                    .find(|v| l.split_whitespace().any(|w| w == *v))
            };
            assert_eq!(verdict(wide), verdict(narrow), "{width}: {wide} / {narrow}");
            let name = wide.split_whitespace().next().unwrap();
            let shown = narrow.split_whitespace().next().unwrap();
            assert!(
                name.starts_with(shown.trim_end_matches('…')),
                "{width}: {name} / {shown}"
            );
        }
        assert_eq!(text.lines().last(), piped.lines().last(), "{width}");
    }
    // At 80 columns the worst findings go under their guests; at 160 they do not need to.
    assert!(run(&["--width", "80"]).contains("\n  worst: "));
    let wide = run(&["--width", "160"]);
    assert!(!wide.contains("\n  q35: "), "{wide}");
    // --width 0: never cut, as in a pipe.
    assert_eq!(run(&["--width", "0"]), piped);
}
