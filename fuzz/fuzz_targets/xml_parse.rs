//! Fuzz target `xml_parse`: arbitrary bytes into `common::xml` (see `fuzz/common.rs`).

#![no_main]

#[path = "../common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::xml(data));
