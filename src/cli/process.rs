//! Process-wide settings made once, before a command runs: the umask
//! (077: whatever calproxy or sled creates is private, issue 12 #4), what
//! a closed output pipe does, and whether log lines are coloured.
//!
//! Rust starts every program with SIGPIPE ignored, so a write to a closed
//! pipe (`calproxy traffic list | head`) fails and `println!` panics. The
//! one-shot commands restore the default disposition and end quietly like
//! any Unix filter; `serve` and `demo` keep it ignored, because they write
//! to sockets (the admin socket among them) whose peer may go away.

use std::io::IsTerminal;

use super::{Cli, Command};

/// Applies the process settings a command needs.
pub fn prepare(cli: &Cli) {
    #[cfg(unix)]
    // SAFETY: umask(2) only sets the process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
    let serves = matches!(cli.command, Command::Serve { .. } | Command::Demo { .. });
    if !serves {
        #[cfg(unix)]
        // SAFETY: signal(2) only changes the process's disposition for
        // SIGPIPE; no handler runs, so there is nothing to be unsafe about.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
}

/// Whether log lines on standard error may carry ANSI colour: only on a
/// terminal, and never when `NO_COLOR` is set to anything but "" (no-color.org).
pub fn log_colour() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    std::io::stderr().is_terminal() && !no_color
}
