//! Prints a generated guest of a given shape and size, for trying virt-pci on large
//! topologies: `cargo run --example generate -- q35-bridges 1000 > big.xml`.

#[path = "../tests/common/generate.rs"]
mod generate;
use generate::{Shape, guest};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let shape = match args.first().map(String::as_str) {
        Some("i440fx-nics") => Shape::I440fxNics,
        Some("q35-switches") => Shape::Q35Switches,
        Some("q35-bridges") => Shape::Q35Bridges,
        _ => {
            eprintln!("usage: generate i440fx-nics|q35-switches|q35-bridges N");
            std::process::exit(2);
        }
    };
    let n = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(100);
    print!("{}", guest(shape, n));
}
