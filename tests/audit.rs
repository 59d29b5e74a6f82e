//! `virt-pci audit`: every row agrees with `virt-pci check` on the same file (exit
//! status and worst code), unreadable inputs are rows and do not stop the run, JSON
//! and CSV carry every guest, the q35 estimate counts what the guest OS cannot drive,
//! and nothing but the table reaches a pipe.

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
    let header_fields = csv.lines().next().unwrap().split(',').count();
    assert_eq!(header_fields, 14);
}

#[test]
fn q35_estimate_counts_plain_virtio_for_a_legacy_only_guest() {
    let path = support::root().join("assets/examples/debian8-i440fx.xml");
    let rows = audit_all(&[Input::File(path.clone())], &Choices::default(), &|| {});
    let q = rows[0].q35.as_ref().unwrap();
    assert!(!q.already_pcie);
    // Counted independently: the plain-`virtio` virtio devices of the domain.
    let doc = Document::parse_bytes(&std::fs::read(&path).unwrap()).unwrap();
    let t = read_topology(&doc).unwrap();
    let plain = t
        .devices
        .iter()
        .filter(|d| {
            d.effective_model_str(&t.machine) == Some("virtio")
                && d.needs(&t.machine).virtio != virt_pci::core::device::VirtioForm::No
        })
        .count();
    assert!(plain > 0);
    assert_eq!(q.virtio_need_transitional, plain);
    // Already q35: nothing to estimate.
    let q35 = support::root().join("assets/examples/win10-q35.xml");
    let rows = audit_all(&[Input::File(q35)], &Choices::default(), &|| {});
    assert!(rows[0].q35.as_ref().unwrap().already_pcie);
}
