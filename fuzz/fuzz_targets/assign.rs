//! Fuzz target `assign`: arbitrary bytes into `common::assign` (see `fuzz/common.rs`).

#![no_main]

#[path = "../common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::assign(data));
