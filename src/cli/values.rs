//! clap value types for the enumerated options (`--firmware`, `--guest-virtio`), read
//! from the core's own tables so that help, completions, the man page and the error for
//! an unknown value all list what the analyses know.

use std::sync::LazyLock;

use clap::builder::PossibleValue;

use crate::core::guest_os::Drivers;
use crate::core::io_space::{self, FIRMWARES, Firmware};

/// Other spellings the core accepts; each becomes an alias of the value it means.
const FIRMWARE_ALIASES: &[&str] = &["ovmf-2025"];
const DRIVER_ALIASES: &[&str] = &["0.9", "1.0"];

/// A `--firmware` value: one of the core's firmware profiles.
#[derive(Clone, Copy, Debug)]
pub struct FirmwareArg(pub &'static Firmware);

impl FirmwareArg {
    /// The profile's id, as the analysis context takes it.
    pub fn id(self) -> String {
        self.0.id.to_string()
    }
}

impl clap::ValueEnum for FirmwareArg {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: LazyLock<Vec<FirmwareArg>> =
            LazyLock::new(|| FIRMWARES.iter().map(FirmwareArg).collect());
        &ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let aliases = FIRMWARE_ALIASES
            .iter()
            .filter(|a| io_space::firmware(a).is_some_and(|f| f.id == self.0.id));
        Some(PossibleValue::new(self.0.id).aliases(aliases.copied()))
    }
}

/// A `--guest-virtio` value: which virtio drivers the guest has.
#[derive(Clone, Copy, Debug)]
pub struct DriversArg(pub &'static str);

impl DriversArg {
    /// The name, as the analysis context takes it.
    pub fn name(self) -> String {
        self.0.to_string()
    }
}

impl clap::ValueEnum for DriversArg {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: LazyLock<Vec<DriversArg>> =
            LazyLock::new(|| Drivers::NAMES.iter().copied().map(DriversArg).collect());
        &ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let this = Drivers::from_name(self.0);
        let aliases = DRIVER_ALIASES
            .iter()
            .filter(|a| Drivers::from_name(a).is_some() && Drivers::from_name(a) == this);
        Some(PossibleValue::new(self.0).aliases(aliases.copied()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn every_firmware_and_driver_name_is_a_value_and_aliases_mean_the_same() {
        for f in FIRMWARES {
            let v = FirmwareArg::from_str(f.id, false).expect("firmware id is a value");
            assert_eq!(v.0.id, f.id);
        }
        let alias = FirmwareArg::from_str("ovmf-2025", false).expect("alias accepted");
        assert_eq!(Some(alias.0), io_space::firmware("ovmf-2025"));
        for n in Drivers::NAMES {
            assert_eq!(DriversArg::from_str(n, false).map(|d| d.0), Ok(*n));
        }
        let legacy = DriversArg::from_str("0.9", false).expect("alias accepted");
        assert_eq!(Drivers::from_name(legacy.0), Drivers::from_name("0.9"));
        assert!(FirmwareArg::from_str("coreboot", false).is_err());
    }
}
