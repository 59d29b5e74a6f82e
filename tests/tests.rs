//! Integration tests, one module per area, in one test binary.

// A panic is how a test reports a failure: helpers as well as #[test] functions unwrap.
#![allow(clippy::unwrap_used)]

mod audit;
mod cli;
mod conformance;
mod convert;
mod device_rules;
mod docs;
mod fuzzing;
#[path = "common/generate.rs"]
mod generate;
mod generator;
mod guest;
mod hostile;
mod io;
mod libvirt_conn;
mod libvirt_rules;
mod oracle_diff;
mod osinfo;
mod pictures;
mod places;
mod props;
mod pty;
mod qemu_args;
mod roundtrip;
mod saving;
mod support;
mod tidy;
mod tree;
mod tui;
mod usability;
