//! Helpers shared by the integration tests: where the shared corpora are, and
//! listing fixture files.

use std::path::{Path, PathBuf};

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Says on the real standard error (not the test harness's captured output, so the line
/// shows in the output of `cargo test` whether or not the test passes) that a suite did
/// not run, and why.
pub fn skip(suite: &str, why: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "SKIP {suite}: {why}");
}

/// True when running under CI (`CI=true`), where missing ground truth is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `../shared` when present. Without it the suite is skipped, visibly; under `CI=true`
/// a missing `../shared` fails the test instead.
pub fn shared_for(suite: &str) -> Option<PathBuf> {
    let p = root().join("../shared");
    if p.join("conformance").is_dir() {
        return Some(p);
    }
    assert!(
        !in_ci(),
        "{suite}: ../shared/conformance is not next to the project, and CI=true requires it"
    );
    skip(
        suite,
        "../shared/conformance is not present next to the project, so this corpus test did not run",
    );
    None
}

/// Files under `dir` (recursively) whose name ends with `suffix`, sorted.
pub fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The project's own guests: `tests/guests/*.xml` and `assets/examples/*.xml`.
pub fn own_guests() -> Vec<PathBuf> {
    let mut v = files(&root().join("tests/guests"), ".xml");
    v.extend(files(&root().join("assets/examples"), ".xml"));
    v
}

/// A known-differences list (`case<TAB>reason` per line, `#` comments): the cases a
/// ratchet test expects to differ, each with why.
pub fn known_differences(rel: &str) -> std::collections::BTreeMap<String, String> {
    let text = std::fs::read_to_string(root().join(rel)).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The children of `<devices>` in the order libvirt keeps them: it moves the first
/// `primary='yes'` video to the front of the videos as it reads a domain, so the
/// n-th video of its output is the n-th of this order (the harnesses compare by it).
pub fn libvirt_device_order(
    doc: &virt_pci::libvirt::Document,
    devices: virt_pci::libvirt::NodeId,
) -> Vec<virt_pci::libvirt::NodeId> {
    let mut order: Vec<_> = doc.child_elements(devices).collect();
    let videos: Vec<usize> = (0..order.len())
        .filter(|&k| doc.name(order[k]) == "video")
        .collect();
    let primary = videos.iter().copied().find(|&k| {
        doc.child(order[k], "model")
            .and_then(|m| doc.attr(m, "primary"))
            .as_deref()
            == Some("yes")
    });
    if let Some(p) = primary {
        let mut vs: Vec<_> = videos.iter().map(|&k| order[k]).collect();
        let first = order[p];
        vs.retain(|&v| v != first);
        vs.insert(0, first);
        for (k, v) in videos.iter().zip(vs) {
            order[*k] = v;
        }
    }
    order
}
