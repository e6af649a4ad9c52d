//! The configuration file (`serve --config FILE`, TOML): serde structs
//! that mirror it one to one, and [`ConfigFile::apply`], which validates
//! them into a [`Config`]. Flags given on the command line win over the
//! file. Unknown sections and keys are refused by name.
//!
//! ```toml
//! [sync]
//! interval_seconds = 60               # background sync of each connection
//! past_days = 30                      # the sync window: busy time kept and
//! future_days = 365                   #   materialised this far back and ahead
//! hold_deletions_above_percent = 50   # safe sync: hold larger deletions
//! full_reconcile_hours = 24           # full listing of every calendar
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{AvailabilityWindow, Config};

/// The file as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[sync]`.
    #[serde(default)]
    pub sync: SyncSection,
}

/// `[sync]`: every key optional (the default stays).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSection {
    /// Seconds between background syncs of a connection.
    pub interval_seconds: Option<u64>,
    /// Days before today kept in the sync window.
    pub past_days: Option<i64>,
    /// Days after today kept in the sync window.
    pub future_days: Option<i64>,
    /// Hold a sync that would delete more than this share of a calendar's copies.
    pub hold_deletions_above_percent: Option<f64>,
    /// Hours between full reconciliations of a connection.
    pub full_reconcile_hours: Option<u64>,
}

/// Why the file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// It could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// It is not TOML of the expected shape (the message names the key).
    #[error("{} is not a valid calproxy configuration", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        source: Box<toml::de::Error>,
    },
    /// A value is out of range.
    #[error("[sync] {key} must be {range}")]
    Range {
        /// The key.
        key: &'static str,
        /// The allowed values, in words.
        range: &'static str,
    },
}

/// Longest sync window on either side, in days (ten years).
pub const MAX_WINDOW_DAYS: i64 = 3650;

impl ConfigFile {
    /// Reads and parses a file.
    pub fn read(path: &Path) -> Result<Self, FileError> {
        let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| FileError::Parse {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }

    /// Validates the values and sets them in `config`.
    pub fn apply(&self, config: &mut Config) -> Result<(), FileError> {
        let s = &self.sync;
        if let Some(v) = s.interval_seconds {
            if v == 0 {
                return Err(FileError::Range {
                    key: "interval_seconds",
                    range: "at least 1",
                });
            }
            config.sync.interval = Duration::from_secs(v);
        }
        config.availability = AvailabilityWindow::checked(
            s.past_days.unwrap_or(config.availability.past_days),
            s.future_days.unwrap_or(config.availability.future_days),
        )?;
        if let Some(p) = s.hold_deletions_above_percent {
            if !(p > 0.0 && p <= 100.0) {
                return Err(FileError::Range {
                    key: "hold_deletions_above_percent",
                    range: "more than 0 and at most 100",
                });
            }
            config.sync.hold_share = p / 100.0;
        }
        if let Some(h) = s.full_reconcile_hours {
            if h == 0 {
                return Err(FileError::Range {
                    key: "full_reconcile_hours",
                    range: "at least 1",
                });
            }
            config.sync.full_every = Duration::from_secs(h * 3600);
        }
        Ok(())
    }
}

impl AvailabilityWindow {
    /// A window of `past_days` back and `future_days` ahead, each within
    /// ten years (and at least one day ahead).
    pub fn checked(past_days: i64, future_days: i64) -> Result<Self, FileError> {
        if !(0..=MAX_WINDOW_DAYS).contains(&past_days) {
            return Err(FileError::Range {
                key: "past_days",
                range: "between 0 and 3650",
            });
        }
        if !(1..=MAX_WINDOW_DAYS).contains(&future_days) {
            return Err(FileError::Range {
                key: "future_days",
                range: "between 1 and 3650",
            });
        }
        Ok(Self {
            past_days,
            future_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::new("127.0.0.1:0".parse().unwrap(), PathBuf::from("d"))
    }

    #[test]
    fn a_sync_section_sets_the_window_and_the_safety_settings() {
        let f: ConfigFile = toml::from_str(
            "[sync]\npast_days = 90\nfuture_days = 180\nhold_deletions_above_percent = 20\nfull_reconcile_hours = 6\ninterval_seconds = 30\n",
        )
        .unwrap();
        let mut c = config();
        f.apply(&mut c).unwrap();
        assert_eq!(
            c.availability,
            AvailabilityWindow::checked(90, 180).unwrap()
        );
        assert!((c.sync.hold_share - 0.2).abs() < 1e-9);
        assert_eq!(c.sync.full_every, Duration::from_secs(6 * 3600));
        assert_eq!(c.sync.interval, Duration::from_secs(30));
    }

    #[test]
    fn an_empty_file_keeps_the_defaults() {
        let f: ConfigFile = toml::from_str("").unwrap();
        let mut c = config();
        f.apply(&mut c).unwrap();
        assert_eq!(c.availability, AvailabilityWindow::default());
        assert_eq!(c.sync, super::super::SyncSettings::default());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_by_name() {
        let e = toml::from_str::<ConfigFile>("[sync]\npast_dayz = 3\n").unwrap_err();
        assert!(e.to_string().contains("past_dayz"), "{e}");
        let e = toml::from_str::<ConfigFile>("[other]\n").unwrap_err();
        assert!(e.to_string().contains("other"), "{e}");
        let f: ConfigFile = toml::from_str("[sync]\nfuture_days = 0\n").unwrap();
        let e = f.apply(&mut config()).unwrap_err();
        assert!(e.to_string().contains("future_days"), "{e}");
        let f: ConfigFile = toml::from_str("[sync]\nhold_deletions_above_percent = 0\n").unwrap();
        assert!(f.apply(&mut config()).is_err());
    }
}
