//! End-to-end tests of the real binary in a pseudo-terminal (portable-pty), with its
//! output parsed into a screen (vt100): open a guest, edit, save, quit, and check the
//! saved file with the core and that the terminal was given back as it was (main
//! screen, no mouse reporting, cursor shown), also when the process is sent SIGTERM,
//! SIGINT, SIGHUP or SIGQUIT (exit 128 + N), and across a suspension (SIGTSTP or
//! Ctrl-Z, then SIGCONT as `fg` sends it).

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use virt_pci::libvirt::{Document, read_topology};

use crate::support;

struct Pty {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

/// A test that fails half-way must not leave the binary running on a dead terminal.
impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}

impl Pty {
    fn spawn(args: &[&Path], cols: u16, rows: u16) -> Pty {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_virt-pci"));
        for a in args {
            cmd.arg(a);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        let child = pty.slave.spawn_command(cmd).expect("spawn virt-pci");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let size = |n: u16| NonZeroU16::new(n).expect("non-zero size");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(size(rows), size(cols), 0)));
        let p = Arc::clone(&parser);
        std::thread::spawn(move || {
            // Keep the master alive as long as the reader runs.
            let _master = pty.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut p) = p.lock() {
                    p.process(&buf[..n]);
                }
            }
        });
        Pty {
            parser,
            writer,
            child,
        }
    }

    fn screen(&self) -> String {
        self.parser
            .lock()
            .map(|p| p.screen().contents())
            .unwrap_or_default()
    }

    fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.screen().contains(text) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("'{text}' did not appear; the screen:\n{}", self.screen());
    }

    fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).expect("write");
        self.writer.flush().expect("flush");
    }

    fn wait_exit(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the reader drain what was written last.
                std::thread::sleep(Duration::from_millis(100));
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("virt-pci did not exit; the screen:\n{}", self.screen());
    }

    /// Sends the child a signal (`kill -TERM` style).
    fn signal(&self, which: &str) {
        let pid = self.child.process_id().expect("pid");
        let ok = std::process::Command::new("kill")
            .args([which, &pid.to_string()])
            .status()
            .expect("kill");
        assert!(ok.success(), "kill {which} {pid}");
    }

    fn restored(&self) -> bool {
        self.parser.lock().is_ok_and(|p| {
            !p.screen().alternate_screen()
                && p.screen().mouse_protocol_mode() == vt100::MouseProtocolMode::None
                && !p.screen().hide_cursor()
        })
    }

    /// Waits until the process exits and returns its exit code.
    fn exit_code(&mut self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return status.exit_code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("virt-pci did not exit; the screen:\n{}", self.screen());
    }

    /// The process's state letter from /proc (`T` when stopped).
    fn state(&self) -> char {
        let pid = self.child.process_id().expect("pid");
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit(')').next().and_then(|r| r.trim().chars().next()))
            .unwrap_or('?')
    }

    fn wait_until(&self, what: &str, f: impl Fn(&Pty) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if f(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{what} did not happen; the screen:\n{}", self.screen());
    }
}

fn scratch(name: &str, tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("virt-pci-pty-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let to = dir.join(name);
    std::fs::copy(support::root().join("assets/examples").join(name), &to).expect("copy");
    to
}

#[test]
fn edit_save_quit_in_a_real_terminal() {
    let file = scratch("centos6-q35-transitional.xml", "save");
    let mut t = Pty::spawn(&[&file], 80, 24);
    t.wait_for("PCI topology");
    {
        let p = t.parser.lock().expect("parser");
        assert!(
            p.screen().alternate_screen(),
            "runs on the alternate screen"
        );
        assert_ne!(
            p.screen().mouse_protocol_mode(),
            vt100::MouseProtocolMode::None,
            "mouse capture is on while it runs"
        );
    }
    // Find the disk, make it non-transitional, save.
    t.send("/vda\r");
    t.wait_for("details");
    t.send("t");
    t.wait_for("model of disk");
    t.send("virtio-non\r");
    t.wait_for("[+]");
    // Edit the disk's XML: a comment inside it, applied with Ctrl-s (which the raw
    // terminal must deliver, not take as flow control) and confirmed.
    t.send("e");
    t.wait_for("edit XML: disk");
    t.send("\x1b[B"); // down one line
    t.send("<!-- edited in a terminal -->\r");
    t.wait_for("libvirt accepts the guest with it");
    t.send("\x13"); // Ctrl-s
    t.wait_for("Apply the edited XML");
    t.send("y");
    t.wait_for("edit the XML of");
    t.send("w");
    t.wait_for("saved");
    t.send("q");
    assert!(t.wait_exit(), "exit status 0");
    assert!(t.restored(), "terminal restored:\n{}", t.screen());
    let text = std::fs::read_to_string(&file).expect("saved file");
    let topo = read_topology(&Document::parse(&text).expect("xml")).expect("domain");
    let vda = topo
        .devices
        .iter()
        .find(|d| d.name.as_deref() == Some("vda"))
        .expect("vda");
    assert_eq!(vda.model.as_deref(), Some("virtio-non-transitional"));
    assert!(
        text.contains("<!-- edited in a terminal -->"),
        "the XML edit is saved:\n{text}"
    );
    let bak = file.with_file_name("centos6-q35-transitional.xml.bak");
    assert!(bak.exists(), "the original is kept as FILE.bak");
    let _ = std::fs::remove_dir_all(file.parent().expect("dir"));
}

/// Every catchable ending signal, sent with kill: the terminal is given back and the
/// exit status is 128 + N.
#[cfg(unix)]
#[test]
fn ending_signals_restore_the_terminal_and_exit_128_plus_n() {
    for (sig, n) in [("-TERM", 15), ("-INT", 2), ("-HUP", 1), ("-QUIT", 3)] {
        let mut t = Pty::spawn(&[], 100, 30);
        t.wait_for("PCI topology");
        assert!(!t.restored(), "the designer has the terminal");
        t.signal(sig);
        let code = t.exit_code();
        assert_eq!(code, 128 + n, "kill {sig}");
        assert!(
            t.restored(),
            "kill {sig}: terminal restored:\n{}",
            t.screen()
        );
    }
}

/// SIGTSTP (kill -TSTP, or Ctrl-Z typed in the raw terminal) gives the terminal back
/// and stops the process; SIGCONT (what `fg` sends) brings the designer back, drawn
/// whole, and it still works.
#[cfg(unix)]
#[test]
fn suspend_and_continue_give_the_terminal_back_and_take_it_again() {
    // A file, so that `q` quits the designer rather than closing the examples list
    // offered when no file is given.
    let file = crate::support::root().join("assets/examples/centos6-q35-virtio.xml");
    for how in ["kill", "key"] {
        let mut t = Pty::spawn(&[&file], 100, 30);
        t.wait_for("PCI topology");
        match how {
            "kill" => t.signal("-TSTP"),
            _ => t.send("\x1a"),
        }
        // The restore is written before the process stops, but the reader thread may
        // not have fed it to the screen yet when the stop shows: wait for both.
        t.wait_until(
            &format!("{how}: stopped with the terminal given back"),
            |t| t.state() == 'T' && t.restored(),
        );
        // What the shell would print meanwhile.
        t.parser.lock().expect("parser").process(b"\x1b[2J$ fg\r\n");
        t.signal("-CONT");
        t.wait_until("the designer back on the alternate screen", |t| {
            t.parser.lock().is_ok_and(|p| p.screen().alternate_screen())
        });
        t.wait_for("PCI topology");
        t.send("q");
        assert_eq!(t.exit_code(), 0, "{how}");
        assert!(t.restored(), "{how}: restored at the end:\n{}", t.screen());
    }
}

#[cfg(unix)]
#[test]
fn sigterm_restores_the_terminal() {
    let mut t = Pty::spawn(&[], 100, 30);
    t.wait_for("PCI topology");
    t.signal("-TERM");
    t.wait_exit();
    assert!(t.restored(), "terminal restored:\n{}", t.screen());
}

/// A hang-up (the terminal window closed, the ssh session dropped) ends the process at
/// once: there is no terminal left to restore, and a process that stayed would spin on
/// reads of the dead terminal.
#[cfg(unix)]
#[test]
fn hangup_ends_the_process() {
    let mut t = Pty::spawn(&[], 100, 30);
    t.wait_for("PCI topology");
    t.signal("-HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(status)) = t.child.try_wait() {
            assert!(!status.success(), "a hang-up is not a clean exit");
            break;
        }
        assert!(Instant::now() < deadline, "still running after SIGHUP");
        std::thread::sleep(Duration::from_millis(20));
    }
}
