//! Files of a certificate directory: a private directory (0700), private
//! keys (0600) written atomically, and mode checks for what an earlier
//! version (or a wide umask) left behind.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::TlsError;

/// Mode of the certificate directory.
pub(super) const DIR_MODE: u32 = 0o700;
/// Mode of a private key.
pub(super) const KEY_MODE: u32 = 0o600;
/// Mode of a certificate or profile (public material).
pub(super) const PUBLIC_MODE: u32 = 0o644;

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` (0700) or narrows an existing one to 0700. Returns the
/// path when an existing directory's mode was narrowed.
pub(super) fn private_dir(dir: &Path) -> Result<Option<PathBuf>, TlsError> {
    if !dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(DIR_MODE);
        }
        b.create(dir).map_err(io(dir))?;
    }
    narrow(dir, DIR_MODE)
}

/// Narrows `path` to `mode` when group or others have any access. Returns
/// the path when it changed something.
pub(super) fn narrow(path: &Path, mode: u32) -> Result<Option<PathBuf>, TlsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(io(path))?;
        if meta.permissions().mode() & 0o077 & !mode != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(io(path))?;
            return Ok(Some(path.to_path_buf()));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(None)
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so a reader sees the old file or the new one, never half
/// of one. The temporary file is created with `mode` (0600 for keys), so a
/// key is never readable by others, not even for a moment.
pub(super) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let result = (|| {
        let mut f = opts.open(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Reads a whole file as text.
pub(super) fn read(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(io(path))
}
