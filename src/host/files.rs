//! Files in and out for every front end: reading an input (a path or `-`), saving
//! atomically with a backup, and the exit statuses. The CLI's `assign --in-place` / `-o`
//! and the designer's `w` / `W` save through [`save`], so both keep the same promises:
//!
//! - the new text is written to an unnamed file in the target's directory (Linux
//!   `O_TMPFILE`; elsewhere a `tempfile` with a random name opened `O_EXCL`), given the
//!   old file's mode, owner and group, fsynced, linked under a random name and renamed
//!   over the target, then the directory is fsynced: a reader (or a crash, or SIGKILL)
//!   sees the old file or the new one, never a mix. The one instant that can leave a
//!   file behind is between the link and the rename (rename needs a name); the
//!   temporary name carries the saving process's id, and the next save of the same
//!   file removes such files of processes that no longer run;
//! - the backup (`FILE.bak`) is written the same way, before the file; a `.bak` that is
//!   a symlink is replaced, never written through;
//! - a symlinked FILE has its target updated (as editors do), a file with several hard
//!   links is rewritten in place so the links stay (after the backup is safe), unless
//!   the caller asks to break them;
//! - a file without write permission is refused unless forced.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Exit status: success, or a clean check.
pub const EXIT_OK: i32 = 0;
/// Exit status: libvirt would refuse the domain, or `check` found errors.
pub const EXIT_REFUSED: i32 = 1;
/// Exit status: the input could not be read (I/O, not XML, not a domain), the output
/// could not be written, or bad usage.
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit status after a signal N: 128 + N (the shell's convention).
pub const EXIT_SIGNAL_BASE: i32 = 128;

/// Reads `path` (`-` = standard input): its display name and its bytes, or a message
/// `FILE: error: cannot read: ...`.
pub fn read_input(path: &Path) -> Result<(String, Vec<u8>), String> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("<stdin>: error: cannot read: {e}"))?;
        return Ok(("<stdin>".to_string(), buf));
    }
    let display = path.display().to_string();
    let bytes = fs::read(path).map_err(|e| format!("{display}: error: cannot read: {e}"))?;
    Ok((display, bytes))
}

/// How [`save`] treats the file it replaces.
#[derive(Clone, Copy, Debug, Default)]
pub struct SaveOptions<'a> {
    /// Write these bytes to `FILE.bak` first (atomically); `None` leaves any backup
    /// alone.
    pub backup: Option<&'a [u8]>,
    /// Replace a file that has no write permission.
    pub force: bool,
    /// Replace a file with several hard links by a new file (the other names keep the
    /// old text) instead of rewriting it in place.
    pub break_links: bool,
}

/// Why a save did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The file has no write permission; saving again with `force` replaces it.
    #[error("{0}: the file is read-only (no write permission); not replaced without force")]
    ReadOnly(PathBuf),
    /// Writing failed; nothing was changed (a backup may have been written).
    #[error("{path}: cannot write: {err}")]
    Io {
        /// The file that could not be written.
        path: PathBuf,
        /// The system's error.
        err: io::Error,
    },
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The file written (a symlink's target).
    pub written: PathBuf,
    /// Where the backup was written, when one was.
    pub backup: Option<PathBuf>,
}

/// `path.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".bak");
    PathBuf::from(s)
}

/// Saves `text` to `path` as described in the module's documentation.
pub fn save(path: &Path, text: &[u8], opts: SaveOptions<'_>) -> Result<Saved, SaveError> {
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |err| SaveError::Io { path: p, err }
    };
    // A symlink's target is what gets the new text; a dangling link is created.
    let target = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match fs::canonicalize(path) {
            Ok(t) => t,
            Err(_) => resolve_dangling(path).map_err(io_err(path))?,
        },
        _ => path.to_path_buf(),
    };
    let old = fs::metadata(&target).ok();
    if let Some(m) = &old
        && !opts.force
        && !writable(&target, m)
    {
        return Err(SaveError::ReadOnly(path.to_path_buf()));
    }
    let backup = match opts.backup {
        Some(bytes) => {
            let bak = backup_path(path);
            replace(&bak, bytes, old.as_ref()).map_err(io_err(&bak))?;
            Some(bak)
        }
        None => None,
    };
    if let Some(m) = &old
        && links(m) > 1
        && !opts.break_links
    {
        rewrite_in_place(&target, text).map_err(io_err(&target))?;
    } else {
        replace(&target, text, old.as_ref()).map_err(io_err(&target))?;
    }
    Ok(Saved {
        written: target,
        backup,
    })
}

/// The file a dangling symlink points at (relative to the link's directory).
fn resolve_dangling(path: &Path) -> io::Result<PathBuf> {
    let to = fs::read_link(path)?;
    Ok(match path.parent() {
        Some(dir) if to.is_relative() => dir.join(to),
        _ => to,
    })
}

fn dir_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[cfg(unix)]
fn links(m: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::nlink(m)
}

#[cfg(not(unix))]
fn links(_: &fs::Metadata) -> u64 {
    1
}

/// Whether the file may be written: some write bit set (root may write anything, so
/// the bits are what an editor warns about) and, for others, an open for writing works.
fn writable(path: &Path, m: &fs::Metadata) -> bool {
    !m.permissions().readonly() && fs::OpenOptions::new().write(true).open(path).is_ok()
}

/// Atomically replaces (or creates) `path` with `bytes`, with the mode, owner and group
/// of `like` (the file being replaced).
fn replace(path: &Path, bytes: &[u8], like: Option<&fs::Metadata>) -> io::Result<()> {
    let dir = dir_of(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    remove_stale(dir, &name);
    let prefix = format!(".{name}.{}.", std::process::id());
    let builder = {
        let mut b = tempfile::Builder::new();
        b.prefix(&prefix).suffix(TEMP_SUFFIX).rand_bytes(TEMP_RAND);
        b
    };
    // The new file is written while it has no name (so a kill leaves nothing behind),
    // then linked under a random name in the same directory and renamed over `path`.
    let mut file = tempfile::tempfile_in(dir)?;
    file.write_all(bytes)?;
    keep_attributes(&file, like)?;
    file.sync_all()?;
    let named = match link_unnamed(&builder, dir, &file) {
        Some(named) => named,
        None => {
            // No O_TMPFILE here: a named temporary file (random name, O_EXCL),
            // removed again if anything fails before the rename.
            let mut t = builder.tempfile_in(dir)?;
            t.as_file_mut().write_all(bytes)?;
            keep_attributes(t.as_file(), like)?;
            t.as_file().sync_all()?;
            t
        }
    };
    named.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Temporary names: `.NAME.PID.RANDOM.virt-pci.tmp`.
const TEMP_SUFFIX: &str = ".virt-pci.tmp";
const TEMP_RAND: usize = 8;

/// Removes the temporary files of `name` in `dir` that a save killed between its link
/// and its rename left behind: only names of exactly our pattern, and only those of a
/// process that no longer runs (a save under way in another process keeps its file).
fn remove_stale(dir: &Path, name: &str) {
    let head = format!(".{name}.");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(mid) = file
            .to_str()
            .and_then(|n| n.strip_prefix(&head))
            .and_then(|r| r.strip_suffix(TEMP_SUFFIX))
        else {
            continue;
        };
        let Some((pid, random)) = mid.split_once('.') else {
            continue;
        };
        let ours = random.len() == TEMP_RAND && random.bytes().all(|b| b.is_ascii_alphanumeric());
        if ours
            && let Ok(pid) = pid.parse::<u32>()
            && !running(pid)
        {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Whether process `pid` exists (a process of another user counts).
#[cfg(unix)]
fn running(pid: u32) -> bool {
    let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return true;
    };
    !matches!(
        rustix::process::test_kill_process(p),
        Err(rustix::io::Errno::SRCH)
    )
}

#[cfg(not(unix))]
fn running(_: u32) -> bool {
    true
}

/// Links an unnamed (`O_TMPFILE`) file into `dir` under a random name.
#[cfg(target_os = "linux")]
fn link_unnamed(
    builder: &tempfile::Builder<'_, '_>,
    dir: &Path,
    file: &File,
) -> Option<tempfile::NamedTempFile> {
    use std::os::fd::AsRawFd;
    let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    let named = builder
        .make_in(dir, |p| {
            rustix::fs::linkat(
                rustix::fs::CWD,
                proc_path.as_str(),
                rustix::fs::CWD,
                p,
                rustix::fs::AtFlags::SYMLINK_FOLLOW,
            )?;
            File::open(p)
        })
        .ok()?;
    Some(named)
}

#[cfg(not(target_os = "linux"))]
fn link_unnamed(
    _: &tempfile::Builder<'_, '_>,
    _: &Path,
    _: &File,
) -> Option<tempfile::NamedTempFile> {
    None
}

/// Gives `file` the permissions, owner and group of `like`.
fn keep_attributes(file: &File, like: Option<&fs::Metadata>) -> io::Result<()> {
    let Some(m) = like else {
        // A new file: the usual mode for a document (the temporary file is 0600).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o644))?;
        }
        return Ok(());
    };
    file.set_permissions(m.permissions())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // Only root can give a file away; anyone may keep their own uid and a group
        // they belong to. A failure to keep the owner must not stop the save.
        let _ = std::os::unix::fs::fchown(file, Some(m.uid()), Some(m.gid()));
        // chown clears set-id bits: set the mode again.
        file.set_permissions(m.permissions())?;
    }
    Ok(())
}

/// Rewrites a hard-linked file in place (its inode, hence every link, gets the text).
fn rewrite_in_place(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("virt-pci-files-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn saves_with_a_backup_and_leaves_nothing_else() {
        let d = dir("plain");
        let f = d.join("g.xml");
        fs::write(&f, "old").unwrap();
        let s = save(
            &f,
            b"new",
            SaveOptions {
                backup: Some(b"old"),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(fs::read_to_string(&f).unwrap(), "new");
        assert_eq!(fs::read_to_string(d.join("g.xml.bak")).unwrap(), "old");
        assert_eq!(s.backup, Some(d.join("g.xml.bak")));
        assert_eq!(entries(&d), ["g.xml", "g.xml.bak"]);
        let _ = fs::remove_dir_all(&d);
    }

    #[cfg(unix)]
    #[test]
    fn a_save_removes_what_a_killed_save_left_and_nothing_else() {
        let d = dir("stale");
        let f = d.join("g.xml");
        fs::write(&f, "old").unwrap();
        // A process that has ended: its pid is free (until reused, which a test
        // run is far too short for).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let me = std::process::id();
        let stale = [
            format!(".g.xml.{dead}.AbCd1234{TEMP_SUFFIX}"),
            format!(".g.xml.bak.{dead}.zZ09zZ09{TEMP_SUFFIX}"),
        ];
        let kept = [
            // a save under way (this process is alive)
            format!(".g.xml.{me}.AbCd1234{TEMP_SUFFIX}"),
            // not our pattern: another random length, another file's name
            format!(".g.xml.{dead}.AbC{TEMP_SUFFIX}"),
            format!(".h.xml.{dead}.AbCd1234{TEMP_SUFFIX}"),
        ];
        for n in stale.iter().chain(&kept) {
            fs::write(d.join(n), "x").unwrap();
        }
        save(
            &f,
            b"new",
            SaveOptions {
                backup: Some(b"old"),
                ..Default::default()
            },
        )
        .unwrap();
        let mut want: Vec<String> = kept.to_vec();
        want.extend(["g.xml".to_string(), "g.xml.bak".to_string()]);
        want.sort();
        assert_eq!(entries(&d), want);
        let _ = fs::remove_dir_all(&d);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_mode_links_and_read_only_files() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
        let d = dir("links");
        // A symlinked .bak is replaced, not written through.
        let f = d.join("g.xml");
        let victim = d.join("victim");
        fs::write(&f, "old").unwrap();
        fs::write(&victim, "precious").unwrap();
        symlink(&victim, d.join("g.xml.bak")).unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).unwrap();
        save(
            &f,
            b"new",
            SaveOptions {
                backup: Some(b"old"),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert!(
            !fs::symlink_metadata(d.join("g.xml.bak"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::metadata(&f).unwrap().mode() & 0o777, 0o640, "mode kept");
        // Owner and group are kept (only root can give a file to someone else).
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(&f, Some(65534), Some(65534)).unwrap();
            save(&f, b"again", SaveOptions::default()).unwrap();
            let m = fs::metadata(&f).unwrap();
            assert_eq!((m.uid(), m.gid()), (65534, 65534), "owner kept");
        }
        // A symlinked file: the target gets the text, the link stays a link.
        let real = d.join("real.xml");
        let link = d.join("link.xml");
        fs::write(&real, "old").unwrap();
        symlink("real.xml", &link).unwrap();
        save(&link, b"new", SaveOptions::default()).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        // A hard link keeps seeing the file.
        let other = d.join("other-name.xml");
        fs::hard_link(&real, &other).unwrap();
        save(&real, b"newer", SaveOptions::default()).unwrap();
        assert_eq!(fs::read_to_string(&other).unwrap(), "newer");
        // ... unless the links are to be broken.
        save(
            &real,
            b"newest",
            SaveOptions {
                break_links: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(fs::read_to_string(&other).unwrap(), "newer");
        // A read-only file is refused, and replaced when forced.
        let ro = d.join("ro.xml");
        fs::write(&ro, "old").unwrap();
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o444)).unwrap();
        assert!(matches!(
            save(&ro, b"new", SaveOptions::default()),
            Err(SaveError::ReadOnly(_))
        ));
        assert_eq!(fs::read_to_string(&ro).unwrap(), "old");
        save(
            &ro,
            b"new",
            SaveOptions {
                force: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(fs::read_to_string(&ro).unwrap(), "new");
        assert_eq!(fs::metadata(&ro).unwrap().mode() & 0o777, 0o444);
        assert!(
            !entries(&d).iter().any(|n| n.ends_with(".tmp")),
            "{:?}",
            entries(&d)
        );
        let _ = fs::remove_dir_all(&d);
    }
}
