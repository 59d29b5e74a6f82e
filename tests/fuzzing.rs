//! The fuzz targets' stable-Rust twins: the same entry points (`fuzz/common.rs`) on
//! mutated corpus files (libvirt's test cases from `../shared/conformance`, read at run
//! time, and the project's own guests) and on hostile structures. `cargo fuzz` runs
//! the targets for hours on a nightly toolchain (docs/fuzzing.md); these run in the
//! test suite. Raise the number of cases with `PROPTEST_CASES`.

use std::sync::OnceLock;

use proptest::prelude::*;

#[path = "../fuzz/common.rs"]
mod common;

use crate::support;

/// The seed corpus: every conformance XML file under 256 KiB, then the own guests.
fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut files = support::own_guests();
        if let Some(shared) = support::shared_for("fuzzing (mutated libvirt test cases)") {
            files.extend(support::files(&shared.join("conformance"), ".xml"));
        }
        files
            .iter()
            .filter_map(|f| std::fs::read(f).ok())
            .filter(|b| b.len() < 256 * 1024)
            .collect()
    })
}

/// Fragments that break or stress XML, inserted at random places.
const HOSTILE: &[&str] = &[
    "\0",
    "\x01",
    "\x1b",
    "='3'",
    " #a='1'",
    "=",
    "<",
    ">",
    "&",
    "&c;",
    "&#0;",
    "&#x1;",
    "<!ENTITY c \"<controller type='pci' index='1'/>\">",
    "<!DOCTYPE domain [<!ENTITY c \"x\">]>",
    "]]>",
    "<!--",
    "-->",
    "<![CDATA[",
    "<?x ?>",
    "\u{feff}",
    "\u{fffe}",
    "\r",
    "'",
    "\"",
    "<a>",
    "</a>",
    "<address type='pci' bus='0xff' slot='0x1f' function='7'/>",
    "<controller type='pci' index='4294967295'/>",
    "index='99999999999'",
    "\u{10ffff}",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, usize),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (any::<usize>(), 0..HOSTILE.len()).prop_map(|(p, h)| Mutation::Insert(p, h)),
        (any::<usize>(), 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (any::<usize>(), 1usize..512).prop_map(|(p, n)| Mutation::Duplicate(p, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(mut b: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        let len = b.len().max(1);
        match *m {
            Mutation::Flip(p, x) if !b.is_empty() => b[p % len] = x,
            Mutation::Insert(p, h) => {
                let at = p % (b.len() + 1);
                b.splice(at..at, HOSTILE[h].bytes());
            }
            Mutation::Delete(p, n) if !b.is_empty() => {
                let at = p % len;
                let end = (at + n).min(b.len());
                b.drain(at..end);
            }
            Mutation::Duplicate(p, n) if !b.is_empty() => {
                let at = p % len;
                let end = (at + n).min(b.len());
                let piece: Vec<u8> = b[at..end].to_vec();
                b.splice(at..at, piece);
            }
            Mutation::Truncate(p) => b.truncate(p % (b.len() + 1)),
            _ => {}
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
    ))]

    /// Mutated corpus files through every input entry point: no panic, lossless when
    /// accepted, and what assign writes is well-formed and reads back.
    #[test]
    fn mutated_corpus_files_keep_every_promise(
        which in any::<usize>(),
        ms in proptest::collection::vec(mutation(), 1..6),
    ) {
        let c = corpus();
        let input = mutate(c[which % c.len()].clone(), &ms);
        common::xml(&input);
        common::domain(&input);
        common::assign(&input);
        common::analyses(&input);
    }

    /// A start tag made malformed (NUL or a control character in a value, an attribute
    /// without a name, a name starting with '#', an element name with '=') is refused.
    #[test]
    fn malformed_start_tags_are_never_accepted(
        which in any::<usize>(),
        tag in any::<usize>(),
        how in 0usize..5,
    ) {
        let c = corpus();
        let raw = String::from_utf8_lossy(&c[which % c.len()]).into_owned();
        let text = raw.strip_prefix('\u{feff}').unwrap_or(&raw).to_string();
        let Ok(doc) = virt_pci::libvirt::Document::parse(&text) else {
            return Ok(());
        };
        // Start tags of elements (not '<' inside comments or CDATA).
        let mut starts = Vec::new();
        let mut todo = vec![doc.root()];
        while let Some(e) = todo.pop() {
            starts.push(doc.element(e).pos.offset);
            todo.extend(doc.child_elements(e));
        }
        let at = starts[tag % starts.len()];
        let name_end = at + 1 + text[at + 1..].find(|ch: char| ch.is_whitespace() || ch == '/' || ch == '>').unwrap_or(0);
        let mut bad = text.clone();
        match how {
            0 => bad.insert_str(name_end, " x='1\u{0}'"),
            1 => bad.insert_str(name_end, " x='\u{1}'"),
            2 => bad.insert_str(name_end, " ='3'"),
            3 => bad.insert_str(name_end, " #x='3'"),
            _ => bad.insert_str(name_end, "=x"),
        }
        prop_assert!(virt_pci::libvirt::Document::parse(&bad).is_err(), "accepted: {}", &bad[at..(name_end + 12).min(bad.len())]);
    }

    /// Edit-op sequences on the bundled guests write XML that reads back.
    #[test]
    fn edit_op_sequences_write_back(data in proptest::collection::vec(any::<u8>(), 1..200)) {
        common::edits(&data);
    }

    /// The XML editor's check on arbitrary and mutated element text.
    #[test]
    fn the_xml_editors_check_never_panics(
        which in any::<u8>(),
        ms in proptest::collection::vec(mutation(), 0..4),
    ) {
        let text = common::EXAMPLES[which as usize % common::EXAMPLES.len()];
        let disk = text.find("<disk").map(|a| {
            let b = text[a..].find("</disk>").map_or(text.len(), |e| a + e + 7);
            &text[a..b]
        }).unwrap_or("<x/>");
        let mut data = vec![which];
        data.extend(mutate(disk.as_bytes().to_vec(), &ms));
        common::xml_edit(&data);
    }
}

/// Hostile structures built whole, through every entry point.
#[test]
fn hostile_structures_through_every_entry_point() {
    let head = "<domain type='kvm'><os><type arch='x86_64' machine='q35'>hvm</type></os>";
    let cases = [
        format!(
            "{head}<devices>{}</devices></domain>",
            "<controller type='pci' model='pcie-root-port'/>".repeat(300)
        ),
        format!(
            "{head}<devices>{}</devices></domain>",
            "<disk type='file' device='disk'><target dev='vda' bus='virtio'/></disk>".repeat(300)
        ),
        format!(
            "{head}<metadata>{}{}</metadata><devices/></domain>",
            "<a>".repeat(20_000),
            "</a>".repeat(20_000)
        ),
        format!(
            "<!DOCTYPE domain [{}]>{head}<devices/></domain>",
            "<!ENTITY a \"x\">".repeat(2000)
        ),
        format!(
            "{head}<devices><hub {}/></devices></domain>",
            (0..20_000)
                .map(|i| format!("a{i}='{i}'"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    ];
    for c in &cases {
        common::xml(c.as_bytes());
        common::domain(c.as_bytes());
        common::assign(c.as_bytes());
        common::analyses(c.as_bytes());
    }
}
