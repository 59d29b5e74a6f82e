//! A libvirt connection through libvirt's own command-line client, `virsh`, run as a
//! child process: reading a domain's persistent (next-boot) and live definitions,
//! listing domains, and defining an edited domain back. Going through `virsh` keeps
//! the default build free of libvirt's development headers (`cargo install` works
//! on any machine); only running these commands needs `virsh` (Debian: package
//! `libvirt-clients`). The connection URI follows virsh's rules: `-c URI` when given,
//! else `LIBVIRT_DEFAULT_URI`, else libvirt's default.

use std::io::Write as _;
use std::process::{Command, Stdio};

/// What went wrong talking to libvirt.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `virsh` could not be started.
    #[error(
        "cannot run virsh ({0}): virt-pci reads libvirt domains through libvirt's command-line client; install it (Debian, Ubuntu: libvirt-clients; Fedora: libvirt-client)"
    )]
    NoVirsh(std::io::Error),
    /// libvirt answered with an error; the text is libvirt's.
    #[error("{0}")]
    Libvirt(String),
    /// The domain's definition changed since it was read.
    #[error(
        "the definition of domain '{0}' changed since virt-pci read it; not overwriting it (reopen the domain to see the other change)"
    )]
    Changed(String),
    /// A temporary file for `virsh define` could not be written.
    #[error("cannot write a temporary file for virsh define: {0}")]
    Temp(std::io::Error),
}

/// The state of a domain, as far as editing it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Not running: the persistent definition is what it boots with.
    Inactive,
    /// Running (or paused): its live configuration stays until it is shut down;
    /// a new definition applies at the next boot.
    Running,
}

/// A connection: the URI to pass to virsh, or `None` for virsh's default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Connection {
    /// `qemu:///system`, `qemu+ssh://host/system`, ...
    pub uri: Option<String>,
}

impl Connection {
    /// A connection to `uri` (`None`: `LIBVIRT_DEFAULT_URI`, else libvirt's default).
    pub fn new(uri: Option<String>) -> Connection {
        Connection { uri }
    }

    /// The URI for messages: as given, or what virsh will pick.
    pub fn describe(&self) -> String {
        match &self.uri {
            Some(u) => u.clone(),
            None => match std::env::var("LIBVIRT_DEFAULT_URI") {
                Ok(u) if !u.is_empty() => u,
                _ => "libvirt's default connection".into(),
            },
        }
    }

    fn command(&self) -> Command {
        let program = std::env::var_os("VIRT_PCI_VIRSH").unwrap_or_else(|| "virsh".into());
        let mut c = Command::new(program);
        // -q: no banners; the URI only when given, so that virsh applies
        // LIBVIRT_DEFAULT_URI and its own defaults exactly as it does for the user.
        c.arg("-q");
        if let Some(u) = &self.uri {
            c.arg("-c").arg(u);
        }
        c.stdin(Stdio::null());
        c
    }

    /// Runs `virsh ARGS` and returns its standard output, or libvirt's error.
    fn run(&self, args: &[&str]) -> Result<String, Error> {
        let out = self.command().args(args).output().map_err(Error::NoVirsh)?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            // virsh prefixes each line with "error: "; the caller adds its own.
            let err = err
                .lines()
                .map(|l| l.strip_prefix("error: ").unwrap_or(l))
                .filter(|l| !l.trim().is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            let err = err.trim();
            Err(Error::Libvirt(if err.is_empty() {
                format!("virsh {} failed ({})", args.join(" "), out.status)
            } else {
                err.to_string()
            }))
        }
    }

    /// The persistent definition: what the domain boots with next time.
    pub fn inactive_xml(&self, domain: &str) -> Result<String, Error> {
        self.run(&["dumpxml", "--inactive", "--", domain])
    }

    /// The live definition of a running domain.
    pub fn live_xml(&self, domain: &str) -> Result<String, Error> {
        self.run(&["dumpxml", "--", domain])
    }

    /// Whether the domain runs.
    pub fn state(&self, domain: &str) -> Result<State, Error> {
        let s = self.run(&["domstate", "--", domain])?;
        Ok(match s.trim() {
            "shut off" | "crashed" => State::Inactive,
            _ => State::Running,
        })
    }

    /// Every domain's name, defined or running.
    pub fn list_all(&self) -> Result<Vec<String>, Error> {
        let s = self.run(&["list", "--all", "--name"])?;
        Ok(s.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect())
    }

    /// Defines `xml` (as `virsh define` does; libvirt validates it and answers with
    /// its error when it refuses).
    pub fn define(&self, xml: &str) -> Result<(), Error> {
        let mut f = tempfile::Builder::new()
            .prefix("virt-pci-define-")
            .suffix(".xml")
            .tempfile()
            .map_err(Error::Temp)?;
        f.write_all(xml.as_bytes()).map_err(Error::Temp)?;
        f.flush().map_err(Error::Temp)?;
        let path = f.path().to_string_lossy().into_owned();
        // virsh's first line names the temporary file, which means nothing to the
        // user; libvirt's own reason follows it.
        self.run(&["define", "--", &path])
            .map(|_| ())
            .map_err(|e| match e {
                Error::Libvirt(m) => Error::Libvirt(
                    m.split("; ")
                        .filter(|l| !l.starts_with("Failed to define domain from"))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                other => other,
            })
    }

    /// Defines `xml` for `domain` unless its persistent definition differs from
    /// `as_read` (the text the edit started from): another change made meanwhile is
    /// never overwritten.
    pub fn define_unchanged(&self, domain: &str, as_read: &str, xml: &str) -> Result<(), Error> {
        if self.inactive_xml(domain)? != as_read {
            return Err(Error::Changed(domain.to_string()));
        }
        self.define(xml)
    }
}
