//! `qemu-args` text: the PCI part of QEMU's command line as libvirt writes it, one
//! `-device '{...}'` per controller or device.

use crate::core::qemu_args::{DeviceArg, Value};

/// One argument as QEMU's JSON `-device` value: `{"driver":"pcie-root-port",...}`.
pub fn json_value(a: &DeviceArg) -> String {
    // Written by hand: QEMU reads the properties in any order, but libvirt's order
    // (driver first, addr last) is what people compare against.
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    let mut s = String::from("{");
    for (i, (k, v)) in a.props.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&quote(k));
        s.push(':');
        match v {
            Value::Str(x) => s.push_str(&quote(x)),
            Value::Int(n) => s.push_str(&n.to_string()),
            Value::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
        }
    }
    s.push('}');
    s
}

/// The arguments, one per line, continued with ` \` as libvirt's test files write them.
pub fn render_text(args: &[DeviceArg]) -> String {
    let mut s = String::new();
    for (i, a) in args.iter().enumerate() {
        s.push_str("-device '");
        s.push_str(&json_value(a));
        s.push('\'');
        if i + 1 < args.len() {
            s.push_str(" \\");
        }
        s.push('\n');
    }
    s
}
