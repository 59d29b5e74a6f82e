//! The `virt-pci` binary: parses arguments and hands over to the CLI module.

use clap::Parser;

/// The analyses rerun on every key press and allocate many small strings and vectors;
/// mimalloc makes that about a quarter cheaper than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let argv = virt_pci::cli::connection_options_last(std::env::args_os().collect());
    if let Err(f) = virt_pci::cli::preflight(&argv) {
        eprintln!("{}", f.message);
        std::process::exit(f.code);
    }
    let args = virt_pci::cli::Args::parse_from(argv);
    std::process::exit(virt_pci::cli::run(args));
}
