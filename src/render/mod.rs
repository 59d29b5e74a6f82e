//! Renderers: turn the core's topology and analyses into text and JSON for the CLI.

pub mod audit;
pub mod convert;
pub mod dot;
pub mod guest;
pub mod io_space;
pub mod json;
pub mod live;
pub mod picture;
pub mod qemu_args;
pub mod svg;
pub mod tree;
pub mod wrap;
