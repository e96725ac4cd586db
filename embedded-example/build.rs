//! Build script:
//!
//! 1. Picks the board (and so the memory map) from the compilation target, so
//!    that one crate builds for both QEMU machines:
//!
//!    | target                | QEMU machine | core      | flash          | RAM                   | clock  |
//!    |-----------------------|--------------|-----------|----------------|-----------------------|--------|
//!    | thumbv7em-none-eabihf | mps2-an386   | Cortex-M4 | 4 MiB at 0x0   | 4 MiB at 0x2000_0000  | 25 MHz |
//!    | thumbv6m-none-eabi    | microbit     | Cortex-M0 | 256 KiB at 0x0 | 16 KiB at 0x2000_0000 | 16 MHz |
//!
//!    It writes the matching `memory.x` (read by cortex-m-rt's `link.x`)
//!    into OUT_DIR and sets `cfg(board = "...")`.
//!
//! 2. With feature `vectors` (the self-test), prints the conformance vectors
//!    (`../tests/vectors/*.json`; `HALFOPEN_VECTORS_DIR` points it at another
//!    directory, relative to this crate) as a static table,
//!    `OUT_DIR/vectors.rs`, that src/vectors.rs runs on the device. The cases
//!    come parsed from the conformance crate (`halfopen_conformance::model`):
//!    every rule of the format, and the reason a malformed case gives, is
//!    the host runner's. This script only prints them.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use halfopen_conformance::model::{parse_file, Case, MetricValue, Op};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    println!("cargo::rerun-if-changed=build.rs");
    board(&out);
    if env::var_os("CARGO_FEATURE_VECTORS").is_some() {
        vectors(&out);
    }
}

fn board(out: &Path) {
    let target = env::var("TARGET").unwrap_or_default();
    println!("cargo::rustc-check-cfg=cfg(board, values(\"mps2_an386\", \"microbit\"))");
    let (board, memory) = if target.starts_with("thumbv6m") {
        ("microbit", "memory-microbit.x")
    } else if target.starts_with("thumbv7em") {
        ("mps2_an386", "memory-mps2.x")
    } else {
        // Host `cargo check` or another target: nothing to link.
        return;
    };
    println!("cargo::rustc-cfg=board=\"{board}\"");
    fs::copy(memory, out.join("memory.x")).expect("copy memory.x");
    println!("cargo::rustc-link-search={}", out.display());
    println!("cargo::rerun-if-changed={memory}");
}

/// Permit names one case may use on the device (its slots are `u8`).
const MAX_NAMES: usize = 256;

fn vectors(out: &Path) {
    println!("cargo::rerun-if-env-changed=HALFOPEN_VECTORS_DIR");
    let dir = env::var("HALFOPEN_VECTORS_DIR").unwrap_or_else(|_| "../tests/vectors".into());
    println!("cargo::rerun-if-changed={dir}");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading vector directory {dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.json conformance vectors in {dir}");
    let (mut code, mut names) = (String::from("pub static CASES: &[Case] = &[\n"), 1);
    for file in &files {
        println!("cargo::rerun-if-changed={}", file.display());
        let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        // A file that is not an array of cases is one failed case, named by the file.
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let cases = parse_file(&text).unwrap_or_else(|why| vec![Case::unreadable(name, why)]);
        for mut c in cases {
            if c.permits.len() > MAX_NAMES {
                c.malformed = Some(format!(
                    "{} permit names; the device runner holds {MAX_NAMES}",
                    c.permits.len()
                ));
                c.steps.clear();
            }
            names = names.max(c.permits.len());
            print_case(&mut code, &c);
        }
    }
    writeln!(code, "];\npub const MAX_NAMES: usize = {names};").unwrap();
    fs::write(out.join("vectors.rs"), code).expect("write vectors.rs");
}

fn print_case(code: &mut String, c: &Case) {
    let (name, malformed, stop) = (&c.name, c.malformed.as_deref(), c.stop.as_deref());
    let (config, config_error, permits) = (&c.config, c.config_error.as_deref(), &c.permits);
    writeln!(code, "Case {{ name: {name:?}, malformed: {malformed:?}, config: &{config:?}, config_error: {config_error:?}, permits: &{permits:?}, stop: {stop:?}, steps: &[").unwrap();
    for s in &c.steps {
        let op = match s.op {
            Op::Acquire(slot) => format!("Acquire({slot:?})"),
            Op::Record(outcome, slot) => format!("Record(Outcome::{outcome:?}, {slot})"),
            Op::Call(outcome, duration_ms) => format!("Call(Outcome::{outcome:?}, {duration_ms})"),
            // `FleetState`'s Debug is its variant as Rust source.
            Op::Adopt(state) => format!("Adopt(FleetState::{state:?})"),
            other => format!("{other:?}"),
        };
        let e = &s.expect;
        let some = |prefix: &str, v: Option<String>| {
            v.map_or("None".into(), |v| format!("Some({prefix}::{v})"))
        };
        let metrics: Vec<String> = e
            .metrics
            .iter()
            .map(|(m, v)| match v {
                MetricValue::State(st) => {
                    format!("(Metric::{m:?}, MetricValue::State(State::{st:?}))")
                }
                v => format!("(Metric::{m:?}, MetricValue::{v:?})"),
            })
            .collect();
        writeln!(code, "  Step {{ at: {}, op: Op::{op}, expect: Expect {{ allowed: {:?}, config_error: {}, metrics: &[{}], reject: {}, state: {} }} }},",
            s.at, e.allowed, e.config_error, metrics.join(", "),
            some("RejectReason", e.reject.map(|r| format!("{r:?}"))), some("State", e.state.map(|st| format!("{st:?}")))).unwrap();
    }
    writeln!(code, "] }},").unwrap();
}
