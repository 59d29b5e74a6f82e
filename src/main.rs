//! The `virt-pci` binary: parses arguments and hands over to the CLI module.

use clap::Parser;

fn main() {
    let args = virt_pci::cli::Args::parse();
    std::process::exit(virt_pci::cli::run(args));
}
