//! Which libvirt and QEMU the front ends predict: `--libvirt` / `--qemu` (or the
//! `VIRT_PCI_LIBVIRT` / `VIRT_PCI_QEMU` environment variables), else the versions
//! installed on this machine when a quick `virsh --version` / `qemu-system-x86_64
//! --version` answers, else the newest known. The rules themselves are in
//! `core::versions`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::core::versions::{Libvirt, Platform, Qemu};

/// Why one half of the target was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// `--libvirt` / `--qemu`.
    Option,
    /// The environment variable named.
    Env(&'static str),
    /// Found installed: the version the program printed.
    Installed(String),
    /// Not given; an installed one was not found (or is not a known release).
    Newest(String),
    /// Picked in the designer.
    Designer,
}

impl Why {
    /// A few words for headers.
    pub fn describe(&self) -> String {
        match self {
            Why::Option => "as given".into(),
            Why::Env(v) => format!("from {v}"),
            Why::Installed(v) => format!("installed here: {v}"),
            Why::Newest(why) => format!("newest known; {why}"),
            Why::Designer => "chosen in the designer".into(),
        }
    }

    /// A short key for JSON.
    pub fn key(&self) -> &'static str {
        match self {
            Why::Option => "option",
            Why::Env(_) => "environment",
            Why::Installed(_) => "installed",
            Why::Newest(_) => "newest",
            Why::Designer => "designer",
        }
    }
}

/// The chosen target and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The releases.
    pub platform: Platform,
    /// Why this libvirt.
    pub libvirt_why: Why,
    /// Why this QEMU.
    pub qemu_why: Why,
}

impl Default for Target {
    /// The newest known releases, when nothing chose a target.
    fn default() -> Target {
        Target {
            platform: Platform::NEWEST,
            libvirt_why: Why::Newest("not chosen".into()),
            qemu_why: Why::Newest("not chosen".into()),
        }
    }
}

impl Target {
    /// Like [`Target::describe`], with one reason when both halves have the same:
    /// `libvirt 11.3 + QEMU 10.0 (chosen in the designer)`.
    pub fn summary(&self) -> String {
        if self.libvirt_why == self.qemu_why {
            format!(
                "{} ({})",
                self.platform.describe(),
                self.libvirt_why.describe()
            )
        } else {
            self.describe()
        }
    }

    /// The target `platform`, picked in the designer.
    pub fn designer(platform: Platform) -> Target {
        Target {
            platform,
            libvirt_why: Why::Designer,
            qemu_why: Why::Designer,
        }
    }

    /// `libvirt 9.0 (installed here: 9.0.0) + QEMU 7.2 (installed here: 7.2.22)`.
    pub fn describe(&self) -> String {
        format!(
            "libvirt {} ({}) + QEMU {} ({})",
            self.platform.libvirt_rules().name,
            self.libvirt_why.describe(),
            self.platform.qemu_rules().name,
            self.qemu_why.describe()
        )
    }
}

/// A target version that is not a release virt-pci knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("unknown libvirt version '{0}': virt-pci knows {names}", names = Libvirt::names().join(", "))]
    Libvirt(String),
    #[error("unknown QEMU version '{0}': virt-pci knows {names}", names = Qemu::names().join(", "))]
    Qemu(String),
    /// A bad value in the environment variable that sets it.
    #[error("{var}: {error}")]
    Env {
        var: &'static str,
        error: Box<VersionError>,
    },
}

/// Parses a `--libvirt` value (for clap).
pub fn parse_libvirt(s: &str) -> Result<Libvirt, VersionError> {
    Libvirt::parse(s).ok_or_else(|| VersionError::Libvirt(s.to_string()))
}

/// Parses a `--qemu` value (for clap).
pub fn parse_qemu(s: &str) -> Result<Qemu, VersionError> {
    Qemu::parse(s).ok_or_else(|| VersionError::Qemu(s.to_string()))
}

/// The error for a bad value in environment variable `var`.
fn in_env(var: &'static str) -> impl Fn(VersionError) -> VersionError {
    move |e| VersionError::Env {
        var,
        error: Box::new(e),
    }
}

/// The first line a program prints, or `None` when it is missing or takes longer
/// than a second.
fn quick_output(program: &str, args: &[&str]) -> Option<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let t0 = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if t0.elapsed() < Duration::from_millis(1000) => {
                std::thread::sleep(Duration::from_millis(2));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    String::from_utf8(out.stdout)
        .ok()?
        .lines()
        .next()
        .map(str::to_string)
}

/// The dotted version in a line such as `QEMU emulator version 7.2.22 (Debian ...)`.
fn version_in(line: &str) -> Option<String> {
    line.split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()) && w.contains('.'))
        .map(str::to_string)
}

/// Chooses the target: given values, then the environment, then what is installed,
/// then the newest known release.
pub fn choose(libvirt: Option<Libvirt>, qemu: Option<Qemu>) -> Result<Target, VersionError> {
    let newest = Platform::NEWEST;
    let unset = |v: &str| std::env::var(v).map_or(true, |x| x.is_empty());
    // Both programs are asked at once, and only when their answer is needed.
    let (virsh, qemu_line) = std::thread::scope(|s| {
        let a = (libvirt.is_none() && unset("VIRT_PCI_LIBVIRT"))
            .then(|| s.spawn(|| quick_output("virsh", &["--version"])));
        let b = (qemu.is_none() && unset("VIRT_PCI_QEMU"))
            .then(|| s.spawn(|| quick_output("qemu-system-x86_64", &["--version"])));
        (
            a.and_then(|h| h.join().ok().flatten()),
            b.and_then(|h| h.join().ok().flatten()),
        )
    });
    let (libvirt, libvirt_why) = match libvirt {
        Some(l) => (l, Why::Option),
        None => match std::env::var("VIRT_PCI_LIBVIRT") {
            Ok(v) if !v.is_empty() => (
                parse_libvirt(&v).map_err(in_env("VIRT_PCI_LIBVIRT"))?,
                Why::Env("VIRT_PCI_LIBVIRT"),
            ),
            _ => match virsh.as_deref().and_then(version_in) {
                Some(v) => match Libvirt::parse(&v) {
                    Some(l) => (l, Why::Installed(v)),
                    None => (
                        newest.libvirt,
                        Why::Newest(format!("installed libvirt {v} is not a known release")),
                    ),
                },
                None => (newest.libvirt, Why::Newest("no libvirt found".into())),
            },
        },
    };
    let (qemu, qemu_why) = match qemu {
        Some(q) => (q, Why::Option),
        None => match std::env::var("VIRT_PCI_QEMU") {
            Ok(v) if !v.is_empty() => (
                parse_qemu(&v).map_err(in_env("VIRT_PCI_QEMU"))?,
                Why::Env("VIRT_PCI_QEMU"),
            ),
            _ => match qemu_line.as_deref().and_then(version_in) {
                Some(v) => match Qemu::parse(&v) {
                    Some(q) => (q, Why::Installed(v)),
                    None => (
                        newest.qemu,
                        Why::Newest(format!("installed QEMU {v} is not a known release")),
                    ),
                },
                None => (newest.qemu, Why::Newest("no QEMU found".into())),
            },
        },
    };
    Ok(Target {
        platform: Platform { libvirt, qemu },
        libvirt_why,
        qemu_why,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_found_in_version_lines() {
        assert_eq!(
            version_in("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)").as_deref(),
            Some("7.2.22")
        );
        assert_eq!(version_in("9.0.0").as_deref(), Some("9.0.0"));
        assert_eq!(version_in("no version here"), None);
    }

    #[test]
    fn given_versions_win() {
        let t = choose(Some(Libvirt::V9_0), Some(Qemu::V7_2)).unwrap();
        assert_eq!(t.platform, Platform::DEBIAN12);
        assert_eq!(t.libvirt_why, Why::Option);
        assert!(
            parse_libvirt("8.0")
                .unwrap_err()
                .to_string()
                .contains("9.0, 11.3")
        );
    }
}
