//! Hostile input: nesting of any depth, tags with very many attributes, huge values,
//! DTD entities. Each test is the regression test of a finding: the work stays linear,
//! the stack bounded, messages short, and the guest read is the one libvirt reads.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use virt_pci::libvirt::{Document, read_topology};

const HEAD: &str = "<domain type='kvm'>\n  <name>t</name>\n  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  </os>\n";

fn nested(depth: usize) -> String {
    format!(
        "{HEAD}  <metadata>{}{}</metadata>\n  <devices/>\n</domain>\n",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    )
}

fn many_attributes(n: usize) -> String {
    let attrs: String = (0..n).map(|i| format!(" a{i}='1'")).collect();
    format!("{HEAD}  <metadata><a{attrs}/></metadata>\n  <devices/>\n</domain>\n")
}

/// Runs `f` on a thread with a small stack: a walk that recurses once per level of
/// nesting overflows it (and aborts the test binary) long before 100,000 levels.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .expect("thread")
        .join()
        .expect("no panic");
}

#[test]
fn deep_nesting_is_parsed_written_and_dropped_without_recursion() {
    on_small_stack(|| {
        let text = nested(200_000);
        let mut doc = Document::parse(&text).expect("well-formed");
        let topo = read_topology(&doc).expect("a domain");
        let plan = virt_pci::core::assign::assign(&topo).expect("accepted");
        assert_eq!(doc.write(), text, "untouched document writes back the same");
        virt_pci::libvirt::write_plan(&mut doc, &topo, &plan);
        let out = doc.write();
        assert!(out.contains(&"<a>".repeat(200_000)), "nesting kept");
        drop(doc);
    });
}

fn run_within(args: &[&str], input: &str, limit: Duration) -> std::process::Output {
    let dir = std::env::temp_dir().join(format!("virt-pci-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(format!("in-{}.xml", input.len()));
    std::fs::write(&path, input).expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_virt-pci"))
        .args(args)
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{args:?} still running after {limit:?}: work grows faster than the input");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let _ = std::fs::remove_file(&path);
    out
}

/// Every command reads a million levels of nesting and a tag with a million
/// attributes: quadratic work (minutes before the fix) would not end in time, and
/// a recursive walk would abort.
#[test]
fn a_million_levels_or_attributes_do_not_hang_or_abort_any_command() {
    let limit = Duration::from_secs(90);
    for input in [nested(1_000_000), many_attributes(1_000_000)] {
        for cmd in ["assign", "check", "tree", "io"] {
            let out = run_within(&[cmd], &input, limit);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{cmd}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn a_huge_value_is_not_echoed_in_messages() {
    let huge = "x".repeat(10 << 20);
    let input = format!(
        "{HEAD}  <devices>\n    <controller type='pci' index='1' model='{huge}'/>\n  </devices>\n</domain>\n"
    );
    let out = run_within(&["check"], &input, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("unknown PCI controller model 'xxxx"),
        "{stderr}"
    );
    assert!(stderr.len() < 1000, "{} bytes on stderr", stderr.len());
    // The same for a value the XML layer refuses.
    let input = format!("{HEAD}  <devices a='{huge}&bogus;'/>\n</domain>\n");
    let out = run_within(&["check"], &input, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.len() < 1000, "{} bytes on stderr", stderr.len());
}

/// libvirt expands an internal entity of plain text wherever it is referenced (the
/// oracles read `model='&n;'` with `<!ENTITY n "entguest">` as the model `entguest`
/// and refuse it as an unknown model); virt-pci reads the same value.
#[test]
fn plain_text_entities_are_read_as_libvirt_reads_them() {
    let text = "<!DOCTYPE domain [\n<!ENTITY m \"pcie-root-port\">\n<!ENTITY n \"g&#x31;\">\n]>\n<domain type='kvm'>\n  <name>&n;</name>\n  <os><type arch='x86_64' machine='q35'>hvm</type></os>\n  <devices>\n    <controller type='pci' index='1' model='&m;'/>\n  </devices>\n</domain>\n";
    let doc = Document::parse(text).expect("well-formed");
    assert_eq!(doc.write(), text, "kept as written");
    let topo = read_topology(&doc).expect("domain");
    assert_eq!(topo.name, "g1");
    let c = topo
        .devices
        .iter()
        .find(|d| d.index == Some(1))
        .expect("controller 1");
    assert_eq!(c.model.as_deref(), Some("pcie-root-port"));
}

/// An entity of markup, of other entities (the billion laughs) or from outside is
/// refused with its line, never dropped and never expanded.
#[test]
fn entities_virt_pci_does_not_expand_are_refused_not_dropped() {
    for (decl, why) in [
        (
            "<!ENTITY c \"<controller type='pci' index='1'/>\">",
            "markup",
        ),
        (
            "<!ENTITY a \"lol\"><!ENTITY c \"&a;&a;\">",
            "other entities",
        ),
        ("<!ENTITY c SYSTEM \"file:///etc/passwd\">", "external"),
    ] {
        let text = format!(
            "<!DOCTYPE domain [{decl}]>\n<domain type='kvm'>\n  <devices>\n    &c;\n  </devices>\n</domain>\n"
        );
        let e = Document::parse(&text).expect_err(decl);
        assert_eq!(e.pos.line, 4, "{e}");
        assert!(e.message.contains(why), "{e}");
    }
}
