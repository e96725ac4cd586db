//! The record that survives a warm reset: breaker snapshots and the
//! firmware's own progress, in a `.uninit` RAM section.
//!
//! cortex-m-rt zeroes `.bss` and copies `.data` at every reset but leaves
//! `.uninit` alone, so what is written there before a warm reset
//! (SYSRESETREQ, a watchdog) is still there after it. A cold boot finds
//! garbage (or, in QEMU, zeroes): the record carries a magic word, a layout
//! version and a checksum, and anything that does not check out is ignored.
//! Each breaker snapshot is itself checked again by `Breaker::restore`
//! (magic, version, checksum, configuration fingerprint).
//!
//! Layout, in 32-bit words: magic, layout, boots, clock (2 words), next read
//! sequence number, last good reading, sensor snapshot, uplink snapshot
//! (`SNAPSHOT_LEN / 4` words each), sensor totals (6), uplink totals (6),
//! checksum. The layout number follows the snapshot length.

use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;

use halfopen::{Totals, SNAPSHOT_LEN};

const SNAP_WORDS: usize = SNAPSHOT_LEN / 4;
const WORDS: usize = 7 + 2 * SNAP_WORDS + 2 * 6 + 1;
const MAGIC: u32 = 0x5350_4f48; // "HOPS", little-endian
const LAYOUT: u32 = 0x100 | SNAPSHOT_LEN as u32;
const _: () = assert!(SNAP_WORDS * 4 == SNAPSHOT_LEN);

#[link_section = ".uninit.halfopen_record"]
static mut RECORD: MaybeUninit<[u32; WORDS]> = MaybeUninit::uninit();

/// What one boot hands to the next.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Saved {
    /// Boots so far, this one included.
    pub boots: u32,
    /// The firmware clock when the record was written.
    pub clock_ms: u64,
    /// The sequence number of the next sensor read.
    pub next_seq: u32,
    /// The last reading that came from the sensor itself.
    pub last_good: i32,
    pub sensor: [u8; SNAPSHOT_LEN],
    pub uplink: [u8; SNAPSHOT_LEN],
    pub sensor_totals: Totals,
    pub uplink_totals: Totals,
}

fn fnv1a(words: &[u32]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for w in words {
        for b in w.to_le_bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    h
}

fn put_bytes(dst: &mut [u32], src: &[u8; SNAPSHOT_LEN]) {
    for (w, c) in dst.iter_mut().zip(src.chunks_exact(4)) {
        *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
}

fn get_bytes(src: &[u32]) -> [u8; SNAPSHOT_LEN] {
    let mut b = [0u8; SNAPSHOT_LEN];
    for (c, w) in b.chunks_exact_mut(4).zip(src) {
        c.copy_from_slice(&w.to_le_bytes());
    }
    b
}

fn put_totals(dst: &mut [u32], t: &Totals) {
    dst.copy_from_slice(&[
        t.successes,
        t.failures,
        t.slow_calls,
        t.ignored,
        t.rejected,
        t.transitions,
    ]);
}

fn get_totals(w: &[u32]) -> Totals {
    Totals {
        successes: w[0],
        failures: w[1],
        slow_calls: w[2],
        ignored: w[3],
        rejected: w[4],
        transitions: w[5],
    }
}

const S0: usize = 7;
const U0: usize = S0 + SNAP_WORDS;
const ST0: usize = U0 + SNAP_WORDS;
const UT0: usize = ST0 + 6;
const _: () = assert!(UT0 + 6 == WORDS - 1);

fn encode(s: &Saved) -> [u32; WORDS] {
    let mut w = [0u32; WORDS];
    w[0] = MAGIC;
    w[1] = LAYOUT;
    w[2] = s.boots;
    w[3] = s.clock_ms as u32;
    w[4] = (s.clock_ms >> 32) as u32;
    w[5] = s.next_seq;
    w[6] = s.last_good as u32;
    put_bytes(&mut w[S0..U0], &s.sensor);
    put_bytes(&mut w[U0..ST0], &s.uplink);
    put_totals(&mut w[ST0..UT0], &s.sensor_totals);
    put_totals(&mut w[UT0..WORDS - 1], &s.uplink_totals);
    w[WORDS - 1] = fnv1a(&w[..WORDS - 1]);
    w
}

fn decode(w: &[u32; WORDS]) -> Option<Saved> {
    if w[0] != MAGIC || w[1] != LAYOUT || w[WORDS - 1] != fnv1a(&w[..WORDS - 1]) {
        return None;
    }
    Some(Saved {
        boots: w[2],
        clock_ms: u64::from(w[3]) | (u64::from(w[4]) << 32),
        next_seq: w[5],
        last_good: w[6] as i32,
        sensor: get_bytes(&w[S0..U0]),
        uplink: get_bytes(&w[U0..ST0]),
        sensor_totals: get_totals(&w[ST0..UT0]),
        uplink_totals: get_totals(&w[UT0..WORDS - 1]),
    })
}

fn record() -> *mut u32 {
    addr_of_mut!(RECORD).cast::<u32>()
}

/// The record a previous boot left, if there is a valid one.
pub fn load() -> Option<Saved> {
    let mut w = [0u32; WORDS];
    for (i, slot) in w.iter_mut().enumerate() {
        // SAFETY: `record()` points at `WORDS` aligned u32s inside the
        // `.uninit` static, which nothing else accesses (this module is
        // single-threaded: called from `main` before the executor starts and
        // from the monitor task). After a cold reset the memory holds whatever
        // the SRAM came up with: the read is volatile, so the compiler does
        // not reason about its contents, every bit pattern is a valid u32, and
        // the words are trusted only once magic, layout and checksum match.
        *slot = unsafe { record().add(i).read_volatile() };
    }
    decode(&w)
}

/// Writes the record for the next boot.
pub fn save(s: &Saved) {
    for (i, word) in encode(s).into_iter().enumerate() {
        // SAFETY: as in `load`: in-bounds, aligned, and only this module
        // touches the record.
        unsafe { record().add(i).write_volatile(word) };
    }
}

/// Invalidates the record: the next boot is treated as cold.
pub fn clear() {
    // SAFETY: as in `load`: in-bounds, aligned, and only this module touches
    // the record.
    unsafe { record().write_volatile(0) };
}
