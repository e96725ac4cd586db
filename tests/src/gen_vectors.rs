//! `gen-vectors --seed N --cases M`: prints a vector file of M random cases
//! (SPEC.md's format) drawn from seed N, each step expecting what the core
//! does ([`halfopen_conformance::generate`]). The same seed prints the same
//! file. Exits 1 (after printing the file) if the core refused one of the
//! steps it drew, or panicked, naming the case on standard error.
//!
//!   cargo run -q -p halfopen-conformance --bin gen-vectors -- --seed 1 --cases 200 > random.json

use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "usage: gen-vectors [--seed N] [--cases M]  (defaults: seed 0, 100 cases)";

fn main() -> ExitCode {
    let mut seed = 0u64;
    let mut cases = 100usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        let parsed = match (arg.as_str(), value.as_deref()) {
            ("--seed", Some(v)) => v.parse().map(|n| seed = n).is_ok(),
            ("--cases", Some(v)) => v.parse().map(|n| cases = n).is_ok(),
            _ => false,
        };
        if !parsed {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    let (text, refused) = halfopen_conformance::generate::generate(seed, cases);
    for r in &refused {
        eprintln!(
            "gen-vectors: the host could not run a step of {}: {} (the file keeps the case up to that step)",
            r.case["name"], r.why
        );
    }
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) if refused.is_empty() => ExitCode::SUCCESS,
        Ok(()) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("gen-vectors: {e}");
            ExitCode::FAILURE
        }
    }
}
