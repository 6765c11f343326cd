//! The `vizhook` binary: parses the command line, sets up logging, and hands over to one
//! command module. Everything else lives in the libraries; errors become one plain sentence.

#![forbid(unsafe_code)]

mod cli;
mod cmd;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's allocator (`vizhook-alloc` says why, and how it is built).
#[global_allocator]
static ALLOCATOR: vizhook_alloc::Allocator = vizhook_alloc::Allocator;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Flushes the log when main returns.
    let _log = init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("vizhook: could not start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cmd::run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("vizhook: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr through a background thread, so that writing a line never holds up a
/// request (nothing is dropped: a full buffer makes the writer wait); `VIZHOOK_LOG` (or
/// `RUST_LOG`) sets the filter, `info` by default.
fn init_tracing() -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIZHOOK_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer)
        .init();
    guard
}
