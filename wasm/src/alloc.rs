//! The allocator of the no_std `.wasm` files (this crate's and, through
//! `#[path]`, the fleet crate's): segregated size classes, each a LIFO free
//! list, carved from a bump region that grows by whole wasm pages.
//!
//! The classes are the multiples of 8 bytes up to 64, then eight per power
//! of two (for `2^k < n <= 2^(k+1)`: 9 to 16 eighths of `2^k`), so a block
//! wastes less than a ninth of its size (a breaker and its configuration
//! take 896 bytes in two blocks; the free-list allocator this replaces used
//! 872).
//! A block lies at a multiple of the largest power of two that divides its
//! size (at most [`PAGE`]); a request whose alignment that does not meet
//! takes the next class that does, so every alignment up to the page size
//! is honoured; a larger one is refused (null).
//!
//! Allocating pops the class's free list, or carves a block from the bump
//! region; freeing pushes the block on its class's list. Both are O(1)
//! whatever has been freed before (the free-list allocator this replaces
//! walked one list of every freed block, so that creating and dropping
//! breakers in rounds grew quadratic). A freed block is reused only by its
//! own class: the footprint is bounded by the peak number of live blocks of
//! each class, never by the number of frees.
//!
//! Where the memory comes from is a [`Pages`] source: `memory.grow` on
//! wasm32, a static arena in the host unit tests, which run the same size
//! class and free-list logic under `cargo test`.

use core::alloc::Layout;
use core::ptr;

/// A wasm page, the unit memory grows by; also the largest alignment served.
pub const PAGE: usize = 65536;
/// The smallest block: it holds the free-list link (a pointer).
pub const MIN_BLOCK: usize = 8;
const _: () = assert!(size_of::<usize>() <= MIN_BLOCK);
/// Classes per power of two: `1 << STEPS_LOG2`.
const STEPS_LOG2: u32 = 3;
const STEPS: usize = 1 << STEPS_LOG2;
/// `STEPS` classes up to `8 * STEPS` bytes (multiples of 8), then `STEPS`
/// per power of two up to the largest a `Layout` can ask for (`2^(BITS-1)`).
const CLASSES: usize = STEPS * (usize::BITS - 3 - STEPS_LOG2) as usize;

/// The highest multiple of [`PAGE`] a usize holds: where regions end at the
/// latest.
const TOP: usize = usize::MAX & !(PAGE - 1);

/// Where the heap's memory comes from.
///
/// # Safety
///
/// A region `grow` returns is `pages * PAGE` bytes at a multiple of [`PAGE`],
/// valid for reads and writes, used by nothing else, and never returned again.
pub unsafe trait Pages {
    /// `pages` more pages: the address of the first byte, or `None`.
    fn grow(&mut self, pages: usize) -> Option<usize>;
}

/// The allocator's state over a [`Pages`] source.
///
/// Invariants: every address on `free[c]` is a block of `block_size(c)`
/// bytes at a multiple of `block_align(block_size(c))`, from `pages`, owned
/// by the heap (allocated to nobody), holding the next address on the list
/// (0 ends it); `next..end` is memory from `pages` that nobody uses.
pub struct Heap<P> {
    pages: P,
    free: [usize; CLASSES],
    next: usize,
    end: usize,
    /// The pages had from `pages` so far.
    grown: usize,
}

/// The smallest class whose blocks hold `n` bytes (`1 <= n <= 2^(BITS-1)`).
fn size_class(n: usize) -> usize {
    if n <= 8 * STEPS {
        return n.saturating_sub(1) / 8;
    }
    // 2^k < n <= 2^(k+1), with 2^k >= 8 * STEPS: n in steps of 2^k / STEPS,
    // rounded up (STEPS + 1 ..= 2 * STEPS of them).
    let k = usize::BITS - 1 - (n - 1).leading_zeros();
    let steps = (n - 1) >> (k - STEPS_LOG2);
    STEPS * (k - 3 - STEPS_LOG2) as usize + steps
}

/// The size of class `c`'s blocks.
fn block_size(c: usize) -> usize {
    if c < STEPS {
        return 8 * (c + 1);
    }
    (STEPS + 1 + c % STEPS) << (3 + c / STEPS - 1)
}

/// The alignment of a block of `size` bytes: the largest power of two that
/// divides it, at most [`PAGE`].
fn block_align(size: usize) -> usize {
    (size & size.wrapping_neg()).min(PAGE)
}

/// The class of `layout`, or [`CLASSES`] (no class) if it cannot be served
/// (an alignment over [`PAGE`]).
fn class(layout: Layout) -> usize {
    let (size, align) = (layout.size().max(1), layout.align());
    if align > PAGE {
        return CLASSES;
    }
    // The first class from the size's up whose blocks are aligned enough
    // (every eighth is a power of two, aligned to its size or to PAGE).
    let mut c = size_class(size);
    while block_align(block_size(c)) < align {
        c += 1;
    }
    c
}

impl<P: Pages> Heap<P> {
    /// An empty heap that takes its memory from `pages` when first needed.
    pub const fn new(pages: P) -> Self {
        Heap {
            pages,
            free: [0; CLASSES],
            next: 0,
            end: 0,
            grown: 0,
        }
    }

    /// Puts the unused `from..to` on the free lists, as the naturally aligned
    /// power-of-two blocks it splits into (`from` and `to` multiples of
    /// [`MIN_BLOCK`]).
    fn give_back(&mut self, mut from: usize, to: usize) {
        while from < to {
            // The largest power of two aligned at `from` (at most PAGE) that
            // fits: a class of its own.
            let fits = 1 << (usize::BITS - 1 - (to - from).leading_zeros());
            let size = block_align(from).min(fits);
            // SAFETY: `from..from + size` is unused memory from `pages`
            // (the caller's region), aligned to `size`: a block of its class.
            unsafe { self.push(from, size_class(size)) };
            from += size;
        }
    }

    /// Pushes block `at` on class `c`'s list (none if `c` is not a class).
    ///
    /// # Safety
    ///
    /// `at` is a block of class `c` (size, alignment, from `pages`) that
    /// nobody uses from now on.
    unsafe fn push(&mut self, at: usize, c: usize) {
        if let Some(head) = self.free.get_mut(c) {
            // SAFETY: the block is at least MIN_BLOCK bytes, aligned to at
            // least MIN_BLOCK (>= the alignment of usize) and now the heap's.
            unsafe { (at as *mut usize).write(*head) };
            *head = at;
        }
    }

    /// A block for `layout`, or null if it cannot be served.
    pub fn alloc(&mut self, layout: Layout) -> *mut u8 {
        let c = class(layout);
        let Some(&head) = self.free.get(c) else {
            return ptr::null_mut();
        };
        if head != 0 {
            // SAFETY: `head` is on a free list, so (invariant) a block that
            // holds the next address on the list.
            self.free[c] = unsafe { (head as *const usize).read() };
            return head as *mut u8;
        }
        let size = block_size(c);
        let align = block_align(size);
        let mut at = (self.next + (align - 1)) & !(align - 1);
        // `at <= end`: `end` is a multiple of PAGE at most TOP, `align`
        // divides PAGE, so neither the sum nor the rounding overflows.
        if self.end - at < size {
            // A fresh region of whole pages: `size` fits at its start (it is
            // page-aligned) and, if it continues the current one, at `at`.
            // At least an eighth of what the heap has: in V8 a grow of a
            // large memory costs about as much (0.1 to 1 ms past 64 MB)
            // however many pages it adds, so that growing by what each
            // block needs took a large part of the time of 100 000
            // breakers. Near the memory's limit, only what is needed.
            let need = (size - 1) / PAGE + 1;
            let mut pages = need.max(self.grown / 8);
            let Some(start) = self.pages.grow(pages).or_else(|| {
                pages = need;
                self.pages.grow(need)
            }) else {
                return ptr::null_mut();
            };
            self.grown += pages;
            if start != self.end {
                // Not contiguous (or the first region): the rest of the
                // current one goes to the free lists.
                self.give_back(self.next, self.end);
                self.next = start;
                at = start;
            }
            // A region that reaches the top of the address space (a memory
            // of 4 GiB on wasm32) ends one page short of it, so that `end`
            // and every address below it fit in a usize; then the block may
            // not fit any more.
            self.end = pages
                .checked_mul(PAGE)
                .and_then(|len| start.checked_add(len))
                .unwrap_or(TOP);
            if self.end - at < size {
                return ptr::null_mut();
            }
        }
        // The padding before the block, if any, is not lost either.
        self.give_back(self.next, at);
        self.next = at + size;
        at as *mut u8
    }

    /// Gives back a block.
    ///
    /// # Safety
    ///
    /// `ptr` came from this heap's [`Heap::alloc`] (or [`Heap::realloc`])
    /// with `layout`, and is not used after this call.
    pub unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) {
        // SAFETY: by the caller's contract, a block of its class from this
        // heap that nobody uses any more.
        unsafe { self.push(ptr as usize, class(layout)) };
    }

    /// `ptr`'s block resized to `new_size`: the same block when the class
    /// stays the same, else a new one holding the old contents (up to the
    /// smaller size) and the old one freed; null (the old block kept) if no
    /// block can be had.
    ///
    /// # Safety
    ///
    /// As [`Heap::dealloc`] for `ptr` and `layout`; `new_size`, rounded up to
    /// `layout.align()`, does not overflow `isize`.
    pub unsafe fn realloc(&mut self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees the rounded size does not overflow,
        // and `layout.align()` is a valid alignment.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if class(new) == class(layout) {
            return ptr;
        }
        let to = self.alloc(new);
        if !to.is_null() {
            // SAFETY: both blocks are at least as large as the copied length
            // and distinct (`ptr` is still allocated, so `to` is another).
            unsafe {
                ptr::copy_nonoverlapping(ptr, to, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        to
    }
}

#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
mod wasm {
    use super::{Heap, Pages, PAGE};
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;

    /// The module's linear memory (index 0), grown by `memory.grow`.
    pub struct Memory;

    // SAFETY: `memory.grow` returns the old size in pages: the new pages
    // start there, zeroed, and nothing else in the module grows or uses them
    // (the data and the stack lie below the initial size).
    unsafe impl Pages for Memory {
        fn grow(&mut self, pages: usize) -> Option<usize> {
            match core::arch::wasm32::memory_grow(0, pages) {
                usize::MAX => None,
                old => Some(old * PAGE),
            }
        }
    }

    /// The global allocator of the no_std `.wasm`.
    pub struct Allocator(UnsafeCell<Heap<Memory>>);

    impl Allocator {
        /// An empty heap.
        pub const fn new() -> Self {
            Allocator(UnsafeCell::new(Heap::new(Memory)))
        }
    }

    #[cfg(target_feature = "atomics")]
    compile_error!("the no_std allocator assumes one thread");

    // SAFETY: a wasm32 module without the `atomics` target feature (refused
    // above) has one thread, so the heap is never used from two at once.
    unsafe impl Sync for Allocator {}

    // SAFETY: (for each method) one thread, and none of the heap's methods
    // calls back into the allocator, so the `&mut` to the heap is unique for
    // the call; the heap returns blocks of at least the layout's size and
    // alignment, or null, and GlobalAlloc's contracts for `ptr` and `layout`
    // are the heap's.
    unsafe impl GlobalAlloc for Allocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: see the impl.
            unsafe { (*self.0.get()).alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: see the impl.
            unsafe { (*self.0.get()).dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: see the impl.
            unsafe { (*self.0.get()).realloc(ptr, layout, new_size) }
        }
    }
}

#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
pub use wasm::Allocator;

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec::Vec;

    /// A static arena of `LIMIT` pages, handed out in order (or, with
    /// `gap`, leaving a page out before each region, as a memory that
    /// something else grew too).
    struct Arena {
        base: *mut u8,
        used: usize,
        limit: usize,
        gap: bool,
        grows: usize,
    }

    impl Arena {
        fn new(limit: usize, gap: bool) -> Self {
            let layout = Layout::from_size_align(limit * PAGE, PAGE).unwrap();
            // SAFETY: the layout is not zero-sized.
            let base = unsafe { std::alloc::alloc_zeroed(layout) };
            assert!(!base.is_null());
            Arena {
                base,
                used: 0,
                limit,
                gap,
                grows: 0,
            }
        }
    }

    impl Drop for Arena {
        fn drop(&mut self) {
            // SAFETY: allocated in `new` with this layout.
            unsafe {
                std::alloc::dealloc(
                    self.base,
                    Layout::from_size_align(self.limit * PAGE, PAGE).unwrap(),
                )
            };
        }
    }

    // SAFETY: regions are disjoint, page-aligned parts of one allocation that
    // only the heap uses.
    unsafe impl Pages for Arena {
        fn grow(&mut self, pages: usize) -> Option<usize> {
            let skip = usize::from(self.gap && self.used > 0);
            if self.used + skip + pages > self.limit {
                return None;
            }
            self.used += skip;
            let at = self.base as usize + self.used * PAGE;
            self.used += pages;
            self.grows += 1;
            Some(at)
        }
    }

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    /// A source whose only region is the last page of the address space
    /// (as a wasm32 memory grown to 4 GiB): never written to, since no
    /// block fits before the top.
    struct TopPage(bool);

    // SAFETY: the one region handed out is never written to by the heap
    // (asserted by the test: every allocation fails before touching it).
    unsafe impl Pages for TopPage {
        fn grow(&mut self, _pages: usize) -> Option<usize> {
            (!std::mem::replace(&mut self.0, true)).then_some(TOP)
        }
    }

    #[test]
    fn a_region_at_the_top_of_the_address_space_does_not_overflow() {
        let mut heap = Heap::new(TopPage(false));
        assert!(heap.alloc(layout(64, 8)).is_null());
        assert!(heap.alloc(layout(PAGE, PAGE)).is_null());
        assert_eq!(heap.end, TOP);
    }

    #[test]
    fn classes() {
        let sizes: Vec<usize> = (0..26).map(block_size).collect();
        assert_eq!(
            sizes,
            [
                8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 144, 160, 176,
                192, 208, 224, 240, 256, 288, 320
            ]
        );
        assert_eq!(class(layout(0, 1)), 0);
        assert_eq!(class(layout(1, 1)), 0);
        assert_eq!(class(layout(8, 8)), 0);
        assert_eq!(class(layout(9, 1)), 1);
        assert_eq!(class(layout(65, 1)), 8);
        // 72 bytes are 8-aligned: 16 takes the 80-byte class, 32 the 96,
        // 64 the 128.
        assert_eq!(class(layout(65, 8)), 8);
        assert_eq!(class(layout(65, 16)), 9);
        assert_eq!(class(layout(65, 32)), 11);
        assert_eq!(class(layout(65, 64)), 15);
        assert_eq!(class(layout(4, 16)), 1);
        assert_eq!(class(layout(PAGE, PAGE)), size_class(PAGE));
        assert_eq!(block_size(size_class(PAGE)), PAGE);
        assert_eq!(class(layout(1, 2 * PAGE)), CLASSES);
        let top = class(layout(isize::MAX as usize, 1));
        assert_eq!(top, CLASSES - 1);
        assert_eq!(block_size(top), 1 << (usize::BITS - 1));
    }

    /// Every size and alignment gets a class whose blocks are large enough
    /// and aligned enough, wasting less than a ninth over 64 bytes; the
    /// classes grow with the size.
    #[test]
    fn every_class_fits_its_requests() {
        let mut last = 0;
        for size in 1..=3 * PAGE {
            let c = size_class(size);
            assert!(c >= last);
            last = c;
            let b = block_size(c);
            assert!(
                b >= size && (size <= 64 || (b - size) * 9 < b),
                "{size} -> {b}"
            );
            for align in (0..=16)
                .map(|k| 1usize << k)
                .filter(|a| size % 97 == 0 || *a <= 8)
            {
                let cl = class(layout(size, align));
                let b = block_size(cl);
                assert!(
                    b >= size && block_align(b) >= align,
                    "{size} {align} -> {b}"
                );
            }
        }
    }

    #[test]
    fn freed_block_is_reused_by_its_class_only() {
        let mut heap = Heap::new(Arena::new(4, false));
        let a = heap.alloc(layout(24, 8));
        let b = heap.alloc(layout(24, 8));
        assert_ne!(a, b);
        // SAFETY: `a` is `heap`'s, with this layout, unused from here.
        unsafe { heap.dealloc(a, layout(24, 8)) };
        let c = heap.alloc(layout(100, 8));
        assert_ne!(c, a, "another class does not take the freed block");
        assert_eq!(heap.alloc(layout(17, 4)), a, "the same class does (LIFO)");
    }

    #[test]
    fn alignment_up_to_a_page_and_refused_beyond() {
        let mut heap = Heap::new(Arena::new(8, false));
        for align in (0..=16).map(|k| 1usize << k) {
            let _small = heap.alloc(layout(3, 1));
            let p = heap.alloc(layout(5, align));
            assert!(!p.is_null());
            assert_eq!(p as usize % align, 0, "align {align}");
        }
        assert!(heap.alloc(layout(8, 2 * PAGE)).is_null());
    }

    #[test]
    fn padding_and_regions_left_behind_are_reused() {
        // A gap between regions: the rest of the first goes to the lists.
        let mut heap = Heap::new(Arena::new(8, true));
        let a = heap.alloc(layout(8, 8));
        let big = heap.alloc(layout(PAGE, 8));
        assert!(!big.is_null());
        assert_eq!(heap.pages.grows, 2);
        // The first region's other 65,528 bytes are on the free lists, one
        // block of each class from 8 to 32,768 bytes: served without growing.
        for k in 3..16 {
            let p = heap.alloc(layout(1 << k, 8));
            assert!(
                p as usize > a as usize && (p as usize) < a as usize + PAGE,
                "{k}"
            );
        }
        assert_eq!(heap.pages.grows, 2);
    }

    #[test]
    fn realloc_in_place_within_the_class_and_moved_across() {
        let mut heap = Heap::new(Arena::new(4, false));
        let p = heap.alloc(layout(20, 4));
        // SAFETY: `p` is a live 20-byte block.
        unsafe { ptr::copy_nonoverlapping(b"0123456789abcdefghij".as_ptr(), p, 20) };
        // SAFETY: `p` is `heap`'s, with this layout.
        let q = unsafe { heap.realloc(p, layout(20, 4), 24) };
        assert_eq!(q, p);
        // SAFETY: `q` is `heap`'s, with this layout.
        let r = unsafe { heap.realloc(q, layout(24, 4), 33) };
        assert_ne!(r, q);
        // SAFETY: `r` is a live block of at least 20 bytes.
        let moved = unsafe { core::slice::from_raw_parts(r, 20) };
        assert_eq!(moved, b"0123456789abcdefghij");
        // SAFETY: `r` is `heap`'s, with this layout.
        let s = unsafe { heap.realloc(r, layout(33, 4), 3) };
        // SAFETY: `s` is a live block of at least 3 bytes.
        let shrunk = unsafe { core::slice::from_raw_parts(s, 3) };
        assert_eq!(shrunk, b"012");
        // The 24-byte block `p` was freed by the move: reused.
        assert_eq!(heap.alloc(layout(24, 4)), p);
    }

    #[test]
    fn memory_grows_by_an_eighth_at_least_and_by_the_need_near_the_limit() {
        let mut heap = Heap::new(Arena::new(600, false));
        for _ in 0..512 {
            assert!(!heap.alloc(layout(PAGE, 8)).is_null());
        }
        // 512 pages in 47 grows, not 512 (one page each while the heap has
        // under 16, then an eighth of it), and at most an eighth over.
        assert_eq!(heap.pages.grows, 47);
        assert!(heap.pages.used <= 512 + 512 / 8);
        // The arena's last pages, fewer than an eighth: taken as needed,
        // up to the last one.
        let mut blocks = 512;
        while !heap.alloc(layout(PAGE, 8)).is_null() {
            blocks += 1;
        }
        assert_eq!(blocks, heap.pages.limit);
        assert_eq!(heap.pages.used, heap.pages.limit);
    }

    #[test]
    fn out_of_memory_is_null() {
        let mut heap = Heap::new(Arena::new(2, false));
        assert!(heap.alloc(layout(3 * PAGE, 8)).is_null());
        assert!(!heap.alloc(layout(PAGE, 8)).is_null());
        assert!(heap.alloc(layout(isize::MAX as usize - 100, 1)).is_null());
    }

    /// xorshift64*: deterministic, no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    struct Live {
        ptr: *mut u8,
        layout: Layout,
        fill: u8,
    }

    fn fill(l: &Live) {
        // SAFETY: a live block of at least `l.layout.size()` bytes.
        unsafe { ptr::write_bytes(l.ptr, l.fill, l.layout.size()) };
    }

    fn intact(l: &Live, len: usize) -> bool {
        // SAFETY: as in `fill`.
        unsafe { core::slice::from_raw_parts(l.ptr, len) }
            .iter()
            .all(|&b| b == l.fill)
    }

    /// Random allocations, frees and reallocations against a model (the
    /// live blocks and their contents): no two live blocks overlap, each is
    /// aligned, its contents survive others' operations and its own
    /// reallocation, and the footprint stays bounded through many rounds of
    /// churn (freed memory is reused).
    #[test]
    fn random_sequences_against_a_model() {
        for seed in 1..=8u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut heap = Heap::new(Arena::new(1024, seed % 2 == 0));
            let mut live: Vec<Live> = Vec::new();
            let mut tag = 0u8;
            let mut pages_after_first_round = 0;
            for round in 0..40 {
                for _ in 0..500 {
                    let op = rng.below(10);
                    if op < 5 || live.is_empty() {
                        let size = match rng.below(8) {
                            0 => rng.below(PAGE * 2),
                            1 => 0,
                            _ => rng.below(300),
                        };
                        let l = layout(size, 1 << rng.below(8));
                        let ptr = heap.alloc(l);
                        assert!(!ptr.is_null(), "seed {seed}: {l:?}");
                        assert_eq!(ptr as usize % l.align(), 0);
                        tag = tag.wrapping_add(1);
                        let new = Live {
                            ptr,
                            layout: l,
                            fill: tag,
                        };
                        let (s, e) = (ptr as usize, ptr as usize + size.max(1));
                        for o in &live {
                            let (os, oe) =
                                (o.ptr as usize, o.ptr as usize + o.layout.size().max(1));
                            assert!(e <= os || oe <= s, "seed {seed}: overlap");
                        }
                        fill(&new);
                        live.push(new);
                    } else if op < 8 {
                        let l = live.swap_remove(rng.below(live.len()));
                        assert!(intact(&l, l.layout.size()), "seed {seed}: contents");
                        // SAFETY: `l` is live in the model, so `heap`'s.
                        unsafe { heap.dealloc(l.ptr, l.layout) };
                    } else {
                        let i = rng.below(live.len());
                        let new_size = if rng.below(4) == 0 {
                            rng.below(PAGE)
                        } else {
                            rng.below(300)
                        };
                        let old = &live[i];
                        // SAFETY: `old` is live in the model, so `heap`'s.
                        let ptr = unsafe { heap.realloc(old.ptr, old.layout, new_size) };
                        assert!(!ptr.is_null());
                        let moved = Live {
                            ptr,
                            layout: layout(new_size, old.layout.align()),
                            fill: old.fill,
                        };
                        assert_eq!(ptr as usize % moved.layout.align(), 0);
                        assert!(
                            intact(&moved, old.layout.size().min(new_size)),
                            "seed {seed}: realloc lost data"
                        );
                        fill(&moved);
                        live[i] = moved;
                    }
                }
                // Free everything but a few: each round starts from the
                // same small live set, so the footprint must not grow.
                while live.len() > 10 {
                    let l = live.pop().unwrap();
                    // SAFETY: live in the model.
                    unsafe { heap.dealloc(l.ptr, l.layout) };
                }
                if round == 4 {
                    pages_after_first_round = heap.pages.used;
                }
            }
            assert!(
                heap.pages.used <= pages_after_first_round * 2,
                "seed {seed}: {} pages after churn, {pages_after_first_round} after five rounds",
                heap.pages.used
            );
        }
    }

    /// The breakers' pattern: many blocks of a few sizes allocated, all
    /// freed, again and again: after the first round nothing grows.
    #[test]
    fn churn_of_equal_blocks_does_not_grow() {
        let mut heap = Heap::new(Arena::new(64, false));
        let sizes = [layout(200, 8), layout(48, 8), layout(1100, 8)];
        let mut after_first = 0;
        for round in 0..5 {
            let mut blocks = Vec::new();
            for i in 0..3000 {
                let l = sizes[i % 3];
                blocks.push((heap.alloc(l), l));
            }
            for (p, l) in blocks.drain(..).rev() {
                // SAFETY: allocated above with `l`.
                unsafe { heap.dealloc(p, l) };
            }
            if round == 0 {
                after_first = heap.pages.used;
            }
            assert_eq!(heap.pages.used, after_first, "round {round}");
        }
    }
}
