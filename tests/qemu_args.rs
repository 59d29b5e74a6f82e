//! `qemu-args` against libvirt's own expected command lines: for every case of
//! `../shared/conformance` with a `.args` file, the PCI part of QEMU's command line
//! (every `-device` on a PCI bus: driver, bus, addr, multifunction, and the PCI
//! controllers' id, port, chassis, chassis_nr, bus_nr, numa_node, hotplug) made from
//! libvirt's defined domain (`.out.xml`, else the input `.in.xml` through the
//! assigner) must equal libvirt's. Cases that still differ
//! are listed with the reason in `tests/qemu-args-known-differences.tsv`; the test
//! fails when a listed case starts to match or an unlisted one differs.

use std::collections::BTreeMap;
use std::path::Path;

use virt_pci::core::qemu_args::{Value, device_args};
use virt_pci::libvirt::{Document, read_topology};

use crate::support;

/// One PCI `-device`, reduced to the properties that describe the topology.
type Entry = BTreeMap<String, String>;

const KEYS: &[&str] = &[
    "driver",
    "bus",
    "addr",
    "multifunction",
    "port",
    "chassis",
    "chassis_nr",
    "bus_nr",
    "numa_node",
    "hotplug",
];

fn is_pci_bus(b: &str) -> bool {
    let digits = b
        .strip_prefix("pcie.")
        .or_else(|| b.strip_prefix("pci."))
        .unwrap_or("");
    !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit())
}

/// `on`/`off` as booleans, so that both of QEMU's `-device` syntaxes compare.
fn normal(v: &str) -> String {
    match v {
        "on" | "true" => return "true".into(),
        "off" | "false" => return "false".into(),
        _ => {}
    }
    v.to_string()
}

fn reduce(props: &[(String, String)]) -> Option<Entry> {
    let get = |k: &str| props.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    if !get("bus").is_some_and(|b| is_pci_bus(&b)) {
        return None;
    }
    let mut e: Entry = props
        .iter()
        .filter(|(k, _)| KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), normal(v)))
        .collect();
    // The id is topology for PCI controllers (the bus their children name); for
    // other devices it is libvirt's alias, which is not.
    if let Some(id) = get("id").filter(|i| is_pci_bus(i)) {
        e.insert("id".into(), id);
    }
    Some(e)
}

/// The PCI entries of a libvirt `.args` file, in either `-device` syntax.
fn libvirt_entries(args: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for line in args.lines() {
        let Some(rest) = line.strip_prefix("-device ") else {
            continue;
        };
        let rest = rest.trim_end_matches(" \\").trim();
        // The old syntax is quoted too when a value needs it.
        let rest = rest.trim_matches('\'');
        let props: Vec<(String, String)> = if let Some(j) = rest.strip_prefix('{') {
            let j = format!("{{{j}");
            let v: serde_json::Value = serde_json::from_str(&j).expect("JSON -device");
            v.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    let s = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), s)
                })
                .collect()
        } else {
            let mut parts = rest.split(',');
            let mut p = vec![("driver".to_string(), parts.next().unwrap().to_string())];
            for kv in parts {
                if let Some((k, v)) = kv.split_once('=') {
                    p.push((k.to_string(), v.to_string()));
                }
            }
            p
        };
        out.extend(reduce(&props));
    }
    out.sort();
    out
}

/// Ours, from libvirt's defined domain.
fn our_entries(xml: &str, dir: &Path) -> Result<Vec<Entry>, String> {
    let doc = Document::parse(xml).map_err(|e| e.to_string())?;
    let mut t = read_topology(&doc).map_err(|e| e.to_string())?;
    // Each suite is judged by the libvirt and QEMU it came from.
    t.platform = crate::conformance::platform_of(dir);
    let (defined, refused) = virt_pci::core::analyses::as_defined(&t);
    if let Some(d) = refused {
        return Err(format!("refused: {d}"));
    }
    let mut out: Vec<Entry> = device_args(&defined)
        .iter()
        .filter_map(|a| {
            let props: Vec<(String, String)> = a
                .props
                .iter()
                .map(|(k, v)| {
                    let s = match v {
                        Value::Str(s) => s.clone(),
                        Value::Int(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                    };
                    (k.to_string(), s)
                })
                .collect();
            reduce(&props)
        })
        .collect();
    out.sort();
    Ok(out)
}

fn case_matches(dir: &Path, name: &str) -> Result<(), String> {
    let args = std::fs::read_to_string(dir.join(format!("{name}.args"))).unwrap();
    // libvirt's defined domain when the case has one; else its input, which goes
    // through our assigner first (libvirt builds the command line from the same).
    let xml = std::fs::read_to_string(dir.join(format!("{name}.out.xml")))
        .or_else(|_| {
            let base = name.split("--").next().unwrap_or(name);
            std::fs::read_to_string(dir.join(format!("{base}.in.xml")))
        })
        .map_err(|_| "neither a defined domain nor an input for these args".to_string())?;
    let want = libvirt_entries(&args);
    let got = our_entries(&xml, dir)?;
    if want == got {
        return Ok(());
    }
    let missing = want.iter().find(|e| !got.contains(e));
    let extra = got.iter().find(|e| !want.contains(e));
    Err(format!(
        "differs: libvirt has {missing:?} that we lack; we have {extra:?} that libvirt lacks"
    ))
}

#[test]
fn qemu_args_match_libvirt() {
    let Some(shared) = support::shared_for("qemu_args::qemu_args_match_libvirt") else {
        return;
    };
    let known = support::known_differences("tests/qemu-args-known-differences.tsv");
    let (mut total, mut passed) = (0, 0);
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    for version in ["libvirt-11.3.0", "libvirt-9.0.0"] {
        let dir = shared.join("conformance").join(version);
        for f in support::files(&dir, ".args") {
            let name = f
                .file_name()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches(".args")
                .to_string();
            total += 1;
            let id = format!("{version}/{name}");
            match (case_matches(&dir, &name), known.contains_key(&id)) {
                (Ok(()), false) => passed += 1,
                (Ok(()), true) => fixed.push(id),
                (Err(_), true) => {}
                (Err(e), false) => unexpected.push(format!("{id}\t{e}")),
            }
        }
    }
    eprintln!(
        "qemu-args: {} of {total} cases match libvirt's PCI -device arguments ({} known differences)",
        passed + fixed.len(),
        known.len()
    );
    assert!(total > 0, "no .args files found");
    assert!(
        unexpected.is_empty(),
        "cases whose PCI -device arguments differ from libvirt's and are not listed:\n{}",
        unexpected.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "listed as differing but now match libvirt; remove them from tests/qemu-args-known-differences.tsv:\n{}",
        fixed.join("\n")
    );
}
