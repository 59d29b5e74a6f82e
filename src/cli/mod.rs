//! The command-line front end: argument parsing, reading inputs, exit codes. Thin by
//! design: every decision is made by the core.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

mod args;
mod check;
mod connection;
mod convert;
mod extras;
mod fleet;
mod inspect;
mod output;
mod preflight;
mod values;

pub use args::*;
use check::*;
pub use connection::*;
use convert::*;
use extras::*;
use fleet::*;
use inspect::*;
pub use output::*;
pub use preflight::*;

use crate::core::topology::Topology;
use crate::libvirt::{Document, read_topology};

pub use crate::host::files::{EXIT_BAD_INPUT, EXIT_OK, EXIT_REFUSED};

/// Runs the parsed command and returns the exit status.
pub fn run(args: Args) -> i32 {
    if args.connect.is_some() || args.domain {
        let _ = CONNECTION.set(crate::host::libvirt::Connection::new(args.connect.clone()));
    }
    match crate::host::platform::choose(args.target.libvirt, args.target.qemu) {
        Ok(t) => {
            let _ = TARGET.set(t);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    }
    let command = args.command.unwrap_or(Command::Edit {
        file: args.file,
        tui: args.tui,
    });
    let result = match command {
        Command::Edit { file, tui } => Ok(run_tui(file.as_deref(), &tui)),
        Command::Tree {
            file,
            json,
            ascii,
            defined,
            format,
            analysis,
            layout,
        } => cmd_tree(&file, json, ascii, defined, format, &analysis, &layout),
        Command::Assign {
            file,
            output,
            in_place,
            force,
        } => cmd_assign(&file, output.as_deref(), in_place, force),
        Command::Check {
            files,
            json,
            analysis,
            layout,
        } => cmd_check(&files, json, &analysis, &layout),
        Command::Io {
            file,
            firmware,
            json,
            layout,
        } => cmd_io(&file, firmware, json, &layout),
        Command::Convert(a) => cmd_convert(&a),
        Command::QemuArgs { file } => cmd_qemu_args(&file),
        Command::Audit {
            paths,
            json,
            csv,
            all,
            analysis,
            layout,
        } => audit_inputs(&paths, all)
            .and_then(|inputs| cmd_audit(inputs, json, csv, &analysis, &layout)),
        Command::Examples { name } => cmd_examples(name.as_deref()),
        Command::Completions { shell } => cmd_completions(shell),
        Command::Man => cmd_man(),
        Command::Guest {
            file,
            firmware,
            json,
        } => cmd_guest(&file, firmware, json),
        Command::Which {
            bdf,
            file,
            firmware,
        } => cmd_which(&bdf, &file, firmware),
    };
    match result {
        Ok(code) => code,
        Err(f) => {
            eprintln!("{}", f.message);
            f.code
        }
    }
}

fn run_tui(file: Option<&Path>, a: &TuiArgs) -> i32 {
    let choices = a.analysis.choices();
    let opts = crate::tui::Options {
        ascii: a.ascii,
        mono: a.mono,
        analysis: choices,
        target: target(),
    };
    match (connection(), file) {
        (Some(c), Some(domain)) => {
            crate::tui::libvirt_save::run(c, &domain.to_string_lossy(), &opts)
        }
        (Some(_), None) => {
            eprintln!("error: -c URI / --domain: name the domain to open");
            EXIT_BAD_INPUT
        }
        (None, _) => {
            let start = match (&a.example, file) {
                (Some(name), _) => match crate::examples::find(name) {
                    Some(e) => crate::tui::Start::Example(e),
                    None => {
                        eprintln!(
                            "error: no bundled example '{name}' (virt-pci examples lists them)"
                        );
                        return EXIT_BAD_INPUT;
                    }
                },
                (None, Some(f)) => crate::tui::Start::File(f.to_path_buf()),
                (None, None) => crate::tui::Start::Examples,
            };
            crate::tui::run(start, &opts)
        }
    }
}
