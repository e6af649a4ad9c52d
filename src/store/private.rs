//! Data at rest is private (issue 12 #4): the data directory is 0700 and
//! everything in it 0600 (directories 0700), whatever the umask.
//!
//! sled creates its files itself, with the process umask, so `Store::open`
//! makes the directory private before sled opens it, and after it did,
//! brings every file and directory in it to private modes. A directory
//! that already existed with wider modes is fixed the same way, with one
//! warning naming what was open (the CLI also sets umask 077, so files sled
//! creates later are private from the start).

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// What [`secure`] found open to other users before fixing it.
#[derive(Debug, Default)]
pub struct Opened {
    /// Paths that had group or other permissions, with their old mode.
    pub paths: Vec<(PathBuf, u32)>,
}

/// Creates `dir` (0700) when missing, then restricts it and everything in
/// it: directories 0700, files 0600 at most. Symlinks are left alone.
pub fn secure(dir: &Path) -> io::Result<Opened> {
    let mut opened = Opened::default();
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        let mut todo = vec![dir.to_path_buf()];
        while let Some(p) = todo.pop() {
            let meta = std::fs::symlink_metadata(&p)?;
            if meta.file_type().is_symlink() {
                continue;
            }
            let mode = meta.permissions().mode() & 0o7777;
            let private = if meta.is_dir() {
                for entry in std::fs::read_dir(&p)? {
                    todo.push(entry?.path());
                }
                0o700
            } else {
                mode & 0o700
            };
            if mode & 0o077 != 0 {
                opened.paths.push((p.clone(), mode));
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(private))?;
            }
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)?;
    Ok(opened)
}

/// Logs what [`secure`] had to close, once, as a warning.
pub fn warn_if_opened(dir: &Path, opened: &Opened) {
    if opened.paths.is_empty() {
        return;
    }
    let shown: Vec<String> = opened
        .paths
        .iter()
        .take(5)
        .map(|(p, m)| format!("{} ({m:o})", p.display()))
        .collect();
    let message = format!(
        "warning: the data directory {} was readable by other users; made it 0700 and its files 0600: {}{}",
        dir.display(),
        shown.join(", "),
        if opened.paths.len() > 5 { ", …" } else { "" }
    );
    tracing::warn!(dir = %dir.display(), paths = opened.paths.len(), "{message}");
    // Also for a terminal without RUST_LOG; never a panic when stderr is gone.
    let _ = writeln!(std::io::stderr(), "{message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn everything_becomes_private_and_what_was_open_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        let fresh = secure(&dir).unwrap();
        assert!(fresh.paths.is_empty());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        std::fs::create_dir(dir.join("blobs")).unwrap();
        std::fs::write(dir.join("db"), b"x").unwrap();
        std::fs::write(dir.join("blobs/1"), b"x").unwrap();
        for (p, m) in [
            ("", 0o755),
            ("blobs", 0o755),
            ("db", 0o644),
            ("blobs/1", 0o640),
        ] {
            std::fs::set_permissions(dir.join(p), std::fs::Permissions::from_mode(m)).unwrap();
        }
        let opened = secure(&dir).unwrap();
        assert_eq!(opened.paths.len(), 4);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("blobs")), 0o700);
        assert_eq!(mode(&dir.join("db")), 0o600);
        assert_eq!(mode(&dir.join("blobs/1")), 0o600);
    }
}
