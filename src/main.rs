//! Thin entry: tune the allocator (before any other thread starts), parse
//! the command line, initialise tracing and the process settings
//! (`cli::prepare`), run on a multi-threaded runtime.

use clap::Parser;

fn main() -> std::process::ExitCode {
    calproxy::crypto::tune_allocator();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(run()),
        Err(e) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "error: cannot start the runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> std::process::ExitCode {
    let cli = calproxy::cli::Cli::parse();
    calproxy::cli::prepare(&cli);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,calproxy::access=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(calproxy::cli::log_colour())
        // A log line nobody can read (standard error closed) is dropped,
        // not reported on standard error again, which would panic.
        .log_internal_errors(false)
        .init();
    match calproxy::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
