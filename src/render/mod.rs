//! Renderers: turn the core's topology and analyses into text and JSON for the CLI.

pub mod guest;
pub mod io;
pub mod tree;
