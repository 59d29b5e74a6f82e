//! Integration tests, one module per area, in one test binary.

mod cli;
mod conformance;
mod docs;
mod io;
mod oracle_diff;
mod osinfo;
mod props;
mod pty;
mod roundtrip;
mod support;
mod tidy;
mod tree;
mod tui;
mod usability;
