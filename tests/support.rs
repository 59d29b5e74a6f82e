//! Helpers shared by the integration tests: where the shared corpora are, and
//! listing fixture files.

use std::path::{Path, PathBuf};

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` when present; tests that need it print why they skip otherwise.
pub fn shared() -> Option<PathBuf> {
    let p = root().join("../shared");
    if p.join("conformance").is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: ../shared/conformance is not present next to the project; corpus tests did not run"
        );
        None
    }
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
