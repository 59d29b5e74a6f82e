//! Integration tests, one module per area, in one test binary.

mod cli;
mod conformance;
mod fuzzing;
mod hostile;
mod io;
mod oracle_diff;
mod osinfo;
mod props;
mod pty;
mod roundtrip;
mod saving;
mod support;
mod tidy;
mod tree;
mod tui;
