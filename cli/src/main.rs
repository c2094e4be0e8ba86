//! `vchain`: the command-line wallet and explorer of the digital debt voucher chain.
//!
//! Keys live in an encrypted keystore ([`vchain_wallet::keystore`]); transactions are built with
//! `vchain_contracts::tx`, signed locally and submitted over gRPC, waiting for their block unless
//! `--no-wait` is given. Every command prints one JSON document on stdout with `--json`.
//!
//! # Exit codes
//!
//! Scripts can rely on these (also listed by `vchain --help`):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | internal or unexpected error |
//! | 2 | usage error (bad arguments; clap's default) |
//! | 3 | transaction rejected by the chain: admission or contract rule (gRPC `InvalidArgument`, `FailedPrecondition`, `PermissionDenied`, `AlreadyExists`, `OutOfRange`, `Unauthenticated`, `Aborted`), or a committed result other than OK |
//! | 4 | not found (gRPC `NotFound`) |
//! | 5 | node unreachable, unavailable, busy or too slow (connect error, a call broken off by the node's death or a reset connection, `Unavailable`, `DeadlineExceeded`, `ResourceExhausted`, `Cancelled`) |
//! | 6 | keystore error: missing key, wrong passphrase, no passphrase available, key without account, key not bound to its account |
//! | 7 | pending: admitted but not committed within the wait (not rejected); follow it with `vchain tx wait HASH` |
//! | 8 | a commit certificate that does not verify (`vchain block get`; the block is still printed) |
//!
//! Errors go to stderr as `error: <what failed>: <why>`, with the node's message (which names the
//! contract rule that failed) and the `x-vchain-tx-hash` / `x-vchain-height` metadata when
//! present. With `--json`, stdout also gets `{"error": {...}}`.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;

mod args;
mod certificate;
mod commands;
mod exit;
mod explorer;
mod json;
mod passphrase;
mod render;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let json_output = cli.json;
    // One thread serves a command's few calls; the explorer serves many browsers at once and
    // checks signatures, so it gets worker threads.
    let mut runtime = match cli.command {
        args::Command::Explorer(_) => tokio::runtime::Builder::new_multi_thread(),
        _ => tokio::runtime::Builder::new_current_thread(),
    };
    let result = runtime
        .enable_all()
        .build()
        .map_err(|e| anyhow::Error::new(e).context("starting the async runtime"))
        .and_then(|rt| rt.block_on(commands::run(cli)));
    let mut stdout = std::io::stdout().lock();
    match result {
        Ok(out) => {
            if json_output {
                let _ = writeln!(stdout, "{}", pretty(&out.json));
            } else {
                let _ = write!(stdout, "{}", out.text);
            }
            let _ = stdout.flush();
            match out.failure {
                None => ExitCode::SUCCESS,
                Some((exit, why)) => {
                    eprintln!("error: {why}");
                    ExitCode::from(exit.code())
                }
            }
        }
        Err(err) => {
            if json_output {
                let _ = writeln!(stdout, "{}", pretty(&exit::error_json(&err)));
                let _ = stdout.flush();
            }
            eprintln!("error: {err:#}");
            ExitCode::from(exit::exit_for_error(&err).code())
        }
    }
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot encode output: {e}\"}}"))
}
