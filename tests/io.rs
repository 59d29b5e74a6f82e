//! The IO port plan against the firmware itself: every case of `tests/io-corpus/` was
//! booted under SeaBIOS 1.16, OVMF 2022.11 and OVMF 2025.02 (the `ovmf` profile,
//! `*.ovmf-2025.json`) by the QEMU IO oracle, and the measured
//! facts (each bridge's IO window, each function's IO BARs, whether the firmware
//! dropped a device or stopped the boot, the root ranges) are committed next to the
//! domain. The plan `virt-pci io` prints must agree with every one of them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use virt_pci::context::{Choices, context};
use virt_pci::core::analyses::analyse;
use virt_pci::core::io_space::{BarStatus, FirmwareKind, IoPlan, Outcome};
use virt_pci::libvirt::{Document, read_topology};

use crate::support;

fn corpus() -> PathBuf {
    support::root().join("tests/io-corpus/cases")
}

/// The measured firmware runs: (domain, firmware id, measurement).
fn measurements() -> Vec<(PathBuf, String, Value)> {
    let mut out = Vec::new();
    for json in support::files(&corpus(), ".json") {
        let name = json.file_name().unwrap_or_default().to_string_lossy();
        let Some((case, fw)) = name.trim_end_matches(".json").rsplit_once('.') else {
            continue;
        };
        // `q35-6.1-x.seabios.json`: the case name itself may hold dots.
        let xml = corpus().join(format!("{case}.xml"));
        let value: Value = serde_json::from_str(
            &std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{}: {e}", json.display())),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", json.display()));
        out.push((xml, fw.to_string(), value));
    }
    out
}

fn plan_of(xml: &Path, firmware: &str) -> IoPlan {
    let src = std::fs::read_to_string(xml).unwrap_or_else(|e| panic!("{}: {e}", xml.display()));
    let doc = Document::parse(&src).unwrap_or_else(|e| panic!("{}: {}", xml.display(), e.message));
    let t = read_topology(&doc).unwrap_or_else(|e| panic!("{}: {e}", xml.display()));
    let ctx = context(
        &doc,
        &Choices {
            firmware: Some(firmware.to_string()),
            ..Choices::default()
        },
    )
    .expect("firmware id");
    let a = analyse(&t, &ctx);
    assert!(
        a.refused.is_none(),
        "{}: libvirt would refuse it: {:?}",
        xml.display(),
        a.refused
    );
    a.io
}

fn hex(s: &str) -> Option<u32> {
    u32::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

/// Where the PCI IO allocation starts and how far it reaches, from the root bus's
/// ranges (`"0x1000-0x500f"`). Ranges below 0x1000 are fixed chipset ports (the ICH9
/// SMBus at 0x700), not part of the allocation; holes inside it are alignment.
fn root_extent(ranges: &Value) -> Option<(u32, u32)> {
    let parsed: Vec<(u32, u32)> = ranges
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let (lo, hi) = r.as_str()?.split_once('-')?;
            Some((hex(lo)?, hex(hi)?))
        })
        .filter(|(lo, _)| *lo >= 0x1000)
        .collect();
    let base = parsed.iter().map(|r| r.0).min()?;
    let end = parsed.iter().map(|r| r.1).max()?;
    Some((base, end + 1 - base))
}

/// Every disagreement between the plan and one measurement.
fn compare(plan: &IoPlan, m: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let panicked = m["status"] == "firmware-panic";
    if m["status"] != "ok" && !panicked {
        bad.push(format!("measurement status {}", m["status"]));
        return bad;
    }
    if panicked != (plan.outcome == Outcome::BootFailure) {
        bad.push(format!(
            "firmware {}, predicted {} (used {:#x} of {:#x})",
            if panicked {
                "stopped the boot"
            } else {
                "booted"
            },
            plan.outcome.name(),
            plan.used,
            plan.budget
        ));
    }
    if panicked {
        return bad;
    }
    // Windows.
    let windows = m["windows"].as_object().cloned().unwrap_or_default();
    for (index, w) in &windows {
        let Ok(index) = index.parse::<u32>() else {
            continue;
        };
        let io = w["io"].as_u64().unwrap_or(0) as u32;
        match plan.window(index) {
            Some(ours) if ours.size == io => {}
            Some(ours) => bad.push(format!(
                "controller {index}: window {io:#x}, predicted {:#x} ({})",
                ours.size,
                ours.reasons
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join("+")
            )),
            None => bad.push(format!("controller {index}: not in the plan")),
        }
    }
    for w in &plan.windows {
        if !windows.contains_key(&w.index.to_string()) {
            bad.push(format!("controller {}: planned, not measured", w.index));
        }
    }
    // Functions.
    let devices = m["devices"].as_object().cloned().unwrap_or_default();
    let mut seen = BTreeMap::new();
    for (bdf, d) in &devices {
        let bars: Vec<u32> = d["io_bars"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b["size"].as_u64().map(|s| s as u32))
            .collect();
        let ours = plan.devices.iter().find(|x| x.addr.bdf() == *bdf);
        seen.insert(bdf.clone(), ());
        let Some(ours) = ours else {
            if !bars.is_empty() {
                bad.push(format!("{bdf}: IO BARs {bars:x?}, not in the plan"));
            }
            continue;
        };
        let rejected = d["rejected"].as_bool().unwrap_or(false);
        if rejected != (ours.status == BarStatus::Dropped) {
            bad.push(format!(
                "{bdf} {}: {} by the firmware, predicted {}",
                ours.label,
                if rejected { "dropped" } else { "kept" },
                ours.status.name()
            ));
        }
        if rejected {
            continue; // a rejected device's BARs read back as nothing
        }
        let mut want = bars.clone();
        want.sort_unstable();
        let mut have = ours.bars.clone();
        have.sort_unstable();
        if want != have {
            bad.push(format!(
                "{bdf} {} ({}): IO BARs {want:x?}, predicted {have:x?}",
                ours.label, ours.qemu_device
            ));
        }
        let unreachable = d["io_bars"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|b| b["reachable"] == false);
        let unassigned = d["io_bars"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|b| b["assigned"] == false);
        if unassigned {
            bad.push(format!("{bdf}: a BAR was left unassigned (not modelled)"));
        }
        if unreachable != (ours.status == BarStatus::Unreachable) {
            bad.push(format!(
                "{bdf} {}: reachable={}, predicted {}",
                ours.label,
                !unreachable,
                ours.status.name()
            ));
        }
    }
    for d in &plan.devices {
        if !d.bars.is_empty() && !seen.contains_key(&d.addr.bdf()) {
            bad.push(format!(
                "{} {}: planned IO BARs, the firmware saw no such function",
                d.addr.bdf(),
                d.label
            ));
        }
    }
    // The root bus total: SeaBIOS's root range is exactly what the windows and root
    // BARs add up to; OVMF's is the end of its layout.
    // SeaBIOS packs the root bus from the base up, so the allocation ends exactly at
    // base + used (a BAR it re-programs afterwards, the ICH9 SMBus moved to 0x700,
    // leaves a hole that still counts). OVMF lays out nodes from the base, but a
    // padding-only node is 0x200 long while the bridge decodes a whole 4 KiB, so the
    // decoded extent ends between base + used and the next 4 KiB boundary.
    if let Some((first, extent)) = root_extent(&m["root_io_ranges"]) {
        let end = first + extent;
        let base = plan.base();
        let (lo, hi) = match plan.firmware.kind {
            FirmwareKind::SeaBios => (base + plan.used, base + plan.used),
            FirmwareKind::Ovmf => (base + plan.used, base + plan.used.next_multiple_of(0x1000)),
        };
        if first < base || end < lo || end > hi {
            bad.push(format!(
                "root IO {first:#x}..{end:#x}, predicted base {base:#x} + used {:#x}",
                plan.used
            ));
        }
    } else if plan.used > 0 {
        bad.push(format!(
            "no IO allocated on the root bus, predicted {:#x}",
            plan.used
        ));
    }
    bad
}

/// Every measured case under every measured firmware agrees with the plan.
#[test]
fn io_plan_agrees_with_the_firmware() {
    let runs = measurements();
    assert!(
        runs.len() >= 135,
        "the IO corpus has only {} measurements",
        runs.len()
    );
    let mut failures = Vec::new();
    let mut per_fw: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for (xml, fw, m) in &runs {
        let plan = plan_of(xml, fw);
        let bad = compare(&plan, m);
        let e = per_fw.entry(fw.clone()).or_default();
        e.0 += 1;
        if bad.is_empty() {
            e.1 += 1;
        } else {
            let case = xml.file_stem().unwrap_or_default().to_string_lossy();
            failures.push(format!("{case} under {fw}:\n    {}", bad.join("\n    ")));
        }
    }
    for (fw, (n, ok)) in &per_fw {
        eprintln!("io corpus: {fw}: {ok} of {n} cases agree");
    }
    assert!(
        failures.is_empty(),
        "{} of {} measurements disagree:\n{}",
        failures.len(),
        runs.len(),
        failures.join("\n")
    );
}
