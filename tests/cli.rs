//! The real binary: exit codes, error messages with file and line, stdin, atomic
//! in-place writes with a backup.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_virt-pci"))
}

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("virt-pci-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const Q35_HEAD: &str = "<domain type='kvm'>\n  <name>t</name>\n  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  </os>\n  <devices>\n";

/// (what, document, line of the problem, words the message must contain)
const BAD: &[(&str, &str, u32, &str)] = &[
    (
        "mismatched end tag",
        "<domain>\n  <devices>\n  </device>\n</domain>\n",
        3,
        "does not match",
    ),
    (
        "unclosed element",
        "<domain>\n  <devices>\n",
        2,
        "ends inside",
    ),
    (
        "unquoted attribute",
        "<domain>\n  <devices>\n    <address slot=0x01/>\n",
        3,
        "quoted",
    ),
    (
        "duplicate attribute",
        "<domain>\n  <devices a='1' a='2'/>\n</domain>\n",
        2,
        "twice",
    ),
    ("empty file", "", 1, "no root element"),
    (
        "not a domain",
        "<network>\n  <name>default</name>\n</network>\n",
        1,
        "not <domain>",
    ),
    (
        "slot not a number",
        "<domain>\n  <devices>\n    <disk>\n      <address type='pci' slot='0xzz'/>\n    </disk>\n  </devices>\n</domain>\n",
        4,
        "not a number",
    ),
    (
        "slot too high",
        "<domain>\n  <devices>\n    <disk>\n      <address type='pci' bus='0x01' slot='0x20'/>\n    </disk>\n  </devices>\n</domain>\n",
        4,
        "slot='0x20'",
    ),
    (
        "function too high",
        "<domain>\n  <devices>\n    <disk>\n      <address type='pci' bus='0x01' slot='0x01' function='8'/>\n    </disk>\n  </devices>\n</domain>\n",
        4,
        "function",
    ),
    (
        "bus too high",
        "<domain>\n  <devices>\n    <disk>\n      <address type='pci' bus='0x100' slot='0x01'/>\n    </disk>\n  </devices>\n</domain>\n",
        4,
        "bus",
    ),
    (
        "controller index too high",
        "<domain>\n  <devices>\n    <controller type='pci' index='300' model='pci-bridge'/>\n  </devices>\n</domain>\n",
        3,
        "maximum is 255",
    ),
    (
        "controller index not a number",
        "<domain>\n  <devices>\n    <controller type='pci' index='abc' model='pci-bridge'/>\n  </devices>\n</domain>\n",
        3,
        "not a number",
    ),
    (
        "unknown controller model",
        "<domain>\n  <devices>\n    <controller type='pci' index='1' model='pcie-rot-port'/>\n  </devices>\n</domain>\n",
        3,
        "unknown PCI controller model",
    ),
];

#[test]
fn bad_input_is_reported_with_file_line_and_exit_2() {
    let dir = tmpdir("bad");
    for (what, text, line, words) in BAD {
        let path = dir.join("guest.xml");
        std::fs::write(&path, text).unwrap();
        for cmd in ["tree", "assign", "check"] {
            let out = bin().arg(cmd).arg(&path).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{what} ({cmd}): {err}");
            let prefix = format!("{}:{line}:", path.display());
            assert!(
                err.starts_with(&prefix),
                "{what} ({cmd}): expected {prefix} in {err}"
            );
            assert!(
                err.contains(words),
                "{what} ({cmd}): expected '{words}' in {err}"
            );
            assert!(!err.contains("panicked"), "{what}: {err}");
        }
    }
}

#[test]
fn non_utf8_and_external_entities_are_refused_safely() {
    let dir = tmpdir("enc");
    let path = dir.join("latin1.xml");
    std::fs::write(&path, b"<domain>\n  <name>caf\xe9</name>\n</domain>\n").unwrap();
    let out = bin().args(["tree"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(":2:"));
    // An external entity is never fetched: the text keeps the reference as written.
    let path = dir.join("xxe.xml");
    let doc = "<!DOCTYPE domain [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<domain>\n  <name>&x;</name>\n  <devices/>\n</domain>\n";
    std::fs::write(&path, doc).unwrap();
    let out = bin().args(["assign"]).arg(&path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("root:"), "the entity was expanded");
}

#[test]
fn assign_reads_stdin_and_refuses_with_exit_1() {
    let doc = format!(
        "{Q35_HEAD}    <controller type='pci' index='0' model='pcie-root'/>\n    <controller type='pci' index='1' model='pcie-root-port'>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n    </controller>\n    <interface type='network'>\n      <model type='e1000e'/>\n      <address type='pci' domain='0x0000' bus='0x01' slot='0x03' function='0x0'/>\n    </interface>\n  </devices>\n</domain>\n"
    );
    let mut child = bin()
        .args(["assign", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(doc.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("slot must be <= 0"), "{err}");
    assert!(err.contains("[VP0102]"), "{err}");
}

#[test]
fn assign_in_place_keeps_a_backup_and_is_a_fixed_point() {
    let dir = tmpdir("inplace");
    let path = dir.join("g.xml");
    let original = format!(
        "<!-- mine -->\n{Q35_HEAD}    <disk type='file' device='disk'>\n      <source file='/x.qcow2'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n  </devices>\n</domain>\n"
    );
    std::fs::write(&path, &original).unwrap();
    let st = bin()
        .args(["assign", "--in-place"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(st.success());
    let bak = std::fs::read_to_string(dir.join("g.xml.bak")).unwrap();
    assert_eq!(bak, original);
    let assigned = std::fs::read_to_string(&path).unwrap();
    assert!(assigned.starts_with("<!-- mine -->\n<domain type='kvm'>"));
    assert!(
        assigned.contains(
            "<target dev='vda' bus='virtio'/>\n      <address type='pci' domain='0x0000' bus='0x02'"
        ),
        "{assigned}"
    );
    // Running it again changes nothing.
    let out = bin().args(["assign"]).arg(&path).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), assigned);
}

#[test]
fn bundled_examples_are_fixed_points_and_only_the_broken_one_fails_check() {
    for f in support::files(&support::root().join("assets/examples"), ".xml") {
        let out = bin().args(["check", "--json"]).arg(&f).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let report = &v["files"][0];
        assert_eq!(report["accepted_by_libvirt"], true, "{}: {v}", f.display());
        let codes: Vec<&str> = report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap())
            .collect();
        // The CentOS 6 guest with plain virtio on q35 is the example of what goes
        // wrong: every one of its five virtio devices is modern-only in a root port.
        let broken = f.ends_with("centos6-q35-virtio.xml");
        let (want_codes, want_exit): (&[&str], i32) = if broken {
            (&["VP0401"; 5], 1)
        } else {
            (&[], 0)
        };
        assert_eq!(codes, want_codes, "{}: {v}", f.display());
        assert_eq!(out.status.code(), Some(want_exit), "{}", f.display());
        if broken {
            for d in report["diagnostics"].as_array().unwrap() {
                assert!(d["line"].is_u64() && d["fix"].is_string(), "{d}");
            }
        }
        let out = bin().arg("assign").arg(&f).output().unwrap();
        assert!(
            out.stdout == std::fs::read(&f).unwrap(),
            "{} is not a fixed point of assign",
            f.display()
        );
    }
}

/// Files of `tests/bad` that are readable but refused by libvirt's rules (exit 1); all
/// others (DTD tricks included: nothing is loaded or expanded without bound) are
/// refused as input errors (exit 2) at the line given.
const BAD_REFUSED: &[&str] = &[
    "domain-not-zero.xml",
    "double-use-of-address.xml",
    "duplicate-controller-index.xml",
    "root-port-slot-not-zero.xml",
];

#[test]
fn every_bad_fixture_gets_its_line_and_exit_code() {
    let dir = support::root().join("tests/bad");
    let expected = std::fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap();
    let mut seen = 0;
    for row in expected
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let cols: Vec<&str> = row.split('\t').collect();
        let [file, line, message, _what] = cols[..] else {
            panic!("EXPECTED.tsv: a row needs file, line, message and what: {row}");
        };
        let path = dir.join(file);
        let out = bin().arg("check").arg(&path).output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(!stderr.contains("panicked"), "{file}: {stderr}");
        if BAD_REFUSED.contains(&file) {
            assert_eq!(out.status.code(), Some(1), "{file}: {stdout}{stderr}");
            assert!(stdout.contains("error [VP"), "{file}: {stdout}");
        } else {
            assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
            let prefix = format!("{}:{line}:", path.display());
            assert!(
                stderr.starts_with(&prefix),
                "{file}: expected {prefix} in {stderr}"
            );
        }
        // The message column: what the user reads, word for word.
        let first = format!("{stdout}{stderr}");
        assert!(
            first.lines().any(|l| l.contains(&format!(": {message}"))),
            "{file}: expected the message {message:?} in {first}"
        );
        seen += 1;
    }
    assert!(seen >= 20, "only {seen} bad fixtures");
}

#[test]
fn check_lists_every_problem_not_just_the_first() {
    let dir = tmpdir("checkall");
    let path = dir.join("g.xml");
    let doc = format!(
        "{Q35_HEAD}    <controller type='pci' index='0' model='pcie-root'/>\n    <controller type='pci' index='1' model='pcie-root-port'/>\n    <disk type='file' device='disk'>\n      <source file='/a.img'/>\n      <target dev='vda' bus='virtio'/>\n      <address type='pci' domain='0x0000' bus='0x01' slot='0x02' function='0x0'/>\n    </disk>\n    <disk type='file' device='disk'>\n      <source file='/b.img'/>\n      <target dev='vdb' bus='virtio'/>\n      <address type='pci' domain='0x0001' bus='0x00' slot='0x05' function='0x0'/>\n    </disk>\n  </devices>\n</domain>\n"
    );
    std::fs::write(&path, doc).unwrap();
    let out = bin().args(["check", "--json"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diags = v["files"][0]["diagnostics"].as_array().unwrap();
    let codes: Vec<&str> = diags.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["VP0102", "VP0104"], "{v}");
    // Each names its own element's line.
    assert_eq!(diags[0]["line"], 9);
    assert_eq!(diags[1]["line"], 14);
}

#[test]
fn check_takes_the_guest_from_the_domain_and_the_command_line() {
    let examples = support::root().join("assets/examples");
    let virtio = examples.join("centos6-q35-virtio.xml");
    let run = |args: &[&str], envs: &[(&str, &str)]| {
        let mut c = bin();
        c.arg("check").args(args).arg(&virtio);
        for (k, v) in envs {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // From the domain's libosinfo metadata: CentOS 6.10, legacy drivers only.
    let (code, out, _) = run(&[], &[]);
    assert_eq!(code, Some(1));
    assert!(
        out.contains("CentOS 6.10 (centos6.10) from the domain"),
        "{out}"
    );
    // A guest with virtio 1.0 drivers can drive them all.
    let (code, out, _) = run(&["--os", "rhel9.2"], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("Red Hat Enterprise Linux 9.2 (rhel9.2) as given"),
        "{out}"
    );
    let (code, out, _) = run(&["--guest-virtio", "both"], &[]);
    assert_eq!(code, Some(0), "{out}");
    // An OS the table lacks is looked up in the installed osinfo-db.
    let db = support::root().join("tests/osinfo-db");
    let db = db.to_str().unwrap();
    let (code, out, _) = run(&["--os", "exos1"], &[("OSINFO_SYSTEM_DIR", db)]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("the installed osinfo-db"), "{out}");
    // ExOS 2 lists virtio 1.0 ids (net, blk): like virt-install, one id of a kind
    // stands for a virtio 1.0 driver as a whole.
    let (code, out, _) = run(&["--os", "exos2"], &[("OSINFO_SYSTEM_DIR", db)]);
    assert_eq!(code, Some(0), "{out}");
    // An OS osinfo-db lists no virtio id for: nothing can be said, and check says so.
    let (code, out, _) = run(&["--os", "bare1"], &[("OSINFO_SYSTEM_DIR", db)]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("info [VP0403]") && out.contains("1 note"),
        "{out}"
    );
    // Unknown values are usage errors.
    let (code, _, err) = run(&["--guest-virtio", "yes"], &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("legacy, modern, both, none"), "{err}");
    let (code, _, err) = run(&["--firmware", "coreboot"], &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("seabios"), "{err}");
}

#[test]
fn check_reads_the_driver_override_in_the_domain_metadata() {
    let dir = tmpdir("override");
    let src =
        std::fs::read_to_string(support::root().join("assets/examples/centos6-q35-virtio.xml"))
            .unwrap();
    let with = src.replacen(
        "</metadata>",
        "  <vp:guest xmlns:vp=\"urn:x-virt-pci:guest:1\" virtio=\"both\"/>\n  </metadata>",
        1,
    );
    assert_ne!(with, src, "the example has a <metadata> element");
    let path = dir.join("g.xml");
    std::fs::write(&path, &with).unwrap();
    let out = bin().arg("check").arg(&path).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::write(&path, with.replace("virtio=\"both\"", "virtio=\"maybe\"")).unwrap();
    let out = bin().arg("check").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("g.xml: error: line ") && err.contains("virtio='maybe'"),
        "{err}"
    );
}

#[test]
fn check_warns_about_hotplug_headroom_only_when_asked() {
    let f = support::root().join("assets/examples/centos6-q35-transitional.xml");
    let out = bin().arg("check").arg(&f).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("VP0504"));
    let out = bin()
        .args(["check", "--headroom", "8"])
        .arg(&f)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning is not an error: {text}"
    );
    assert!(
        text.contains("warning [VP0504]") && text.contains("8 wanted"),
        "{text}"
    );
}

/// libvirt maps seven SCSI units to each controller, whatever the controller model, and
/// adds an lsilogic controller for every index a disk name reaches (measured with
/// libvirt 9.0: sdh is controller 1 unit 0, sdz controller 3 unit 4).
#[test]
fn scsi_disk_names_decide_how_many_controllers_libvirt_adds() {
    let dir = tmpdir("scsi");
    let path = dir.join("g.xml");
    // No disk reaches controller 2: libvirt adds it all the same.
    let disks: String = ["sda", "sdh", "sdz"]
        .iter()
        .map(|n| {
            format!(
                "    <disk type='file' device='disk'>\n      <source file='/{n}.img'/>\n      <target dev='{n}' bus='scsi'/>\n    </disk>\n"
            )
        })
        .collect();
    std::fs::write(
        &path,
        format!("{Q35_HEAD}    <controller type='scsi' index='0' model='virtio-scsi'/>\n{disks}  </devices>\n</domain>\n"),
    )
    .unwrap();
    let out = bin().arg("assign").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("<controller type='scsi' index='0' model='virtio-scsi'>"),
        "{text}"
    );
    for i in 1..=3 {
        assert!(
            text.contains(&format!(
                "<controller type='scsi' index='{i}' model='lsilogic'>"
            )),
            "controller {i} missing:\n{text}"
        );
    }
    assert!(!text.contains("index='4' model='lsilogic'"), "{text}");
}

/// `virt-pci io` prints the firmware's plan: its JSON carries the facts the firmware
/// really produced (the IO corpus's measurement of the same guest), and the exit
/// status says whether anything loses IO.
#[test]
fn io_plan_json_carries_what_the_firmware_did_and_the_exit_status_says_who_loses() {
    let cases = support::root().join("tests/io-corpus/cases");
    let xml = cases.join("pc-rootbars-8br-16rtl.xml");
    let measured: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(cases.join("pc-rootbars-8br-16rtl.ovmf-2022.json")).unwrap(),
    )
    .unwrap();
    let out = bin()
        .args(["io", "--json", "--firmware", "ovmf-2022"])
        .arg(&xml)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "devices are dropped");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["outcome"], "devices-dropped");
    assert_eq!(v["firmware"]["id"], "ovmf-2022");
    assert_eq!(v["loses_io"], true);
    let mut dropped: Vec<String> = v["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    dropped.sort();
    let mut rejected: Vec<String> = measured["devices"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, d)| d["rejected"] == true)
        .map(|(a, _)| a.clone())
        .collect();
    rejected.sort();
    assert!(!rejected.is_empty());
    assert_eq!(dropped, rejected);
    for (index, w) in measured["windows"].as_object().unwrap() {
        let ours = v["windows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["index"].as_u64().map(|i| i.to_string()).as_deref() == Some(index.as_str()))
            .unwrap_or_else(|| panic!("window {index} missing"));
        assert_eq!(ours["size"], w["io"], "window {index}");
    }
    // Every dropped device is listed with its status and the line it is written on.
    for d in v["devices"].as_array().unwrap() {
        let is_dropped = dropped.iter().any(|a| d["address"] == a.as_str());
        assert_eq!(d["status"] == "dropped", is_dropped, "{d}");
        if !d["chipset"].as_bool().unwrap() {
            assert!(d["line"].as_u64().is_some_and(|l| l > 10), "{d}");
        }
    }

    // The same guest under SeaBIOS does not boot; the text says so.
    let out = bin().arg("io").arg(&xml).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("SeaBIOS stops the boot"), "{text}");
    assert!(text.contains("not-programmed"), "{text}");

    // A guest that fits exits 0, from stdin too.
    let ok = std::fs::read(cases.join("q35-rp-trans-net-14.xml")).unwrap();
    let mut child = bin()
        .args(["io", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&ok).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    // 14 root ports with a 4 KiB window each, plus the ICH9 SATA (0x20) and SMBus
    // (0x40) BARs: the firmware's root range was 0x1000-0xf05f.
    assert!(text.contains("used 0xe060 of 0xf000 from 0x1000"), "{text}");
    assert!(text.contains(": fits"), "{text}");

    // Bad firmware: exit 2 before reading anything.
    let out = bin()
        .args(["io", "--firmware", "coreboot"])
        .arg(&xml)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("seabios, ovmf-2022, ovmf"));

    // No x86 IO space on aarch64: said so, exit 0.
    let arm = support::root().join("assets/examples/aarch64-virt-mmio.xml");
    let out = bin().arg("io").arg(&arm).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not modelled"));
}

/// USB controllers sharing an index, as libvirt 9.0 and 11.3 both judge them (asked
/// of both): an ICH9 UHCI is always a companion (libvirt gives it `<master>` itself),
/// every other model (the EHCI too) is the one non-companion an index may have, and
/// companions alone are refused.
#[test]
fn usb_controllers_sharing_an_index_are_judged_as_libvirt_does() {
    let cases: &[(&str, Option<&str>)] = &[
        ("ich9-ehci1|ich9-uhci1", None),
        ("piix3-uhci|ich9-uhci1@0", None),
        ("qemu-xhci|ich9-uhci1@0", None),
        ("ich9-uhci1|ich9-uhci2", Some("VP0302")),
        ("piix3-uhci|ich9-ehci1|ich9-uhci1@0", Some("VP0201")),
        ("pci-ohci|ich9-ehci1", Some("VP0201")),
    ];
    for (shape, want) in cases {
        let mut devices = String::new();
        for c in shape.split('|') {
            let (model, master) = match c.split_once('@') {
                Some((m, p)) => (m, format!("<master startport='{p}'/>")),
                None => (c, String::new()),
            };
            devices.push_str(&format!(
                "<controller type='usb' index='0' model='{model}'>{master}</controller>"
            ));
        }
        let xml = format!(
            "<domain type='qemu'><name>u</name><memory>524288</memory><os><type arch='x86_64' machine='q35'>hvm</type></os><devices>{devices}</devices></domain>"
        );
        let doc = virt_pci::libvirt::Document::parse(&xml).expect("xml");
        let topo = virt_pci::libvirt::read_topology(&doc).expect("domain");
        let got = virt_pci::core::assign::assign(&topo)
            .err()
            .map(|d| d.code.as_str());
        assert_eq!(got, *want, "{shape}");
    }
}
