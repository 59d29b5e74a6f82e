//! Fuzz target `analyses`: arbitrary bytes into `common::analyses` (see `fuzz/common.rs`).

#![no_main]

#[path = "../common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::analyses(data));
