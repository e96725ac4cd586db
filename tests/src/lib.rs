//! Runs the spec's conformance vectors against the halfopen core.
//!
//! The vector format is the one of the project's spec,
//! [SPEC.md, "Conformance vectors"](../../SPEC.md#vectors), and the report
//! the one of ["The runner"](../../SPEC.md#runner). A vector file is a JSON
//! array of cases; [`model`] parses it into typed cases (every rule of the
//! format, and the reason text for a malformed case, lives there) and
//! [`run`] executes them on the host. The firmware example's on-device
//! runner takes its cases from the same [`model`]. [`generate`] writes
//! random vector files whose expectations are what the core does, for the
//! other runners to pass (`gen-vectors`).

pub mod generate;
pub mod model;
pub mod run;

pub use model::{config_pairs, parse_file, Case};

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// `None` if it passed, else `step I: expected X, got Y` (or why the
    /// case is malformed).
    pub failure: Option<String>,
}

impl CaseResult {
    /// The line the runner prints for it.
    pub fn line(&self) -> String {
        match &self.failure {
            None => format!("ok {}", self.name),
            Some(why) => format!("FAIL {}: {}", self.name, why),
        }
    }
}

/// Runs every case of a vector file's text. An unreadable file is an error;
/// a malformed case is a failed case that says what is malformed.
pub fn run_text(text: &str) -> Result<Vec<CaseResult>, String> {
    Ok(parse_file(text)?
        .iter()
        .map(|case| CaseResult {
            name: case.name.clone(),
            failure: run::run_case(case).err(),
        })
        .collect())
}

/// Runs files and prints the report the spec asks of a runner: `ok NAME` or
/// `FAIL NAME: ...` per case, then `N passed, N failed`. Returns `(passed,
/// failed)`.
pub fn run_files<W: std::io::Write>(
    paths: &[String],
    out: &mut W,
) -> std::io::Result<(usize, usize)> {
    let mut passed = 0;
    let mut failed = 0;
    for path in paths {
        let results = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read it: {e}"))
            .and_then(|text| run_text(&text));
        match results {
            Ok(results) => {
                for r in results {
                    writeln!(out, "{}", r.line())?;
                    if r.failure.is_none() {
                        passed += 1;
                    } else {
                        failed += 1;
                    }
                }
            }
            Err(e) => {
                writeln!(out, "FAIL {path}: {e}")?;
                failed += 1;
            }
        }
    }
    writeln!(out, "{passed} passed, {failed} failed")?;
    Ok((passed, failed))
}
