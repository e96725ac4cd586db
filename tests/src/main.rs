//! `halfopen-conformance FILE...`: runs conformance vector files (SPEC.md) against the
//! core, prints `ok NAME` / `FAIL NAME: ...` per case and `N passed, N
//! failed`, and exits non-zero on any failure.

use std::process::ExitCode;

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: halfopen-conformance FILE...  (conformance vector files, SPEC.md)");
        return ExitCode::from(2);
    }
    let mut out = std::io::stdout().lock();
    match halfopen_conformance::run_files(&paths, &mut out) {
        Ok((_, 0)) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("halfopen-conformance: {e}");
            ExitCode::FAILURE
        }
    }
}
