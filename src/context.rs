//! The front ends' way into the live analyses: the analysis context built from the
//! domain's metadata (libosinfo OS id, virt-pci's driver override) and the user's
//! choices (`--os`, `--firmware`, `--guest-virtio`, `--headroom`), so that `check`,
//! `tree`, `io` and the designer all judge a guest the same way.

use crate::core::analyses::Context;
use crate::core::guest_os::{Drivers, IdSource};
use crate::core::io_space;
use crate::libvirt::{Document, meta};

/// What the user chose; `None` everywhere means "as the domain says".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Choices {
    /// Guest OS id (libosinfo short id or URI).
    pub os: Option<String>,
    /// Firmware profile id (`seabios`, `ovmf-2022`, `ovmf`).
    pub firmware: Option<String>,
    /// The guest's virtio drivers (`legacy`, `modern`, `both`, `none`).
    pub guest_virtio: Option<String>,
    /// Empty hotplug ports wanted.
    pub headroom: Option<u32>,
}

/// Why a context cannot be built; each message is one line for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// A firmware id the core has no profile for.
    #[error("unknown firmware '{0}': use one of {ids}", ids = firmware_ids())]
    UnknownFirmware(String),
    /// A `--guest-virtio` value that is not a driver set.
    #[error("--guest-virtio '{0}' is not one of {names}", names = Drivers::NAMES.join(", "))]
    UnknownDrivers(String),
    /// A driver set in the domain's virt-pci metadata that is not one of the names.
    #[error(
        "line {line}: virt-pci metadata says virtio='{value}', which is not one of {names}",
        names = Drivers::NAMES.join(", ")
    )]
    UnknownMetadataDrivers { value: String, line: u32 },
}

// Front ends that report one line of text (the designer's status line) take the
// message as it is.
impl From<ContextError> for String {
    fn from(e: ContextError) -> String {
        e.to_string()
    }
}

/// The firmware ids for messages.
pub fn firmware_ids() -> String {
    io_space::FIRMWARES
        .iter()
        .map(|f| f.id)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The context for analysing `doc`. Errors are one line for the user: an unknown
/// firmware, a driver set that is not one of the four names (from the command line or,
/// with its line, from the domain's metadata).
pub fn context(doc: &Document, choices: &Choices) -> Result<Context, ContextError> {
    let firmware = match &choices.firmware {
        Some(id) => {
            Some(io_space::firmware(id).ok_or_else(|| ContextError::UnknownFirmware(id.clone()))?)
        }
        None => None,
    };
    let os_id = match &choices.os {
        Some(id) => Some((id.clone(), IdSource::User)),
        None => meta::osinfo_id(doc).map(|id| (id, IdSource::Domain)),
    };
    let drivers_override = match &choices.guest_virtio {
        Some(v) => Some((
            Drivers::from_name(v).ok_or_else(|| ContextError::UnknownDrivers(v.clone()))?,
            "--guest-virtio".to_string(),
        )),
        None => match meta::guest_virtio_override(doc) {
            Some((v, line)) => Some((
                Drivers::from_name(&v).ok_or_else(|| ContextError::UnknownMetadataDrivers {
                    value: v.clone(),
                    line,
                })?,
                format!("the domain's virt-pci metadata (line {line})"),
            )),
            None => None,
        },
    };
    // A driver override without an OS id still tells the analyses what they need.
    let (id, source) = match (os_id, &drivers_override) {
        (Some(o), _) => o,
        (None, Some(_)) => ("unnamed guest".to_string(), IdSource::User),
        (None, None) => {
            return Ok(Context {
                firmware,
                headroom: choices.headroom,
                io: meta::io_settings(doc),
                ..Context::default()
            });
        }
    };
    let mut os = crate::host::osinfo::guest_os(&id, source);
    os.drivers_override = drivers_override;
    Ok(Context {
        firmware,
        os: Some(os),
        headroom: choices.headroom,
        io: meta::io_settings(doc),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(meta: &str) -> Document {
        Document::parse(&format!(
            "<domain type='kvm'><name>g</name>\n<metadata>\n{meta}</metadata></domain>"
        ))
        .expect("parses")
    }

    const CENTOS6: &str = "<libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'><libosinfo:os id='http://centos.org/centos/6.10'/></libosinfo:libosinfo>\n";

    #[test]
    fn the_domain_names_the_os_and_the_user_overrides_it() {
        let d = doc(CENTOS6);
        let c = context(&d, &Choices::default()).expect("ok");
        let os = c.os.expect("os");
        assert_eq!(os.id_source, IdSource::Domain);
        assert!(os.drivers().is_some_and(Drivers::needs_legacy));
        let c = context(
            &d,
            &Choices {
                os: Some("win10".into()),
                ..Choices::default()
            },
        )
        .expect("ok");
        let os = c.os.expect("os");
        assert_eq!((os.id.as_str(), os.id_source), ("win10", IdSource::User));
        assert!(os.drivers().is_some_and(|x| x.modern));
    }

    #[test]
    fn driver_override_from_metadata_or_command_line() {
        let d = doc(&format!(
            "{CENTOS6}<vp:guest xmlns:vp='urn:x-virt-pci:guest:1' virtio='both'/>\n"
        ));
        let os = context(&d, &Choices::default())
            .expect("ok")
            .os
            .expect("os");
        assert_eq!(os.drivers().map(Drivers::name), Some("both"));
        assert!(
            os.drivers_reason().contains("line 4"),
            "{}",
            os.drivers_reason()
        );
        let os = context(
            &d,
            &Choices {
                guest_virtio: Some("modern".into()),
                ..Choices::default()
            },
        )
        .expect("ok")
        .os
        .expect("os");
        assert_eq!(os.drivers().map(Drivers::name), Some("modern"));
        // Without any OS id the override alone is enough.
        let os = context(
            &doc(""),
            &Choices {
                guest_virtio: Some("legacy".into()),
                ..Choices::default()
            },
        )
        .expect("ok")
        .os
        .expect("os");
        assert!(os.drivers().is_some_and(Drivers::needs_legacy));
    }

    #[test]
    fn bad_values_are_refused_with_what_to_use() {
        let bad_meta = doc("<vp:guest xmlns:vp='urn:x-virt-pci:guest:1' virtio='yes'/>\n");
        let e = context(&bad_meta, &Choices::default()).expect_err("bad");
        assert!(matches!(
            e,
            ContextError::UnknownMetadataDrivers { line: 3, .. }
        ));
        let e = e.to_string();
        assert!(
            e.starts_with("line 3:") && e.contains("legacy, modern, both, none"),
            "{e}"
        );
        let e = context(
            &doc(""),
            &Choices {
                firmware: Some("coreboot".into()),
                ..Choices::default()
            },
        )
        .expect_err("bad firmware");
        assert_eq!(e, ContextError::UnknownFirmware("coreboot".into()));
        assert!(e.to_string().contains("seabios"), "{e}");
        assert!(
            context(&doc(""), &Choices::default())
                .expect("ok")
                .os
                .is_none()
        );
    }
}
