//! Fuzz target `edit_ops`: arbitrary bytes into `common::edits` (see `fuzz/common.rs`).

#![no_main]

#[path = "../common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::edits(data));
