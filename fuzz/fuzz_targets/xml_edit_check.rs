//! Fuzz target `xml_edit_check`: arbitrary bytes into `common::xml_edit` (see `fuzz/common.rs`).

#![no_main]

#[path = "../common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::xml_edit(data));
