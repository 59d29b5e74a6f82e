//! `examples`, `completions` and `man`: what ships with the program.

use super::*;

/// `virt-pci examples`: the bundled guests with what each shows, laid out for the
/// terminal; with a name, that example's XML.
pub(super) fn cmd_examples(name: Option<&str>) -> Result<i32, Failure> {
    use crate::examples::{EXAMPLES, find};
    if let Some(n) = name {
        let Some(e) = find(n) else {
            let names: Vec<&str> = EXAMPLES.iter().map(|e| e.name).collect();
            return Err(Failure::bad_input(format!(
                "error: no bundled example '{n}'; there are: {}",
                names.join(", ")
            )));
        };
        print(e.text)?;
        return Ok(EXIT_OK);
    }
    let mut text =
        String::from("Bundled example guests (open one: virt-pci edit --example NAME):\n");
    for e in EXAMPLES {
        text.push_str(&format!(
            "\n{}\n  {}\n",
            e.name.trim_end_matches(".xml"),
            e.description()
        ));
    }
    let width = output_width(None).or(Some(80));
    print(&crate::render::wrap::fit(&text, width))?;
    Ok(EXIT_OK)
}

pub(super) fn cmd_completions(shell: clap_complete::Shell) -> Result<i32, Failure> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Args::command(), "virt-pci", &mut out);
    print(&String::from_utf8_lossy(&out))?;
    Ok(EXIT_OK)
}

pub(super) fn cmd_man() -> Result<i32, Failure> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_mangen::Man::new(Args::command())
        .render(&mut out)
        .map_err(|e| Failure::bad_input(format!("error: cannot render the manual: {e}")))?;
    print(&String::from_utf8_lossy(&out))?;
    Ok(EXIT_OK)
}
